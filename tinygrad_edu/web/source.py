"""The engine's own source lines, read from the installed ``engine.py``.

The explorer shows, beside the picture, the code that does each step: the
operation's method for the forward pass (it computes the value and its local
derivatives) and :func:`~tinygrad_edu.engine.chain_rule_step` for the
backward pass. The lines are read with :mod:`inspect` from the engine that
is running, so they cannot drift from it. Docstrings are left out (the
panel is narrow); each function's first line number in ``engine.py`` is kept.

Some lines are *marked* by what they compute (``"grad"``, ``"added"``...),
so the page can write the real numbers beside them. A mark whose line is
not found is simply left out.
"""

import ast
import inspect
import textwrap

from .. import engine

__all__ = ["engine_function", "source_of", "op_function_name", "chain_rule_source",
           "op_sources"]

# Operation name (Value.op) -> the engine function that makes such a Value.
_OP_FUNCTIONS = {
    "+": "Value.__add__", "*": "Value.__mul__", "-": "Value.__sub__",
    "/": "Value.__truediv__", "neg": "Value.__neg__", "**": "Value._pow_value",
    "exp": "Value.exp", "log": "Value.log", "tanh": "Value.tanh",
    "sigmoid": "Value.sigmoid", "relu": "Value.relu", "abs": "Value.abs",
    "sum": "vsum", "dot": "_dot_of_values",
}

# Lines of chain_rule_step to write numbers beside, found by their text.
_CHAIN_RULE_MARKS = {
    "def": "def chain_rule_step", "grad": "grad = value.grad",
    "zero": "if grad == 0", "added": "for parent, local_grad in",
    "add": "parent.grad +=",
}


# How a line that makes an operation's result Value starts.
_MAKES_THE_VALUE = ("return Value(", "= _Power(")


def op_function_name(op):
    """The engine function behind an operation, e.g. ``"**2"`` -> ``Value.__pow__``;
    None for an operation the engine does not define."""
    if op.startswith("**") and op != "**":
        return "Value.__pow__"              # a fixed power, like x ** 2
    return _OP_FUNCTIONS.get(op)


def engine_function(dotted):
    """``"Value.tanh"`` or ``"vsum"``: the function itself, from the engine."""
    thing = engine
    for part in dotted.split("."):
        thing = getattr(thing, part)
    return thing


def source_of(function, marks=None, last_marks=None):
    """A function's source without its docstring, as a dict for the page.

    ``lines``: the lines (dedented); ``start``: the line number of the first
    in ``engine.py``; ``marks``: for each name in ``marks`` (name -> text
    the line contains), the index of the first line containing that text;
    for each name in ``last_marks`` (name -> texts), the index of the last
    line containing any of them.
    """
    lines, start = inspect.getsourcelines(function)
    lines = textwrap.dedent("".join(lines)).splitlines()
    numbers = list(range(start, start + len(lines)))
    docstring = _docstring_lines(lines)
    kept = [(n, line) for i, (n, line) in enumerate(zip(numbers, lines))
            if i not in docstring]
    found = {}
    for name, text in (marks or {}).items():
        for index, (_, line) in enumerate(kept):
            if text in line:
                found[name] = index
                break
    for name, texts in (last_marks or {}).items():
        hits = [index for index, (_, line) in enumerate(kept)
                if any(text in line for text in texts)]
        if hits:
            found[name] = hits[-1]
    return {"lines": [line for _, line in kept], "numbers": [n for n, _ in kept],
            "marks": found}


def _docstring_lines(lines):
    """Indexes of the lines holding the function's docstring (if any)."""
    tree = ast.parse("\n".join(lines))
    body = tree.body[0].body
    first = body[0] if body else None
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        return set(range(first.lineno - 1, first.end_lineno))
    return set()


def chain_rule_source():
    """``chain_rule_step``'s lines, marked where the numbers go."""
    return dict(source_of(engine.chain_rule_step, _CHAIN_RULE_MARKS),
                name="chain_rule_step")


def op_sources(ops):
    """For each operation in ``ops``, the lines of its engine function.

    The mark ``"def"`` is the first line (where the inputs arrive) and
    ``"made"`` the line that makes the new Value (where its data and local
    derivatives are known): the last that does, since an earlier one is an
    edge case's early return (relu's NaN). Returns {op: source dict}.
    """
    sources = {}
    for op in sorted(set(ops)):
        name = op_function_name(op)
        if name is None:
            continue
        source = source_of(engine_function(name), {"def": "def "},
                           {"made": _MAKES_THE_VALUE})
        sources[op] = dict(source, name=name)
    return sources
