"""The article's four steps of backprop, drawn and told with real numbers.

``explain_steps(mlp, image, digit)`` shows one digit to the network and returns
a list of :class:`Step`: a picture (``graphviz.Digraph``) and a paragraph each.

1. The output for the right digit must rise, the others fall (purple arrows).
   The picture shows only the activations and these arrows.
2. So the weights into that output change, each by (its desired change) x
   (the activation the weight comes from): the chain rule, dL/dw = dL/dz x a.
   These changes are the black lines, numbered.
3. The same one layer back: which neurons of the last hidden layer should go
   up or down (green).
4. And once more for the first hidden layer (orange).
A network with more hidden layers gets one more step per layer. A last step
runs backprop all the way to the image: which pixels made it a "3" (see
``saliency``).

Every picture is drawn from one forward/backward pass, so the steps share one
colour scale (stated in each picture's key). ``choose_image`` picks the test
image to tell: the first, one the model gets wrong, or one it is least sure of.

Changes are quoted with 3 significant digits, as the pictures write them.
"""

import math
from pathlib import Path

from .checks import as_label, output_for_class
from .saving import render
from ..engine import no_grad
from ..learn.losses import softmax
from ..output import write_atomically
from .network import draw_network, network_state, percent, signed
from .saliency import draw_saliency, pixel_gradients, tell_saliency

__all__ = ["Step", "explain_steps", "write_explanation", "choose_image", "PICKS"]

PICKS = ("first", "wrong", "unsure")


class Step:
    """One step: its number, a short title, the picture and the text."""

    def __init__(self, number, title, picture, text):
        self.number = number
        self.title = title
        self.picture = picture
        self.text = text


def explain_steps(mlp, image, digit, *, draw=True):
    """The steps for ``image`` (64 numbers in [0, 1]) showing ``digit``.

    ``draw=False`` tells the steps without drawing them (each ``picture`` is
    None): for a page that shows only the texts.
    """
    classes = list(mlp.classes)
    digit, target = output_for_class(mlp, digit)
    state = network_state(mlp, image, target)
    teller = _Teller(mlp, state, classes, target, draw)
    steps = [teller.step_output(), teller.step_weights()]
    for number, layer in enumerate(range(len(mlp.layers) - 1, 0, -1), start=3):
        steps.append(teller.step_hidden(number, layer))
    if mlp.nin == 64:
        steps.append(_step_pixels(len(steps) + 1, mlp, image, digit, draw))
    return steps


def _step_pixels(number, mlp, image, digit, draw=True):
    gradients = pixel_gradients(mlp, image, digit)
    title = f'which pixels made it a "{digit}" (backprop down to the image)'
    picture = draw_saliency(mlp, image, digit, gradients=gradients,
                            title=f"Step {number}: {title}") if draw else None
    return Step(number, title, picture, tell_saliency(gradients))


def write_explanation(steps, out_dir, format="png", intro=None):
    """Save ``stepN.<format>`` for each step and ``explain.txt`` (starting
    with ``intro``, if given); return the paths."""
    out_dir = Path(out_dir)
    paths = [render(step.picture, out_dir / f"step{step.number}.{format}")
             for step in steps]
    text = "\n\n".join(f"Step {s.number}: {s.title}\n{s.text}" for s in steps) + "\n"
    if intro:
        text = intro + "\n\n" + text
    return paths + [write_atomically(out_dir / "explain.txt", text)]


def choose_image(mlp, images, digit, pick="first", index=0):
    """Which of ``images`` (all showing ``digit``) to tell, and why, in words.

    pick    "first": image number ``index``; "wrong": the ones the model
            misclassifies, the most wrong (lowest probability for ``digit``)
            first; "unsure": the ones it gets right, the least sure first.
    index   which of those (0 = the first, the most wrong or least sure).

    Returns ``(position in images, sentence)``. With no image to pick (say,
    none is wrong), the sentence says so and the least sure one is told.
    """
    if pick not in PICKS:
        raise ValueError(f"pick must be one of {', '.join(PICKS)}, got {pick!r}")
    digit, target = output_for_class(mlp, digit)
    index = as_label(index)
    count = f'{len(images)} test images of "{digit}"'
    if pick == "first":
        _check_index(index, len(images), count)
        return index, f'Test image {index} of the {count}.'

    sure = [_probabilities(mlp, image) for image in images]
    right = [p[target] == max(p) for p in sure]
    wrong = [i for i in range(len(images)) if not right[i]]
    unsure = [i for i in range(len(images)) if right[i]]
    by_doubt = lambda i: sure[i][target]               # noqa: E731
    if pick == "wrong" and wrong:
        chosen = sorted(wrong, key=by_doubt)
        how = (f"the model gets {len(wrong)} of the {count} wrong; this is the "
               f"{_ordinal(index)}most wrong")
    else:
        chosen = sorted(unsure or range(len(images)), key=by_doubt)
        how = (f"the model gets all {count} right, so here is the one it is "
               f"{_ordinal(index)}least sure of" if pick == "wrong" else
               f"the model gets {len(unsure)} of the {count} right; this is the "
               f"one it is {_ordinal(index)}least sure of")
    _check_index(index, len(chosen), "such images")
    i = chosen[index]
    ranked = sorted(range(len(sure[i])), key=lambda c: -sure[i][c])
    said, other = ranked[0], ranked[1] if ranked[0] == target else target
    names = mlp.classes
    return i, (f"Test image {i}: {how}. It says \"{names[said]}\" "
               f"({percent(sure[i][said])}); \"{names[other]}\" gets "
               f"{percent(sure[i][other])}.")



def _probabilities(mlp, image):
    """The softmax of the outputs (a ranking of the classes for any model)."""
    with no_grad():
        return [p.data for p in softmax(mlp(image))]


def _ordinal(index):
    """"" for the first, else "second ", "third ", "4th "..."""
    words = {1: "second ", 2: "third "}
    return "" if index == 0 else words.get(index, f"{index + 1}th ")


def _check_index(index, count, what):
    if not 0 <= index < count:
        raise ValueError(f"argument --index: there are {count} {what}; choose "
                         f"--index from 0 to {count - 1}" if count else
                         f"there are no {what} to choose from")


class _Teller:
    """Builds each step's picture and paragraph from one forward/backward pass."""

    def __init__(self, mlp, state, classes, target, draw=True):
        self.mlp = mlp
        self.draw = draw
        self.state = state
        self.classes = classes
        self.target = target
        self.output_layer = len(mlp.layers)
        self.name = f'"{classes[target]}"'

    def picture(self, number, title, focus, arrows, focus_lines=True):
        if not self.draw:
            return None
        return draw_network(self.mlp, None, state=self.state, focus=focus,
                            focus_lines=focus_lines, arrows=arrows,
                            title=f"Step {number}: {title}")

    def step_output(self):
        changes = self.state.changes[self.output_layer]
        up = changes[self.target]
        probability = ""
        if self.state.probabilities is not None:
            probability = (f" (probability "
                           f"{percent(self.state.probabilities[self.target])})")
        text = ""
        if math.isnan(self.state.loss):
            text = ("The loss is NaN (not a number): a NaN in the weights or "
                    "the image has spread through the network (a diverged "
                    "training does that), so the numbers below say nothing; "
                    "NaN is drawn yellow. ")
        text += (
            f"The network is shown a handwritten {self.name}. Its output for "
            f"{self.name} is {self.state.activations[-1][self.target]:.4g}"
            f"{probability}; the loss is {self.state.loss:.4g}. That output "
            f"should be high and the others low, so backprop asks the "
            f"{self.name} output to rise: its desired change, minus the "
            f"gradient of the loss, is {signed(up)}. {self._others(changes)}")
        title = f"the {self.name} output must rise (purple arrow)"
        focus = (self.output_layer, self.target)
        # Only the ring and the arrows: the weight changes are step 2's.
        picture = self.picture(1, title, focus, {self.output_layer}, focus_lines=False)
        return Step(1, title, picture, text)

    def _others(self, changes):
        """What backprop asks of the other outputs, in a sentence or two."""
        others = [(c, j) for j, c in enumerate(changes) if j != self.target]
        if others:
            strongest_down, j_down = min(others)
            return (f"Every other output should fall; the strongest push down is "
                    f"on \"{self.classes[j_down]}\" ({signed(strongest_down)}).")
        text = "This network has only one output, so there is no other to push down."
        if self.state.loss_name == "cross_entropy":
            text += (" With one output, softmax gives it probability 1 whatever "
                     "it is, so the cross-entropy loss is 0 and backprop asks "
                     "nothing: train a one-output network with mse instead.")
        return text

    def step_weights(self):
        layer = self.output_layer
        weight_changes = self.state.weight_changes[layer][self.target]
        incoming = self.state.activations[layer - 1]
        per_activation = self.state.changes[layer][self.target]   # -dL/dz
        ranked = sorted(range(len(incoming)), key=lambda i: -abs(weight_changes[i]))
        examples = "; ".join(
            f"from neuron {i} (activation {incoming[i]:.3g}): "
            f"{signed(weight_changes[i])}" for i in ranked[:3] if incoming[i] != 0)
        silent = sum(1 for a in incoming if a == 0)
        text = (
            f"To raise the {self.name} output, the weights into it change by "
            f"minus dLoss/dw = (desired change of the output) x (the activation "
            f"the weight comes from) = {signed(per_activation)} x activation. "
            f"So a weight grows more positive in proportion to its hidden "
            f"neuron's activation: {examples or 'none is active'}. "
            f"{silent} of the {len(incoming)} neurons of the last hidden layer "
            f"have activation 0, so their weights do not change (black lines, "
            f"as thick as the change).")
        title = f"weights into {self.name} change in proportion to the incoming activation"
        picture = self.picture(2, title, (layer, self.target), {layer})
        return Step(2, title, picture, text)

    def step_hidden(self, number, layer):
        changes = self.state.changes[layer]
        up = sorted((j for j, c in enumerate(changes) if c > 0), key=lambda j: -changes[j])
        down = sorted((j for j, c in enumerate(changes) if c < 0), key=lambda j: changes[j])
        # Focus on the neuron asked the most among those that are on: a relu
        # neuron at 0 passes no gradient back, so its weights cannot change.
        active = [j for j, a in enumerate(self.state.activations[layer]) if a != 0]
        focus = max(active or range(len(changes)), key=lambda j: abs(changes[j]))
        weights = self.state.weight_changes[layer][focus]
        biggest = max(range(len(weights)), key=lambda i: abs(weights[i]))
        where = (f"the last hidden layer (hidden layer {layer})"
                 if layer == self.output_layer - 1 else f"hidden layer {layer}")
        source = f"hidden layer {layer - 1} neuron {biggest}"
        if layer == 1:
            source = (f"the pixel at row {biggest // 8 + 1}, column {biggest % 8 + 1}"
                      if self.mlp.nin == 64 else f"input {biggest}")
        text = (
            f"One layer back, in {where}: "
            f"{_listing(up, changes, 'should go up')}; "
            f"{_listing(down, changes, 'should go down')}. "
            f"Of the neurons that are on, the most is asked of neuron {focus} "
            f"({signed(changes[focus])}); that is done "
            f"by adjusting its incoming weights, the largest change being "
            f"{signed(weights[biggest])} on the weight from {source}.")
        if weights[biggest] == 0:
            text += (" (Its weights do not change at all: the neuron's relu is "
                     "off, so its gradient stops here.)")
        colour = "green" if number == 3 else "orange" if number == 4 else "coloured"
        title = f"hidden layer {layer}: which neurons should go up or down ({colour} arrows)"
        return Step(number, title, self.picture(number, title, (layer, focus), {layer}), text)


def _listing(indices, changes, verb, shown=4):
    if not indices:
        return f"no neuron {verb}"
    items = ", ".join(f"{j} ({signed(changes[j])})" for j in indices[:shown])
    more = f" and {len(indices) - shown} more" if len(indices) > shown else ""
    return f"{len(indices)} neurons {verb}: {items}{more}"
