"""The code in the docs runs, so the docs cannot rot.

Every ```python block of each docs/*.md page (and of README.md) is run, in
order, as one script in a fresh Python process whose working folder is a
temporary directory (so any pictures land there). The blocks are written to
a file and run with the interpreter; nothing is passed to eval or exec.
The table of contents (docs/index.md) must link every page, and every
relative link and image in the docs must point at a file that exists.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```", flags=re.S | re.M)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def python_blocks(page):
    """(line number, code) for each ```python block of ``page``."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1))
            for m in BLOCK.finditer(text)]


def script_for(page):
    """The page's blocks as one script, each marked with where it came from."""
    parts = []
    for line, code in python_blocks(page):
        parts.append(f"# ---- {page.name}, line {line}\n{code}")
    return "\n".join(parts)


@pytest.mark.parametrize("page", [p for p in PAGES if p.exists()], ids=lambda p: p.name)
def test_code_blocks_run(page, tmp_path):
    blocks = python_blocks(page)
    if not blocks:
        return           # a page with no Python in it has nothing to run
    script = tmp_path / (page.stem + "_blocks.py")
    script.write_text(script_for(page), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (
        f"the code in {page.relative_to(ROOT)} failed (lines are marked "
        f"'# ---- page, line N' in {script}):\n{done.stderr[-3000:]}")


def test_index_links_every_page():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    linked = {Path(target).name for target in LINK.findall(index)}
    missing = sorted(p.name for p in DOCS.glob("*.md")
                     if p.name != "index.md" and p.name not in linked)
    assert not missing, f"docs/index.md does not link {missing}"


@pytest.mark.parametrize("page", [p for p in PAGES if p.exists()], ids=lambda p: p.name)
def test_relative_links_point_at_files(page):
    text = page.read_text(encoding="utf-8")
    broken = [target for target in LINK.findall(text)
              if "://" not in target and not target.startswith("mailto:")
              and not (page.parent / target).exists()]
    assert not broken, f"{page.name} links to missing files: {broken}"
