#!/usr/bin/env python3
"""The dims of finished runs as they are named from measurement (issue 14), beside the training's intent.

    python -m bench.names --run default=runs/bench_report_default --run pbc=runs/bench_report_pbc --record

For each run folder (made by `drlm run`, e.g. through `bench/report_run.py`): the source model's and the first fine-tuned
model's measured names (`names/source.json`, `names/seed0.json`), the names the `labels` aggregator intended, each named
dim's score OS·A for its factor and the best other dim's score for that factor, the factors no dim carries, OMES from
`results.json`, and a check that no name is contradicted by the run's own association (every named dim scores at least
the naming threshold for its factor and beats every other dim for it by the ratio, unless the factor names two dims). The names
are re-derived from each run's stored association with the library's current rule (the run-time names are shown beside).
`--record` writes the `names` section of bench/RESULTS.md.
"""
import argparse, json, sys
from pathlib import Path
from bench.results_md import write_section

ROOT = Path(__file__).resolve().parents[1]


def evidence(ev: dict) -> tuple:
    "Rows (dim, name, intended, factor score, runner-up score) and whether every name is supported by the scores."
    S, F = ev['score'], ev['factor_names']
    rows, ok = [], True
    for k, name in enumerate(ev['names']):
        fs = ev['factors'][k]
        f = fs[0] if fs else None
        i = F.index(f) if f else max(range(len(F)), key=lambda j: S[k][j])
        others = sorted((S[d][i] for d in range(len(S)) if d != k), reverse=True)
        shared = f is not None and '·' in name
        if f is not None:
            ok &= S[k][i] >= ev['rule']['min_score'] and (shared or not others or S[k][i] >= ev['rule']['clear_ratio'] * others[0])
        rows.append((k, name, (ev.get('intended') or [''] * len(S))[k], F[i], S[k][i], others[0] if others else float('nan')))
    return rows, ok


def remeasure(ev: dict) -> dict:
    "The names the library's current rule gives from the run's stored association (a run may predate a change of the rule)."
    import numpy as np
    from drl_microscopy.names import measured_names
    active = np.array([not n.startswith('inactive') for n in ev['names']])
    new = measured_names(np.array(ev['association']), ev['factor_names'], active=active, intended=ev.get('intended'))
    return dict(ev, **{k: new[k] for k in ('names', 'factors', 'score', 'unnamed', 'spread', 'rule')}, names_at_run_time=ev['names'])


def table(label: str, ev: dict) -> list:
    ev = remeasure(ev)
    rows, ok = evidence(ev)
    L = [f'**{label}** — names supported by the association: **{"yes" if ok else "NO"}**; factors no dim carries: '
         f'{", ".join(ev["unnamed"]) or "none"}' + (f' (spread over dims: {ev["spread"]})' if ev.get('spread') else '')
         + f'; OMES on the names\' sample {ev.get("omes", float("nan")):.3f} (n = {ev.get("n")}).', '',
         '| dim | measured name | name when the run was made | intended (labels) | its best factor | score OS·A | best other dim for that factor |',
         '|---|---|---|---|---|---|---|']
    L += [f'| {k} | {n} | {ev["names_at_run_time"][k]} | {i} | {f} | {s:.2f} | {o:.2f} |' for k, n, i, f, s, o in rows]
    return L + ['']


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--run', action='append', default=[], help='NAME=RUN_FOLDER (repeat)')
    ap.add_argument('--record', action='store_true', help='write the names section of bench/RESULTS.md')
    a = ap.parse_args()
    L = ['## Names from measurement (`bench/names.py`, issue 14)', '',
         'Each dim of a run named only where the run\'s own association on the synthetic source supports it (score OS·A ≥ 0.3 '
         'and 1.5× any other dim for that factor; `interpret.measured_names`), beside what the `labels` aggregator intended. '
         f'Command: `python -m bench.names {" ".join("--run " + r for r in a.run)} --record`.', '']
    for spec in a.run:
        name, folder = spec.split('=', 1)
        run = Path(folder)
        res = json.loads((run / 'results.json').read_text())
        dis = (res.get('disentanglement') or {})
        L += [f'### {name}: `drlm run{" --target " + res["settings"]["target"] if res["settings"]["target"] != "vacuoles" else ""}` '
              f'(source {res["settings"]["source"]}, {res["settings"]["pretrain_run"] or str(res["settings"]["pretrain_steps"]) + " pretraining steps"})', '']
        if dis: L += [f'OMES of the source model {dis["source"].get("omes", float("nan")):.3f}, after fine-tuning '
                      f'{dis["finetuned"].get("omes", {}).get("mean", float("nan")):.3f} (results.json, {dis.get("n")} images).', '']
        for label, f in (('source model', 'source.json'), ('fine-tuned, seed 0', 'seed0.json')):
            if (run / 'names' / f).exists(): L += table(label, json.loads((run / 'names' / f).read_text()))
    print('\n'.join(L))
    if a.record: write_section('names', L)


if __name__ == '__main__':
    sys.exit(main())
