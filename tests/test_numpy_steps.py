"""The numpy replay's plan (row blocks, fused biases, reused buffers) and the
fast engines' training steps over one vector of weights.

The numbers are checked against the plain engine's (its graph and
``backward()``), or against the optimizer's own ``step()`` on Values.
"""

import random

import numpy as np
import pytest

from tinygrad_edu import MLP, Value, dot
from tinygrad_edu.fast.engines import ENGINES
from tinygrad_edu.fast.numpy_replay import NumpyTape
from tinygrad_edu.fast.tape import Tape
from tinygrad_edu.fast.traced_losses import compile_loss
from tinygrad_edu.learn.digits import load_digits
from tinygrad_edu.learn.losses import LOSSES
from tinygrad_edu.learn.optim import SGD, Adam
from tinygrad_edu.learn.training import train


def engine_batch(model, xs, labels, loss):
    model.zero_grad()
    total = 0.0
    for x, label in zip(xs, labels):
        value = LOSSES[loss](model([Value(v) for v in x]), label) / len(xs)
        value.backward()
        total += value.data
    return total, [p.grad for p in model.parameters()]


def test_each_layer_is_one_step_with_its_bias_and_writes_one_block_of_rows():
    fast = NumpyTape(compile_loss(MLP(6, [5, 4, 3], seed=1), "cross_entropy"))
    layers = [g for g in fast.groups if g.matmul]
    assert len(layers) == 3 and all(g.bias is not None for g in layers)
    assert all(isinstance(g.out.span, slice) for g in fast.groups)
    assert "W @ x[0:6] + [w[6], w[13], ..., w[34]] (5)" in fast.format()


def test_a_dot_read_twice_keeps_its_own_result():
    """t = dot(w, x) is used by ``+ b`` and again later: no fusing, same numbers."""
    w = [Value(0.5), Value(-1.5), Value(0.25)]
    x = [Value(1.0), Value(2.0)]
    d = dot(w[:2], x)
    root = (d + w[2]).tanh() * d
    tape = Tape.from_graph(root, w, x, [], [root])
    fast = NumpyTape(tape)
    assert not any(g.bias is not None for g in fast.groups)
    rng = random.Random(0)
    batch = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(4)]
    expected = [0.0] * 3
    for numbers in batch:
        for p in w:
            p.grad = 0.0
        xv = [Value(v) for v in numbers]
        dv = dot(w[:2], xv)
        value = (dv + w[2]).tanh() * dv / len(batch)
        value.backward()
        expected = [e + p.grad for e, p in zip(expected, w)]
    _, grads = fast.batch_gradients(batch)
    assert grads.tolist() == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_buffers_reused_across_batch_sizes_give_the_engines_numbers():
    model = MLP(4, [5, 3], seed=2)
    fast = NumpyTape(compile_loss(model, "cross_entropy"))
    rng = random.Random(3)
    for size in (4, 7, 4, 1, 7):
        xs = [[rng.uniform(-2, 2) for _ in range(4)] for _ in range(size)]
        labels = [rng.randrange(3) for _ in range(size)]
        expected_loss, expected = engine_batch(model, xs, labels, "cross_entropy")
        loss, grads = fast.batch_gradients(xs, labels)
        assert loss == pytest.approx(expected_loss, rel=1e-9)
        assert grads.tolist() == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.fixture(scope="module")
def digits():
    return (load_digits("train", classes=[0, 1, 7], per_class=5, seed=1),
            load_digits("test", classes=[0, 1, 7], per_class=3, seed=1))


class StepCounter(Adam):
    """An optimizer of one's own (no vector form): its step() runs on Values."""

    def step(self):
        self.calls = getattr(self, "calls", 0) + 1
        super().step()


@pytest.mark.parametrize("engine", ["tape", "numpy"])
def test_an_optimizer_without_a_vector_form_still_steps_the_values(digits, engine):
    def run(engine_name):
        model = MLP(64, [4, 3], seed=3, classes=[0, 1, 7])
        optimizer = StepCounter(model.parameters(), lr=0.01)
        train(model, *digits, epochs=2, batch_size=4, optimizer=optimizer, seed=2,
              engine=ENGINES[engine_name], log=None, progress=False)
        return model.state_dict(), optimizer.calls

    (expected, calls), (got, got_calls) = run("values"), run(engine)
    assert got_calls == calls == 2 * 4
    assert max(abs(got[k] - expected[k]) for k in expected) <= 1e-9


@pytest.mark.parametrize("make", [lambda p: Adam(p, lr=0.02),
                                  lambda p: SGD(p, lr=0.1, momentum=0.9)])
def test_the_optimizer_state_after_a_fast_run_is_the_value_runs(digits, make):
    def run(engine_name):
        model = MLP(64, [4, 3], seed=3, classes=[0, 1, 7])
        optimizer = make(model.parameters())
        train(model, *digits, epochs=2, batch_size=4, optimizer=optimizer, seed=2,
              engine=ENGINES[engine_name], log=None, progress=False)
        return optimizer

    expected, got = run("values"), run("numpy")
    for name in ("m", "v", "velocity"):
        if hasattr(expected, name):
            assert np.allclose(getattr(got, name), getattr(expected, name),
                               rtol=1e-7, atol=1e-12), name
    assert getattr(got, "t", None) == getattr(expected, "t", None)


def test_a_tape_without_listed_outputs_and_with_table_ops_replays_in_numpy():
    w = [Value(0.7), Value(-0.3)]

    def loss(x):
        return (x * w[0]).sqrt().clamp(-0.5, 1.2) * 2.0 + (w[1] * x).sin() * w[0].cos()

    x = Value(1.3)
    tape = Tape.from_graph(loss(x), w, [x], [], [])          # no outputs listed
    batch = [0.4, 1.3, 2.5]
    expected = [0.0, 0.0]
    for number in batch:
        for p in w:
            p.grad = 0.0
        (loss(Value(number)) / len(batch)).backward()
        expected = [e + p.grad for e, p in zip(expected, w)]
    _, grads = NumpyTape(tape).batch_gradients([[v] for v in batch])
    assert grads.tolist() == pytest.approx(expected, rel=1e-9)
