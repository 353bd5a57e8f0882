#!/usr/bin/env python3
"""GPU checks and benchmarks (issues 4 and 7): training throughput on a CUDA device in float32, bf16 and fp16 mixed
precision against the CPU in the same process, and the disentanglement quality bar with many more steps than the
CPU budget allows.

    python -m bench.gpu --out gpu.json                     # on a machine with a GPU: measure, write the JSON
    python -m bench.gpu --from-json gpu.json --record      # anywhere: rewrite the gpu section of bench/RESULTS.md

Throughput: `learner.pretrain_learner` (Ada-GVAE, labels, burgess arch, TextureSprites centred, batch 64 pairs = 128
images per step, rendering on the same device included) for `--steps` timed steps after one warm-up epoch; peak GPU
memory from `torch.cuda.max_memory_allocated`. The CPU baseline runs the same learner on all CPU threads.

Quality: each `--quality` entry `model:lr` trains with `learner.pretrain` on the GPU for about `--quality-seconds`
(steps calibrated from the float32 throughput, the models running side by side in their own processes), then is scored
by `evaluation.evaluate` on 10,000 images (the bar: OMES ≥ 0.7, DCI-D ≥ 0.6, MIG ≥ 0.3).
"""
import argparse, datetime, json, os, platform, subprocess, sys, time
from pathlib import Path
from bench.results_md import write_section

ROOT = Path(__file__).resolve().parents[1]
BAR = dict(omes=0.7, dci_disentanglement=0.6, mig=0.3)


def save(path, obj):
    "Write JSON atomically (partial results survive a time-out)."
    tmp = Path(str(path) + '.tmp')
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)


def throughput(device, size, mode, steps, bs=64):
    "Images per second of `steps` training steps after a warm-up epoch, and the peak GPU memory (MiB)."
    import torch
    from drl_microscopy.learner import pretrain_learner
    learn = pretrain_learner('texture-sprites', 'ada-gvae', size=size, centred=True, bs=bs, arch='burgess', lr=1e-3,
                             steps_per_epoch=steps, n_valid=bs, device=device, mixed_precision=mode)
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
    with learn.no_bar(), learn.no_logging(): learn.fit(1)                 # warm-up: kernels, allocator, cuDNN choice
    if device == 'cuda': sync(); torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    sync()
    wall = time.perf_counter() - t
    loss = learn.training_log.history.loss.values
    out = dict(device=device, size=size, mode=mode or 'fp32', steps=steps, bs_pairs=bs, wall_s=round(wall, 3),
               steps_per_s=round(steps / wall, 2), images_per_s=round(2 * bs * steps / wall, 1), loss_finite=bool(torch.isfinite(torch.tensor(loss)).all()))
    if device == 'cuda': out['peak_gpu_mib'] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def quality_worker(model, lr, steps, out_dir, seed=0, device='cuda'):
    "In a subprocess: pretrain on the GPU, then evaluate; prints one JSON line."
    import torch
    from drl_microscopy.learner import pretrain, load_bundle
    from drl_microscopy.synth import TextureSprites
    from drl_microscopy.evaluation import evaluate
    t = time.perf_counter()
    run = pretrain('texture-sprites', model=model, aggregator='labels', beta=1., steps=steps, bs=64, arch='burgess', lr=lr,
                   seed=seed, out=out_dir, centred=True, force=True, progress=False, device=device)
    train_s = time.perf_counter() - t
    b = load_bundle(Path(run) / 'bundle.pt', device=device)
    t = time.perf_counter()
    s = evaluate(b.model, TextureSprites(64).centred(), n=10_000, seed=0, device=device,
                 metrics=('omes', 'mig', 'dci', 'sap', 'modularity'), n_jobs=4)
    eval_s = time.perf_counter() - t
    keep = {k: round(float(v), 4) for k, v in s.items() if isinstance(v, (int, float))}
    print(json.dumps(dict(model=model, lr=lr, steps=steps, train_s=round(train_s, 1), eval_s=round(eval_s, 1), scores=keep,
                          association=s.get('association'), dim_names=s.get('dim_names')), default=str), flush=True)


def measure(args):
    import torch
    if not torch.cuda.is_available(): sys.exit('bench/gpu.py measures a CUDA device: none is visible here')
    res = dict(date=datetime.date.today().isoformat(), cmd='python ' + ' '.join([sys.argv[0]] + sys.argv[1:]),
               gpu=torch.cuda.get_device_name(0), torch=torch.__version__, cpu_threads=torch.get_num_threads(),
               cores=os.cpu_count(), python=platform.python_version(), throughput=[], quality=[])
    out = Path(args.out)
    t0 = time.perf_counter()
    for size in (64, 224) if not args.rate else ():
        for mode in (None, 'bf16', 'fp16'):
            res['throughput'].append(throughput('cuda', size, mode, args.steps)); save(out, res)
            print(res['throughput'][-1], flush=True)
    for size in (64,) if not args.rate else ():
        res['throughput'].append(throughput('cpu', size, None, max(4, args.steps // 20))); save(out, res)
        print(res['throughput'][-1], flush=True)
    res['throughput_s'] = round(time.perf_counter() - t0, 1); save(out, res)
    rate = args.rate or next(r['steps_per_s'] for r in res['throughput'] if r['device'] == 'cuda' and r['size'] == 64 and r['mode'] == 'fp32')
    procs = []
    for q in args.quality:
        model, lr = q.split(':')
        steps = int(rate * args.quality_seconds * args.share) // 100 * 100
        env = dict(os.environ, OMP_NUM_THREADS='4')
        cmd = [sys.executable, '-m', 'bench.gpu', '--quality-worker', model, lr, str(steps), str(Path(args.runs) / f'{model}_lr{lr}')]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True))
    for p in procs:
        line = [l for l in p.communicate()[0].splitlines() if l.startswith('{')]
        res['quality'].append(json.loads(line[-1]) if line else dict(failed=p.returncode)); save(out, res)
        print(res['quality'][-1], flush=True)
    res['total_s'] = round(time.perf_counter() - t0, 1)
    save(out, res)


def record(res):
    L = ['## GPU (`bench/gpu.py`)', '',
         f"Run {res['date']} with `{res['cmd']}` on the lent device machine: {res['gpu']}, torch {res['torch']}, "
         f"Python {res['python']}, {res['cores']} CPU cores (the CPU baseline uses {res['cpu_threads']} torch threads); "
         f"recorded here with `python -m bench.gpu --from-json {' '.join(res.get('recorded_from', ['gpu.json']))} --record`.", '',
         'Training throughput, Ada-GVAE (labels), burgess arch, TextureSprites centred, batch 64 pairs (128 images per step), '
         'rendering on the same device included, one epoch after a warm-up epoch:', '',
         '| device | px | precision | steps | images/s | vs CPU (same px) | peak GPU memory (MiB) | loss finite |', '|---|---|---|---|---|---|---|---|']
    cpu = {r['size']: r['images_per_s'] for r in res['throughput'] if r['device'] == 'cpu'}
    for r in res['throughput']:
        ratio = f"{r['images_per_s'] / cpu[r['size']]:.1f}×" if r['size'] in cpu and r['device'] == 'cuda' else '—'
        L.append(f"| {r['device']} | {r['size']} | {r['mode']} | {r['steps']} | {r['images_per_s']:,.0f} | {ratio} | {r.get('peak_gpu_mib', '—')} | {r['loss_finite']} |")
    if res.get('quality'):
        L += ['', 'Quality bar with many more steps (same settings as `bench/quality.py`, but on the GPU; models side by side; '
              'scores from `evaluation.evaluate` on 10,000 images, DCI fast backend):', '',
              '| model | lr | steps | train s | OMES | MIG | DCI-D | DCI-C | DCI-I | SAP | modularity | bar (OMES ≥ 0.7, DCI-D ≥ 0.6, MIG ≥ 0.3) |',
              '|---|---|---|---|---|---|---|---|---|---|---|---|']
        for q in res['quality']:
            if 'failed' in q: L.append(f"| failed (exit {q['failed']}) |"); continue
            s = q['scores']
            met = all(s.get(k, 0) >= v for k, v in BAR.items())
            L.append(f"| {q['model']} | {q['lr']} | {q['steps']:,} | {q['train_s']:.0f} | {s['omes']:.3f} | {s['mig']:.3f} | {s['dci_disentanglement']:.3f} | "
                     f"{s['dci_completeness']:.3f} | {s['dci_informativeness']:.3f} | {s['sap']:.3f} | {s['modularity']:.3f} | {'met' if met else 'missed'} |")
        L += [''] + [f"- {q['model']} lr {q['lr']}, {q['steps']:,} steps (`{q.get('cmd', res['cmd'])}`): OMES association {q.get('association')}" for q in res['quality'] if 'failed' not in q]
    if res.get('notes'): L += ['', 'Notes:', ''] + [f'- {n}' for n in res['notes']]
    write_section('gpu', L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='gpu.json', help='JSON file of the measurements')
    ap.add_argument('--steps', type=int, default=200, help='timed training steps per GPU configuration')
    ap.add_argument('--quality', nargs='*', default=['ada-gvae:1e-4', 'ada-gvae:1e-3', 'beta-vae:1e-4'], help='model:lr runs of the quality bar')
    ap.add_argument('--quality-seconds', type=float, default=150, help='training seconds per quality run (steps calibrated)')
    ap.add_argument('--share', type=float, default=0.5, help='fraction of the single-run step rate each of the side-by-side runs is assumed to get')
    ap.add_argument('--rate', type=float, default=0, help='float32 64 px steps/s of an earlier run: skip the throughput part')
    ap.add_argument('--runs', default='runs/gpu_quality', help='folder of the quality runs')
    ap.add_argument('--from-json', nargs='*', default=[], help='record earlier measurements (throughput from the first that has it, quality runs of all)')
    ap.add_argument('--record', action='store_true', help='rewrite the gpu section of bench/RESULTS.md')
    ap.add_argument('--notes', default='', help='a text file of hand-written notes (one per paragraph) to add to the section')
    ap.add_argument('--quality-worker', nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quality_worker:
        m, lr, steps, out = args.quality_worker
        return quality_worker(m, float(lr), int(steps), out)
    if args.from_json:
        runs = [json.loads(Path(f).read_text()) for f in args.from_json]
        res = next((r for r in runs if r['throughput']), runs[0])
        res = dict(res, quality=[dict(q, cmd=r['cmd']) for r in runs for q in r['quality']],
                   cmd=' and '.join(f"`{r['cmd']}`" for r in runs).strip('`'), recorded_from=args.from_json)
    else:
        measure(args); res = json.loads(Path(args.out).read_text())
    if args.notes: res['notes'] = [n.replace('\n', ' ').strip() for n in Path(args.notes).read_text().split('\n\n') if n.strip()]
    if args.record: record(res)


if __name__ == '__main__':
    main()
