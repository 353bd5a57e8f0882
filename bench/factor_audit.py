"""The factor audit of every synthetic source (issue 22): for each factor, the effect of one step of that factor
alone, min / median / max over seeded tuples drawn across the rest of the space, on the pixels (mean absolute
change at 64 px) and on the features of the frozen ImageNet `tf_efficientnet_lite0` (mean absolute change at
224 px, relative to the features' spread over the base images). The sprites are the reference.

    python -m bench.factor_audit            # print the tables
    python -m bench.factor_audit --record   # and write the 'factor_audit' section of bench/RESULTS.md
"""
import argparse, os, time, datetime
import torch
from drl_microscopy.cells import SOURCES, SynthCells, get_source, factor_audit
from drl_microscopy.features import make_backbone
from bench.results_md import write_section


def tables(n=64, seed=0, n_features=32):
    bb = make_backbone('tf_efficientnet_lite0', device='cpu')
    feats = lambda x: bb(x).detach()
    out = {}
    for name in SOURCES:
        r64 = get_source(name, 64)
        if hasattr(r64, 'centred'): r64 = r64.centred()
        px = factor_audit(r64, n=n, seed=seed)
        r224 = get_source(name, 224)
        if hasattr(r224, 'centred'): r224 = r224.centred()
        with torch.no_grad(): ft = factor_audit(r224, n=n_features, seed=seed, features=feats)
        px[['feature_min', 'feature_median', 'feature_max']] = ft[['feature_min', 'feature_median', 'feature_max']]
        out[name] = px
    out['synth-cells, design=full (the 11 factors before)'] = factor_audit(SynthCells(64, design='full'), n=n, seed=seed)
    return out


def markdown(tabs, n, n_features, secs):
    load = os.getloadavg()[0]
    lines = ['## Factor audit (issue 22)', '',
             f'`python -m bench.factor_audit --record` ({datetime.date.today()}, {secs:.0f} s, load {load:.1f} on 2 cores). '
             f'One step of one factor, the rest of the space drawn at random ({n} tuples for pixels at 64 px, {n_features} for '
             'the features of ImageNet `tf_efficientnet_lite0` at 224 px), both images with the same nuisance seed. Pixels: '
             'mean absolute change (images in [0, 1]); features: mean absolute change relative to the features\' spread over '
             'the base images. The minimum is what matters: a factor whose minimum is zero cannot be learnt where it does nothing.', '']
    for name, t in tabs.items():
        feat = 'feature_min' in t
        lines += [f'**{name}**', '', '| factor | pixel min | median | max |' + (' feature min | median | max |' if feat else ''),
                  '|---|---|---|---|' + ('---|---|---|' if feat else '')]
        for f, row in t.iterrows():
            cells = [f'{row.pixel_min:.4f}', f'{row.pixel_median:.4f}', f'{row.pixel_max:.4f}']
            if feat: cells += [f'{row.feature_min:.3f}', f'{row.feature_median:.3f}', f'{row.feature_max:.3f}']
            lines.append(f'| {f} | ' + ' | '.join(cells) + ' |')
        lines.append('')
    return lines


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=64, help='tuples per factor (pixels)')
    ap.add_argument('--n-features', type=int, default=32, help='tuples per factor (backbone features)')
    ap.add_argument('--record', action='store_true', help="write the 'factor_audit' section of bench/RESULTS.md")
    a = ap.parse_args()
    t0 = time.time(); tabs = tables(a.n, 0, a.n_features); secs = time.time() - t0
    lines = markdown(tabs, a.n, a.n_features, secs)
    print('\n'.join(lines))
    if a.record: write_section('factor_audit', lines)
