#!/usr/bin/env python3
"""The main job, timed, and its report checked in a real browser (issue 7).

    python -m bench.report_run --record                               # `drlm run` with no arguments (the vacuoles default)
    python -m bench.report_run --target ../shared/data/pbc_blood_cells --name pbc --record
    python -m bench.report_run --run-dir runs/x --record              # only check an existing run's report
    python -m bench.report_run --run-dir runs/bench_transfer/pbc-pixels --job-from runs/bench_transfer/table.json:pbc-pixels --name pbc --record
                                                                      # ... with the timing bench/transfer.py measured for it

1. Runs `drlm run --out DIR [--target T]` in a subprocess (the installed console script) and measures its wall time,
   CPU time and peak resident memory (`os.wait4`); targets: the default run ≤ 2 min on 2 cores, PBC ≤ 8 min and ≤ 4 GB.
   With `--run-dir R --job-from FILE:KEY` it takes those numbers from another bench's record of that run instead.
2. Opens `DIR/report.html` in headless Chromium (Debian's /usr/bin/chromium through Selenium, nothing downloaded; the
   browser side runs in the Python of `--browser-python`, which has Selenium) and checks that every image decoded
   (`naturalWidth > 0`), that each section of the report is there, and that no figure is marked missing; saves a
   full-page screenshot to bench/screenshots/report_<name>.png (and its top, for the README, to report_<name>_top.png).
`--record` writes the `report` section of bench/RESULTS.md (one row per name; earlier rows of other names are kept).
"""
import argparse, datetime, json, os, subprocess, sys, tempfile, time
from pathlib import Path
from bench.results_md import write_section, write_atomic

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ['dataset', 'accuracy', 'factors', 'importance', 'morphology', 'disentanglement', 'openset', 'reproduce']
BROWSER_PY = Path.home() / '.cache' / 'drl_microscopy' / 'browser-venv' / 'bin' / 'python'
STATE = ROOT / 'bench' / 'report_runs.json'

_PAGE_JS = '''
const imgs = Array.from(document.images);
return {title: document.title,
        sections: Array.from(document.querySelectorAll('h2[id]')).map(h => h.id),
        images: imgs.length,
        broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt || i.src.slice(0, 40)),
        sizes: imgs.map(i => [i.naturalWidth, i.naturalHeight]),
        missing: Array.from(document.querySelectorAll('.missing')).map(e => e.textContent),
        height: Math.max(document.body.scrollHeight, document.documentElement.scrollHeight),
        text_chars: document.body.innerText.length};'''


def top_crop(shot: Path, height=1310, width=640) -> Path:
    "The top of a report screenshot (dataset and accuracy), scaled for the README: `<shot>_top.png`."
    from PIL import Image
    im = Image.open(shot)
    top = im.crop((0, 0, im.width, min(height, im.height)))
    top = top.resize((width, round(top.height * width / top.width)), Image.LANCZOS)
    out = shot.with_name(shot.stem + '_top.png')
    top.save(out, optimize=True)
    return out


def check_html(html: Path, shot: Path, width=1200):
    "In the browser's Python: open the report, read what the page shows, take a full-page screenshot."
    from bench.widgets_browser import start_browser, missing_dependencies
    miss = [m for m in missing_dependencies() if 'voila' not in m and 'ipykernel' not in m]
    if miss: return dict(skipped='missing: ' + '; '.join(miss))
    with tempfile.TemporaryDirectory() as prof:
        d = start_browser(Path(prof), width, 900)
        try:
            t = time.perf_counter()
            d.get(html.resolve().as_uri())
            page = d.execute_script(_PAGE_JS)
            page['load_s'] = round(time.perf_counter() - t, 2)
            d.set_window_size(width, min(int(page['height']) + 40, 16000))
            shot.parent.mkdir(parents=True, exist_ok=True)
            d.save_screenshot(str(shot))
            page['screenshot'] = str(shot.relative_to(ROOT)) if shot.is_relative_to(ROOT) else str(shot)
            page['browser'] = d.capabilities.get('browserVersion')
        finally: d.quit()
    page['ok'] = (not page['broken'] and not page['missing'] and all(s in page['sections'] for s in SECTIONS) and page['images'] > 0)
    return page


def run_main_job(out: Path, target: str, extra):
    "Run `drlm run` in a subprocess; its wall time, CPU time and peak memory (`os.wait4`), and the end of its log."
    cmd = ['drlm', 'run', '--out', str(out)] + (['--target', target] if target else []) + list(extra)
    log = out.parent / f'{out.name}.log'
    log.parent.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    with open(log, 'w') as fh:
        p = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    return dict(cmd=' '.join(cmd), exit=os.waitstatus_to_exitcode(status), wall_s=round(wall, 1), cpu_s=round(ru.ru_utime + ru.ru_stime, 1),
                peak_rss_mb=round(ru.ru_maxrss / 1024), log=str(log), log_tail=log.read_text()[-1500:])


def summary(run: Path):
    r = json.loads((run / 'results.json').read_text())
    acc = r['accuracy']
    f = lambda m, c: (lambda v: f"{100 * v['mean']:.1f} ± {100 * v['std']:.1f}" if v and v.get('mean') is not None else '—')(acc.get(m, {}).get(c))
    return dict(target=r['target'].get('name', r['target'].get('source', '?')), classes=len(r['target']['classes']),
                n_train=r['target']['n_train'], n_test=r['target']['n_test'],
                acc={k: f(m, c) for k, (m, c) in {'DRL GBT': ('drl-transfer', 'gbt'), 'DRL MLP': ('drl-transfer', 'mlp'),
                     'no FT GBT': ('no-finetune', 'gbt'), 'scratch GBT': ('scratch', 'gbt'), 'CNN': ('cnn', 'cnn'),
                     'morph. GBT': ('morphology', 'gbt'), 'DRL + morph. GBT': ('drl-morphology', 'gbt')}.items()})


def record(rows):
    L = ['## The main job: `drlm run` and its report in a browser (`bench/report_run.py`)', '',
         'Each row: the command timed in a subprocess (wall, CPU seconds of it and its children, peak resident memory), '
         'then `report.html` opened in headless Debian Chromium through Selenium: images decoded, sections present, '
         'full-page screenshot. Targets (issue 13): `drlm run` with no arguments ≤ 2 min on 2 CPU cores; '
         '`drlm run --target ../shared/data/pbc_blood_cells` ≤ 8 min (≤ 4 min with its features cached), ≤ 4 GB.', '',
         '| name | date | command | wall | CPU s | peak RSS (MiB) | target, classes, train / test | balanced accuracy % (DRL GBT · DRL MLP · no FT · scratch · CNN · morph. · DRL + morph.) | report in Chromium | screenshot |',
         '|---|---|---|---|---|---|---|---|---|---|']
    for name, r in sorted(rows.items()):
        j, s, b = r.get('job') or {}, r.get('summary') or {}, r.get('browser') or {}
        wall = f"{j['wall_s'] / 60:.1f} min" if j else '(existing run)'
        acc = ' · '.join(s['acc'].values()) if s else '—'
        br = b.get('skipped') or (f"{'ok' if b.get('ok') else 'FAILED'}: {b['images']} images, {len(b['broken'])} broken, "
                                   f"{len(b['sections'])} sections, {len(b['missing'])} missing figures, Chromium {b.get('browser')}") if b else '—'
        L.append(f"| {name} | {r['date']} | `{j.get('cmd', r.get('run'))}` | {wall} | {j.get('cpu_s', '—')} | {j.get('peak_rss_mb', '—')} | "
                 f"{s.get('target', '—')}, {s.get('classes', '—')}, {s.get('n_train', '—')} / {s.get('n_test', '—')} | {acc} | {br} | "
                 f"`{b.get('screenshot', '—')}` |")
    L += ['', f"Load average (1 min) when each run started (for a run timed by `bench/transfer.py`, when it ended): "
          + '; '.join(f"{n} {r['load']:.2f}" for n, r in sorted(rows.items())) + '.']
    write_section('report', L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--target', default='', help='drlm run --target (default: none, the embedded vacuoles preset)')
    ap.add_argument('--name', default='default', help='row name (and screenshot name)')
    ap.add_argument('--out', default='', help='run folder (default: runs/bench_report_<name>; must not exist)')
    ap.add_argument('--run-dir', default='', help='check this existing run instead of running one')
    ap.add_argument('--job-from', default='', help="with --run-dir: the timing of that run as another bench recorded it, FILE.json:KEY "
                                                   "(e.g. runs/bench_transfer/table.json:pbc-pixels, whose 'job' holds cmd, wall, CPU, peak RSS)")
    ap.add_argument('--browser-python', default=str(BROWSER_PY), help='a Python with Selenium (bench/requirements-browser.txt)')
    ap.add_argument('--record', action='store_true', help='rewrite the report section of bench/RESULTS.md')
    ap.add_argument('--check-html', nargs=2, help=argparse.SUPPRESS)
    args, extra = ap.parse_known_args()
    if args.check_html:
        print(json.dumps(check_html(Path(args.check_html[0]), Path(args.check_html[1])))); return
    row = dict(date=datetime.date.today().isoformat(), load=os.getloadavg()[0])
    if args.job_from and not args.run_dir: sys.exit('--job-from needs --run-dir')
    if args.run_dir:
        run = Path(args.run_dir); row['run'] = str(run)
        if not (run / 'report.html').exists(): sys.exit(f'{run}: no report.html (not a finished run)')
        if args.job_from:
            f, _, key = args.job_from.rpartition(':')
            rec = json.loads(Path(f).read_text()).get(key)
            if not rec or 'job' not in rec: sys.exit(f'{f}: no job record {key!r}')
            row['job'], row['date'], row['load'] = rec['job'], rec['job'].get('date', row['date']), rec['job'].get('load', row['load'])
    else:
        run = Path(args.out or f'runs/bench_report_{args.name}')
        row['job'] = run_main_job(run, args.target, extra)
        print(json.dumps({k: v for k, v in row['job'].items() if k != 'log_tail'}), flush=True)
        if row['job']['exit']: print(row['job']['log_tail']); sys.exit(f"drlm run failed (exit {row['job']['exit']})")
    row['summary'] = summary(run)
    shot = ROOT / 'bench' / 'screenshots' / f'report_{args.name}.png'
    py = args.browser_python if Path(args.browser_python).exists() else sys.executable
    p = subprocess.run([py, '-m', 'bench.report_run', '--check-html', str(run / 'report.html'), str(shot)], capture_output=True, text=True)
    lines = [l for l in p.stdout.splitlines() if l.startswith('{')]
    row['browser'] = json.loads(lines[-1]) if lines else dict(skipped=f'browser check failed: {p.stderr[-300:]}')
    if shot.exists(): top_crop(shot)
    print(json.dumps({k: v for k, v in row.items() if k != 'job'}, indent=1))
    if args.record:
        rows = json.loads(STATE.read_text()) if STATE.exists() else {}
        rows[args.name] = row
        write_atomic(STATE, json.dumps(rows, indent=1))
        record(rows)


if __name__ == '__main__':
    main()
