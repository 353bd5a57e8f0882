"""Disentanglement quality bar (issue 4): train a model on TextureSprites (centred, 64 px) within a CPU-time
budget with the project's defaults, then score it with `evaluation.evaluate` on 10,000 images.

    python -m bench.quality --minutes 25 --models ada-gvae beta-vae --record

Each model trains in its own subprocess on one thread (so two can share the 2 cores); the budget is CPU
minutes of that process. Steps are calibrated from a short timed fit, then `learner.pretrain` runs the real job.
"""
import argparse, json, os, subprocess, sys, time, resource, tempfile, datetime
from pathlib import Path
from bench.results_md import write_section, write_atomic

HERE = Path(__file__).resolve().parent

def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def one(model, minutes, arch, bs, beta, seed, out, n_eval, aggregator, lr=1e-4):
    import torch
    torch.set_num_threads(1)
    from drl_microscopy.learner import pretrain_learner, pretrain, load_bundle
    from drl_microscopy.synth import TextureSprites
    from drl_microscopy.evaluation import evaluate
    src = TextureSprites(64).centred()
    # calibrate: seconds of CPU per step of this model
    learn = pretrain_learner(src, model, beta=beta, bs=bs, arch=arch, aggregator=aggregator, steps_per_epoch=12,
                             seed=seed, device='cpu', lr=lr)
    with learn.no_bar(), learn.no_logging(): learn.fit(1)          # warm-up epoch (allocations, first-call costs)
    t0 = cpu_s()
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    per_step = (cpu_s() - t0) / 12
    budget = minutes * 60 - 60                                      # leave a minute for saving and figures
    steps = max(100, int(budget / per_step))
    t0, w0 = cpu_s(), time.time()
    run = pretrain(source=src, model=model, beta=beta, steps=steps, bs=bs, arch=arch, aggregator=aggregator,
                   seed=seed, out=out, centred=True, force=True, progress=False, device='cpu', lr=lr)
    train_cpu, train_wall = cpu_s() - t0, time.time() - w0
    b = load_bundle(Path(run)/'bundle.pt')
    t1 = time.time()
    scores = evaluate(b.model, src, n=n_eval, seed=0, metrics=('omes', 'mig', 'dci', 'sap', 'modularity'))
    eval_s = time.time() - t1
    keep = {k: v for k, v in scores.items() if isinstance(v, (int, float))}
    return dict(model=model, lr=lr, aggregator=aggregator if model.startswith('ada') else None, arch=arch, beta=beta, bs=bs,
                seed=seed, steps=steps, cpu_s_per_step=round(per_step, 4), train_cpu_min=round(train_cpu/60, 2),
                train_wall_min=round(train_wall/60, 2), eval_s=round(eval_s, 1), n_eval=n_eval, run=str(run),
                scores={k: round(float(v), 4) for k, v in keep.items()},
                association=scores.get('association'), dim_names=scores.get('dim_names'))

def record(results, cmd):
    load = os.getloadavg()[0]
    lines = ['## Disentanglement quality bar (`bench/quality.py`)', '',
             f'Latest: `{cmd}` — {datetime.date.today()}; each row names its command below. 2 CPU cores, each model in its own process on 1 thread '
             f'(load average at the end {load:.1f}). TextureSprites with centred positions (5 free factors: texture, '
             'color, shape, scale, orientation), 64 px; scores from `evaluation.evaluate` on 10,000 rendered images '
             '(OMES from 5,000 intervention pairs, α = 0.5, avg pooling; DCI with the fast backend).', '',
             '| model | arch | β | lr | steps | train CPU min | OMES | MIG | DCI-D | DCI-C | DCI-I | SAP | modularity | bar (OMES ≥ 0.7, DCI-D ≥ 0.6, MIG ≥ 0.3) |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for r in results:
        s = r['scores']
        g = lambda k: f"{s[k]:.3f}" if k in s else '–'
        ok = s.get('omes', 0) >= 0.7 and s.get('dci_disentanglement', 0) >= 0.6 and s.get('mig', 0) >= 0.3
        name = r['model'] + (f" ({r['aggregator']})" if r['aggregator'] else '')
        lines.append(f"| {name} | {r['arch']} | {r['beta']} | {r.get('lr', 1e-4):g} | {r['steps']} | {r['train_cpu_min']} | {g('omes')} | {g('mig')} | "
                     f"{g('dci_disentanglement')} | {g('dci_completeness')} | {g('dci_informativeness')} | {g('sap')} | "
                     f"{g('modularity')} | {'met' if ok else 'missed'} |")
    lines += [''] + [f"- {r['model']} lr {r.get('lr', 1e-4):g}: `{r.get('command', cmd)}` (train wall {r['train_wall_min']} min, eval {r['eval_s']} s; OMES association {r.get('association')})" for r in results]
    lines += ['', 'Score keys as returned by `evaluate`: ' + ', '.join(sorted(results[0]['scores']))]
    write_section('quality', lines)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--minutes', type=float, default=25, help='CPU minutes per model (training + saving)')
    ap.add_argument('--models', nargs='+', default=['ada-gvae', 'beta-vae'])
    ap.add_argument('--arch', default='burgess')
    ap.add_argument('--bs', type=int, default=64)
    ap.add_argument('--beta', type=float, default=1.)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--lr', type=float, default=1e-4)
    ap.add_argument('--from-json', default=None, help='record results saved by an earlier run (its printed JSON)')
    ap.add_argument('--aggregator', default='labels')
    ap.add_argument('--n-eval', type=int, default=10_000)
    ap.add_argument('--out', default=None)
    ap.add_argument('--record', action='store_true')
    ap.add_argument('--child', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        res = one(a.child, a.minutes, a.arch, a.bs, a.beta, a.seed, a.out, a.n_eval, a.aggregator, a.lr)
        print('RESULT ' + json.dumps(res)); return
    if a.from_json:
        t = Path(a.from_json).read_text(); results = json.loads(t[t.index('['):])
        old = HERE/'quality_runs.json'
        prev = json.loads(old.read_text()) if old.exists() else []
        keep = prev + [r for r in results if r not in prev]
        write_atomic(old, json.dumps(keep, indent=1)); record(keep, a.cmd if hasattr(a, 'cmd') else 'python -m bench.quality (see each row)'); return
    out = Path(a.out or tempfile.mkdtemp(prefix='drlm-quality-'))
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    procs = []
    for m in a.models:
        cmd = [sys.executable, '-m', 'bench.quality', '--child', m, '--minutes', str(a.minutes), '--arch', a.arch, '--bs', str(a.bs),
               '--beta', str(a.beta), '--seed', str(a.seed), '--aggregator', a.aggregator, '--n-eval', str(a.n_eval),
               '--lr', str(a.lr), '--out', str(out/m)]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for m, p in zip(a.models, procs):
        so, se = p.communicate()
        line = [l for l in so.splitlines() if l.startswith('RESULT ')]
        if p.returncode or not line:
            print(f'{m} failed ({p.returncode}):\n{se[-3000:]}', file=sys.stderr); continue
        results.append(json.loads(line[-1][7:]))
    print(json.dumps(results, indent=1))
    cmd = 'python -m bench.quality ' + ' '.join(sys.argv[1:])
    for r in results: r['command'] = cmd
    if a.record and results:
        old = HERE/'quality_runs.json'
        prev = json.loads(old.read_text()) if old.exists() else []
        allr = prev + results
        write_atomic(old, json.dumps(allr, indent=1))
        record(allr, cmd)

if __name__ == '__main__': main()
