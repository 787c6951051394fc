"""Find the neurons and layers in a computation graph, so it can be drawn folded.

A neuron of ``nn.py`` leaves a recognisable pattern in the graph:

    dot(w.0 .. w.n-1, x.0 .. x.n-1)  ->  + b  ->  relu / tanh / sigmoid

where the weights are leaves labelled ``PREFIX.w.I`` and the bias ``PREFIX.b``
(``PREFIX`` is e.g. ``layers.1.neurons.5.``; a linear output neuron stops at
the ``+``). ``fold_graph`` finds every such pattern and maps each Value in it to
one :class:`FoldedBox`. With ``fold="layer"`` the neurons of one layer that read
the same inputs share a single box. Wide input vectors (more than
``GROUP_INPUTS_ABOVE`` leaves) become one "inputs" box too.
"""

import re
from collections import defaultdict

from ..engine import dot_sides

__all__ = ["FoldedBox", "fold_graph", "find_neurons", "GROUP_INPUTS_ABOVE"]

ACTIVATION_OPS = ("relu", "tanh", "sigmoid")
GROUP_INPUTS_ABOVE = 8
_WEIGHT_LABEL = re.compile(r"^(?P<prefix>.*?)w\.(?P<index>\d+)$")
_NEURON_PREFIX = re.compile(r"^(?P<layer>.*?)\.?neurons\.(?P<index>\d+)\.$")


class FoldedBox:
    """Several Values drawn as one box.

    title, lines, grad_lines  the text shown
    grad        the gradient that colours the box
    kind        "neuron", "layer" or "inputs"
    member_ids  ids of the Values inside (to highlight the box)
    sources     Values outside the box whose arrows come into it
    """

    def __init__(self, kind, title):
        self.kind = kind
        self.title = title
        self.lines = []
        self.grad_lines = []
        self.grad = 0.0
        self.member_ids = set()
        self.sources = []


class _Neuron:
    """One neuron found in the graph: its Values, by role."""

    def __init__(self, prefix, weights, inputs, dot, plus, bias, activation):
        self.prefix = prefix
        self.weights = weights
        self.inputs = inputs
        self.dot = dot
        self.plus = plus
        self.bias = bias
        self.activation = activation
        self.output = activation if activation is not None else plus

    @property
    def name(self):
        return self.prefix.rstrip(".") or "neuron"

    def values(self):
        parts = [*self.weights, self.bias, self.dot, self.plus, self.activation]
        return [v for v in parts if v is not None]


def find_neurons(order):
    """Every neuron pattern in the Values ``order`` (from topological_order)."""
    consumers = defaultdict(list)
    for value in order:
        for parent in value.parents:
            consumers[id(parent)].append(value)
    neurons = []
    for value in order:
        if value.op == "dot":
            neuron = _match_neuron(value, consumers)
            if neuron is not None:
                neurons.append(neuron)
    neurons.reverse()                 # inputs side first
    return neurons


def _match_neuron(dot, consumers):
    weights, inputs = dot_sides(dot.parents)
    prefix = _common_weight_prefix(weights)
    if prefix is None:
        return None
    for plus in consumers[id(dot)]:
        if plus.op != "+" or len(plus.parents) != 2:
            continue
        bias = plus.parents[1] if plus.parents[0] is dot else plus.parents[0]
        if bias.parents or bias.label != f"{prefix}b":
            continue
        users = consumers[id(plus)]
        activation = None
        if len(users) == 1 and users[0].op in ACTIVATION_OPS:
            activation = users[0]
        return _Neuron(prefix, weights, inputs, dot, plus, bias, activation)
    return None


def _common_weight_prefix(weights):
    """The shared ``PREFIX`` of weights labelled ``PREFIX.w.0`` .. in order."""
    prefix = None
    for index, weight in enumerate(weights):
        match = _WEIGHT_LABEL.match(weight.label) if not weight.parents else None
        if match is None or int(match["index"]) != index:
            return None
        if prefix is None:
            prefix = match["prefix"]
        elif match["prefix"] != prefix:
            return None
    return prefix


def fold_graph(order, fold):
    """Map ``id(Value)`` to the FoldedBox that draws it (``fold``: neuron/layer)."""
    neurons = find_neurons(order)
    folded = {}
    boxes = _layer_boxes(neurons) if fold == "layer" else _neuron_boxes(neurons)
    for box, members in boxes:
        for value in members:
            folded.setdefault(id(value), box)
            box.member_ids.add(id(value))
    _group_wide_inputs(neurons, folded)
    for box, _ in boxes:
        box.sources = _sources(box, folded)
    return folded


def _neuron_boxes(neurons):
    boxes = []
    for neuron in neurons:
        box = FoldedBox("neuron", neuron.name)
        box.lines = [
            f"{len(neuron.weights)} weights, bias {neuron.bias.data:.4g}",
            f"z = w.x + b = {neuron.plus.data:.4g}",
        ]
        if neuron.activation is not None:
            box.lines.append(f"{neuron.activation.op}(z) = {neuron.output.data:.4g}")
        box.grad_lines = [f"grad {neuron.output.grad:.4g}"]
        box.grad = neuron.output.grad
        box.input_values = list(neuron.inputs)
        boxes.append((box, neuron.values()))
    return boxes


def _layer_boxes(neurons):
    """Group neurons by layer name and by the exact inputs they read."""
    groups = {}
    for neuron in neurons:
        match = _NEURON_PREFIX.match(neuron.prefix)
        layer = match["layer"] if match else neuron.name
        key = (layer, tuple(_input_key(x) for x in neuron.inputs))
        groups.setdefault(key, (layer, []))[1].append(neuron)
    boxes = []
    for layer, members in groups.values():
        box = FoldedBox("layer", _layer_title(layer, members))
        outputs = [n.output for n in members]
        box.lines = ["outputs:"] + _number_lines([o.data for o in outputs])
        box.grad_lines = ["grads:"] + _number_lines([o.grad for o in outputs])
        box.grad = max((o.grad for o in outputs), key=abs)
        box.input_values = list(members[0].inputs)
        values = [v for n in members for v in n.values()]
        boxes.append((box, values))
    return boxes


def _layer_title(layer, neurons):
    activation = neurons[0].activation.op if neurons[0].activation else "linear"
    return f"{layer or 'layer'}: {len(neurons)} neurons, {activation}"


def _number_lines(numbers, per_line=8):
    """Numbers in rows of ``per_line``, 3 significant digits each."""
    if len(numbers) > 4 * per_line:
        return [f"{len(numbers)} values from {min(numbers):.3g} to {max(numbers):.3g}"]
    texts = [f"{n:.3g}" for n in numbers]
    return ["  ".join(texts[i:i + per_line]) for i in range(0, len(texts), per_line)]


def _input_key(value):
    """What makes two inputs "the same" for folding.

    A network called on plain numbers wraps them in new Values for every
    neuron, so leaves are matched by label and number, other Values by identity.
    """
    return ("leaf", value.label, value.data) if not value.parents else id(value)


def _group_wide_inputs(neurons, folded):
    """Fold a neuron's input leaves into one box when there are many."""
    seen = {}
    for neuron in neurons:
        leaves = [x for x in neuron.inputs if not x.parents and id(x) not in folded]
        if len(leaves) <= GROUP_INPUTS_ABOVE:
            continue
        key = tuple(_input_key(x) for x in leaves)
        if key in seen:
            for x in leaves:                   # same numbers: same box
                folded[id(x)] = seen[key]
            continue
        box = FoldedBox("inputs", f"inputs ({len(leaves)} values)")
        data = [x.data for x in leaves]
        box.lines = [f"from {min(data):.3g} to {max(data):.3g}"]
        largest = max(leaves, key=lambda x: abs(x.grad))
        box.grad_lines = [f"largest |grad| {abs(largest.grad):.4g}"]
        box.grad = largest.grad
        box.input_values = []
        seen[key] = box
        for x in leaves:
            folded[id(x)] = box
            box.member_ids.add(id(x))


def _sources(box, folded):
    """The Values feeding ``box`` from outside it (one per distinct source)."""
    sources = []
    for value in getattr(box, "input_values", []):
        if folded.get(id(value)) is not box:
            sources.append(value)
    return sources
