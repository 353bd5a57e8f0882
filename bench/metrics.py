#!/usr/bin/env python3
"""Cost of the disentanglement metrics (`drl_microscopy.metrics`), and the fast DCI backend against the published one.

    python -m bench.metrics                    # 2 threads, full run (the published GBT takes minutes), prints JSON
    python -m bench.metrics --record           # also rewrites the metrics section of bench/RESULTS.md
    python -m bench.metrics --quick            # n=2,000 and no published-GBT baseline (a smoke test)
    python -m bench.metrics --record --from-json out.json   # record the JSON printed by an earlier run

Measurements, all in one process, with `--threads` (default 2) BLAS/OpenMP and torch threads:

1. **The whole suite on a constructed code**: `evaluate(encoder, source, n=10_000)` where the "images" are the
   factor indices of a Texture-dSprites-sized space (7 factors: 5, 7, 3, 6, 40, 32, 32 values) and the encoder a
   fixed function of them (10 dims: clean dims, two mixed dims, a circular factor on two dims, a dim that leaks a
   second factor, a collapsed dim, a noise dim). No rendering cost: this is the cost of the metrics alone.
2. **The whole suite with rendering and encoding**: `evaluate(ConvVAE, TextureSprites(size=64), n=10_000)`:
   10,000 images rendered and encoded (untrained `drl_microscopy.models.ConvVAE`, the paper's RGB network, μ under
   `torch.inference_mode`), then all seven metrics. Target: < 15 s on 2 cores.
3. **DCI, fast backend against the published one** on the same arrays (the codes and factors of 1 and 2):
   `dci(backend='gbt')` (sklearn `GradientBoostingClassifier`, `n_iter_no_change=10`, the OMES authors' setting)
   against `dci(backend='fast')` (and `'lasso'`), each with `n_jobs=--threads` processes over the factors.
   Target: fast >= 5x quicker with |Delta D| <= 0.05. Wall and CPU seconds (this process and its workers) are
   both reported: on a shared machine the CPU seconds are the steadier measure.
"""
import os, sys

def _threads_from_argv(default=2):
    for i, a in enumerate(sys.argv):
        if a == '--threads' and i + 1 < len(sys.argv): return int(sys.argv[i + 1])
        if a.startswith('--threads='): return int(a.split('=', 1)[1])
    return default

THREADS = _threads_from_argv()
for k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'): os.environ[k] = str(THREADS)

import argparse, datetime, json, platform, resource, time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402
import torch  # noqa: E402
from drl_microscopy.synth import FactorSpace, TextureSprites  # noqa: E402
from drl_microscopy.metrics import dci  # noqa: E402
from drl_microscopy.evaluation import evaluate, METRICS  # noqa: E402
from bench.results_md import write_section  # noqa: E402

TD_SIZES = (5, 7, 3, 6, 40, 32, 32)
TD_NAMES = ('texture', 'color', 'shape', 'scale', 'orientation', 'pos_x', 'pos_y')


class ConstructedSource:
    "A source whose 'images' are the factor indices themselves: no rendering cost."
    def __init__(self): self.space = FactorSpace(list(TD_NAMES), list(TD_SIZES))
    def render(self, factors, seed=None): return torch.as_tensor(np.asarray(factors), dtype=torch.float64)


def constructed_encoder(f:torch.Tensor)->torch.Tensor:
    "A fixed code (N, 10) of the factor indices (N, 7) with a known, imperfect structure."
    v = (f + 0.5) / torch.tensor(TD_SIZES, dtype=f.dtype)                      # values in (0, 1)
    h = torch.frac(torch.sin(f @ torch.tensor([12.9898, 78.233, 37.719, 4.581, 93.989, 45.164, 27.391], dtype=f.dtype)) * 43758.5453)
    jitter = h - 0.5                                                           # deterministic per factor tuple
    c, s = np.cos(np.radians(20)), np.sin(np.radians(20))
    z = torch.stack([v[:, 0],                                                  # texture, clean
                     c * v[:, 1] - s * v[:, 2], s * v[:, 1] + c * v[:, 2],     # colour and shape mixed by 20°
                     torch.tanh(3 * (v[:, 3] - 0.5)),                          # scale, non-linear
                     torch.sin(2 * np.pi * v[:, 4]), torch.cos(2 * np.pi * v[:, 4]),   # orientation on a circle
                     v[:, 5] + 0.3 * v[:, 6], v[:, 6],                         # pos_x leaks pos_y
                     0.01 * jitter,                                            # collapsed dim
                     0.3 * jitter], 1)                                         # active noise dim
    return z + 0.01 * jitter[:, None]


def _loadavg():
    try: return os.getloadavg()[0]
    except OSError: return float('nan')


def _cpu():
    "CPU seconds of this process, its live children (the DCI worker processes) and its finished children."
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    total = a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
    try:
        import psutil
        for ch in psutil.Process().children(recursive=True):
            try: t = ch.cpu_times(); total += t.user + t.system
            except psutil.Error: pass
    except ImportError: pass
    return total


def suite(encoder, source, n, seed=0):
    "One `evaluate` call with the fast DCI backend (one process per core); its timings, scores, codes and factors."
    t, c = time.perf_counter(), _cpu()
    r = evaluate(encoder, source, n=n, seed=seed, metrics=METRICS, bs=1024, device='cpu', dci_backend='fast',
                 n_jobs=THREADS, return_codes=True)
    wall, cpu = time.perf_counter() - t, _cpu() - c
    scores = {k: round(v, 4) for k, v in r.items() if isinstance(v, float) and k not in ('omes_alpha',)}
    return dict(wall_s=round(wall, 2), cpu_s=round(cpu, 2), timings={k: round(v, 2) for k, v in r['timings'].items()},
                scores=scores), r['codes'], r['factors']


def dci_compare(z, y, seed=0):
    "Published GBT backend against the fast one (and the lasso one) on the same arrays."
    out = {}
    for b in ('gbt', 'fast', 'lasso'):     # the same conditions for the three: one process per core over the factors
        t, c = time.perf_counter(), _cpu(); r = dci(z, y, backend=b, seed=seed, n_jobs=THREADS); dt, dc = time.perf_counter() - t, _cpu() - c
        out[b] = dict(seconds=round(dt, 2), cpu_s=round(dc, 2), D=round(r.disentanglement, 4), C=round(r.completeness, 4), I=round(r.informativeness, 4))
    g, f = out['gbt'], out['fast']
    out['fast_vs_gbt'] = dict(speedup=round(g['seconds'] / f['seconds'], 1), speedup_cpu=round(g['cpu_s'] / f['cpu_s'], 1), dD=round(f['D'] - g['D'], 4), dC=round(f['C'] - g['C'], 4),
                              dI=round(f['I'] - g['I'], 4), meets_target=bool(g['seconds'] / f['seconds'] >= 5 and abs(f['D'] - g['D']) <= 0.05))
    return out


def run(n=10_000, gbt=True, seed=0):
    torch.set_num_threads(THREADS)
    res = dict(date=datetime.date.today().isoformat(), machine=f"{platform.machine()}, {os.cpu_count()} cores",
               threads=THREADS, n=n, loadavg_before=round(_loadavg(), 2), torch=torch.__version__)
    from sklearn import __version__ as skv; res['sklearn'] = skv
    # 1. constructed code: the metrics alone
    res['constructed'], z1, y1 = suite(constructed_encoder, ConstructedSource(), n, seed)
    # 2. TextureSprites 64 px + ConvVAE encoder: rendering and encoding included
    try:
        from drl_microscopy.models import ConvVAE
        torch.manual_seed(seed); enc = ConvVAE(size=64, channels=3, latent=10); res['encoder'] = 'drl_microscopy.models.ConvVAE(size=64, latent=10), untrained'
    except ImportError:
        torch.manual_seed(seed)
        enc = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 4, 2, 1), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 4, 2, 1), torch.nn.ReLU(),
                                  torch.nn.Conv2d(64, 128, 4, 2, 1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(128 * 64, 10))
        res['encoder'] = 'small conv encoder (drl_microscopy.models missing)'
    ts = TextureSprites(size=64)
    f = ts.space.sample_factors(n, seed=seed)
    t = time.perf_counter(); ts.render(f[:2000]); res['render_2000_s'] = round(time.perf_counter() - t, 2)
    res['texture_sprites'], z2, y2 = suite(enc, ts, n, seed)
    res['loadavg_mid'] = round(_loadavg(), 2)
    # 3. DCI backends on the same arrays
    if gbt:
        res['dci_constructed'] = dci_compare(z1, y1, seed)
        res['dci_texture_sprites'] = dci_compare(z2, y2, seed)
    res['loadavg_after'] = round(_loadavg(), 2)
    return res


def record(res, cmd):
    c, t = res['constructed'], res['texture_sprites']
    names = ['encode'] + list(METRICS)
    body = ['## metrics (bench/metrics.py)', '',
            f"Run {res['date']} with `{cmd}` on {res['machine']} ({res['threads']} threads; torch {res['torch']}, scikit-learn "
            f"{res['sklearn']}). Load average (1 min) before / mid / after: {res['loadavg_before']} / {res['loadavg_mid']} / "
            f"{res['loadavg_after']} — the 2 cores were shared with other jobs, so times are upper bounds.", '',
            f"`evaluate(..., n={res['n']}, dci_backend='fast')`, all seven metrics ({', '.join(METRICS)}); seconds:", '',
            '| step | constructed code (no rendering) | TextureSprites 64 px + ConvVAE |', '|---|---|---|']
    for k in names:
        lab = 'render + encode' if k == 'encode' else k
        body.append(f"| {lab} | {c['timings'].get(k, '')} | {t['timings'].get(k, '')} |")
    body.append(f"| **total (wall)** | **{c['wall_s']}** | **{t['wall_s']}** |")
    body.append(f"| CPU seconds (all processes) | {c['cpu_s']} | {t['cpu_s']} |")
    body += ['', f"Encoder: {res['encoder']}; rendering 2,000 TextureSprites images alone: {res['render_2000_s']} s.", '']
    if 'dci_constructed' in res:
        body += ['DCI on the same arrays (the codes and factors above, first 2/3 train), published `gbt` backend vs `fast` and `lasso`:', '',
                 '| arrays | backend | wall s | CPU s | D | C | I |', '|---|---|---|---|---|---|---|']
        for lab, key in (('constructed code', 'dci_constructed'), ('TextureSprites + ConvVAE', 'dci_texture_sprites')):
            for b in ('gbt', 'fast', 'lasso'):
                o = res[key][b]; body.append(f"| {lab} | {b} | {o['seconds']} | {o['cpu_s']} | {o['D']} | {o['C']} | {o['I']} |")
        body += ['', '| arrays | fast speed-up over gbt (wall / CPU) | ΔD (fast − gbt) | ΔC | target (≥ 5×, \\|ΔD\\| ≤ 0.05) |', '|---|---|---|---|---|']
        for lab, key in (('constructed code', 'dci_constructed'), ('TextureSprites + ConvVAE', 'dci_texture_sprites')):
            o = res[key]['fast_vs_gbt']
            body.append(f"| {lab} | {o['speedup']}× / {o['speedup_cpu']}× | {o['dD']:+.4f} | {o['dC']:+.4f} | {'met' if o['meets_target'] else 'NOT met'} |")
    tgt = t['wall_s'] < 15
    body += ['', f"Target, whole suite with encoding < 15 s on 2 cores: {t['wall_s']} s wall here ({'met' if tgt else 'NOT met'}); "
             f"the run used {t['cpu_s']} CPU-seconds in all, so even on two idle cores it cannot take less than about "
             f"{t['cpu_s'] / 2:.1f} s. Rendering + encoding ({t['timings']['encode']} s here) and DCI dominate."]
    body += ['', 'Scores (fast DCI backend) — constructed: ' + ', '.join(f"{k} {v}" for k, v in c['scores'].items()),
             '', 'Scores — TextureSprites + untrained ConvVAE: ' + ', '.join(f"{k} {v}" for k, v in t['scores'].items())]
    write_section('metrics', body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--threads', type=int, default=2, help='BLAS/OpenMP and torch threads (read before numpy is imported)')
    ap.add_argument('--n', type=int, default=10_000, help='images / samples per evaluate call')
    ap.add_argument('--quick', action='store_true', help='n=2000 and no published-GBT baseline')
    ap.add_argument('--no-gbt', action='store_true', help='skip the DCI backend comparison (the published GBT takes minutes)')
    ap.add_argument('--record', action='store_true', help='rewrite the metrics section of bench/RESULTS.md')
    ap.add_argument('--from-json', default=None, help='record the results saved (stdout) by an earlier run instead of running')
    a = ap.parse_args()
    if a.from_json:
        res = json.loads(Path(a.from_json).read_text())
    else:
        n = 2000 if a.quick else a.n
        res = run(n=n, gbt=not (a.quick or a.no_gbt))
        res['command'] = ('python -m bench.metrics ' + ' '.join(o for o in sys.argv[1:])).strip()
        print(json.dumps(res, indent=1))
    if a.record: record(res, res.get('command', 'python -m bench.metrics --record'))


if __name__ == '__main__':
    main()
