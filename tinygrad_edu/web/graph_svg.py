"""The computation graph laid out once, as SVG the page can update in place.

Graphviz draws the graph with :mod:`tinygrad_edu.pictures.graph` (the same
boxes, outlines and folding as every other picture of it). Then:

* each node and edge gets a stable id (``n-v7`` for Value 7's box, ``n-op7``
  for the circle of the operation that made it, ``n-box3`` for folded box 3,
  ``e-v5-op7`` for an arrow), see :func:`.page.stable_ids`;
* each line of text that shows a number is listed as a *slot*: which text
  element of which node, the words before the number, and which Values'
  numbers go there. The page's script rewrites only those numbers.

The graph is drawn with every gradient set for a moment to a wide stand-in
number, so that every box is laid out wide enough for any gradient it will
show; the real gradients are put back at once.
"""

from dataclasses import dataclass, field
from html import unescape
import re

from ..pictures.folding import find_neurons, fold_graph
from ..pictures.graph import _GraphDrawing
from ..pictures.saving import GraphvizError
from .page import stable_ids, svg_element

__all__ = ["GraphSVG", "lay_out"]

# The widest number ``fmt`` (4 significant digits) prints: 10 characters.
_WIDE_GRADIENT = -1.234e-05

_NODE = re.compile(r'<g id="n-([^"]+)" class="node">(.*?)</g>', flags=re.S)
_EDGE_ID = re.compile(r'<g id="(e-[^"]+)" class="edge">')
_TEXT = re.compile(r"<text[^>]*>(.*?)</text>", flags=re.S)


@dataclass
class GraphSVG:
    """The laid-out graph and what the page needs to bring it to life.

    svg     the ``<svg>`` element, ids made stable
    nodes   one dict per drawn node: ``id``; ``value`` (index of the Value
            it draws, for a Value box or an operation circle) or ``box``
            (index into ``boxes``); ``colour`` (indexes of the Values whose
            gradient colours it: the largest in size wins); ``made`` (index
            of the Value whose computing makes it appear, -1 if known from
            the start); ``slots`` ([text number, kind, words before the
            number, Value indexes], kind one of "data", "grad", "datarow",
            "gradrow", "datarange", "gradrange", "maxgrad")
    boxes   one dict per folded box: ``kind`` ("neuron", "layer", "inputs"),
            ``title``, ``neurons`` (indexes into ``neurons``), ``members``
    neurons one dict per neuron found: ``name`` and Value indexes by role
            (``inputs``, ``weights``, ``dot``, ``bias``, ``z``, ``out``)
    edges   for each Value, the ids of the arrows that carry its numbers
            (from its parents to it)
    node_of for each Value, the id (without ``n-``) of the node drawing it
    """

    svg: str
    nodes: list = field(default_factory=list)
    boxes: list = field(default_factory=list)
    neurons: list = field(default_factory=list)
    edges: list = field(default_factory=list)
    node_of: list = field(default_factory=list)


def lay_out(root, order, values, fold):
    """Draw the graph behind ``root`` with ``fold`` (None, "neuron" or
    "layer"). ``order`` is its Values as ``topological_order`` lists them,
    ``values`` the same in the order they were made (the page's numbering)."""
    index = {id(v): i for i, v in enumerate(values)}
    saved = [v.grad for v in values]
    try:
        for value in values:
            value.grad = _WIDE_GRADIENT
        folded = fold_graph(order, fold) if fold else {}
        # The drawing class behind draw_graph, used directly to learn which
        # Graphviz node draws each Value (its node_of).
        drawing = _GraphDrawing(root, order, folded, None, None)
        graph = drawing.build(None, False)
        try:
            svg = svg_element(graph.pipe(format="svg"))
        except Exception as error:      # graphviz raises several kinds
            raise GraphvizError(f"Graphviz could not lay out the graph: {error}") from None
    finally:
        for value, grad in zip(values, saved):
            value.grad = grad
    return _Builder(order, values, index, folded, drawing).build(svg)


class _Builder:
    """Matches the SVG's nodes to Values and boxes, and finds the slots."""

    def __init__(self, order, values, index, folded, drawing):
        self.values = values
        self.index = index
        self.drawing = drawing
        boxes = list({id(b): b for b in folded.values()}.values())
        self.box_number = {id(b): k for k, b in enumerate(boxes)}
        self.boxes = boxes
        self.members = {id(b): [] for b in boxes}     # Value indexes in each box
        for i, value in enumerate(values):
            box = folded.get(id(value))
            if box is not None:
                self.members[id(box)].append(i)
        self.names = {}          # Graphviz node name -> stable name
        for box in boxes:
            self.names[drawing.fold_name(box)] = f"box{self.box_number[id(box)]}"
        neurons = find_neurons(order) if folded else []
        self.neurons = [n for n in neurons if id(n.dot) in folded]

    def rename(self, name):
        return self.names.get(name, name)

    def build(self, svg):
        svg = stable_ids(svg, self.rename)
        result = GraphSVG(svg)
        result.neurons = [self._neuron(n) for n in self.neurons]
        result.boxes = [self._box(box) for box in self.boxes]
        by_name = {}
        for i, value in enumerate(self.values):
            by_name.setdefault(self.rename(self.drawing.node_of(value)), ("value", i))
            if value.parents:
                by_name[f"op{value.id}"] = ("op", i)
        for name, body in _NODE.findall(svg):
            texts = [unescape(t) for t in _TEXT.findall(body)]
            kind, i = by_name.get(name, (None, None))
            if name.startswith("box"):
                result.nodes.append(self._box_node(name, int(name[3:]), texts, result))
            elif kind == "value" and self.drawing.folded.get(id(self.values[i])) is None:
                result.nodes.append(self._value_node(name, i, texts))
            elif kind == "op":
                result.nodes.append({"id": name, "value": i, "colour": [], "made": i,
                                     "slots": []})
        result.node_of = [self.rename(self.drawing.node_of(v)) for v in self.values]
        drawn = set(_EDGE_ID.findall(svg))
        result.edges = [self._edges(value, drawn) for value in self.values]
        return result

    # -- nodes ---------------------------------------------------------------

    def _value_node(self, name, i, texts):
        slots = []
        for k, text in enumerate(texts):
            if text.startswith("data "):
                slots.append([k, "data", "data ", [i]])
            elif text.startswith("grad "):
                slots.append([k, "grad", "grad ", [i]])
        made = i if self.values[i].parents else -1
        return {"id": name, "value": i, "colour": [i], "made": made, "slots": slots}

    def _box_node(self, name, k, texts, result):
        box = result.boxes[k]
        neurons = [result.neurons[n] for n in box["neurons"]]
        outputs = [n["out"] for n in neurons]
        slots = []
        if box["kind"] == "neuron":
            neuron = neurons[0]
            act = self.values[neuron["out"]].op
            for t, text in enumerate(texts):
                if text.startswith("z = "):
                    slots.append([t, "data", text[:text.rindex("= ") + 2], [neuron["z"]]])
                elif neuron["out"] != neuron["z"] and text.startswith(f"{act}(z) = "):
                    slots.append([t, "data", f"{act}(z) = ", [neuron["out"]]])
                elif text.startswith("grad "):
                    slots.append([t, "grad", "grad ", [neuron["out"]]])
        elif box["kind"] == "layer":
            slots = self._layer_slots(texts, outputs)
        else:                                   # a box of inputs
            outputs = box["members"]
            for t, text in enumerate(texts):
                if text.startswith("largest |grad| "):
                    slots.append([t, "maxgrad", "largest |grad| ", outputs])
        made = max(outputs) if box["kind"] != "inputs" else -1
        return {"id": name, "box": k, "colour": outputs, "made": made, "slots": slots}

    @staticmethod
    def _layer_slots(texts, outputs):
        """A layer box lists its outputs' data, then their gradients, 8 a row
        (or one line "N values from A to B" for a wide layer)."""
        slots = []
        kind = None
        row = 0
        for t, text in enumerate(texts):
            if text in ("outputs:", "grads:"):
                kind, row = ("data" if text == "outputs:" else "grad"), 0
            elif kind and " values from " in text:
                slots.append([t, kind + "range", text[:text.index("from ")], outputs])
            elif kind:
                count = len(text.split())
                slots.append([t, kind + "row", "", outputs[row:row + count]])
                row += count
        return slots

    # -- boxes and neurons ---------------------------------------------------

    def _neuron(self, neuron):
        i = self.index
        return {"name": neuron.name, "inputs": [i[id(x)] for x in neuron.inputs],
                "weights": [i[id(w)] for w in neuron.weights], "dot": i[id(neuron.dot)],
                "bias": i[id(neuron.bias)], "z": i[id(neuron.plus)],
                "out": i[id(neuron.output)]}

    def _box(self, box):
        folded = self.drawing.folded
        neurons = [k for k, n in enumerate(self.neurons) if folded.get(id(n.dot)) is box]
        return {"kind": box.kind, "title": box.title, "neurons": neurons,
                "members": self.members[id(box)]}


    # -- edges -----------------------------------------------------------------

    def _edges(self, value, drawn):
        """Ids of the arrows from ``value``'s parents to it (those drawn)."""
        if not value.parents:
            return []
        node = self.rename(self.drawing.node_of(value))
        folded = node.startswith("box")
        target = node if folded else f"op{value.id}"
        ids = [] if folded else [f"e-{target}-{node}"]
        for parent in value.parents:
            source = self.rename(self.drawing.node_of(parent))
            if source != target:
                ids.append(f"e-{source}-{target}")
        return [e for e in dict.fromkeys(ids) if e in drawn]
