"""Quality of a pretraining run against its steps (issue 22): OMES, MIG and DCI-D of every kept checkpoint of a
`drlm pretrain` run, on `n` source images, so the steps a good source model needs are measured, not guessed.

    python -m bench.source_quality RUN [RUN ...] [--checkpoints DIR] [--n 2000]
    python -m bench.source_quality RUN --record     # also write the section 'source_quality' of bench/RESULTS.md

Each checkpoint is loaded into the model that `learner.pretrain_learner` builds from the run's config.json.
"""
import argparse, json, os, re, shutil, tempfile, time, datetime
from pathlib import Path
import torch
from drl_microscopy.learner import pretrain_learner
from drl_microscopy.evaluation import evaluate
from drl_microscopy.cells import get_source
from bench.results_md import write_section


def checkpoint_scores(run, folder=None, n=2000, seed=0):
    "[(step, {'omes', 'mig', 'dci_disentanglement'})] for every checkpoint of `run` (or of `folder`)."
    run = Path(run); cfg = json.loads((run / 'config.json').read_text())
    folder = Path(folder) if folder else run / 'checkpoints'
    src = get_source(cfg['source'], cfg['size'])
    if cfg['centred'] and hasattr(src, 'centred'): src = src.centred()
    learn = pretrain_learner(src, cfg['model'], beta=cfg['beta'], latent=cfg['latent'], bs=cfg['bs'],
                             aggregator=cfg['aggregator'], arch=cfg['arch'], lr=cfg['lr'], size=cfg['size'],
                             seed=cfg['seed'], device='cpu', total_steps=cfg['steps'])
    out = []
    for p in sorted(folder.glob('ckpt-*.pt')):
        state = torch.load(p, map_location='cpu', weights_only=True)
        vae = getattr(learn.model, 'vae', learn.model)
        try: learn.model.load_state_dict(state['model'])
        except RuntimeError: vae.load_state_dict(state['model'])
        vae.eval()
        s = evaluate(vae, src, n=n, seed=seed, metrics=('omes', 'mig', 'dci'))
        out.append((int(state['step']), {k: float(s[k]) for k in ('omes', 'mig', 'dci_disentanglement')}))
        print(run.name, out[-1], flush=True)
    return out


def watch(runs, log: Path, n: int = 1000, every: int = 60):
    "Score every new checkpoint of the runs once, while they train (a run keeps only its last two), appending to `log` (JSON lines)."
    done = {(r['run'], r['step']) for r in map(json.loads, log.read_text().splitlines())} if log.exists() else set()
    while True:
        for run in map(Path, runs):
            for p in sorted((run / 'checkpoints').glob('ckpt-*.pt')):
                if (run.name, int(p.stem.split('-')[1])) in done: continue
                d = Path(tempfile.mkdtemp())
                try: shutil.copy(p, d)
                except FileNotFoundError: continue                  # rotated away meanwhile
                for st, sc in checkpoint_scores(run, d, n=n):
                    with log.open('a') as f: f.write(json.dumps(dict(run=run.name, step=st, **sc, at=time.strftime('%H:%M'))) + '\n')
                    done.add((run.name, st))
                shutil.rmtree(d)
        time.sleep(every)


def from_log(log: Path, names: dict) -> list:
    "Tables of a watch log: one per run (titled by `names`, run folder -> what it shipped as), every step scored."
    rows = [json.loads(l) for l in Path(log).read_text().splitlines()]
    out = []
    for run in dict.fromkeys(r['run'] for r in rows):
        rs = sorted({r['step']: r for r in rows if r['run'] == run}.values(), key=lambda r: r['step'])
        out += [f"**{names.get(run, run)}** (run folder `{run}`)", '', '| step | OMES | MIG | DCI-D |', '|---|---|---|---|']
        out += [f"| {r['step']:,} | {r['omes']:.3f} | {r['mig']:.3f} | {r['dci_disentanglement']:.3f} |" for r in rs] + ['']
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('runs', nargs='*', help='pretraining run folders')
    ap.add_argument('--checkpoints', nargs='*', default=None, help='a folder of kept checkpoints per run (default: RUN/checkpoints)')
    ap.add_argument('--n', type=int, default=2000, help='source images per evaluation')
    ap.add_argument('--watch', default='', help='score each new checkpoint of the runs while they train, into this JSON-lines log (runs until stopped)')
    ap.add_argument('--from-log', default='', help='the tables of a --watch log instead of scoring')
    ap.add_argument('--names', default='', help='with --from-log: RUN=NAME,... (the names the runs shipped as)')
    ap.add_argument('--record', action='store_true', help="write the 'source_quality' section of bench/RESULTS.md")
    a = ap.parse_args()
    if a.watch: watch(a.runs, Path(a.watch), a.n)
    t0 = time.time()
    if a.from_log:
        names = dict(kv.split('=') for kv in a.names.split(',') if kv)
        lines = ['## Source-model quality against steps (issue 22)', '',
                 f'`python -m bench.source_quality RUN... --watch LOG --n 1000` scored each checkpoint of the runs on 1,000 source '
                 f'images (seed 0) while they trained, on the 2-core CPU shared with other trainings ({datetime.date.today()}); '
                 f'`python -m bench.source_quality --from-log LOG --names ... --record` wrote these tables. Goal: OMES ≥ 0.6, MIG ≥ 0.5, DCI-D ≥ 0.8.', '']
        lines += from_log(Path(a.from_log), names)
    else:
        lines = ['## Source-model quality against steps (issue 22)', '',
                 f'`python -m bench.source_quality RUN --checkpoints DIR --n {a.n} --record` ({datetime.date.today()}): every checkpoint '
                 f'kept during the run, scored on {a.n} source images (seed 0). Goal: OMES ≥ 0.6, MIG ≥ 0.5, DCI-D ≥ 0.8.', '']
        for i, run in enumerate(a.runs):
            folder = a.checkpoints[i] if a.checkpoints else None
            rows = checkpoint_scores(run, folder, a.n)
            lines += [f'**{Path(run).name}**', '', '| step | OMES | MIG | DCI-D |', '|---|---|---|---|']
            lines += [f'| {st:,} | {s["omes"]:.3f} | {s["mig"]:.3f} | {s["dci_disentanglement"]:.3f} |' for st, s in rows] + ['']
    lines.append(f'({time.time() - t0:.0f} s, load {os.getloadavg()[0]:.1f} on 2 cores)')
    print('\n'.join(lines))
    if a.record: write_section('source_quality', lines)
