#!/usr/bin/env python3
"""Morphology meaning of the named latent dims (issue 6): does the dim named `scale` measure object size?

    python -m bench.interpret --source-bundle RUN/bundle.pt --transfer runs/bench_transfer --record

1. **Synthetic, truth known.** For a source bundle (TextureSprites, factor `scale` known) and for the fine-tuned bundle
   of the `vacuoles` target preset (cell size known): encode `--n` rendered images, measure each object's area with
   `interpret.measure_morphology` (Otsu segmentation, scikit-image `regionprops`), and correlate every named dim with
   the area (`interpret.correlate`, Pearson with a 95 % CI). Then step the `scale` dim in a traversal (offsets
   −2…+2 around the codes of `--starts` images and the prior mean), decode, measure the area of each decoded image,
   and count the starts whose area changes monotonically along the dim (Spearman ρ = ±1 over the 9 steps).
2. **Real data.** For the transfer runs of `bench/transfer.py` (`pbc`, `ndsb`): the fine-tuned codes of the test
   split (seed 0) against the morphology of the same images (the run's `morphology.csv`): the full Pearson table
   dims × measurements, and the best |r| with area (the paper: 0.86 between its scale factor and area on Lensless).
Targets: |r(scale, area)| ≥ 0.8 on the synthetic sets, a monotonic area along the `scale` traversal.
"""
import argparse, datetime, json, sys, time
from pathlib import Path
from bench.results_md import write_section
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ['area', 'perimeter', 'eccentricity', 'solidity', 'major_axis_length', 'minor_axis_length', 'glcm_contrast']
STEPS = np.linspace(-2, 2, 9).astype(np.float32)


def scale_check(bundle_path, target, n, starts, seed=0):
    "Correlation of every dim with the measured area on rendered images, and the area along the traversal of the size dim."
    from scipy import stats
    from drl_microscopy import interpret as I
    from drl_microscopy.bundle import load_bundle, encode
    from drl_microscopy.names import bundle_dim_names
    from drl_microscopy.morphology import measure_morphology
    from drl_microscopy.synth import TextureSprites
    from drl_microscopy.cells import SOURCES, target_preset
    b = load_bundle(bundle_path, device='cpu')
    names = bundle_dim_names(b)
    size = int(b.config.get('size', 64))
    if target in SOURCES:                                # a source: render random factor tuples
        r = TextureSprites(size).centred() if target == 'texture-sprites' else SOURCES[target](size)
        f = r.space.sample_factors(n, seed=seed)
        x, space = r.render(f, seed=seed), r.space
    else:                                                # a labelled target preset
        t = target_preset(target, size)
        x, y, f = t.sample(n, seed=seed)
        space = t.space
    truth_name = 'scale' if 'scale' in space.names else 'cell_size'
    truth = np.asarray(f[:, list(space.names).index(truth_name)], float)
    dim = 'cell_size' if 'cell_size' in names else 'scale'   # the dim named after object size
    z = encode(b, x)[0].numpy()
    morph = measure_morphology(x)
    corr = I.correlate(pd.DataFrame(z, columns=names), morph=morph, features=['area'])
    pear = corr['table'][(corr['table'].method == 'pearson')].set_index('dim')
    best = pear.r.abs().idxmax()
    out = dict(target=target, bundle=str(bundle_path), n=n, dim_names=names, truth=truth_name, size_dim=dim,
               r_truth_area=float(stats.pearsonr(truth, morph.area.fillna(0))[0]),
               r_area={d: round(float(v), 4) for d, v in pear.r.items()},
               ci_area={d: [round(float(a), 4), round(float(c), 4)] for d, a, c in zip(pear.index, pear.ci_low, pear.ci_high)},
               best_dim=best, best_r=float(pear.r[best]))
    if dim in names:
        j = names.index(dim)
        out['r_scale_area'] = float(pear.r[dim])
        out['r_scale_truth'] = float(stats.pearsonr(z[:, j], truth)[0])
        z0s = [np.zeros(z.shape[1], np.float32)] + [z[i] for i in range(starts)]
        def walk(values, relative):
            "Spearman ρ of the decoded area with the values from each start, the areas, and how many starts are strictly monotonic."
            rhos, areas = [], []
            for z0 in z0s:
                a = np.nan_to_num(measure_morphology(I.traverse(b, z0, dims=dim, values=values, relative=relative)[0].clamp(0, 1)).area.to_numpy(float))
                areas.append(a.tolist())
                rhos.append(float(stats.spearmanr(values, a)[0]) if np.ptp(a) > 0 else 0.0)
            sign = np.sign(np.median(rhos)) or 1.0
            return rhos, areas, int(sum(abs(r - sign) < 1e-9 for r in rhos))
        rhos, areas, mono = walk(STEPS, True)                      # ±2 around each start
        out.update(traversal_starts=len(z0s), traversal_rho=rhos, traversal_monotonic=mono,
                   traversal_area_prior=areas[0], traversal_mean_rho=float(np.mean(rhos)))
        vals = I.data_values(z, j, len(STEPS))                     # the dim over its codes on the data (2 %…98 % quantiles)
        rhos, areas, mono = walk(vals, False)
        out.update(data_values=[round(float(v), 3) for v in vals], data_rho=rhos, data_monotonic=mono,
                   data_area_prior=areas[0], data_mean_rho=float(np.mean(rhos)), data_areas=areas)
    return out


def real_table(run):
    "Pearson/Spearman of the fine-tuned test codes (seed 0) with the morphology of the same test images."
    from drl_microscopy import interpret as I
    run = Path(run)
    res = json.loads((run / 'results.json').read_text())
    names = res['dim_names']['drl-transfer']
    z = np.load(run / 'seed0' / 'codes.npz')['drl-transfer_test']
    morph = pd.read_csv(run / 'morphology.csv')
    morph = morph[morph.split == 'test'].reset_index(drop=True)
    feats = [c for c in FEATURES if c in morph.columns] + [c for c in morph.columns if c.startswith('mean_')]
    corr = I.correlate(pd.DataFrame(z, columns=names), morph=morph, features=feats)
    t = corr['table']
    area = t[(t.feature == 'area') & (t.method == 'pearson')].set_index('dim')
    best = area.r.abs().idxmax()
    dim = 'cell_size' if 'cell_size' in area.index else 'scale'      # the dim named after object size
    # how much of the area all dims carry together: a 5-fold cross-validated linear readout (its r is the ceiling of any one dim's, less noise)
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import cross_val_predict
    a = morph.area.to_numpy(float); ok = np.isfinite(a)
    readout = float(np.corrcoef(cross_val_predict(LinearRegression(), z[ok], a[ok], cv=5), a[ok])[0, 1])
    return dict(readout_r=readout, run=str(run), label=res['target'].get('name', run.name), n=int(len(z)), features=feats, dims=list(corr['pearson'].index),
                pearson=corr['pearson'].round(3).to_dict(orient='index'), spearman_area=corr['spearman']['area'].round(3).to_dict(),
                best_dim=best, best_r=float(area.r[best]), best_ci=[float(area.ci_low[best]), float(area.ci_high[best])],
                size_dim=dim, scale_r=float(area.r[dim]) if dim in area.index else None)


def record(res):
    L = ['## Interpretation: named dims against morphology (`bench/interpret.py`)', '',
         f"Run {res['date']} with `{res['cmd']}` ({res['wall_s']:.0f} s, 2 CPU cores)"
         + (f"; recorded with `python -m bench.interpret --from-json {res['recorded_from']} --notes … --record`." if res.get('recorded_from') else '.'), '',
         'Synthetic sets (truth known): Pearson r of each named dim with the measured object area (Otsu + `regionprops`) '
         'on rendered images, and traversals of the size dim (`scale`, or `cell_size` for a SynthCells source) from the prior mean and the codes of '
         'sample images, the area measured on each of the 9 decoded images. Two traversals: **±2** moves the dim by offsets −2…+2 around '
         'each start (it can leave the codes the data takes); **data range** sets it to 9 values from the 2 % to the 98 % quantile of its codes '
         'on the same images (`interpret.data_values`). Target: |r(size dim, area)| ≥ 0.8 and a strictly monotonic area along the traversal from every start.', '',
         '| set | bundle | images | r(true size, area) | size dim | r(size dim, area) [95 % CI] | r(size dim, true size) | best dim for area (r) | strictly monotonic starts, ±2 (mean ρ) | strictly monotonic starts, data range (mean ρ) | target |',
         '|---|---|---|---|---|---|---|---|---|---|---|']
    for s in res['synthetic']:
        dim = s.get('size_dim', 'scale')
        if 'r_scale_area' not in s: L.append(f"| {s['target']} | `{s['bundle']}` | {s['n']} | {s['r_truth_area']:.3f} | none | — | — | {s['best_dim']} ({s['best_r']:.3f}) | — | — | — |"); continue
        ci = s['ci_area'][dim]
        data = f"{s['data_monotonic']} of {s['traversal_starts']} ({s['data_mean_rho']:.3f})" if 'data_monotonic' in s else 'not run'
        ok = abs(s['r_scale_area']) >= 0.8 and s.get('data_monotonic') == s['traversal_starts']
        L.append(f"| {s['target']} | `{s['bundle']}` | {s['n']} | {s['r_truth_area']:.3f} | {dim} | {s['r_scale_area']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}] | "
                 f"{s['r_scale_truth']:.3f} | {s['best_dim']} ({s['best_r']:.3f}) | {s['traversal_monotonic']} of {s['traversal_starts']} ({s['traversal_mean_rho']:.3f}) | "
                 f"{data} | {'met' if ok else 'missed'} |")
    for s in res['synthetic']:
        if 'traversal_area_prior' in s:
            L.append(f"\n{s['target']} (`{s['bundle']}`): area (px) of the decoded images along `{s.get('size_dim', 'scale')}` from the prior mean: "
                     + ', '.join(f'{a:.0f}' for a in s['traversal_area_prior']) + '.')
    for r in res['real']:
        L += ['', f"**{r['label']}** (`{r['run']}`, test split, {r['n']} images, fine-tuned codes of seed 0): best |r| with area: "
              f"**{r['best_dim']} r = {r['best_r']:.3f}** [{r['best_ci'][0]:.3f}, {r['best_ci'][1]:.3f}]"
              + (f"; the dim named {r.get('size_dim', 'scale')}: r = {r['scale_r']:.3f}" if r['scale_r'] is not None else '')
              + f"; Spearman ρ of {r['best_dim']} with area: {r['spearman_area'][r['best_dim']]:.3f}"
              + (f"; all dims together (5-fold cross-validated linear readout): r = {r['readout_r']:.3f}" if 'readout_r' in r else '')
              + " (the paper's bar: |r| = 0.86 on Lensless plankton).", '',
              'Pearson r, dims × measurements:', '',
              '| dim | ' + ' | '.join(r['features']) + ' |', '|---' * (len(r['features']) + 1) + '|']
        for d in r['dims']:
            L.append(f'| {d} | ' + ' | '.join(f"{r['pearson'][d][f]:.3f}" if r['pearson'][d][f] == r['pearson'][d][f] else '—' for f in r['features']) + ' |')
    if res.get('notes'): L += ['', 'Notes:', ''] + [f'- {n}' for n in res['notes']]
    write_section('interpret', L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--source-bundle', default='', help='a pretrained source bundle (TextureSprites) to check')
    ap.add_argument('--source', default='texture-sprites', help="the source of --source-bundle: 'texture-sprites', 'synth-cells' or 'synth-cells-brightfield'")
    ap.add_argument('--transfer', default='runs/bench_transfer', help='folder of the bench/transfer.py runs')
    ap.add_argument('--real', default='pbc,ndsb', help='transfer runs of real sets to tabulate')
    ap.add_argument('--n', type=int, default=1000, help='rendered images per synthetic set')
    ap.add_argument('--starts', type=int, default=15, help='sample images whose codes start a traversal (plus the prior mean)')
    ap.add_argument('--out', default='runs/bench_interpret.json', help='JSON of the results')
    ap.add_argument('--from-json', nargs='*', default=[], help='record earlier runs (their rows one after another)')
    ap.add_argument('--notes', default='', help='a text file of hand-written notes (paragraphs) for the section')
    ap.add_argument('--record', action='store_true', help='rewrite the interpret section of bench/RESULTS.md')
    args = ap.parse_args()
    if args.from_json:                               # several runs: their synthetic rows and real tables one after another
        runs = [json.loads(Path(f).read_text()) for f in args.from_json]
        res = dict(runs[0], synthetic=[s for r in runs for s in r['synthetic']], real=[t for r in runs for t in r['real']],
                   cmd='` and `'.join(r['cmd'] for r in runs), wall_s=sum(r['wall_s'] for r in runs), recorded_from=' '.join(args.from_json))
    else:
        import torch; torch.set_num_threads(2)
        t0 = time.perf_counter()
        res = dict(date=datetime.date.today().isoformat(), cmd='python ' + ' '.join([sys.argv[0]] + sys.argv[1:]), synthetic=[], real=[])
        if args.source_bundle: res['synthetic'].append(scale_check(args.source_bundle, args.source, args.n, args.starts))
        for preset in ('vacuoles', 'blood-cells'):      # fine-tuned on a synthetic target preset: the truth is known there too
            ft = Path(args.transfer) / preset / 'seed0' / 'finetune.pt'
            if ft.exists(): res['synthetic'].append(scale_check(ft, preset, args.n, args.starts))
        for name in [s for s in args.real.split(',') if s]:
            if (Path(args.transfer) / name / 'results.json').exists(): res['real'].append(real_table(Path(args.transfer) / name))
        res['wall_s'] = time.perf_counter() - t0
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(res, indent=1, default=str))
    if args.notes: res['notes'] = [n.replace('\n', ' ').strip() for n in Path(args.notes).read_text().split('\n\n') if n.strip()]
    print(json.dumps({k: v for k, v in res.items() if k != 'real'}, indent=1, default=str)[:3000])
    for r in res['real']: print(r['label'], r['best_dim'], r['best_r'], r['scale_r'])
    if args.record: record(res)


if __name__ == '__main__':
    main()
