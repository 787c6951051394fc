"""The tape (pure Python) and its numpy batch replay against the plain engine.

The engine builds a Value graph afresh for every example; the tapes replay a
program traced once. They are independent ways of computing the same thing,
so every test compares numbers: losses and gradients to 1e-12 (pure Python)
and 1e-9 (numpy), on inputs other than the one traced.
"""

import math
import random

import numpy as np
import pytest

from tinygrad_edu import MLP, Value, dot, vsum
from tinygrad_edu.fast.tape import Tape
from tinygrad_edu.fast.traced_losses import compile_loss
from tinygrad_edu.fast.engines import tape_gradient_fn
from tinygrad_edu.learn.losses import LOSSES
from tinygrad_edu.fast.numpy_replay import NumpyTape, compile_numpy


def engine_loss_and_grads(model, x, label, loss):
    """The plain engine's loss and parameter gradients for one example."""
    model.zero_grad()
    value = LOSSES[loss](model([Value(v) for v in x]), label)
    value.backward()
    return value.data, [p.grad for p in model.parameters()]


def engine_batch(model, xs, labels, loss):
    """Mean loss and gradients over a batch, by the plain engine."""
    total, grads = 0.0, None
    for x, label in zip(xs, labels):
        l, g = engine_loss_and_grads(model, x, label, loss)
        total += l
        grads = g if grads is None else [a + b for a, b in zip(grads, g)]
    n = len(xs)
    return total / n, [g / n for g in grads]


def random_case(seed):
    rng = random.Random(seed)
    nin = rng.randint(1, 7)
    sizes = [rng.randint(1, 6) for _ in range(rng.randint(0, 2))] + [rng.randint(2, 5)]
    activation = rng.choice(["relu", "tanh", "sigmoid", "linear"])
    output_activation = rng.choice(["linear", "linear", "tanh", "sigmoid"])
    model = MLP(nin, sizes, activation, output_activation, seed=seed)
    xs = [[rng.uniform(-2, 2) for _ in range(nin)] for _ in range(5)]
    labels = [rng.randrange(sizes[-1]) for _ in range(5)]
    return model, xs, labels


def assert_close(actual, expected, tol):
    actual, expected = list(actual), list(expected)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert abs(a - e) <= tol * max(1.0, abs(e)), (a, e)


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("seed", range(12))
def test_tape_and_numpy_match_engine_on_random_networks(seed, loss):
    model, xs, labels = random_case(seed)
    # Traced with an example unlike the ones replayed: relu branches and the
    # largest logit differ, and the replay must recompute them.
    tape = compile_loss(model, loss, example=([0.5] * model.nin, 0))
    fast = NumpyTape(tape)
    for x, label in zip(xs, labels):
        expected_loss, expected_grads = engine_loss_and_grads(model, x, label, loss)
        got_loss, got_grads = tape.loss_and_gradients(x, label)
        assert abs(got_loss - expected_loss) <= 1e-12 * max(1.0, abs(expected_loss))
        assert_close(got_grads, expected_grads, 1e-12)
    expected_loss, expected_grads = engine_batch(model, xs, labels, loss)
    loss_py, grads_py = tape.batch_gradients(xs, labels)
    loss_np, grads_np = fast.batch_gradients(xs, labels)
    assert abs(loss_py - expected_loss) <= 1e-12
    assert abs(loss_np - expected_loss) <= 1e-9
    assert_close(grads_py, expected_grads, 1e-12)
    assert_close(grads_np, expected_grads, 1e-9)


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_the_python_tape_is_the_engine_to_the_last_bit(loss):
    """dot and sum add left to right in both, in the same order (not fsum)."""
    for seed in range(20):
        model, xs, labels = random_case(seed)
        tape = compile_loss(model, loss, example=([0.5] * model.nin, 0))
        for x, label in zip(xs, labels):
            expected = engine_loss_and_grads(model, x, label, loss)
            assert tape.loss_and_gradients(x, label) == expected


def test_inf_and_nan_flow_through_the_tape_as_through_the_engine():
    """inf - inf in a dot or a sum is NaN, as in the engine (fsum raised)."""
    w = [Value(1.0), Value(1.0)]
    x = [Value(0.0), Value(0.0)]
    root = vsum([dot(w, x), 1.0])
    tape = Tape.from_graph(root, w, x, [], [root])
    for numbers in ([math.inf, -math.inf], [math.inf, 1.0], [math.nan, 1.0]):
        expected = vsum([dot(w, [Value(v) for v in numbers]), 1.0]).data
        got = tape.forward(numbers)
        assert repr(got) == repr(expected)          # nan == nan is False
        assert repr(float(NumpyTape(tape).losses_and_outputs([numbers])[0][0])) == repr(expected)


def test_a_nan_stays_nan_through_relu_as_in_the_engine():
    model = MLP(2, [3, 2], seed=5)
    tape = compile_loss(model, "mse")
    x = [math.nan, 1.0]
    expected_loss, expected_grads = engine_loss_and_grads(model, x, 1, "mse")
    assert math.isnan(expected_loss)
    loss, grads = tape.loss_and_gradients(x, 1)
    loss_np, grads_np = NumpyTape(tape).batch_gradients([x], [1])
    assert math.isnan(loss) and math.isnan(loss_np)
    for got in (grads, list(grads_np)):
        assert [math.isnan(g) for g in got] == [math.isnan(g) for g in expected_grads]
        assert [g for g in got if g == g] == pytest.approx(
            [g for g in expected_grads if g == g], abs=1e-12)


def test_replay_reads_the_current_weights():
    model = MLP(3, [4, 3], seed=1)
    tape = compile_loss(model, "cross_entropy")
    fast = NumpyTape(tape)
    for p in model.parameters():
        p.data += 0.3
    x, label = [0.2, -1.0, 0.7], 2
    expected_loss, expected_grads = engine_loss_and_grads(model, x, label, "cross_entropy")
    assert tape.forward(x, label) == pytest.approx(expected_loss, abs=1e-12)
    loss, grads = fast.batch_gradients([x], [label])
    assert loss == pytest.approx(expected_loss, abs=1e-12)
    assert_close(grads, expected_grads, 1e-9)


def test_relu_branches_follow_the_replayed_input():
    """A relu that was dead in the trace must pass gradient when it is alive now."""
    model = MLP(1, [1, 1], seed=0)
    w_hidden = model.layers[0].neurons[0].w[0]
    w_hidden.data = 1.0
    tape = compile_loss(model, "mse", example=([-1.0], 0))   # hidden relu is off
    fast = NumpyTape(tape)
    _, grads = engine_loss_and_grads(model, [2.0], 0, "mse")
    assert grads[0] != 0.0                                   # on for x = 2
    assert_close(tape.loss_and_gradients([2.0], 0)[1], grads, 1e-12)
    assert_close(fast.batch_gradients([[2.0]], [0])[1], grads, 1e-12)


def test_cross_entropy_stays_finite_for_huge_logits():
    model = MLP(2, [3], seed=0)
    for p in model.parameters():
        p.data *= 400.0
    x = [3.0, -2.0]
    expected_loss, expected_grads = engine_loss_and_grads(model, x, 1, "cross_entropy")
    tape = compile_loss(model, "cross_entropy")
    loss, grads = tape.loss_and_gradients(x, 1)
    assert math.isfinite(loss) and loss == pytest.approx(expected_loss, rel=1e-12)
    assert_close(grads, expected_grads, 1e-12)
    loss_np, grads_np = NumpyTape(tape).batch_gradients([x], [1])
    assert loss_np == pytest.approx(expected_loss, rel=1e-12)
    assert_close(grads_np, expected_grads, 1e-9)


def every_op(x, w):
    """A loss that uses every operation the tape knows, including constants."""
    a = x[0] * w[0] + w[1] - x[1] / (w[2].abs() + 1.5)
    b = (-a).tanh() + a.sigmoid() + (x[2] ** 2) * w[3].exp() - 2 / (w[1] * w[1] + 1)
    c = vsum([a.relu(), b, 2.0, x[0].abs(), (x[1] - w[0]).abs()])
    d = dot([w[0], w[1], w[2]], [a, b, c]) + dot([x[0], x[1]], [x[2], 0.5])
    return (d * d + 1.0).log() + (c ** 3) / 10 - (0.5 * b) ** 2


def test_every_op_matches_the_engine_on_new_inputs():
    rng = random.Random(3)
    w = [Value(rng.uniform(-1, 1), f"w{i}") for i in range(4)]
    x = [Value(v, f"x{i}") for i, v in enumerate((0.3, -0.8, 1.1))]
    root = every_op(x, w)
    tape = Tape.from_graph(root, w, x, [], [root])
    ops = {ins.op for ins in tape.instructions}
    assert ops >= {"add", "sub", "mul", "div", "neg", "pow", "exp", "log", "tanh",
                   "sigmoid", "relu", "abs", "sum", "dot"}
    fast = NumpyTape(tape)
    batch = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(6)]
    mean_grads = [0.0] * 4
    for numbers in batch:
        for p in w:
            p.grad = 0.0
        xv = [Value(v) for v in numbers]
        expected = every_op(xv, w)
        expected.backward()
        loss, grads = tape.loss_and_gradients(numbers)
        assert loss == pytest.approx(expected.data, rel=1e-12, abs=1e-12)
        assert_close(grads, [p.grad for p in w], 1e-12)
        mean_grads = [m + p.grad / len(batch) for m, p in zip(mean_grads, w)]
    losses, _ = fast.losses_and_outputs(batch)
    assert_close(losses, [every_op([Value(v) for v in numbers], w).data
                          for numbers in batch], 1e-9)
    assert_close(fast.batch_gradients(batch)[1], mean_grads, 1e-9)


def test_outputs_match_the_engine():
    model = MLP(4, [5, 3], seed=2)
    fast = compile_numpy(model, "mse")
    xs = [[0.1, 0.2, 0.3, 0.4], [-1.0, 0.5, 0.0, 2.0]]
    _, outputs = fast.losses_and_outputs(xs, [0, 2])
    for x, row in zip(xs, outputs):
        assert_close(row, [o.data for o in model(x)], 1e-12)
    tape = fast.tape
    tape.forward(xs[1], 2)
    assert_close(tape.output_values(), [o.data for o in model(xs[1])], 1e-12)


def test_accumulate_batch_adds_to_grad_like_backward():
    model = MLP(3, [2, 2], seed=4)
    xs, labels = [[1.0, 2.0, 3.0], [0.5, -0.5, 0.0]], [1, 0]
    _, expected = engine_batch(model, xs, labels, "cross_entropy")
    for backend in ("python", "numpy"):
        for p in model.parameters():
            p.grad = 1.0
        step = tape_gradient_fn(model, "cross_entropy", backend=backend)
        step(xs, labels)
        assert_close([p.grad - 1.0 for p in model.parameters()], expected, 1e-9)


def test_the_printed_program_reads_like_the_network():
    model = MLP(4, [3, 2], seed=0)
    text = str(compile_loss(model, "cross_entropy"))
    lines = text.splitlines()
    assert lines[0].startswith("# tape: cross_entropy loss of MLP(4, [3, 2]")
    assert "t0 = dot(w[0:4], x[0:4])" in lines
    assert "t1 = t0 + w[4]" in lines
    assert "t2 = relu(t1)" in lines
    # the second layer reads the three relus of the first
    assert any(line.startswith("t9 = dot(w[15:18], [t2, t5, t8])") for line in lines)
    assert any("max(" in line and "no gradient" in line for line in lines)
    assert any(line.endswith("dot(y[0:2], [t10, t12])") for line in lines)
    assert lines[-1].startswith("loss = t")
    assert len(lines) == 2 + len(compile_loss(model, "cross_entropy").instructions) + 1


def test_mse_program_shows_constants_as_numbers():
    text = compile_loss(MLP(2, [2], seed=0), "mse").format()
    assert "** 2" in text and "/ 2" in text


def test_exponents_with_many_digits_replay_exactly():
    """``:g`` would write 1.23457; the engine names the op so that it reads back."""
    w = Value(1.7)
    root = w ** 1.2345678
    tape = Tape.from_graph(root, [w], [], [], [root])
    assert [ins.exponent for ins in tape.instructions] == [1.2345678]
    assert "w[0] ** 1.2345678" in tape.format()
    for number in (1.7, 0.3, 12.5):                # replayed at other bases
        w.data, w.grad = number, 0.0
        expected = w ** 1.2345678
        expected.backward()
        loss, grads = tape.loss_and_gradients([])
        assert (loss, grads) == (expected.data, [w.grad])
        loss_np, grads_np = NumpyTape(tape).batch_gradients(np.zeros((1, 0)))
        assert loss_np == pytest.approx(expected.data, rel=1e-15)
        assert grads_np[0] == pytest.approx(w.grad, rel=1e-15)


def test_value_exponents_are_refused_with_a_reason():
    x, y = Value(1.7), Value(2.0)
    root = x ** y
    with pytest.raises(ValueError, match="cannot replay"):
        Tape.from_graph(root, [x, y], [], [], [root])


def test_bad_arguments():
    model = MLP(3, [2], seed=0)
    with pytest.raises(ValueError, match="loss"):
        compile_loss(model, "hinge")
    tape = compile_loss(model, "mse")
    with pytest.raises(ValueError, match="3 inputs"):
        tape.forward([1.0, 2.0], 0)
    with pytest.raises(ValueError, match="0 to 1"):
        tape.forward([1.0, 2.0, 3.0], 5)
    with pytest.raises(ValueError, match="shape"):
        NumpyTape(tape).batch_gradients(np.zeros((2, 4)), [0, 1])
    with pytest.raises(ValueError, match="labels"):
        NumpyTape(tape).batch_gradients(np.zeros((2, 3)), [0, 2])
    with pytest.raises(ValueError, match="backend"):
        tape_gradient_fn(model, "mse", backend="cuda")


# ---------------------------------------------------------------- the replay's paths
# The pure-Python replay reads a dot's first side of parameters (its weights)
# once per batch and skips the inputs that are 0; a dot side that is not all
# parameters passes its gradient on as any operand does. Each graph below
# takes both paths, and each is checked against the engine.

def dots_everywhere(x, w, cube):
    """A loss with every kind of dot side: weights (parameters first), temporaries,
    parameters as the second side, a parameter twice, a constant among the
    weights, weights shared by two dots, relus that switch, a defined op."""
    d1 = dot(w[0:3], x).relu()                     # the inputs want no gradient
    h = [d1, (d1 * w[11]).tanh(), cube(x[1] - w[12]).relu()]
    d2 = dot(w[3:6], h)                            # both sides want gradients
    d3 = dot(h, w[6:9])                            # the parameters second
    d4 = dot([w[9], w[9]], h[:2])                  # one parameter twice
    d5 = dot([w[10], 2.0], [d2, x[0]])             # a constant among the weights
    d6 = dot(w[0:3], [d2, d3, d4]).relu()          # w[0:3] again
    return vsum([d5 * d5, d6, d3 * 0.5])


@pytest.fixture
def cube(monkeypatch):
    """A define_op'd cube, for this test alone."""
    from tinygrad_edu import define_op, engine
    monkeypatch.setattr(engine, "_DEFINED_OPS", {})
    return define_op("cube", forward=lambda x: x ** 3,
                     derivatives=(lambda x, out: 3 * x ** 2,))


def engine_run(build, w, numbers):
    """The engine's loss and parameter gradients of ``build`` for one example."""
    for p in w:
        p.grad = 0.0
    root = build([Value(v) for v in numbers], w)
    root.backward()
    return root.data, [p.grad for p in w]


def test_every_kind_of_dot_side_matches_the_engine(cube):
    from tinygrad_edu.fast.python_replay import DOT, WEIGHTS
    rng = random.Random(7)
    w = [Value(rng.uniform(-1, 1)) for _ in range(13)]
    x = [Value(v) for v in (0.5, -0.5, 1.0)]

    def build(xs, ws):
        return dots_everywhere(xs, ws, cube)
    root = build(x, w)
    tape = Tape.from_graph(root, w, x, [], [root])
    kinds = [step.kind for step in tape.backward_steps]
    assert (kinds.count(WEIGHTS), kinds.count(DOT)) == (5, 6)   # both paths are taken
    batch = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(12)]
    expected = [engine_run(build, w, numbers) for numbers in batch]
    relu_states = {(a > 0, b > 0) for a, b in
                   ((dot(w[0:3], [Value(v) for v in n]).data, n[1] - w[12].data)
                    for n in batch)}
    assert len(relu_states) > 1                      # some relus switch in the batch
    for numbers, (loss, grads) in zip(batch, expected):
        got_loss, got_grads = tape.loss_and_gradients(numbers)
        assert got_loss == pytest.approx(loss, rel=1e-12, abs=1e-12)
        assert_close(got_grads, grads, 1e-12)
    mean_loss = sum(loss for loss, _ in expected) / len(batch)
    mean_grads = [sum(g[i] for _, g in expected) / len(batch) for i in range(len(w))]
    loss, grads = tape.batch_gradients(batch)
    assert loss == pytest.approx(mean_loss, rel=1e-12, abs=1e-12)
    assert_close(grads, mean_grads, 1e-12)
    assert_close(tape.compile_python().batch_gradients(batch)[1], mean_grads, 1e-12)


def test_a_sum_between_two_dots_leaves_their_inputs_alone():
    """dot(w, x), then a sum, then dot(v, x): the second dot reads x, not the sum's list."""
    w = [Value(v) for v in (0.5, -1.5, 2.0, 0.25)]
    x = [Value(1.0), Value(2.0)]

    def build(xs, ws):
        a = dot(ws[:2], xs)
        return vsum([a, ws[2], a * a]) * dot(ws[2:], xs)
    root = build(x, w)
    tape = Tape.from_graph(root, w, x, [], [root])
    for numbers in ([3.0, -1.0], [0.5, 0.25]):
        loss, grads = engine_run(build, w, numbers)
        assert tape.loss_and_gradients(numbers) == (loss, grads)
        assert tape.compile_python().batch_gradients([numbers])[0] == loss


def test_new_weights_are_read_for_each_batch():
    """The weights a dot reads once per batch are read again for the next batch."""
    model = MLP(3, [4, 2], seed=3)
    tape = compile_loss(model, "mse")
    xs, labels = [[1.0, -2.0, 0.5], [0.3, 0.3, -1.0]], [0, 1]
    for _ in range(3):
        assert_close(tape.batch_gradients(xs, labels)[1],
                     engine_batch(model, xs, labels, "mse")[1], 1e-12)
        for p in model.parameters():
            p.data -= 0.7
    weights = [p.data * 2.0 for p in model.parameters()]  # given, not the model's
    _, grads = tape.batch_gradients(xs, labels, weights)
    for p, value in zip(model.parameters(), weights):
        p.data = value
    assert_close(grads, engine_batch(model, xs, labels, "mse")[1], 1e-12)


def test_backward_without_zeroing_adds_to_the_gradients_held():
    model = MLP(2, [3, 2], seed=1)
    tape = compile_loss(model, "mse")
    _, grads = engine_loss_and_grads(model, [0.4, -0.9], 1, "mse")
    tape.forward([0.4, -0.9], 1)
    tape.backward()
    assert_close(tape.backward(zero_param_grads=False), [2 * g for g in grads], 1e-12)


def test_labels_are_checked_though_their_targets_are_made_once():
    """True equals 1 as a dict key; it is still refused after label 1 was seen."""
    model = MLP(2, [3, 2], seed=0)
    tape = compile_loss(model, "mse")
    compiled = tape.compile_python()
    tape.forward([0.1, 0.2], 1)
    compiled.batch_gradients([[0.1, 0.2]], [1])
    for label in (True, 1.0, 2):
        with pytest.raises(ValueError, match="whole number from 0 to 1"):
            tape.forward([0.1, 0.2], label)
        with pytest.raises(ValueError, match="whole number from 0 to 1"):
            compiled.batch_gradients([[0.1, 0.2]], [label])
    with pytest.raises(ValueError, match="got True"):
        compiled.batch_gradients([[0.1, 0.2], [0.1, 0.2]], [1, True])
    assert tape.targets_of(1) == [0.0, 1.0] and tape.targets_of(0) == [1.0, 0.0]


@pytest.mark.parametrize("x", [[0.0, -0.0, 0.7, 0.0], [0.0, 0.0, 0.0, 0.0],
                               [0.0, 0.0, -1.3, 0.0], [2.0, 0.0, -0.0, 1.0]])
def test_inputs_that_are_zero_give_the_engine_s_numbers_to_the_bit(x):
    """A dot multiplies only its inputs that are not 0 (after relu, about half)."""
    model = MLP(4, [5, 5, 3], seed=11)
    tape = compile_loss(model, "mse")
    assert tape.loss_and_gradients(x, 2) == engine_loss_and_grads(model, x, 2, "mse")


@pytest.mark.parametrize("weight", [math.inf, -math.inf, math.nan, 1e308])
def test_a_weight_that_is_not_finite_meets_a_zero_input_as_in_the_engine(weight):
    """inf * 0 is NaN: with such a weight the dot multiplies every input."""
    model = MLP(3, [2], seed=4)
    model.layers[0].neurons[0].w[1].data = weight
    model.layers[0].neurons[1].w[1].data = 1e308          # (huge, but finite)
    tape = compile_loss(model, "mse")
    for x in ([0.5, 0.0, -1.0], [0.0, 0.0, 2.0]):
        expected_loss, expected_grads = engine_loss_and_grads(model, x, 0, "mse")
        loss, grads = tape.loss_and_gradients(x, 0)
        assert repr(loss) == repr(expected_loss)
        assert repr(grads) == repr(expected_grads)


@pytest.mark.parametrize("scale", [1e200, -1e200])
def test_a_gradient_that_is_not_finite_meets_a_zero_input_as_in_the_engine(scale):
    """inf * 0 is NaN: the weight of an input that is 0 gets it, as in the engine.

    (The parameters are finite; the dot's gradient, 1e200 * 1e200, is not.)
    """
    w = [Value(v) for v in (0.5, -1.0, 2.0)]
    c = [Value(scale), Value(1e200)]
    x = [Value(0.0) for _ in range(3)]
    root = dot(w, x) * c[0] * c[1]
    tape = Tape.from_graph(root, w + c, x, [], [root])
    for numbers in ([0.0, 1.5, 0.0], [2.0, 0.0, -1.0], [0.0, 0.0, 0.0]):
        for p in w + c:
            p.grad = 0.0
        expected = dot(w, [Value(v) for v in numbers]) * c[0] * c[1]
        expected.backward()
        loss, grads = tape.loss_and_gradients(numbers)
        assert repr(loss) == repr(expected.data)
        assert repr(grads) == repr([p.grad for p in w + c])
        assert all(math.isnan(g) for g, v in zip(grads, numbers) if v == 0)
