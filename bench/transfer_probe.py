#!/usr/bin/env python3
"""One quick fine-tuning probe on PBC (issue 5): does more fine-tuning, or a higher learning rate, help DRL transfer?

    python bench/transfer_probe.py EPOCHS LR TAG [TARGET [FREEZE]]   # e.g. 8 1e-3 e8_lr1e-3; needs runs/bench_transfer/pretrain

FREEZE: fine-tune with the first FREEZE encoder layers frozen (`learner.finetune_learner(freeze_encoder_layers=…)`).

The same source model and split as `bench/transfer.py` (pbc_blood_cells, 120 images per class, seed 0), one seed,
the no-fine-tuning baseline only; prints balanced accuracy of GBT and MLP and OMES of the fine-tuned model.
"""
import sys, json, time, torch
torch.set_num_threads(2)
from drl_microscopy import run as pipeline
ep, lr, tag = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
target = sys.argv[4] if len(sys.argv) > 4 else 'pbc_blood_cells'
freeze = int(sys.argv[5]) if len(sys.argv) > 5 else 0
if freeze:                                      # pipeline.transfer has no freeze setting: wrap the learner factory it calls
    import drl_microscopy.learner as L
    _orig = L.finetune_learner
    L.finetune_learner = lambda *a, **k: _orig(*a, freeze_encoder_layers=freeze, **k)
t = time.time()
out = pipeline.transfer('runs/bench_transfer/pretrain', target=target, out=f'runs/probe/{tag}', epochs=ep, lr=lr, seeds=1,
                        baselines='no-finetune', classifiers='gbt,mlp', held_out='', metrics='omes', metrics_n=2000, max_per_class=120,
                        mlp_max_iter=1000, quiet=True, force=True)
r = json.load(open(out/'results.json'))
print(tag, ep, lr, round(time.time()-t), {m: {c: round(v['mean'], 3) for c, v in d.items() if v} for m, d in r['accuracy'].items()}, r.get('disentanglement', {}).get('finetuned', {}).get('omes'), flush=True)
