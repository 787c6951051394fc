"""The network as the IEEE Spectrum article draws it.

Layers are columns of circles; each neuron is shaded by its activation (dark =
high). Each weight is a line: **blue when positive, red when negative**,
thicker and darker the larger ``|w|`` is. A 64-16-16-10 network has about 1,400
weights, so by default only the ``lines_per_neuron`` strongest lines into each
neuron are drawn (strongest = carrying the most signal for this input, ``|w x
incoming activation|``). The 64 inputs can be drawn as the 8x8 digit itself.

Give ``target`` and the picture also shows what backprop wants: next to each
neuron an arrow for the *desired change* of its activation, which is minus the
gradient of the loss (up = the loss falls if this activation rises). With
``focus=(layer, j)`` one neuron is ringed and the lines into it are drawn in
black, as thick as the change backprop asks of that weight (``-dL/dw``), with
the number written halfway along each line (``focus_lines=False`` rings the
neuron only). Numbers are written with 3 significant digits.

The picture is placed by hand (Graphviz's ``neato`` with pinned positions), so
columns stay straight and drawing is fast whatever the number of lines.
"""

import math

import graphviz

from .palette import BLUE, RED, fmt, mix
from ..learn.losses import softmax
from ..learn.losses import LOSSES, model_loss_name

__all__ = ["draw_network", "network_state", "NetworkState",
           "CHANGE_COLOURS"]

# The article's colours for the desired changes, from the output backwards:
# purple for the output, then green, orange, and again.
CHANGE_COLOURS = ["#7b3294", "#1a9641", "#e66101", "#0571b0"]
COLUMN_GAP = 3.2          # inches between layer columns
PIXEL = 0.32              # inches per pixel of the 8x8 input image
NEURON = 0.36             # diameter of a neuron circle
DPI = 72                  # PNG resolution: readable labels, files ~1/2 the size of 96
NEURON_TO_ARROW = 0.04    # inches between a circle and its arrow
NAME_GAP = 0.3            # inches between the widest output arrow and the class names


class NetworkState:
    """Everything the picture shows, computed once.

    activations[L][j]    number: layer L's neuron j (L = 0 is the input)
    changes[L][j]        desired change -dL/da (None without a target)
    weight_changes[L][j][i]  -dL/dw for the weight from neuron i of layer L-1
    probabilities        softmax of the outputs (when the output is linear)
    loss_name            the loss backprop starts from, a name in
                         ``losses.LOSSES`` (see ``losses.model_loss_name``)
    loss                 the loss number (None without a target)
    """

    def __init__(self, mlp, x, target, loss=None):
        self.mlp = mlp
        self.target = target
        self.loss_name = model_loss_name(mlp, loss)
        values = mlp.forward_all(x)
        self.activations = [[float(v) for v in layer] for layer in values]
        self.probabilities = None
        if mlp.output_activation == "linear":
            self.probabilities = [p.data for p in softmax(values[-1])]
        self.loss = None
        self.changes = None
        self.weight_changes = None
        if target is not None:
            self._backward(values, target)

    def _backward(self, values, target):
        loss = LOSSES[self.loss_name](values[-1], target)
        self.mlp.zero_grad()
        loss.backward()
        self.loss = loss.data
        self.changes = [None] + [[-v.grad for v in layer] for layer in values[1:]]
        self.weight_changes = [None] + [
            [[-w.grad for w in neuron.w] for neuron in layer.neurons]
            for layer in self.mlp.layers]


def network_state(mlp, x, target=None, loss=None):
    """Forward (and, with ``target``, backward) pass for the picture.

    ``loss`` names the loss to backprop (see ``losses.model_loss_name``).
    """
    if len(x) != mlp.nin:
        raise ValueError(f"this network takes {mlp.nin} inputs, got {len(x)}")
    return NetworkState(mlp, x, target, loss)


def draw_network(mlp, x, target=None, *, focus=None, focus_lines=True,
                 arrows=None, lines_per_neuron=4, input_as_image=None,
                 title=None, state=None, loss=None):
    """Draw ``mlp`` reading ``x`` as columns of shaded circles joined by weights.

    target        the index of the right output; adds backprop's desired
                  changes (arrows by the neurons) and colours the output.
    focus         (layer, j): ring neuron j of layer ``layer`` (1 = first
                  hidden layer, len(mlp.layers) = output) and draw every line
                  into it, in black, as thick as its weight's desired change.
    focus_lines   False: only ring the focus neuron; its incoming lines stay
                  ordinary blue/red weight lines (the article's step 1).
    arrows        which layers get desired-change arrows (a set of layer
                  numbers); default all of them once ``target`` is given.
    lines_per_neuron  how many incoming lines to draw per neuron (the
                  strongest); None draws every weight.
    input_as_image    draw the input as an 8x8 picture (default: when there
                  are 64 inputs).
    loss          the loss backprop starts from, a name in losses.LOSSES;
                  default: the one the model was trained with, if its file
                  says, else by the output layer (see ``losses.model_loss_name``).

    >>> from tinygrad_edu import MLP
    >>> net = MLP(3, [4, 2], seed=1)
    >>> picture = draw_network(net, [0.5, 1.0, 0.0], target=1)
    >>> "#2166ac" in picture.source or "#b2182b" in picture.source
    True
    """
    state = state or network_state(mlp, x, target, loss)
    if input_as_image is None:
        input_as_image = mlp.nin == 64
    picture = _NetworkPicture(state, focus, arrows, lines_per_neuron,
                              input_as_image, focus_lines)
    return picture.build(title)


class _NetworkPicture:
    def __init__(self, state, focus, arrows, lines_per_neuron, input_as_image,
                 focus_lines=True):
        self.state = state
        self.mlp = state.mlp
        self.focus = focus
        self.focus_lines = focus_lines and bool(state.weight_changes)
        n_layers = len(self.mlp.layers)
        if arrows is None:
            arrows = set(range(1, n_layers + 1)) if state.changes else set()
        self.arrows = set(arrows)
        self.lines_per_neuron = lines_per_neuron
        self.input_as_image = input_as_image
        self.positions = self._place()
        self.graph = graphviz.Digraph("network", engine="neato")
        self.graph.attr(splines="false", outputorder="edgesfirst",
                        fontname="Helvetica", bgcolor="white", pad="0.3",
                        dpi=str(DPI))
        self.graph.attr("node", fontname="Helvetica", fixedsize="true")
        self.graph.attr("edge", arrowhead="none")

    # -- layout ----------------------------------------------------------

    def _place(self):
        """(x, y) in inches for every neuron, column by column."""
        positions = []
        sizes = [self.mlp.nin] + [len(layer.neurons) for layer in self.mlp.layers]
        height = max(8 * PIXEL, *(min(n, 16) * 0.45 for n in sizes[1:]))
        for column, n in enumerate(sizes):
            x = column * COLUMN_GAP
            if column == 0 and self.input_as_image:
                positions.append(self._image_positions(height))
                continue
            gap = min(0.45 if column < len(sizes) - 1 else 0.62, height / max(n, 1))
            top = (height + gap * (n - 1)) / 2
            positions.append([(x, top - j * gap) for j in range(n)])
        return positions

    @staticmethod
    def _image_positions(height):
        left = -1.2
        top = height / 2 + 3.5 * PIXEL
        return [(left + (i % 8) * PIXEL, top - (i // 8) * PIXEL) for i in range(64)]

    # -- drawing ---------------------------------------------------------

    def build(self, title):
        self._title(title)
        for layer in range(1, len(self.positions)):
            self._weight_lines(layer)
        self._input_column()
        for layer in range(1, len(self.positions)):
            self._neurons(layer)
        self._column_names()
        return self.graph

    def _title(self, title):
        lines = [title] if title else []
        lines.append("lines: blue = positive weight, red = negative, thicker = "
                     "larger |w|; circles: darker = higher activation")
        if self.state.changes:
            lines.append("arrows: desired change of each activation "
                         "(-dLoss/da), bigger = asks more")
        self.graph.attr(label="\n".join(lines), labelloc="t", fontsize="13")

    def _node(self, name, position, **attributes):
        x, y = position
        self.graph.node(name, pos=f"{x:.3f},{y:.3f}!", **attributes)

    def _input_column(self):
        activations = self.state.activations[0]
        for i, (position, value) in enumerate(zip(self.positions[0], activations)):
            if self.input_as_image:
                self._node(f"n0_{i}", position, label="", shape="square",
                           width=str(PIXEL), style="filled", color="#cccccc",
                           penwidth="0.5", fillcolor=_grey(value, 1.0))
            else:
                self._node(f"n0_{i}", position, label=fmt(value), shape="circle",
                           width=str(NEURON), style="filled", fontsize="8",
                           fillcolor=_grey(value, _largest(activations)),
                           fontcolor=_ink(value, _largest(activations)))

    def _neurons(self, layer):
        activations = self.state.activations[layer]
        is_output = layer == len(self.positions) - 1
        shades = activations
        if is_output and self.state.probabilities is not None:
            shades = self.state.probabilities
        largest = 1.0 if shades is self.state.probabilities else _largest(shades)
        for j, position in enumerate(self.positions[layer]):
            label = f"{activations[j]:.2g}"
            attributes = dict(label=label, shape="circle", width=str(NEURON),
                              style="filled", fontsize="8" if len(label) < 6 else "7",
                              fillcolor=_grey(shades[j], largest),
                              fontcolor=_ink(shades[j], largest), color="#444444")
            if self.focus == (layer, j):
                attributes.update(color=self._change_colour(layer), penwidth="4")
            self._node(f"n{layer}_{j}", position, **attributes)
            if is_output:
                self._output_name(j, position)
            if layer in self.arrows and self.state.changes:
                self._arrow(layer, j, position)

    def _output_name(self, j, position):
        """The class name and probability, left-aligned in a column of their own
        to the right of the widest output arrow (so the two never touch)."""
        x, y = position
        name = str(self.mlp.classes[j]) if hasattr(self.mlp, "classes") else str(j)
        text = f'"{name}"'
        if self.state.probabilities is not None:
            text += f"  {100 * self.state.probabilities[j]:.1f}%"
        bold = self.state.target == j
        size = 12 if bold else 10
        width = _text_width(text, size, bold)
        left = x + NEURON / 2 + NAME_GAP + self._widest_output_arrow()
        self._node(f"name{j}", (left + width / 2, y), label=text, shape="plaintext",
                   width=f"{width:.2f}", height="0.3", margin="0",
                   fixedsize="false", fontsize=str(size),
                   fontname="Helvetica-Bold" if bold else "Helvetica")

    def _widest_output_arrow(self):
        layer = len(self.positions) - 1
        if layer not in self.arrows or not self.state.changes:
            return 0.0
        return max(NEURON_TO_ARROW + _text_width(*self._arrow_text(layer, j)[:2])
                   for j in range(len(self.positions[layer])))

    def _arrow_text(self, layer, j):
        """(text, font size, strength) of neuron j's desired-change arrow."""
        changes = self.state.changes[layer]
        change = changes[j]
        largest = _largest([abs(c) for c in changes])
        strength = abs(change) / largest if largest else 0.0
        symbol = "\u25b2" if change > 0 else ("\u25bc" if change < 0 else "\u25cf")
        size = 8 + 10 * math.sqrt(strength)
        is_output = layer == len(self.positions) - 1
        if is_output and self.state.target is not None and j != self.state.target:
            size = 8 + 3 * math.sqrt(strength)      # the right output's arrow leads
        return f"{symbol} {signed(change)}", size, strength

    def _arrow(self, layer, j, position):
        """An up or down arrow by the neuron, sized by the desired change."""
        text, size, strength = self._arrow_text(layer, j)
        x, y = position
        width = _text_width(text, size)
        self._node(f"arrow{layer}_{j}", (x + NEURON / 2 + NEURON_TO_ARROW + width / 2, y),
                   label=text, shape="plaintext", width=f"{width:.2f}",
                   height="0.25", fixedsize="false", margin="0",
                   fontsize=f"{size:.1f}",
                   fontcolor=self._change_colour(layer) if strength > 0.02 else "#999999")

    def _change_colour(self, layer):
        from_the_back = len(self.positions) - 1 - layer
        return CHANGE_COLOURS[from_the_back % len(CHANGE_COLOURS)]

    def _weight_lines(self, layer):
        neurons = self.mlp.layers[layer - 1].neurons
        incoming = self.state.activations[layer - 1]
        largest_w = _largest([abs(w.data) for n in neurons for w in n.w])
        for j, neuron in enumerate(neurons):
            if self.focus == (layer, j) and self.focus_lines:
                self._focus_lines(layer, j)
                continue
            for i in self._strongest(neuron, incoming):
                weight = neuron.w[i].data
                strength = abs(weight) / largest_w if largest_w else 0.0
                self.graph.edge(f"n{layer - 1}_{i}", f"n{layer}_{j}",
                                color=_line_colour(weight, strength),
                                penwidth=f"{0.3 + 2.7 * strength:.2f}")

    def _strongest(self, neuron, incoming):
        """Indices of the incoming weights to draw, strongest signal first."""
        indices = range(len(neuron.w))
        ranked = sorted(indices, key=lambda i: (abs(neuron.w[i].data * incoming[i]),
                                                abs(neuron.w[i].data)), reverse=True)
        if self.lines_per_neuron is None:
            return ranked
        return ranked[:self.lines_per_neuron]

    def _focus_lines(self, layer, j):
        """Every line into the focus neuron: black, thick as -dL/dw, numbered.

        The numbers sit on the line, part of the way from its tail to the
        focus neuron: clear of every circle, and (as the lines converge) still
        apart from each other. Past the tail column's arrows when it has them.
        """
        changes = self.state.weight_changes[layer][j]
        largest = _largest([abs(c) for c in changes])
        head_x, head_y = self.positions[layer][j]
        along = 0.62 if layer - 1 in self.arrows else 0.45
        for i, change in enumerate(changes):
            strength = abs(change) / largest if largest else 0.0
            if strength == 0 and layer == 1 and self.input_as_image:
                continue                 # blank pixels: nothing to change
            self.graph.edge(f"n{layer - 1}_{i}", f"n{layer}_{j}",
                            color="black" if change else "#bbbbbb",
                            penwidth=f"{0.4 + 3.6 * strength:.2f}")
            if len(changes) <= 16 and strength > 0:
                tail_x, tail_y = self.positions[layer - 1][i]
                text = signed(change)
                self._node(f"change{layer}_{j}_{i}",
                           (tail_x + along * (head_x - tail_x),
                            tail_y + along * (head_y - tail_y)),
                           label=text, shape="box", style="filled,rounded",
                           fillcolor="#ffffffd0", color="#ffffff00",
                           fontsize="9", margin="0.02", fixedsize="false",
                           width=f"{_text_width(text, 9):.2f}", height="0.16")

    def _column_names(self):
        n_layers = len(self.positions) - 1
        top = max(y for column in self.positions for _, y in column) + 0.55
        names = ["input (8x8 digit)" if self.input_as_image else "input"]
        names += [f"hidden layer {L}" for L in range(1, n_layers)] + ["output"]
        for column, name in enumerate(names):
            x = self.positions[column][0][0] + (1.12 if column == 0 and
                                                self.input_as_image else 0)
            self._node(f"column{column}", (x, top), label=name, shape="plaintext",
                       width="1.6", height="0.3", fontsize="12")


def signed(number):
    """``number`` with its sign and 3 significant digits: +0.00462, -1.2e-05."""
    return f"{number + 0.0:+.3g}"


# Helvetica's widths in em (narrow punctuation, the fallback font's triangles).
_EM = {".": 0.278, " ": 0.278, "+": 0.584, "-": 0.333, '"': 0.355, "%": 0.889,
       "\u25b2": 0.77, "\u25bc": 0.77, "\u25cf": 0.6}


def _text_width(text, fontsize, bold=False):
    """About how wide ``text`` is in inches (digits are 0.556 em in Helvetica)."""
    em = sum(_EM.get(c, 0.556 if c.isdigit() else 0.6) for c in text)
    return em * (1.08 if bold else 1.0) * fontsize / 72 + 0.04


def _largest(numbers):
    return max((abs(n) for n in numbers if math.isfinite(n)), default=0.0) or 1.0


def _grey(value, largest):
    """White for 0 (or below), black for the largest activation."""
    level = min(max(value / largest, 0.0), 1.0) if largest else 0.0
    return mix((20, 20, 20), level)


def _ink(value, largest):
    return "white" if largest and value / largest > 0.55 else "black"


def _line_colour(weight, strength):
    """Blue or red, with transparency: faint for small weights."""
    base = mix(BLUE if weight >= 0 else RED, 1.0)
    alpha = round(40 + 215 * strength)
    return f"{base}{alpha:02x}"
