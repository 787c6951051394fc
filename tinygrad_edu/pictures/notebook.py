"""Values in Jupyter: a small graph, drawn inline with each Value's data and grad.

The engine knows nothing of pictures (it sits in the layer below); it asks
the functions registered with ``engine.register_display``. The front door
(``tinygrad_edu/__init__.py``) registers :func:`small_graph_svg` there, and
imports this module only when Jupyter first shows a Value.

A graph with more than :data:`NOTEBOOK_MAX_VALUES` Values behind it would be
too big to read inline (and slow to draw), so such a Value shows as text;
so does every Value when Graphviz's ``dot`` program is not installed.
Draw a big graph with ``draw_graph(value, fold="neuron")`` instead.
"""

import shutil

import graphviz

from ..engine import Value
from .graph import draw_graph

__all__ = ["small_graph_svg", "NOTEBOOK_MAX_VALUES"]

NOTEBOOK_MAX_VALUES = 40


def small_graph_svg(value, max_values=NOTEBOOK_MAX_VALUES):
    """``value``'s graph as SVG text, or None if it is too big or ``dot`` is missing."""
    if not isinstance(value, Value) or not _at_most(value, max_values):
        return None
    if shutil.which("dot") is None:
        return None
    try:
        picture = draw_graph(value, legend=False).pipe(format="svg")
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError, OSError):
        return None
    return picture.decode("utf-8")


def _at_most(root, limit):
    """True if ``root`` and the Values behind it number at most ``limit``.

    Stops counting past the limit, so a graph of a million Values costs no
    more than a small one.
    """
    seen = {root}
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if parent not in seen:
                seen.add(parent)
                if len(seen) > limit:
                    return False
                stack.append(parent)
    return True
