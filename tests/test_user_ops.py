"""Operations made with define_op work wherever the built-in ones do.

Each place is checked against central differences of the same function
written with plain ``math`` (an independent reference): backward(), the
trace and backward_steps, the ``step`` command, draw_graph, the pure-Python
tape and the numpy replay.
"""

import io
import math

import numpy as np
import pytest

from tinygrad_edu import Value, define_op, draw_graph, format_trace
from tinygrad_edu import engine
from tinygrad_edu.cli import build_parser
from tinygrad_edu.commands import step as step_command
from tinygrad_edu.fast.numpy_replay import NumpyTape
from tinygrad_edu.fast.tape import Tape
from tinygrad_edu.watch.tracing import backward_steps


def softplus_of(x):
    return math.log1p(math.exp(x))


def logaddexp_of(a, b):
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


@pytest.fixture
def user_ops(monkeypatch):
    """softplus (float rules only) and logaddexp (with numpy forms), defined
    for this test alone."""
    monkeypatch.setattr(engine, "_DEFINED_OPS", {})
    softplus = define_op("softplus", forward=softplus_of,
                         derivatives=(lambda x, out: 1 / (1 + math.exp(-x)),))
    logaddexp = define_op(
        "logaddexp", forward=logaddexp_of,
        derivatives=(lambda a, b, out: math.exp(a - out),
                     lambda a, b, out: math.exp(b - out)),
        array_forward=np.logaddexp,
        array_derivatives=(lambda a, b, out: np.exp(a - out),
                           lambda a, b, out: np.exp(b - out)))
    return softplus, logaddexp


def build(ops, x, w):
    """f(x, w) = softplus(x * w) + logaddexp(x, w) * x, with the engine."""
    softplus, logaddexp = ops
    return softplus(x * w) + logaddexp(x, w) * x


def f_plain(x, w):
    return softplus_of(x * w) + logaddexp_of(x, w) * x


def central(f, x, w, h=1e-6):
    """(df/dx, df/dw) by central differences."""
    return ((f(x + h, w) - f(x - h, w)) / (2 * h),
            (f(x, w + h) - f(x, w - h)) / (2 * h))


POINTS = [(0.3, -1.2), (-2.0, 0.7), (1.5, 2.5)]


@pytest.mark.parametrize("x0, w0", POINTS)
def test_backward(user_ops, x0, w0):
    x, w = Value(x0, "x"), Value(w0, "w")
    y = build(user_ops, x, w)
    y.backward()
    assert y.data == pytest.approx(f_plain(x0, w0), rel=1e-12)
    assert (x.grad, w.grad) == pytest.approx(central(f_plain, x0, w0), rel=1e-6)


def test_trace_and_backward_steps(user_ops):
    x, w = Value(0.3, "x"), Value(-1.2, "w")
    y = build(user_ops, x, w)
    text = format_trace(y)
    assert "softplus(" in text and "logaddexp(x, w)" in text
    for step in backward_steps(y):          # every chain-rule step, one by one
        pass
    assert (x.grad, w.grad) == pytest.approx(central(f_plain, 0.3, -1.2), rel=1e-6)


def test_the_step_command(user_ops):
    args = build_parser().parse_args(
        ["step", "--expr", "softplus(x * w) + logaddexp(x, w) * x",
         "--var", "x=0.3", "--var", "w=-1.2", "--all"])
    out = io.StringIO()
    assert step_command.run(args, keys=io.StringIO(""), out=out) == 0
    text = out.getvalue()
    dx, dw = central(f_plain, 0.3, -1.2)
    assert "softplus" in text and "logaddexp" in text
    assert f"x  grad {dx:.4f}" in text and f"w  grad {dw:.4f}" in text


def test_draw_graph(user_ops):
    x, w = Value(0.3, "x"), Value(-1.2, "w")
    y = build(user_ops, x, w)
    y.backward()
    source = draw_graph(y).source
    dx, dw = central(f_plain, 0.3, -1.2)
    assert "softplus" in source and "logaddexp" in source
    assert f"grad {dx:.4g}" in source and f"grad {dw:.4g}" in source


def test_the_python_tape_and_the_numpy_replay(user_ops):
    x, w = Value(0.0, "x"), Value(0.5, "w")     # traced at one point ...
    root = build(user_ops, x, w)
    tape = Tape.from_graph(root, [w], [x], [], [root])
    assert "softplus(" in tape.format() and "logaddexp(" in tape.format()
    fast = NumpyTape(tape)
    xs = [p[0] for p in POINTS]
    for x0, w0 in POINTS:                        # ... replayed at others
        w.data = w0
        loss, (dw,) = tape.loss_and_gradients([x0])
        assert loss == pytest.approx(f_plain(x0, w0), rel=1e-12)
        assert dw == pytest.approx(central(f_plain, x0, w0)[1], rel=1e-6)
        losses, _ = fast.losses_and_outputs([[x] for x in xs])
        assert losses == pytest.approx([f_plain(x, w0) for x in xs], rel=1e-12)
        mean, (dw_mean,) = fast.batch_gradients([[x] for x in xs])
        assert dw_mean == pytest.approx(
            np.mean([central(f_plain, x, w0)[1] for x in xs]), rel=1e-6)


def test_an_op_on_three_numbers_in_every_replay(monkeypatch):
    monkeypatch.setattr(engine, "_DEFINED_OPS", {})
    fma = define_op("fma", forward=lambda a, b, c: a * b + c,
                    derivatives=(lambda a, b, c, out: b, lambda a, b, c, out: a, 1.0))
    a, b, c = Value(2.0, "a"), Value(-3.0, "b"), Value(0.5, "c")
    root = fma(a, b, c).tanh()
    root.backward()
    expected = [a.grad, b.grad, c.grad]
    tape = Tape.from_graph(root, [a, b, c], [], [], [root])
    assert tape.loss_and_gradients([])[1] == expected
    assert NumpyTape(tape).batch_gradients(np.zeros((1, 0)))[1] == pytest.approx(expected)


def test_bad_definitions_are_refused(monkeypatch):
    monkeypatch.setattr(engine, "_DEFINED_OPS", {})
    for taken in ("exp", "add", "dot", "data"):
        with pytest.raises(ValueError, match="built-in"):
            define_op(taken, forward=math.exp, derivatives=(lambda x, out: out,))
    with pytest.raises(ValueError, match="word"):
        define_op("soft plus", forward=math.exp, derivatives=(lambda x, out: out,))
    with pytest.raises(TypeError, match="one per operand"):
        define_op("twice", forward=lambda x: 2 * x, derivatives=())
    twice = define_op("twice", forward=lambda x: 2 * x, derivatives=(2.0,))
    with pytest.raises(TypeError, match="takes 1 operand"):
        twice(Value(1.0), Value(2.0))
    assert twice(3).data == 6.0 and twice(Value(3.0)).local_grads == (2.0,)
