#!/usr/bin/env python3
"""Convert between notebooks and a plain 'cell script' form, for editing notebooks as text.

A cell script is a text file where `# %%` starts a code cell and `# %% [md]` starts a markdown
cell (markdown lines are written as they are, without comment prefix).

    python tools/nbpy.py py2nb nbs/00_core.py nbs/00_core.ipynb
    python tools/nbpy.py nb2py nbs/00_core.ipynb /tmp/00_core.py

Run `nbdev_clean` after `py2nb`. The notebooks stay the source of truth; cell scripts are a
scratch form for editing.
"""
import json, sys, re
from pathlib import Path

MD, CODE = '# %% [md]', '# %%'
HEAD = re.compile(r'# %%( \[md\])?(?: #([A-Za-z0-9_-]+))?')   # a cell's head, with its id kept: `# %% #id`

def py2nb(src, dst):
    cells, cur, kind, cid = [], None, None, None
    def flush():
        if cur is None: return
        lines = list(cur)
        while lines and not lines[-1].strip(): lines.pop()
        while lines and not lines[0].strip(): lines.pop(0)
        text = '\n'.join(lines)
        src_lines = [l + '\n' for l in text.split('\n')]
        if src_lines: src_lines[-1] = src_lines[-1][:-1]
        c = {'cell_type': kind, 'metadata': {}, 'source': src_lines}
        if cid: c['id'] = cid
        if kind == 'code': c.update(execution_count=None, outputs=[])
        cells.append(c)
    for line in Path(src).read_text().split('\n'):
        m = HEAD.fullmatch(line.rstrip())
        if m:
            flush(); cur, kind, cid = [], ('markdown' if m[1] else 'code'), m[2]; continue
        if cur is None: continue
        cur.append(line)
    flush()
    nb = {'cells': cells, 'metadata': {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}},
          'nbformat': 4, 'nbformat_minor': 4}
    Path(dst).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

def nb2py(src, dst):
    nb = json.loads(Path(src).read_text())
    out = []
    for c in nb['cells']:
        out.append((MD if c['cell_type'] == 'markdown' else CODE) + (f" #{c['id']}" if c.get('id') else ''))
        out.append(''.join(c['source']))
        out.append('')
    Path(dst).write_text('\n'.join(out))

if __name__ == '__main__':
    cmd, a, b = sys.argv[1:4]
    {'py2nb': py2nb, 'nb2py': nb2py}[cmd](a, b)
