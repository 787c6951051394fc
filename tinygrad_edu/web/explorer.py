"""The backprop explorer: one page to step through a forward and a backward pass.

>>> from tinygrad_edu import Value
>>> x, w = Value(2.0, "x"), Value(-0.5, "w")
>>> y = (x * w).tanh()
>>> y.label = "y"
>>> page = explore(y)               # in Jupyter, the page shows itself
>>> page.steps                      # 2 operations forward, 4 Values backward
(2, 4)
>>> path = page.save("out/y.html")   # doctest: +SKIP

The page is a single HTML file that works from ``file://`` with no network.
The graph is laid out once by Graphviz (:mod:`.graph_svg`); everything else
is a record of numbers, made here in Python by the engine itself:

* the forward pass: one step per operation, in the order they ran (the
  trace of :mod:`tinygrad_edu.watch.tracing`), each with its sentence;
* the backward pass: one record per chain-rule step, from
  :func:`~tinygrad_edu.watch.tracing.backward_steps`: the Value visited, its
  gradient, what was added to each parent and the parent's gradient after,
  and the sentence ``tinygrad-edu step`` prints;
* the engine's source lines for ``chain_rule_step`` and each operation.

The page's script (``static/explorer.js``, on top of the shared
``static/common.js``) computes nothing of its own: going to step N sets each
gradient to the last value recorded for it up to step N, and redraws the
numbers and colours that changed.

Big graphs are folded: ``fold="auto"`` draws every Value of a small graph,
one box per neuron for a network (or one per layer if that is still too
many). A folded box opens on click, in the side panel.
"""

import math
from html import escape

from ..engine import Value, topological_order
from ..output import write_atomically
from ..pictures.graph import DEFAULT_MAX_NODES, GraphTooLargeError, count_nodes
from ..watch.tracing import backward_steps, describe, trace
from .graph_svg import lay_out
from .page import PALETTE, inline_page
from .source import chain_rule_source, op_sources

__all__ = ["explore", "Explorer", "explorer_data", "choose_fold", "FOLDS",
           "AUTO_UNFOLDED_MAX"]

FOLDS = ("auto", "none", "neuron", "layer")
# fold="auto" draws every Value up to this many boxes and circles; a bigger
# graph is folded (a picture of hundreds of tiny boxes helps nobody).
AUTO_UNFOLDED_MAX = 150
# The step's sentence lists this many parents, then "... and N more".
SHOWN_PARENT_LINES = 12
# Above this many steps the page starts with "stop at leaves" off: a
# network's weights are leaves, and each of their steps passes nothing on.
STOP_AT_LEAVES_UP_TO = 60


class Explorer:
    """The explorer page of one graph: ``.html`` (the page as text),
    ``.save(path)``, and in Jupyter it shows itself (in an iframe, so that
    its script runs)."""

    def __init__(self, html, title, fold, steps):
        self.html = html
        self.title = title
        self.fold = fold            # the fold used: None, "neuron" or "layer"
        self.steps = steps          # (forward steps, backward steps)

    def save(self, path):
        """Write the page to ``path`` (folders are created); return the path."""
        return write_atomically(path, self.html)

    def _repr_html_(self, height=620):
        return (f'<iframe srcdoc="{escape(self.html, quote=True)}" '
                f'title="{escape(self.title, quote=True)}" sandbox="allow-scripts" '
                f'style="width: 100%; height: {height}px; border: 1px solid #ccc">'
                f"</iframe>")

    def __repr__(self):
        return (f"<Explorer {self.title!r}: {self.steps[0]} forward and "
                f"{self.steps[1]} backward steps, {len(self.html):,} characters>")


def explore(root, *, fold="auto", title=None, breakpoints=(),
            max_nodes=DEFAULT_MAX_NODES):
    """The explorer page for the graph behind ``root`` (e.g. a loss).

    fold         "auto", "none" (every Value), "neuron" or "layer"
    title        the page's title (default: "Backpropagation from NAME")
    breakpoints  names of Values where "play" stops
    max_nodes    the most boxes to lay out (see ``draw_graph``)

    Backprop is run on ``root`` (after ``root.zero_grad()``), so afterwards
    every Value holds the gradient ``backward()`` gives.
    """
    if not isinstance(root, Value):
        raise TypeError(f"explore needs a Value (e.g. a loss), got {type(root).__name__}")
    title = title or f"Backpropagation from {root.name}"
    data = explorer_data(root, fold, max_nodes)
    data["title"] = title
    data["breakpoints"] = _breakpoint_indexes(data["names"], breakpoints)
    html = inline_page(title, _body(title, data.pop("svg")),
                       scripts=["common.js", "explorer.js"],
                       styles=["common.css", "explorer.css"], data=data)
    steps = (len(data["forward"]["value"]), len(data["backward"]["value"]))
    return Explorer(html, title, data["fold"], steps)


def choose_fold(order, fold="auto", max_nodes=DEFAULT_MAX_NODES):
    """The fold to lay the graph out with: None, "neuron" or "layer".

    "auto" keeps a graph of up to ``AUTO_UNFOLDED_MAX`` boxes unfolded and
    folds a bigger one by neuron, or by layer if that is still over
    ``max_nodes``. Raises GraphTooLargeError when the result is over
    ``max_nodes`` boxes, naming the folds that would fit.
    """
    if fold is None:                 # draw_graph's spelling of "none"
        fold = "none"
    if fold not in FOLDS:
        raise ValueError(f"fold must be one of {', '.join(FOLDS)} (or None, "
                         f"as draw_graph takes it), got {fold!r}")
    counts = {}

    def boxes(way):                  # count_nodes folds the graph: do it once
        if way not in counts:
            counts[way] = count_nodes(order, way)
        return counts[way]

    wanted = None if fold in ("auto", "none") else fold
    if fold == "auto" and boxes(None) > AUTO_UNFOLDED_MAX:
        wanted = next((way for way in ("neuron", "layer")
                       if boxes(way) <= max_nodes and boxes(way) < boxes(None)), None)
    if boxes(wanted) > max_nodes:
        others = {way: boxes(way) for way in ("neuron", "layer")
                  if way != wanted and boxes(way) < boxes(wanted)}
        raise GraphTooLargeError(len(order), boxes(wanted), max_nodes, others)
    return wanted


def explorer_data(root, fold="auto", max_nodes=DEFAULT_MAX_NODES):
    """Everything the page shows, as plain lists and numbers (and the SVG).

    Values are numbered in the order they were made (the forward order).
    Runs backprop on ``root`` (after ``root.zero_grad()``).
    """
    order = topological_order(root)
    fold = choose_fold(order, fold, max_nodes)
    values = sorted(order, key=lambda v: v.id)
    index = {id(v): i for i, v in enumerate(values)}
    root.zero_grad()
    backward = _backward_pass(root, index)      # fills in the gradients
    layout = lay_out(root, order, values, fold)
    finite = [abs(g) for g in backward["grad"] + [a for after in backward["after"]
                                                   for a in after] if math.isfinite(g)]
    return {
        "root": index[id(root)], "fold": fold or "none",
        "names": [v.name for v in values],
        "ops": [v.op for v in values],
        "exprs": [describe(v) if not v.parents else "" for v in values],
        "data": [v.data for v in values],
        "parents": [[index[id(p)] for p in v.parents] for v in values],
        "local": [list(v.local_grads) for v in values],
        "node": layout.node_of,
        "forward": _forward_pass(root, index),
        "backward": backward,
        "scale": max(finite, default=0.0),
        "svgNodes": layout.nodes, "boxes": layout.boxes,
        "neurons": layout.neurons, "edges": layout.edges,
        "source": {"chain": chain_rule_source(),
                   "ops": op_sources(v.op for v in values if v.parents)},
        "palette": PALETTE,
        "stopAtLeaves": len(order) <= STOP_AT_LEAVES_UP_TO,
        "svg": layout.svg,
    }


def _forward_pass(root, index):
    """One step per operation, in the order they ran, with the trace's words."""
    entries = [e for e in trace(root) if not e.is_input]
    return {"value": [index[id(e.value)] for e in entries],
            "text": [str(e) for e in entries]}


def _backward_pass(root, index):
    """One record per chain-rule step, as ``backward_steps`` reports it."""
    record = {"value": [], "grad": [], "added": [], "after": [], "text": []}
    for step in backward_steps(root):
        record["value"].append(index[id(step.value)])
        record["grad"].append(step.grad)
        record["added"].append(list(step.added))
        record["after"].append(list(step.parent_grads))
        record["text"].append(step.format(SHOWN_PARENT_LINES))
    return record


def _breakpoint_indexes(names, wanted):
    """Indexes of the Values called ``wanted``; an unknown name is an error."""
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    where = {}
    for i, name in enumerate(names):
        where.setdefault(name, []).append(i)
    missing = [n for n in wanted if n not in where]
    if missing:
        raise ValueError(f"no Value called {', '.join(map(repr, missing))} "
                         f"in this graph")
    return [i for n in wanted for i in where[n]]


def _body(title, svg):
    """The page's HTML: the controls, the graph and the side panel."""
    return f"""<div id="app">
<header id="bar">
 <strong id="page-title">{escape(title)}</strong>
 <span class="group">
  <button id="first" type="button" title="first step (Home)">|&#x25C0;</button>
  <button id="prev" type="button" title="previous step (&#x2190;)">&#x25C0;</button>
  <button id="play" type="button" title="play / pause (space)">play</button>
  <button id="next" type="button" title="next step (&#x2192;)">&#x25B6;</button>
  <button id="last" type="button" title="last step (End)">&#x25B6;|</button>
  <label title="steps per second when playing">speed
   <select id="speed"><option>1</option><option>2</option><option selected>5</option>
   <option>10</option><option>25</option><option>60</option></select>/s</label>
 </span>
 <input id="slider" type="range" min="0" value="0" aria-label="position in the passes">
 <span id="where" aria-live="polite"></span>
 <span class="group">
  <label>go to <input id="goto" type="text" size="6" placeholder="10 or f3"
   title="a backward step number (0 = before the first), or f and a forward step number"></label>
  <label>find <input id="find" type="search" size="14" list="names" placeholder="a Value's name"></label>
  <datalist id="names"></datalist>
  <label title="when unticked, &#x2192; and play skip the steps at leaves (weights and inputs), which pass nothing on"><input id="leaves" type="checkbox"> stop at leaves</label>
  <button id="zoom-out" type="button" title="zoom out">&#x2212;</button>
  <button id="zoom-in" type="button" title="zoom in">+</button>
 </span>
</header>
<main>
 <div id="graph">{svg}</div>
 <aside id="panel">
  <section id="step"><h2 id="step-title"></h2><pre id="sentence"></pre></section>
  <section id="code"></section>
  <section id="inside" hidden></section>
  <section id="found" hidden></section>
  <section id="key"></section>
  <section id="help"><p>Keys: &#x2192; / &#x2190; next / previous, space play / pause,
  Home / End first / last. Click a Value to run to the step where it passes its
  gradient on; click a folded box to see inside it; shift-click to set or clear
  a breakpoint (play stops there).</p></section>
 </aside>
</main>
</div>"""
