"""The pictures in docs/img/ are the ones the code draws today.

``docs/make_images.py`` draws every docs picture and writes its Graphviz
source beside the PNG (``NAME.dot``). Here every picture is drawn again and
its DOT text compared with the committed one: a change to the drawing code
(or to the numbers behind a picture) that was not followed by running the
script fails, naming the picture and the first differing line. The DOT text is
compared, not the pixels, so Graphviz versions and fonts do not matter.
"""

import difflib
import importlib.util
import re
from pathlib import Path

import pytest

IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
SCRIPT = IMG.parent / "make_images.py"
FIX = "run: python3 docs/make_images.py"


def load_script():
    spec = importlib.util.spec_from_file_location("make_images", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pictures():
    return load_script().pictures()


def canonical(dot):
    """The DOT text with Value numbers (v123, op123) and fold ids renumbered in
    order of appearance: they count every Value the process ever made, so they
    depend on what ran before, not on the picture."""
    names = {}

    def rename(match):
        return names.setdefault(match[0], f"{match[1]}#{len(names)}")
    return re.sub(r"\b(v|op|fold)\d+\b", rename, dot)


def test_every_picture_has_its_source_and_every_source_a_picture(pictures):
    on_disk = {p.stem for p in IMG.glob("*.png")}
    sources = {p.stem for p in IMG.glob("*.dot")}
    assert on_disk == set(pictures), f"docs/img/ and make_images.py disagree; {FIX}"
    assert sources == set(pictures), f"a .dot source is missing or stale; {FIX}"


def test_committed_pictures_match_what_the_code_draws(pictures):
    stale = []
    for name, picture in sorted(pictures.items()):
        committed = canonical((IMG / f"{name}.dot").read_text(encoding="utf-8"))
        now = canonical(picture.source)
        if committed != now:
            first = next(line for line in difflib.unified_diff(
                committed.splitlines(), now.splitlines(), lineterm="", n=0)
                if line[:1] in "+-" and line[:3] not in ("+++", "---"))
            stale.append(f"{name}: {first[:160]}")
    assert not stale, f"pictures in docs/img/ are stale ({FIX}):\n" + "\n".join(stale)


def test_canonical_names_ignore_value_numbers_only():
    one = 'v12 -> op13\nv12 [label="x"]\nfold99 -> v12'
    two = 'v40 -> op41\nv40 [label="x"]\nfold7 -> v40'
    assert canonical(one) == canonical(two)
    assert canonical(one) != canonical(one.replace('"x"', '"y"'))
