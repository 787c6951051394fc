"""Blank out functions in Python source: keep the signature and docstring,
replace the body by a hint and a "not done yet" error.

Functions are found by name with :mod:`ast` (``"chain_rule_step"``, or
``"Value.__add__"`` for a method), and cut out by the line numbers the parser
gives them, so the file may grow and change around them. Everything else in
the file is left exactly as it was, comments included.

>>> source = '''
... def double(x):
...     \"\"\"Twice x.\"\"\"
...     # the answer
...     return 2 * x
... '''
>>> print(blank_functions(source, [("double", "multiply", "exercise 1: not done yet")]))
<BLANKLINE>
def double(x):
    \"\"\"Twice x.\"\"\"
    # Hint: multiply
    raise NotImplementedError('exercise 1: not done yet')
<BLANKLINE>
"""

import ast
import io
import textwrap
import tokenize

__all__ = ["BlankingError", "find_function", "function_names", "blank_functions",
           "replace_bodies", "body_lines", "point_imports_at"]


class BlankingError(ValueError):
    """A function to blank is missing or cannot be blanked."""


def _definitions(tree):
    """(qualified name, node) for every function and method, at any depth."""
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((prefix + child.name, child))
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
    visit(tree, "")
    return found


def function_names(source_or_tree):
    """The qualified names of every function and method in some source
    (text, or a tree ``ast.parse`` made from it)."""
    tree = (ast.parse(source_or_tree) if isinstance(source_or_tree, str)
            else source_or_tree)
    return [name for name, _ in _definitions(tree)]


def find_function(tree, name):
    """The ``FunctionDef`` called ``name`` (``"Class.method"`` for a method)."""
    for qualified, node in _definitions(tree):
        if qualified == name:
            return node
    raise BlankingError(f"there is no function {name!r} to blank")


def _docstring_node(node):
    first = node.body[0]
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        return first
    return None


def _signature_end(lines, node):
    """The line number (1-based) of the ``:`` that ends the ``def`` line(s)."""
    text = "".join(lines[node.lineno - 1:node.body[0].lineno])
    depth = 0
    seen_def = False
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    try:
        for token in tokens:
            if token.type == tokenize.NAME and token.string == "def":
                seen_def = True
            elif token.type == tokenize.OP and seen_def:
                if token.string in "([{":
                    depth += 1
                elif token.string in ")]}":
                    depth -= 1
                elif token.string == ":" and depth == 0:
                    return node.lineno + token.start[0] - 1
    except (tokenize.TokenError, IndentationError):
        pass
    raise BlankingError(f"cannot find where the signature of {node.name} ends")


def _body_start(lines, node):
    """The first line (1-based) that the blank replaces."""
    docstring = _docstring_node(node)
    if docstring is not None:
        return docstring.end_lineno + 1
    end = _signature_end(lines, node)
    if end >= node.body[0].lineno:
        raise BlankingError(f"{node.name} is written on one line; "
                            f"it cannot be blanked")
    return end + 1


def body_lines(source, name):
    """The source lines of ``name``'s body after its docstring (the answer)."""
    lines = source.splitlines(keepends=True)
    node = find_function(ast.parse(source), name)
    return lines[_body_start(lines, node) - 1:node.end_lineno]


def _indent_of(node, lines):
    line = lines[node.body[0].lineno - 1]
    return line[:len(line) - len(line.lstrip())]


def _replacement(node, lines, hint, message, task, width=79):
    indent = _indent_of(node, lines)
    text = []
    if _docstring_node(node) is None and task:
        wrapped = textwrap.wrap(task, width - len(indent) - 3)
        if len(wrapped) == 1:
            text.append(f'{indent}"""{task}"""\n')
        else:
            text.append(f'{indent}"""' + f"\n{indent}".join(wrapped) + "\n")
            text.append(f'{indent}"""\n')
    for i, line in enumerate(textwrap.wrap(hint, width - len(indent) - 8)):
        text.append(f"{indent}# {'Hint: ' if i == 0 else '      '}{line}\n")
    text.append(f"{indent}raise NotImplementedError({message!r})\n")
    return text


def blank_functions(source, blanks):
    """``source`` with each function in ``blanks`` blanked.

    ``blanks`` holds (name, hint, message) or (name, hint, message, task):
    the blank keeps the signature and docstring, adds ``# Hint: hint``, and
    raises ``NotImplementedError(message)``. ``task`` becomes the docstring
    of a function that has none.
    """
    def blank(node, lines, name, hint, message, task=""):
        return _replacement(node, lines, hint, message, task)
    return _replace_bodies(source, [(b[0], blank, b) for b in blanks])


def replace_bodies(source, bodies):
    """``source`` with the bodies of some functions replaced (keeping their
    docstrings): ``bodies`` maps a name to the new body, written without
    indentation. (The tests use it to write a learner's solutions.)"""
    def body(node, lines, text):
        indent = _indent_of(node, lines)
        return [indent + line if line.strip() else line
                for line in textwrap.dedent(text).strip("\n").splitlines(True)] + ["\n"]
    return _replace_bodies(source, [(name, body, (text,))
                                    for name, text in bodies.items()])


def _replace_bodies(source, replacements):
    """Replace the body of each (name, make(node, lines, *args), args)."""
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    cuts = []
    for name, make, args in replacements:
        node = find_function(tree, name)
        start = _body_start(lines, node)
        cuts.append((start, node.end_lineno, make(node, lines, *args)))
    cuts.sort(key=lambda cut: cut[0])
    for (_, end, _), (start, _, _) in zip(cuts, cuts[1:]):
        if start <= end:
            raise BlankingError("two of the functions to blank overlap")
    for start, end, text in reversed(cuts):
        lines[start - 1:end] = text
    return "".join(lines)


def point_imports_at(source, package, modules):
    """Rewrite relative imports to absolute ones, ``modules`` excepted.

    ``package`` is the dotted package the source lived in (e.g.
    ``"tinygrad_edu.learn"``). ``modules`` maps a dotted module (e.g.
    ``"tinygrad_edu.engine"``) to the top-level name a copy should import
    instead (``"engine"``), so a copied file uses its neighbours in the
    workbook.
    """
    lines = source.splitlines(keepends=True)
    edits = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package.split(".")
            base = base[:len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module
        if target in modules:
            target = modules[target]
        elif not node.level:
            continue
        if node.module is None or node.lineno != node.end_lineno:
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "")
                              for a in node.names)
            new = f"from {target} import {names}"
        else:
            line = lines[node.lineno - 1]
            segment = line[node.col_offset:node.end_col_offset]
            new = "from " + target + " import" + segment.split(" import", 1)[1]
        edits.append((node, new))
    for node, new in sorted(edits, key=lambda e: e[0].lineno, reverse=True):
        first, last = lines[node.lineno - 1], lines[node.end_lineno - 1]
        lines[node.lineno - 1:node.end_lineno] = [
            first[:node.col_offset] + new + last[node.end_col_offset:]]
    return "".join(lines)
