#!/usr/bin/env python3
"""Rendering speed of the synthetic renderers (`drl_microscopy.synth`), batched, against per-image references.

    python -m bench.synth                      # 2 threads, prints JSON
    python -m bench.synth --record             # also rewrites the synth section of bench/RESULTS.md

For each renderer and size it measures images/second of batched rendering (`render(factors)` on a batch of
random factor tuples, factors drawn beforehand) and, in the same process, a straightforward per-image
reference:

- `TextureSprites`: the way the paper's reference code renders a Texture-dSprites item, one at a time with
  numpy/PIL: take the 64 px dSprites mask of the item (here: looked up in a table of the 720 centred masks and
  shifted to its position, as reading `imgs[i]` of the dSprites array), make 3 channels times the colour,
  convert to uint8, resize to the output size with PIL (bilinear), back to a float tensor, multiply by the
  texture image, then stack the batch. At 64 px its images equal ours up to the uint8 rounding; the bench
  checks that.
- `SynthCells`: the same renderer called with one image at a time (what a map-style Dataset would do).

Timings are wall-clock; the machine's load average is recorded beside them, since other processes on a
2-core machine change the numbers a lot (torch's 2 threads wait for each other when one core is busy).
"""
import argparse, datetime, json, os, platform, sys, time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
from drl_microscopy.synth import TextureSprites, HUSL_COLORS  # noqa: E402
from drl_microscopy.cells import SynthCells  # noqa: E402
from bench.results_md import write_section  # noqa: E402


class ReferenceTextureSprites:
    "Per-item Texture-dSprites renderer written the way the reference code renders items (numpy/PIL, one at a time)."
    def __init__(self, size):
        self.size = size
        flat = TextureSprites(64, textures=[np.ones((2, 2))])          # white objects: the 64 px dSprites-like masks
        f = np.array([[0, 0, s, sc, o, 15, 15] for s in range(3) for sc in range(6) for o in range(40)])
        self.masks = flat.render(f)[:, 0].numpy()                         # (720, 64, 64), centred at position 15
        self.textures = TextureSprites(size)._tex.view(-1, size, size).numpy()   # the texture images, read once
        self.colors = HUSL_COLORS.astype(np.float32)

    def item(self, f):
        t, c, s, sc, o, px, py = (int(v) for v in f)
        mask = np.roll(self.masks[(s * 6 + sc) * 40 + o], (py - 15, px - 15), axis=(0, 1))   # the dSprites image
        img = (mask[..., None] * self.colors[c] * 255).astype(np.uint8)   # 3 channels x colour, uint8
        pil = Image.fromarray(img)
        if self.size != 64: pil = pil.resize((self.size, self.size), Image.BILINEAR)
        x = torch.from_numpy(np.asarray(pil, dtype=np.float32) / 255).permute(2, 0, 1)   # ToTensor
        return x * torch.from_numpy(self.textures[t])[None]

    def render(self, factors): return torch.stack([self.item(f) for f in factors])


def rate(fn, batches, seconds):
    "Images/second of `fn` over the factor batches, repeated for at least `seconds` (after one warm-up call)."
    fn(batches[0])
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        for f in batches:
            fn(f); n += len(f)
        wall = time.perf_counter() - t0
        if wall >= seconds: break
    return n / wall, (time.process_time() - c0) / n


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--threads', type=int, nargs='+', default=[2], help='torch thread counts to measure (e.g. 2 1)')
    p.add_argument('--seconds', type=float, default=1.5, help='minimum time per measurement')
    p.add_argument('--sizes', type=int, nargs='+', default=[64, 224])
    p.add_argument('--device', default='cpu')
    p.add_argument('--record', action='store_true', help='rewrite the synth section of bench/RESULTS.md')
    a = p.parse_args()
    res = dict(date=datetime.date.today().isoformat(), torch=torch.__version__, cpus=os.cpu_count(), threads=a.threads,
               device=a.device, machine=platform.processor() or platform.machine(), load_before=os.getloadavg()[0], rows=[])
    for th in a.threads:
        torch.set_num_threads(th)
        for S in a.sizes: measure(S, th, a, res)
    res['load_after'] = os.getloadavg()[0]
    print(json.dumps(res, indent=1))
    if a.record: record(res, ' '.join(['python -m bench.synth'] + sys.argv[1:]))


def measure(S, threads, a, res):
    "Append the rows of one size and thread count to `res['rows']`."
    batch = {64: 256, 224: 64}
    bs = batch.get(S, 64)
    t0 = time.perf_counter(); ts = TextureSprites(S, device=a.device); build = time.perf_counter() - t0
    batches = [ts.space.sample_factors(bs, seed=i) for i in range(8)]
    sync = (lambda: torch.cuda.synchronize()) if ts.device.type == 'cuda' else (lambda: None)
    fast, fast_cpu = rate(lambda f: (ts.render(f), sync()), batches, a.seconds)
    ref = ReferenceTextureSprites(S)
    slow, _ = rate(ref.render, [b[:32] for b in batches[:2]], a.seconds)
    row = dict(renderer='TextureSprites', size=S, threads=threads, batch=bs, images_per_s=round(fast), cpu_s_per_image=fast_cpu,
               reference='per-image numpy/PIL (reference code path)', reference_images_per_s=round(slow),
               speedup=round(fast / slow, 1), build_s=round(build, 2))
    if S == 64:
        f = batches[0][:64]
        row['max_abs_diff_vs_reference'] = float((ts.render(f).cpu() - ref.render(f)).abs().max())
    res['rows'].append(row)
    for nz in (None, 'default'):
        sc = SynthCells(S, nuisances=nz, device=a.device)
        cb = [sc.space.sample_factors(bs, seed=i) for i in range(4)]
        fast, fast_cpu = rate(lambda f: (sc.render(f, seed=0), sync()), cb, a.seconds)
        one, _ = rate(lambda f: [sc.render(f[i:i + 1], seed=i) for i in range(len(f))], [b[:16] for b in cb[:2]], a.seconds / 2)
        res['rows'].append(dict(renderer=f"SynthCells(nuisances={nz})", size=S, threads=threads, batch=bs, images_per_s=round(fast),
                                cpu_s_per_image=fast_cpu, reference='the same renderer, one image per call',
                                reference_images_per_s=round(one), speedup=round(fast / one, 1)))


def record(res, command):
    "Rewrite the section between the synth markers of bench/RESULTS.md (create the file or section if missing)."
    rows = '\n'.join(f"| {r['renderer']} | {r['size']} | {r['threads']} | {r['batch']} | {r['images_per_s']:,} | {r['cpu_s_per_image']*1e6:.0f} | "
                     f"{r['reference_images_per_s']:,} | {r['speedup']} |" for r in res['rows'])
    ts64 = next((r for r in res['rows'] if 'max_abs_diff_vs_reference' in r), None)
    check = (f"At 64 px the batched TextureSprites images equal the reference path's to {ts64['max_abs_diff_vs_reference']:.4f} "
             "(the reference rounds to uint8), so both draw the same images. " if ts64 else '')
    verdict = []
    for th in res['threads']:
        got = {r['size']: r for r in res['rows'] if r['renderer'] == 'TextureSprites' and r['threads'] == th}
        parts = [f"{S} px {got[S]['images_per_s']:,}/s ({'meets' if got[S]['images_per_s'] >= goal and got[S]['speedup'] > 1 else 'misses'} "
                 f">= {goal:,}, {got[S]['speedup']}x the reference)" for S, goal in ((64, 30_000), (224, 3_000)) if S in got]
        if parts: verdict.append(f"- {th} thread(s): TextureSprites " + '; '.join(parts) + '.')
    verdict = '\n'.join(verdict)
    section = f"""## Synthetic rendering (`bench/synth.py`)

`{command}` on {res['date']}: {res['cpus']} CPU cores, device {res['device']},
torch {res['torch']}; load average {res['load_before']:.2f} before and {res['load_after']:.2f} after (other jobs on the
machine slow every number down, the 2-thread ones most).

| renderer | size (px) | threads | batch | images/s | CPU µs / image | per-image reference, images/s | speed-up |
|---|---|---|---|---|---|---|---|
{rows}

Reference for `TextureSprites`: the paper's code path, one item at a time (the 64 px mask, 3 channels x colour,
uint8, PIL bilinear resize to the size, to a float tensor, x texture, then stacked). For `SynthCells`: the same
renderer called with one image at a time. {check}Targets (2 cores): TextureSprites >= 30,000 images/s at 64 px and
>= 3,000 images/s at 224 px, faster than the per-image reference; rendering must not limit training (about 1,000
images/s at 64 px).

{verdict}"""
    write_section('synth', section.split('\n'))


if __name__ == '__main__':
    main()
