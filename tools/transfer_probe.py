#!/usr/bin/env python3
"""One quick fine-tuning probe on PBC (issue 5): does more fine-tuning, or a higher learning rate, help DRL transfer?

    python -m tools.transfer_probe EPOCHS LR TAG [TARGET [FREEZE]]   # e.g. 8 1e-3 e8_lr1e-3; needs runs/bench_transfer/pretrain

FREEZE: fine-tune with the first FREEZE encoder layers frozen (`learner.finetune_learner(freeze_encoder_layers=…)`).

The same source model and split as `python -m bench.transfer` (pbc_blood_cells, 120 images per class, seed 0), one seed,
the no-fine-tuning baseline only; prints balanced accuracy of GBT and MLP and OMES of the fine-tuned model.
"""
import argparse, json, time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('epochs', type=int, help='fine-tuning epochs')
    ap.add_argument('lr', type=float, help='fine-tuning learning rate')
    ap.add_argument('tag', help='name of the run folder under runs/probe/')
    ap.add_argument('target', nargs='?', default='pbc_blood_cells', help='target data set')
    ap.add_argument('freeze', nargs='?', type=int, default=0, help='encoder layers to freeze while fine-tuning')
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(2)
    from drl_microscopy import transfer as pipeline
    if a.freeze:                                    # transfer has no freeze setting: wrap the learner factory it calls
        import drl_microscopy.learner as L
        _orig = L.finetune_learner
        L.finetune_learner = lambda *args, **k: _orig(*args, freeze_encoder_layers=a.freeze, **k)
    t = time.time()
    out = pipeline.transfer('runs/bench_transfer/pretrain', target=a.target, out=f"runs/probe/{a.tag}", finetune_epochs=a.epochs, lr=a.lr, seeds=1,
                            baselines='no-finetune', classifiers='gbt,mlp', held_out='', metrics='omes', metrics_n=2000, max_per_class=120,
                            mlp_max_iter=1000, quiet=True, force=True)
    r = json.load(open(out/'results.json'))
    print(a.tag, a.epochs, a.lr, round(time.time()-t), {m: {c: round(v['mean'], 3) for c, v in d.items() if v} for m, d in r['accuracy'].items()},
          r.get('disentanglement', {}).get('finetuned', {}).get('omes'), flush=True)


if __name__ == '__main__': main()
