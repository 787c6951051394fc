"""gradcheck: passes correct ops, and names the input, both numbers and the wrong op."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu import GradcheckError, MLP, Value, gradcheck, vsum

small = st.floats(-2.0, 2.0, allow_nan=False)


def cube_with_wrong_slope(x):
    """x^3 with the slope 2x^2 recorded instead of 3x^2."""
    return Value(x.data ** 3, op="cube", parents=(x,), local_grads=(2 * x.data ** 2,))


def scaled_product_wrong_in_b(a, b):
    """a*b with d/db recorded as 2a instead of a."""
    return Value(a.data * b.data, op="myprod", parents=(a, b),
                 local_grads=(b.data, 2 * a.data))


@settings(max_examples=30, deadline=None)
@given(small, small)
def test_correct_ops_pass(a, b):
    def fn(x, y):
        return ((x * y).tanh() + x.exp() * 0.5 - (y * y + 1).log()
                + x.sigmoid() / (y * y + 2) + (x - y) ** 2)
    assert gradcheck(fn, [Value(a), Value(b)]) is True


def test_plain_numbers_and_one_value_are_inputs_too():
    assert gradcheck(lambda x, y: x * y, [1.5, -2]) is True
    assert gradcheck(lambda x: x.tanh(), Value(0.3)) is True


def test_a_wrong_local_derivative_is_named_with_both_numbers():
    with pytest.raises(GradcheckError) as error:
        gradcheck(lambda x: cube_with_wrong_slope(x) * 2 + 1, [Value(1.5, label="x")])
    message = str(error.value)
    assert "d(output)/d(x) (input 0)" in message
    assert "backward() gives 9" in message              # 2 * 2 * 1.5^2
    assert "central differences give 13.5" in message   # 2 * 3 * 1.5^2
    assert "'cube' (cube(x) = 3.375)" in message
    assert "\n" not in message


def test_only_the_wrong_input_is_named():
    a, b = Value(0.7, label="a"), Value(-1.1, label="b")
    with pytest.raises(GradcheckError, match=r"d\(output\)/d\(b\) \(input 1\).*'myprod'"):
        gradcheck(lambda a, b: scaled_product_wrong_in_b(a, b).tanh(), [a, b])


def test_the_first_wrong_op_from_the_inputs_is_named_not_the_ones_after_it():
    def fn(x):
        inner = cube_with_wrong_slope(x)
        inner.label = "inner"
        return (inner * 3).exp() / 10        # right ops after the wrong one
    with pytest.raises(GradcheckError, match=r"'cube' \(inner = cube\(inputs\[0\]\)"):
        gradcheck(fn, [Value(0.4)])


def test_missing_local_derivatives_are_pointed_out():
    def fn(x, y):
        out = x * y
        out.local_grads = out.local_grads[:1]      # as if one was forgotten
        return out
    with pytest.raises(GradcheckError, match="2 parents but 1 local derivatives"):
        gradcheck(fn, [Value(2.0), Value(3.0)])


def test_math_on_data_that_cuts_the_graph_is_explained():
    with pytest.raises(GradcheckError, match="outside the graph"):
        gradcheck(lambda x: x * Value(x.data), [Value(2.0, label="x")])


def test_a_branch_on_data_is_explained():
    with pytest.raises(GradcheckError, match="changes shape"):
        gradcheck(lambda x: x.relu() if x.data >= 0 else x * 3, [Value(0.0)])


def test_returns_false_when_asked_not_to_raise():
    assert gradcheck(lambda x: cube_with_wrong_slope(x), [Value(1.0)],
                     raise_exception=False) is False


def test_each_output_of_a_list_is_checked():
    with pytest.raises(GradcheckError, match=r"d\(output 1\)/d"):
        gradcheck(lambda x: [x * 2, cube_with_wrong_slope(x)], [Value(1.0)])


def test_inputs_and_closed_over_weights_keep_their_grads():
    net = MLP(3, [4, 2], activation="tanh", seed=1)
    for p in net.parameters():
        p.grad = 0.25
    x = [Value(0.1), Value(-0.2), Value(0.3)]
    assert gradcheck(lambda *x: vsum(net(list(x))), x) is True
    assert all(p.grad == 0.25 for p in net.parameters())
    assert [v.grad for v in x] == [0.0, 0.0, 0.0]
    assert [v.data for v in x] == [0.1, -0.2, 0.3]


@pytest.mark.parametrize("result", [3.0, None, [Value(1.0), "x"]])
def test_fn_returning_a_non_value_is_a_clear_error(result):
    with pytest.raises(TypeError, match="gradcheck needs fn to return a Value"):
        gradcheck(lambda x: result, [Value(1.0)])


@pytest.mark.parametrize("bad, match", [
    (dict(eps=0), "eps must be above 0"),
    (dict(atol=-1), "atol must be a number >= 0"),
    (dict(inputs=[]), "at least one input"),
    (dict(inputs=object()), "list of inputs"),
    (dict(inputs=["a"]), "real number"),
])
def test_bad_settings_are_clear_errors(bad, match):
    arguments = {"inputs": [Value(1.0)], **bad}
    with pytest.raises((ValueError, TypeError), match=match):
        gradcheck(lambda *x: x[0] * 2, **arguments)


def test_nan_gradients_never_pass():
    # (as torch.autograd.gradcheck, whose comparison is allclose without equal_nan)
    assert gradcheck(lambda x: x * math.nan, [Value(1.0)], raise_exception=False) is False
