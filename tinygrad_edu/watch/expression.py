"""Turn a formula typed by a user, like ``"tanh(x*w + b)"``, into Values.

The text is read with Python's own parser (``ast.parse``), which only builds a
tree and never runs anything. We then walk that tree ourselves and accept an
explicit short list of node types: numbers, variable names given a value,
``+ - * / **``, unary minus and calls to a few functions. Anything else (an
attribute, a subscript, a lambda, a string...) is refused with an error that
names it. The text is never passed to ``eval``, ``exec`` or ``compile``.

>>> y, leaves = parse_with_variables("x * w + b", {"x": 2.0, "w": -3.0, "b": 1.0})
>>> y.data
-5.0
>>> y.backward()
>>> leaves["w"].grad
2.0
"""

import ast
import math
import numbers

from ..engine import Value, defined_ops, topological_order

__all__ = ["parse_expression", "parse_with_variables", "parse_assignments",
           "ExpressionError", "FUNCTIONS"]

# Functions a formula may call, each taking one Value.
FUNCTIONS = {
    "exp": Value.exp,
    "log": Value.log,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "relu": Value.relu,
    "abs": Value.abs,
    "sqrt": Value.sqrt,
    "sin": Value.sin,
    "cos": Value.cos,
}

# Python operator node -> what it does to two Values.
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a ** b,
}

_BINARY_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/",
                   ast.Pow: "**"}

# Formulas longer than this are refused before parsing (a guard against
# pasting something enormous; any formula one types is far shorter).
MAX_LENGTH = 2000


class ExpressionError(ValueError):
    """The formula cannot be used: the message says what and why."""


def parse_expression(text, variables=None):
    """Build the Value computed by ``text``, with ``variables`` as leaf Values.

    ``variables`` maps names to numbers (or to Values, which are used as they
    are, so the caller can keep hold of them). Each name becomes one leaf Value
    labelled with its name, shared by every place the name appears, so its
    ``grad`` after ``backward()`` is the full derivative. To get those leaves
    back, use :func:`parse_with_variables`.

    >>> parse_expression("2 * x ** 2 + relu(-x)", {"x": 3.0}).data
    18.0
    >>> parse_expression("__import__('os')", {})
    Traceback (most recent call last):
      ...
    tinygrad_edu.watch.expression.ExpressionError: cannot call '__import__': the functions allowed are abs, cos, exp, log, relu, sigmoid, sin, sqrt, tanh
    """
    root, _ = parse_with_variables(text, variables)
    return root


def parse_with_variables(text, variables=None):
    """Like :func:`parse_expression`, but return ``(root, leaves)``: the
    result and a dict from each variable's name to its leaf Value.

    >>> y, leaves = parse_with_variables("x * x", {"x": 3.0})
    >>> y.backward()
    >>> leaves["x"].grad
    6.0
    """
    leaves = _make_leaves(variables or {})
    tree = _parse(text)
    try:
        result = _Builder(leaves).build(tree.body)
    except RecursionError:
        raise ExpressionError("the formula is nested too deeply") from None
    except OverflowError as error:
        reason = str(error) if "exp(" in str(error) else "the result is too large for a float"
        raise ExpressionError(f"cannot compute {_short(text)}: {reason}") from None
    except (ArithmeticError, ValueError) as error:
        if isinstance(error, ExpressionError):
            raise
        raise ExpressionError(f"cannot compute {_short(text)}: {error}") from None
    if not isinstance(result, Value):      # a formula of numbers only
        result = Value(result)
    _check_finite(result, text)
    return result, leaves


def _check_finite(root, text):
    """Refuse a formula whose result, or any step on the way, is inf or NaN:
    printing ``out = nan`` would be a silent wrong answer."""
    for value in topological_order(root):
        if not math.isfinite(value.data):
            raise ExpressionError(
                f"cannot compute {_short(text)}: a step gives {value.data} "
                f"(a number beyond the float range, about 1.8e308, or an "
                f"undefined one such as inf - inf); use smaller numbers")


def parse_assignments(items):
    """Read ``["x=2", "w=-3.5"]`` (as typed on a command line) into a dict.

    >>> parse_assignments(["x=2", "w = -3.5"])
    {'x': 2.0, 'w': -3.5}
    """
    values = {}
    for item in items:
        name, sep, number = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ExpressionError(
                f"cannot read {item!r}: give each variable as NAME=NUMBER, "
                f"e.g. x=2.0")
        try:
            values[name] = float(number)
        except ValueError:
            raise ExpressionError(
                f"cannot read {item!r}: {number.strip()!r} is not a number"
            ) from None
        if not math.isfinite(values[name]):
            raise ExpressionError(
                f"cannot read {item!r}: {number.strip()} is not a finite "
                f"number (floats reach about 1.8e308)")
    return values


def _make_leaves(variables):
    leaves = {}
    for name, number in variables.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ExpressionError(f"{name!r} is not a valid variable name")
        if name in FUNCTIONS:
            raise ExpressionError(
                f"{name!r} is a function name; call your variable something else")
        if isinstance(number, Value):
            leaves[name] = number
        else:
            leaves[name] = Value(number, label=name)
    return leaves


def _parse(text):
    if not isinstance(text, str):
        raise ExpressionError(f"a formula must be text, got {type(text).__name__}")
    if not text.strip():
        raise ExpressionError("the formula is empty; try e.g. 'x * w + b'")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the formula is {len(text)} characters long; the limit is {MAX_LENGTH}")
    formula = text.strip()
    try:
        return ast.parse(formula, mode="eval")
    except SyntaxError as error:
        # Python gives no place (offset 0) when the formula stops too soon.
        where = (f"at character {error.offset}"
                 if error.offset and error.offset <= len(formula)
                 else "at the end: something is missing after the last character")
        raise ExpressionError(
            f"cannot read the formula {_short(text)}: {error.msg} ({where})") from None


class _Builder:
    """Walk the syntax tree, building a Value for each node we allow."""

    def __init__(self, leaves):
        self.leaves = leaves

    def build(self, node):
        method = getattr(self, f"_build_{type(node).__name__}", None)
        if method is None:
            raise ExpressionError(
                f"{_describe(node)} is not allowed in a formula; use numbers, "
                f"variable names, + - * / **, and the functions "
                f"{', '.join(sorted(FUNCTIONS))}")
        return method(node)

    def _build_Constant(self, node):
        number = node.value
        if isinstance(number, bool) or not isinstance(number, numbers.Real):
            raise ExpressionError(
                f"{number!r} is not allowed in a formula: only plain numbers are")
        try:
            number = float(number)
        except OverflowError:
            number = float("inf")
        if not math.isfinite(number):
            raise ExpressionError(
                "a number in the formula is too large for a float (the "
                "limit is about 1.8e308)")
        return number

    def _build_Name(self, node):
        if node.id in self.leaves:
            return self.leaves[node.id]
        if node.id in FUNCTIONS:
            raise ExpressionError(
                f"{node.id!r} is a function: call it, as in {node.id}(x)")
        given = ", ".join(sorted(self.leaves)) or "none"
        raise ExpressionError(
            f"the variable {node.id!r} has no value; give it one, e.g. "
            f"{node.id}=1.0 (variables given: {given})")

    def _build_UnaryOp(self, node):
        operand = self.build(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise ExpressionError(f"{_describe(node)} is not allowed in a formula")

    def _build_BinOp(self, node):
        # "a + b + c + ..." is a chain nested to the left, as deep as it is
        # long; walk down it in a loop, not by recursion, so a sum of
        # hundreds of terms is fine.
        chain = []
        while isinstance(node, ast.BinOp):
            chain.append(node)
            node = node.left
        result = self.build(node)
        for link in reversed(chain):
            result = self._combine(link, result, self.build(link.right))
        return result

    def _combine(self, node, left, right):
        """Apply the operator of ``node`` to ``left`` and ``right``."""
        operation = _BINARY.get(type(node.op))
        if operation is None:
            raise ExpressionError(
                f"the operator {_describe(node.op)} is not allowed; use "
                f"{' '.join(_BINARY_SYMBOLS.values())}")
        if not isinstance(left, Value) and not isinstance(right, Value):
            return self._numbers_only(operation, left, right)
        if not isinstance(left, Value):
            left = Value(left)     # so 2 ** x works (a Value exponent)
        return operation(left, right)

    @staticmethod
    def _numbers_only(operation, left, right):
        """Two plain numbers: compute in the engine too, for its clear errors."""
        return operation(Value(left), right).data

    def _build_Call(self, node):
        if not isinstance(node.func, ast.Name):
            hint = ""
            if (isinstance(node.func, ast.Attribute) and not node.args
                    and isinstance(node.func.value, ast.Name)):   # a.tanh()
                hint = (f"; write it as a function: {node.func.attr}"
                        f"({node.func.value.id})")
            raise ExpressionError(
                f"{_describe(node.func)} cannot be called: only "
                f"{', '.join(sorted(FUNCTIONS))} can, as functions{hint}")
        name = node.func.id
        if name in defined_ops():        # an operation made with define_op
            function, arity = defined_ops()[name], len(defined_ops()[name].op.derivatives)
        elif name in FUNCTIONS:
            function, arity = FUNCTIONS[name], 1
        else:
            raise ExpressionError(
                f"cannot call {name!r}: the functions allowed are "
                f"{', '.join(sorted(FUNCTIONS))}")
        if node.keywords or len(node.args) != arity:
            count = "one argument" if arity == 1 else f"{arity} arguments"
            raise ExpressionError(f"{name}() takes exactly {count}, as in "
                                  f"{name}({', '.join(['x'] * arity)})")
        arguments = [self.build(arg) for arg in node.args]
        return function(*[a if isinstance(a, Value) else Value(a) for a in arguments])


def _short(text, limit=60):
    """The formula quoted for an error message, cut short if it is long."""
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _describe(node):
    """A short human name for a syntax node, e.g. "a subscript (x[0])"."""
    text = ""
    try:
        text = ast.unparse(node)
    except Exception:            # unparse cannot fail on parsed nodes, but be safe
        pass
    kind = {
        "Attribute": "an attribute", "Subscript": "a subscript",
        "Lambda": "a lambda", "Compare": "a comparison", "BoolOp": "and/or",
        "IfExp": "an if-expression", "List": "a list", "Tuple": "a tuple",
        "Dict": "a dict", "Set": "a set", "ListComp": "a comprehension",
        "GeneratorExp": "a generator", "JoinedStr": "an f-string",
        "NamedExpr": "an assignment (:=)", "Starred": "a starred argument",
        "FloorDiv": "//", "Mod": "%", "MatMult": "@", "BitAnd": "&",
        "BitOr": "|", "BitXor": "^", "LShift": "<<", "RShift": ">>",
    }.get(type(node).__name__, type(node).__name__)
    return f"{kind} ({text})" if text and text != kind else kind
