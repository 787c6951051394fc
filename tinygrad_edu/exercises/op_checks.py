"""Checking one operation: its value, its parents, its op name, and its local
derivatives; that it leaves its inputs alone and is one Value, not a chain of
other operations; and the edges it teaches (a huge x, a divisor of 0, a kink).

The reference for a local derivative is a *central difference*: nudge one
input by a small ``h`` either way and see how much the result moves,

    d(out)/da  ~  (f(a + h) - f(a - h)) / (2 h),

where ``f`` is the operation as the project's own engine computes it (only its
forward value, never its derivatives). Inputs come from a seeded random
generator, after a few simple ones: the same workbook always gets the same
counterexample, and the first one that fails is reported, so it is usually a
small round number.
"""

import math
import random
from dataclasses import dataclass

from .. import engine as reference
from .verdict import Failed, as_number, attempt, close, mismatch_hint, show

__all__ = ["OpSpec", "OPS", "check_op", "generic_op", "dot_spec"]

# How many random inputs each operation is checked on, after the simple ones.
RANDOM_CASES = 25


@dataclass(frozen=True)
class OpSpec:
    """One operation to check.

    ``build(engine, numbers)`` applies the operation with ``engine.Value``
    and returns (result, {name: parent Value}); ``simple`` are the first
    inputs tried and ``sample(rng)`` draws more; ``mistakes`` are (input
    name, predict(numbers), hint) for wrong answers learners often give.
    ``edges`` are (numbers, hint, slopes) for inputs that random ones never
    reach: a huge x, a divisor of 0, a kink. Where the project's engine
    refuses the inputs, the learner's must raise an error too; ``slopes``
    (or None) are the local derivatives where a central difference cannot
    give them (the slope chosen at a kink).
    """
    id: str
    method: str
    formula: object              # numbers -> text such as "a/b"
    build: object
    simple: tuple
    sample: object
    mistakes: tuple = ()
    edges: tuple = ()


def _two(symbol):
    def build(engine, n):
        a, b = engine.Value(n["a"]), engine.Value(n["b"])
        return _apply(a, symbol, b), {"a": a, "b": b}
    return build


def _apply(a, symbol, b):
    if symbol == "+":
        return a + b
    if symbol == "-":
        return a - b
    if symbol == "*":
        return a * b
    return a / b


def _one(method):
    def build(engine, n):
        x = engine.Value(n["x"])
        return getattr(x, method)(), {"x": x}
    return build


def _build_neg(engine, n):
    a = engine.Value(n["a"])
    return -a, {"a": a}


def _build_pow(engine, n):
    a = engine.Value(n["a"])
    if "n" in n:
        return a ** n["n"], {"a": a}
    b = engine.Value(n["b"])
    return a ** b, {"a": a, "b": b}


def _pow_formula(n):
    return f"a**{show(float(n['n']))}" if "n" in n else "a**b"


def _round(x):
    return round(x, 2)


def _uniform(low, high):
    return lambda rng: _round(rng.uniform(low, high))


def _away_from_zero(low, high):
    return lambda rng: _round(rng.choice((-1, 1)) * rng.uniform(low, high))


def _pair(draw_a, draw_b):
    return lambda rng: {"a": draw_a(rng), "b": draw_b(rng)}


def _single(draw, name="x"):
    return lambda rng: {name: draw(rng)}


def _sample_pow(rng):
    if rng.random() < 0.3:
        return {"a": _uniform(0.3, 3)(rng), "b": _uniform(-2, 3)(rng)}
    n = rng.choice((2, 3, 4, -1, -2, 0.5, 1.5, 0, 1))
    a = (_uniform(0.3, 3)(rng) if not float(n).is_integer() or n < 0
         else _uniform(-3, 3)(rng))
    return {"a": a, "n": n}


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


_ANY = _uniform(-4, 4)

OPS = (
    OpSpec("add", "__add__", lambda n: "a+b", _two("+"),
           ({"a": 2, "b": -3}, {"a": 0.5, "b": 4}), _pair(_ANY, _ANY)),
    OpSpec("mul", "__mul__", lambda n: "a*b", _two("*"),
           ({"a": 2, "b": -3}, {"a": -1.5, "b": 4}), _pair(_ANY, _ANY),
           (("a", lambda n: n["a"], "is a itself; the slope along a is the "
                                    "other factor"),
            ("b", lambda n: n["b"], "is b itself; the slope along b is the "
                                    "other factor"))),
    OpSpec("sub", "__sub__", lambda n: "a-b", _two("-"),
           ({"a": 2, "b": -3}, {"a": 0.5, "b": 4}), _pair(_ANY, _ANY)),
    OpSpec("div", "__truediv__", lambda n: "a/b", _two("/"),
           ({"a": 2, "b": -3}, {"a": 3, "b": 2}), _pair(_ANY, _away_from_zero(0.5, 4)),
           (("a", lambda n: n["b"], "is b; dividing by b scales a by 1/b"),
            ("b", lambda n: -1 / n["b"] ** 2, "is missing the factor a"),
            ("b", lambda n: -n["a"] / n["b"], "should divide by b squared")),
           (({"a": 2, "b": 0}, "refuse b = 0: raise ZeroDivisionError with a "
             "message that names the divisor (an inf would spread through the "
             "whole graph)", None),)),
    OpSpec("neg", "__neg__", lambda n: "-a", _build_neg,
           ({"a": 2}, {"a": -0.5}), _single(_ANY, "a")),
    OpSpec("pow", "__pow__", _pow_formula, _build_pow,
           ({"a": 3, "n": 2}, {"a": 2, "n": 3}, {"a": 4, "n": 0.5},
            {"a": 2, "n": -1}, {"a": 2, "b": 3}), _sample_pow,
           (("a", lambda n: n["n"] * n["a"] ** n["n"] if "n" in n else None,
             "keeps the power n; the power rule lowers it by one: n*a**(n-1)"),
            ("a", lambda n: n["a"] ** (n["n"] - 1) if "n" in n else None,
             "is missing the factor n in front"),
            ("b", lambda n: n["a"] ** n["b"],
             "is a**b itself; it also needs the factor log(a)"))),
    OpSpec("exp", "exp", lambda n: "exp(x)", _one("exp"),
           ({"x": 0}, {"x": 1}, {"x": -2}), _single(_uniform(-3, 3)),
           (("x", lambda n: 1.0, "is 1; e^x is its own slope"),),
           (({"x": 1000}, "e^1000 is too large for a float: let math.exp's "
             "OverflowError through, or raise your own with a clearer message,"
             " but never return inf", None),
            ({"x": -1000}, "e^-1000 is 0 as a float", None))),
    OpSpec("log", "log", lambda n: "log(x)", _one("log"),
           ({"x": 2}, {"x": 0.5}), _single(_uniform(0.2, 5)),
           (("x", lambda n: n["x"], "is x; the slope of log x is 1/x"),),
           (({"x": 0}, "refuse x <= 0 with a ValueError: log is only defined "
             "for x > 0 (a -inf would spread through the whole graph)", None),
            ({"x": -1}, "refuse x <= 0 with a ValueError: log is only defined "
             "for x > 0", None))),
    OpSpec("tanh", "tanh", lambda n: "tanh(x)", _one("tanh"),
           ({"x": 0.5}, {"x": -1}, {"x": 2}), _single(_uniform(-3, 3)),
           (("x", lambda n: 1 - n["x"] ** 2,
             "uses x; write the slope with the output t = tanh(x)"),
            ("x", lambda n: 1 - math.tanh(n["x"]),
             "is 1 - t; square the tanh: 1 - t**2")),
           tuple(({"x": x}, "e^(2x) overflows for x = 400: use math.tanh(x), "
                  "which never overflows", None) for x in (400, -400))),
    OpSpec("sigmoid", "sigmoid", lambda n: "sigmoid(x)", _one("sigmoid"),
           ({"x": 0.5}, {"x": -1}, {"x": 2}), _single(_uniform(-4, 4)),
           (("x", lambda n: _sigmoid(n["x"]), "is s; multiply it by (1 - s)"),
            ("x", lambda n: 1 - _sigmoid(n["x"]), "is 1 - s; multiply it by s"),
            ("x", lambda n: n["x"] * (1 - n["x"]),
             "uses x; write the slope with the output s = sigmoid(x)")),
           tuple(({"x": x}, "1/(1 + e^-x) overflows at x = -1000: use "
                  "_stable_sigmoid(x), which only ever computes e^-|x|", None)
                 for x in (-1000, 1000))),
    OpSpec("relu", "relu", lambda n: "relu(x)", _one("relu"),
           ({"x": 2}, {"x": -1.5}), _single(_away_from_zero(0.1, 4)),
           (("x", lambda n: n["x"], "is x; the slope is 1 where x > 0, else 0"),),
           (({"x": 0}, "relu has a kink at 0: choose the slope 0 there "
             "(1 only where x > 0), as the engine and PyTorch do", {"x": 0.0}),)),
    OpSpec("abs", "abs", lambda n: "abs(x)", _one("abs"),
           ({"x": -2}, {"x": 3}), _single(_away_from_zero(0.1, 4)), (),
           (({"x": 0}, "abs has a kink at 0: choose the slope 0 there (the "
             "sign of 0), as the engine and PyTorch do", {"x": 0.0}),)),
    OpSpec("sqrt", "sqrt", lambda n: "sqrt(x)", _one("sqrt"),
           ({"x": 4}, {"x": 0.25}), _single(_uniform(0.2, 5)),
           (("x", lambda n: 1 / math.sqrt(n["x"]),
             "is 1/sqrt(x); sqrt(x) = x**0.5, and the power rule brings down 0.5"),
            ("x", lambda n: 0.5 * math.sqrt(n["x"]),
             "keeps the power 1/2; the power rule lowers it by one, to -1/2")),
           (({"x": 0}, "refuse x <= 0 with a ValueError: the slope of sqrt "
             "at 0 is infinite", None),)),
    OpSpec("sin", "sin", lambda n: "sin(x)", _one("sin"),
           ({"x": 0.5}, {"x": 2}), _single(_uniform(-3, 3))),
    OpSpec("cos", "cos", lambda n: "cos(x)", _one("cos"),
           ({"x": 0.5}, {"x": 2}), _single(_uniform(-3, 3))),
)


def generic_op(method, arity):
    """An OpSpec for an operation this table does not know (a newer engine's
    ``tan``, say): inputs between 0.2 and 2.5, where most functions are
    defined and smooth."""
    draw = _uniform(0.2, 2.5)
    if arity == 0:
        return OpSpec(method.strip("_"), method, lambda n: f"{method.strip('_')}(x)",
                      _one(method), ({"x": 0.5}, {"x": 1.5}), _single(draw))

    def build(engine, n):
        a, b = engine.Value(n["a"]), engine.Value(n["b"])
        return getattr(a, method)(b), {"a": a, "b": b}
    return OpSpec(method.strip("_"), method, lambda n: f"a.{method}(b)", build,
                  ({"a": 0.5, "b": 1.5},), _pair(draw, draw))


def _build_dot(engine, n):
    size = len(n) // 2
    ws = [engine.Value(n[f"w{i}"]) for i in range(size)]
    xs = [engine.Value(n[f"x{i}"]) for i in range(size)]
    parents = {f"w{i}": w for i, w in enumerate(ws)}
    parents.update({f"x{i}": x for i, x in enumerate(xs)})
    return engine.dot(ws, xs), parents


def _sample_dot(rng):
    size = rng.randint(1, 4)
    numbers = {f"w{i}": _ANY(rng) for i in range(size)}
    numbers.update({f"x{i}": _ANY(rng) for i in range(size)})
    return numbers


def dot_spec():
    """The dot product w.x as one operation, as a neuron computes it."""
    return OpSpec("dot", "dot", lambda n: "dot(w, x)", _build_dot,
                  ({"w0": 2, "w1": -1, "x0": 3, "x1": 0.5},), _sample_dot)


# ----------------------------------------------------------------------
# The check
# ----------------------------------------------------------------------

def cases(spec):
    """The inputs to try, simple ones first, then seeded random ones."""
    rng = random.Random(f"tinygrad-edu exercise {spec.id}")
    yield from spec.simple
    for _ in range(RANDOM_CASES):
        yield spec.sample(rng)


def check_op(spec, learner):
    """Check ``spec`` on the learner's engine module; raise Failed if wrong."""
    for numbers in cases(spec):
        try:
            expected, _ = spec.build(reference, numbers)
        except (ArithmeticError, ValueError):
            continue                     # outside the operation's domain
        _check_case(spec, learner, numbers, expected)
    for numbers, hint, slopes in spec.edges:
        _check_edge(spec, learner, numbers, hint, slopes)


def _check_edge(spec, learner, numbers, hint, slopes):
    """An input at the edge: refused by the engine, or a huge one, or a kink."""
    try:
        expected, _ = spec.build(reference, numbers)
    except (ArithmeticError, ValueError):
        expected = None
    if expected is not None:
        try:
            _check_case(spec, learner, numbers, expected, slopes)
        except Failed as failure:
            lines = [line for line in failure.lines if not line.startswith("hint:")]
            raise Failed(*lines, f"hint: {hint}") from None
        return
    formula, inputs = spec.formula(numbers), _inputs_text(numbers)
    try:
        out, _ = spec.build(learner, numbers)
    except (Exception, SystemExit):
        return                           # refused, as it should be
    data = getattr(out, "data", out)
    raise Failed(inputs, f"your {formula} returned {_short_number(data)}; it "
                 f"should refuse these inputs with an error", f"hint: {hint}")


def _short_number(x):
    return show(x) if isinstance(x, float) else f"{x!r:.40}"


def _inputs_text(numbers):
    return "inputs: " + ", ".join(f"{k} = {show(float(v))}" for k, v in numbers.items())


def _check_case(spec, learner, numbers, expected, slopes=None):
    formula = spec.formula(numbers)
    inputs = _inputs_text(numbers)
    out, parents = attempt(spec.build, _Primed(learner), numbers,
                           doing=f"{formula} with " + inputs[len("inputs: "):])
    _check_inputs_unchanged(formula, inputs, numbers, parents)
    if not isinstance(out, learner.Value):
        raise Failed(inputs, f"your {formula} returned {type(out).__name__} "
                     f"{out!r:.40}, not a Value",
                     "hint: return Value(result, op=..., parents=..., "
                     "local_grads=...) so backprop can reach the inputs")
    data = as_number(out.data, f"the .data of your {formula}")
    if not close(data, expected.data, 1e-9):
        raise Failed(inputs, f"your {formula} = {show(data)}, expected "
                     f"{show(expected.data)}",
                     "hint: the value itself is wrong, before any derivative")
    _check_one_value(formula, inputs, out, parents, expected.op)
    _check_parents(formula, inputs, out, parents)
    _check_op_name(formula, inputs, out, expected.op)
    grads = _local_grads(formula, out, parents)
    for (name, _), mine in zip(parents.items(), grads):
        expected_slope = (slopes[name] if slopes else
                          central_difference(spec, numbers, name))
        if not close(mine, expected_slope):
            label = f"d({formula})/d{name}"
            raise Failed(inputs, f"your {label} = {show(mine)}, expected "
                         f"{show(expected_slope)}",
                         f"hint: your {label} "
                         + _diagnose(spec, numbers, name, mine, expected_slope,
                                     expected.data, parents))


# The gradient the inputs of an operation hold when it is checked: not 0, so
# that an operation that sets its inputs' grad to 0 is seen to change them.
PRIMED_GRAD = 0.25


class _Primed:
    """The learner's engine, but its Values start with grad PRIMED_GRAD."""

    def __init__(self, engine):
        self._engine = engine

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def Value(self, *args, **kwargs):
        value = self._engine.Value(*args, **kwargs)
        value.grad = PRIMED_GRAD
        return value


def _check_inputs_unchanged(formula, inputs, numbers, parents):
    """An operation leaves the Values it is given as they were."""
    for name, value in parents.items():
        for field, before in (("data", float(numbers[name])), ("grad", PRIMED_GRAD)):
            after = getattr(value, field, None)
            if after != before:
                raise Failed(inputs, f"your {formula} changed {name}.{field} from "
                             f"{show(before)} to {_short_number(after)}"
                             + (" (the check gave each input a gradient first)"
                                if field == "grad" else ""),
                             "hint: an operation makes a new Value and leaves "
                             "its inputs (their data and grad) alone")


def _expected_op_text(expected_op):
    return "f'**{n}' (such as '**2')" if _is_fixed_power(expected_op) else repr(expected_op)


def _is_fixed_power(op):
    return isinstance(op, str) and op.startswith("**") and op != "**"


def _op_names(out, inputs, most=40):
    """The operations and constants behind ``out`` down to ``inputs``, if
    ``out`` reaches any of them through other Values: (ops, constants), or None."""
    stops = {id(v) for v in inputs}
    ops, constants, reached, seen, stack = [], [], False, set(), [out]
    while stack and len(seen) < most:
        v = stack.pop()
        if id(v) in stops:
            reached = True
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        try:
            parents = tuple(getattr(v, "parents", ()))
        except TypeError:
            return None
        if parents:
            ops.append(v)
            stack.extend(parents)
        elif v is not out:
            constants.append(v)
    if not reached or (len(ops) < 2 and not constants):
        return None
    ops.sort(key=_made_when)
    return ([str(getattr(v, "op", "") or "?") for v in ops],
            [_short_number(getattr(v, "data", "?")) for v in constants])


def _made_when(value):
    """The engine numbers Values as it makes them (``id``); 0 if it does not."""
    number = getattr(value, "id", 0)
    return number if isinstance(number, int) else 0


def _check_one_value(formula, inputs, out, parents, expected_op):
    """Each exercise writes one Value by hand, not a chain of other operations."""
    try:
        if tuple(out.parents) == tuple(parents.values()):
            return
    except TypeError:
        return
    chain = _op_names(out, list(parents.values()))
    if chain is None:
        return
    ops, constants = chain
    made = f"{len(ops)} operation{'s' if len(ops) != 1 else ''} ({', '.join(ops)})"
    if constants:
        made += f" and the constant{'s' if len(constants) > 1 else ''} {', '.join(constants)}"
    names = {1: "(self,)", 2: "(self, other)"}.get(len(parents), "weights + inputs")
    raise Failed(inputs, f"your {formula} is made of {made}; this exercise asks "
                 f"for one Value with its own local derivatives",
                 f"hint: return Value({formula}, op={_expected_op_text(expected_op)}, "
                 f"parents={names}, local_grads=(...)), writing each local "
                 f"derivative yourself")


def _check_parents(formula, inputs, out, parents):
    expected = list(parents.values())
    try:
        mine = list(out.parents)
    except TypeError:
        mine = None
    if mine is None or len(mine) != len(expected) or any(
            p is not q for p, q in zip(mine, expected)):
        names = ", ".join(parents)
        if formula == "a**b" and mine is not None and len(mine) == 1:
            hint = ("hint: a Value exponent is a parent too: if exponent is a "
                    "Value, return self._pow_value(exponent)")
        elif isinstance(getattr(out, "parents", None), (tuple, list)):
            hint = ("hint: pass parents=(...) to Value(...), with the very "
                    "Values you were given (not copies)")
        else:
            hint = (f"hint: parents must be a tuple of Values, one per input, "
                    f"e.g. parents=({names}{',' if len(parents) == 1 else ''})")
        raise Failed(inputs, f"the parents of your {formula} should be "
                     f"({names}), in that order: the Values it was made from", hint)


# The op names the engine's own operations give their results.
_ENGINE_OPS = {"+", "-", "*", "/", "neg", "**", "exp", "log", "tanh", "sigmoid",
               "relu", "abs", "sqrt", "sin", "cos", "sum", "dot", "clamp"}


def _check_op_name(formula, inputs, out, expected_op):
    """The op name is how the step pictures and pages find the learner's code."""
    mine = getattr(out, "op", None)
    if mine == expected_op or (_is_fixed_power(expected_op) and _is_fixed_power(mine)):
        return
    if mine in _ENGINE_OPS or _is_fixed_power(mine):
        raise Failed(inputs, f"your {formula} is the result of another operation "
                     f"(op={mine!r}), not a Value of its own",
                     f"hint: this exercise asks for one new Value with its own "
                     f"local derivative: return Value(..., op="
                     f"{_expected_op_text(expected_op)}, parents=(...), "
                     f"local_grads=(...))")
    raise Failed(inputs, f"your {formula} has op={mine!r}, expected "
                 f"op={_expected_op_text(expected_op)}",
                 "hint: the op name is how tinygrad-edu step finds your code "
                 f"for each step: write op={_expected_op_text(expected_op)}")


def _local_grads(formula, out, parents):
    try:
        grads = list(out.local_grads)
    except TypeError:
        raise Failed(f"the local_grads of your {formula} is "
                     f"{type(out.local_grads).__name__}, not a list of "
                     f"numbers") from None
    if len(grads) != len(parents):
        raise Failed(f"your {formula} has {len(grads)} local derivatives for "
                     f"{len(parents)} parents",
                     "hint: one local derivative per parent, in the same order")
    return [as_number(g, f"local_grads[{i}] of your {formula}")
            for i, g in enumerate(grads)]


def central_difference(spec, numbers, name):
    """(f(name + h) - f(name - h)) / 2h with the project's own forward pass."""
    x = float(numbers[name])
    h = 1e-6 * max(1.0, abs(x))
    up = spec.build(reference, {**numbers, name: x + h})[0].data
    down = spec.build(reference, {**numbers, name: x - h})[0].data
    return (up - down) / (2 * h)


def _diagnose(spec, numbers, name, mine, expected, value, parents):
    """The most specific hint for a wrong local derivative."""
    for mistake_name, predict, hint in spec.mistakes:
        if mistake_name != name:
            continue
        try:
            predicted = predict(numbers)
        except (ArithmeticError, ValueError, KeyError):
            continue
        if predicted is not None and close(mine, predicted) and not close(
                predicted, expected):
            return hint
    generic = mismatch_hint(mine, expected, value)
    if generic:
        return generic
    for other in parents:
        if other != name and close(mine, central_difference(spec, numbers, other)):
            return (f"is d({spec.formula(numbers)})/d{other}: give the local "
                    f"derivatives in the same order as the parents")
    return ("does not match the slope: compare it with (f(x+h) - f(x-h)) / 2h "
            "for a small h")
