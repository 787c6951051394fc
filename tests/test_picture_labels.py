"""The article's pictures stay readable from 4 to 128 neurons per layer.

Each network size is explained (every step, the pixel map included), drawn to
SVG by Graphviz, and the SVG's text is checked: no label smaller than 9 px at
72 dpi, no two labels overlapping, and every line drawn before (under) every
label. Label boxes come from the SVG's own positions and font sizes, with
Helvetica's character widths (the PNGs use Liberation Sans, which has the
same widths).
"""

import re
import xml.etree.ElementTree as ET

import pytest

from tinygrad_edu import MLP
from tinygrad_edu.learn.digits import load_digits
from tinygrad_edu.pictures.explain import explain_steps

SVG = "{http://www.w3.org/2000/svg}"
SIZES = [[4, 10], [16, 16, 10], [32, 10], [64, 32, 10], [128, 10]]

# Helvetica advance widths in em; letters not listed count as 0.6 em (wide).
WIDTHS = {**{d: 0.556 for d in "0123456789"}, ".": 0.278, ",": 0.278, " ": 0.278,
          "-": 0.333, "+": 0.584, "%": 0.889, '"': 0.355, "(": 0.333, ")": 0.333,
          "/": 0.278, ":": 0.278, ";": 0.278, "=": 0.584, "|": 0.26, "i": 0.222,
          "l": 0.222, "j": 0.222, "t": 0.278, "f": 0.278, "r": 0.333, "I": 0.278,
          "\u25b2": 0.77, "\u25bc": 0.77, "\u25cf": 0.6}


def label_boxes(svg_text):
    """(left, top, right, bottom, size, text) of every text in the SVG, in px."""
    root = ET.fromstring(svg_text)
    boxes = []
    for element in root.iter(f"{SVG}text"):
        text = "".join(element.itertext())
        if not text.strip():
            continue
        size = float(element.get("font-size", "14"))
        x, y = float(element.get("x")), float(element.get("y"))
        width = sum(WIDTHS.get(c, 0.6) for c in text) * size
        anchor = element.get("text-anchor", "start")
        left = x - {"start": 0, "middle": width / 2, "end": width}[anchor]
        boxes.append((left, y - 0.72 * size, left + width, y + 0.21 * size, size, text))
    return boxes


def overlaps(boxes, slack=0.5):
    """The pairs of labels whose boxes overlap by more than ``slack`` px."""
    found = []
    ordered = sorted(boxes)
    for n, a in enumerate(ordered):
        for b in ordered[n + 1:]:
            if b[0] >= a[2] - slack:
                break                               # sorted by left edge
            if min(a[3], b[3]) - max(a[1], b[1]) > slack:
                found.append((a[5], b[5]))
    return found


def lines_under_labels(svg_text):
    """True when every edge (line) comes before every labelled node."""
    groups = re.findall(r'<g id="[^"]*" class="(node|edge)">(.*?)</g>', svg_text, re.S)
    last_edge = max((i for i, (kind, _) in enumerate(groups) if kind == "edge"),
                    default=-1)
    first_label = min((i for i, (kind, body) in enumerate(groups)
                       if kind == "node" and "<text" in body), default=len(groups))
    return last_edge < first_label


@pytest.fixture(scope="module")
def three():
    images, _ = load_digits("test", classes=[3])
    return images[0]


@pytest.mark.parametrize("sizes", SIZES, ids=lambda s: "-".join(map(str, s)))
def test_every_step_is_readable(sizes, three):
    net = MLP(64, sizes, seed=0)
    for step in explain_steps(net, three, 3):
        svg = step.picture.pipe(format="svg").decode()
        boxes = label_boxes(svg)
        assert boxes
        small = [(b[5], b[4]) for b in boxes if b[4] < 9]
        assert not small, f"step {step.number}: labels under 9 px: {small[:5]}"
        clash = overlaps(boxes)
        assert not clash, f"{sizes} step {step.number}: labels overlap: {clash[:5]}"
        assert lines_under_labels(svg), f"step {step.number}: a line over a label"


def test_wide_layers_show_the_neurons_that_matter_and_say_how_many_more(three):
    net = MLP(64, [128, 10], seed=0)
    steps = explain_steps(net, three, 3)
    source = steps[2].picture.source                 # hidden layer 1, 128 neurons
    assert "+ 112 more" in source
    circles = set(re.findall(r"\bn1_(\d+) \[", source))
    assert len(circles) == 16
    changes = [abs(c) for c in _changes(net, three)]
    top = sorted(range(128), key=lambda j: -changes[j])[:15]
    assert {str(j) for j in top} <= circles          # the largest asks are shown


def _changes(net, image):
    from tinygrad_edu.pictures.network import network_state
    return network_state(net, image, 3).changes[1]


def test_the_overlap_check_catches_an_overlap():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg">'
           '<text x="10" y="10" font-size="9">+0.123</text>'
           '<text x="20" y="12" font-size="9">-0.456</text>'
           '<text x="10" y="40" font-size="8">tiny</text></svg>')
    boxes = label_boxes(svg)
    assert overlaps(boxes) == [("+0.123", "-0.456")]
    assert [b[4] for b in boxes] == [9, 9, 8]
