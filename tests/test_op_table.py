"""The op table (fast/ops.py) against the engine: the same ops, the same numbers.

The engine writes each operation as a method, with its derivative beside it;
the fast paths replay programs with the table's rows. Nothing ties the two
together but this test: for every row, on numbers hypothesis chooses, the
engine's value and local derivatives must equal the row's, to the bit for the
float form (the pure-Python tape must equal the engine) and closely for the
array form (numpy's exp, tanh, ... may differ from math's in the last bit).
And the engine's ops, found by reading its source, must be exactly the rows.
"""

import ast
import math
import operator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinygrad_edu.engine import Value, dot, vsum
from tinygrad_edu.fast import ops
from tinygrad_edu.fast.ops import NOT_REPLAYED, POWER, TABLE, WORDS, array_rules
from tinygrad_edu.fast.traced_losses import _stop_gradient_max

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_edu"

# How to make each op with the engine, where it is not the Value method of
# the same name (exp, relu, ... and any op added later are found by name).
ENGINE_CALLS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
                "div": operator.truediv, "neg": operator.neg,
                POWER: operator.pow, "sum": vsum, "dot": dot,
                "max": _stop_gradient_max}


def engine_call(name):
    return ENGINE_CALLS.get(name) or getattr(Value, name)


# ----------------------------------------------------------------------
# The same set of ops.
# ----------------------------------------------------------------------

def engine_ops():
    """Every op name the package gives a Value it makes, read from the source.

    A call with ``op="exp"`` (``Value(..., op="exp")``) gives "exp"; ``op=f"**{...}"`` (a power with a
    constant exponent) gives the row name of powers; an op held in a variable
    (define_op's) is not a built-in op and is passed over, and so are the
    exercises' checks, which make Values of the learner's engine.
    """
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if "exercises" in path.parts:      # they build a learner's own Values
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call):     # Value(...) or a subclass's
                continue
            for keyword in node.keywords:
                if keyword.arg != "op":
                    continue
                if isinstance(keyword.value, ast.Constant) and keyword.value.value:
                    found.add(keyword.value.value)
                elif (isinstance(keyword.value, ast.JoinedStr)
                      and keyword.value.values[0].value == "**"):
                    found.add(POWER)
    return found


def differences(engine_names, table):
    """What one side has and the other lacks, as sentences (empty: they agree)."""
    names = {WORDS.get(name, name) for name in engine_names} - set(NOT_REPLAYED)
    problems = [f"the engine makes op {name!r} but the table has no row for it"
                for name in sorted(names - set(table))]
    problems += [f"the table has a row {name!r} but the engine makes no such op"
                 for name in sorted(set(table) - names)]
    return problems


def test_the_engine_and_the_table_have_the_same_ops():
    found = engine_ops()
    assert {"+", "*", "exp", "relu", "dot", "sum", "max", POWER, "**"} <= found
    assert differences(found, TABLE) == []


def test_define_op_cannot_take_a_row_name():
    """A user op named like a row would be replayed with the row's rules."""
    from tinygrad_edu import engine
    for name in TABLE:
        assert hasattr(Value, name) or name in engine._RESERVED_NAMES, name


def test_a_forgotten_row_or_method_is_reported():
    without_sigmoid = {k: v for k, v in TABLE.items() if k != "sigmoid"}
    assert differences(engine_ops(), without_sigmoid) == [
        "the engine makes op 'sigmoid' but the table has no row for it"]
    assert differences(engine_ops() - {"tanh"}, TABLE) == [
        "the table has a row 'tanh' but the engine makes no such op"]


# ----------------------------------------------------------------------
# The same numbers.
# ----------------------------------------------------------------------

def same_float(a, b):
    return a == b or (math.isnan(a) and math.isnan(b))


def close(a, b):
    a, b = float(a), float(b)
    return same_float(a, b) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@np.errstate(all="ignore")            # (as the numpy replay runs them)
def check_row(row, operands, exponent=None):
    """Compare ``row`` with the engine on ``operands``; return the problems found.

    ``operands`` are numbers, or lists of numbers for a row on lists. The
    engine's refusals (log of a negative number, ...) are left to the caller.
    """
    constants = () if exponent is None else (exponent,)
    if row.lists:
        values = [[Value(x) for x in group] for group in operands]
        sizes = [len(group) for group in operands]
    else:
        values = [Value(x) for x in operands]
        sizes = [1] * len(operands)
    result = engine_call(row.name)(*values, *constants)
    problems = []

    def compare(what, got, expected, same):
        if not same(got, expected):
            problems.append(f"{row.name}{tuple(operands)}: {what} {got!r}, "
                            f"the engine {expected!r}")

    # the float form, to the bit
    out = row.forward(*operands, *constants)
    compare("float value", out, result.data, same_float)
    expected_locals = iter(result.local_grads)
    for k, derivative in enumerate(row.derivatives):
        local = (derivative(*operands, *constants, result.data)
                 if callable(derivative) else derivative)
        locals_ = list(local) if row.lists and callable(derivative) else [local] * sizes[k]
        for got in locals_:
            compare(f"float d/d(operand {k})", got, next(expected_locals), same_float)

    # the array form, on numpy arrays (a list along axis -2)
    forward, derivatives = array_rules(row)
    arrays = [np.array(x, dtype=float)[..., None] if row.lists else np.array([x], dtype=float)
              for x in operands]
    out_array = forward(*arrays, *constants)
    compare("array value", np.ravel(out_array)[0], result.data, close)
    expected_locals = iter(result.local_grads)
    out_arg = np.asarray(out_array)[..., None, :] if row.lists else np.asarray(out_array)
    for k, derivative in enumerate(derivatives):
        local = (derivative(*arrays, *constants, out_arg)
                 if callable(derivative) else derivative)
        local = np.broadcast_to(local, (sizes[k], 1) if row.lists else (1,)).ravel()
        for got in local:
            compare(f"array d/d(operand {k})", got, next(expected_locals), close)
    return problems


numbers = st.floats(-30, 30, allow_nan=False, allow_infinity=False)
EXPONENTS = [0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, 1.5, 1.2345678]


@st.composite
def operands_for(draw, row):
    """Operands for ``row``: numbers, one list, or two lists of one length."""
    if row.lists == 2:
        n = draw(st.integers(1, 6))
        return [draw(st.lists(numbers, min_size=n, max_size=n)) for _ in range(2)]
    if row.lists == 1:
        return [draw(st.lists(numbers, min_size=1, max_size=6))]
    return [draw(numbers) for _ in row.derivatives]


@pytest.mark.parametrize("name", sorted(TABLE))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_row_equals_the_engine(name, data):
    row = TABLE[name]
    operands = data.draw(operands_for(row))
    exponent = data.draw(st.sampled_from(EXPONENTS)) if name == POWER else None
    try:
        problems = check_row(row, operands, exponent)
    except (ValueError, ZeroDivisionError, OverflowError):
        assume(False)                  # outside the op's domain: the engine refuses
    assert problems == []


@pytest.mark.parametrize("x", [0.0, -0.0, 2.5, -2.5, math.nan])
def test_relu_and_abs_at_zero_and_nan(x):
    assert check_row(TABLE["relu"], [x]) == []
    if not math.isnan(x):
        assert check_row(TABLE["abs"], [x]) == []


def test_a_broken_row_is_reported(monkeypatch):
    tanh = TABLE["tanh"]
    wrong = tanh._replace(derivatives=(lambda x, out: 1.0 - out,))   # forgot a square
    monkeypatch.setitem(ops.TABLE, "tanh", wrong)
    problems = check_row(TABLE["tanh"], [0.7])
    assert problems and all("d/d(operand 0)" in p for p in problems)
    assert any("float" in p for p in problems) and any("array" in p for p in problems)
    wrong_value = tanh._replace(array_forward=np.sinh)
    assert any("array value" in p for p in check_row(wrong_value, [0.7]))
