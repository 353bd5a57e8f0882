#!/usr/bin/env python3
"""Real-image loading, the padding leak, and classifier cost (`drl_microscopy.data`, `drl_microscopy.classify`).

    OMP_NUM_THREADS=1 python -m bench.data            # 1 thread, prints JSON
    OMP_NUM_THREADS=1 python -m bench.data --record   # also rewrites the data section of bench/RESULTS.md

Needs the shared data (`$DRLM_DATA` or ../shared/data). Three measurements, on the 15 largest classes of
ndsb_plankton (150 images each):

1. **Loading speed.** Images/second of our per-item path (`ImageFiles[i]`: decode, grey, pad to square with the
   border median, antialiased resize to 64 px) against, in the same process, the reference's way (PIL open,
   convert to RGB, plain resize to 64x64 without padding, to a float tensor). Plus the time of a full
   `image_dataloaders` scan with `check='decode'`.
2. **The padding leak.** The reference pads each WHOI15 image to the largest height/width *of its class*
   before resizing, so an object's size after preprocessing depends on its class. Here: balanced accuracy of a
   GBT (`classify`, stratified 80/20 split, 3 seeds) that sees *only* the object's extent after
   preprocessing in pixels of a 224 px output, `round(224 h / maxH_class), round(224 w / maxW_class)` for the
   reference vs `round(224 h / max(h, w)), round(224 w / max(h, w))` for ours, and the raw crop size `(h, w)`
   for comparison. Anything the reference gains over the raw size comes
   from the label. Headers only, no decoding.
3. **Classifier cost.** Fit time of the paper's GBT, of one MLP epoch, and of the linear probe on 2,000
   codes of 5 dims with 15 classes.
"""
import argparse, datetime, json, os, platform, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from drl_microscopy.core import data_root  # noqa: E402
from drl_microscopy.data import image_dataloaders, scan_image_folder, split_table, ImageFiles  # noqa: E402
from drl_microscopy.classify import classify  # noqa: E402
from bench.results_md import write_section  # noqa: E402


def reference_item(path, size):
    "The reference's loading: PIL, RGB, plain resize (no padding), float tensor."
    with Image.open(path) as im:
        im = im.convert('RGB').resize((size, size), Image.BILINEAR)
    return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.).permute(2, 0, 1)


def bench_loading(table, size=64, reps=2):
    paths = list(table.path)
    ds = ImageFiles(paths, table.y, size=size, channels=1)
    def ours():
        for i in range(len(ds)): ds[i]
    def ref():
        for p in paths: reference_item(p, size)
    out = {}
    for name, fn in (('reference', ref), ('ours', ours)):
        fn()  # warm the file cache
        ts = []
        for _ in range(reps):
            t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
        out[name] = len(paths) / min(ts)
    out['ratio_ours_over_reference'] = out['ours'] / out['reference']
    return {k: round(v, 3 if k.startswith('ratio') else 1) for k, v in out.items()}


def bench_leak(table, seeds=(0, 1, 2)):
    t = table.copy()
    h, w = t.height.values.astype(float), t.width.values.astype(float)
    mh = t.groupby('label').height.transform('max').values.astype(float)
    mw = t.groupby('label').width.transform('max').values.astype(float)
    L = np.maximum(h, w)
    q = lambda a: np.round(224 * a)   # extent in pixels of a 224 px output, as the model would see it
    feats = {'ours (h/L, w/L)': np.stack([q(h / L), q(w / L)], 1),
             'reference per-class padding (h/maxH_c, w/maxW_c)': np.stack([q(h / mh), q(w / mw)], 1),
             'raw crop size (h, w)': np.stack([h, w], 1)}
    res = {}
    for name, z in feats.items():
        bal = []
        for s in seeds:
            sp = split_table(t.assign(split=None), test_pct=0.2, seed=s).split.values
            r = classify(z[sp == 'train'], t.y.values[sp == 'train'], z[sp == 'test'], t.y.values[sp == 'test'],
                         clf='gbt', seed=s, drop_inactive=False)
            bal.append(r.balanced_accuracy)
        res[name] = dict(mean=round(float(np.mean(bal)), 4), std=round(float(np.std(bal, ddof=1)), 4))
    res['chance'] = round(1 / t.label.nunique(), 4)
    return res


def bench_classifiers(n=2000, d=5, k=15):
    g = np.random.default_rng(0)
    y = g.integers(0, k, n); z = g.normal(size=(n, d)); z[:, 0] += 0.3 * y
    yt = g.integers(0, k, 500); zt = g.normal(size=(500, d)); zt[:, 0] += 0.3 * yt
    out = {}
    for name, kw in (('gbt', {}), ('mlp_50_epochs', dict(max_iter=50)), ('linear', {})):
        t = time.perf_counter()
        classify(z, y, zt, yt, clf=name.split('_')[0], seed=0, **kw)
        out[name + '_s'] = round(time.perf_counter() - t, 2)
    out['mlp_per_epoch_s'] = round(out['mlp_50_epochs_s'] / 50, 4)
    out['mlp_1000_epoch_cap_estimate_s'] = round(out['mlp_per_epoch_s'] * 1000, 1)
    return out


def record(res, cmd):
    L, lk, c = res['loading'], res['leak'], res['classifiers']
    body = [f"## data / classify (bench/data.py)", '',
            f"Run {res['date']} with `{cmd}` on {res['machine']} ({res['threads']} torch thread(s), load average before: {res['loadavg']}).",
            f"ndsb_plankton, 15 largest classes, {res['n_images']} images.", '',
            '| measurement | value |', '|---|---|',
            f"| loading, reference (PIL RGB + plain resize 64) | {L['reference']} images/s |",
            f"| loading, ours (`ImageFiles`: decode, grey, border-median pad, antialiased resize 64) | {L['ours']} images/s |",
            f"| ratio ours / reference | {L['ratio_ours_over_reference']} |",
            f"| full scan + split + loaders (`image_dataloaders`, check='decode') | {res['scan_s']} s |"]
    for k, v in lk.items():
        if k != 'chance': body.append(f"| GBT balanced accuracy from object extent only: {k} | {v['mean']:.4f} ± {v['std']:.4f} (3 seeds) |")
    body.append(f"| chance | {lk['chance']} |")
    body += [f"| GBT fit, 2000×5 codes, 15 classes | {c['gbt_s']} s |",
             f"| MLP, one epoch (same codes) | {c['mlp_per_epoch_s']} s (1000-epoch cap ≈ {c['mlp_1000_epoch_cap_estimate_s']} s) |",
             f"| linear probe fit | {c['linear_s']} s |"]
    write_section('data', body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--threads', type=int, default=1, help='torch threads (set OMP_NUM_THREADS the same for sklearn/numpy)')
    ap.add_argument('--record', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if data_root() is None: sys.exit("no shared data: set DRLM_DATA")
    load = os.getloadavg()[0]
    t = time.perf_counter()
    dls = image_dataloaders('ndsb_plankton', size=64, channels=1, classes=15)
    scan_s = time.perf_counter() - t
    table, _ = scan_image_folder('ndsb_plankton', classes=15, check='header')
    res = dict(date=datetime.date.today().isoformat(), machine=f"{platform.machine()}, {os.cpu_count()} cores", threads=a.threads,
               loadavg=round(load, 2), n_images=len(table), scan_s=round(scan_s, 2),
               loading=bench_loading(table), leak=bench_leak(table), classifiers=bench_classifiers())
    print(json.dumps(res, indent=1))
    if a.record: record(res, f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} python -m bench.data --threads {a.threads} --record")


if __name__ == '__main__':
    main()
