"""Where CellProfiler's time goes (issue 23): each cp_measure set timed on PBC images, and the accuracy each cheaper choice
costs.

    python -m bench.cp_modules            # prints JSON
    python -m bench.cp_modules --record   # also rewrites the cp_modules section of bench/RESULTS.md

1. **Time per set.** `--time-n` images of `pbc_blood_cells` (`--size` px RGB, pad-to-square, seeded choice), their cell
   segmented once (`morphology.segment_object`, not timed); each cp_measure function (`morphology.CP_MEASUREMENTS`) is
   timed on every image in this one process with BLAS held to one thread, on the mask alone for the shape sets and once
   per channel for the others, as `morphology_table` calls them; also granularity with fewer scales
   (`granularity_scales`). Seconds per image and the share of the full set.
2. **Accuracy of each choice.** The whole-cell table of `--per-class` images per class (the images of
   `bench/compartments.py` at the same settings, read from its cache when there) with every set, and with one set left out
   (its columns dropped: the other sets' values do not depend on it), with granularity's first scales only, and with
   4 scales and no radial_zernikes together: 5-fold
   stratified CV of histogram GBT with `make_classifier('gbt')`'s settings, balanced accuracy mean ± std (as
   `bench/compartments.py`).
"""
import argparse, datetime, json, os, platform, re, sys, time
from pathlib import Path
import numpy as np

from bench.compartments import DATA, ROOT, cv_scores, load_set

SCALES = (16, 8, 4)


def set_columns(columns, m):
    "The columns of cp_measure set `m` in a whole-cell table."
    pat = dict(sizeshape=r'AreaShape_(?!Zernike|MaxFeret|MinFeret)', zernike=r'AreaShape_Zernike', feret=r'AreaShape_(Max|Min)Feret',
               intensity=r'(Intensity|Location)_', texture=r'Texture_', granularity=r'Granularity_',
               radial_distribution=r'RadialDistribution_(FracAtD|MeanFrac|RadialCV)', radial_zernikes=r'RadialDistribution_Zernike')[m]
    return [c for c in columns if re.match(pat, c)]


def time_sets(x, a):
    "Seconds per image of each cp_measure set (and of granularity at fewer scales), in this process."
    from threadpoolctl import threadpool_limits
    from drl_microscopy.morphology import CP_MEASUREMENTS, cp_measure_functions, segment_object
    funcs = cp_measure_functions()[0]
    from drl_microscopy.morphology import segment_nucleus
    ims = [im.numpy().astype(np.float64) for im in x]
    t = time.perf_counter()
    masks = [segment_object(im).astype(np.int32) for im in ims]
    seg = {'segmentation (cell)': (time.perf_counter() - t)/len(ims)}
    t = time.perf_counter()
    for im, lab in zip(ims, masks): segment_nucleus(im, lab > 0)
    seg['segmentation (nucleus)'] = (time.perf_counter() - t)/len(ims)
    jobs = [(m, {}) for m in CP_MEASUREMENTS] + [('granularity', dict(granular_spectrum_length=s)) for s in SCALES[1:]]
    out = dict(seg)
    with threadpool_limits(1):
        for m, kw in jobs:
            name = m if not kw else f"granularity, {kw['granular_spectrum_length']} scales"
            t = time.perf_counter()
            for im, lab in zip(ims, masks):
                if not lab.any(): continue
                for plane in ([im[0]] if m in ('sizeshape', 'zernike', 'feret') else im): funcs[m](lab, plane, **kw)
            out[name] = (time.perf_counter() - t)/len(ims)
            print(name, round(out[name], 4), flush=True)
    return out


def check_scales(x):
    "Whether granularity's first k scales are the same at 16 and at k scales (so dropping columns measures the cheaper set)."
    from drl_microscopy.morphology import cp_measure_functions, segment_object
    g = cp_measure_functions()[0]['granularity']
    ok = True
    for im in x[:4]:
        im = im.numpy().astype(np.float64); lab = segment_object(im).astype(np.int32)
        full = g(lab, im[1])
        for s in SCALES[1:]:
            part = g(lab, im[1], granular_spectrum_length=s)
            ok &= all(np.allclose(part[k], full[k], rtol=1e-9, atol=1e-12) for k in part)
    return bool(ok)


def accuracy(x, y, a):
    from drl_microscopy.morphology import CP_MEASUREMENTS, morphology_table
    table, _ = morphology_table(x, n_jobs=a.jobs, cache_dir=a.cache_dir)
    cols = list(table.columns[1:])
    variants = {'all eight sets': cols}
    for m in CP_MEASUREMENTS: variants[f'without {m}'] = [c for c in cols if c not in set(set_columns(cols, m))]
    gran = set_columns(cols, 'granularity')
    for s in SCALES[1:]:
        variants[f'granularity, {s} scales'] = [c for c in cols if c not in gran or int(c.split('_')[1]) <= s]
    rz = set(set_columns(cols, 'radial_zernikes'))
    variants['cheap'] = [c for c in variants['granularity, 4 scales'] if c not in rz]   # both savings together
    out = {}
    for name, keep in variants.items():
        sc = cv_scores(table[keep].to_numpy(), y, a.folds, a.seed, a.jobs)
        out[name] = dict(mean=round(100*float(np.mean(sc)), 1), std=round(100*float(np.std(sc)), 1), columns=len(keep))
        print(name, out[name], flush=True)
    return out


def main(a):
    from importlib.metadata import version
    t0 = time.perf_counter()
    x, y, classes = load_set(DATA/'pbc_blood_cells', a.per_class, a.size, a.seed)
    rng = np.random.default_rng(a.seed)
    tx = x[np.sort(rng.choice(len(x), min(a.time_n, len(x)), replace=False))]
    res = dict(size=a.size, n_time=len(tx), n=len(x), per_class=a.per_class, cp_measure=version('cp-measure'),
               cores=len(os.sched_getaffinity(0)), jobs=a.jobs)
    res['seconds_per_image'] = {k: round(v, 4) for k, v in time_sets(tx, a).items()}
    res['scales_prefix_equal'] = check_scales(tx)
    res['accuracy'] = accuracy(x, y, a)
    res['total_seconds'] = round(time.perf_counter() - t0, 1)
    return res


def record(res, cmd):
    from bench.results_md import write_section
    from drl_microscopy.morphology import CP_MEASUREMENTS
    t, acc = res['seconds_per_image'], res['accuracy']
    total = sum(t[m] for m in CP_MEASUREMENTS)
    L = ["## Where CellProfiler's time goes, set by set (issue 23)", '',
         f"Each cp_measure {res['cp_measure']} set timed on {res['n_time']} `pbc_blood_cells` images ({res['size']} px RGB, "
         "pad-to-square; the cell segmented once, not timed), in one process with BLAS held to one thread, on the mask for "
         "the shape sets and once per channel for the others, as `morphology_table` calls them "
         f"({datetime.date.today().isoformat()}, {platform.processor() or platform.machine()}, shared cores: lower bounds). "
         f"Accuracy: the whole-cell table of {res['n']} images ({res['per_class']} per class) with the set's columns dropped, "
         "5-fold CV balanced accuracy (%) of histogram GBT with `make_classifier('gbt')`'s settings.", '',
         '| set | ms per image | share of the full set | bal. acc. without it (columns) |', '|---|---|---|---|']
    for m in sorted(CP_MEASUREMENTS, key=lambda m: -t[m]):
        a = acc[f'without {m}']
        L.append(f"| {m} | {1000*t[m]:.1f} | {100*t[m]/total:.0f} % | {a['mean']} ± {a['std']} ({a['columns']}) |")
    a = acc['all eight sets']
    L += [f"| **all eight** | {1000*total:.1f} | 100 % | {a['mean']} ± {a['std']} ({a['columns']}), with every set |", '',
          f"Segmentation, besides: the cell (`segment_object`) {1000*t['segmentation (cell)']:.1f} ms per image, the nucleus "
          f"inside it (`segment_nucleus`, for compartments) {1000*t['segmentation (nucleus)']:.1f} ms.", '',
          '| granularity | ms per image | full set, ms per image | bal. acc. (columns) |', '|---|---|---|---|',
          f"| 16 scales (default) | {1000*t['granularity']:.1f} | {1000*total:.1f} | {a['mean']} ± {a['std']} ({a['columns']}) |"]
    for s in SCALES[1:]:
        k = f'granularity, {s} scales'
        L.append(f"| {s} scales (`granularity_scales={s}`) | {1000*t[k]:.1f} | {1000*(total - t['granularity'] + t[k]):.1f} | "
                 f"{acc[k]['mean']} ± {acc[k]['std']} ({acc[k]['columns']}) |")
    k, cheap = acc['cheap'], total - t['radial_zernikes'] - t['granularity'] + t['granularity, 4 scales']
    L.append(f"| 4 scales, and without radial_zernikes | {1000*t['granularity, 4 scales']:.1f} | {1000*cheap:.1f} "
             f"({100*(1 - cheap/total):.0f} % less) | {k['mean']} ± {k['std']} ({k['columns']}) |")
    L += ['', f"Granularity's first k scales equal those of the 16-scale spectrum (checked: {res['scales_prefix_equal']}), so "
          "the fewer-scale rows drop the finer columns of the full table.", '', f"Made by `{cmd}` in {res['total_seconds']} s."]
    write_section('cp_modules', L)


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--time-n', type=int, default=100)
    p.add_argument('--per-class', type=int, default=50)
    p.add_argument('--size', type=int, default=96)
    p.add_argument('--folds', type=int, default=5)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--jobs', type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument('--cache-dir', default=str(ROOT/'runs'/'bench_compartments'), help="morphology tables (bench/compartments.py's)")
    p.add_argument('--record', action='store_true', help='rewrite the cp_modules section of bench/RESULTS.md')
    a = p.parse_args()
    res = main(a)
    print(json.dumps(res, indent=1))
    if a.record: record(res, 'python -m bench.cp_modules ' + ' '.join(sys.argv[1:]))
