"""The fast paths and the tools around the engine, fed unusual graphs and misuse.

Infinite and NaN constants, a loss that is a leaf, overflow, NaN at abs,
mistakes in define_op, NaN in gradcheck, the tracer given the wrong thing,
and no_grad on a generator. Each answer is compared with what the engine
gives by itself, or with numbers worked out by hand.
"""

import math

import numpy as np
import pytest

from tinygrad_edu import MLP, Value, define_op, no_grad
from tinygrad_edu import engine
from tinygrad_edu.fast.engines import ENGINES
from tinygrad_edu.fast.numpy_replay import NumpyTape
from tinygrad_edu.fast.tape import Tape
from tinygrad_edu.learn.training import TrainingDiverged, train
from tinygrad_edu.watch.gradcheck import GradcheckError, gradcheck
from tinygrad_edu.watch.tracing import backward_steps, format_trace, trace


def all_replays(root, params, inputs, xs):
    """(loss, gradients) of the interpreter tape, the generated Python and the
    numpy replay for one example ``xs`` (a graph without targets)."""
    tape = Tape.from_graph(root, params, inputs, [], [root])
    answers = {"tape": tape.batch_gradients([xs]),
               "python": tape.compile_python().batch_gradients([xs])}
    loss, grads = NumpyTape(tape).batch_gradients(np.array([xs], dtype=float).reshape(1, -1))
    answers["numpy"] = (loss, list(grads))
    return answers


def same(a, b):
    """Equal floats, NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b


# --- 1. infinite and NaN constants in the generated Python ------------------

@pytest.mark.parametrize("build, want_loss, want_grad", [
    (lambda w: w.clamp(max=2.0), 1.0, 1.0),          # clamp adds a -inf constant
    (lambda w: w.clamp(min=-2.0), 1.0, 1.0),         # and a +inf one
    (lambda w: w + float("inf"), math.inf, 1.0),
    (lambda w: w * float("nan"), math.nan, math.nan),
    (lambda w: w * float("-inf"), -math.inf, -math.inf),
])
def test_infinite_and_nan_constants_replay_everywhere(build, want_loss, want_grad):
    w = Value(1.0, "w", parameter=True)
    root = build(w)
    root.backward()
    assert same(root.data, want_loss) and same(w.grad, want_grad)   # the engine
    for name, (loss, grads) in all_replays(root, [w], [], []).items():
        assert same(loss, want_loss) and same(grads[0], want_grad), name


def test_the_generated_source_names_infinity_readably():
    w = Value(1.0, "w", parameter=True)
    tape = Tape.from_graph(w.clamp(max=2.0), [w], [], [], [])
    source = tape.to_python()
    assert "-math.inf, 2.0" in source and "-inf," not in source.replace("-math.inf", "")
    nan_source = Tape.from_graph(w * float("nan"), [w], [], [], []).to_python()
    assert "math.nan" in nan_source


# --- 2. a loss that is a leaf ----------------------------------------------

def test_a_loss_that_is_a_parameter_replays_everywhere():
    w = Value(0.5, "w", parameter=True)
    x = Value(0.7, "x")
    for name, (loss, grads) in all_replays(w, [w], [x], [0.7]).items():
        assert (loss, list(grads)) == (0.5, [1.0]), name
    for name, (loss, grads) in all_replays(w, [w], [], []).items():  # no inputs
        assert (loss, list(grads)) == (0.5, [1.0]), name


def test_a_loss_that_is_an_input_has_zero_parameter_gradients():
    w = Value(0.5, "w", parameter=True)
    x = Value(0.7, "x")
    for name, (loss, grads) in all_replays(x, [w], [x], [0.25]).items():
        assert (loss, list(grads)) == (0.25, [0.0]), name


def test_a_leaf_loss_has_outputs_and_a_sensible_header():
    w = Value(0.5, "w", parameter=True)
    tape = Tape.from_graph(w, [w], [], [], [w])
    assert "t0..t-1" not in str(tape) and "no temporaries" in str(tape)
    losses, outputs = NumpyTape(tape).losses_and_outputs(np.zeros((3, 0)))
    assert losses.tolist() == [0.5] * 3 and outputs.tolist() == [[0.5]] * 3


# --- 3. overflow and NaN agree across the engines ---------------------------

def test_the_tape_engine_overflows_with_the_engines_message():
    model = MLP(64, [8, 3], seed=0)
    for name in ("values", "tape"):
        with pytest.raises(OverflowError, match=r"\*\* 2 is too large for a float"):
            ENGINES[name].batch_loss_and_grads(model, [[1e160] * 64], [0], "mse")


def test_the_generated_python_overflows_with_the_engines_message():
    w = Value(1.0, "w", parameter=True)
    tape = Tape.from_graph(w ** 2 + (w * 0.001).exp(), [w], [], [], [])
    for replay in (tape, tape.compile_python()):
        with pytest.raises(OverflowError, match=r"1e\+200 \*\* 2 is too large"):
            replay.batch_gradients([[]], weights=[1e200])
        with pytest.raises(OverflowError, match=r"exp\(800\) is too large"):
            replay.batch_gradients([[]], weights=[800000.0])


def test_abs_at_nan_has_the_engines_gradient_in_numpy():
    w = Value(1.0, "w", parameter=True)
    x = Value(math.nan, "x")
    root = (w + x).abs()
    root.backward()
    for name, (loss, grads) in all_replays(root, [w], [x], [math.nan]).items():
        assert math.isnan(loss) and same(grads[0], w.grad), name


def test_a_zero_gradient_passes_nothing_on_in_numpy_too():
    w = Value(1.0, "w", parameter=True)
    x = Value(math.inf, "x")
    root = (w * x) * 0.0 + w              # 0 x inf would be NaN
    root.backward()
    assert w.grad == 1.0
    for name, (loss, grads) in all_replays(root, [w], [x], [math.inf]).items():
        assert math.isnan(loss) and grads == [1.0], name


def test_a_layer_behind_a_switched_off_relu_gets_no_nan_in_numpy():
    w1, w2 = Value(1.0, "w1", parameter=True), Value(2.0, "w2", parameter=True)
    x1, x2 = Value(math.inf, "x1"), Value(1.0, "x2")
    h = engine.dot([w1, w2], [x1, x2])    # one matrix product in numpy
    root = (h * -1.0).relu() + w2         # relu(-inf) = 0: h's gradient is 0
    root.backward()
    assert (w1.grad, w2.grad) == (0.0, 1.0)
    for name, (loss, grads) in all_replays(root, [w1, w2], [x1, x2],
                                           [math.inf, 1.0]).items():
        assert (loss, list(grads)) == (2.0, [0.0, 1.0]), name


@pytest.mark.parametrize("image", [[math.inf, -1.0, 0.5], [math.nan, 1.0, 2.0],
                                   [-math.inf, 2.0, 0.0]])
def test_the_engines_agree_on_non_finite_examples(image):
    model = MLP(3, [4, 2], seed=0)
    grads = {}
    for name in ("values", "tape", "numpy"):
        loss = ENGINES[name].batch_loss_and_grads(model, [image, [0.1, 0.2, 0.3]],
                                                  [0, 1], "mse")
        grads[name] = [loss] + [p.grad for p in model.parameters()]
    for name in ("tape", "numpy"):
        assert all(same(a, b) or abs(a - b) < 1e-9
                   for a, b in zip(grads[name], grads["values"])), name


def test_numpy_training_on_overflowing_data_stops_with_a_clear_error():
    model = MLP(64, [8, 3], seed=0)
    before = [p.data for p in model.parameters()]
    images, labels = [[1e160] * 64] * 4, [0, 1, 2, 0]
    with pytest.raises(TrainingDiverged, match="NaN or infinite"):
        train(model, (images, labels), epochs=1, batch_size=4, loss="mse",
              engine=ENGINES["numpy"], log=None, progress=False)
    assert all(math.isfinite(p.data) for p in model.parameters())
    assert len(before) == len(model.parameters())


# --- 4. define_op mistakes fail at once, and a redefinition is safe ----------

@pytest.fixture
def no_user_ops(monkeypatch):
    monkeypatch.setattr(engine, "_DEFINED_OPS", {})


def test_derivatives_not_in_a_tuple_are_refused_clearly(no_user_ops):
    with pytest.raises(TypeError, match=r"derivatives must be a tuple, one per operand"):
        define_op("sq", lambda x: x * x, lambda x, out: 2 * x)


@pytest.mark.parametrize("derivative", [lambda x: 2 * x, lambda x, out, extra: 2 * x])
def test_a_derivative_with_the_wrong_parameters_is_refused_at_once(no_user_ops,
                                                                    derivative):
    with pytest.raises(TypeError, match=r"d\(x, out\)"):
        define_op("sq", lambda x: x * x, (derivative,))


def test_derivatives_with_star_args_or_defaults_or_numbers_are_accepted(no_user_ops):
    define_op("a", lambda x, y: x * y, (lambda *both: both[1], 1.0))
    define_op("b", lambda x: x * x, (lambda x, out, scale=2.0: scale * x,))
    define_op("c", lambda x: 3 * x, (3.0,))
    define_op("d", lambda x: x, (max,))          # a built-in: no signature to read


def test_a_tape_of_an_old_graph_keeps_the_old_rule(no_user_ops):
    w = Value(2.0, "w", parameter=True)
    cube = define_op("powered", lambda x: x ** 3, (lambda x, out: 3 * x * x,))
    old = cube(w)
    define_op("powered", lambda x: x ** 2, (lambda x, out: 2 * x,))   # changed rules
    for name, (loss, grads) in all_replays(old, [w], [], []).items():
        assert (loss, grads[0]) == (8.0, 12.0), name


def test_running_the_same_define_op_cell_again_keeps_working(no_user_ops):
    for _ in range(2):
        sq = define_op("sq", lambda x: x * x, (lambda x, out: 2 * x,))
        w = Value(3.0, "w", parameter=True)
        y = sq(w)
        y.backward()
        assert (y.data, w.grad) == (9.0, 6.0)
        assert all_replays(y, [w], [], [])["numpy"] == (9.0, [6.0])


# --- 5. gradcheck does not pass a NaN ----------------------------------------

def test_gradcheck_refuses_nan():
    assert gradcheck(lambda a: a * a, [Value(float("nan"))], raise_exception=False) is False
    with pytest.raises(GradcheckError, match="NaN"):
        gradcheck(lambda a: a * a, [Value(float("nan"))])
    with pytest.raises(GradcheckError, match="NaN"):
        gradcheck(lambda a: (a - a) / (a - a + 1.0) * Value(math.nan), [Value(1.0)])


# --- 6. clear errors for misuse ----------------------------------------------

@pytest.mark.parametrize("tool", [backward_steps, trace, format_trace])
@pytest.mark.parametrize("wrong", [[Value(1.0)], 1.5])
def test_the_tracer_says_to_give_a_value(tool, wrong):
    with pytest.raises(TypeError, match=r"give the Value you called backward\(\) on"):
        tool(wrong)


def test_backward_steps_can_stop_at_a_value():
    w = Value(2.0, "w")
    h = w * 3.0
    h.label = "h"
    y = h * h
    steps = list(backward_steps(y, stop_at=h))
    assert steps[-1].value is h
    assert [s.value for s in backward_steps(y, stop_at=[h, "w"])][-1] is h
    with pytest.raises(TypeError, match="name"):
        backward_steps(y, stop_at=3)


def test_a_parent_that_is_not_a_value_is_named_at_backward():
    bad = Value(1.0, "bad", op="+", parents=(1.0, 2.0), local_grads=(1, 1))
    with pytest.raises(TypeError, match=r"bad.*float.*not a Value"):
        (bad * 2.0).backward()


# --- 7. no_grad on a generator ------------------------------------------------

def test_no_grad_on_a_generator_builds_no_graph():
    @no_grad
    def squares(x, n):
        for _ in range(n):
            received = yield x * x
            if received is not None:
                x = received
    x = Value(3.0)
    gen = squares(x, 3)
    first = next(gen)
    assert first.data == 9.0 and first.parents == ()
    assert engine.is_grad_enabled()             # only inside the generator
    assert (x * x).parents                      # the caller still builds graphs
    second = gen.send(Value(4.0))
    assert second.data == 16.0 and second.parents == ()
    rest = list(gen)
    assert [v.data for v in rest] == [16.0] and rest[0].parents == ()


def test_no_grad_passes_throw_and_close_to_the_generator():
    seen = []

    @no_grad
    def values(x):
        try:
            while True:
                try:
                    yield x * 2
                except ValueError:
                    seen.append(("caught", engine.is_grad_enabled()))
        finally:
            seen.append(("closed", engine.is_grad_enabled()))

    gen = values(Value(1.0))
    next(gen)
    assert gen.throw(ValueError("again")).parents == ()
    gen.close()
    assert seen == [("caught", False), ("closed", False)]

    @no_grad
    def two():
        yield 1
        return "done"
    gen = two()
    next(gen)
    with pytest.raises(StopIteration) as finished:
        next(gen)
    assert finished.value.value == "done"
