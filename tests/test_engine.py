"""The engine, checked against independent references.

Gradients are compared with central differences (f(x+h) - f(x-h)) / 2h and
with a hand-written numpy forward/backward, never with the engine itself.
"""

import gc
import math
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu import Value, dot, no_grad, vsum
from tinygrad_edu.engine import topological_order

H = 1e-6
moderate = st.floats(min_value=-5.0, max_value=5.0, allow_nan=False)
positive = st.floats(min_value=0.1, max_value=5.0, allow_nan=False)
nonzero = moderate.filter(lambda x: abs(x) > 0.1)


def central_difference(f, x, h=H):
    """The slope of the plain-float function f at x, from two nearby points."""
    return (f(x + h) - f(x - h)) / (2 * h)


def engine_derivative(f, x):
    """Derivative of f at x by the engine: build Values, call backward()."""
    v = Value(x)
    out = f(v)
    out.backward()
    return out.data, v.grad


def assert_close(got, expected, rel=1e-5, abs_=1e-6):
    assert got == pytest.approx(expected, rel=rel, abs=abs_)


# Each unary operation: (engine function, plain-float reference, input strategy).
UNARY = {
    "neg": (lambda v: -v, lambda x: -x, moderate),
    "exp": (lambda v: v.exp(), math.exp, moderate),
    "log": (lambda v: v.log(), math.log, positive),
    "tanh": (lambda v: v.tanh(), math.tanh, moderate),
    "sigmoid": (lambda v: v.sigmoid(), lambda x: 1 / (1 + math.exp(-x)), moderate),
    "relu": (lambda v: v.relu(), lambda x: max(x, 0.0), nonzero),
    "abs": (lambda v: abs(v), abs, nonzero),
    "pow 3": (lambda v: v ** 3, lambda x: x ** 3, moderate),
    "pow -2": (lambda v: v ** -2, lambda x: x ** -2, nonzero),
    "pow 0.5": (lambda v: v ** 0.5, lambda x: x ** 0.5, positive),
    "2 + v": (lambda v: 2 + v, lambda x: 2 + x, moderate),
    "2 - v": (lambda v: 2 - v, lambda x: 2 - x, moderate),
    "2 * v": (lambda v: 2 * v, lambda x: 2 * x, moderate),
    "3 / v": (lambda v: 3 / v, lambda x: 3 / x, nonzero),
    "2 ** v": (lambda v: 2 ** v, lambda x: 2 ** x, moderate),
    "v + 2": (lambda v: v + 2, lambda x: x + 2, moderate),
    "v - 2": (lambda v: v - 2, lambda x: x - 2, moderate),
    "v / 4": (lambda v: v / 4, lambda x: x / 4, moderate),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradient_matches_central_difference(name):
    engine_f, float_f, inputs = UNARY[name]

    @settings(max_examples=60, deadline=None)
    @given(inputs)
    def check(x):
        data, grad = engine_derivative(engine_f, x)
        assert_close(data, float_f(x), rel=1e-12, abs_=1e-12)
        assert_close(grad, central_difference(float_f, x))

    check()


# Each binary operation with two Values: (engine function, plain reference, strategies).
BINARY = {
    "a + b": (lambda a, b: a + b, moderate, moderate),
    "a - b": (lambda a, b: a - b, moderate, moderate),
    "a * b": (lambda a, b: a * b, moderate, moderate),
    "a / b": (lambda a, b: a / b, moderate, nonzero),
    "a ** b": (lambda a, b: a ** b, positive, st.floats(-3, 3)),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradients_match_central_differences(name):
    f, first, second = BINARY[name]

    @settings(max_examples=60, deadline=None)
    @given(first, second)
    def check(a, b):
        va, vb = Value(a), Value(b)
        out = f(va, vb)
        out.backward()
        assert_close(out.data, f(a, b), rel=1e-12, abs_=1e-12)
        assert_close(va.grad, central_difference(lambda x: f(x, b), a))
        assert_close(vb.grad, central_difference(lambda y: f(a, y), b))

    check()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(moderate, moderate), min_size=1, max_size=8))
def test_sum_and_dot_gradients_match_central_differences(pairs):
    ws = [Value(w) for w, _ in pairs]
    xs = [Value(x) for _, x in pairs]
    out = dot(ws, xs) + vsum(ws) * 0.5
    out.backward()
    plain_ws = [w for w, _ in pairs]
    plain_xs = [x for _, x in pairs]

    def f(ws_, xs_):
        return sum(w * x for w, x in zip(ws_, xs_)) + 0.5 * sum(ws_)

    for i in range(len(pairs)):
        def shift_w(t, i=i):
            return f(plain_ws[:i] + [t] + plain_ws[i + 1:], plain_xs)

        def shift_x(t, i=i):
            return f(plain_ws, plain_xs[:i] + [t] + plain_xs[i + 1:])

        assert_close(ws[i].grad, central_difference(shift_w, plain_ws[i]))
        assert_close(xs[i].grad, central_difference(shift_x, plain_xs[i]))


def test_sum_and_dot_are_single_nodes():
    ws = [Value(float(i)) for i in range(300)]
    xs = [Value(1.0) for _ in range(300)]
    d = dot(ws, xs)
    s = vsum(ws)
    assert d.op == "dot" and len(d.parents) == 600
    assert s.op == "sum" and len(s.parents) == 300
    assert len(topological_order(d)) == 601


def numpy_composite(a, b, c):
    """A hand-written forward and backward pass of
    f = tanh(a*b + c) * sigmoid(a) + log(1 + exp(b)) - (a - c)^2 / b
    returning f and (df/da, df/db, df/dc)."""
    u = a * b + c
    t = np.tanh(u)
    s = 1 / (1 + np.exp(-a))
    e = np.exp(b)
    sp = np.log(1 + e)
    q = (a - c) ** 2 / b
    f = t * s + sp - q
    dt = 1 - t ** 2
    ds = s * (1 - s)
    da = dt * b * s + t * ds - 2 * (a - c) / b
    db = dt * a * s + e / (1 + e) + (a - c) ** 2 / b ** 2
    dc = dt * s + 2 * (a - c) / b
    return f, (da, db, dc)


@settings(max_examples=100, deadline=None)
@given(moderate, nonzero, moderate)
def test_composite_matches_handwritten_numpy_backprop(a, b, c):
    va, vb, vc = Value(a), Value(b), Value(c)
    f = ((va * vb + vc).tanh() * va.sigmoid() + (1 + vb.exp()).log()
         - (va - vc) ** 2 / vb)
    f.backward()
    expected_f, expected_grads = numpy_composite(np.float64(a), np.float64(b),
                                                 np.float64(c))
    assert f.data == pytest.approx(float(expected_f), rel=1e-9, abs=1e-9)
    for v, g in zip((va, vb, vc), expected_grads):
        assert v.grad == pytest.approx(float(g), rel=1e-9, abs=1e-9)


def test_reused_value_accumulates():
    x = Value(3.0)
    y = x * x + x            # dy/dx = 2x + 1 = 7
    y.backward()
    assert x.grad == 7.0


def test_diamond_graph():
    x = Value(2.0)
    a = x * 3                # two paths from x to out
    b = x.exp()
    out = a * b              # d/dx = 3 e^x + 3x e^x
    out.backward()
    assert x.grad == pytest.approx(3 * math.exp(2) + 6 * math.exp(2), rel=1e-12)


def test_shared_weight_in_two_paths():
    w = Value(0.5)
    x1, x2 = Value(1.0), Value(-2.0)
    loss = (w * x1).tanh() + (w * x2).tanh()
    loss.backward()
    expected = (1 - math.tanh(0.5) ** 2) * 1.0 + (1 - math.tanh(-1.0) ** 2) * -2.0
    assert w.grad == pytest.approx(expected, rel=1e-12)


def test_million_operation_chain():
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = -y               # an even number of negations: y = x, dy/dx = 1
    y.backward()
    assert y.data == 0.5
    assert x.grad == 1.0


def test_second_backward_accumulates_into_leaves_only():
    a, b = Value(2.0), Value(5.0)
    c = a * b
    out = c.tanh() + c
    out.backward()
    first_a, first_c = a.grad, c.grad
    out.backward()
    assert a.grad == pytest.approx(2 * first_a)      # leaves accumulate
    assert c.grad == pytest.approx(first_c)          # intermediates: this pass
    out.zero_grad()
    assert a.grad == b.grad == c.grad == out.grad == 0.0
    out.backward()
    assert a.grad == pytest.approx(first_a)


def test_no_grad_builds_no_graph():
    x = Value(2.0)
    with no_grad():
        y = (x * x).tanh() + 1
    assert y.parents == () and y.local_grads == ()
    assert y.data == pytest.approx(math.tanh(4.0) + 1)
    z = x * x                # recording is back on after the block
    assert z.parents == (x, x)


def test_no_grad_restores_recording_after_an_error():
    with pytest.raises(ValueError):
        with no_grad():
            Value(-1.0).log()
    assert (Value(1.0) * 2).parents


def test_dropped_graph_is_freed_by_reference_counting():
    gc.collect()
    gc.disable()
    try:
        x = Value(1.0)
        out = x
        for _ in range(100):
            out = (out * 0.9 + x).tanh()
        out.backward()
        watchers = [weakref.ref(v) for v in topological_order(out)]
        del out
        alive = [w for w in watchers if w() is not None]
        assert alive == [watchers[-1]]          # only x, which we still hold
    finally:
        gc.enable()


def test_repr_is_readable():
    v = Value(2.0).sigmoid()
    v.backward()
    assert repr(v) == "Value(data=0.8808, grad=1, op='sigmoid')"
    assert repr(Value(3.0, "w")) == "Value(data=3, grad=0, label='w')"


@pytest.mark.parametrize("bad", ["3", None, [1], {}, 1j, True, False])
def test_value_of_a_non_number_is_a_type_error(bad):
    with pytest.raises(TypeError) as info:
        Value(bad)
    message = str(info.value)
    assert type(bad).__name__ in message and "real number" in message


def test_bad_operands_are_type_errors():
    with pytest.raises(TypeError, match="str"):
        Value(1.0) + "2"
    with pytest.raises(TypeError, match="exponent"):
        Value(1.0) ** "2"


def test_numpy_scalars_are_accepted_as_floats():
    v = Value(np.float32(1.5)) * Value(np.int64(2))
    assert v.data == 3.0 and type(v.data) is float
    with pytest.raises(TypeError):
        Value(np.bool_(True))


def test_log_of_zero_or_negative_names_the_value():
    for x in (0.0, -2.0):
        with pytest.raises(ValueError, match=rf"log\({x:g}\)"):
            Value(x).log()


def test_negative_base_fractional_power():
    with pytest.raises(ValueError, match=r"-8 \*\* 0.5"):
        Value(-8.0) ** 0.5
    assert (Value(-2.0) ** 3).data == -8.0      # whole powers are fine
    with pytest.raises(ValueError, match="positive base"):
        Value(-2.0) ** Value(2.0)


def test_division_by_zero_names_the_values():
    with pytest.raises(ZeroDivisionError, match=r"1 / 0"):
        Value(1.0) / Value(0.0)
    with pytest.raises(ZeroDivisionError, match=r"3 / 0"):
        3 / Value(0.0)
    with pytest.raises(ZeroDivisionError, match="negative power"):
        Value(0.0) ** -1


def test_exp_overflow_is_a_clear_error():
    with pytest.raises(OverflowError, match=r"exp\(1000\)"):
        Value(1000.0).exp()
    assert Value(-1000.0).exp().data == 0.0     # underflow to 0 is harmless


def test_sigmoid_is_stable_for_large_inputs():
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0


def test_nan_propagates():
    x = Value(float("nan"))
    y = x * 2 + 1
    y.backward()
    assert math.isnan(y.data)
    assert x.grad == 2.0          # d(2x + 1)/dx does not depend on x
    assert math.isnan((Value(1.0) * x).data)


def test_dot_length_mismatch():
    with pytest.raises(ValueError, match="3 weights and 2 inputs"):
        dot([1, 2, 3], [1, 2])


def test_engine_imports_without_third_party_packages():
    """The engine, networks and losses are pure Python: importing them from
    the package root must work with numpy and graphviz unavailable."""
    import subprocess
    import sys
    code = ("import sys; sys.modules['numpy'] = None; sys.modules['graphviz'] = None\n"
            "from tinygrad_edu import Value, MLP, cross_entropy, mse, no_grad\n"
            "loss = cross_entropy(MLP(3, [4, 2])([1.0, 2.0, 3.0]), 1)\n"
            "loss.backward()\n"
            "print('ok', loss.data > 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.strip() == "ok True", result.stderr


def test_dot_with_plain_numbers_and_bad_entries():
    x = Value(3.0)
    d = dot([1, 2], [x, np.float64(4.0)])       # numbers become constant leaves
    d.backward()
    assert d.data == 11.0 and x.grad == 1.0 and len(d.parents) == 4
    for bad in ("a", None, True, [1]):
        with pytest.raises(TypeError, match="real number"):
            dot([Value(1.0)], [bad])


def test_a_zero_gradient_passes_nothing_on():
    # log's local derivative at 1e-320 is 1/x = inf; the path through it is
    # multiplied by 0, so d(out)/d(a) is 0: a zero gradient stays zero
    # (plain IEEE arithmetic would give 0 x inf = nan).
    a = Value(1e-320)
    log_a = a.log()
    assert log_a.local_grads == (math.inf,)
    out = log_a * 0.0 + 1.0
    out.backward()
    assert log_a.grad == 0.0 and a.grad == 0.0


def test_a_switched_off_relu_neuron_gives_its_weights_zero_gradient():
    w = [Value(-1.0), Value(-2.0)]
    x = [Value(1.0), Value(1.0)]
    out = dot(w, x).relu() + w[0] * 3        # the relu is off: dot = -3
    out.backward()
    assert [v.grad for v in w] == [3.0, 0.0]
    assert [v.grad for v in x] == [0.0, 0.0]


def test_topological_order_without_leaves():
    a, b = Value(2.0, "a"), Value(3.0, "b")
    c = a * b
    d = c + a
    order = topological_order(d)
    assert order[0] is d and {id(v) for v in order} == {id(v) for v in (a, b, c, d)}
    assert order.index(c) < order.index(a)      # c uses a: it comes first
    assert topological_order(d, leaves=False) == [d, c]
    assert topological_order(a, leaves=False) == [a]       # the root stays


def test_powers_without_a_finite_slope_or_value():
    with pytest.raises(ValueError, match=r"slope of x \*\* 0.5 at x = 0 is infinite"):
        Value(0.0) ** 0.5
    with pytest.raises(OverflowError, match=r"10 \*\* 400 is too large"):
        Value(10.0) ** 400
    with pytest.raises(OverflowError, match="too large"):
        Value(10.0) ** Value(400.0)
    assert (Value(0.0) ** 2).data == 0.0 and (Value(0.0) ** 1).data == 0.0


def test_power_op_names_the_exact_exponent():
    assert (Value(2.0) ** 3).op == "**3"
    assert (Value(2.0) ** 0.5).op == "**0.5"
    assert (Value(2.0) ** 1.2345678).op == "**1.2345678"


def test_sums_propagate_nan_and_inf_as_ieee_arithmetic():
    inf = float("inf")
    assert math.isnan(vsum([Value(inf), Value(-inf)]).data)
    assert math.isnan(dot([Value(1.0), Value(1.0)], [inf, -inf]).data)
    assert vsum([Value(1e308), Value(1e308)]).data == inf
    y = Value(float("nan")).relu()
    assert math.isnan(y.data)
