"""A series of pictures shares one colour scale, stated in each key."""

import re

from tinygrad_edu import Value
from tinygrad_edu.pictures.slideshow import backward_frames


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


def test_backward_slideshow_keeps_one_scale_from_first_frame_to_last():
    L, values = karpathy()
    frames = backward_frames(L)
    # the largest final gradient: dL/da = f * b = 6 (checked by hand)
    scales = {re.search(r"full colour: \|grad\| ([\d.]+)", f.svg).group(1)
              for f in frames}
    assert scales == {"6"}
    # d is filled in (grad -2) at the first step and keeps its colour to the end
    first = next(f for f in frames if f.step is not None and f.step.value is L)
    assert fill_of(first.svg, "d") == fill_of(frames[-1].svg, "d")
    assert values["a"].grad == 6.0 and values["d"].grad == -2.0
