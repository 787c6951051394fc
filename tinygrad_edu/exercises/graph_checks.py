"""Checking backprop's two halves: ``chain_rule_step`` and ``topological_order``.

The graphs here are made with the ``Value`` constructor directly (data, op,
parents and local derivatives given as numbers), so these checks need none
of the learner's operations: each exercise is graded on its own.

The reference for the chain rule is linear algebra, not another backprop:
with ``L[c, p]`` the local derivative of Value ``c`` with respect to its
parent ``p``, the gradients ``g`` of every Value solve ``(I - L^T) g = e``,
where ``e`` is 1 at the root (numpy solves it).
"""

import random

import numpy as np

from .verdict import Failed, as_number, attempt, close, show

__all__ = ["check_chain_rule_step", "check_topological_order", "random_graph",
           "reference_gradients"]

# A chain this long overflows Python's default recursion limit (1000 calls).
DEEP_CHAIN = 3000


def random_graph(engine, rng, size):
    """``size`` Values, each made from 1 to 3 earlier ones (sometimes the same
    one twice); the last is the root. Returns the list, oldest first."""
    values = [engine.Value(round(rng.uniform(-2, 2), 1), f"v{i}")
              for i in range(min(2, size))]
    while len(values) < size:
        parents = tuple(rng.choice(values[-5:]) for _ in range(rng.randint(1, 3)))
        grads = tuple(round(rng.uniform(-2, 2), 1) for _ in parents)
        values.append(engine.Value(round(rng.uniform(-2, 2), 1), f"v{len(values)}",
                                   op="f", parents=parents, local_grads=grads))
    return values


def reference_gradients(values):
    """d(root)/d(v) for every Value in ``values`` (root last), by numpy."""
    index = {id(v): i for i, v in enumerate(values)}
    n = len(values)
    local = np.zeros((n, n))
    for child in values:
        for parent, grad in zip(child.parents, child.local_grads):
            local[index[id(child)], index[id(parent)]] += grad
    e = np.zeros(n)
    e[-1] = 1.0
    return np.linalg.solve(np.eye(n) - local.T, e)


def _describe(values):
    lines = []
    for v in values:
        if v.parents:
            parents = ", ".join(p.label for p in v.parents)
            grads = ", ".join(show(g) for g in v.local_grads)
            lines.append(f"  {v.label} made from ({parents}), local "
                         f"derivatives ({grads})")
    return lines


# ----------------------------------------------------------------------
# chain_rule_step
# ----------------------------------------------------------------------

def check_chain_rule_step(learner):
    """One step on small hand-made cases, then whole passes on random graphs."""
    _one_step(learner)
    _repeated_parent(learner)
    rng = random.Random("tinygrad-edu exercise chain_rule_step")
    for size in (3, 4, 6, 9, 14, 20, 30):
        _whole_pass(learner, random_graph(learner, rng, size))


def _step(learner, value, what):
    attempt(learner.chain_rule_step, value, doing=f"chain_rule_step({what})")


def _one_step(learner):
    a = learner.Value(2.0, "a")
    b = learner.Value(3.0, "b")
    v = learner.Value(6.0, "v", op="*", parents=(a, b), local_grads=(3.0, 2.0))
    v.grad, a.grad, b.grad = 0.5, 0.25, 0.0
    setting = ["v made from (a, b) with local derivatives (3, 2); "
               "v.grad = 0.5, a.grad = 0.25 and b.grad = 0 before the step"]
    _step(learner, v, "v")
    mine = as_number(a.grad, "a.grad"), as_number(b.grad, "b.grad")
    if not (close(mine[0], 1.75) and close(mine[1], 1.0)):
        hints = {(1.5, 1.0): "you overwrote parent.grad; add into it (+=): a "
                             "Value used by several others collects a share "
                             "from each",
                 (3.25, 2.0): "multiply each local derivative by value.grad "
                              "(the chain rule)",
                 (1.25, 1.5): "each parent gets its own local derivative: "
                              "zip(value.parents, value.local_grads)",
                 (0.25, 0.0): "change the parents' grad: nothing was added",
                 (1.0, 0.0): "multiply by value.grad, the gradient arriving "
                             "from above, not by the parent's own grad"}
        hint = next((h for (ga, gb), h in hints.items()
                     if close(mine[0], ga) and close(mine[1], gb)),
                    "parent.grad += local derivative * value.grad, for each parent")
        raise Failed(*setting, f"after your step a.grad = {show(mine[0])} and "
                     f"b.grad = {show(mine[1])}, expected 1.75 and 1",
                     f"hint: {hint}")
    after = as_number(v.grad, "v.grad")
    if after != 0.5:
        raise Failed(*setting, f"after your step v.grad = {show(after)}, "
                     f"expected it to stay 0.5",
                     "hint: don't change value.grad: the step only passes it "
                     "on to the parents (tinygrad-edu step shows each "
                     "gradient as it arrives)")


def _repeated_parent(learner):
    x = learner.Value(3.0, "x")
    v = learner.Value(9.0, "v", op="*", parents=(x, x), local_grads=(3.0, 3.0))
    v.grad = 2.0
    setting = ["v = x * x: v made from (x, x) with local derivatives (3, 3); "
               "v.grad = 2 and x.grad = 0 before the step"]
    _step(learner, v, "v")
    mine = as_number(x.grad, "x.grad")
    if not close(mine, 12.0):
        hint = ("x is a parent twice: add for each time it appears (+=), "
                "don't overwrite" if close(mine, 6.0) else
                "parent.grad += local derivative * value.grad, for each parent")
        raise Failed(*setting, f"after your step x.grad = {show(mine)}, "
                     f"expected 12", f"hint: {hint}")


def _whole_pass(learner, values):
    for v in values:
        v.grad = 0.0
    values[-1].grad = 1.0
    for v in reversed(values):           # newest first: every user before its parents
        _step(learner, v, v.label)
    expected = reference_gradients(values)
    for v, want in zip(values, expected):
        mine = as_number(v.grad, f"{v.label}.grad")
        if not close(mine, want):
            raise Failed(f"a backward pass over this graph, from {values[-1].label}"
                         f" (each Value stepped after all Values made from it):",
                         *_describe(values),
                         f"your {v.label}.grad = {show(mine)}, expected "
                         f"{show(float(want))}",
                         "hint: parent.grad += local derivative * value.grad, "
                         "for every parent, every time")


# ----------------------------------------------------------------------
# topological_order
# ----------------------------------------------------------------------

def _made(learner, label, *parents):
    return learner.Value(1.0, label, op="f", parents=parents,
                         local_grads=(1.0,) * len(parents))


def _small_graphs(learner):
    """(title, root) of small graphs that catch the usual mistakes."""
    graphs = []
    a = learner.Value(1.0, "a")
    graphs.append(("a single Value a", a))
    a = learner.Value(1.0, "a")
    b = _made(learner, "b", a)
    c = _made(learner, "c", b)
    graphs.append(("a chain: b made from a, c from b", c))
    x = learner.Value(1.0, "x")
    y = _made(learner, "y", x)
    z = _made(learner, "z", x, y)
    graphs.append(("a reused Value: y made from x, z from (x, y)", z))
    x = learner.Value(1.0, "x")
    y = _made(learner, "y", x)
    w = _made(learner, "w", x)
    out = _made(learner, "out", y, w)
    graphs.append(("a diamond: y and w both made from x, out from (y, w)",
                   out))
    x = learner.Value(1.0, "x")
    sq = _made(learner, "sq", x, x)
    out = _made(learner, "out", sq, x)
    graphs.append(("sq = x*x (x twice), out made from (sq, x)", out))
    return graphs


def check_topological_order(learner):
    """Small graphs with reused Values, leaves=False, random graphs, a deep chain."""
    for title, root in _small_graphs(learner):
        _check_order(learner, title, root, leaves=True)
    title, root = _small_graphs(learner)[3]
    _check_order(learner, title, root, leaves=False)
    rng = random.Random("tinygrad-edu exercise topological_order")
    for size in (8, 15, 40):
        values = random_graph(learner, rng, size)
        _check_order(learner, f"a random graph of {size} Values", values[-1],
                     leaves=True)
    chain = [learner.Value(1.0, "v0")]
    for i in range(1, DEEP_CHAIN):
        chain.append(_made(learner, f"v{i}", chain[-1]))
    _check_order(learner, f"a chain of {DEEP_CHAIN} Values", chain[-1],
                 leaves=True)


def _call_order(learner, title, root, leaves):
    call = f"topological_order({root.label}" + ("" if leaves else ", leaves=False") + ")"
    try:
        if leaves:
            result = attempt(learner.topological_order, root, doing=call)
        else:
            result = attempt(learner.topological_order, root, leaves=False, doing=call)
        return list(attempt(list, result, doing=f"reading the result of {call}")), call
    except Failed as failure:
        if "recursion limit" in failure.lines[0]:
            failure.lines.append("hint: walk the graph with a loop and a list "
                                 "as your own stack, not recursion")
        elif "leaves" in failure.lines[0]:
            failure.lines.append("hint: topological_order(root, leaves=True): "
                                 "leaves=False leaves out the Values without "
                                 "parents, except the root")
        failure.lines.insert(0, f"on {title}")
        raise


def _behind(root):
    """Every Value ``root`` depends on, itself included (in no special order)."""
    found, stack = {id(root): root}, [root]
    while stack:
        for parent in stack.pop().parents:
            if id(parent) not in found:
                found[id(parent)] = parent
                stack.append(parent)
    return list(found.values())


def _check_order(learner, title, root, leaves):
    before = [(v, v.data, 0.5, v.label) for v in _behind(root)]
    for v, *_ in before:
        v.grad = 0.5                   # a gradient the order must leave alone
    order, call = _call_order(learner, title, root, leaves)
    for v, *was in before:
        for field, old in zip(("data", "grad", "label"), was):
            if getattr(v, field, None) != old:
                raise Failed(f"on {title}", f"your {call} changed "
                             f"{was[2]}.{field} from {old!r} to "
                             f"{getattr(v, field, None)!r:.30}",
                             "hint: topological_order only lists the Values; "
                             "leave them as they are")
    expected = [v for v in _behind(root) if leaves or v.parents or v is root]
    setting = [f"on {title}", f"your {call} gave "
               + _names(order)]
    for item in order:
        if not isinstance(item, learner.Value):
            raise Failed(*setting, f"it contains {item!r:.30}, which is not a Value")
    _check_members(order, expected, root, leaves, setting)
    if order[0] is not root:
        last = (f"; your list has it last, so reverse the list at the end"
                if order[-1] is root else "")
        raise Failed(*setting, f"hint: the root {root.label} must come first: "
                     f"backprop starts there{last}")
    position = {id(v): i for i, v in enumerate(order)}
    for v in order:
        for parent in v.parents:
            if id(parent) in position and position[id(parent)] < position[id(v)]:
                raise Failed(*setting, f"hint: {parent.label} comes before "
                             f"{v.label}, which was made from it: a Value must "
                             f"come after every Value that uses it, so it has "
                             f"all its gradient before passing it on")


def _names(order, most=12):
    names = [getattr(v, "label", "?") or "?" for v in order[:most]]
    return "[" + ", ".join(names) + (", ...]" if len(order) > most else "]")


def _check_members(order, expected, root, leaves, setting):
    seen = {}
    for v in order:
        seen[id(v)] = seen.get(id(v), 0) + 1
        if seen[id(v)] == 2:
            raise Failed(*setting, f"hint: {v.label} is in it twice: remember "
                         f"the Values already visited (a set) and skip them")
    wanted = {id(v) for v in expected}
    for v in order:
        if id(v) not in wanted:
            if not leaves and not v.parents:
                raise Failed(*setting, f"hint: {v.label} has no parents: with "
                             f"leaves=False leave such Values out (but for "
                             f"the root)")
            raise Failed(*setting, f"hint: {v.label} is not behind {root.label}")
    for v in expected:
        if id(v) not in seen:
            raise Failed(*setting, f"hint: {v.label} is missing: every Value "
                         f"{root.label} depends on must be in the list")
