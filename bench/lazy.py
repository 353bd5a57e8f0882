#!/usr/bin/env python3
"""A target image folder several times larger than the memory the run may use (issue 5).

    sudo python -m bench.lazy --record          # needs root: it makes a cgroup (v1 memory controller)

Writes `--classes` × `--per-class` synthetic JPEG images of `--px`² pixels (a blob whose size and colour depend on
the class, on a noisy background) into `--data`, so that the images decoded at full resolution take several times
`--limit-gb`. Then runs `drlm transfer` on that folder (1 epoch, 1 seed, the no-fine-tuning baseline only) inside a
memory cgroup whose limit is `--limit-gb` (page cache included; no swap on this machine), and reports whether it
finished, its peak resident memory (`os.wait4`), the cgroup's peak usage and how often the limit was hit.

Why it can work: `data.ImageFiles` decodes one file at a time and keeps only the image resized to the model's size
(3 × 64 × 64 float32 = 48 KiB per image), so memory grows with the number of images, not their resolution. The bound
is that tensor: about 21,000 images per GiB at 64 px beyond the ~1.5 GB the process needs for torch, fastai and the
models; larger sets need a feature model (`--backbone`), whose features are memory-mapped from the cache.
"""
import argparse, datetime, json, os, shutil, subprocess, sys, time
from pathlib import Path
from bench.results_md import write_section
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CG = Path('/sys/fs/cgroup/memory')


def make_folder(root: Path, classes: int, per_class: int, px: int, seed=0):
    "Synthetic class folders of big JPEG images; returns (files, bytes on disk, bytes decoded as uint8 RGB)."
    from PIL import Image
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:px, 0:px].astype(np.float32) / px
    n, disk = 0, 0
    for c in range(classes):
        d = root / f'class{c}'
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            f = d / f'img{i:05d}.jpg'
            if not f.exists():
                r = 0.08 + 0.05 * c + 0.03 * g.random()
                cx, cy = 0.5 + 0.1 * (g.random() - 0.5), 0.5 + 0.1 * (g.random() - 0.5)
                blob = (((xx - cx) / r) ** 2 + ((yy - cy) / (r * (0.7 + 0.3 * g.random()))) ** 2) < 1
                col = np.array([0.3 + 0.15 * c, 0.8 - 0.1 * c, 0.5], np.float32)
                im = 0.15 + 0.05 * g.standard_normal((px, px, 1)).astype(np.float32)
                im = np.where(blob[..., None], col, im)
                Image.fromarray((np.clip(im, 0, 1) * 255).astype(np.uint8)).save(f, quality=90)
            n += 1; disk += f.stat().st_size
    return n, disk, n * px * px * 3


def in_cgroup(name: str, limit: int):
    "A fresh v1 memory cgroup with this limit; returns its folder."
    cg = CG / name
    if cg.exists(): cg.rmdir()
    cg.mkdir()
    (cg / 'memory.limit_in_bytes').write_text(str(limit))
    try: (cg / 'memory.memsw.limit_in_bytes').write_text(str(limit))
    except OSError: pass
    return cg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default='runs/bench_lazy/images', help='the image folder to write (kept for reruns)')
    ap.add_argument('--classes', type=int, default=4)
    ap.add_argument('--per-class', type=int, default=600)
    ap.add_argument('--px', type=int, default=1024, help='image side of the written JPEGs')
    ap.add_argument('--limit-gb', type=float, default=2.0, help='memory limit of the run (GiB)')
    ap.add_argument('--model', default='runs/bench_transfer/pretrain', help='a pretrain run (bench/transfer.py makes one)')
    ap.add_argument('--out', default='runs/bench_lazy/run')
    ap.add_argument('--record', action='store_true', help='write the lazy section of bench/RESULTS.md')
    args = ap.parse_args()
    if not CG.is_dir() or os.geteuid() != 0: sys.exit('bench/lazy.py needs root and the cgroup v1 memory controller at /sys/fs/cgroup/memory')
    t = time.perf_counter()
    n, disk, decoded = make_folder(Path(args.data), args.classes, args.per_class, args.px)
    make_s = time.perf_counter() - t
    limit = int(args.limit_gb * 2**30)
    print(f'{n} images, {disk / 2**30:.2f} GiB on disk, {decoded / 2**30:.2f} GiB decoded (uint8 RGB); limit {args.limit_gb} GiB', flush=True)
    if Path(args.out).exists(): shutil.rmtree(args.out)
    cg = in_cgroup('drlm_bench_lazy', limit)
    cmd = ['drlm', 'transfer', '--model', args.model, '--target', args.data, '--finetune-epochs', '1', '--seeds', '1', '--baselines', 'no-finetune',
           '--metrics', '', '--held-out', '', '--out', args.out]
    env = dict(os.environ, OMP_NUM_THREADS='2')
    t = time.perf_counter()
    log = Path(args.out + '.log'); log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, 'w') as fh:
        p = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                             preexec_fn=lambda: (cg / 'cgroup.procs').write_text(str(os.getpid())))
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    res = dict(date=datetime.date.today().isoformat(), cmd='python ' + ' '.join([sys.argv[0]] + sys.argv[1:]), run_cmd=' '.join(cmd),
               images=n, px=args.px, disk_gib=round(disk / 2**30, 2), decoded_gib=round(decoded / 2**30, 2), limit_gib=args.limit_gb,
               make_s=round(make_s, 1), exit=os.waitstatus_to_exitcode(status), wall_s=round(wall, 1), peak_rss_mib=round(ru.ru_maxrss / 1024),
               cgroup_peak_mib=round(int((cg / 'memory.max_usage_in_bytes').read_text()) / 2**20),
               limit_hits=int((cg / 'memory.failcnt').read_text()), log_tail=log.read_text()[-800:])
    cg.rmdir()
    if (Path(args.out) / 'results.json').exists():
        r = json.loads((Path(args.out) / 'results.json').read_text())
        res['n_train'], res['n_test'] = r['target']['n_train'], r['target']['n_test']
        res['acc'] = {f'{m}/{c}': v for m, d in r['accuracy'].items() for c, v in d.items()}
    print(json.dumps(res, indent=1))
    if args.record:
        ok = res['exit'] == 0
        acc = ', '.join(f"{k} {100 * v['mean']:.1f}" for k, v in (res.get('acc') or {}).items() if v and v.get('mean') is not None)
        L = ['## A target larger than the memory it may use (`bench/lazy.py`)', '',
             f"Run {res['date']} with `sudo {res['cmd']}` (2 CPU cores).", '',
             f"{res['images']} JPEG images of {res['px']}×{res['px']} px in {args.classes} class folders: {res['disk_gib']} GiB on disk, "
             f"**{res['decoded_gib']} GiB decoded** (uint8 RGB), against a memory cgroup limit of **{res['limit_gib']} GiB** "
             f"({res['decoded_gib'] / res['limit_gib']:.1f}× the limit; page cache counted, no swap). The run: `{res['run_cmd']}`.", '',
             '| finished | wall (s) | peak RSS (MiB) | cgroup peak (MiB) | times the limit was hit | train / test | balanced accuracy % |',
             '|---|---|---|---|---|---|---|',
             f"| {'yes' if ok else 'NO (exit %d)' % res['exit']} | {res['wall_s']:.0f} | {res['peak_rss_mib']} | {res['cgroup_peak_mib']} | {res['limit_hits']} | "
             f"{res.get('n_train', '—')} / {res.get('n_test', '—')} | {acc or '—'} |", '',
             'The measured bound: `ImageFiles` decodes one file at a time and keeps the image at the model size only '
             '(48 KiB per image at 64 px, float32), so memory grows with the number of images, not their resolution; '
             'torch, fastai and the models take about 1.5 GB before any image. Peak RSS can exceed the cgroup peak: RSS also '
             'counts shared library pages that other processes had already brought into the page cache, which the cgroup does '
             'not charge to this run; what the run allocates (tensors, heap) and the files it reads are charged.']
        write_section('lazy', L)
    sys.exit(0 if res['exit'] == 0 else 1)


if __name__ == '__main__':
    main()
