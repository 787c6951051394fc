"""A series of pictures shares one colour scale, stated in each key."""

from lecture_example import karpathy
from tinygrad_edu.web.explorer import explorer_data


def test_the_explorer_uses_one_scale_for_the_whole_pass():
    L, values = karpathy()
    data = explorer_data(L)
    # the largest gradient of the pass: dL/da = f * b = 6 (checked by hand),
    # used for every step, not rescaled step by step
    assert data["scale"] == 6.0
    assert values["a"].grad == 6.0 and values["d"].grad == -2.0
