"""The engine: a scalar ``Value`` that remembers how it was made, and backpropagation.

Read this file top to bottom; it is written as a chapter.

1. A ``Value`` wraps one number (``data``). When two Values are combined, say
   ``c = a * b``, the result records the operation (``op='*'``), the Values it
   was made from (``parents = (a, b)``) and, for each parent, the *local
   derivative* of the result with respect to that parent
   (``local_grads = (b.data, a.data)``). Recording this as the program runs is
   called *tracing*: the graph of Values is the trace of the computation.

2. Each operation is a short method that computes its forward value and its
   local derivatives side by side, so the calculus sits next to the arithmetic.

3. ``backward()`` applies the chain rule. It visits the Values from the output
   back to the inputs in *topological order* (every Value before the Values it
   was made from) and, at each one, does a single chain-rule step:

       parent.grad += local_grad * value.grad

   That one step is the function :func:`chain_rule_step`. The tracing tools
   (``backward_steps``) call the very same function, so stepping through
   backprop by hand and calling ``backward()`` cannot disagree.

4. An operation is a forward rule and a local derivative per operand, so
   :func:`define_op` lets you add one of your own from exactly those two
   things (the last section of this file).

Design notes a reader may wonder about
---------------------------------------
* Local derivatives are numbers stored on the node, not closures. A closure that
  refers to its own output makes every node a reference cycle, which only
  Python's cyclic garbage collector can free (slow). With plain tuples,
  ordinary reference counting frees a graph the moment it is dropped.
* The topological sort is a loop with an explicit stack, not recursion, so a
  chain of a million operations works. It keeps the Values it has seen in a
  set; a Value hashes by identity (it defines no ``__eq__``), so this is
  quick.
* Gradients *accumulate* into leaves (Values with no parents, such as weights
  and inputs), as in PyTorch: calling ``backward()`` twice adds the gradient
  twice. Intermediate Values are reset at the start of each ``backward()`` and
  hold the gradient of the latest pass. Use ``zero_grad()`` to start afresh.
* Accepted numbers: ``int`` and ``float`` and anything registered as
  ``numbers.Real`` (so numpy integer and float scalars work). ``bool`` is
  refused, since ``Value(True)`` is nearly always a mistake.
* NaN and infinity are allowed as data and propagate as IEEE arithmetic says
  (``nan * 2`` is ``nan``, ``inf - inf`` is ``nan``; ``relu`` keeps a NaN a
  NaN). The training loop checks the loss for them.
* ``exp`` of a number above about 709.78 does not fit in a float: it raises
  ``OverflowError`` with the value named, rather than returning ``inf`` that
  would silently poison every gradient behind it. ``**`` does the same where
  its result overflows (as Python's own ``**`` does).
"""

import contextvars
import functools
import inspect
import itertools
import math
import numbers
import operator
from contextlib import contextmanager
from typing import Callable, NamedTuple

__all__ = [
    "Value",
    "no_grad",
    "is_grad_enabled",
    "vsum",
    "dot",
    "topological_order",
    "start_backward",
    "chain_rule_step",
    "dot_sides",
    "Op",
    "define_op",
    "defined_ops",
]

# Every Value gets the next number from this counter, so the trace can say
# "v7 = v3 * v5" and list operations in the order they ran.
_next_id = itertools.count()

# When False (inside ``with no_grad():``) operations record no parents, so no
# graph is built: useful for evaluating a network without training it. It is a
# context variable, so each thread (and each asyncio task) has its own switch:
# one thread evaluating inside ``no_grad()`` never stops another's graph.
_recording = contextvars.ContextVar("tinygrad_edu_recording", default=True)


def no_grad(function=None):
    """Build no graph: around a block (for evaluation), or on a function.

    As in PyTorch, it works as ``with no_grad():``, as ``@no_grad()`` and as
    ``@no_grad`` on a function, which then runs with no graph built.

    Only the thread (or asyncio task) inside the block stops recording;
    others go on building their graphs.

    >>> from tinygrad_edu import Value, no_grad
    >>> x = Value(2.0)
    >>> with no_grad():
    ...     y = x * x
    >>> y.parents
    ()
    >>> @no_grad
    ... def square(v):
    ...     return v * v
    >>> square(x).parents
    ()

    On a generator function, each resumption of the generator (each
    ``next``) runs with recording off, while the code that consumes it
    goes on building graphs.
    """
    if function is None:
        return _no_grad_block()
    if not callable(function):
        raise TypeError(
            f"no_grad takes a function to decorate, got {function!r}; "
            f"write 'with no_grad():' around a block")
    if inspect.isgeneratorfunction(function):
        return _no_grad_generator(function)
    return _no_grad_block()(function)      # a with-block around each call


def _no_grad_generator(function):
    """``function`` (a generator function) with recording off while it runs.

    A with-block around the call would only cover making the generator; its
    body runs later, at each ``next()``. So each resumption gets its own block
    (as PyTorch does it): ``next``/``send``, ``throw`` and ``close`` are
    passed on to the generator inside.
    """
    @functools.wraps(function)
    def generator(*args, **kwargs):
        inner = function(*args, **kwargs)
        resume = functools.partial(inner.send, None)
        while True:
            try:
                with _no_grad_block():
                    item = resume()          # the body runs here, up to its yield
            except StopIteration as finished:
                return finished.value
            try:
                sent = yield item
            except GeneratorExit:            # close()
                with _no_grad_block():
                    inner.close()
                raise
            except BaseException as error:   # throw(error)
                resume = functools.partial(inner.throw, error)
            else:
                resume = functools.partial(inner.send, sent)
    return generator


@contextmanager
def _no_grad_block():
    """The block of ``with no_grad():``: recording off, then back as it was."""
    token = _recording.set(False)
    try:
        yield
    finally:
        _recording.reset(token)


def is_grad_enabled():
    """True unless we are inside a ``no_grad()`` block (of this thread or task)."""
    return _recording.get()


# Richer ways to show a Value in Jupyter: MIME type -> function(value) that
# returns the shown data, or None to show the text only. The engine draws
# nothing itself (pictures sit in a layer above it); the front door
# registers the graph picture here (see tinygrad_edu/__init__.py).
_displays = {}


def register_display(mime_type, show):
    """Show Values in Jupyter also as ``mime_type``, drawn by ``show(value)``."""
    _displays[mime_type] = show


def _as_float(number, what="Value"):
    """Check that ``number`` is a real number and return it as a float."""
    if type(number) is float:        # the common cases, checked the quick way
        return number
    if type(number) is int:
        return float(number)
    if isinstance(number, bool) or not isinstance(number, numbers.Real):
        raise TypeError(
            f"{what} needs a real number (int or float), but was given "
            f"{number!r} of type {type(number).__name__}. "
            + ("Use 1.0 or 0.0 instead of a bool."
               if isinstance(number, bool)
               else "Convert it first, e.g. Value(float(x)).")
        )
    return float(number)


def _as_value(thing):
    """Wrap a plain number in a Value (a constant leaf); leave Values alone."""
    return thing if isinstance(thing, Value) else Value(thing)


class Value:
    """One scalar in a computation, with its gradient and its history.

    >>> a = Value(2.0, label="a")
    >>> b = Value(-3.0, label="b")
    >>> c = a * b + a
    >>> c.backward()
    >>> c.data, a.grad, b.grad
    (-4.0, -2.0, 2.0)
    """

    __slots__ = ("data", "grad", "op", "parents", "local_grads", "label", "id",
                 "is_parameter", "__weakref__")

    # The constant n of ``x ** n``: a number on the Values ``**`` makes (see
    # _Power below), None on every other Value.
    exponent = None
    # The rules (an Op) of an operation made with define_op, on the Values
    # it makes (see _Defined at the end), None on every other Value.
    rules = None

    def __init__(self, data, label="", *misplaced, parameter=False, op="",
                 parents=(), local_grads=()):
        self.data = _as_float(data)
        if misplaced or type(label) is not str:
            _refuse_positional_children(label, misplaced)
        self.grad = 0.0
        self.op = op
        self.label = label
        # True for a weight or bias: a number training changes. Only the
        # pictures and the trace read it; the arithmetic does not care.
        self.is_parameter = parameter
        self.id = next(_next_id)
        if _recording.get():
            self.parents = tuple(parents)
            self.local_grads = tuple(local_grads)
            if len(self.parents) != len(self.local_grads):
                _refuse_unmatched_local_grads(self)
        else:
            self.parents = ()
            self.local_grads = ()

    def __repr__(self):
        text = f"Value(data={self.data:.4g}, grad={self.grad:.4g}"
        if self.op:
            text += f", op={self.op!r}"
        if self.label:
            text += f", label={self.label!r}"
        return text + ")"

    def __float__(self):
        return self.data

    def item(self):
        """The number, as a plain float (PyTorch's ``tensor.item()``)."""
        return self.data

    def _repr_mimebundle_(self, include=None, exclude=None):
        """What Jupyter shows: the text above, plus any registered display."""
        bundle = {"text/plain": repr(self)}
        for mime_type, show in _displays.items():
            shown = show(self)
            if shown is not None:
                bundle[mime_type] = shown
        return bundle

    @property
    def name(self):
        """The label if there is one, else ``v`` and the Value's number."""
        return self.label or f"v{self.id}"

    # ------------------------------------------------------------------
    # Arithmetic. Each operation returns a new Value whose local_grads are
    # the derivatives of the result with respect to each parent.
    # ------------------------------------------------------------------

    def __add__(self, other):
        other = _as_value(other)
        # d(a+b)/da = 1, d(a+b)/db = 1
        return Value(self.data + other.data, op="+",
                     parents=(self, other), local_grads=(1.0, 1.0))

    def __mul__(self, other):
        other = _as_value(other)
        # d(a*b)/da = b, d(a*b)/db = a
        return Value(self.data * other.data, op="*",
                     parents=(self, other), local_grads=(other.data, self.data))

    def __sub__(self, other):
        other = _as_value(other)
        # d(a-b)/da = 1, d(a-b)/db = -1
        return Value(self.data - other.data, op="-",
                     parents=(self, other), local_grads=(1.0, -1.0))

    def __truediv__(self, other):
        other = _as_value(other)
        if other.data == 0:
            raise ZeroDivisionError(
                f"division by zero: {self.data:g} / {other.data:g} "
                f"(the divisor {other.name} is 0)")
        # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2, computed as -(a/b)/b: b ** 2
        # could underflow to 0 (b = 1e-200) although a/b itself is finite.
        quotient = self.data / other.data
        return Value(quotient, op="/", parents=(self, other),
                     local_grads=(1.0 / other.data, -quotient / other.data))

    def __neg__(self):
        # d(-a)/da = -1
        return Value(-self.data, op="neg", parents=(self,), local_grads=(-1.0,))

    def __pow__(self, exponent):
        if isinstance(exponent, Value):
            return self._pow_value(exponent)
        n = _as_float(exponent, "the exponent of **")
        x = self.data
        _check_power(x, n)
        out = _power(x, n)
        # d(x^n)/dx = n * x^(n-1)
        local = 0.0 if n == 0 else n * _power(x, n - 1)
        out = _Power(out, op=f"**{_exact_text(n)}", parents=(self,),
                     local_grads=(local,))
        out.exponent = n            # kept as a number too, for the fast paths
        return out

    def _pow_value(self, exponent):
        """``a ** b`` where the exponent is a Value too: a^b = exp(b log a)."""
        a, b = self.data, exponent.data
        if a == 0 and b > 0:
            return self._pow_zero_base(exponent)
        if a <= 0:
            raise ValueError(
                f"a Value exponent needs a positive base, got {a:g} ** "
                f"{b:g}: the derivative with respect to the exponent is "
                f"a^b * log(a), and log({a:g}) is undefined")
        out = _power(a, b)
        # d(a^b)/da = b * a^(b-1),  d(a^b)/db = a^b * log(a)
        return Value(out, op="**", parents=(self, exponent),
                     local_grads=(b * _power(a, b - 1), out * math.log(a)))

    def __pos__(self):
        # +v is v itself, as in PyTorch: nothing to compute, nothing to record
        return self

    def _pow_zero_base(self, exponent):
        """``0 ** b`` for b > 0: its limit, 0, as PyTorch and autograd give it."""
        b = exponent.data
        # d(0^b)/db = 0^b * log(0) -> 0 (0^b shrinks faster than log grows)
        # d(a^b)/da at a = 0 is b * 0^(b-1): 0 for b > 1, 1 for b = 1, and
        # infinite for 0 < b < 1 (as PyTorch says; the base is usually a constant)
        slope = 0.0 if b > 1 else (1.0 if b == 1 else math.inf)
        return Value(0.0, op="**", parents=(self, exponent),
                     local_grads=(slope, 0.0))

    # The right-hand forms: 2 + v, 2 - v, 2 * v, 2 / v, 2 ** v.
    def __radd__(self, other):
        return _as_value(other) + self

    def __rsub__(self, other):
        return _as_value(other) - self

    def __rmul__(self, other):
        return _as_value(other) * self

    def __rtruediv__(self, other):
        return _as_value(other) / self

    def __rpow__(self, other):
        return _as_value(other) ** self

    # ------------------------------------------------------------------
    # Comparisons: plain booleans from the numbers, like PyTorch's
    # ``x.item() < y.item()``. They build no graph and have no gradient.
    # ``==`` is left alone: a Value equals only itself, so Values can live
    # in sets and dicts (they hash by identity). With ``<`` defined, the
    # built-in ``max(a, b)``, ``min`` and ``sorted`` work on Values: ``max``
    # returns the larger Value itself, so its gradient goes to that one.
    # ------------------------------------------------------------------

    def __lt__(self, other):
        return self.data < _compared(other, "<")

    def __le__(self, other):
        return self.data <= _compared(other, "<=")

    def __gt__(self, other):
        return self.data > _compared(other, ">")

    def __ge__(self, other):
        return self.data >= _compared(other, ">=")

    # ------------------------------------------------------------------
    # Functions of one Value.
    # ------------------------------------------------------------------

    def exp(self):
        x = self.data
        try:
            out = math.exp(x)
        except OverflowError:
            raise OverflowError(
                f"exp({x:g}) is too large for a float (the limit is about "
                f"exp(709.78)); for a softmax or cross-entropy use the "
                f"stable versions, which subtract the largest logit first"
            ) from None
        # d(e^x)/dx = e^x
        return Value(out, op="exp", parents=(self,), local_grads=(out,))

    def log(self):
        x = self.data
        if x <= 0:
            raise ValueError(
                f"log needs a positive number, got log({x:g}) from "
                f"{self.name}; add a small epsilon or use a stable loss")
        # d(log x)/dx = 1/x
        return Value(math.log(x), op="log", parents=(self,),
                     local_grads=(1.0 / x,))

    def sqrt(self):
        x = self.data
        if x <= 0:
            raise ValueError(
                f"sqrt needs a number >= 0, got sqrt({x:g}) from {self.name}"
                if x < 0 else
                f"the slope of sqrt at 0 is infinite, so its gradient is "
                f"undefined; keep x away from 0, e.g. ({self.name} + 1e-12).sqrt()")
        out = math.sqrt(x)
        # d(sqrt x)/dx = 1 / (2 sqrt x)
        return Value(out, op="sqrt", parents=(self,), local_grads=(0.5 / out,))

    def sin(self):
        x = self.data
        # d(sin x)/dx = cos x
        return Value(_sin(x), op="sin", parents=(self,), local_grads=(_cos(x),))

    def cos(self):
        x = self.data
        # d(cos x)/dx = -sin x
        return Value(_cos(x), op="cos", parents=(self,), local_grads=(-_sin(x),))

    def clamp(self, min=None, max=None):
        """This Value kept between ``min`` and ``max``, as ``torch.clamp``.

        Either bound may be left out; each is a number or a Value. The result
        is one of the three, and the gradient goes to that one.
        """
        if min is None and max is None:
            raise ValueError("clamp needs a min, a max or both, e.g. v.clamp(0.0, 1.0)")
        low = _as_value(-math.inf if min is None else min)
        high = _as_value(math.inf if max is None else max)
        x, lo, hi = self.data, low.data, high.data
        if lo > hi:
            raise ValueError(f"clamp's min {lo:g} is above its max {hi:g}")
        # d/dx = 1 inside [min, max], d/dmin = 1 below it, d/dmax = 1 above it
        if x < lo:
            out, local = lo, (0.0, 1.0, 0.0)
        elif x > hi:
            out, local = hi, (0.0, 0.0, 1.0)
        else:                   # inside (or NaN, which stays NaN)
            out, local = x, (1.0, 0.0, 0.0)
        return Value(out, op="clamp", parents=(self, low, high), local_grads=local)

    def tanh(self):
        t = math.tanh(self.data)
        # d(tanh x)/dx = 1 - tanh(x)^2
        return Value(t, op="tanh", parents=(self,), local_grads=(1.0 - t * t,))

    def sigmoid(self):
        s = _stable_sigmoid(self.data)
        # d(sigmoid x)/dx = sigmoid(x) * (1 - sigmoid(x))
        return Value(s, op="sigmoid", parents=(self,),
                     local_grads=(s * (1.0 - s),))

    def relu(self):
        x = self.data
        if math.isnan(x):       # keep a NaN visible rather than turn it into 0
            return Value(x, op="relu", parents=(self,), local_grads=(x,))
        # d(relu x)/dx = 1 where x > 0, else 0 (we choose 0 at x = 0)
        return Value(x if x > 0 else 0.0, op="relu", parents=(self,),
                     local_grads=(1.0 if x > 0 else 0.0,))

    def abs(self):
        x = self.data
        # d|x|/dx = sign(x) (we choose 0 at x = 0)
        sign = 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)
        return Value(abs(x), op="abs", parents=(self,), local_grads=(sign,))

    __abs__ = abs

    # ------------------------------------------------------------------
    # Backpropagation.
    # ------------------------------------------------------------------

    def backward(self, gradient=1.0):
        """Fill in ``grad`` on every Value this one was computed from.

        Afterwards ``v.grad`` is d(self)/d(v). Leaves accumulate across calls
        (call ``zero_grad()`` first to start from zero); intermediate Values
        are reset and hold this pass's gradient.

        ``gradient`` is where the chain rule starts, d(result)/d(self): 1 by
        default. Give another number (PyTorch's ``backward(gradient=...)``)
        when this Value feeds a larger computation whose slope you know, and
        every gradient is scaled by it.
        """
        # Leaves (weights, inputs, constants) have no one to pass their
        # gradient to, so the walk leaves them out; their children still add
        # into their grad.
        for value in start_backward(self, leaves=False, gradient=gradient):
            chain_rule_step(value)

    def zero_grad(self):
        """Set ``grad`` to 0 on this Value and every Value behind it."""
        for value in topological_order(self):
            value.grad = 0.0


class _Power(Value):
    """The Value of ``x ** n`` with a constant ``n``, which it keeps in ``exponent``.

    (Only these Values have room for an exponent, so the others stay as small
    as they were.)
    """

    __slots__ = ("exponent",)


def _check_power(x, n):
    """Refuse the powers x ** n that have no real value or no finite slope."""
    if x < 0 and not n.is_integer():
        raise ValueError(
            f"cannot raise a negative number to a fractional power: "
            f"{x:g} ** {n:g} is not a real number")
    if x == 0 and n < 0:
        raise ZeroDivisionError(
            f"0 cannot be raised to the negative power {n:g}")
    if x == 0 and 0 < n < 1:
        raise ValueError(
            f"the slope of x ** {n:g} at x = 0 is infinite, so its gradient "
            f"is undefined; keep x away from 0, e.g. (x + 1e-12) ** {n:g}")


def _power(x, n):
    """x ** n, with a clear error where Python's ** overflows (``*`` gives inf)."""
    try:
        return x ** n
    except OverflowError:
        raise OverflowError(
            f"{x:g} ** {n:g} is too large for a float") from None


def _exact_text(n):
    """``n`` as short text that reads back as exactly ``n``: 2, 0.5, 1.2345678."""
    text = f"{n:g}"
    return text if float(text) == n else repr(n)


def _stable_sigmoid(x):
    """1 / (1 + e^-x), computed without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _sin(x):
    """sin x; NaN for an infinite x, as IEEE arithmetic says (math.sin raises)."""
    return math.nan if math.isinf(x) else math.sin(x)


def _cos(x):
    """cos x; NaN for an infinite x, as IEEE arithmetic says (math.cos raises)."""
    return math.nan if math.isinf(x) else math.cos(x)


def _compared(other, symbol):
    """The number a Value is compared with, or a clear error."""
    if isinstance(other, Value):
        return other.data
    if isinstance(other, bool) or not isinstance(other, numbers.Real):
        raise TypeError(
            f"cannot compare a Value with {other!r} of type "
            f"{type(other).__name__} by {symbol}; compare with a number or "
            f"a Value")
    return other


def _refuse_positional_children(label, misplaced):
    """micrograd writes Value(data, _children, _op); we name those arguments."""
    raise TypeError(
        f"Value's second argument is its label (text), but it was given "
        f"{label!r}" + (f" and {len(misplaced)} more" if misplaced else "")
        + "; to build a Value from others, name the arguments: "
        "Value(data, op='+', parents=(a, b), local_grads=(1.0, 1.0))")


def _refuse_unmatched_local_grads(value):
    raise ValueError(
        f"a Value with {len(value.parents)} parents but "
        f"{len(value.local_grads)} local_grads cannot pass its gradient back: "
        f"give one local derivative, d(value)/d(parent), per parent "
        f"(op {value.op!r})")


def vsum(values):
    """The sum of many Values as one operation (one node, not a chain).

    >>> vsum([Value(1.0), Value(2.0), 3]).data
    6.0
    """
    values = [v if isinstance(v, Value) else Value(v) for v in values]
    total = sum([v.data for v in values])
    # d(sum)/d(each) = 1
    return Value(total, op="sum", parents=values,
                 local_grads=[1.0] * len(values))


def dot(weights, inputs):
    """The dot product sum(w_i * x_i) as one operation: what a neuron computes.

    Its local derivatives are the other side's values:
    d/dw_i = x_i and d/dx_i = w_i.

    >>> dot([Value(2.0), Value(3.0)], [Value(4.0), 5]).data
    23.0
    """
    weights, inputs = list(weights), list(inputs)
    if len(weights) != len(inputs):
        raise ValueError(
            f"dot needs two lists of the same length, got {len(weights)} "
            f"weights and {len(inputs)} inputs")
    try:                        # the usual case: Values on both sides
        return _dot_of_values(weights, inputs)
    except (AttributeError, TypeError):
        # Some are plain numbers, which have no .data (numpy's have another
        # kind): make them constant Values (anything that is not a number
        # gets a clear TypeError there), then compute.
        return _dot_of_values([_as_value(w) for w in weights],
                              [_as_value(x) for x in inputs])


def dot_sides(operands):
    """A dot's operands split into its two sides: ``(weights, inputs)``.

    A dot Value's parents are the weights followed by the inputs, two lists
    of the same length; so are the operand slots of a tape's dot.
    """
    half = len(operands) // 2
    return operands[:half], operands[half:]


def _dot_of_values(weights, inputs):
    """dot() of two lists of Values of the same length."""
    w_data = [w.data for w in weights]
    x_data = [x.data for x in inputs]
    total = sum(map(operator.mul, w_data, x_data))
    return Value(total, op="dot", parents=weights + inputs,
                 local_grads=x_data + w_data)


# On topological_order's stack: "the Value below me has all its parents finished".
_PARENTS_FINISHED = object()


def topological_order(root, leaves=True):
    """Every Value ``root`` depends on, ``root`` first, each before its parents.

    This is the order backprop needs: by the time we reach a Value, every
    Value that used it has already passed its gradient down. Written as a loop
    with an explicit stack (not recursion), so very deep graphs work.

    A Value with parents is met twice. The first time it goes back on the
    stack under a marker, with its parents on top; when the marker comes off
    the stack, everything above it (its parents, and theirs) is finished, so
    the Value is finished too.

    ``leaves=False`` leaves out the Values without parents (but for
    ``root``): backward() needs only the Values that pass a gradient on, and
    in a network most edges lead to leaves (weights and inputs).
    """
    post_order = []          # each Value after all of its parents
    finished = set()         # a set of Values: they hash by identity
    stack = [root]
    while stack:
        value = stack.pop()
        if value is _PARENTS_FINISHED:
            value = stack.pop()                  # the Value under the marker
        elif value in finished:
            continue                             # reached again by another path
        elif value.parents:
            stack.append(value)
            stack.append(_PARENTS_FINISHED)
            for parent in reversed(value.parents):   # first parent on top
                if (leaves or parent.parents) and parent not in finished:
                    stack.append(parent)
            continue
        finished.add(value)
        post_order.append(value)
    post_order.reverse()
    return post_order


def start_backward(root, leaves=True, gradient=1.0):
    """Get ready for backprop from ``root``; return the order to visit Values.

    Intermediate Values (those with parents) are reset to 0, since they will
    receive this pass's gradient; leaves keep what they have, so gradients
    accumulate into them. The root's own gradient, d(root)/d(root), is 1,
    or the seed ``gradient`` (a number, or a Value for its number).
    ``leaves=False`` leaves the leaves out of the order (see
    :func:`topological_order`).
    """
    if isinstance(gradient, Value):
        gradient = gradient.data
    seed = _as_float(gradient, "the gradient passed to backward")
    if not isinstance(root, Value):
        raise TypeError(f"backprop starts from a Value, got {root!r} of type "
                        f"{type(root).__name__}")
    try:
        order = topological_order(root, leaves)
    except AttributeError:          # a parent without .parents: not a Value
        _refuse_parents_that_are_not_values(root)
        raise
    for value in order:
        if value.parents:
            value.grad = 0.0
    root.grad += seed
    return order


def _refuse_parents_that_are_not_values(root):
    """Raise a clear TypeError naming the Value behind ``root`` with a parent
    that is not a Value (``Value(..., parents=(1.0, 2.0))``); else return."""
    seen, to_visit = set(), [root]
    while to_visit:
        value = to_visit.pop()
        if value in seen:
            continue
        seen.add(value)
        for parent in value.parents:
            if not isinstance(parent, Value):
                raise TypeError(
                    f"the Value {value.name} (op {value.op!r}) has a parent "
                    f"{parent!r} of type {type(parent).__name__}, which is not "
                    f"a Value, so backprop cannot pass it a gradient; give "
                    f"Values as parents, e.g. parents=(a, Value(2.0))")
            to_visit.append(parent)


def chain_rule_step(value):
    """One step of backprop: pass ``value.grad`` on to its parents.

    For each parent p with local derivative d(value)/d(p):
        p.grad += d(value)/d(p) * value.grad

    A Value whose gradient is exactly 0 passes nothing on, so we skip its
    multiplications: in a ReLU network about half the neurons are switched
    off for any one input, and each of their dot products has a parent per
    weight and per input. (The only difference from multiplying: IEEE
    arithmetic would make 0 x inf a NaN; here a zero gradient stays zero.)
    """
    grad = value.grad
    if grad == 0.0:
        return
    for parent, local_grad in zip(value.parents, value.local_grads):
        parent.grad += local_grad * grad


# ----------------------------------------------------------------------
# Operations of your own.
# ----------------------------------------------------------------------

class Op(NamedTuple):
    """An operation written down as rules: what the fast paths replay.

    ``forward(*operands)`` computes the result from plain numbers.
    ``derivatives`` has one entry per operand: a function
    ``d(*operands, out)`` that gives d(out)/d(that operand), or a constant
    number. ``array_forward`` and ``array_derivatives`` are numpy forms for
    when the float rules do not work on arrays (None: numpy applies the float
    rules one number at a time). ``lists`` is 1 for an op on one list of
    operands (sum), 2 for one on two lists of the same length (dot), else 0.
    The built-in rows are in ``tinygrad_edu/fast/ops.py``.
    """

    name: str
    forward: Callable
    derivatives: tuple
    array_forward: Callable = None
    array_derivatives: tuple = None
    lists: int = 0


_DEFINED_OPS = {}               # name -> the function define_op() returned
# Names of built-in ops that are not Value methods (the fast paths' table
# calls + - * / ** add, sub, mul, div, pow).
_RESERVED_NAMES = {"neg", "sum", "dot", "max", "add", "sub", "mul", "div", "pow"}


def define_op(name, forward, derivatives, *, array_forward=None,
              array_derivatives=None):
    """Add an operation of your own; return a function that applies it to Values.

    ``forward`` computes the result from plain numbers; ``derivatives`` gives,
    for each operand, its local derivative as a function of the operands and
    the result (or as a constant number). The op then works everywhere the
    built-in ones do: ``backward()``, the trace, the pictures and the fast
    tapes (see :class:`Op` for the optional numpy forms).

    >>> cube = define_op("cube", forward=lambda x: x ** 3,
    ...                  derivatives=(lambda x, out: 3 * x ** 2,))
    >>> y = cube(Value(2.0))
    >>> y.backward()
    >>> y.data, y.op, y.parents[0].grad
    (8.0, 'cube', 12.0)
    """
    if not (isinstance(name, str) and name.isidentifier()):
        raise ValueError(f"an op's name must be a word like 'softplus', got {name!r}")
    if hasattr(Value, name) or name in _RESERVED_NAMES:
        raise ValueError(f"{name!r} is taken (a built-in operation or a Value "
                         f"attribute); choose another name")
    if callable(derivatives) or not isinstance(derivatives, (tuple, list)):
        raise TypeError(f"define_op({name!r}): derivatives must be a tuple, one "
                        f"per operand, e.g. (lambda x, out: 2*x,); got {derivatives!r}")
    derivatives = tuple(derivatives)
    if not callable(forward) or not derivatives:
        raise TypeError(f"define_op({name!r}) needs a forward function and a "
                        f"tuple of derivatives, one per operand")
    _check_rules(name, forward, derivatives)
    rules = Op(name, forward, derivatives, array_forward, array_derivatives)

    def apply(*operands):
        if len(operands) != len(derivatives):
            raise TypeError(f"{name} takes {len(derivatives)} operand(s) (one "
                            f"per derivative), got {len(operands)}")
        values = [_as_value(x) for x in operands]
        numbers = [v.data for v in values]
        out = _as_float(forward(*numbers), f"the forward rule of {name}")
        local = [_as_float(d(*numbers, out) if callable(d) else d,
                           f"a derivative of {name}") for d in derivatives]
        result = _Defined(out, op=name, parents=values, local_grads=local)
        result.rules = rules        # so a tape of this graph replays these rules,
        return result               # even if the op is defined again later

    apply.__name__ = apply.__qualname__ = name
    apply.__doc__ = f"The operation {name!r}, made by define_op."
    apply.op = rules
    _DEFINED_OPS[name] = apply
    return apply


class _Defined(Value):
    """A Value made by an op of define_op: it keeps the op's rules in ``rules``."""

    __slots__ = ("rules",)


def _check_rules(name, forward, derivatives):
    """Refuse a forward rule or derivative that cannot take its arguments.

    With n operands, ``forward`` takes n numbers and each derivative
    ``d(*operands, out)`` n + 1. Rules whose signature Python cannot read
    (some built-ins) are taken on trust.
    """
    n = len(derivatives)
    operands = "x" if n == 1 else ", ".join(f"x{i}" for i in range(1, n + 1))
    rules = [("forward rule", forward, n, f"forward({operands})")]
    rules += [(f"derivative {k}", d, n + 1, f"d({operands}, out)")
              for k, d in enumerate(derivatives) if callable(d)]
    for what, rule, count, shape in rules:
        try:
            signature = inspect.signature(rule)
        except (TypeError, ValueError):
            continue
        try:
            signature.bind(*[0.0] * count)
        except TypeError:
            raise TypeError(
                f"define_op({name!r}): the {what} must take {count} numbers, "
                f"{shape}, but its parameters are {signature}; with {n} "
                f"operand(s) each derivative is d(*operands, out), e.g. "
                f"lambda {operands}, out: ...") from None


def defined_ops():
    """The operations made with :func:`define_op`, by name: each is the
    function that applies it, with its rules as an :class:`Op` in ``.op``."""
    return dict(_DEFINED_OPS)
