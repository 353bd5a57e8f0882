"""`drlm predict` speed and memory against CellProfiler's measurements (issue 23).

    python -m bench.predict_speed --run RUN             # prints JSON
    python -m bench.predict_speed --run RUN --record    # also rewrites the predict_speed section of bench/RESULTS.md

RUN is a finished `drlm run` (e.g. `drlm run --out runs/default`, the shipped PBC cells). The images are `--n` images
of `pbc_blood_cells` (from `$DRLM_DATA` or ../shared/data; seeded choice over the classes), i.e. PBC-sized files
(about 180 px) that predict reads and prepares as the run did.

Every measurement is a whole process, start-up included, timed with `os.wait4` (wall; peak resident memory of the
process and, separately, of its largest child, i.e. a Dask worker), run one after the other on the same machine:
1. **baseline**: one process that reads the same images, prepares them as predict does (`data.load_prepared` at the
   run's size) and measures cp_measure's full set on them (`morphology.morphology_table`, `n_jobs=1`);
2. **predict, default method**: `drlm predict RUN IMAGES --out CSV` as a user runs it (its local Dask cluster on
   every core);
3. **predict, each other kept method** named by `--methods` (e.g. `drl-transfer/linear`: no morphology, images/s);
4. **memory**: predict with the default method on `--big` images (the `--n` files linked again under new names).
The target: predict takes at most 1/3 of the baseline's time (≥ 3× the CellProfiler rate of one process), at most
2 GB on 10,000 images, and ≥ 200 images/s without morphology.
"""
import argparse, datetime, json, os, platform, resource, subprocess, sys, tempfile, time
from pathlib import Path

from bench.results_md import write_section

ROOT = Path(__file__).resolve().parents[1]

BASELINE = r'''
import sys, json
from drl_microscopy.data import load_prepared
from drl_microscopy.morphology import morphology_table
import torch
paths, size, ch = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
x = torch.stack([load_prepared(p, size, ch) for p in paths])
t, failed = morphology_table(x, n_jobs=1)
print(json.dumps(dict(rows=len(t), columns=t.shape[1], failed=len(failed))))
'''


def timed(cmd, env=None):
    "Run `cmd`; (wall s, peak RSS MB of the process, peak RSS MB of its largest child, stdout)."
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True)
    out, err = p.communicate()
    wall = time.perf_counter() - t
    if p.returncode: raise RuntimeError(f"{cmd[:3]} failed ({p.returncode}): {err[-2000:]}")
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, kids, out


def pick_images(n, seed=0):
    import numpy as np
    from drl_microscopy.core import data_root
    from drl_microscopy.data import IMAGE_EXTENSIONS
    root = data_root(required=True) / 'pbc_blood_cells'
    files = sorted(f for f in root.rglob('*') if f.suffix.lower() in IMAGE_EXTENSIONS)
    rng = np.random.default_rng(seed)
    return [str(files[i]) for i in sorted(rng.choice(len(files), size=min(n, len(files)), replace=False))]


def predict_cmd(run, images, out, method=None):
    cmd = [sys.executable, '-m', 'drl_microscopy.cli', 'predict', str(run), str(images), '--out', str(out), '--force']
    return cmd + (['--method', method] if method else [])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--run', required=True)
    ap.add_argument('--n', type=int, default=400)
    ap.add_argument('--big', type=int, default=10000)
    ap.add_argument('--methods', default='drl-transfer/linear')
    ap.add_argument('--record', action='store_true')
    ap.add_argument('--memory-only', action='store_true', help="only step 4 (memory on --big images), into its own section 'predict_memory'")
    a = ap.parse_args(argv)
    from drl_microscopy.core import load_json
    run = Path(a.run).resolve()
    man = load_json(run / 'seed0' / 'model' / 'manifest.json')
    size, ch = man['image']['size'], man['image']['channels']
    paths = pick_images(a.n)
    tmp = Path(tempfile.mkdtemp(prefix='predict_speed-'))
    lst = tmp / 'images.csv'
    lst.write_text('path\n' + '\n'.join(paths) + '\n')
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = dict(n=len(paths), size=size, channels=ch, run=str(run), cores=len(os.sched_getaffinity(0)))
    t0 = time.perf_counter()
    if a.memory_only: return memory_only(res, paths, run, tmp, env, a, t0)
    # 1. baseline: cp_measure's full set in one process
    w, _, out = timed([sys.executable, '-c', BASELINE, json.dumps(paths), str(size), str(ch)], env)
    res['baseline'] = dict(wall=round(w, 1), per_s=round(len(paths) / w, 2), **json.loads(out.strip().splitlines()[-1]))
    print('baseline', res['baseline'], flush=True)
    # 2. predict, default method
    w, kid, _ = timed(predict_cmd(run, lst, tmp / 'p.csv'), env)
    side = load_json(tmp / 'p.csv.json')
    res['default'] = dict(method=f"{side['method']}/{side['classifier']}", wall=round(w, 1), per_s=round(len(paths) / w, 2),
                          speedup=round(res['baseline']['wall'] / w, 2))
    print('default', res['default'], flush=True)
    # 3. other methods
    res['methods'] = {}
    for m in [m for m in a.methods.split(',') if m]:
        w, _, _ = timed(predict_cmd(run, lst, tmp / 'm.csv', m), env)
        res['methods'][m] = dict(wall=round(w, 1), per_s=round(len(paths) / w, 1))
        print(m, res['methods'][m], flush=True)
    # 4. memory on --big images (links to the same files under new names)
    if a.big:
        big = tmp / 'big'
        big.mkdir()
        for i in range(a.big):
            src = paths[i % len(paths)]
            os.symlink(src, big / f'{i:06d}{Path(src).suffix}')
        cmd = predict_cmd(run, big, tmp / 'big.csv')
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True)
        _, _, ru = os.wait4(p.pid, 0)
        w = time.perf_counter() - t
        p.stdout.read(); p.stderr.read()
        res['big'] = dict(n=a.big, wall=round(w, 1), peak_rss_mb=round(ru.ru_maxrss / 1024, 1),
                          largest_child_rss_mb=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1))
        print('big', res['big'], flush=True)
    res['seconds'] = round(time.perf_counter() - t0, 1)
    print(json.dumps(res, indent=1))
    if a.record: record(res, a)


def memory_only(res, paths, run, tmp, env, a, t0):
    "Step 4 alone: `drlm predict` with the default method on --big images (links to the --n files), its peak memory."
    big = tmp / 'big'
    big.mkdir()
    for i in range(a.big):
        src = paths[i % len(paths)]
        os.symlink(src, big / f'{i:06d}{Path(src).suffix}')
    t = time.perf_counter()
    p = subprocess.Popen(predict_cmd(run, big, tmp / 'big.csv'), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True)
    _, status, ru = os.wait4(p.pid, 0)
    w = time.perf_counter() - t
    p.stdout.read(); err = p.stderr.read()
    if os.waitstatus_to_exitcode(status): sys.exit(err[-3000:])
    g = dict(n=a.big, wall=round(w, 1), peak_rss_mb=round(ru.ru_maxrss / 1024, 1),
             largest_child_rss_mb=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1))
    print('big', g, flush=True)
    peak = max(g['peak_rss_mb'], g['largest_child_rss_mb'])
    lines = ['## `drlm predict`: memory on many images (issue 23)', '',
             f"`drlm predict RUN FOLDER --out CSV` with the default method on {g['n']} `pbc_blood_cells` files ({len(paths)} seeded images linked "
             f"again under new names), run `{Path(run).name}`; {res['cores']} cores shared with other jobs, {datetime.date.today()}. Peak resident "
             f"memory {g['peak_rss_mb']} MB in the predict process, {g['largest_child_rss_mb']} MB in the largest of it and its Dask workers; "
             f"{g['wall']} s (wall time under load: not a speed result). Target ≤ 2 GB on 10,000 images: **{'met per process' if peak <= 2048 and g['n'] >= 10000 else 'not met' if peak > 2048 else 'not measured at 10,000'}** "
             "(the Dask workers run beside the predict process: their sum is not measured here).", '',
             f"Made by `python -m bench.predict_speed --run {run} --n {a.n} --big {a.big} --memory-only --record` in {time.perf_counter() - t0:.0f} s."]
    print('\n'.join(lines))
    if a.record: write_section('predict_memory', lines)


def record(r, a):
    b, d = r['baseline'], r['default']
    lines = ['## `drlm predict`: speed and memory (issue 23)', '',
             f"{r['n']} `pbc_blood_cells` images (seeded choice), prepared at the run's {r['size']} px, {r['channels']} channels; "
             f"run `{Path(r['run']).name}`; {r['cores']} cores, {datetime.date.today()}, {platform.machine()}. Whole processes, start-up included.", '',
             '| what | wall (s) | images/s | vs baseline |', '|---|---|---|---|',
             f"| baseline: cp_measure's full set, one process ({b['columns']} columns) | {b['wall']} | {b['per_s']} | 1.00× |",
             f"| `drlm predict`, default method ({d['method']}) | {d['wall']} | {d['per_s']} | {d['speedup']}× |"]
    for m, v in r['methods'].items():
        lines.append(f"| `drlm predict --method {m}` | {v['wall']} | {v['per_s']} | {round(b['wall'] / v['wall'], 2)}× |")
    lines.append('')
    if 'big' in r:
        g = r['big']
        lines.append(f"Memory: `drlm predict` (default method) on {g['n']} images: peak resident memory {g['peak_rss_mb']} MB in the "
                     f"predict process, {g['largest_child_rss_mb']} MB in the largest of it and its Dask workers; {g['wall']} s.")
    t_speed = d['speedup'] >= 3
    lines += ['', f"Targets: ≥ 3× the baseline with the default method: **{'met' if t_speed else 'not met'}** ({d['speedup']}×)"
              + ''.join(f"; ≥ 200 images/s with `{m}`: **{'met' if v['per_s'] >= 200 else 'not met'}** ({v['per_s']})" for m, v in r['methods'].items())
              + (f"; ≤ 2 GB on {r['big']['n']} images: **{'met' if max(r['big']['peak_rss_mb'], r['big']['largest_child_rss_mb']) <= 2048 else 'not met'}**" if 'big' in r else '') + '.',
              '', f"Made by `python -m bench.predict_speed --run {a.run} --n {a.n} --big {a.big} --methods {a.methods} --record` in {r['seconds']} s."]
    write_section('predict_speed', lines)


if __name__ == '__main__':
    main()
