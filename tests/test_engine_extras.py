"""The operations users of micrograd, minitorch and PyTorch reach for.

Each is checked against central differences (``gradcheck``, on numbers that
hypothesis chooses) and against PyTorch in float64 (installed for the tests
by .ci/setup), never against the engine itself.
"""


import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinygrad_edu import Value, gradcheck, no_grad, vsum

moderate = st.floats(-5.0, 5.0, allow_nan=False)
positive = st.floats(0.05, 5.0, allow_nan=False)
SETTINGS = settings(max_examples=40, deadline=None)


def torch_value_and_grads(f, *numbers, gradient=1.0):
    """f's value and gradients by PyTorch, for f written with torch operations."""
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in numbers]
    out = f(*tensors)
    out.backward(torch.tensor(gradient, dtype=torch.float64))
    return out.item(), [0.0 if t.grad is None else t.grad.item() for t in tensors]


def ours_value_and_grads(f, *numbers, gradient=1.0):
    values = [Value(x) for x in numbers]
    out = f(*values)
    out.backward(gradient)
    return out.data, [v.grad for v in values]


def assert_same(ours, theirs, tol=1e-12):
    (value, grads), (t_value, t_grads) = ours, theirs
    assert value == pytest.approx(t_value, rel=tol, abs=tol)
    assert grads == pytest.approx(t_grads, rel=tol, abs=tol)


# ----------------------------------------------------------------------
# sqrt, sin, cos
# ----------------------------------------------------------------------

UNARY = {   # name: (ours, PyTorch's, the inputs)
    "sqrt": (lambda v: v.sqrt(), torch.sqrt, positive),
    "sin": (lambda v: v.sin(), torch.sin, moderate),
    "cos": (lambda v: v.cos(), torch.cos, moderate),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_match_central_differences_and_torch(name):
    ours, theirs, inputs = UNARY[name]

    @SETTINGS
    @given(inputs)
    def check(x):
        assert gradcheck(lambda v: ours(v) * 1.5, [Value(x)])
        assert_same(ours_value_and_grads(ours, x), torch_value_and_grads(theirs, x))

    check()


def test_sqrt_refuses_what_has_no_real_value_or_slope():
    with pytest.raises(ValueError, match=r"sqrt needs a number >= 0, got sqrt\(-4\)"):
        Value(-4.0).sqrt()
    with pytest.raises(ValueError, match="slope of sqrt at 0 is infinite"):
        Value(0.0).sqrt()


# ----------------------------------------------------------------------
# clamp, and the built-in max and min
# ----------------------------------------------------------------------

@SETTINGS
@given(moderate, moderate, moderate)
def test_clamp_matches_central_differences_and_torch(x, low, high):
    low, high = min(low, high), max(low, high)
    assume(min(abs(x - low), abs(x - high)) > 1e-3)      # no kink under eps
    assert gradcheck(lambda v: v.clamp(low, high) ** 2, [Value(x)])
    assert_same(ours_value_and_grads(lambda v: v.clamp(low, high) ** 2, x),
                torch_value_and_grads(lambda t: torch.clamp(t, low, high) ** 2, x))
    assert_same(ours_value_and_grads(lambda v: v.clamp(min=low) * 3, x),
                torch_value_and_grads(lambda t: torch.clamp(t, min=low) * 3, x))
    assert_same(ours_value_and_grads(lambda v: v.clamp(max=high) * 3, x),
                torch_value_and_grads(lambda t: torch.clamp(t, max=high) * 3, x))


@SETTINGS
@given(moderate, moderate, moderate)
def test_clamp_with_value_bounds_passes_gradient_to_the_bound_that_holds(x, low, high):
    low, high = min(low, high), max(low, high)
    assume(min(abs(x - low), abs(x - high), high - low) > 1e-3)   # no ties
    assert_same(ours_value_and_grads(lambda v, lo, hi: v.clamp(lo, hi) * 2, x, low, high),
                torch_value_and_grads(lambda t, lo, hi: torch.clamp(t, lo, hi) * 2, x, low, high))


def test_clamp_bad_bounds_are_clear_errors():
    with pytest.raises(ValueError, match="clamp's min 2 is above its max 1"):
        Value(0.0).clamp(2.0, 1.0)
    with pytest.raises(ValueError, match="clamp needs a min, a max or both"):
        Value(0.0).clamp()
    with pytest.raises(TypeError, match="real number"):
        Value(0.0).clamp("low")


@SETTINGS
@given(moderate, moderate)
def test_builtin_max_and_min_pick_a_value_and_pass_it_the_gradient(a, b):
    assume(abs(a - b) > 1e-9)
    for ours, theirs in ((max, torch.maximum), (min, torch.minimum)):
        assert_same(ours_value_and_grads(lambda x, y: ours(x, y) * 3, a, b),
                    torch_value_and_grads(lambda x, y: theirs(x, y) * 3, a, b))
    values = [Value(a), Value(b), Value(0.5)]
    assert max(values).data == max(a, b, 0.5)
    assert [v.data for v in sorted(values)] == sorted([a, b, 0.5])


# ----------------------------------------------------------------------
# Comparisons, unary +, item()
# ----------------------------------------------------------------------

@SETTINGS
@given(moderate, moderate)
def test_comparisons_give_plain_booleans_from_data(a, b):
    x, y = Value(a), Value(b)
    cases = [(x < y, a < b), (x > y, a > b), (x <= y, a <= b), (x >= y, a >= b),
             (x < b, a < b), (a < y, a < b), (x >= b, a >= b), (a >= y, a >= b)]
    for got, expected in cases:
        assert got is expected
    t_a, t_b = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    assert (x < y) == (t_a < t_b).item() and (x >= y) == (t_a >= t_b).item()


def test_equality_stays_identity_so_values_live_in_sets():
    a, b = Value(1.0), Value(1.0)
    assert a == a and a != b and len({a, b}) == 2
    assert (a <= b) and (a >= b)
    assert np.float64(0.5) < Value(1.0) and Value(1.0) > np.int64(0)


@pytest.mark.parametrize("other", ["1", None, [1.0], True])
def test_comparing_with_a_non_number_is_a_clear_type_error(other):
    with pytest.raises(TypeError, match="compare"):
        Value(1.0) < other
    with pytest.raises(TypeError, match="compare"):
        Value(1.0) >= other


def test_unary_plus_and_item():
    a = Value(2.5)
    assert +a is a
    assert a.item() == 2.5 and type(a.item()) is float


# ----------------------------------------------------------------------
# backward(gradient)
# ----------------------------------------------------------------------

@SETTINGS
@given(moderate, moderate, st.floats(-3.0, 3.0, allow_nan=False))
def test_backward_with_a_seed_matches_torch(a, b, seed):
    assert_same(ours_value_and_grads(lambda x, y: (x * y).tanh() + x, a, b, gradient=seed),
                torch_value_and_grads(lambda x, y: (x * y).tanh() + x, a, b, gradient=seed))


def test_backward_seed_must_be_a_number():
    with pytest.raises(TypeError, match="the gradient passed to backward"):
        Value(1.0).backward("1")
    x = Value(2.0)
    (x * 3).backward(Value(0.5))                     # a Value counts by its data
    assert x.grad == 1.5


# ----------------------------------------------------------------------
# 0 ** y with a Value exponent
# ----------------------------------------------------------------------

@pytest.mark.parametrize("y", [0.5, 1.0, 2.0, 3.7])
def test_zero_to_a_positive_value_power_is_its_limit(y):
    ours = ours_value_and_grads(lambda a, b: a ** b, 0.0, y)
    theirs = torch_value_and_grads(lambda a, b: a ** b, 0.0, y)
    assert ours[0] == 0.0 and ours[1][1] == 0.0            # d/dy = 0
    assert ours[1] == theirs[1]                           # d/da too (inf for y < 1)
    assert (0 ** Value(y)).data == 0.0


def test_zero_or_negative_base_with_value_exponent_is_still_refused_clearly():
    with pytest.raises(ValueError, match="positive base"):
        Value(-2.0) ** Value(2.0)
    with pytest.raises((ValueError, ZeroDivisionError), match="0"):
        Value(0.0) ** Value(0.0)
    with pytest.raises((ValueError, ZeroDivisionError), match="0"):
        Value(0.0) ** Value(-1.0)


# ----------------------------------------------------------------------
# Building Values by hand
# ----------------------------------------------------------------------

def test_parents_without_local_grads_is_a_clear_error():
    a, b = Value(1.0), Value(2.0)
    with pytest.raises(ValueError, match="2 parents but 0 local_grads"):
        Value(3.0, op="+", parents=(a, b))
    with pytest.raises(ValueError, match="1 parents but 2 local_grads"):
        Value(3.0, op="f", parents=(a,), local_grads=(1.0, 2.0))


def test_micrograd_style_positional_children_is_a_clear_error():
    a, b = Value(1.0), Value(2.0)
    with pytest.raises(TypeError, match="label"):
        Value(3.0, (a, b))
    with pytest.raises(TypeError, match="label"):
        Value(3.0, (a, b), "+")
    assert Value(3.0, "c").label == "c"


# ----------------------------------------------------------------------
# no_grad as a decorator
# ----------------------------------------------------------------------

def test_no_grad_as_a_decorator_with_and_without_parentheses():
    x = Value(2.0)

    @no_grad
    def square(v):
        """Square without a graph."""
        return v * v

    @no_grad()
    def cube(v):
        return v * v * v

    assert square(x).parents == () and cube(x).parents == ()
    assert square.__name__ == "square" and square.__doc__ == "Square without a graph."
    assert (x * x).parents == (x, x)                  # recording is back on
    with no_grad():
        assert (x + 1).parents == ()


def test_no_grad_decorator_restores_recording_after_an_error():
    @no_grad
    def fails():
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        fails()
    assert vsum([Value(1.0)]).parents != ()


def test_formulas_may_call_the_new_functions():
    from tinygrad_edu.watch.expression import parse_with_variables
    out, leaves = parse_with_variables("sin(x) * sqrt(x) + cos(x)", {"x": 2.0})
    out.backward()
    assert_same((out.data, [leaves["x"].grad]),
                torch_value_and_grads(lambda t: t.sin() * t.sqrt() + t.cos(), 2.0))
