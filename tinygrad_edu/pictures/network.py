"""The network as the IEEE Spectrum article draws it.

Layers are columns of circles; each neuron is shaded by its activation (dark =
high). Each weight is a line: **blue when positive, red when negative**,
thicker and darker the larger ``|w|`` is. A 64-16-16-10 network has about 1,400
weights, so by default only the ``lines_per_neuron`` strongest lines into each
neuron are drawn (strongest = carrying the most signal for this input, ``|w x
incoming activation|``). The 64 inputs can be drawn as the 8x8 digit itself.

Give ``target`` (the class, e.g. the digit 7, as in ``mlp.classes``) and
the picture also shows what backprop wants: next to each
neuron an arrow for the *desired change* of its activation, which is minus the
gradient of the loss (up = the loss falls if this activation rises). With
``focus=(layer, j)`` one neuron is ringed and the lines into it are drawn in
black, as thick as the change backprop asks of that weight (``-dL/dw``), with
the number written halfway along each line (``focus_lines=False`` rings the
neuron only). Numbers are written with 3 significant digits.

Wide layers: a column shows at most ``MAX_SHOWN`` neurons, the ones that
matter for what the picture tells (the focus neuron always; then the largest
desired changes where arrows are drawn, the largest weight changes into the
focus neuron, or else the largest activations), in their order, each with its
number, and one "+ N more" marker for the rest. So 4 to 128 neurons per layer
all draw readably.

Every label is at least ``MIN_FONT`` points (9 px at 72 dpi) and sits above the
lines on a light halo. A diverged model's NaN numbers are drawn yellow and
infinite ones as the largest; the title counts them. One scale serves the whole picture, and so every picture
drawn from the same ``state`` (the article's steps): circles are shaded
against the largest hidden activation, lines against the largest ``|w|`` of
the network; the key under the title states those numbers.

The picture is placed by hand (Graphviz's ``neato`` with pinned positions), so
columns stay straight and drawing is fast whatever the number of lines.

Drawing leaves the model as it was: the backward pass behind the arrows
puts every parameter's ``grad`` back afterwards (``checks.gradients_kept``).
"""

import math

import graphviz

from .checks import (as_label, gradients_kept, output_for_class, output_index,
                     positive_number)
from .palette import (BLUE, NAN_COLOUR, RED, fmt, largest_finite, mix,
                      not_finite_note)
from ..learn.losses import LOSSES, model_loss_name, softmax

__all__ = ["draw_network", "network_state", "NetworkState", "picture_scale",
           "CHANGE_COLOURS"]

# The article's colours for the desired changes, from the output backwards:
# purple for the output, then green, orange, and again.
CHANGE_COLOURS = ["#7b3294", "#1a9641", "#e66101", "#0571b0"]
COLUMN_GAP = 3.4          # inches between layer columns
PIXEL = 0.32              # inches per pixel of the 8x8 input image
NEURON = 0.46             # diameter of a neuron circle
ROW_GAP = 0.56            # inches between the centres of two circles
MAX_SHOWN = 16            # at most this many neurons drawn per column
MIN_FONT = 9              # points: 9 px at 72 dpi, the smallest label
DPI = 72                  # PNG resolution: readable labels, files ~1/2 the size of 96
NEURON_TO_ARROW = 0.07    # inches between a circle (and its ring) and its arrow
NAME_GAP = 0.3            # inches between the widest output arrow and the class names
HALO = "#ffffffd8"        # the light box behind a label, over the lines


class NetworkState:
    """Everything the picture shows, computed once.

    target               the index of the right output (None without one)
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
        # plain numbers: the backward pass must not touch the caller's Values
        values = mlp.forward_all([float(v) for v in x])
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
        with gradients_kept(self.mlp):
            loss.backward()
            self.weight_changes = [None] + [
                [[-w.grad for w in neuron.w] for neuron in layer.neurons]
                for layer in self.mlp.layers]
        self.loss = loss.data
        self.changes = [None] + [[-v.grad for v in layer] for layer in values[1:]]


def network_state(mlp, x, target=None, loss=None):
    """Forward (and, with ``target``, backward) pass for the picture.

    ``target`` is the index of the right output (0, 1, ...), not its class:
    with ``classes=[3, 5, 7]`` the "7" is target 2. ``loss`` names the loss
    to backprop (see ``losses.model_loss_name``). The model's gradients are
    left as they were.
    """
    if len(x) != mlp.nin:
        raise ValueError(f"this network takes {mlp.nin} inputs, got {len(x)}")
    if target is not None:
        target = output_index(mlp, target)
    return NetworkState(mlp, x, target, loss)


def draw_network(mlp, x, target=None, *, focus=None, focus_lines=True,
                 arrows=None, lines_per_neuron=4, input_as_image=None,
                 title=None, state=None, loss=None, scale=None):
    """Draw ``mlp`` reading ``x`` as columns of shaded circles joined by weights.

    target        the right class (one of ``mlp.classes``, e.g. the digit
                  7); adds backprop's desired changes (arrows by the
                  neurons) and colours the output.
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
    scale         (activation drawn black, |w| drawn thickest): give the same
                  pair to every frame of a series (say, a network before and
                  after training) so their shades compare; default: this
                  picture's largest hidden activation and largest |w|. Larger
                  numbers are drawn as the largest.
    state         a ``network_state`` to draw (then ``x`` and ``target``
                  are not used): one pass for several pictures.

    >>> from tinygrad_edu import MLP
    >>> net = MLP(3, [4, 2], seed=1)
    >>> picture = draw_network(net, [0.5, 1.0, 0.0], target=1)
    >>> "#2166ac" in picture.source or "#b2182b" in picture.source
    True
    """
    if state is None:
        index = None if target is None else output_for_class(mlp, target)[1]
        state = network_state(mlp, x, index, loss)
    if focus is not None:
        focus = tuple(as_label(n) for n in focus)
    if input_as_image is None:
        input_as_image = mlp.nin == 64
    picture = _NetworkPicture(state, focus, arrows, lines_per_neuron,
                              input_as_image, focus_lines, scale)
    return picture.build(title)


def picture_scale(state):
    """(largest hidden activation, largest |w|) of a ``network_state``: the
    ``scale`` a picture of it uses by default. For a series of pictures, take
    the largest of each over the series and pass it to every picture.
    """
    weights = [w.data for layer in state.mlp.layers for neuron in layer.neurons
               for w in neuron.w]
    hidden = [a for layer in state.activations[1:-1] for a in layer]
    return largest_finite(hidden), largest_finite(weights)


class _NetworkPicture:
    def __init__(self, state, focus, arrows, lines_per_neuron, input_as_image,
                 focus_lines=True, scale=None):
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
        if scale is None:
            scale = picture_scale(state)
        self.largest_hidden, self.largest_w = _checked_scale(scale)
        self.shown = [self._choose_shown(layer) for layer in range(n_layers + 1)]
        self.positions = self._place()
        self.graph = graphviz.Digraph("network", engine="neato")
        self.graph.attr(splines="false", outputorder="edgesfirst",
                        fontname="Helvetica", bgcolor="white", pad="0.3",
                        dpi=str(DPI))
        self.graph.attr("node", fontname="Helvetica", fixedsize="true")
        self.graph.attr("edge", arrowhead="none")

    # -- which neurons to draw -------------------------------------------

    def _choose_shown(self, layer):
        """The neurons of ``layer`` drawn, in order: all, or the MAX_SHOWN
        that matter most for this picture (always the focus neuron)."""
        size = len(self.state.activations[layer])
        if size <= MAX_SHOWN or (layer == 0 and self.input_as_image):
            return list(range(size))
        importance = [_size(a) for a in self.state.activations[layer]]
        if self.focus and self.focus_lines and layer == self.focus[0] - 1:
            L, j = self.focus
            importance = [_size(c) for c in self.state.weight_changes[L][j]]
        elif layer in self.arrows and self.state.changes:
            importance = [_size(c) for c in self.state.changes[layer]]
        ranked = sorted(range(size), key=lambda j: -importance[j])
        chosen = set(ranked[:MAX_SHOWN])
        if self.focus and self.focus[0] == layer and self.focus[1] not in chosen:
            chosen.discard(ranked[MAX_SHOWN - 1])
            chosen.add(self.focus[1])
        return sorted(chosen)

    def hidden_count(self, layer):
        return len(self.state.activations[layer]) - len(self.shown[layer])

    # -- layout ----------------------------------------------------------

    def _place(self):
        """{j: (x, y)} in inches for every drawn neuron, column by column."""
        slots = [len(s) + (self.hidden_count(L) > 0) for L, s in enumerate(self.shown)]
        height = max(8 * PIXEL, *(ROW_GAP * (n - 1) for n in slots[1:]))
        positions = []
        for column, shown in enumerate(self.shown):
            if column == 0 and self.input_as_image:
                positions.append(dict(enumerate(self._image_positions(height))))
                continue
            x = column * COLUMN_GAP
            top = (height + ROW_GAP * (slots[column] - 1)) / 2
            positions.append({j: (x, top - row * ROW_GAP)
                              for row, j in enumerate(shown)})
        self.height = height
        return positions

    @staticmethod
    def _image_positions(height):
        left = -1.4
        top = height / 2 + 3.5 * PIXEL
        return [(left + (i % 8) * PIXEL, top - (i // 8) * PIXEL) for i in range(64)]

    def _more_position(self, layer):
        """Where the "+ N more" marker goes: the slot under the last circle."""
        x, y = self.positions[layer][self.shown[layer][-1]]
        return x, y - ROW_GAP

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
        lines.append(f"lines: blue = positive weight, red = negative, thicker = "
                     f"larger |w| (thickest: |w| = {fmt(self.largest_w)})")
        circles = (f"circles: activation, white = 0, black = "
                   f"{fmt(self.largest_hidden)} (the largest in the hidden layers)")
        if self.state.probabilities is not None:
            circles += "; outputs: darker = more probable"
        lines.append(circles)
        if self.state.changes:
            lines.append("arrows: desired change of each activation "
                         "(-dLoss/da), bigger = asks more of its layer")
        if self.focus and self.focus_lines:
            L, j = self.focus
            largest = largest_finite(self.state.weight_changes[L][j])
            lines.append(f"black lines: the change asked of each weight into the "
                         f"ringed neuron (-dLoss/dw), thickest = {fmt(largest)}")
        warning = not_finite_note(self._numbers())
        if warning:
            lines.append("warning: " + warning)
        self.graph.attr(label="\n".join(lines), labelloc="t", fontsize="13")

    def _numbers(self):
        """(name, numbers) of everything drawn, for the NaN/infinity note."""
        layers = self.mlp.layers
        groups = [("inputs", self.state.activations[0]),
                  ("weights", [w.data for layer in layers for n in layer.neurons
                               for w in n.w]),
                  ("biases", [n.b.data for layer in layers for n in layer.neurons]),
                  ("activations", [a for layer in self.state.activations[1:]
                                   for a in layer])]
        if self.state.changes:
            groups.append(("desired changes", [c for layer in self.state.changes[1:]
                                               for c in layer]))
        return groups

    def _node(self, name, position, **attributes):
        x, y = position
        self.graph.node(name, pos=f"{x:.3f},{y:.3f}!", **attributes)

    def _label(self, name, position, text, size=MIN_FONT, **attributes):
        """A text label on a light halo, drawn above the lines."""
        width = _text_width(text, size, attributes.get("fontname", "").endswith("Bold"))
        attributes = dict(dict(shape="box", style="filled,rounded", fillcolor=HALO,
                               color="#ffffff00", margin="0.02", fixedsize="false",
                               width=f"{width:.2f}", height=f"{size / 72 + 0.06:.2f}",
                               fontsize=f"{size:.3g}"), **attributes)
        self._node(name, position, label=text, **attributes)

    def _input_column(self):
        activations = self.state.activations[0]
        for i, position in self.positions[0].items():
            value = activations[i]
            if self.input_as_image:
                # translucent, so the lines starting under a pixel show
                fill = _grey(value, 1.0) + "b0"
                self._node(f"n0_{i}", position, label="", shape="square",
                           width=str(PIXEL), style="filled", color="#cccccc",
                           penwidth="0.5", fillcolor=fill)
            else:
                self._circle(0, i, position, value, largest_finite(activations))
        self._more(0)

    def _circle(self, layer, j, position, shade, largest, **extra):
        value = self.state.activations[layer][j]
        attributes = dict(label=_short(value), shape="circle", width=str(NEURON),
                          style="filled", fontsize=str(MIN_FONT + 1),
                          fillcolor=_grey(shade, largest),
                          fontcolor=_ink(shade, largest), color="#444444")
        attributes.update(extra)
        self._node(f"n{layer}_{j}", position, **attributes)

    def _neurons(self, layer):
        is_output = layer == len(self.positions) - 1
        shades = self.state.activations[layer]
        largest = self.largest_hidden
        if is_output:
            if self.state.probabilities is not None:
                shades, largest = self.state.probabilities, 1.0
            else:
                largest = largest_finite(shades)
        for j, position in self.positions[layer].items():
            extra = {}
            if self.focus == (layer, j):
                extra = dict(color=self._change_colour(layer), penwidth="4")
            self._circle(layer, j, position, shades[j], largest, **extra)
            if is_output:
                self._output_name(j, position)
            else:
                self._index(layer, j, position)
            if layer in self.arrows and self.state.changes:
                self._arrow(layer, j, position)
        self._more(layer)

    def _index(self, layer, j, position):
        """The neuron's number, just above-left of its circle (the text's "neuron 5")."""
        x, y = position
        text = str(j)
        width = _text_width(text, MIN_FONT)
        self._label(f"index{layer}_{j}", (x - NEURON / 2 - width / 2 + 0.02,
                                          y + NEURON / 2 + 0.02),
                    text, fontcolor="#666666")

    def _more(self, layer):
        hidden = self.hidden_count(layer)
        if hidden > 0:
            self._label(f"more{layer}", self._more_position(layer),
                        f"+ {hidden} more", size=10, fontcolor="#444444")

    def _output_name(self, j, position):
        """The class name and probability, left-aligned in a column of their own
        to the right of the widest output arrow (so the two never touch)."""
        x, y = position
        name = str(self.mlp.classes[j]) if hasattr(self.mlp, "classes") else str(j)
        text = f'"{name}"'
        if self.state.probabilities is not None:
            text += f"  {percent(self.state.probabilities[j])}"
        bold = self.state.target == j
        size = 12 if bold else 10
        width = _text_width(text, size, bold)
        left = x + NEURON / 2 + NAME_GAP + self._widest_output_arrow()
        self._label(f"name{j}", (left + width / 2, y), text, size=size,
                    fontname="Helvetica-Bold" if bold else "Helvetica")

    def _widest_output_arrow(self):
        layer = len(self.positions) - 1
        if layer not in self.arrows or not self.state.changes:
            return 0.0
        return max(NEURON_TO_ARROW + _text_width(*self._arrow_text(layer, j)[:2])
                   for j in self.positions[layer])

    def _arrow_text(self, layer, j):
        """(text, font size, strength) of neuron j's desired-change arrow."""
        changes = self.state.changes[layer]
        change = changes[j]
        strength = _strength(change, largest_finite(changes))
        symbol = "\u25b2" if change > 0 else ("\u25bc" if change < 0 else "\u25cf")
        size = MIN_FONT + 9 * math.sqrt(strength)
        is_output = layer == len(self.positions) - 1
        if is_output and self.state.target is not None and j != self.state.target:
            size = MIN_FONT + 3 * math.sqrt(strength)   # the right output's arrow leads
        return f"{symbol} {signed(change)}", size, strength

    def _arrow(self, layer, j, position):
        """An up or down arrow by the neuron, sized by the desired change."""
        text, size, strength = self._arrow_text(layer, j)
        x, y = position
        width = _text_width(text, size)
        self._label(f"arrow{layer}_{j}",
                    (x + NEURON / 2 + NEURON_TO_ARROW + width / 2, y), text,
                    size=round(size, 1),
                    fontcolor=self._change_colour(layer) if strength > 0.02 else "#999999")

    def _change_colour(self, layer):
        from_the_back = len(self.positions) - 1 - layer
        return CHANGE_COLOURS[from_the_back % len(CHANGE_COLOURS)]

    def _weight_lines(self, layer):
        neurons = self.mlp.layers[layer - 1].neurons
        incoming = self.state.activations[layer - 1]
        for j in self.positions[layer]:
            if self.focus == (layer, j) and self.focus_lines:
                self._focus_lines(layer, j)
                continue
            neuron = neurons[j]
            for i in self._strongest(neuron, incoming, self.positions[layer - 1]):
                weight = neuron.w[i].data
                strength = _strength(weight, self.largest_w)
                self.graph.edge(f"n{layer - 1}_{i}", f"n{layer}_{j}",
                                color=_line_colour(weight, strength),
                                penwidth=f"{0.3 + 2.7 * strength:.2f}")

    def _strongest(self, neuron, incoming, drawn):
        """Indices of the incoming weights to draw (among the drawn neurons),
        strongest signal first."""
        ranked = sorted(drawn, key=lambda i: (_size(neuron.w[i].data * incoming[i]),
                                              _size(neuron.w[i].data)), reverse=True)
        if self.lines_per_neuron is None:
            return ranked
        return ranked[:self.lines_per_neuron]

    def _focus_lines(self, layer, j):
        """Every drawn line into the focus neuron: black, thick as -dL/dw, numbered.

        The numbers sit on the line, part of the way from its tail to the
        focus neuron: clear of every circle, and (as the lines converge) still
        apart from each other; every other one further along, so neighbours
        do not stack in one column and each is seen on its own line. Past the
        tail column's arrows when it has them. A line from a pixel starts at
        a dot in the pixel's middle.
        """
        changes = self.state.weight_changes[layer][j]
        largest = largest_finite(changes)
        head_x, head_y = self.positions[layer][j]
        start = 0.55 if layer - 1 in self.arrows else 0.3
        tails = self.positions[layer - 1]
        numbered = len(tails) <= 16
        for row, (i, (tail_x, tail_y)) in enumerate(tails.items()):
            along = start + 0.18 * (row % 2)
            change = changes[i]
            strength = _strength(change, largest)
            if strength == 0 and layer == 1 and self.input_as_image:
                continue                 # blank pixels: nothing to change
            self.graph.edge(f"n{layer - 1}_{i}", f"n{layer}_{j}",
                            color=_focus_line_colour(change),
                            penwidth=f"{0.4 + 3.6 * strength:.2f}")
            if layer == 1 and self.input_as_image:
                self._node(f"tap{i}", (tail_x, tail_y), label="", shape="circle",
                           width="0.08", style="filled", fillcolor="black",
                           color="black")
            elif numbered and strength > 0:
                self._label(f"change{layer}_{j}_{i}",
                            (tail_x + along * (head_x - tail_x),
                             tail_y + along * (head_y - tail_y)), signed(change))

    def _column_names(self):
        n_layers = len(self.positions) - 1
        top = self.height / 2 + 3.5 * PIXEL + 0.5
        top = max(top, max(y for column in self.positions for _, y in column.values()) + 0.6)
        names = ["input (8x8 digit)" if self.input_as_image else "input"]
        names += [f"hidden layer {L} ({len(self.state.activations[L])})"
                  for L in range(1, n_layers)] + ["output"]
        for column, name in enumerate(names):
            x = column * COLUMN_GAP
            if column == 0 and self.input_as_image:
                x = self._image_positions(self.height)[0][0] + 3.5 * PIXEL
            self._label(f"column{column}", (x, top), name, size=12)


def signed(number):
    """``number`` with its sign and 3 significant digits: +0.00462, -1.2e-05
    (and NaN, +inf, -inf)."""
    return "NaN" if math.isnan(number) else f"{number + 0.0:+.3g}"


# Helvetica's widths in em (narrow punctuation, the fallback font's triangles).
_EM = {".": 0.278, " ": 0.278, "+": 0.584, "-": 0.333, '"': 0.355, "%": 0.889,
       "\u25b2": 0.77, "\u25bc": 0.77, "\u25cf": 0.6}


def _text_width(text, fontsize, bold=False):
    """About how wide ``text`` is in inches (digits are 0.556 em in Helvetica)."""
    em = sum(_EM.get(c, 0.556 if c.isdigit() else 0.6) for c in text)
    return em * (1.08 if bold else 1.0) * fontsize / 72 + 0.04


def percent(p):
    """A probability as a percentage: 49.2%, or 0.0031% when tiny (or NaN)."""
    if math.isnan(p):
        return "NaN"
    return f"{100 * p:.1f}%" if p >= 0.01 else f"{100 * p:.2g}%"


def _short(number):
    """An activation in at most 5 characters, to fit a circle: 0.42, 12.3, 3e-5."""
    if math.isnan(number):
        return "NaN"
    if number == 0 or math.isinf(number):
        return f"{number:g}"
    size = abs(number)
    if size >= 1e4 or size < 0.01:
        mantissa, exponent = f"{number:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    if size >= 100:
        return f"{number:.0f}"
    return f"{number:.1f}" if size >= 10 else f"{number:.2f}"


def _size(number):
    """``|number|`` for ranking what matters most; NaN ranks first (it must be seen)."""
    return math.inf if math.isnan(number) else abs(number)


def _strength(number, largest):
    """How strongly to draw ``number``, 0 to 1: ``|number| / largest``,
    1 for anything larger, infinite or NaN."""
    return min(_size(number) / largest, 1.0)


def _checked_scale(scale):
    """``scale`` as (activation drawn black, |w| drawn thickest), checked."""
    meaning = ("scale must be two positive numbers: the activation drawn black "
               "and the |w| drawn thickest")
    try:
        largest_hidden, largest_w = scale
    except (TypeError, ValueError):
        raise TypeError(f"{meaning}, got {scale!r}") from None
    try:
        return (positive_number(largest_hidden, "scale[0]", "the activation drawn black"),
                positive_number(largest_w, "scale[1]", "the |w| drawn thickest"))
    except (TypeError, ValueError) as error:
        raise type(error)(f"{meaning}; {error}") from None


def _grey(value, largest):
    """White for 0 (or below), black for the largest activation (and above);
    NaN gets the palette's NaN colour."""
    if math.isnan(value):
        return NAN_COLOUR
    return mix((20, 20, 20), min(max(value / largest, 0.0), 1.0))


def _ink(value, largest):
    return "white" if largest and value / largest > 0.55 else "black"


def _focus_line_colour(change):
    """Black for a weight backprop changes, grey for one it leaves; NaN's colour."""
    if math.isnan(change):
        return NAN_COLOUR
    return "black" if change else "#bbbbbb"


def _line_colour(weight, strength):
    """Blue or red, with transparency: faint for small weights (NaN's colour)."""
    if math.isnan(weight):
        return NAN_COLOUR + "ff"
    base = mix(BLUE if weight >= 0 else RED, 1.0)
    alpha = round(40 + 215 * strength)
    return f"{base}{alpha:02x}"
