"""Classifier settings by measurement (issue 25): rounds, depth, learning rate and class weights of the GBT, and the
regularisation and class weights of the additive (`linear`) classifier, chosen by nested cross-validation on named
features of the shared real sets — never on a test split.

    python -m bench.classifier_settings            # prints JSON
    python -m bench.classifier_settings --record   # also rewrites the classifier_settings section of bench/RESULTS.md

Named features: the 13 basic measurements (`morphology.morphology_table(kind='basic')`, every name a microscopist
reads) of each image at 64 px, the run's size. Sets: `pbc_blood_cells` (`--per-class` per class, balanced),
`herlev_pap_smear` (all 917, imbalanced 7 classes), `ndsb_plankton` (its 15 largest classes, imbalanced).

Outer loop: 5 stratified folds (shuffled, seed 0); in each, an inner 3-fold grid search on the outer training part
(balanced accuracy) picks the settings, which are then scored once on the outer held-out fold. Reported: the outer
balanced accuracy (mean ± std) of the run's default settings and of the nested choice, and how often each setting
was picked. Class weights 'balanced' weight each training image by the inverse of its class's frequency.
"""
import argparse, collections, datetime, json, platform, time
from pathlib import Path
import numpy as np

from bench.results_md import write_section

GBT_GRID = [dict(n_estimators=n, max_depth=d, learning_rate=lr, weights=w)
            for n in (50, 100, 200) for d in (2, 4) for lr in (0.1,) for w in (None, 'balanced')]
LIN_GRID = [dict(C=c, weights=w) for c in (0.1, 1.0, 10.0) for w in (None, 'balanced')]
DEFAULT = dict(gbt=dict(n_estimators=100, max_depth=4, learning_rate=0.1, weights=None), linear=dict(C=1.0, weights=None))


def table(name, per_class):
    "The 13 basic measurements (median-imputed) and labels of a shared set at 64 px."
    import torch
    from drl_microscopy.core import data_root
    from drl_microscopy.data import image_dataloaders
    from drl_microscopy.morphology import morphology_table
    kw = dict(classes=15) if name == 'ndsb_plankton' else {}
    dls = image_dataloaders(data_root(required=True) / name, size=64, test_pct=0.2, seed=0,
                            max_per_class=per_class if name == 'pbc_blood_cells' else None, **kw)
    dss = [dls.train.dataset, dls.test.dataset]                          # the whole set: the folds split it
    x = torch.stack([ds[i][0] for ds in dss for i in range(len(ds))])
    t, _ = morphology_table(x, kind='basic', n_jobs=1)
    X = t.drop(columns='found').to_numpy(np.float64)
    X = np.where(np.isfinite(X), X, np.nan)
    med = np.nanmedian(X, 0)
    X = np.where(np.isnan(X), med, X)
    return X, np.concatenate([np.asarray(ds.labels) for ds in dss])


def fit_score(kind, s, Xtr, ytr, Xte, yte, seed=0):
    from sklearn.utils.class_weight import compute_sample_weight
    from drl_microscopy.classify import make_classifier, balanced_accuracy
    sw = compute_sample_weight('balanced', ytr) if s['weights'] else None
    if kind == 'gbt':
        m = make_classifier('gbt', seed=seed, n_estimators=s['n_estimators'], max_depth=s['max_depth'], learning_rate=s['learning_rate'])
        m.fit(Xtr, ytr, sample_weight=sw)
    else:
        m = make_classifier('linear', seed=seed, C=s['C'])
        m.fit(Xtr, ytr, logisticregression__sample_weight=sw)
    return balanced_accuracy(yte, m.predict(Xte))


def nested(kind, X, y, grid):
    from sklearn.model_selection import StratifiedKFold
    outer = StratifiedKFold(5, shuffle=True, random_state=0)
    res = dict(default=[], nested=[], picked=[])
    for tr, te in outer.split(X, y):
        inner = StratifiedKFold(3, shuffle=True, random_state=1)
        means = []
        for s in grid:
            means.append(np.mean([fit_score(kind, s, X[tr][a], y[tr][a], X[tr][b], y[tr][b]) for a, b in inner.split(X[tr], y[tr])]))
        best = grid[int(np.argmax(means))]
        res['picked'].append(best)
        res['nested'].append(fit_score(kind, best, X[tr], y[tr], X[te], y[te]))
        res['default'].append(fit_score(kind, DEFAULT[kind], X[tr], y[tr], X[te], y[te]))
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sets', default='pbc_blood_cells,herlev_pap_smear,ndsb_plankton')
    ap.add_argument('--per-class', type=int, default=80)
    ap.add_argument('--record', action='store_true')
    a = ap.parse_args(argv)
    t0, out = time.perf_counter(), {}
    for name in a.sets.split(','):
        X, y = table(name, a.per_class)
        counts = np.bincount(y)
        out[name] = dict(n=len(y), classes=int(len(counts)), imbalance=round(float(counts.max() / counts[counts > 0].min()), 1))
        for kind, grid in (('gbt', GBT_GRID), ('linear', LIN_GRID)):
            t = time.perf_counter()
            r = nested(kind, X, y, grid)
            out[name][kind] = dict(default=[100 * v for v in r['default']], nested=[100 * v for v in r['nested']],
                                   picked=[json.dumps(p, sort_keys=True) for p in r['picked']], seconds=round(time.perf_counter() - t, 1))
            print(name, kind, f"default {np.mean(r['default'])*100:.1f}, nested {np.mean(r['nested'])*100:.1f}",
                  dict(collections.Counter(out[name][kind]['picked'])), flush=True)
    out['seconds'] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, indent=1))
    if a.record: record(out, a)


def record(out, a):
    ms = lambda v: f"{np.mean(v):.1f} ± {np.std(v):.1f}"
    lines = ['## Classifier settings by nested cross-validation (issue 25)', '',
             f"The 13 basic measurements at 64 px, median-imputed ({datetime.date.today()}, {platform.machine()}, one process). "
             "Outer: 5 stratified folds (seed 0); inner: a 3-fold grid search on each outer training part; balanced accuracy (%) "
             "on the outer held-out folds. GBT grid: rounds 50/100/200 × depth 2/4 × learning rate 0.1 × class weights none/balanced; "
             "linear grid: C 0.1/1/10 × class weights none/balanced. Default: the run's (GBT 100 rounds, depth 4, rate 0.1; linear C 1; "
             "no class weights).", '',
             '| set | images (classes, max/min class) | classifier | default | nested choice | settings picked (of 5 folds) |', '|---|---|---|---|---|---|']
    for name, r in out.items():
        if name == 'seconds': continue
        for kind in ('gbt', 'linear'):
            k = r[kind]
            picks = '; '.join(f"{n}× {p}" for p, n in collections.Counter(k['picked']).most_common())
            lines.append(f"| {name} | {r['n']} ({r['classes']}, {r['imbalance']}) | {kind} | {ms(k['default'])} | {ms(k['nested'])} | {picks} |")
    lines += ['', f"Made by `python -m bench.classifier_settings --sets {a.sets} --per-class {a.per_class} --record` in {out['seconds']:.0f} s."]
    write_section('classifier_settings', lines)


if __name__ == '__main__':
    main()
