#!/usr/bin/env python3
"""Balanced accuracy of DRL transfer against its baselines on real and synthetic targets (`drl_microscopy.run`).

    python bench/transfer.py                          # the whole table (≈ 60 min on 2 cores): pretrain once, then every dataset
    python bench/transfer.py --only pbc,herlev        # some datasets (reuses the pretrained model in --out when it is there)
    python bench/transfer.py --quick --only vacuoles  # a smoke test: tiny settings, a minute or two
    python bench/transfer.py --pretrain runs/pretrain # transfer a model pretrained elsewhere (`drlm pretrain`)
    python bench/transfer.py ... --record             # also rewrite the transfer section of bench/RESULTS.md

Datasets (`--only` names): `pbc` (pbc_blood_cells, 8 classes), `herlev` (herlev_pap_smear, 7 classes), `herlev2`
(herlev_pap_smear as normal vs abnormal, through a CSV list written into --out), `ndsb` (ndsb_plankton, its 15 largest
classes) and `vacuoles` (the synthetic preset). Needs the shared data (`$DRLM_DATA` or ../shared/data) for the real sets.

One source model (Ada-GVAE, labels aggregator, β = 1, 10 latents, Texture-dSprites at 64 px, centred) is pretrained once
into `--out/pretrain`; each dataset is then transferred by `pipeline.transfer` in its own subprocess, so that its peak
resident memory is its own (`os.wait4` gives each child's `ru_maxrss`; the table also gives the maximum over all
children from `resource.getrusage(RUSAGE_CHILDREN)`). Methods, all on the same stratified split (seed 0):
DRL transfer with GBT and MLP; (a) the source model without fine-tuning; (b) the same VAE trained from scratch on the
target; (c) a supervised CNN (same encoder trunk + linear head, random init, fastai one-cycle); (d) hand-crafted
morphology features. Mean ± std over seeds (fine-tuning, classifier and CNN seeds; one source model).
"""
import argparse, datetime, json, os, platform, resource, subprocess, sys, time
from pathlib import Path
from results_md import write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATASETS = {
    'pbc':      dict(target='pbc_blood_cells', label='pbc_blood_cells (8 classes)'),
    'herlev':   dict(target='herlev_pap_smear', label='herlev_pap_smear (7 classes)'),
    'herlev2':  dict(target='herlev2', label='herlev_pap_smear, normal vs abnormal'),
    'ndsb':     dict(target='ndsb_plankton', top_classes=15, label='ndsb_plankton (15 largest classes)'),
    'vacuoles': dict(target='vacuoles', label='vacuoles (synthetic preset, 4 classes)'),
}
# settings of the full table and of --quick; max_per_class caps the images per class of a real set
FULL = dict(pretrain=dict(pretrain_steps=2000, pretrain_bs=32, pretrain_lr=5e-4, size=64),
            transfer=dict(epochs=8, seeds=3, bs=64, max_per_class=120, n_train=600, n_test=300, gbt_estimators=100, mlp_max_iter=1000,
                          metrics='omes,mig,dci', metrics_n=2000, held_out=''))
QUICK = dict(pretrain=dict(pretrain_steps=40, pretrain_bs=16, pretrain_lr=5e-4, size=64),
             transfer=dict(epochs=1, seeds=2, bs=32, max_per_class=12, n_train=48, n_test=32, gbt_estimators=20, mlp_max_iter=50,
                           metrics='omes', metrics_n=400, held_out=''))
METHODS = [('drl-transfer', 'gbt', 'DRL GBT'), ('drl-transfer', 'mlp', 'DRL MLP'), ('no-finetune', 'gbt', '(a) no FT GBT'),
           ('no-finetune', 'mlp', '(a) no FT MLP'), ('scratch', 'gbt', '(b) scratch GBT'), ('scratch', 'mlp', '(b) scratch MLP'),
           ('cnn', 'cnn', '(c) CNN'), ('morphology', 'gbt', '(d) morph. GBT'), ('morphology', 'mlp', '(d) morph. MLP')]


def herlev2_csv(out: Path) -> Path:
    "A CSV list of the Herlev images labelled normal / abnormal (the standard 2-class grouping)."
    from drl_microscopy.core import data_root
    from drl_microscopy.data import IMAGE_EXTENSIONS
    root = data_root(required=True) / 'herlev_pap_smear'
    rows = ['path,label']
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        lab = 'normal' if d.name.startswith('normal') else 'abnormal'
        rows += [f'{f},{lab}' for f in sorted(d.iterdir()) if f.suffix.lower() in IMAGE_EXTENSIONS]
    path = out / 'herlev2.csv'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join(rows) + '\n')
    return path


def worker(args):
    "In a subprocess: pretrain (name 'pretrain') or transfer one dataset; prints nothing but the log."
    import torch
    torch.set_num_threads(args.threads)
    from drl_microscopy import run as pipeline
    from drl_microscopy.learner import pretrain
    s = QUICK if args.quick else FULL
    out = Path(args.out)
    if args.worker == 'pretrain':
        p = s['pretrain']
        pretrain('texture-sprites', model='ada-gvae', aggregator='labels', beta=1., latent=10, steps=p['pretrain_steps'], size=p['size'],
                 seed=0, bs=p['pretrain_bs'], lr=p['pretrain_lr'], out=out / 'pretrain', resume=(out / 'pretrain').exists(),
                 progress=False)
        return
    d = dict(DATASETS[args.worker]); d.pop('label')
    if d['target'] == 'herlev2': d['target'] = str(herlev2_csv(out))
    pipeline.transfer(args.pretrain, out=str(out / args.worker), quiet=True, resume=(out / args.worker / 'config.toml').exists(),
                      **{**s['transfer'], **d})


def child(args, name):
    "Run a worker subprocess; returns (wall seconds, its peak resident memory in MiB, exit status)."
    cmd = [sys.executable, __file__, '--worker', name, '--out', args.out, '--pretrain', args.pretrain, '--threads', str(args.threads)]
    if args.quick: cmd.append('--quick')
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t, ru.ru_maxrss / 1024, p.returncode


def fmt(m):
    return '—' if not m or m.get('mean') is None else f"{100 * m['mean']:.1f} ± {100 * m['std']:.1f}"


def summarise(out: Path, names, timing):
    rows = []
    for n in names:
        p = out / n / 'results.json'
        if not p.exists(): rows.append(dict(name=n, missing=True, **timing.get(n, {}))); continue
        r = json.loads(p.read_text())
        acc = r['accuracy']
        rows.append(dict(name=n, label=DATASETS[n]['label'], classes=len(r['target']['classes']), n_train=r['target']['n_train'],
                         n_test=r['target']['n_test'], acc={f'{m}/{c}': acc.get(m, {}).get(c) for m, c, _ in METHODS},
                         checks=r['checks'], dis=r.get('disentanglement'), **timing.get(n, {})))
    return rows


def checks(rows):
    "The targets: DRL beats (a) on every set, beats (b) on average, is within 10 points of (c) on PBC."
    ok = [r for r in rows if not r.get('missing')]
    best = lambda r, m: max([r['acc'][f'{m}/{c}']['mean'] for c in ('gbt', 'mlp') if r['acc'].get(f'{m}/{c}')] or [float('nan')])
    out = {}
    out['beats (a) no fine-tuning on every set (best classifier)'] = all(best(r, 'drl-transfer') > best(r, 'no-finetune') for r in ok)
    gaps = [best(r, 'drl-transfer') - best(r, 'scratch') for r in ok]
    out['beats (b) from scratch on average (points)'] = round(100 * sum(gaps) / max(len(gaps), 1), 2)
    pbc = [r for r in ok if r['name'] == 'pbc']
    if pbc and pbc[0]['acc'].get('cnn/cnn'):
        out['PBC: points below the supervised CNN (c)'] = round(100 * (pbc[0]['acc']['cnn/cnn']['mean'] - best(pbc[0], 'drl-transfer')), 2)
    return out


def record(rows, chk, meta):
    s = meta['settings']
    body = ['## transfer (bench/transfer.py)', '',
            f"Run {meta['date']} with `{meta['cmd']}` on {meta['machine']}, {meta['cores']} cores ({meta['threads']} torch/BLAS threads per run), "
            f"load average before: {meta['load']:.2f}{' — **quick smoke test: tiny settings, the numbers mean nothing**' if meta['quick'] else ''}.",
            f"Settings: 64 px, one source model " + (f"(`{meta['pretrain_given']}`)" if meta['pretrain_given'] else
            f"(Ada-GVAE labels, β 1, 10 latents, Texture-dSprites centred, {s['pretrain']['pretrain_steps']} steps × "
            f"{s['pretrain']['pretrain_bs']} pairs, Adam lr {s['pretrain']['pretrain_lr']}, pretraining took {meta['pretrain_s']:.0f} s"
            + (' in an earlier invocation' if not meta['pretrain_s'] else '') + ')') + "; fine-tuning "
            f"{s['transfer']['epochs']} epochs × {s['transfer']['seeds']} seeds (AdamW 1e-4, batch {s['transfer']['bs']}); at most "
            f"{s['transfer']['max_per_class']} images per class of a real set (stratified 80/20 split, seed 0); vacuoles {s['transfer']['n_train']} / "
            f"{s['transfer']['n_test']} images; GBT {s['transfer']['gbt_estimators']} trees, MLP ≤ {s['transfer']['mlp_max_iter']} epochs; CNN 3× the fine-tuning epochs (one-cycle, lr 1e-3).",
            'Balanced accuracy (%), mean ± std over seeds, test split.', '',
            '| dataset | classes | train / test | ' + ' | '.join(l for _, _, l in METHODS) + ' | wall (s) | peak RSS (MiB) |',
            '|---' * (len(METHODS) + 5) + '|']
    for r in rows:
        if r.get('missing'): body.append(f"| {r['name']} | failed (exit {r.get('status')}) |"); continue
        body.append(f"| {r['label']} | {r['classes']} | {r['n_train']} / {r['n_test']} | " + ' | '.join(fmt(r['acc'][f'{m}/{c}']) for m, c, _ in METHODS)
                    + f" | {r['wall_s']:.0f} | {r['rss_mb']:.0f} |")
    body += ['', f"Peak resident memory over all runs (`getrusage(RUSAGE_CHILDREN)`): {meta['children_rss_mb']:.0f} MiB. Total wall time {meta['total_s']:.0f} s.", '',
             'Targets: ' + '; '.join(f'{k}: {v}' for k, v in chk.items()) + '.']
    dis = [(r['name'], r['dis']) for r in rows if r.get('dis')]
    if dis:
        body += ['', 'OMES on the source factors, source model → fine-tuned (mean over seeds): ' +
                 '; '.join(f"{n} {d['source'].get('omes', float('nan')):.3f} → {(d['finetuned'].get('omes') or {}).get('mean') or float('nan'):.3f}" for n, d in dis) + '.']
    write_section('transfer', body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--only', default='', help='comma-separated datasets: ' + ', '.join(DATASETS))
    ap.add_argument('--quick', action='store_true', help='tiny settings (a smoke test)')
    ap.add_argument('--out', default='', help='folder of the runs (default: runs/bench_transfer, or runs/bench_transfer_quick with --quick)')
    ap.add_argument('--pretrain', default='', help='a pretrain run folder to use (default: pretrain into --out/pretrain)')
    ap.add_argument('--threads', type=int, default=2, help='torch / BLAS threads per run')
    ap.add_argument('--record', action='store_true', help='rewrite the transfer section of bench/RESULTS.md')
    ap.add_argument('--worker', default='', help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.out = args.out or ('runs/bench_transfer_quick' if args.quick else 'runs/bench_transfer')
    if args.worker: return worker(args)
    names = [n.strip() for n in args.only.split(',') if n.strip()] or list(DATASETS)
    bad = [n for n in names if n not in DATASETS]
    if bad: ap.error(f"unknown dataset(s) {bad}: choose from {', '.join(DATASETS)}")
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    pre_s, given = 0.0, bool(args.pretrain)
    if not args.pretrain:
        args.pretrain = str(out / 'pretrain')
        if not (out / 'pretrain' / 'bundle.pt').exists():
            pre_s, rss, st = child(args, 'pretrain')
            print(f"pretrain: {pre_s:.0f} s, peak {rss:.0f} MiB", flush=True)
            if st: sys.exit(f"pretraining failed (exit {st})")
    timing = {}
    for n in names:
        wall, rss, st = child(args, n)
        timing[n] = dict(wall_s=wall, rss_mb=rss, status=st)
        print(f"{n}: {wall:.0f} s, peak {rss:.0f} MiB, exit {st}", flush=True)
    rows = summarise(out, names, timing)
    chk = checks(rows)
    meta = dict(date=datetime.date.today().isoformat(), cmd='python ' + ' '.join([sys.argv[0]] + sys.argv[1:]), machine=platform.machine(),
                cores=os.cpu_count(), threads=args.threads, load=load, quick=args.quick, settings=QUICK if args.quick else FULL,
                pretrain_s=pre_s, pretrain_given=args.pretrain if given else '', children_rss_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                total_s=time.perf_counter() - t0)
    print(json.dumps(dict(rows=rows, checks=chk, meta=meta), indent=1, default=str))
    if args.record: record(rows, chk, meta)


if __name__ == '__main__':
    main()
