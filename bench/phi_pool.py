#!/usr/bin/env python3
"""Speed of building a Φ pretraining pool (`features.feature_pool`): rendering weak pairs and encoding them with the
packaged backbone (timm `tf_efficientnet_lite0`, ImageNet weights from the pip package), at the backbone's 224 px and
at a smaller input size.

    python -m bench.phi_pool                   # 2 threads, prints JSON
    python -m bench.phi_pool --record          # also rewrites the phi_pool section of bench/RESULTS.md

For each source and input size it builds a fresh pool of `--pairs` weak pairs (2 x pairs images) in an empty
folder and reports images/second of the whole job (render, encode, write), then of rendering alone and encoding
alone on the same images, and the time a second `feature_pool` call takes to find the pool on disk. The scaler
of the source is fitted on 64 images only (the default, 512, is not what is measured here).

Timings are wall-clock on the CPU; the machine's load average is recorded beside them, since other processes on
a 2-core machine change the numbers a lot.
"""
import argparse, datetime, json, os, platform, sys, tempfile, time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
from drl_microscopy.features import make_backbone, backbone_features  # noqa: E402
from drl_microscopy.phi import feature_source, feature_pool, POOL_CHUNK  # noqa: E402
from drl_microscopy.synth_data import seed_for  # noqa: E402

BACKBONE = 'tf_efficientnet_lite0'


def bench_one(source: str, size: int, pairs: int) -> dict:
    bb = make_backbone(BACKBONE, '', input_size=size if size != 224 else 0)
    src = feature_source(source, bb, n_fit=64)
    r, sp = src.renderer, src.space
    backbone_features(bb, r.render(sp.sample_factors(8, seed=0), seed=0))                 # warm-up
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        pool = feature_pool(src, n=pairs, cache_dir=d, seed=0)
        t_pool = time.perf_counter() - t0
        t0 = time.perf_counter()
        feature_pool(src, n=pairs, cache_dir=d, seed=0)
        t_again = time.perf_counter() - t0
        nbytes = sum(p.stat().st_size for p in Path(d).iterdir())
    # the same images again, rendering and encoding timed apart
    xs, t_render = [], 0.
    for j in range(-(-pairs // POOL_CHUNK)):
        s = seed_for(0, 3, j)
        fa, fb, _ = sp.sample_pairs(min(POOL_CHUNK, pairs - j * POOL_CHUNK), k=1, seed=s)
        t0 = time.perf_counter()
        x = torch.cat([r.render(fa, seed=s), r.render(fb, seed=s)])
        t_render += time.perf_counter() - t0
        xs.append(x)
    t0 = time.perf_counter()
    for x in xs: backbone_features(bb, x, src.bs)
    t_encode = time.perf_counter() - t0
    n_img = 2 * pairs
    return dict(source=source, input_size=bb.input_size, weights=bb.weights_tag, dim=pool.dim, pairs=pairs, images=n_img,
                pool_images_per_s=n_img / t_pool, render_images_per_s=n_img / t_render, encode_images_per_s=n_img / t_encode,
                pool_s=t_pool, reuse_s=t_again, pool_mb=nbytes / 2**20)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sizes', type=int, nargs='+', default=[224, 160])
    ap.add_argument('--sources', nargs='+', default=['texture-sprites', 'synth-cells-brightfield'])
    ap.add_argument('--pairs', type=int, default=128)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--record', action='store_true')
    ap.add_argument('--from-json', help="record the results this script printed earlier (its JSON) instead of measuring")
    a = ap.parse_args()
    if a.from_json:
        d = json.loads(Path(a.from_json).read_text())
        return record(d['meta'], d['rows'])
    torch.set_num_threads(a.threads)
    load0 = os.getloadavg()
    rows = [bench_one(src, size, a.pairs) for src in a.sources for size in a.sizes]
    load1 = os.getloadavg()
    meta = dict(date=datetime.date.today().isoformat(), threads=a.threads, cpus=os.cpu_count(), torch=torch.__version__,
                machine=platform.machine(), load_before=load0[0], load_after=load1[0], pairs=a.pairs, sizes=a.sizes,
                sources=a.sources, command='python -m bench.phi_pool ' + ' '.join(sys.argv[1:]))
    print(json.dumps(dict(meta=meta, rows=rows), indent=1))
    if a.record: record(meta, rows)


def record(meta: dict, rows: list):
    "Rewrite the phi_pool section of bench/RESULTS.md from measured rows."
    from bench.results_md import write_section
    a = argparse.Namespace(threads=meta['threads'], pairs=rows[0]['pairs'],
                           sizes=meta.get('sizes') or sorted({r['input_size'] for r in rows}, reverse=True),
                           sources=meta.get('sources') or list(dict.fromkeys(r['source'] for r in rows)))
    load0, load1 = (meta['load_before'],), (meta['load_after'],)
    lines = ['## Φ pretraining pool: rendering + encoding (`bench/phi_pool.py`)', '',
             f"`{meta['command']}` on {meta['date']}: {meta['cpus']} CPU cores, {a.threads} torch threads, torch "
             f"{meta['torch']}, no GPU; load average {load0[0]:.2f} before and {load1[0]:.2f} after (other jobs on the "
             f"machine slow every number down). Backbone `{BACKBONE}` with the weights "
             f"`{rows[0]['weights']}` ({rows[0]['dim']}-d features); each pool holds {a.pairs} weak pairs "
             f"({2 * a.pairs} images), rendered at the backbone's input size, encoded in batches of 64.", '',
             '| source | input (px) | pool: render + encode + write, images/s | render only, images/s | encode only, images/s | '
             'pool size (MB) | second call (s) |',
             '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['source']} | {r['input_size']} | {r['pool_images_per_s']:.1f} | {r['render_images_per_s']:,.0f} | "
                     f"{r['encode_images_per_s']:.1f} | {r['pool_mb']:.2f} | {r['reuse_s']:.3f} |")
    by = {(r['source'], r['input_size']): r for r in rows}
    lines += ['']
    for src in a.sources:
        r224, rsmall = by.get((src, 224)), [by[(src, s)] for s in a.sizes if s != 224 and (src, s) in by]
        if r224 and rsmall:
            rs = rsmall[0]
            lines.append(f"- {src}: {rs['input_size']} px builds the pool {rs['pool_images_per_s'] / r224['pool_images_per_s']:.2f}x "
                         f"as fast as 224 px; a pool of 20,000 pairs (40,000 images) takes about "
                         f"{40_000 / r224['pool_images_per_s'] / 60:.0f} min at 224 px and "
                         f"{40_000 / rs['pool_images_per_s'] / 60:.0f} min at {rs['input_size']} px on this CPU.")
    for r in rows:
        slow = 'encoding' if r['encode_images_per_s'] < r['render_images_per_s'] else 'rendering'
        lines.append(f"- {r['source']} at {r['input_size']} px: {slow} is the slower half "
                     f"(render {r['render_images_per_s']:,.0f} images/s, encode {r['encode_images_per_s']:.1f} images/s).")
    lines.append('- Once built, a pool is found on disk in milliseconds (the "second call" column) and read memory-mapped '
                 'during training, instead of paying for rendering and encoding at every step.')
    write_section('phi_pool', lines)


if __name__ == '__main__':
    main()
