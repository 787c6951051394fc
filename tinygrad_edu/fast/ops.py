"""The table of operations: each op's forward rule and local derivatives, once.

To add an operation: (1) write its method in ``engine.py``, the forward rule
and the derivative side by side, as the others are; (2) add one row to
``TABLE`` below, named as the engine names the op (a row whose name is not a
Value method also goes in the engine's ``_RESERVED_NAMES``); (3) run
``tests/test_op_table.py``, which fails until the engine and the table have the
same ops and agree on every value and derivative. The tapes need nothing else.

Both fast paths replay a traced program with these rows: the pure-Python tape
on one float per slot (:mod:`~tinygrad_edu.fast.python_replay`), the numpy
replay on one array per slot (:mod:`~tinygrad_edu.fast.numpy_replay`). So a
row is written in plain arithmetic that works on floats and arrays alike;
where the two must differ (``math.exp`` against ``np.exp``, an ``if`` against
``np.where``), the array form stands beside the float form in the same row.

Each row is an :class:`~tinygrad_edu.engine.Op`:

* ``forward(*operands)``: the result;
* ``derivatives``: one entry per operand, a function ``d(*operands, out)``
  that gives d(out)/d(operand), or a constant number (``0.0`` passes no
  gradient back at all);
* :class:`Operand` ``(k)`` is a derivative that *is* operand ``k``, as
  d(a*b)/da = b; it is a function like the others, and says so plainly
  enough that the Python replay reads the operand instead of calling it;
* for ``sum`` and ``max`` the one operand is a list, for ``dot`` the two
  operands are lists (``lists`` = 1 or 2); in the array form a list is an
  array with the list along the second-to-last axis (``axis=-2``);
* the engine's ``+ - * /`` are the rows ``add sub mul div`` (:data:`WORDS`);
* ``x ** n`` with a constant ``n`` is the row ``pow``: the exponent comes
  after the operand, ``forward(x, n)`` and ``d(x, n, out)``.

Operations made with :func:`tinygrad_edu.define_op` are rows too: see
:func:`row_for`.
"""

import math
import operator

import numpy as np

from ..engine import Op, _cos, _sin, _stable_sigmoid, defined_ops

__all__ = ["TABLE", "NOT_REPLAYED", "WORDS", "SYMBOLS", "POWER", "Operand",
           "row_for", "row_name", "array_rules"]

# The engine writes these ops as symbols; the table and the tape use words.
WORDS = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
SYMBOLS = {word: symbol for symbol, word in WORDS.items()}

# The row of ``x ** n`` with a constant exponent (the engine names such a
# Value's op after its exponent, "**2" or "**0.5", and keeps n in ``exponent``).
POWER = "pow"


class Operand:
    """The derivative that is operand number ``index`` itself: d(a*b)/da = b.

    >>> Operand(1)(2.0, 3.0, 6.0)            # (a, b, out) -> b
    3.0
    """

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __call__(self, *operands_and_out):
        return operands_and_out[self.index]

    def __repr__(self):
        return f"Operand({self.index})"


def _sigmoid_array(x):
    """1 / (1 + e^-x) without overflow, elementwise (the engine's stable sigmoid)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _dot(weights, inputs):
    """sum(w_i * x_i), adding in the engine's order (the same number to the bit)."""
    return sum(map(operator.mul, weights, inputs))


TABLE = {row.name: row for row in [
    #  name     forward            derivatives: d/d(first operand), d/d(second)
    Op("add", operator.add, (1.0, 1.0)),
    Op("sub", operator.sub, (1.0, -1.0)),
    Op("mul", operator.mul, (Operand(1), Operand(0))),         # b and a
    Op("div", operator.truediv, (lambda a, b, out: 1.0 / b,
                               lambda a, b, out: -out / b)),     # -(a/b)/b, as the engine
    Op("neg", operator.neg, (-1.0,)),
    Op(POWER, operator.pow, (lambda x, n, out: 0.0 if n == 0 else n * x ** (n - 1),)),
    Op("exp", math.exp, (lambda x, out: out,), array_forward=np.exp),
    Op("log", math.log, (lambda x, out: 1.0 / x,), array_forward=np.log),
    Op("tanh", math.tanh, (lambda x, out: 1.0 - out * out,), array_forward=np.tanh),
    Op("sigmoid", _stable_sigmoid, (lambda x, out: out * (1.0 - out),),
       array_forward=_sigmoid_array),
    # relu: 0 where x <= 0, else x, so a NaN stays NaN (and so does its slope)
    Op("relu", lambda x: 0.0 if x <= 0 else x,
       (lambda x, out: 1.0 if x > 0 else (0.0 if x <= 0 else x),),
       # (np.maximum keeps a NaN; heaviside is 1 for x > 0, 0 for x <= 0, NaN for NaN)
       array_forward=lambda x: np.maximum(x, 0.0),
       array_derivatives=(lambda x, out: np.heaviside(x, 0.0),)),
    Op("abs", abs, (lambda x, out: 1.0 if x > 0 else (-1.0 if x < 0 else 0.0),),
       # (not np.sign, which is NaN at NaN: the engine's slope there is 0)
       array_derivatives=(lambda x, out: np.where(x > 0, 1.0, np.where(x < 0, -1.0, 0.0)),)),
    Op("sqrt", math.sqrt, (lambda x, out: 0.5 / out,), array_forward=np.sqrt),
    Op("sin", _sin, (lambda x, out: _cos(x),), array_forward=np.sin,
       array_derivatives=(lambda x, out: np.cos(x),)),
    Op("cos", _cos, (lambda x, out: -_sin(x),), array_forward=np.cos,
       array_derivatives=(lambda x, out: -np.sin(x),)),
    # clamp(x, min, max): the result is one of the three; it gets the gradient
    Op("clamp", lambda x, lo, hi: lo if x < lo else (hi if x > hi else x),
       (lambda x, lo, hi, out: 0.0 if x < lo or x > hi else 1.0,
        lambda x, lo, hi, out: 1.0 if x < lo else 0.0,
        lambda x, lo, hi, out: 1.0 if x > hi else 0.0),
       array_forward=lambda x, lo, hi: np.where(x < lo, lo, np.where(x > hi, hi, x)),
       array_derivatives=(
           lambda x, lo, hi, out: np.where((x < lo) | (x > hi), 0.0, 1.0),
           lambda x, lo, hi, out: np.where(x < lo, 1.0, 0.0),
           lambda x, lo, hi, out: np.where(x > hi, 1.0, 0.0))),
    # Ops on lists of operands.
    Op("sum", sum, (1.0,), array_forward=lambda xs: xs.sum(axis=-2), lists=1),
    Op("dot", _dot, (Operand(1), Operand(0)),                  # x and w
       array_forward=lambda w, x: (w * x).sum(axis=-2), lists=2),
    # The shift of the stable log-sum-exp: the largest logit, as a constant.
    Op("max", max, (0.0,), array_forward=lambda xs: xs.max(axis=-2), lists=1),
]}

# Engine ops the tapes do not replay, and why (the tape refuses them by name).
NOT_REPLAYED = {"**": "a Value as an exponent is not supported"}


def row_name(value):
    """The name of the row that replays the engine Value ``value``."""
    return POWER if value.exponent is not None else WORDS.get(value.op, value.op)


def row_for(name):
    """The row of the op ``name``: a built-in row, else one made with define_op.

    Raises ValueError naming the op if there is none.
    """
    row = TABLE.get(name)
    if row is None and name in defined_ops():
        row = defined_ops()[name].op
    if row is None:
        why = NOT_REPLAYED.get(name, "it is neither in the table nor made "
                                     "with define_op")
        raise ValueError(f"the tape cannot replay the engine op {name!r} ({why})")
    return row


def array_rules(row):
    """``(forward, derivatives)`` for numpy arrays: the array forms, else the float ones.

    Every built-in row's float form works on arrays where it gives no array
    form. An op made with define_op and given only float rules (``math.exp``
    refuses an array) is applied one number at a time (``np.vectorize``):
    slower, but right.
    """
    if row.name in TABLE:
        def each(rule):
            return rule
    else:
        def each(rule):
            return np.vectorize(rule, otypes=[float]) if callable(rule) else rule
    forward = row.array_forward or each(row.forward)
    derivatives = row.array_derivatives or tuple(map(each, row.derivatives))
    return forward, derivatives
