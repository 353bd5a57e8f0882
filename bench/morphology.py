#!/usr/bin/env python3
"""Morphology the way microscopists measure it (issue 16): CellProfiler's measurements against the 13 basic ones.

    OMP_NUM_THREADS=1 python -m bench.morphology                # prints JSON
    OMP_NUM_THREADS=1 python -m bench.morphology --record       # also rewrites the morphology section of bench/RESULTS.md

1. **Speed.** `interpret.morphology_table` on `--speed-n` PBC images (96 px RGB), for `kind='cellprofiler'` (all eight
   cp_measure sets, `interpret.CP_MEASUREMENTS`) and `kind='basic'` (`measure_morphology`'s 13), in 1 worker process and in
   every core: images per second of measurement (the images are already in memory; no cache).
2. **Accuracy.** Both tables of `--per-class` images per class of `pbc_blood_cells` (seeded choice), as features of a
   classifier: 5-fold stratified CV (shuffled, seed 0) of gradient-boosted trees and logistic regression, median
   imputation fitted on each training fold (columns without any value dropped), balanced accuracy mean ± std over the
   folds. The trees: `--gbt hist` (default) is scikit-learn's HistGradientBoostingClassifier with the settings of
   `classify.make_classifier('gbt')` (100 rounds, depth 4, learning rate 0.1, no early stopping); `--gbt exact` is
   `make_classifier('gbt')` itself (GradientBoostingClassifier), about 2 min per fold on 600 CellProfiler columns on one
   core, too slow for this bench's 10 minutes on 2 cores. Logistic regression is `make_classifier('linear')`.
"""
import argparse, datetime, json, os, platform, sys, time
from pathlib import Path
from bench.results_md import write_section
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_subset(root, per_class, size, seed):
    "`per_class` images of every class folder (seeded choice, sorted file names), prepared at `size` px RGB."
    from drl_microscopy.data import load_prepared
    import torch
    rng = np.random.default_rng(seed)
    classes = sorted(d.name for d in Path(root).iterdir() if d.is_dir() and not d.name.startswith('.'))
    xs, ys = [], []
    for k, c in enumerate(classes):
        files = sorted(p for p in (Path(root)/c).iterdir() if p.suffix.lower() in ('.jpg', '.jpeg', '.png', '.tif', '.tiff', '.bmp'))
        for i in sorted(rng.choice(len(files), min(per_class, len(files)), replace=False)):
            xs.append(load_prepared(files[i], size, 3)); ys.append(k)
    return torch.stack(xs), np.array(ys), classes


def speed(x, kind, n_jobs):
    from drl_microscopy.morphology import morphology_table
    t = time.perf_counter()
    table, failed = morphology_table(x, kind, n_jobs=n_jobs)
    dt = time.perf_counter() - t
    return dict(kind=kind, n_jobs=n_jobs, n=len(x), seconds=round(dt, 2), images_per_s=round(len(x)/dt, 2), columns=table.shape[1] - 1)


def classifier(clf, seed):
    from drl_microscopy.classify import make_classifier
    if clf == 'hist':
        from sklearn.ensemble import HistGradientBoostingClassifier
        return HistGradientBoostingClassifier(max_iter=100, max_depth=4, learning_rate=0.1, early_stopping=False, random_state=seed)
    return make_classifier('gbt' if clf == 'exact' else clf, seed=seed)


def cv_scores(X, y, clf, folds, seed, n_jobs):
    "Balanced accuracy of each stratified fold."
    from joblib import Parallel, delayed
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.impute import SimpleImputer
    from drl_microscopy.classify import balanced_accuracy
    def fold(tr, te):
        m = make_pipeline(SimpleImputer(strategy='median'), classifier(clf, seed)).fit(X[tr], y[tr])
        return balanced_accuracy(y[te], m.predict(X[te]))
    skf = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return Parallel(n_jobs=n_jobs)(delayed(fold)(tr, te) for tr, te in skf.split(X, y))


def main(a):
    from drl_microscopy.morphology import morphology_table
    from importlib.metadata import version
    cores = len(os.sched_getaffinity(0))
    t0 = time.perf_counter()
    x, y, classes = load_subset(a.data, a.per_class, a.size, a.seed)
    res = dict(data=str(a.data), classes=classes, n=len(x), per_class=a.per_class, size=a.size, seed=a.seed, cores=cores,
               cp_measure=version('cp-measure'), gbt=a.gbt, load_seconds=round(time.perf_counter() - t0, 1), speed=[], accuracy={})
    for kind in ('cellprofiler', 'basic'):
        n = a.speed_n if kind == 'cellprofiler' else 4*a.speed_n
        for jobs in sorted({1, cores}):
            res['speed'].append(speed(x[:n], kind, jobs)); print(res['speed'][-1], flush=True)
    for kind in ('cellprofiler', 'basic'):
        t = time.perf_counter()
        table, failed = morphology_table(x, kind, n_jobs=None, cache_dir=a.cache_dir)
        seconds = time.perf_counter() - t
        X = np.array(table.drop(columns='found').to_numpy(np.float64))   # a writable copy
        X[~np.isfinite(X)] = np.nan
        acc = dict(columns=X.shape[1], no_object=sum(r == 'no object found' for r in failed.values()),
                   other_failures=sum(r != 'no object found' for r in failed.values()), table_seconds=round(seconds, 1))
        for key, clf in (('gbt', a.gbt), ('linear', 'linear')):
            t = time.perf_counter()
            s = cv_scores(X, y, clf, a.folds, a.seed, cores)
            acc[key] = dict(mean=round(100*float(np.mean(s)), 1), std=round(100*float(np.std(s)), 1),
                            folds=[round(100*v, 1) for v in s], seconds=round(time.perf_counter() - t, 1))
        res['accuracy'][kind] = acc; print(kind, acc, flush=True)
    res['total_seconds'] = round(time.perf_counter() - t0, 1)
    return res


def record(res, cmd):
    sp = {(s['kind'], s['n_jobs']): s for s in res['speed']}
    acc = res['accuracy']
    L = ['## Morphology: CellProfiler\'s measurements against the 13 basic ones (issue 16)', '',
         f"`interpret.morphology_table` on {res['n']} images of `pbc_blood_cells` ({res['per_class']} per class, seeded choice, "
         f"{res['size']} px RGB, pad-to-square), cp_measure {res['cp_measure']}, on this machine's {res['cores']} cores "
         f"({datetime.date.today().isoformat()}, {platform.processor() or platform.machine()}); the cores were shared with other work, "
         "so the speeds are lower bounds.", '',
         '| measurement set | columns | images/s, 1 process | images/s, all cores | no object found | GBT bal. acc. (5-fold) | logistic bal. acc. (5-fold) |',
         '|---|---|---|---|---|---|---|']
    for kind, label in (('cellprofiler', 'CellProfiler (8 cp_measure sets)'), ('basic', '13 basic (`measure_morphology`)')):
        s1, sa = sp[(kind, 1)], sp[(kind, res['cores'])]
        a = acc[kind]
        L.append(f"| {label} | {a['columns']} | {s1['images_per_s']} | {sa['images_per_s']} | {a['no_object']} / {res['n']} | "
                 f"{a['gbt']['mean']} ± {a['gbt']['std']} | {a['linear']['mean']} ± {a['linear']['std']} |")
    L += ['', f"Speeds on the first {sp[('cellprofiler', 1)]['n']} (CellProfiler) and {sp[('basic', 1)]['n']} (basic) images, "
          "measurement only (images in memory, no cache). Accuracy: balanced accuracy in %, mean ± std over 5 stratified folds "
          "(shuffled, seed 0), after median imputation fitted on the training fold, of gradient-boosted trees ("
          + ("scikit-learn's HistGradientBoostingClassifier with `make_classifier('gbt')`'s settings: 100 rounds, depth 4, "
             "learning rate 0.1" if res['gbt'] == 'hist' else "`classify.make_classifier('gbt')`")
          + ") and of `make_classifier('linear')` (standardised logistic regression). Full tables took "
          f"{acc['cellprofiler']['table_seconds']} s (CellProfiler) and {acc['basic']['table_seconds']} s (basic) on all cores"
          " (0 s means read from the cache). The issue's own measurement on 800 images: CellProfiler 86.6, 13 features 66.6.", '',
          f"Made by `{cmd}` in {res['total_seconds']} s."]
    write_section('morphology', L)


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=str(Path(os.environ.get('DRLM_DATA', '/work/shared/data'))/'pbc_blood_cells'))
    p.add_argument('--per-class', type=int, default=100)
    p.add_argument('--size', type=int, default=96)
    p.add_argument('--speed-n', type=int, default=48, help='images timed for CellProfiler (4x for basic)')
    p.add_argument('--folds', type=int, default=5)
    p.add_argument('--gbt', choices=('hist', 'exact'), default='hist', help='histogram GBT (fast) or make_classifier("gbt")')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cache-dir', default=str(ROOT/'runs'/'bench_morphology'), help='morphology table cache')
    p.add_argument('--record', action='store_true', help='rewrite the morphology section of bench/RESULTS.md')
    a = p.parse_args()
    res = main(a)
    print(json.dumps(res, indent=1))
    if a.record:
        cmd = f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} python -m bench.morphology " + ' '.join(sys.argv[1:])
        record(res, cmd.strip())
