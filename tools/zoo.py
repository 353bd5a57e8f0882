#!/usr/bin/env python3
"""Ship a `drlm pretrain` run as a source model of the package zoo (`drl_microscopy/zoo/NAME/`), with its model card.

    python -m tools.zoo card RUN NAME [--n 10000]      # measure the run on 10,000 source images, write the card, copy the bundle
    python -m tools.zoo table [--record]               # the shipped models and their cards (the zoo section of bench/RESULTS.md)

`card` runs `drlm evaluate RUN --n N --metrics omes,mig,dci` (unless RUN/metrics.json already holds that measurement),
then writes `drl_microscopy/zoo/NAME/card.json` and `bundle.pt`. A Φ model's weights are stored in float16 (half the
size; they are read back into float32); a pixel model's stay float32. The card records the command that made the run
(from RUN/run.json), its settings, the training wall time read from the checkpoint files, the scores, the names the
model's own measurement supports, and whether the quality goal (OMES >= 0.6, MIG >= 0.5, DCI-D >= 0.8) is met.
"""
import argparse, hashlib, json, os, platform, re, subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT/'drl_microscopy'/'zoo'
GOAL = dict(omes=0.6, mig=0.5, dci_disentanglement=0.8)
METRICS = 'omes,mig,dci'


def sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''): h.update(b)
    return h.hexdigest()


def train_time(run: Path, log: str = '') -> dict:
    """Wall time of training: from the last two checkpoints a run keeps (the time of its last `checkpoint_every` steps, times
    the number of such intervals), and, when the run's console log is given, the epoch times of fastai's table and the
    wall time and peak memory `/usr/bin/time -v` printed."""
    import re
    cks = sorted((run/'checkpoints').glob('ckpt-*.pt'))
    cfg = json.loads((run/'config.json').read_text())
    every = cfg['checkpoint_every']
    out = dict(checkpoint_every=every)
    if len(cks) >= 2:
        per = cks[-1].stat().st_mtime - cks[-2].stat().st_mtime
        out.update(s_last_interval=round(per, 1), estimated_wall_min=round(per * cfg['steps'] / every / 60, 1))
    if log and Path(log).exists():
        text = Path(log).read_text(errors='replace').replace('\r', '\n')
        secs = lambda t: sum(int(x) * 60 ** k for k, x in enumerate(reversed(t.split(':'))))
        epochs = [secs(m) for m in re.findall(r'^\s*\d+\s+[-\d.e]+\s+[-\d.e]+\s+(\d+:\d\d(?::\d\d)?)\s*$', text, re.M)]
        if epochs: out.update(logged_epochs=len(epochs), logged_epoch_min=round(sum(epochs) / 60, 1))
        m = re.search(r'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)', text)
        if m: out['process_wall_min'] = round(secs(m.group(1).split('.')[0]) / 60, 1)
        m = re.search(r'Maximum resident set size \(kbytes\): (\d+)', text)
        if m: out['peak_rss_gb'] = round(int(m.group(1)) / 2**20, 2)
    return out


def measure(run: Path, n: int) -> dict:
    m = run/'metrics.json'
    if m.exists() and m.stat().st_mtime > (run/'bundle.pt').stat().st_mtime:     # measured on this bundle, not an earlier chunk's
        d = json.loads(m.read_text())
        if d.get('n') == n and all(k in d for k in ('omes', 'mig', 'dci_disentanglement')): return d
    cmd = ['drlm', 'evaluate', str(run), '--n', str(n), '--metrics', METRICS]
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return json.loads(m.read_text())


def card(run: str, name: str, n: int, note: str = '', zoo: Path = ZOO, log: str = '', chunk: str = '', chunk_command: str = ''):
    import torch
    run = Path(run).resolve()
    cfg, meta = json.loads((run/'config.json').read_text()), json.loads((run/'run.json').read_text())
    scores = measure(run, n)
    phi = cfg.get('input') == 'features'
    dest = Path(zoo)/name
    dest.mkdir(parents=True, exist_ok=True)
    b = torch.load(run/'bundle.pt', map_location='cpu', weights_only=False)
    dtype = 'float32'
    if phi:                                     # float16 storage: the loader copies into the float32 model
        b['state_dict'] = {k: (v.half() if v.is_floating_point() else v) for k, v in b['state_dict'].items()}
        dtype = 'float16'
    tmp = dest/'.bundle.pt.tmp'
    torch.save(b, tmp); os.replace(tmp, dest/'bundle.pt')
    from drl_microscopy.finished import remeasure
    old = json.loads((dest/'card.json').read_text()) if (dest/'card.json').exists() else {}
    if old.get('bundle_sha256') == sha256(dest/'bundle.pt') and old.get('check'): check = old['check']   # the same file, measured before
    else: check = remeasure(dest/'bundle.pt', n=1000, seed=0)      # what the notebook test re-measures, from the shipped file
    goal = {k: dict(goal=v, measured=round(float(scores[k]), 3), met=bool(scores[k] >= v)) for k, v in GOAL.items()}
    c = dict(name=name, source=cfg['source'], input='features' if phi else 'pixels',
             size=int(cfg['features']['input_size'] if phi else cfg['size']),
             backbone=cfg['features']['name'] if phi else 'none', latent=cfg['latent'], model=cfg['model'],
             aggregator=cfg['aggregator'], arch=None if phi else cfg['arch'], hidden=cfg.get('hidden') if phi else None,
             steps=cfg['steps'], bs=cfg['bs'], lr=cfg['lr'], seed=cfg['seed'], centred=cfg['centred'],
             pool=cfg['features'].get('pool') if phi else None, command=meta['command'],
             made=dict(date=meta['created'][:10], library_version=meta['version'], machine=f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU",
                       threads=1, shared_with='up to 4 other jobs on the 2 cores', train_time=train_time(run, log)),
             metrics=dict(n=scores['n'], seed=scores['seed'], omes=round(scores['omes'], 3), mig=round(scores['mig'], 3),
                          dci_disentanglement=round(scores['dci_disentanglement'], 3),
                          dci_completeness=round(scores['dci_completeness'], 3), dci_informativeness=round(scores['dci_informativeness'], 3),
                          command=f"drlm evaluate RUN --n {n} --metrics {METRICS}"),
             check=check, goal=goal, goal_met=all(g['met'] for g in goal.values()),
             measured_names=scores.get('measured_names'), unnamed_factors=scores.get('unnamed_factors'),
             weights_dtype=dtype, bundle_sha256=sha256(dest/'bundle.pt'), note=note)
    out_of = lambda cmd: (re.findall(r'--out (\S+)', cmd or '') or [None])[0]
    same_run = out_of(old.get('command')) == out_of(c['command'])
    chunks = list(old.get('chunks') or []) if same_run else []      # the chunks of this run shipped before
    c['command'] = c['command'].replace('cli.py ', 'drlm ').replace('python -m drl_microscopy.cli ', 'drlm ')
    if chunk: chunks.append(dict(steps=chunk, date=__import__('datetime').date.today().isoformat(), command=chunk_command or c['command']))
    if chunks: c['chunks'] = chunks          # a training in several sessions: every chunk, with the command that ran it
    tmp = dest/'.card.json.tmp'
    tmp.write_text(json.dumps(c, indent=1) + '\n'); os.replace(tmp, dest/'card.json')
    print(json.dumps({k: c[k] for k in ('name', 'metrics', 'goal_met')}, indent=1))


def table(record: bool):
    rows = [json.loads(p.read_text()) for p in sorted(ZOO.glob('*/card.json'))]
    lines = ['## Shipped source models (`tools/zoo.py`)', '',
             'Each model is package data (`drl_microscopy/zoo/NAME/`) and loads by name (`zoo:NAME`); its card holds the '
             'command that made it. Scores on 10,000 source images (`drlm evaluate RUN --n 10000 --metrics omes,mig,dci`); '
             'goal OMES ≥ 0.6, MIG ≥ 0.5, DCI-D ≥ 0.8. Regenerate this table with `python -m tools.zoo table --record`.', '',
             '| name | source | input | steps | train wall (min) | OMES | MIG | DCI-D | goal | measured names |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for c in rows:
        m, t = c['metrics'], c['made']['train_time']
        inp = f"pixels {c['size']} px" if c['input'] == 'pixels' else f"Φ {c['backbone']} " + (f"{c['size']} px" if c['size'] else "at its own input size")
        miss = [k.replace('dci_disentanglement', 'DCI-D').replace('omes', 'OMES').replace('mig', 'MIG')
                for k, g in c['goal'].items() if not g['met']]
        names = ', '.join(sorted(set(v for v in (c.get('measured_names') or []) if v and not v.startswith('z')))) or '—'
        lines.append(f"| {c['name']} | {c['source']} | {inp} | {c['steps']:,} | {t.get('estimated_wall_min', '?')} | {m['omes']:.3f} | "
                     f"{m['mig']:.3f} | {m['dci_disentanglement']:.3f} | {'met' if c['goal_met'] else 'missed: ' + ', '.join(miss)} | {names} |")
    lines += ['']
    for c in rows: lines.append(f"- {c['name']}: `{c['command']}`" + (f" ({c['note']})" if c.get('note') else ''))
    print('\n'.join(lines))
    if record:
        from bench.results_md import write_section
        write_section('zoo', lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    c = sub.add_parser('card'); c.add_argument('run'); c.add_argument('name'); c.add_argument('--n', type=int, default=10_000)
    c.add_argument('--note', default='')
    c.add_argument('--log', default='', help="the training's console log (epoch table, /usr/bin/time -v)")
    c.add_argument('--zoo', default=str(ZOO), help='the zoo folder to write into (default: the package\'s)')
    c.add_argument('--chunk', default='', help="the steps this session ran, e.g. '7,001-12,000' (appended to the card's chunks of the same run)")
    c.add_argument('--chunk-command', default='', help='the command that ran that chunk (default: the run\'s own)')
    t = sub.add_parser('table'); t.add_argument('--record', action='store_true')
    a = ap.parse_args()
    if a.cmd == 'card': card(a.run, a.name, a.n, a.note, Path(a.zoo), a.log, a.chunk, a.chunk_command)
    else: table(a.record)


if __name__ == '__main__':
    main()
