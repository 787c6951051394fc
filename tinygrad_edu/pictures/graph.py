"""Pictures of the computation graph: every Value with its data and gradient.

``draw_graph(loss)`` returns a ``graphviz.Digraph``. In Jupyter it shows itself;
elsewhere save it with ``render(graph, "out/loss.png")`` (SVG, PNG or PDF).

How to read the picture
-----------------------
* Data flows left to right. Each Value is a box with its name, ``data`` and
  ``grad``; each operation is a small circle between its inputs and its result.
* The box's outline tells what the Value is: **parameters** (the things
  training changes: every weight and bias of a ``Module``, or any
  ``Value(..., parameter=True)``) have a thick green outline, **inputs** a
  plain square box, **constants** a dashed one, intermediate results a thin
  rounded box, and the **root** (usually the loss) a double outline.
* The fill colour is the gradient: blue when it is positive, red when
  negative, darker the larger it is compared with the largest in the picture
  (or with ``grad_scale``, so a series of pictures shares one scale; the key
  says which number gets the full colour).
  Before ``backward()`` the boxes stay white and say the gradient is not
  computed yet (a zero there would be a lie, not a result). A NaN gradient
  is yellow, an infinite one has the full colour; the title counts them.

Big graphs
----------
The loss of a 64-16-16-10 network has thousands of Values: no drawing of that
is readable, and Graphviz would take minutes. ``fold="neuron"`` draws each
neuron (its weights, dot product, bias, activation) as one box;
``fold="layer"`` draws each layer as one box. By default (``fold="auto"``) a
graph over ``max_nodes`` boxes is folded by neuron, or by layer if that is
still too many, and the title says so; ``fold=None`` draws every Value. Only a
graph that stays over ``max_nodes`` even folded raises an error, which names
the ways out.
"""

from html import escape

import graphviz

from ..engine import Value, topological_order
from .checks import positive_number, positive_whole_number
from .folding import fold_graph
from .palette import (BLUE, HIGHLIGHT, PARAMETER_GREEN, RED, fmt, largest_finite,
                      mix, not_finite_note, signed_colour, text_colour)

__all__ = ["draw_graph", "count_nodes", "GraphTooLargeError", "DEFAULT_MAX_NODES"]

# Graphviz lays out 1,000 nodes in about 0.3 s, 5,000 in about 10 s.
DEFAULT_MAX_NODES = 1000

# The folds tried, most detailed first, when a graph is over the ceiling.
FOLDS = ("neuron", "layer")


class GraphTooLargeError(ValueError):
    """The graph has more boxes than ``max_nodes``: fold it or lift the limit.

    The message names the Python arguments (``fold=``, ``max_nodes=``);
    ``advice()`` words the same fix with other names, e.g. command-line flags.
    """

    def __init__(self, values, nodes, max_nodes, folds):
        self.values = values            # how many Values the graph has
        self.nodes = nodes              # boxes and circles it would draw
        self.max_nodes = max_nodes
        self.folds = folds              # {"neuron": boxes when folded, ...}
        super().__init__(self.advice())

    def advice(self, fold_option='fold="{}"', limit_option="max_nodes={}"):
        """The message, naming the fixes with ``fold_option`` and
        ``limit_option`` (format strings; None leaves that fix out)."""
        limit = limit_option.format(self.max_nodes) if limit_option else "the limit"
        text = (f"this graph has {self.values} Values, {self.nodes} boxes to "
                f"draw, more than {limit} (Graphviz would need seconds to "
                f"minutes and nobody could read it).")
        options = [f"{fold_option.format(fold)} ({n} boxes)"
                   for fold, n in self.folds.items()] if fold_option else []
        lift = (f"lift the ceiling with {limit_option.format(self.nodes)}"
                if limit_option else "")
        fixes = [f"draw it folded with {' or '.join(options)}"] if options else []
        fixes += [lift] if lift else []
        if not fixes:
            return text + " Choose a smaller graph."
        sentence = ", or ".join(fixes)
        return f"{text} {sentence[0].upper()}{sentence[1:]}."


# ----------------------------------------------------------------------
# The computation graph
# ----------------------------------------------------------------------

def draw_graph(root, *, fold="auto", max_nodes=DEFAULT_MAX_NODES, highlight=None,
               parameters=None, title=None, legend=True, grad_scale=None):
    """Draw every Value ``root`` was computed from, left to right.

    fold        "auto" (every Value, or folded when over ``max_nodes``),
                None (every Value), "neuron" (one box per neuron) or "layer"
                (one box per layer); folding needs the parameter labels an
                ``MLP`` gives, like ``layers.1.neurons.5.w.12``.
    max_nodes   the most boxes to draw (raise it if you accept a slow, large
                picture); "auto" folds above it.
    highlight   a Value, or a set of Values, to outline in orange (the tracing
                tools use it to point at the step being explained).
    parameters  the Values to draw as parameters; by default those marked
                ``is_parameter`` (every weight and bias of a Module, or a
                ``Value(..., parameter=True)``).
    title       a line of text above the picture.
    legend      add a small key to the colours and outlines.
    grad_scale  the |gradient| that gets the full colour (default: the
                largest in the picture); give one number to a series.

    >>> x, w = Value(2.0, "x"), Value(-0.5, "w", parameter=True)
    >>> y = (x * w).tanh()
    >>> y.label = "y"
    >>> graph = draw_graph(y)
    >>> "not computed yet" in graph.source
    True
    >>> y.backward()
    >>> "grad 1" in draw_graph(y).source
    True
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value (e.g. a loss), got {type(root).__name__}")
    if fold == "none":               # explore's spelling of None
        fold = None
    if fold not in ("auto", None) + FOLDS:
        raise ValueError(f"fold must be 'auto', None (or 'none'), 'neuron' or "
                         f"'layer', got {fold!r}")
    max_nodes = positive_whole_number(
        max_nodes, "max_nodes", f"the most boxes to draw, {DEFAULT_MAX_NODES} "
        f"unless you give it")
    if grad_scale is not None:
        grad_scale = positive_number(
            grad_scale, "grad_scale", "the |gradient| drawn in full colour, e.g. "
            "grad_scale=1.0; leave it out for the picture's largest")
    order = topological_order(root)
    fold, folded_note = _choose_fold(order, fold, max_nodes)
    folded = fold_graph(order, fold) if fold else {}
    drawing = _GraphDrawing(root, order, folded, highlight, parameters, grad_scale)
    return drawing.build(title, legend, folded_note)


def count_nodes(order, fold=None):
    """How many boxes and operation circles ``draw_graph`` would draw."""
    if fold is None:
        return len(order) + sum(1 for v in order if v.parents)
    folded = fold_graph(order, fold)
    boxes = set()
    ops = 0
    for value in order:
        box = folded.get(id(value))
        if box is None:
            boxes.add(id(value))
            ops += bool(value.parents)
        else:
            boxes.add(id(box))
    return len(boxes) + ops


def _choose_fold(order, fold, max_nodes):
    """The fold to draw with, and a line for the title when it was chosen here.

    Raises GraphTooLargeError when even the chosen (or every) fold is over
    ``max_nodes``.
    """
    wanted = None if fold == "auto" else fold
    nodes = count_nodes(order, wanted)
    if nodes <= max_nodes:
        return wanted, None
    counts = {other: count_nodes(order, other) for other in FOLDS if other != wanted}
    if fold == "auto":
        for other in FOLDS:
            if counts[other] <= max_nodes:
                return other, (
                    f"folded: one box per {other} ({len(order)} Values would be "
                    f"{nodes} boxes, over max_nodes={max_nodes}); "
                    f"fold=None, max_nodes={nodes} draws every Value")
    folds = {other: n for other, n in counts.items() if n < nodes}
    raise GraphTooLargeError(len(order), nodes, max_nodes, folds)


class _GraphDrawing:
    """Builds the Digraph: one method per kind of thing drawn."""

    def __init__(self, root, order, folded, highlight, parameters, grad_scale=None):
        self.root = root
        self.order = order
        self.folded = folded                      # id(Value) -> FoldedBox
        self._fold_names = {}                     # id(FoldedBox) -> its node's name
        self.highlight = _as_id_set(highlight)
        self.parameters = (None if parameters is None
                           else {id(p) for p in parameters})
        # backward() always leaves the root's grad at 1 or more; 0 means
        # it has not run on this root yet.
        self.has_grads = root.grad != 0
        self.largest_grad = grad_scale if grad_scale is not None else (
            largest_finite(v.grad for v in order) if self.has_grads else 0.0)
        self.graph = graphviz.Digraph("computation")
        self.graph.attr(rankdir="LR", fontname="Helvetica", nodesep="0.15",
                        ranksep="0.3")
        self.graph.attr("node", fontname="Helvetica", fontsize="11")
        self.graph.attr("edge", color="#555555", arrowsize="0.6")

    def build(self, title, legend, note=None):
        warning = not_finite_note(self._numbers())
        if title or note or warning or not self.has_grads:
            self._title(title, note, warning)
        drawn_boxes = set()
        for value in self.order:
            box = self.folded.get(id(value))
            if box is None:
                self._value_node(value)
                if value.parents:
                    self._operation(value)
            elif id(box) not in drawn_boxes:
                drawn_boxes.add(id(box))
                self._folded_node(box)
        self._folded_edges()
        if legend:
            self._legend()
        return self.graph

    # -- names of the nodes ------------------------------------------------

    def node_of(self, value):
        """The Graphviz node that stands for ``value`` (its box or fold)."""
        box = self.folded.get(id(value))
        return self.fold_name(box) if box is not None else f"v{value.id}"

    def fold_name(self, box):
        """``fold0``, ``fold1``, ...: each box's name, numbered as they are met
        (the same on every run, so a picture's source does not change)."""
        return self._fold_names.setdefault(id(box), f"fold{len(self._fold_names)}")

    # -- parts -------------------------------------------------------------

    def _numbers(self):
        """(name, numbers) for the NaN/infinity note: data, and gradients once computed."""
        groups = [("values", [v.data for v in self.order])]
        if self.has_grads:
            groups.append(("gradients", [v.grad for v in self.order]))
        return groups

    def _title(self, title, note=None, warning=None):
        lines = [title] if title else []
        lines += [note] if note else []
        lines += ["warning: " + warning] if warning else []
        if not self.has_grads:
            lines.append("gradients not computed yet: call backward() on "
                         f"{self.root.name} first")
        self.graph.attr(label="\n".join(lines), labelloc="t", fontsize="14")

    def kind(self, value):
        """'root', 'parameter', 'input', 'constant' or 'intermediate'."""
        if value is self.root:
            return "root"
        if value.parents:
            return "intermediate"
        is_parameter = (value.is_parameter if self.parameters is None
                        else id(value) in self.parameters)
        if is_parameter:
            return "parameter"
        return "input" if value.label else "constant"

    def _value_node(self, value):
        kind = self.kind(value)
        name = value.label or (fmt(value.data) if kind == "constant" else value.name)
        rows = [f"<B>{escape(name)}</B>"]
        if kind != "constant" or value.label:
            rows.append(f"data {escape(fmt(value.data))}")
        rows.append(self._grad_text(value.grad))
        self.graph.node(self.node_of(value), _html_rows(rows, self._ink(value.grad)),
                        **self._box_style(kind, value))

    def _grad_text(self, grad):
        if not self.has_grads:
            return "<I>grad not computed yet</I>"
        return f"grad {escape(fmt(grad))}"

    def _fill(self, grad):
        if not self.has_grads:
            return "#ffffff"
        return signed_colour(grad, self.largest_grad)

    def _ink(self, grad):
        return text_colour(grad, self.largest_grad) if self.has_grads else "black"

    def _box_style(self, kind, value):
        style = {"shape": "box", "style": "filled,rounded",
                 "fillcolor": self._fill(value.grad), "margin": "0.05,0.02"}
        if kind == "parameter":
            style.update(color=PARAMETER_GREEN, penwidth="2.5")
        elif kind == "input":
            style.update(style="filled", color="#333333")
        elif kind == "constant":
            style.update(style="filled,dashed", color="#777777", fontsize="9")
        elif kind == "root":
            style.update(peripheries="2", penwidth="1.5")
        else:
            style.update(color="#777777")
        if id(value) in self.highlight:
            style.update(color=HIGHLIGHT, penwidth="4")
        return style

    def _operation(self, value):
        """The small circle for the op that made ``value``, and its arrows."""
        op_node = f"op{value.id}"
        self.graph.node(op_node, escape(value.op), shape="circle", width="0.3",
                        height="0.3", fixedsize="false", fontsize="10",
                        margin="0.02", style="filled", fillcolor="#eeeeee",
                        color="#999999")
        self.graph.edge(op_node, self.node_of(value))
        drawn = set()
        for parent in value.parents:
            source = self.node_of(parent)
            if source not in drawn:        # x * x: one arrow is enough
                drawn.add(source)
                self.graph.edge(source, op_node)

    def _folded_node(self, box):
        ink = self._ink(box.grad)
        rows = [f"<B>{escape(box.title)}</B>"]
        rows += [escape(line) for line in box.lines]
        if self.has_grads:
            rows += [escape(line) for line in box.grad_lines]
        else:
            rows.append("<I>grad not computed yet</I>")
        style = {"shape": "box", "style": "filled,rounded",
                 "fillcolor": self._fill(box.grad), "color": "#444444",
                 "penwidth": "1.5", "margin": "0.08,0.04"}
        if box.kind == "inputs":
            style.update(style="filled")
        if self.highlight & box.member_ids:
            style.update(color=HIGHLIGHT, penwidth="4")
        self.graph.node(self.fold_name(box), _html_rows(rows, ink), **style)

    def _folded_edges(self):
        """Arrows into folded boxes, from whatever their inputs are drawn as."""
        done = set()
        for box in {id(b): b for b in self.folded.values()}.values():
            for source_value in box.sources:
                edge = (self.node_of(source_value), self.fold_name(box))
                if edge not in done and edge[0] != edge[1]:
                    done.add(edge)
                    self.graph.edge(*edge, penwidth="1.2")

    def _legend(self):
        with self.graph.subgraph(name="cluster_legend") as key:
            label = "key"
            if self.has_grads:
                label += f" (full colour: |grad| {fmt(self.largest_grad)})"
            key.attr(label=label, fontsize="10", color="#bbbbbb", style="rounded")
            key.node("key_pos", "grad &gt; 0", shape="box", style="filled,rounded",
                     fillcolor=mix(BLUE, 0.6), fontsize="9", height="0.2")
            key.node("key_neg", "grad &lt; 0", shape="box", style="filled,rounded",
                     fillcolor=mix(RED, 0.6), fontsize="9", height="0.2")
            key.node("key_param", "parameter", shape="box", style="rounded",
                     color=PARAMETER_GREEN, penwidth="2.5", fontsize="9",
                     height="0.2")
            key.node("key_input", "input", shape="box", fontsize="9",
                     height="0.2")
            key.edges([("key_pos", "key_neg"), ("key_param", "key_input")])

            key.edge_attr.update(style="invis")


def _html_rows(rows, ink):
    """An HTML-like Graphviz label: one line per row, centred."""
    body = "<BR/>".join(rows)
    return f'<<FONT COLOR="{ink}">{body}</FONT>>'


def _as_id_set(values):
    if values is None:
        return set()
    if isinstance(values, Value):
        return {id(values)}
    return {id(v) for v in values}


