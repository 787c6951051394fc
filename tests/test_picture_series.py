"""A series of pictures shares one colour scale, stated in each key."""

import re

from tinygrad_edu import Value
from tinygrad_edu.web.explorer import explorer_data


def karpathy():
    a, b, c = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, "f")
    L = d * f
    L.label = "L"
    return L, {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


def fill_of(svg, label):
    """The fill colour of the box whose bold name is ``label``."""
    for body in re.findall(r'<g id="node\d+" class="node">(.*?)</g>', svg, re.S):
        if f">{label}</text>" in body:
            shape = re.search(r'<(?:path|polygon) fill="([^"]+)"', body)
            return shape.group(1)
    raise AssertionError(f"no box {label}")


def test_the_explorer_uses_one_scale_for_the_whole_pass():
    L, values = karpathy()
    data = explorer_data(L)
    # the largest gradient of the pass: dL/da = f * b = 6 (checked by hand),
    # used for every step, not rescaled step by step
    assert data["scale"] == 6.0
    assert values["a"].grad == 6.0 and values["d"].grad == -2.0
