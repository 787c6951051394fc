"""The straight-line Python written from a tape computes what the plain engine does.

The reference is the engine's own graph and ``backward()``, built afresh for
each example; the generated function never builds a Value.
"""

import random

import pytest

import math

from tinygrad_edu import MLP, Value, dot, vsum
from tinygrad_edu.engine import define_op
from tinygrad_edu.fast import python_source as compiler
from tinygrad_edu.fast.ops import TABLE
from tinygrad_edu.fast.python_source import CompiledTape, compile_python, python_source
from tinygrad_edu.fast.tape import Tape
from tinygrad_edu.fast.traced_losses import compile_loss
from tinygrad_edu.learn.losses import LOSSES, one_hot


def engine_loss_and_grads(model, x, label, loss):
    model.zero_grad()
    value = LOSSES[loss](model([Value(v) for v in x]), label)
    value.backward()
    return value.data, [p.grad for p in model.parameters()]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_generated_python_matches_the_engine_on_random_networks(seed, loss):
    rng = random.Random(seed)
    nin = rng.randint(1, 7)
    sizes = [rng.randint(1, 6) for _ in range(rng.randint(0, 2))] + [rng.randint(2, 5)]
    model = MLP(nin, sizes, rng.choice(["relu", "tanh", "sigmoid", "linear"]),
                rng.choice(["linear", "tanh", "sigmoid"]), seed=seed)
    run = compile_python(compile_loss(model, loss))
    weights = [p.data for p in model.parameters()]
    for _ in range(4):                          # inputs other than the traced one
        x = [rng.uniform(-2, 2) for _ in range(nin)]
        label = rng.randrange(sizes[-1])
        expected_loss, expected = engine_loss_and_grads(model, x, label, loss)
        grads = [0.0] * len(weights)
        got = run(weights, x, one_hot(label, sizes[-1]), grads, 1.0)
        assert got == pytest.approx(expected_loss, rel=1e-12, abs=1e-12)
        assert grads == pytest.approx(expected, rel=1e-12, abs=1e-12)


def every_op(x, w):
    """A loss that uses every operation the tape knows, and constants."""
    a = x[0] * w[0] + w[1] - x[1] / (w[2].abs() + 1.5)
    b = (-a).tanh() + a.sigmoid() + (x[2] ** 2) * w[3].exp() - 2 / (w[1] * w[1] + 1)
    c = vsum([a.relu(), b, 2.0, x[0].abs(), (x[1] - w[0]).abs()])
    d = dot([w[0], w[1], w[2]], [a, b, c]) + dot([x[0], x[1]], [x[2], 0.5])
    return (d * d + 1.0).log() + (c ** 3) / 10 - (0.5 * b) ** 2 + vsum([w[2], w[0]])


def test_every_op_matches_the_engine_and_seed_scales_the_gradients():
    rng = random.Random(3)
    w = [Value(rng.uniform(-1, 1)) for _ in range(4)]
    x = [Value(v) for v in (0.3, -0.8, 1.1)]
    tape = Tape.from_graph(every_op(x, w), w, x, [], [])
    run = compile_python(tape)
    for _ in range(5):
        numbers = [rng.uniform(-2, 2) for _ in range(3)]
        for p in w:
            p.grad = 0.0
        expected = every_op([Value(v) for v in numbers], w)
        expected.backward()
        grads = [1.0] * 4                           # it adds into what is there
        loss = run([p.data for p in w], numbers, [], grads, 0.5)
        assert loss == pytest.approx(expected.data, rel=1e-12)
        assert grads == pytest.approx([1.0 + 0.5 * p.grad for p in w], rel=1e-12)


def test_the_source_reads_like_the_tape():
    tape = compile_loss(MLP(2, [2, 1], seed=0), "mse")
    source = python_source(tape)
    assert source.startswith("def loss_and_gradients(w, x, y, gw, seed):")
    assert "    t0 = sum(map(mul, w[0:2], x))\n" in source
    assert "    t2 = 0.0 if t1 <= 0 else t1\n" in source
    assert "# backward" in source and "return t11" in source
    compile(source, "<test>", "exec")               # it is Python


def test_a_nan_stays_nan_through_relu():
    w = [Value(1.0)]
    x = [Value(0.0)]
    root = (x[0] * w[0]).relu() * 2.0
    run = compile_python(Tape.from_graph(root, w, x, [], []))
    grads = [0.0]
    assert run([1.0], [float("nan")], [], grads, 1.0) != 0.0   # NaN compares unequal
    assert grads[0] != grads[0]


@pytest.mark.parametrize("name", sorted(compiler._FORWARD))
def test_each_written_op_is_its_table_row(name):
    """The compiler's templates say what the op table's rows say, on numbers
    of both signs (the table is the one source of each op's rules)."""
    row = TABLE[name]
    arity = len(row.derivatives)
    for numbers in ([0.7, -1.3], [-0.4, 2.5], [1.9, 0.6]):
        if name == "log" and numbers[0] <= 0:
            continue                               # log needs a positive number
        operands = numbers[:arity]
        names = [f"a{k}" for k in range(arity)]
        scope = dict(compiler._NAMESPACE, **dict(zip(names, operands)))
        code = compiler._FORWARD[name].format(*names)
        out = eval(compile(code, "<template>", "eval"), scope)   # our own template
        assert out == row.forward(*operands)
        for k, rule in enumerate(compiler._BACKWARD.get(name, ())):
            scope.update(g=1.0, out=out)
            code = rule.format(*names, g="g", out="out")
            got = eval(compile(code, "<template>", "eval"), scope)
            d = row.derivatives[k]
            expected = d(*operands, out) if callable(d) else d
            assert got == pytest.approx(expected, rel=1e-15)


def test_an_op_of_ones_own_is_called_through_its_rules():
    softplus = define_op("softplus_for_compiler", forward=lambda x: math.log1p(math.exp(x)),
                         derivatives=(lambda x, out: 1 / (1 + math.exp(-x)),))
    w = [Value(0.3), Value(-0.2)]
    x = [Value(1.0)]
    root = softplus(x[0] * w[0] + w[1]) * 3.0
    tape = Tape.from_graph(root, w, x, [], [])
    source = python_source(tape)
    assert "op_softplus_for_compiler(" in source and "d_softplus_for_compiler_0(" in source
    run = compile_python(tape)
    for number in (-1.5, 0.0, 2.0):
        for p in w:
            p.grad = 0.0
        expected = softplus(Value(number) * w[0] + w[1]) * 3.0
        expected.backward()
        grads = [0.0, 0.0]
        assert run([p.data for p in w], [number], [], grads, 1.0) == pytest.approx(
            expected.data, rel=1e-12)
        assert grads == pytest.approx([p.grad for p in w], rel=1e-12)


def test_a_compiled_tape_gives_the_tapes_batch_gradients():
    model = MLP(5, [4, 3], seed=2)
    tape = compile_loss(model, "cross_entropy")
    rng = random.Random(1)
    xs = [[rng.uniform(-1, 1) for _ in range(5)] for _ in range(7)]
    labels = [rng.randrange(3) for _ in xs]
    expected_loss, expected = tape.batch_gradients(xs, labels)
    loss, grads = CompiledTape(tape).batch_gradients(xs, labels)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert grads == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_the_tape_writes_and_compiles_its_own_python():
    tape = compile_loss(MLP(3, [2, 2], seed=4), "mse")
    assert tape.to_python() == python_source(tape)
    compiled = tape.compile_python()
    assert compiled.source == tape.to_python()
    xs, labels = [[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]], [1, 0]
    assert compiled.batch_gradients(xs, labels) == pytest.approx(
        tape.batch_gradients(xs, labels), rel=1e-12)


def test_the_performance_page_shows_what_the_compiler_writes():
    """docs/performance.md prints the generated function of this tiny network."""
    from pathlib import Path
    page = (Path(__file__).resolve().parent.parent / "docs" / "performance.md").read_text()
    source = compile_loss(MLP(2, [2, 1], seed=0), "mse").to_python()
    assert "```text\n" + source + "```" in page
