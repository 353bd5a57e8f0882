#!/usr/bin/env python
"""Training speed and memory of the pretraining Learner (drl_microscopy.learner), rerunnable.

Measures, in one process and on the same model, data stream, optimiser and batch size:

1. throughput (training images/second; a weak pair counts as 2 images) of
   - a plain PyTorch loop (NCHW, the straightforward way),
   - a plain PyTorch loop in channels-last memory format,
   - the fastai `Learner` of `pretrain_learner` with all its callbacks (log, NaN guard, clipping,
     step seeding, channels-last on CPU), without the progress bar;
   rounds of the variants are interleaved and the fastest step of each is kept (wall-clock and CPU
   time of this process), so that load from other processes hits all variants alike;
2. FLOP utilisation: training FLOPs per step (forward + backward, `torch.utils.flop_counter`) times
   steps/second, over the GFLOP/s of a large float32 matmul measured in the same run, same threads;
3. peak resident memory (ru_maxrss of a child process) of a short training run at 64 px, batch 64,
   and at 224 px.

    python -m bench.train                    # 64 px, batch 64 pairs, 2 threads, prints a table
    python -m bench.train --record            # also replace the train section of bench/RESULTS.md
    python -m bench.train --rounds 5 --steps 4 --mem-sizes 64,224

Renders happen inside the timed steps for every variant (the data is generated on the fly).
"""
import argparse, datetime, json, os, resource, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup(threads):
    os.environ.setdefault('OMP_NUM_THREADS', str(threads))
    import torch
    torch.set_num_threads(threads)
    return torch


def _now(): return time.perf_counter(), time.process_time()

def matmul_gflops(torch, n=2048, reps=6):
    "Best GFLOP/s of an n×n float32 matmul: per wall-clock second, and per CPU second of this process."
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best_w = best_c = float('inf')
    for _ in range(reps):
        w, c = _now(); a @ b; w2, c2 = _now()
        best_w, best_c = min(best_w, w2 - w), min(best_c, c2 - c)
    return 2 * n ** 3 / best_w / 1e9, 2 * n ** 3 / best_c / 1e9


def child_memory(args):
    "Run in a child process: a short pretraining fit; prints nothing of interest (the parent reads ru_maxrss)."
    torch = _setup(int(args.threads.split(',')[-1]))
    from drl_microscopy.learner import pretrain_learner
    learn = pretrain_learner('texture-sprites', args.model, size=args.size, centred=True, bs=args.bs,
                             steps_per_epoch=args.steps, n_valid=args.bs, device='cpu')
    with learn.no_bar(), learn.no_logging(): learn.fit(1)


def measure_memory(args, size):
    "Peak RSS (MB) of a child process that trains `args.mem_steps` steps at `size` px."
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cmd = [sys.executable, '-m', 'bench.train', '--child-mem', '--size', str(size), '--bs', str(args.bs), '--steps', str(args.mem_steps),
           '--threads', args.threads.split(',')[-1], '--model', args.model]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of the children is the max over all children waited for: measure the small size first
    return peak / 1024, before / 1024, time.perf_counter() - t


def throughput(args, threads):
    torch = _setup(threads)
    from torch.utils.flop_counter import FlopCounterMode
    from fastai.callback.core import Callback
    from drl_microscopy.learner import pretrain_learner

    def learner():
        return pretrain_learner('texture-sprites', args.model, size=args.size, centred=True, bs=args.bs,
                                steps_per_epoch=args.steps, n_valid=args.bs, device='cpu', seed=0)

    def plain(channels_last):
        "A plain PyTorch loop over the very model, loss, data stream and optimiser settings of the Learner."
        learn = learner()
        model, loss_func, dl = learn.model, learn.loss_func, learn.dls.train
        if channels_last: model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        clip = getattr(learn, 'gradient_clip', None)
        model.train()
        def step(b):
            xb, y = b[:dl.n_inp], b[dl.n_inp]
            loss = loss_func(model(*xb), y)
            opt.zero_grad(); loss.backward()
            if clip is not None: torch.nn.utils.clip_grad_norm_(model.parameters(), clip.max_norm)
            opt.step()
        def run():
            times, t = [], _now()
            for b in dl:                      # rendering of the next batch is inside the step time
                step(b); now = _now(); times.append((now[0] - t[0], now[1] - t[1])); t = now
            return times
        return run, step, dl

    class StepTimer(Callback):
        "Time between consecutive training steps' ends (rendering, callbacks and all)."
        order = 99
        def __init__(self): self.times = []
        def before_train(self): self.t = _now()
        def after_batch(self):
            if self.training:
                now = _now(); self.times.append((now[0] - self.t[0], now[1] - self.t[1])); self.t = now

    learn, timer = learner(), StepTimer()
    learn.add_cb(timer)
    def run_fastai():
        n = len(timer.times)
        with learn.no_bar(), learn.no_logging(): learn.fit(1)
        return timer.times[n:]

    variants = {'plain NCHW': plain(False), 'plain channels-last': plain(True)}
    _, step0, dl0 = variants['plain NCHW']
    b0 = dl0.make_batch(10_000)
    with FlopCounterMode(display=False) as fc: step0(b0)     # forward + backward FLOPs of one step
    flops, imgs_per_step = fc.get_total_flops(), b0[0].shape[0]
    gflops_peak = matmul_gflops(torch)
    runs = {k: v[0] for k, v in variants.items()}
    runs['fastai Learner'] = run_fastai
    res = {k: [] for k in runs}
    for k, run in runs.items(): run()                                   # warm-up round, not counted
    for _ in range(args.rounds):
        for k, run in runs.items(): res[k] += run()
    g2 = matmul_gflops(torch)
    gflops_peak = (max(gflops_peak[0], g2[0]), max(gflops_peak[1], g2[1]))
    rows = {}
    for k, v in res.items():
        # the fastest step of each variant: on a shared machine, slower steps measure the other jobs
        s, c = min(w for w, _ in v), min(c for _, c in v)
        rows[k] = dict(step_s=s, cpu_s=c, img_s=imgs_per_step / s, util=flops / s / 1e9 / gflops_peak[0],
                       util_cpu=flops / c / 1e9 / gflops_peak[1])
    return dict(flops_per_step=flops, imgs_per_step=imgs_per_step, matmul_gflops=gflops_peak[0],
                matmul_gflops_per_cpu_s=gflops_peak[1], rows=rows,
                n_steps={k: len(v) for k, v in res.items()})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--bs', type=int, default=64, help='images (or pairs) per batch')
    ap.add_argument('--model', default='ada-gvae')
    ap.add_argument('--threads', default='1,2', help="thread counts to measure, e.g. '2' or '1,2'")
    ap.add_argument('--steps', type=int, default=3, help='steps per round and variant')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--mem-sizes', default='64,224', help="sizes for the peak-memory runs ('' to skip)")
    ap.add_argument('--mem-steps', type=int, default=2)
    ap.add_argument('--record', action='store_true', help='replace the train section of bench/RESULTS.md')
    ap.add_argument('--child-mem', action='store_true', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_mem: return child_memory(args)

    cmd = 'python -m bench.train ' + ' '.join(sys.argv[1:])
    load = os.getloadavg()
    t0 = time.perf_counter()
    lines = []
    for th in [int(x) for x in args.threads.split(',')]:
        tp = throughput(args, th)
        base = tp['rows']['plain channels-last']
        lines += [f"**{th} thread{'s' if th > 1 else ''}** — {args.model}, TextureSprites centred {args.size} px, batch {args.bs} "
                  f"({tp['imgs_per_step']} images/step), Adam, CPU; {tp['flops_per_step'] / 1e9:.1f} GFLOP per training step; "
                  f"float32 2048² matmul {tp['matmul_gflops']:.1f} GFLOP/s wall, {tp['matmul_gflops_per_cpu_s']:.1f} GFLOP per CPU second.",
                  '', '| variant | wall s/step | images/s (wall) | vs plain channels-last (wall) | FLOP util. (wall) | CPU s/step | vs plain channels-last (CPU) | FLOP util. (CPU time) |',
                  '|---|---|---|---|---|---|---|---|']
        for k, r in tp['rows'].items():
            lines.append(f"| {k} | {r['step_s']:.3f} | {r['img_s']:.1f} | {r['img_s'] / base['img_s']:.2f} | {100 * r['util']:.0f} % "
                         f"| {r['cpu_s']:.3f} | {base['cpu_s'] / r['cpu_s']:.2f} | {100 * r['util_cpu']:.0f} % |")
        lines.append('')
        print(json.dumps(tp, indent=1, default=float))
    mem = {}
    for s in [int(x) for x in args.mem_sizes.split(',') if x]:
        mem[s] = measure_memory(args, s)[0]
    load_after = os.getloadavg()
    lines += ["Fastest step of each variant over the timed rounds (rounds of the variants interleaved; rendering included). FLOP util. (wall) = "
              "training FLOPs per wall-clock second / matmul FLOPs per wall-clock second; (CPU time) uses this process's CPU "
              "seconds for both, which discounts time lost to other processes (but counts threads spinning while they wait)."]
    if mem:
        lines += ['', f"Peak resident memory of a short training run ({args.mem_steps} steps + validation, child process, ru_maxrss, "
                  f"{args.threads.split(',')[-1]} threads):", '']
        lines += [f"- {s} px, batch {args.bs}: {m:.0f} MB" for s, m in mem.items()]
    lines += ['', f"Load average before/after: {load[0]:.1f} / {load_after[0]:.1f} on 2 cores shared with other jobs; "
              f"wall time {time.perf_counter() - t0:.0f} s."]
    text = '\n'.join(lines)
    print(text)
    if args.record:
        from bench.results_md import write_section
        write_section('train', ['## Training speed and memory (`bench/train.py`)', '',
                                f"`{cmd}` — {datetime.date.today().isoformat()}", '', text])


if __name__ == '__main__':
    main()
