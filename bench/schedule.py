"""The fine-tuning schedule by measurement (issue 25): accuracy of the codes against epochs, for pixel and Φ models,
fine-tuned from the shipped source model and trained from scratch.

    python -m bench.schedule                 # prints JSON
    python -m bench.schedule --record        # also rewrites the schedule section of bench/RESULTS.md
    python -m bench.schedule --inputs phi    # one input

Data: `--per-class` images per class of `pbc_blood_cells` (from `$DRLM_DATA` or ../shared/data), split as `drlm run`
splits an image folder (stratified, seed 0): 20 % test, and 25 % of the rest as a **validation** split. Schedules are
chosen on the validation split only; the test split is scored once, for the chosen schedule and the paper's, so the
table can say what the choice is worth.

Each schedule is one `learner.finetune_learner` run (AdamW, constant learning rate, as `drlm run` fine-tunes), with
`--epochs` epochs; after the epochs in `CHECK` the codes (posterior means) of the training and validation images are
read and a standardised logistic regression (`classify.make_classifier('linear')`) fitted on the training codes is
scored on the validation codes (balanced accuracy). The grid: learning rate 1e-4 and 1e-3, β 1 and 4. The paper's
recipe (20 epochs, lr 1e-4, β 1) is the lr 1e-4, β 1 curve at epoch 20. Pixel models: the shipped
`synth-cells-brightfield` bundle at 64 px. Φ models: the shipped `texture-sprites-phi` bundle (the only shipped Φ
model) on `tf_efficientnet_lite0` features of the images at 224 px, with its reconstruction scale. Scratch: the same
architecture freshly initialised (seed 0), trained by the same schedule, as the run's baseline (b).
"""
import argparse, datetime, json, os, platform, sys, time
from pathlib import Path
import numpy as np

from bench.results_md import write_section

ROOT = Path(__file__).resolve().parents[1]
CHECK = (1, 2, 5, 10, 20, 30, 40, 60, 80)
GRID = [(1e-4, 1.0), (1e-4, 4.0), (1e-3, 1.0), (1e-3, 4.0)]
BUNDLES = {'pixels': 'zoo:synth-cells-brightfield', 'phi': 'zoo:texture-sprites-phi'}


def load_split(per_class, size, seed=0):
    "Images and labels of the train / valid / test splits of `pbc_blood_cells` at `size` px."
    import torch
    from drl_microscopy.core import data_root
    from drl_microscopy.data import image_dataloaders
    dls = image_dataloaders(data_root(required=True) / 'pbc_blood_cells', size=size, test_pct=0.2, valid_pct=0.25,
                            seed=seed, max_per_class=per_class)
    out = {}
    for name, dl in (('train', dls.train), ('valid', dls.valid), ('test', dls.test)):
        ds = dl.dataset
        out[name] = (torch.stack([ds[i][0] for i in range(len(ds))]), np.asarray(ds.labels))
    return out, list(dls.vocab)


def phi_inputs(splits, bundle):
    "The scaled backbone features of each split, as a Φ run computes them."
    import torch
    from drl_microscopy.phi import phi_parts
    bb, sc = phi_parts(bundle)
    with torch.no_grad():
        return {k: (sc(torch.cat([bb(x[i:i + 32]).float() for i in range(0, len(x), 32)])), y) for k, (x, y) in splits.items()}


def code_accuracy(model, tr, va):
    "Balanced accuracy on `va` of the linear classifier fitted on the codes of `tr`."
    from drl_microscopy.bundle import encode
    from drl_microscopy.classify import make_classifier, balanced_accuracy
    ztr, zva = encode(model, tr[0])[0].numpy(), encode(model, va[0])[0].numpy()
    clf = make_classifier('linear', seed=0).fit(ztr, tr[1])
    return 100 * balanced_accuracy(va[1], clf.predict(zva))


def curve(bundle, data, lr, beta, epochs, scratch=False, test=False):
    "Validation accuracy of the codes after each epoch in CHECK (and test accuracy at those epochs when `test`)."
    from fastai.callback.core import Callback
    from drl_microscopy.bundle import Bundle
    from drl_microscopy.models import build_model
    from drl_microscopy.learner import finetune_learner
    from drl_microscopy.core import set_seed
    if scratch:
        set_seed(0)
        bundle = Bundle(build_model(bundle.model.config), config={k: bundle.config[k] for k in ('beta', 'recon', 'recon_scale') if k in bundle.config},
                        factor_names=bundle.factor_names, source=bundle.source, extra=bundle.extra)
    rows = {}

    class Probe(Callback):
        order = 90
        def after_epoch(self):
            e = self.epoch + 1
            if e in CHECK:
                rows[e] = dict(valid=code_accuracy(self.learn.model, data['train'], data['valid']))
                if test: rows[e]['test'] = code_accuracy(self.learn.model, data['train'], data['test'])

    learn = finetune_learner(bundle, data['train'][0], epochs=epochs, lr=lr, beta=beta, bs=64, seed=0, device='cpu',
                             recon_scale=float(bundle.config.get('recon_scale', 1.0)), cbs=[Probe()])
    rows[0] = dict(valid=code_accuracy(bundle.model, data['train'], data['valid']))        # before any epoch
    if test: rows[0]['test'] = code_accuracy(bundle.model, data['train'], data['test'])
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit(epochs)
    return dict(lr=lr, beta=beta, scratch=scratch, epochs=epochs, curve={str(k): v for k, v in sorted(rows.items())},
                seconds=round(time.perf_counter() - t, 1))


def choose(curves):
    "The (lr, β, epochs) with the best validation accuracy over the curves' checked epochs (ties: fewer epochs, smaller lr)."
    best = None
    for c in curves:
        for e, v in c['curve'].items():
            key = (round(v['valid'], 6), -int(e), -c['lr'])
            if int(e) > 0 and (best is None or key > best[0]): best = (key, c, int(e))
    return best[1], best[2]


def run_input(kind, per_class, epochs):
    import torch
    from drl_microscopy.bundle import load_bundle
    torch.set_num_threads(1)
    b = load_bundle(BUNDLES[kind])
    splits, classes = load_split(per_class, 64)
    if kind == 'phi': splits = phi_inputs(load_split(per_class, 224)[0], b)
    res = dict(bundle=BUNDLES[kind], n={k: len(v[1]) for k, v in splits.items()}, classes=classes, runs=[])
    for scratch in (False, True):
        for lr, beta in GRID:
            t = time.perf_counter()
            c = curve(b, splits, lr, beta, epochs, scratch=scratch, test=True)
            res['runs'].append(c)
            print(kind, 'scratch' if scratch else 'finetune', lr, beta, {e: round(v['valid'], 1) for e, v in c['curve'].items()},
                  f'{time.perf_counter() - t:.0f}s', flush=True)
    for scratch in (False, True):
        cs = [c for c in res['runs'] if c['scratch'] == scratch]
        c, e = choose(cs)
        paper = next(x for x in cs if x['lr'] == 1e-4 and x['beta'] == 1.0)['curve']['20']
        res['scratch' if scratch else 'finetune'] = dict(lr=c['lr'], beta=c['beta'], epochs=e, valid=c['curve'][str(e)]['valid'],
                                                        test=c['curve'][str(e)]['test'], paper_valid=paper['valid'], paper_test=paper['test'])
    return res


def record(out, args, secs):
    lines = ['## Fine-tuning schedule by measurement (issue 25)', '',
             f"`pbc_blood_cells`, {args.per_class} images per class, split as `drlm run` splits a folder (stratified, seed 0): "
             f"20 % test, 25 % of the rest validation ({datetime.date.today()}, {platform.machine()}, one thread, shared cores). "
             "Balanced accuracy (%) of a standardised logistic regression on the codes (posterior means): fitted on the training "
             "split, scored on the validation split after each epoch. AdamW at a constant learning rate, batch 64, seed 0. "
             "The paper's recipe is the lr 1e-4, β 1 curve at epoch 20. Schedules are chosen on the validation split; the "
             "test split is scored for the chosen schedule and the paper's only.", '']
    for kind, r in out.items():
        lines += [f"### {kind} ({r['bundle']}; train {r['n']['train']}, valid {r['n']['valid']}, test {r['n']['test']})", '',
                  '| model | lr | β | ep 0 | ' + ' | '.join(f'ep {e}' for e in CHECK if e <= args.epochs) + ' | s |',
                  '|---|---|---|---|' + '---|' * (len([e for e in CHECK if e <= args.epochs]) + 1)]
        for c in r['runs']:
            cells = [f"{c['curve'][str(e)]['valid']:.1f}" for e in (0,) + CHECK if e <= args.epochs]
            lines.append(f"| {'scratch' if c['scratch'] else 'fine-tuned'} | {c['lr']:g} | {c['beta']:g} | " + ' | '.join(cells) + f" | {c['seconds']} |")
        lines.append('')
        for what in ('finetune', 'scratch'):
            ch = r[what]
            lines.append(f"- **{what}**: chosen lr {ch['lr']:g}, β {ch['beta']:g}, {ch['epochs']} epochs: validation {ch['valid']:.1f}, "
                         f"test {ch['test']:.1f}; the paper's recipe: validation {ch['paper_valid']:.1f}, test {ch['paper_test']:.1f}.")
        lines.append('')
    lines.append(f"Made by `python -m bench.schedule --per-class {args.per_class} --epochs {args.epochs} --inputs {args.inputs} --record` in {secs:.0f} s.")
    write_section('schedule', lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--inputs', default='pixels,phi')
    p.add_argument('--per-class', type=int, default=80)
    p.add_argument('--epochs', type=int, default=60)
    p.add_argument('--record', action='store_true', help='rewrite the schedule section of bench/RESULTS.md')
    a = p.parse_args(argv)
    t = time.perf_counter()
    out = {k: run_input(k, a.per_class, a.epochs) for k in a.inputs.split(',')}
    print(json.dumps(out, indent=1))
    if a.record: record(out, a, time.perf_counter() - t)


if __name__ == '__main__':
    main()
