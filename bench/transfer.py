#!/usr/bin/env python3
"""The transfer table: `drlm run` with its defaults on every real set and the synthetic preset, pixel DRL and Φ DRL.

    python -m bench.transfer --record                        # the whole table (pixels and Φ on five targets; about an hour on 2 cores)
    python -m bench.transfer --only pbc,herlev --record      # some targets (finished runs in --out are reused, unfinished ones resumed)
    python -m bench.transfer --inputs pixels --only vacuoles # one input
    python -m bench.transfer --quick --only vacuoles         # a smoke test of this script: tiny settings, a minute

Targets (`--only` names): `pbc` (pbc_blood_cells, 8 classes), `herlev` (herlev_pap_smear, 7 classes), `herlev2`
(herlev_pap_smear as normal vs abnormal, through a CSV list written into --out), `ndsb` (ndsb_plankton, its 15 largest
classes) and `vacuoles` (the synthetic preset of the default run). The real sets are read from `$DRLM_DATA` or ../shared/data.

Each cell of the table is one `drlm run --target T --out DIR` in a subprocess, with the defaults of `drlm run` (its source
model is the shipped one that fits: `source auto`, `pretrain-run auto`; 3 fine-tuning seeds; GBT and the additive linear model), timed with
`os.wait4` (wall, CPU seconds, peak resident memory of that process and its workers). Two inputs per target:
- pixels: `--backbone none`, the default;
- Φ: `--backbone tf_efficientnet_lite0` (ImageNet weights from the pip package, the backbone's own 224 px input), which adds
  (e), the raw backbone features, to the baselines. The supervised CNN (c) sees pixels either way, so the Φ run leaves it
  out (`--baselines` without `cnn`) and the table shows the pixel run's CNN on both rows.
Methods: DRL (fine-tuned) with GBT / linear; (a) the source model not fine-tuned; (b) the same VAE trained from scratch on the
target; (c) the supervised CNN; (d) CellProfiler's measurements (cp_measure); (e) the backbone features; and the named
codes together with CellProfiler's measurements (DRL + morphology); (f) PCA-k of the same input. Mean ± std over the 3 seeds.
The targets of issue 25 are checked from the same numbers.
"""
import argparse, datetime, json, os, platform, subprocess, sys, time
from pathlib import Path
from bench.results_md import write_section

ROOT = Path(__file__).resolve().parents[1]
STATE = 'table.json'          # in --out: every cell's timing and summary, so --record can be rerun on finished runs

TARGETS = {
    'pbc':      dict(args=['--target', 'pbc_blood_cells'], label='PBC blood cells (8 classes)'),
    'herlev':   dict(args=['--target', 'herlev_pap_smear'], label='Herlev Pap smear (7 classes)'),
    'herlev2':  dict(args=['--target', 'HERLEV2'], label='Herlev, normal vs abnormal (2 classes)'),
    'ndsb':     dict(args=['--target', 'ndsb_plankton', '--top-classes', '15'], label='NDSB plankton (15 largest classes)'),
    'vacuoles': dict(args=[], label='vacuoles (synthetic preset, 4 classes)'),
}
REAL = ('pbc', 'herlev', 'herlev2', 'ndsb')
PHI = 'tf_efficientnet_lite0'
INPUTS = {'pixels': ['--backbone', 'none'],                      # the run's defaults: GBT and the additive linear model, every baseline
          'phi': ['--backbone', PHI, '--baselines', 'no-finetune,scratch,morphology,morphology-basic,drl-morphology,features,pca']}
QUICK = ['--seeds', '2', '--finetune-epochs', '1', '--n-train', '48', '--n-test', '32', '--max-per-class', '12', '--cnn-epochs', '1',
         '--gbt-estimators', '20', '--mlp-max-iter', '30', '--metrics-n', '400']
COLS = [('drl-transfer', 'gbt', 'DRL GBT'), ('drl-transfer', 'linear', 'DRL lin.'), ('no-finetune', 'gbt', '(a) GBT'), ('no-finetune', 'linear', '(a) lin.'),
        ('scratch', 'gbt', '(b) GBT'), ('scratch', 'linear', '(b) lin.'), ('cnn', 'cnn', '(c) CNN'), ('morphology', 'gbt', '(d) GBT'),
        ('morphology', 'linear', '(d) lin.'), ('features', 'gbt', '(e) GBT'), ('features', 'linear', '(e) lin.'),
        ('pca', 'gbt', '(f) GBT'), ('pca', 'linear', '(f) lin.'), ('drl-morphology', 'gbt', 'DRL+morph. GBT'), ('drl-morphology', 'linear', 'DRL+morph. lin.')]
INTERPRETABLE = ('drl-transfer', 'morphology', 'drl-morphology')      # named codes, named measurements, or both
BLACK_BOX = ('cnn', 'features')


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
    if not path.exists() or path.read_text() != '\n'.join(rows) + '\n': path.write_text('\n'.join(rows) + '\n')
    return path


def run_cell(out: Path, target: str, inp: str, quick: bool) -> dict:
    "One `drlm run` in a subprocess (resumed when its folder holds an unfinished run); wall, CPU, peak memory (`os.wait4`)."
    run = out / f'{target}-{inp}'
    args = [a if a != 'HERLEV2' else str(herlev2_csv(out)) for a in TARGETS[target]['args']]
    cmd = ['drlm', 'run', '--out', str(run), *args, *INPUTS[inp], *(QUICK if quick else []), '--quiet']
    if (run / 'config.toml').exists(): cmd.append('--resume')
    log = out / f'{target}-{inp}.log'
    t = time.perf_counter()
    with open(log, 'w') as fh:
        p = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
    return dict(cmd=' '.join(cmd), exit=os.waitstatus_to_exitcode(status), wall_s=round(time.perf_counter() - t, 1),
                cpu_s=round(ru.ru_utime + ru.ru_stime, 1), peak_rss_mb=round(ru.ru_maxrss / 1024), resumed='--resume' in cmd,
                load=os.getloadavg()[0], date=datetime.date.today().isoformat(), log=str(log))


def summary(run: Path) -> dict:
    r = json.loads((run / 'results.json').read_text())
    acc = {f'{m}/{c}': r['accuracy'].get(m, {}).get(c) for m, c, _ in COLS}
    sm = r['source_model']
    return dict(acc={k: (v['mean'], v['std'], v['n']) if v and v.get('mean') is not None else None for k, v in acc.items()},
                classes=len(r['target']['classes']), n_train=r['target']['n_train'], n_test=r['target']['n_test'],
                source=Path(sm['path']).parent.name if 'zoo' in sm['path'] else sm['path'], source_scores=r['disentanglement'].get('source', {}),
                peak_memory_mb=r.get('peak_memory_mb'), stages_s=r['timing'].get('total_seconds'), names=r['dim_names'].get('drl-transfer'))


def pct(v): return '—' if v is None else f'{100 * v[0]:.1f} ± {100 * v[1]:.1f}'


def best(acc, keys):
    vals = [acc[k][0] for k in keys if acc.get(k)]
    return max(vals) if vals else None


def checks(table: dict) -> list:
    "Issue 25's accuracy targets, each from the table's numbers (every method by its better classifier, pixel and Φ rows together)."
    L = []
    for t in REAL:
        rows = [table[f'{t}-{inp}']['summary']['acc'] for inp in INPUTS if (table.get(f'{t}-{inp}') or {}).get('summary')]
        if not rows: continue
        of = lambda methods: max([a[k][0] for a in rows for k in a if k.split('/')[0] in methods and a.get(k)], default=None)
        interp, black, drl, pca = of(INTERPRETABLE), of(BLACK_BOX), of(('drl-transfer',)), of(('pca',))
        if None not in (interp, black):
            gap = 100 * (black - interp)
            L.append(f"- {TARGETS[t]['label']}: best interpretable {100 * interp:.1f} against the best black box (c, e) {100 * black:.1f}, "
                     f"{abs(gap):.1f} points {'below' if gap > 0 else 'above'} → within 2: {'met' if gap <= 2 else 'missed'}.")
        if None not in (drl, pca):
            L.append(f"  DRL codes {100 * drl:.1f} against (f) PCA-k of the same input {100 * pca:.1f} → {'met' if drl >= pca else 'missed'}.")
    return L


def record(out: Path, table: dict, quick: bool):
    import torch
    L = ['## transfer (bench/transfer.py)', '',
         f"`python -m bench.transfer --record{' --quick' if quick else ''}` (runs in `{out}`), last cell finished "
         f"{max(c['job']['date'] for c in table.values() if c.get('job'))}; {platform.machine()}, {os.cpu_count()} CPU cores, "
         f"torch {torch.__version__}, no GPU. Each row is one `drlm run` with its defaults (shipped source model, 3 seeds, GBT and the additive linear model, every baseline; the cell rule, latent size and class weights as the run chooses them); "
         f"Φ rows: `--backbone {PHI}` (224 px, ImageNet weights from the pip package), their (c) is the pixel row's CNN (pixels either way). "
         'Balanced accuracy %, mean ± std over seeds; wall time and peak resident memory of the whole `drlm run` process (`os.wait4`).', '',
         '| target | input | source model (OMES / MIG on its source) | ' + ' | '.join(c[2] for c in COLS) + ' | wall | peak RSS (MiB) |',
         '|' + '---|' * (len(COLS) + 5)]
    for t in TARGETS:
        for inp in INPUTS:
            c = table.get(f'{t}-{inp}')
            if not c or not c.get('summary'): continue
            s, j = c['summary'], c['job']
            a = dict(s['acc'])
            if inp == 'phi': a['cnn/cnn'] = ((table.get(f'{t}-pixels') or {}).get('summary') or {}).get('acc', {}).get('cnn/cnn')
            sc = s['source_scores']
            wall = f"{j['wall_s'] / 60:.1f} min" + (' (resumed)' if j.get('resumed') else '')
            L.append(f"| {TARGETS[t]['label']} | {'Φ' if inp == 'phi' else 'pixels'} | {s['source']} ({sc.get('omes', float('nan')):.2f} / "
                     f"{sc.get('mig', float('nan')):.2f}) | " + ' | '.join(pct(a.get(f'{m}/{k}')) for m, k, _ in COLS) +
                     f" | {wall} | {j['peak_rss_mb']} |")
    missing = [f"{TARGETS[t]['label']} ({'Φ' if i == 'phi' else i})" for t in REAL for i in INPUTS if not (table.get(f'{t}-{i}') or {}).get('summary')]
    if missing: L += ['', 'Not measured this time (no row): ' + '; '.join(missing) + '.']
    L += ['', 'Issue 25 targets, from the rows above (each method by its better classifier, the better input):'] + checks(table)
    L += ['', 'Load average (1 min) at the end of each cell: ' + '; '.join(f"{k} {c['job']['load']:.2f}" for k, c in table.items() if c.get('job')) + '.']
    write_section('transfer', L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--only', default=','.join(TARGETS), help=f'targets, comma-separated ({", ".join(TARGETS)})')
    ap.add_argument('--inputs', default='pixels,phi', help='pixels, phi or both')
    ap.add_argument('--out', default='runs/bench_transfer', help='folder of the run folders (kept: rerunning reuses finished cells)')
    ap.add_argument('--quick', action='store_true', help='tiny settings (a smoke test of this script, not a result)')
    ap.add_argument('--record', action='store_true', help='rewrite the transfer section of bench/RESULTS.md')
    ap.add_argument('--no-run', action='store_true', help='run nothing: record the finished cells of --out (those not run are left out of the table)')
    args = ap.parse_args()
    only, inputs = args.only.split(','), args.inputs.split(',')
    for n in only:
        if n not in TARGETS: sys.exit(f'unknown target {n!r}: use {", ".join(TARGETS)}')
    for n in inputs:
        if n not in INPUTS: sys.exit(f'unknown input {n!r}: use pixels, phi')
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    state = out / STATE
    table = json.loads(state.read_text()) if state.exists() else {}
    for t in only:
        for inp in inputs:
            key, run = f'{t}-{inp}', out / f'{t}-{inp}'
            if (run / 'report.html').exists() and table.get(key, {}).get('summary'):
                print(f'{key}: finished earlier ({table[key]["job"]["wall_s"]} s), reused', flush=True); continue
            if args.no_run: continue
            job = run_cell(out, t, inp, args.quick)
            print(f"{key}: exit {job['exit']}, {job['wall_s']} s, peak {job['peak_rss_mb']} MiB", flush=True)
            table[key] = dict(job=job, summary=summary(run) if job['exit'] == 0 else None)
            if job['exit']: print(Path(job['log']).read_text()[-2000:])
            tmp = state.with_name(state.name + '.tmp'); tmp.write_text(json.dumps(table, indent=1)); os.replace(tmp, state)
    if args.record: record(out, table, args.quick)


if __name__ == '__main__':
    main()
