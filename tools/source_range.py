"""Probe (issue 6): does a bright-field SynthCells source whose cell sizes reach down to the real objects' sizes name size better on real data?

Most NDSB objects (67 %) are smaller than the smallest `cell_size` of SynthCells (0.16 of the frame, 330 px at 64 px).
This script pretrains the bright-field source with `cell_size` spanning LO…HI in N values instead of 0.16…0.30 in 6
(the rest as `drlm pretrain --source synth-cells-brightfield --model ada-gvae --aggregator labels --bs 32 --lr 1e-3
--arch burgess`), into OUT. Transfer and measure it afterwards with `drlm transfer --model OUT …` and
`python -m bench.interpret --source-bundle OUT/bundle.pt --source synth-cells-brightfield --transfer …`.
It overrides the renderer's factor space from outside (a probe, not a library feature): the bundle records the source
as `synth-cells-brightfield`, so keep `--metrics ''` when transferring it (the metrics would re-render the usual range).

    python -m tools.source_range --lo 0.08 --hi 0.30 --n 8 --steps 6000 --out runs/cellsbf_wide6k
"""
import argparse, time
import numpy as np, torch


def wide_source(size, lo, hi, n):
    from drl_microscopy.synth import FactorSpace
    from drl_microscopy.cells import SynthCellsBrightfield, CELL_FACTORS
    r = SynthCellsBrightfield(size)
    vals = dict(CELL_FACTORS, cell_size=np.linspace(lo, hi, n))
    r.space = FactorSpace(list(vals), [len(v) for v in vals.values()], list(vals.values()), None)
    r._vals = [torch.as_tensor(v, dtype=torch.float32, device=r.device) for v in r.space.values]
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--lo', type=float, default=0.08); ap.add_argument('--hi', type=float, default=0.30)
    ap.add_argument('--n', type=int, default=8); ap.add_argument('--steps', type=int, default=6000)
    ap.add_argument('--size', type=int, default=64); ap.add_argument('--out', required=True)
    ap.add_argument('--resume', action='store_true')
    a = ap.parse_args()
    from drl_microscopy.learner import pretrain
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    pretrain(wide_source(a.size, a.lo, a.hi, a.n), model='ada-gvae', aggregator='labels', steps=a.steps, size=a.size, bs=32,
             lr=1e-3, arch='burgess', seed=0, out=a.out, resume=a.resume, progress=False)
    print(f"wrote {a.out} in {time.perf_counter() - t0:.0f} s")


if __name__ == '__main__':
    main()
