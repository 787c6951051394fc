"""Check ``backward()`` against central differences: the test for an op you wrote.

Named and used like PyTorch's ``torch.autograd.gradcheck``:

>>> from tinygrad_edu import Value, gradcheck
>>> gradcheck(lambda x, y: (x * y).tanh() + x ** 3, [Value(0.5), Value(-1.2)])
True

For every input ``x_i`` it compares two numbers:

* the gradient ``backward()`` gives, d(output)/d(x_i), and
* the slope measured from outside by *central differences*,
  (f(x_i + eps) - f(x_i - eps)) / (2 eps), which knows nothing of the graph.

They must agree to ``atol + rtol * |slope|``. When they do not, the error
names the input, both numbers, and the first operation (walking from the
inputs to the output) whose own recorded slope disagrees with the measured
one: the op whose ``local_grads`` are wrong. To find it, the recorded local
derivatives are carried forward from the input (forward-mode differentiation)
and compared with how much each node of the graph moved when the input moved.

>>> def bad_cube(x):        # d(x^3)/dx is 3 x^2, not 2 x^2
...     return Value(x.data ** 3, op="cube", parents=(x,),
...                  local_grads=(2 * x.data ** 2,))
>>> gradcheck(lambda x: bad_cube(x) * 2, [Value(1.5, label="x")])
Traceback (most recent call last):
...
tinygrad_edu.watch.gradcheck.GradcheckError: d(output)/d(x) (input 0) disagrees: backward() gives 9, central differences give 13.5; the first operation whose recorded slope is off is 'cube' (cube(x) = 3.375): its local derivatives give d/d(x) = 4.5, the measured slope is 6.75

The inputs you pass are not changed: ``fn`` is called on fresh copies of
them. Other Values ``fn`` uses (weights it closes over) keep the gradients
they had.
"""

import math
import numbers

from ..engine import Value, topological_order
from .tracing import describe

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """``backward()`` and central differences disagree (see :func:`gradcheck`)."""


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """True if ``fn``'s gradients match central differences for every input.

    ``fn(*inputs)`` must return a Value (or a list of Values: each is
    checked). ``inputs`` is a list of Values or numbers (a single Value is
    fine too). With ``raise_exception=False`` a failure returns False
    instead of raising :class:`GradcheckError`.
    """
    _check_settings(eps, atol, rtol)
    start = _input_numbers(inputs)
    names = _input_names(inputs)
    outputs = _outputs(fn, _fresh(inputs, start))
    try:
        for k in range(len(outputs)):
            for i in range(len(start)):
                _check_one(fn, inputs, start, k, i, names[i], len(outputs),
                           eps, atol, rtol)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


# ----------------------------------------------------------------------
# Checking the arguments.
# ----------------------------------------------------------------------

def _check_settings(eps, atol, rtol):
    for name, number in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if isinstance(number, bool) or not isinstance(number, numbers.Real) or number < 0:
            raise ValueError(f"gradcheck's {name} must be a number >= 0, got {number!r}")
    if eps == 0:
        raise ValueError("gradcheck's eps must be above 0, e.g. 1e-6")


def _input_numbers(inputs):
    """The inputs' numbers (a single Value or number counts as one input)."""
    if isinstance(inputs, (Value, numbers.Real)):
        inputs = [inputs]
    try:
        inputs = list(inputs)
    except TypeError:
        raise TypeError(
            f"gradcheck takes a list of inputs (Values or numbers), got "
            f"{type(inputs).__name__}; e.g. gradcheck(f, [Value(0.5)])") from None
    if not inputs:
        raise ValueError("gradcheck needs at least one input to vary")
    return [v.data if isinstance(v, Value) else Value(v).data for v in inputs]


def _input_names(inputs):
    if isinstance(inputs, (Value, numbers.Real)):
        inputs = [inputs]
    return [v.label if isinstance(v, Value) and v.label else f"inputs[{i}]"
            for i, v in enumerate(inputs)]


def _fresh(inputs, numbers_, moved=None, by=0.0):
    """New leaf Values with the inputs' numbers (input ``moved`` shifted by ``by``)."""
    labels = _input_names(inputs)
    return [Value(x + by if i == moved else x, labels[i])
            for i, x in enumerate(numbers_)]


def _outputs(fn, leaves):
    """``fn(*leaves)`` as a list of Values, or a clear error saying what it gave."""
    result = fn(*leaves)
    outputs = result if isinstance(result, (list, tuple)) else [result]
    for out in outputs:
        if not isinstance(out, Value):
            raise TypeError(
                f"gradcheck needs fn to return a Value (or a list of Values), "
                f"but it returned {out!r} of type {type(out).__name__}; build "
                f"the result from the inputs with Value operations (math on "
                f".data cuts the graph)")
    if not outputs:
        raise ValueError("gradcheck needs fn to return at least one Value")
    return outputs


# ----------------------------------------------------------------------
# One output, one input.
# ----------------------------------------------------------------------

def _check_one(fn, inputs, start, k, i, name, n_outputs, eps, atol, rtol):
    """Compare backward() with central differences for output ``k``, input ``i``."""
    leaves = _fresh(inputs, start)
    out = _outputs(fn, leaves)[k]
    analytic = _backward_gradient(out, leaves[i])
    plus = _outputs(fn, _fresh(inputs, start, i, eps))[k]
    minus = _outputs(fn, _fresh(inputs, start, i, -eps))[k]
    numeric = (plus.data - minus.data) / (2 * eps)
    if _close(analytic, numeric, atol, rtol):
        return
    what = "d(output)" if n_outputs == 1 else f"d(output {k})"
    numbers = (f"backward() gives {analytic:.6g}, central differences give "
               f"{numeric:.6g}")
    if math.isnan(analytic) or math.isnan(numeric):
        raise GradcheckError(
            f"{what}/d({name}) (input {i}) is NaN ({numbers}; the output is "
            f"{out.data:.6g}): a NaN cannot be checked, so this is a failure; "
            f"check at inputs where the function is defined")
    message = f"{what}/d({name}) (input {i}) disagrees: {numbers}"
    raise GradcheckError(
        message + "; " + _nearest_op(out, plus, minus, leaves[i], name, eps, atol, rtol))


def _backward_gradient(out, leaf):
    """d(out)/d(leaf) by ``backward()``, leaving other leaves' grads as they were."""
    leaves = [v for v in topological_order(out) if not v.parents]
    saved = [v.grad for v in leaves]
    leaf.grad = 0.0
    out.backward()
    gradient = leaf.grad
    for v, grad in zip(leaves, saved):
        v.grad = grad
    return gradient


def _close(analytic, numeric, atol, rtol):
    """Do the two slopes agree? (A NaN agrees with nothing, not even a NaN.)"""
    return abs(analytic - numeric) <= atol + rtol * abs(numeric)


def _nearest_op(out, plus, minus, leaf, name, eps, atol, rtol):
    """Name the first op, from the input up, whose recorded slope is wrong."""
    nodes = list(reversed(topological_order(out)))          # inputs first
    nodes_plus = list(reversed(topological_order(plus)))
    nodes_minus = list(reversed(topological_order(minus)))
    if not (len(nodes) == len(nodes_plus) == len(nodes_minus)
            and all(a.op == b.op == c.op for a, b, c in zip(nodes, nodes_plus, nodes_minus))):
        return (f"the graph changes shape when {name} moves by {eps:g} (a branch "
                f"on .data?), so no single operation can be named")
    recorded = {}                    # node -> d(node)/d(leaf) from local_grads
    for node, up, down in zip(nodes, nodes_plus, nodes_minus):
        measured = (up.data - down.data) / (2 * eps)
        if not node.parents:
            recorded[node] = 1.0 if node is leaf else 0.0
            if _close(recorded[node], measured, atol, rtol):
                continue
            return (f"{node.name} moves with {name} although it is a separate "
                    f"leaf: fn computes it from {name}'s .data, outside the graph")
        recorded[node] = sum(g * recorded[p]
                             for p, g in zip(node.parents, node.local_grads))
        if not _close(recorded[node], measured, atol, rtol):
            return _blame(node, name, recorded[node], measured)
    return "every operation's recorded slope matches; check how backward() adds them up"


def _blame(node, name, recorded, measured):
    """The sentence that names ``node`` as the op with the wrong derivative."""
    label = f"{node.label} = " if node.label else ""
    where = f"'{node.op}' ({label}{describe(node)} = {node.data:.6g})"
    if len(node.local_grads) != len(node.parents):
        return (f"the first operation whose recorded slope is off is {where}: "
                f"it has {len(node.parents)} parents but "
                f"{len(node.local_grads)} local derivatives")
    return (f"the first operation whose recorded slope is off is {where}: its "
            f"local derivatives give d/d({name}) = {recorded:.6g}, the measured "
            f"slope is {measured:.6g}")
