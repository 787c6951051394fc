"""Tests for tinygrad_edu.watch.tracing: the forward trace and backward_steps."""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinygrad_edu import MLP, Value, cross_entropy, dot, mse, vsum
from tinygrad_edu.engine import topological_order
from tinygrad_edu.watch.tracing import (BackwardStep, backward_steps, describe,
                                  format_trace, trace)


def karpathy_neuron():
    """The classic worked example: o = tanh(x1*w1 + x2*w2 + b).

    By hand: n = 2*(-3) + 0*1 + 6.8813735870195432 = 0.8813735870195432,
    o = tanh(n) = sqrt(2)/2, do/dn = 1 - o^2 = 0.5, so
    dx1 = w1 * 0.5 = -1.5, dw1 = x1 * 0.5 = 1.0, dx2 = w2 * 0.5 = 0.5,
    dw2 = x2 * 0.5 = 0.0, db = 0.5.
    """
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    x1w1 = x1 * w1
    x1w1.label = "x1w1"
    x2w2 = x2 * w2
    x2w2.label = "x2w2"
    s = x1w1 + x2w2
    s.label = "s"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, n=n, s=s)


# ---------------------------------------------------------------- backward_steps

def test_steps_give_hand_computed_gradients():
    o, v = karpathy_neuron()
    steps = list(backward_steps(o))
    assert o.data == pytest.approx(math.sqrt(2) / 2)
    expected = dict(x1=-1.5, w1=1.0, x2=0.5, w2=0.0, b=0.5, n=0.5, s=0.5)
    for name, grad in expected.items():
        assert v[name].grad == pytest.approx(grad), name
    first = steps[0]
    assert first.value is o and first.grad == 1.0
    assert first.local_grads[0] == pytest.approx(0.5)     # 1 - tanh^2
    assert first.added[0] == pytest.approx(0.5)


def test_step_text_shows_the_chain_rule_in_numbers():
    o, v = karpathy_neuron()
    steps = {s.value.name: s for s in backward_steps(o)}
    text = str(steps["x1w1"])
    assert text.splitlines() == [
        "step 8 of 10: x1w1 = x1 * w1 = -6.0000, grad 0.5000",
        "  to x1: d(x1w1)/d(x1) = -3.0000, adds -3.0000 x 0.5000 = -1.5000, "
        "x1.grad is now -1.5000",
        "  to w1: d(x1w1)/d(w1) = 2.0000, adds 2.0000 x 0.5000 = 1.0000, "
        "w1.grad is now 1.0000",
    ]
    assert str(steps["b"]).splitlines()[1] == (
        "  a leaf: nothing to pass on; d(o)/d(b) = 0.5000")


def test_each_step_sees_its_final_gradient_and_adds_local_times_grad():
    net = MLP(3, [4, 2], activation="tanh", seed=1)
    loss = cross_entropy(net([0.5, -1.0, 2.0]), 1)
    steps = list(backward_steps(loss))
    assert [s.value for s in steps] == topological_order(loss)
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))
    assert all(s.total == len(steps) for s in steps)
    for s in steps:
        assert isinstance(s, BackwardStep)
        assert s.grad == s.value.grad          # nothing arrives after a visit
        for local, added in zip(s.local_grads, s.added):
            assert added == local * s.grad


def test_replaying_steps_accumulates_into_leaves_like_backward():
    x = Value(3.0, "x")
    y = x * x + x                       # dy/dx = 2x + 1 = 7
    list(backward_steps(y))
    assert x.grad == 7.0
    list(backward_steps(y))
    assert x.grad == 14.0               # leaves accumulate, as with backward()
    y.backward()
    assert x.grad == 21.0


def test_a_parent_used_twice_shows_its_running_total():
    x = Value(3.0, "x")
    square = x * x
    y = square + x
    steps = list(backward_steps(y))
    assert steps[0].parent_grads == (1.0, 1.0)         # square, then x
    assert steps[1].value is square
    assert steps[1].parent_grads == (4.0, 7.0)         # 1 + 3, then + 3
    assert steps[1].lines()[0].endswith("x.grad is now 4.0000")
    assert x.grad == 7.0


def test_breakpoint_stops_after_the_named_value():
    o, v = karpathy_neuron()
    steps = list(backward_steps(o, stop_at="s"))
    # Topological order visits n's parents last-first: b, then s.
    assert [s.value.name for s in steps] == ["o", "n", "b", "s"]
    assert v["x1"].grad == 0.0          # not reached yet
    assert v["b"].grad == pytest.approx(0.5)   # n's step already passed it on
    # The step for v7-style names works too.
    o2, _ = karpathy_neuron()
    hidden = o2.parents[0].parents[0]   # s, unlabelled below
    hidden.label = ""
    names = [s.value.name for s in backward_steps(o2, stop_at=hidden.name)]
    assert names[-1] == hidden.name


def test_unknown_breakpoint_is_a_clear_error():
    o, _ = karpathy_neuron()
    with pytest.raises(ValueError, match="cannot stop at 'nope'"):
        backward_steps(o, stop_at=["n", "nope"])     # at once, not when used


def _reference_grads(root):
    """Independent check: sum, over every path root -> v, of the product of
    local derivatives along it (exponential, fine for small graphs)."""
    grads = {}

    def walk(value, upstream):
        grads[id(value)] = grads.get(id(value), 0.0) + upstream
        for parent, local in zip(value.parents, value.local_grads):
            walk(parent, upstream * local)

    walk(root, 1.0)
    return grads


OPS = ["+", "-", "*", "tanh", "sigmoid", "relu", "neg", "sum", "dot", "pow2"]


def _build(leaf_numbers, program):
    values = [Value(x, f"x{i}") for i, x in enumerate(leaf_numbers)]
    for op, i, j in program:
        a, b = values[i % len(values)], values[j % len(values)]
        if op == "+":
            out = a + b
        elif op == "-":
            out = a - b
        elif op == "*":
            out = a * b
        elif op == "tanh":
            out = a.tanh()
        elif op == "sigmoid":
            out = a.sigmoid()
        elif op == "relu":
            out = a.relu()
        elif op == "neg":
            out = -a
        elif op == "sum":
            out = vsum([a, b, a])
        elif op == "dot":
            out = dot([a, b], [b, 2.0])
        else:
            out = a ** 2
        values.append(out)
    return values


@settings(max_examples=60, deadline=None)
@given(
    leaf_numbers=st.lists(st.floats(-1.5, 1.5), min_size=1, max_size=4),
    program=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 50),
                               st.integers(0, 50)), min_size=1, max_size=9),
)
def test_replaying_all_steps_equals_backward_on_random_graphs(leaf_numbers, program):
    values = _build(leaf_numbers, program)
    root = values[-1]
    assume(all(math.isfinite(v.data) for v in values))
    graph = topological_order(root)

    root.backward()
    by_backward = [v.grad for v in graph]
    root.zero_grad()
    steps = list(backward_steps(root))
    by_steps = [v.grad for v in graph]

    assert by_steps == by_backward                 # exactly: the same code
    assert len(steps) == len(graph)
    reference = _reference_grads(root)
    for v, g in zip(graph, by_steps):
        assert g == pytest.approx(reference[id(v)], rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------- the trace

def test_trace_lines_read_like_the_program():
    a = Value(0.6)
    b = Value(0.7)
    c = a * b
    line = str(trace(c)[-1])
    assert line == f"v{c.id} = v{a.id} * v{b.id} = 0.4200"


def test_trace_is_in_creation_order_and_each_entry_follows_its_inputs():
    o, _ = karpathy_neuron()
    entries = list(trace(o))
    ids = [e.value.id for e in entries]
    assert ids == sorted(ids)
    position = {e.value.id: i for i, e in enumerate(entries)}
    for e in entries:
        assert all(position[p.id] < position[e.value.id] for p in e.inputs)
    assert [e.name for e in trace(o).operations()] == ["x1w1", "x2w2", "s", "n", "o"]
    assert trace(o).find("n").expression == "s + b"
    with pytest.raises(KeyError, match="no Value called 'zz'"):
        trace(o).find("zz")


def test_format_trace_table():
    o, _ = karpathy_neuron()
    table = format_trace(o, inputs=False).splitlines()
    assert table[0].split() == ["#", "value", "computed", "as", "data"]
    assert table[1].split() == ["6", "x1w1", "x1", "*", "w1", "-6.0000"]
    assert table[-1].split() == ["10", "o", "tanh(n)", "0.7071"]
    assert len(format_trace(o).splitlines()) == 11     # header + 10 Values
    assert str(trace(o)) == format_trace(o)


def test_describe_every_kind_of_operation():
    x, y = Value(2.0, "x"), Value(3.0, "y")
    assert describe(x / y) == "x / y"
    assert describe(x ** 3) == "x ** 3"
    assert describe(x ** y) == "x ** y"
    assert describe(x.exp()) == "exp(x)"
    assert describe(vsum([x, y])) == "sum(x, y)"
    assert describe(dot([x, y], [y, x])) == "dot([x, y], [y, x])"
    many = [Value(float(i), f"w{i}") for i in range(64)]
    assert describe(vsum(many)) == "sum(w0, w1, w2, ... (64 in all))"


def test_what_a_step_shows_is_what_it_did_to_the_gradients():
    # Taken while stepping: after each step, each parent's gradient is the
    # last running total shown for it, to the bit; a Value whose gradient is
    # 0 (a switched-off relu) shows zeros and changes nothing.
    net = MLP(4, [5, 3], activation="relu", seed=3)
    loss = mse(net([1.0, -2.0, 0.5, 3.0]), [0.0, 1.0, 0.0])
    saw_zero = False
    for step in backward_steps(loss):
        last_total = {}
        for parent, total in zip(step.parents, step.parent_grads):
            last_total[id(parent)] = (parent, total)
        for parent, total in last_total.values():
            assert parent.grad == total
        if step.parents and step.grad == 0.0:
            saw_zero = True
            assert step.added == (0.0,) * len(step.parents)
    assert saw_zero, "the example should switch off a relu"


def test_a_step_that_overwrites_shows_what_it_left(monkeypatch):
    # A learner's chain_rule_step that overwrites (=) instead of adding (+=):
    # the shown gradients are the ones it left, not the ones it should have.
    from tinygrad_edu.watch import tracing

    def overwriting_step(value):
        for parent, local_grad in zip(value.parents, value.local_grads):
            parent.grad = local_grad * value.grad

    monkeypatch.setattr(tracing, "chain_rule_step", overwriting_step)
    x = Value(3.0, "x")
    y = x * x                           # right: dy/dx = 6; overwriting gives 3
    first = next(iter(backward_steps(y)))
    assert first.added == (3.0, 3.0)
    assert first.parent_grads == (3.0, 3.0)
    assert x.grad == 3.0
