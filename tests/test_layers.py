"""The package is a stack of layers: every import points down, and none goes round in a circle.

Read from the source with ``ast`` (nothing is imported), so a function-local
import counts as much as one at the top of a file.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_edu"

# Layer of each top-level module or folder; a module may import from a lower
# layer or from its own folder, never from a higher layer or a sibling folder.
LAYERS = {
    "engine": 0, "output": 0,
    "learn": 1,
    "watch": 2,
    "pictures": 3, "fast": 3,
    "web": 4, "exercises": 4,          # pages in the browser; workbooks for learners
    "commands": 5, "cli": 6, "__main__": 7,
}
FRONT_DOOR = "__init__"        # tinygrad_edu/__init__.py names everything, lazily


def module_name(path):
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def package_of(path):
    parts = list(path.relative_to(PACKAGE).parent.parts)
    return parts


def imports_of(path):
    """The tinygrad_edu modules ``path`` imports (dotted, relative to the package)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_of(path)
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                target = base + (node.module.split(".") if node.module else [])
                if node.module is None:          # from . import name
                    for alias in node.names:
                        found.add(".".join(target + [alias.name]))
                    continue
                found.add(".".join(target))
            elif node.module and node.module.split(".")[0] == "tinygrad_edu":
                found.add(".".join(node.module.split(".")[1:]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tinygrad_edu":
                    found.add(".".join(alias.name.split(".")[1:]))
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(node.args[0].value.lstrip("."))
    return {name for name in found if name}


def all_modules():
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def resolve(name, modules):
    """``a.b.c`` -> the longest prefix that is a module of the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph():
    modules = all_modules()
    graph = {}
    for name, path in modules.items():
        targets = {resolve(t, modules) for t in imports_of(path)}
        graph[name] = {t for t in targets if t and t != name}
    return graph


def layer(name):
    return LAYERS[name.split(".")[0]]


def test_every_module_has_a_layer():
    for name in all_modules():
        if name != FRONT_DOOR:
            assert name.split(".")[0] in LAYERS, f"{name} is in no layer"


def test_imports_point_down_the_layers():
    wrong = []
    for name, targets in import_graph().items():
        if name == FRONT_DOOR:
            continue
        for target in targets:
            same_folder = target.split(".")[0] == name.split(".")[0]
            if target == FRONT_DOOR or not (same_folder or layer(target) < layer(name)):
                wrong.append(f"{name} imports {target}")
    assert not wrong, "imports that point up or sideways: " + "; ".join(sorted(wrong))


def find_cycle(graph):
    """One import cycle as a list of modules, or None (depth-first, iterative)."""
    state = {}                       # name -> "open" while on the path, "done" after
    for start in graph:
        if start in state:
            continue
        path, stack = [], [(start, iter(sorted(graph[start])))]
        state[start] = "open"
        path.append(start)
        while stack:
            node, children = stack[-1]
            for child in children:
                if state.get(child) == "open":
                    return path[path.index(child):] + [child]
                if child not in state:
                    state[child] = "open"
                    path.append(child)
                    stack.append((child, iter(sorted(graph.get(child, ())))))
                    break
            else:
                state[node] = "done"
                path.pop()
                stack.pop()
    return None


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("name", ["draw", "tape", "tape_numpy", "training", "network_picture"])
def test_the_old_flat_modules_are_gone(name):
    assert not (PACKAGE / f"{name}.py").exists()
