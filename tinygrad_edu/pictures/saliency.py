"""Which pixels made it a "3": the gradient of the answer with respect to the image.

Backprop does not stop at the weights. Run it from the network's output for a
digit, and every input pixel gets a gradient too: how much that output would
rise if the pixel were a little brighter. Drawn as an 8x8 map beside the
digit (blue = brightening raises it, red = lowers it), it shows where the
network looks. The same for the loss shows which pixels, brightened, would
make the answer more wrong (blue) or more right (red).

``pixel_gradients(mlp, image, digit)`` computes the numbers;
``draw_saliency(mlp, image, digit)`` draws them (a ``graphviz.Digraph``);
``tell_saliency`` says in words and real numbers what the map shows.
Drawing leaves the model's own gradients as they were. NaN numbers (a
diverged model's) are drawn yellow, and the title counts them.
"""

from html import escape

import graphviz

from ..engine import Value
from ..learn.losses import LOSSES, model_loss_name, predicted_class, softmax
from .checks import gradients_kept, output_for_class
from .network import percent, signed
from .palette import fmt, largest_finite, mix, not_finite_note, signed_colour

__all__ = ["PixelGradients", "pixel_gradients", "draw_saliency", "tell_saliency"]

CELL = 24                 # points per pixel of the maps (24 px at 72 dpi)
SIDE = 8                  # the digits are 8x8


class PixelGradients:
    """The numbers behind the picture.

    image           the 64 pixels, row by row from the top left
    output_grads    d(output for ``digit``)/d(pixel), 64 numbers
    loss_grads      d(loss)/d(pixel), 64 numbers
    output, loss    the output for ``digit`` and the loss (a number each)
    probabilities   softmax of the outputs (None unless the output is linear)
    predicted       the class the network picks (None when an output is NaN)
    """

    def __init__(self, mlp, image, digit, loss=None):
        classes = list(mlp.classes)
        digit, target = output_for_class(mlp, digit)
        if len(image) != SIDE * SIDE or mlp.nin != SIDE * SIDE:
            raise ValueError(f"a saliency map needs an 8x8 image (64 pixels) and a "
                             f"network with 64 inputs; got {len(image)} pixels "
                             f"and {mlp.nin} inputs")
        self.digit = digit
        self.image = [float(p) for p in image]
        self.loss_name = model_loss_name(mlp, loss)
        self.output_grads, outputs = _gradients(
            mlp, self.image, lambda outs: outs[target])
        self.loss_grads, _ = _gradients(
            mlp, self.image, lambda outs: LOSSES[self.loss_name](outs, target))
        self.output = outputs[target]
        self.probabilities = None
        if mlp.output_activation == "linear":
            self.probabilities = [p.data for p in softmax([Value(o) for o in outputs])]
        self.loss = LOSSES[self.loss_name]([Value(o) for o in outputs], target).data
        index = predicted_class(outputs)          # None when an output is NaN
        self.predicted = None if index is None else classes[index]


def _gradients(mlp, image, pick):
    """d(pick(outputs))/d(pixel) for each pixel, and the outputs (numbers).

    The network's own gradients are put back as they were: a picture drawn
    between ``backward()`` and ``step()`` must not change the step.
    """
    pixels = [Value(p, f"pixel.{i}") for i, p in enumerate(image)]
    outputs = mlp.outputs(pixels)
    with gradients_kept(mlp):
        pick(outputs).backward()
    return [p.grad for p in pixels], [o.data for o in outputs]


def pixel_gradients(mlp, image, digit, loss=None):
    """The gradients of the output for ``digit`` and of the loss, per pixel."""
    return PixelGradients(mlp, image, digit, loss)


def draw_saliency(mlp, image, digit, *, title=None, loss=None, gradients=None):
    """The digit, then d(output)/d(pixel), then d(loss)/d(pixel), as 8x8 maps.

    Each map has one colour scale, written under it: the full colour is the
    largest |gradient| in that map. ``gradients`` reuses a PixelGradients.

    >>> from tinygrad_edu import MLP
    >>> net = MLP(64, [8, 10], seed=0)
    >>> picture = draw_saliency(net, [i / 63 for i in range(64)], 3)
    >>> "d(output" in picture.source
    True
    """
    g = gradients or pixel_gradients(mlp, image, digit, loss)
    name = f'"{digit}"'
    graph = graphviz.Digraph("saliency")
    graph.attr(rankdir="LR", fontname="Helvetica", fontsize="13", labelloc="t",
               nodesep="0.4", ranksep="0.4", dpi="72",
               label=(title + "\n" if title else "") + _title(g))
    graph.attr("node", shape="plaintext", fontname="Helvetica", margin="0")
    graph.node("digit", _grid([_grey(p) for p in g.image], "the digit",
                              "white = 0, black = 1 (ink)"))
    output_scale = largest_finite(g.output_grads)
    graph.node("output", _grid(
        [signed_colour(x, output_scale) for x in g.output_grads],
        f"d(output {name}) / d(pixel)",
        f"blue: brighter raises it; full colour = {fmt(output_scale)}"))
    loss_scale = largest_finite(g.loss_grads)
    graph.node("loss", _grid(
        [signed_colour(x, loss_scale) for x in g.loss_grads],
        "d(loss) / d(pixel)",
        f"red: brighter lowers the loss; full colour = {fmt(loss_scale)}"))
    graph.edge("digit", "output", style="invis")
    graph.edge("output", "loss", style="invis")
    return graph


def _title(g):
    title = f'Which pixels made it a "{g.digit}": {_verdict(g)}'
    warning = not_finite_note([("pixels", g.image), ("output gradients", g.output_grads),
                               ("loss gradients", g.loss_grads)])
    return title + ("\nwarning: " + warning if warning else "")


def _verdict(g):
    """'the network says "3" (92.1%)', or that it cannot say."""
    if g.predicted is None:
        return "the network cannot say: its outputs are NaN"
    said = f'the network says "{g.predicted}"'
    if g.probabilities is not None:
        said += f" ({percent(max(g.probabilities))})"
    return said


def _grid(colours, heading, key):
    """An HTML-like Graphviz label: a heading, 8x8 coloured cells, a key."""
    number = ('<TD WIDTH="{0}" HEIGHT="{1}" FIXEDSIZE="TRUE">'
              '<FONT POINT-SIZE="9">{2}</FONT></TD>')
    rows = ['<TR><TD WIDTH="16" HEIGHT="16" FIXEDSIZE="TRUE"></TD>'
            + "".join(number.format(CELL, 16, c + 1) for c in range(SIDE)) + "</TR>"]
    for r in range(SIDE):
        cells = "".join(
            f'<TD WIDTH="{CELL}" HEIGHT="{CELL}" FIXEDSIZE="TRUE" BORDER="1" '
            f'COLOR="#dddddd" BGCOLOR="{colours[r * SIDE + c]}"></TD>'
            for c in range(SIDE))
        rows.append(f"<TR>{number.format(16, CELL, r + 1)}{cells}</TR>")
    table = ('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'
             + "".join(rows) + "</TABLE>")
    return (f'<<TABLE BORDER="0" CELLSPACING="4">'
            f'<TR><TD><FONT POINT-SIZE="12">{escape(heading)}</FONT></TD></TR>'
            f"<TR><TD>{table}</TD></TR>"
            f'<TR><TD><FONT POINT-SIZE="10">{escape(key)}</FONT></TD></TR></TABLE>>')


def _grey(level):
    return mix((20, 20, 20), level)


def tell_saliency(g):
    """A paragraph with the real numbers: which rows pushed the output, which
    pixel matters most, and what brightening would do to the loss."""
    name = f'"{g.digit}"'
    ink = [grad * p for grad, p in zip(g.output_grads, g.image)]
    rows = [sum(ink[r * SIDE:(r + 1) * SIDE]) for r in range(SIDE)]
    up = max(range(SIDE), key=rows.__getitem__)
    down = min(range(SIDE), key=rows.__getitem__)
    best = max(range(SIDE * SIDE), key=g.output_grads.__getitem__)
    helps = min(range(SIDE * SIDE), key=g.loss_grads.__getitem__)
    verdict = _verdict(g)
    verdict = verdict[0].upper() + verdict[1:] + (
        "." if g.predicted is None else ", the right answer."
        if g.predicted == g.digit else f", not {name}.")
    text = (
        f"{verdict} Backprop run from the {name} output down to the image gives "
        f"each pixel a gradient: how much that output would rise if the pixel "
        f"were brighter. Gradient x ink says how much each pixel's ink moved "
        f"the output (to first order): the pixels in row {up + 1} of 8 (from "
        f"the top) pushed the {name} output up most, {signed(rows[up])} "
        f"together")
    if rows[down] < 0:
        text += f"; those in row {down + 1} pulled it down most ({signed(rows[down])})"
    text += (
        f". Brightening row {best // SIDE + 1}, column {best % SIDE + 1} would "
        f"raise it most (gradient {signed(g.output_grads[best])}). For the loss "
        f"({g.loss:.4g}), brightening row {helps // SIDE + 1}, column "
        f"{helps % SIDE + 1} would lower it most (gradient "
        f"{signed(g.loss_grads[helps])}).")
    return text

