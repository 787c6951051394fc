"""The formula parser: builds the right Values and refuses everything else."""

import math

import pytest

from tinygrad_edu import Value
from tinygrad_edu.watch.expression import (ExpressionError, parse_assignments,
                                     parse_expression, parse_with_variables)


def test_arithmetic_matches_python():
    y = parse_expression("(x + 2) * x - x / 4 + x ** 2 - -x", {"x": 3.0})
    x = 3.0
    assert y.data == pytest.approx((x + 2) * x - x / 4 + x ** 2 + x)


def test_variables_are_shared_leaves_with_full_gradient():
    y, leaves = parse_with_variables("x * x + 3 * x", {"x": 2.0})
    y.backward()
    x = leaves["x"]
    assert x.label == "x"
    assert x.grad == pytest.approx(2 * 2.0 + 3)


def test_given_values_are_used_as_they_are():
    w = Value(-1.5, label="w")
    y = parse_expression("relu(w) + abs(w)", {"w": w})
    y.backward()
    assert y.data == 1.5
    assert w.grad == -1.0          # relu'(-1.5) = 0, abs' = -1


@pytest.mark.parametrize("name, expected", [
    ("exp", math.exp(0.5)), ("log", math.log(0.5)), ("tanh", math.tanh(0.5)),
    ("sigmoid", 1 / (1 + math.exp(-0.5))), ("relu", 0.5), ("abs", 0.5)])
def test_each_function(name, expected):
    y = parse_expression(f"{name}(x)", {"x": 0.5})
    assert y.data == pytest.approx(expected)
    assert y.op == name


def test_numbers_only_formula_gives_a_value():
    y = parse_expression("2 ** 3 - 1", {})
    assert isinstance(y, Value) and y.data == 7.0


def test_value_exponent():
    y, leaves = parse_with_variables("2 ** x", {"x": 3.0})
    y.backward()
    assert y.data == 8.0
    assert leaves["x"].grad == pytest.approx(8 * math.log(2))


@pytest.mark.parametrize("text, words", [
    ("__import__('os')", "cannot call '__import__'"),
    ("__import__('os').system('true')", "cannot be called"),
    ("x.__class__", "an attribute"),
    ("x[0]", "a subscript"),
    ("lambda: 1", "a lambda"),
    ("x if x else 1", "an if-expression"),
    ("x < 1", "a comparison"),
    ("x // 2", "//"),
    ("'text'", "only plain numbers"),
    ("True * x", "only plain numbers"),
    ("open('f')", "cannot call 'open'"),
    ("tanh(x, x)", "exactly one argument"),
    ("y + 1", "the variable 'y' has no value"),
    ("tanh", "is a function"),
    ("x +", "cannot read the formula"),
    ("", "empty"),
    ("1 / (x - 2)", "division by zero"),
    ("10.0 ** 400", "too large"),
    ("log(-x)", "log needs a positive number"),
    ("-" * 1500 + "x", "nested too deeply"),
])
def test_refused_with_a_clear_message(text, words):
    with pytest.raises(ExpressionError, match=None) as info:
        parse_expression(text, {"x": 2.0})
    assert words in str(info.value)


def test_never_runs_the_text(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ExpressionError):
        parse_expression(f"open({str(marker)!r}, 'w')", {})
    assert not marker.exists()


def test_parse_assignments():
    assert parse_assignments(["x=2", " w = -3.5"]) == {"x": 2.0, "w": -3.5}
    with pytest.raises(ExpressionError, match="NAME=NUMBER"):
        parse_assignments(["x"])
    with pytest.raises(ExpressionError, match="not a number"):
        parse_assignments(["x=two"])


def test_function_names_cannot_be_variables():
    with pytest.raises(ExpressionError, match="function name"):
        parse_expression("exp + 1", {"exp": 1.0})


def test_no_state_is_kept_between_calls():
    """Each call returns its own leaves; a failed call leaves nothing behind."""
    _, first = parse_with_variables("x + 1", {"x": 1.0})
    with pytest.raises(ExpressionError):
        parse_with_variables("x +", {"x": 5.0})
    _, second = parse_with_variables("x + 1", {"x": 2.0})
    assert first["x"].data == 1.0 and second["x"].data == 2.0
    assert not hasattr(parse_expression, "last_variables")


def test_a_formula_that_stops_too_soon_says_so_and_a_wrong_character_is_placed():
    with pytest.raises(ExpressionError, match="at the end: something is missing"):
        parse_expression("x *")
    with pytest.raises(ExpressionError, match=r"at character 4\)"):
        parse_expression("x +* y")


def test_a_method_call_says_to_write_it_as_a_function():
    with pytest.raises(ExpressionError, match=r"write it as a function: tanh\(a\)"):
        parse_expression("a.tanh()", {"a": 2.0})
