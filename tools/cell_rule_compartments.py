"""One-off probe (issue 25): CellProfiler compartment measurements of a target under each cell rule, 5-fold GBT with balanced
class weights on all its images. Herlev normal vs abnormal: `python tools/cell_rule_compartments.py HERLEV2.csv` (a CSV
list path,label written as bench/transfer.py writes herlev2.csv); printed 80.8 ± 4.0 (contrast), 79.3 ± 2.7 (core) on
2026-12-08."""
import numpy as np, time
from sklearn.model_selection import StratifiedKFold
from drl_microscopy.config import RunConfig, measurement_settings
from drl_microscopy.target import load_target
from drl_microscopy.morphology import morphology_table
from drl_microscopy.classify import make_classifier, balanced_accuracy
from sklearn.utils.class_weight import compute_sample_weight
import sys
tgt = sys.argv[1]
td = load_target(RunConfig(target=tgt), 64, 3)
x = np.concatenate([np.asarray(td.x_train), np.asarray(td.x_test)]); y = np.concatenate([np.asarray(td.y_train), np.asarray(td.y_test)])
for rule in ('contrast', 'core'):
    t0 = time.time()
    kw = measurement_settings(RunConfig(cell=rule))
    t, _ = morphology_table(x, n_jobs=1, **kw)
    X = t.drop(columns=['found'], errors='ignore').select_dtypes('number').replace([np.inf, -np.inf], np.nan)
    X = X.fillna(X.median()).fillna(0).to_numpy()
    accs = []
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
        clf = make_classifier('gbt', 0, n_estimators=100).fit(X[tr], y[tr], sample_weight=compute_sample_weight('balanced', y[tr]))
        accs.append(100 * balanced_accuracy(y[te], clf.predict(X[te])))
    print(tgt, rule, X.shape, f"{np.mean(accs):.1f} ± {np.std(accs):.1f}", f"{time.time()-t0:.0f}s", flush=True)
