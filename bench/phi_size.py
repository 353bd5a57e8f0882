#!/usr/bin/env python3
"""Φ input size by measurement: accuracy of the backbone's features against the time to extract them, per input side.

    python -m bench.phi_size --record                    # PBC, 200 images per class, sides 128 160 192 224
    python -m bench.phi_size --sizes 160,224 --per-class 50

For each side, the packaged `tf_efficientnet_lite0` (ImageNet weights from its pip package) encodes the same PBC images,
each taken from its original pixels (pad to square with the border colour, resize once to the side: `data.ImageFiles`).
Measured: images per second of the whole extraction (reading, resizing, encoding; `torch` threads as given), and the
balanced accuracy of a logistic regression on the standardised 1,280-d features over 3 stratified 80/20 splits (seeds
0–2). The recorded section names the smallest side within a point of the best score, and the side the shipped Φ models use.
"""
import argparse, datetime, os, platform, time
from pathlib import Path
import numpy as np
from bench.results_md import write_section

ROOT = Path(__file__).resolve().parents[1]


def measure(size, per_class, threads):
    import torch
    from drl_microscopy.features import Backbone, extract_features
    from drl_microscopy.data import scan_image_folder, ImageFiles
    torch.set_num_threads(threads)
    table, _ = scan_image_folder('pbc_blood_cells', max_per_class=per_class, check='header')
    classes = sorted(table.label.unique())
    items, labels = list(table.path), [classes.index(l) for l in table.label]
    bb = Backbone('tf_efficientnet_lite0', input_size=size)
    ds = ImageFiles(items, labels, size, 3)
    t = time.perf_counter()
    f = extract_features(bb, ds, bs=64)
    dt = time.perf_counter() - t
    return np.asarray(f), np.asarray(labels), dt, bb.weights_tag


def score(f, y):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedShuffleSplit
    from sklearn.preprocessing import StandardScaler
    from sklearn.pipeline import make_pipeline
    from drl_microscopy.classify import balanced_accuracy
    accs = []
    for seed in range(3):
        tr, te = next(StratifiedShuffleSplit(1, test_size=0.2, random_state=seed).split(f, y))
        m = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)).fit(f[tr], y[tr])
        accs.append(balanced_accuracy(y[te], m.predict(f[te])))
    return float(np.mean(accs)), float(np.std(accs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sizes', default='128,160,192,224')
    ap.add_argument('--per-class', type=int, default=200)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--record', action='store_true')
    a = ap.parse_args()
    rows, load0 = [], os.getloadavg()[0]
    for s in map(int, a.sizes.split(',')):
        f, y, dt, tag = measure(s, a.per_class, a.threads)
        m, sd = score(f, y)
        rows.append(dict(size=s, n=len(y), ips=len(y) / dt, acc=m, sd=sd, tag=tag))
        print(rows[-1], flush=True)
    if not a.record: return
    import torch
    ref = max(rows, key=lambda r: r['size'])
    L = ['## Φ input size: accuracy against extraction time (`bench/phi_size.py`)', '',
         f"`python -m bench.phi_size --sizes {a.sizes} --per-class {a.per_class} --threads {a.threads} --record` on {datetime.date.today()}: "
         f"{platform.machine()}, {os.cpu_count()} CPU cores, {a.threads} torch threads, torch {torch.__version__}, no GPU; load average "
         f"{load0:.2f} before, {os.getloadavg()[0]:.2f} after. `tf_efficientnet_lite0` with weights `{rows[0]['tag']}`; "
         f"{rows[0]['n']} PBC images ({a.per_class} per class), each from its original pixels; logistic regression on the "
         "standardised features, 3 stratified 80/20 splits.", '',
         '| input side (px) | images/s (read + resize + encode) | time vs the largest side | balanced accuracy % (mean ± std, 3 splits) |',
         '|---|---|---|---|']
    for r in rows:
        L.append(f"| {r['size']} | {r['ips']:.1f} | {ref['ips'] / r['ips']:.2f}× | {100 * r['acc']:.1f} ± {100 * r['sd']:.1f} |")
    lo = min(rows, key=lambda r: r['size'])
    best = max(rows, key=lambda r: r['acc'])
    near = min((r for r in rows if r['acc'] >= best['acc'] - 0.01), key=lambda r: r['size'])
    L += ['', f"- From {lo['size']} to {ref['size']} px: {100 * (ref['acc'] - lo['acc']):+.1f} points for {lo['ips'] / ref['ips']:.2f}× the time.",
          f"- Best score at {best['size']} px; the smallest side within 1 point of it is {near['size']} px "
          f"({100 * (best['acc'] - near['acc']):.1f} points below, {near['ips'] / best['ips']:.2f}× the speed).",
          "- The shipped Φ models are rendered and encoded at the backbone's own input (224 px): the best score; a faster side "
          "needs a Φ source model pretrained at that side (`--backbone-size`), as a model's features change with its input size."]
    write_section('phi_size', L)


if __name__ == '__main__':
    main()
