"""Watch the engine work: the forward pass as a trace, backprop step by step.

Every Value remembers the operation that made it, so after a computation has
run we can read it back as a list of operations in the order they happened:

>>> from tinygrad_edu import Value
>>> a = Value(2.0, label="a")
>>> b = Value(-3.0, label="b")
>>> c = a * b
>>> c.label = "c"
>>> print(format_trace(c))
#  value  computed as     data
1  a      input         2.0000
2  b      input        -3.0000
3  c      a * b        -6.0000

Backpropagation can be run one chain-rule step at a time. Each step visits one
Value, in the same topological order ``backward()`` uses, and passes its
gradient on to its parents: ``parent.grad += local derivative * value.grad``.

>>> for step in backward_steps(c):
...     print(step)
step 1 of 3: c = a * b = -6.0000, grad 1.0000
  to a: d(c)/d(a) = -3.0000, adds -3.0000 x 1.0000 = -3.0000, a.grad is now -3.0000
  to b: d(c)/d(b) = 2.0000, adds 2.0000 x 1.0000 = 2.0000, b.grad is now 2.0000
step 2 of 3: b = -3.0000 (input), grad 2.0000
  a leaf: nothing to pass on; d(c)/d(b) = 2.0000
step 3 of 3: a = 2.0000 (input), grad -3.0000
  a leaf: nothing to pass on; d(c)/d(a) = -3.0000

``backward_steps`` is built on the engine's own ``start_backward`` and
``chain_rule_step``, exactly as ``Value.backward()`` is, so running every step
leaves the same gradients as ``backward()``: one implementation, not two.
"""

from dataclasses import dataclass

from ..engine import (Value, _exact_text, chain_rule_step, dot_sides,
                      start_backward, topological_order)

__all__ = ["trace", "format_trace", "Trace", "TraceEntry",
           "backward_steps", "BackwardStep", "format_number", "describe"]

# Operations written between their two inputs, like "a * b".
_INFIX = {"+", "-", "*", "/", "**"}

# How many inputs of a long sum or dot product to show before "...".
_SHOWN_INPUTS = 3


def format_number(x):
    """A number as the trace prints it: 4 decimals, or scientific if tiny/huge.

    >>> format_number(0.42), format_number(-3), format_number(0.000012345)
    ('0.4200', '-3.0000', '1.234e-05')
    """
    if x == 0 or 1e-3 <= abs(x) < 1e6:
        return f"{x:.4f}"
    return f"{x:.3e}"


def _names(values):
    """``"a, b, c"``, or ``"a, b, c, ... (64 in all)"`` for long lists."""
    names = [v.name for v in values]
    if len(names) <= _SHOWN_INPUTS + 1:
        return ", ".join(names)
    return ", ".join(names[:_SHOWN_INPUTS]) + f", ... ({len(names)} in all)"


def describe(value):
    """How ``value`` was computed, written with its parents' names.

    >>> x = Value(3.0, label="x")
    >>> y = x * x
    >>> y.label = "y"
    >>> describe(y), describe(y.tanh()), describe(-y), describe(x)
    ('x * x', 'tanh(y)', '-y', 'input')
    """
    op, parents = value.op, value.parents
    if not parents:
        if value.is_parameter:
            return "parameter"
        return "input" if value.label else "constant"
    if op in _INFIX and len(parents) == 2:
        return f"{parents[0].name} {op} {parents[1].name}"
    if value.exponent is not None:                    # x ** 2: a fixed power
        return f"{parents[0].name} ** {_exact_text(value.exponent)}"
    if op == "neg":
        return f"-{parents[0].name}"
    if op == "dot":
        weights, inputs = dot_sides(parents)
        return f"dot([{_names(weights)}], [{_names(inputs)}])"
    return f"{op}({_names(parents)})"


# ----------------------------------------------------------------------
# The forward pass as a trace.
# ----------------------------------------------------------------------

@dataclass(frozen=True)
class TraceEntry:
    """One line of the trace: a Value, how it was made, and its number."""

    value: Value
    expression: str     # e.g. "v3 * v5"; "input", "parameter" or "constant" for a leaf
    data: float

    @property
    def name(self):
        return self.value.name

    @property
    def inputs(self):
        """The Values this one was computed from (empty for an input)."""
        return self.value.parents

    @property
    def is_input(self):
        """True for a leaf: an input, weight or constant, computed from nothing."""
        return not self.value.parents

    def __str__(self):
        if self.is_input:
            return f"{self.name} = {format_number(self.data)} ({self.expression})"
        return f"{self.name} = {self.expression} = {format_number(self.data)}"


class Trace:
    """The forward pass, one :class:`TraceEntry` per Value, in the order run.

    Iterate over it, index it, look a Value up by name with ``find``, or
    ``print`` it as a table.
    """

    def __init__(self, entries):
        self.entries = list(entries)

    def __iter__(self):
        return iter(self.entries)

    def __len__(self):
        return len(self.entries)

    def __getitem__(self, index):
        return self.entries[index]

    def operations(self):
        """Only the entries that computed something (no inputs)."""
        return [e for e in self.entries if not e.is_input]

    def find(self, name):
        """The entry whose Value is called ``name`` (a label, or ``v7``)."""
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(f"no Value called {name!r} in this trace; names "
                       f"include {_names([e.value for e in self.entries])}")

    def __str__(self):
        return format_trace(self)


def trace(root):
    """The forward pass that computed ``root``, as a :class:`Trace`.

    Values are listed in the order they were created (their ``id``), which is
    the order the program ran them; every Value comes after its inputs.
    """
    _check_root(root, "trace")
    values = sorted(topological_order(root), key=lambda v: v.id)
    return Trace(TraceEntry(v, describe(v), v.data) for v in values)


def format_trace(root_or_trace, inputs=True):
    """The trace as a table: number, value, how it was computed, data.

    Give a Value (its trace is taken) or a :class:`Trace`. With
    ``inputs=False`` only operations are listed, not the input leaves.
    """
    if isinstance(root_or_trace, Trace):
        entries = root_or_trace
    else:
        _check_root(root_or_trace, "format_trace")
        entries = trace(root_or_trace)
    rows = [(str(i), e.name, e.expression, format_number(e.data))
            for i, e in enumerate(entries, start=1) if inputs or not e.is_input]
    return _table(("#", "value", "computed as", "data"), rows)


def _table(header, rows):
    """Columns padded to line up; the last column (numbers) right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths)]
        cells.append(row[-1].rjust(widths[-1]))
        lines.append("  ".join(cells))
    return "\n".join(lines)


# ----------------------------------------------------------------------
# The backward pass, one step at a time.
# ----------------------------------------------------------------------

@dataclass(frozen=True)
class BackwardStep:
    """What one chain-rule step did, recorded as numbers.

    ``value`` was visited when its gradient was ``grad`` (complete by then:
    every Value that used it had been visited). For each of its ``parents``
    the step multiplied the ``local_grads`` entry, d(value)/d(parent), by
    ``grad`` and added the result (``added``) to the parent's gradient, which
    was then ``parent_grads`` (for a parent listed twice, as in ``x * x``,
    the first entry is the gradient half way).
    """

    number: int             # 1 for the first step
    total: int              # how many steps the pass has
    root: Value
    value: Value
    grad: float
    parents: tuple
    local_grads: tuple
    added: tuple
    parent_grads: tuple     # each parent's grad just after its addition

    @property
    def is_leaf(self):
        return not self.parents

    def header(self):
        """The first line: which Value, how it was computed, its gradient."""
        v = self.value
        made = (f"{format_number(v.data)} ({describe(v)})" if self.is_leaf
                else f"{describe(v)} = {format_number(v.data)}")
        return (f"step {self.number} of {self.total}: {v.name} = {made}, "
                f"grad {format_number(self.grad)}")

    def lines(self, max_parents=None):
        """One line per parent: the chain rule in numbers.

        With ``max_parents``, at most that many lines, then a count of the rest.
        """
        if self.is_leaf:
            return [f"  a leaf: nothing to pass on; "
                    f"d({self.root.name})/d({self.value.name}) = "
                    f"{format_number(self.grad)}"]
        v = self.value.name
        lines = [f"  to {p.name}: d({v})/d({p.name}) = {format_number(local)}, "
                 f"adds {format_number(local)} x {format_number(self.grad)} = "
                 f"{format_number(added)}, {p.name}.grad is now {format_number(after)}"
                 for p, local, added, after in zip(
                     self.parents, self.local_grads, self.added, self.parent_grads)]
        if max_parents is not None and len(lines) > max_parents:
            hidden = len(lines) - max_parents
            lines = lines[:max_parents] + [f"  ... and {hidden} more parents"]
        return lines

    def format(self, max_parents=None):
        """The step as text: ``str(step)``, optionally with fewer parent lines."""
        return "\n".join([self.header(), *self.lines(max_parents)])

    def __str__(self):
        return self.format()

    def _repr_pretty_(self, printer, cycle):
        """IPython and Jupyter show the step as ``print`` does, not as a dataclass."""
        printer.text(self.format())


def backward_steps(root, stop_at=None):
    """Run backprop from ``root`` one step at a time, yielding a :class:`BackwardStep`.

    Each step is applied (gradients updated) before it is yielded, so after
    the loop has finished every Value holds the gradient ``backward()`` gives.

    ``stop_at`` is a breakpoint: a Value or its name (a label, or
    ``"v7"``), or a list of them. The steps stop right after the one that
    visits the first of them; the Values after it keep the partial gradients
    reached so far. A name that is not in the graph is an error straight
    away.
    """
    _check_root(root, "backward_steps")
    breakpoints = _check_breakpoints(root, stop_at)
    return _run_steps(root, breakpoints)


def _run_steps(root, breakpoints):
    """The generator behind ``backward_steps`` (which checks its arguments
    first, so that mistakes show up when it is called, not when first used)."""
    order = start_backward(root)
    for number, value in enumerate(order, start=1):
        grad = value.grad
        before = {id(p): p.grad for p in value.parents}
        added = _amounts_passed(value)
        chain_rule_step(value)
        yield BackwardStep(
            number=number, total=len(order), root=root, value=value, grad=grad,
            parents=value.parents, local_grads=value.local_grads,
            added=added,
            parent_grads=_running_totals(value.parents, added, before))
        if value.name in breakpoints:
            return


def _amounts_passed(value):
    """What ``chain_rule_step(value)`` adds to each parent's gradient.

    Each is the local derivative times ``value.grad``, the very product the
    step computes; a Value whose gradient is 0 passes nothing on (0.0 each).
    """
    grad = value.grad
    if grad == 0.0:
        return (0.0,) * len(value.parents)
    return tuple(local_grad * grad for local_grad in value.local_grads)


def _running_totals(parents, added, before):
    """Each parent's gradient right after its own addition in this step.

    A parent can appear twice (``x * x``): its first line then shows the
    gradient half way, the second the total. The additions are redone in
    the order ``chain_rule_step`` made them, so the numbers are exact. A
    parent's last line is its gradient as the step left it: the same
    number, unless the step is a learner's own that did something else.
    """
    running = dict(before)
    totals = []
    for parent, amount in zip(parents, added):
        running[id(parent)] += amount
        totals.append(running[id(parent)])
    last_line = {id(parent): i for i, parent in enumerate(parents)}
    for i in last_line.values():
        totals[i] = parents[i].grad
    return tuple(totals)


def _check_root(root, tool):
    """A clear error when ``tool`` is given something other than a Value."""
    if not isinstance(root, Value):
        raise TypeError(
            f"{tool} takes one Value, got {type(root).__name__} {root!r:.60}: "
            f"give the Value you called backward() on, e.g. {tool}(loss)")


def _check_breakpoints(root, stop_at):
    """The set of breakpoint names, each checked to be in the graph."""
    if stop_at is None:
        return set()
    if not isinstance(stop_at, (list, tuple, set, frozenset)):
        stop_at = [stop_at]
    names = [v.name if isinstance(v, Value) else v for v in stop_at]
    wrong = [n for n in names if not isinstance(n, str)]
    if wrong:
        raise TypeError(f"stop_at takes a Value or its name (or a list of them), "
                        f"e.g. stop_at='w' or stop_at=w; got {wrong[0]!r}")
    names = set(names)
    known = {v.name for v in topological_order(root)}
    missing = sorted(names - known)
    if missing:
        raise ValueError(
            f"cannot stop at {', '.join(map(repr, missing))}: no Value of "
            f"that name is in the graph behind {root.name}")
    return names
