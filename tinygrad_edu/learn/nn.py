"""Neurons, layers and multi-layer perceptrons built from Values.

A neuron is the article's first figure: it sums its weighted inputs, adds a
bias, and applies an activation function:

    output = activation(w_1 x_1 + ... + w_n x_n + b)

A layer is a row of neurons that all read the same inputs; an MLP is layers in
sequence, each reading the outputs of the one before.

What a call returns, as in micrograd: a layer or network whose last layer has
one neuron returns that neuron's single Value (so ``score = model(x)`` and
``(1 + -y * score).relu()`` read as the formula does); with more neurons it
returns a list of Values. Code that wants a list whatever the width (the
losses, the tape, the pictures) calls ``outputs(x)``, which always returns one.
"""

import math
import random

from ..engine import Value, dot
from .checks import is_real_number, is_whole_number

__all__ = ["Module", "Neuron", "Layer", "MLP", "ACTIVATIONS"]


def _linear(v):
    return v


# Name -> function applied to a neuron's pre-activation.
ACTIVATIONS = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": _linear,
}


def _check_activation(name):
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; choose one of "
            f"{', '.join(sorted(ACTIVATIONS))}")
    return name


def _check_positive_int(number, what):
    """``number`` as a plain int, if it is a whole number of at least 1."""
    if not is_whole_number(number) or number < 1:
        raise ValueError(f"{what} must be a positive whole number, got {number!r}")
    return int(number)


def _check_sizes(sizes):
    """The layer sizes as a list of plain ints, or a clear error."""
    if is_real_number(sizes):
        raise TypeError(f"give the layer sizes as a list, e.g. MLP(nin, [{sizes!r}]), "
                        f"not the number {sizes!r}")
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"give the layer sizes as a list of whole numbers, e.g. "
                        f"[16, 10], not a {type(sizes).__name__}") from None
    if not sizes:
        raise ValueError("an MLP needs at least one layer size, e.g. [16, 10]")
    return [_check_positive_int(size, "every layer size") for size in sizes]


def init_scale(nin, activation):
    """Standard deviation of the initial weights of a neuron with ``nin`` inputs.

    Fan-in scaling keeps the size of the signal about the same from layer to
    layer: He initialisation, sqrt(2 / nin), for relu (which zeroes half its
    inputs), and LeCun initialisation, sqrt(1 / nin), for the others.
    """
    return math.sqrt((2.0 if activation == "relu" else 1.0) / nin)


def _check_classes(classes, n_outputs):
    """The label of each output: ``classes`` checked, or 0..n_outputs-1."""
    if classes is None:
        return list(range(n_outputs))
    if isinstance(classes, (str, bytes)) or not hasattr(classes, "__iter__"):
        raise TypeError(f"classes must be a list of labels, one per output, "
                        f"got {classes!r}")
    classes = [_check_class(label) for label in classes]
    if len(classes) != n_outputs:
        raise ValueError(
            f"classes names {len(classes)} labels but the network has "
            f"{n_outputs} outputs; give one label per output")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes lists a label twice: {classes}")
    return classes


def _check_class(label):
    """A class label: a whole number (kept as a plain int) or a string."""
    if is_whole_number(label):
        return int(label)
    if isinstance(label, str):
        return str(label)               # a numpy string becomes a plain one
    raise ValueError(f"each class label must be a whole number or a string (a "
                     f"model file keeps them as JSON), got {label!r}")


class Module:
    """What every model part shares: its parameters, by name.

    Subclasses implement ``named_parameters()``; the rest follows from it.
    """

    def named_parameters(self):
        """A list of (name, Value) pairs, e.g. ("layers.1.neurons.5.w.12", w)."""
        raise NotImplementedError

    def parameters(self):
        """The trainable Values, in a fixed order."""
        return [value for _, value in self.named_parameters()]

    def zero_grad(self):
        """Set every parameter's gradient to 0 (before the next backward)."""
        for p in self.parameters():
            p.grad = 0.0

    def state_dict(self):
        """The parameters' numbers by name: a plain dict, easy to save as JSON."""
        return {name: value.data for name, value in self.named_parameters()}

    def load_state_dict(self, state):
        """Copy numbers from ``state_dict()`` output into this model's parameters.

        The names must match exactly: a missing or extra name is an error that
        says which, so a model of another shape is never half-loaded.
        """
        named = dict(self.named_parameters())
        missing = sorted(set(named) - set(state))
        unexpected = sorted(set(state) - set(named))
        if missing or unexpected:
            raise ValueError(
                "the saved weights do not fit this model: "
                f"missing {missing[:3]}{'...' if len(missing) > 3 else ''} "
                f"({len(missing)} in all), unexpected {unexpected[:3]}"
                f"{'...' if len(unexpected) > 3 else ''} ({len(unexpected)} in all)")
        numbers = {}
        for name, number in state.items():
            if type(number) is not float and not is_real_number(number):
                raise ValueError(f"weight {name!r} is {number!r}, not a number")
            numbers[name] = float(number)
        for name, value in named.items():
            value.data = numbers[name]


class Neuron(Module):
    """``activation(dot(w, x) + b)``, with fan-in scaled random weights."""

    def __init__(self, nin, activation="relu", rng=None, name=""):
        nin = _check_positive_int(nin, "the number of inputs of a neuron")
        self.activation = _check_activation(activation)
        rng = rng or random.Random(0)
        scale = init_scale(nin, activation)
        prefix = f"{name}." if name else ""
        self.w = [Value(rng.gauss(0.0, scale), f"{prefix}w.{i}", parameter=True)
                  for i in range(nin)]
        self.b = Value(0.0, f"{prefix}b", parameter=True)

    def pre_activation(self, x):
        """The weighted sum w.x + b, before the activation function."""
        if len(x) != len(self.w):
            raise ValueError(
                f"this neuron takes {len(self.w)} inputs but was given {len(x)}")
        return dot(self.w, x) + self.b

    def __call__(self, x):
        return ACTIVATIONS[self.activation](self.pre_activation(x))

    def named_parameters(self):
        params = [(f"w.{i}", w) for i, w in enumerate(self.w)]
        return params + [("b", self.b)]

    def __repr__(self):
        return f"Neuron({len(self.w)}, {self.activation!r})"


def _single_or_list(outputs):
    """One Value for one output (as micrograd returns), else the list."""
    return outputs[0] if len(outputs) == 1 else outputs


def _as_input_list(x):
    """The inputs as a list of Values; one Value counts as a list of one."""
    if isinstance(x, Value):
        return [x]
    # Plain numbers become Values here, once, rather than once per neuron.
    try:
        return [v if isinstance(v, Value) else Value(v) for v in x]
    except TypeError:
        if hasattr(x, "__iter__"):
            raise                       # Value's own message for a bad number
        raise TypeError(f"the network takes a list of numbers, one per input, "
                        f"got {x!r}; e.g. model([{x!r}])") from None


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs.

    A call returns a list of ``nout`` Values, or the Value itself when
    ``nout`` is 1; ``outputs(x)`` always returns the list.
    """

    def __init__(self, nin, nout, activation="relu", rng=None, name=""):
        nout = _check_positive_int(nout, "the number of neurons in a layer")
        rng = rng or random.Random(0)
        prefix = f"{name}." if name else ""
        self.neurons = [Neuron(nin, activation, rng, f"{prefix}neurons.{j}")
                        for j in range(nout)]

    def outputs(self, x):
        """Each neuron's output, as a list (even for one neuron)."""
        x = _as_input_list(x)
        return [neuron(x) for neuron in self.neurons]

    def __call__(self, x):
        return _single_or_list(self.outputs(x))

    def named_parameters(self):
        return [(f"neurons.{j}.{name}", p)
                for j, neuron in enumerate(self.neurons)
                for name, p in neuron.named_parameters()]

    def __repr__(self):
        n = self.neurons[0]
        return f"Layer({len(n.w)}, {len(self.neurons)}, {n.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(64, [16, 16, 10])`` is the article's net.

    Hidden layers use ``activation``; the last layer uses ``output_activation``
    (``"linear"`` by default: its outputs are logits for ``cross_entropy``).
    The same ``seed`` always gives the same initial weights.

    ``classes`` says which label (a whole number or a string) each output
    stands for: with ``classes=[0, 1, 2, 3]`` output 2 means "the digit 2"; with
    ``classes=[3, 7]`` output 0 means "3". It defaults to 0, 1, 2, ...
    (one per output). Training and saving keep it with the model.

    Calling the network returns a list of Values, one per output, or, when
    the last layer has a single neuron, that one Value (as micrograd's MLP
    does). ``outputs(x)`` always returns the list.

    >>> net = MLP(2, [3, 1], seed=0)
    >>> [len(layer.neurons) for layer in net.layers]
    [3, 1]
    >>> net([1.0, -1.0])
    Value(data=0.2419, grad=0, op='+')
    >>> len(net.outputs([1.0, -1.0]))
    1
    """

    def __init__(self, nin, sizes, activation="relu",
                 output_activation="linear", seed=0, classes=None):
        nin = _check_positive_int(nin, "the number of inputs")
        sizes = _check_sizes(sizes)
        _check_activation(activation)
        _check_activation(output_activation)
        self.nin = nin
        self.sizes = sizes
        self.activation = activation
        self.output_activation = output_activation
        if not is_whole_number(seed):
            raise ValueError(f"seed must be a whole number, got {seed!r}")
        self.seed = seed = int(seed)
        self.classes = _check_classes(classes, sizes[-1])
        rng = random.Random(seed)
        widths = [nin] + sizes
        self.layers = []
        for i in range(len(sizes)):
            act = output_activation if i == len(sizes) - 1 else activation
            self.layers.append(
                Layer(widths[i], widths[i + 1], act, rng, f"layers.{i}"))

    def outputs(self, x):
        """The last layer's outputs, as a list (even for one output)."""
        return self.forward_all(x)[-1]

    def __call__(self, x):
        return _single_or_list(self.outputs(x))

    def forward_all(self, x):
        """The activations of every layer, input first: [x, h1, h2, ..., out].

        Each entry is a list, whatever the layer's width.
        """
        activations = [_as_input_list(x)]
        for layer in self.layers:
            activations.append(layer.outputs(activations[-1]))
        return activations

    def named_parameters(self):
        return [(f"layers.{i}.{name}", p)
                for i, layer in enumerate(self.layers)
                for name, p in layer.named_parameters()]

    def config(self):
        """The architecture as a plain dict (saved beside the weights)."""
        return {"nin": self.nin, "sizes": list(self.sizes),
                "activation": self.activation,
                "output_activation": self.output_activation, "seed": self.seed}

    def __repr__(self):
        return (f"MLP({self.nin}, {self.sizes}, activation={self.activation!r}, "
                f"output_activation={self.output_activation!r})")
