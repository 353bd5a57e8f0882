"""Write one marked section of bench/RESULTS.md: every bench owns the text between `<!-- NAME:start -->` and
`<!-- NAME:end -->` and rewrites only that, atomically, leaving the rest of the file as it is. Every script's
`--record` goes through `write_section`. Standard library only: the browser checks import this module from a
Python that has Selenium but not the project's packages."""
import os, re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / 'RESULTS.md'


def write_atomic(path: Path, text: str) -> Path:
    "Write `text` to `path` through a temporary file in the same folder, renamed over it when complete."
    path = Path(path)
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    try:
        tmp.write_text(text, encoding='utf-8')
        os.replace(tmp, path)
    finally:
        if tmp.exists(): tmp.unlink()
    return path


def write_section(name: str, lines: list, path: Path = RESULTS) -> Path:
    "Replace section `name` of `path` by `lines` (append the section when it is missing); the file is re-read just before writing."
    text = path.read_text(encoding='utf-8') if path.exists() else '# Benchmark results\n'
    block = f'<!-- {name}:start -->\n' + '\n'.join(lines) + f'\n<!-- {name}:end -->'
    pat = re.compile(rf'<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->', re.S)
    text = pat.sub(lambda m: block, text) if pat.search(text) else text.rstrip('\n') + '\n\n' + block + '\n'
    return write_atomic(path, text)
