"""Leaving for PyTorch (or plain numpy) with the network you trained here.

An ``MLP`` is a stack of fully connected layers, which PyTorch calls
``nn.Linear``, each followed by an activation. The weights of neuron ``j`` on
input ``i`` of a layer are PyTorch's ``weight[j, i]``; the biases are its
``bias[j]``. So:

* :func:`to_torch` gives an ``nn.Sequential`` of ``Linear`` layers with the
  same activations (``nn.ReLU``, ``nn.Tanh``, ``nn.Sigmoid``; a linear output
  layer gets none), holding the same numbers in float64, so it computes the
  same outputs and gradients;
* :func:`from_torch` takes such a stack back into an ``MLP``;
* :func:`save_torch` writes what PyTorch users save, a ``state_dict``, beside
  the architecture, so ``torch.load(path)`` reads it with no pickle of code;
* :func:`to_numpy` and :func:`save_numpy` give the weight matrices as arrays
  (a ``.npz`` file).

PyTorch is optional (``pip install tinygrad_edu[torch]``): it is imported
only inside these functions, and without it they raise one clear line.
"""

import io

from .checks import refuse_non_finite_weights, require_mlp
from .nn import ACTIVATIONS, MLP
from ..output import write_atomically

__all__ = ["to_torch", "from_torch", "save_torch", "to_numpy", "save_numpy",
           "layer_weights", "sequential_source", "TORCH_INSTALL"]

TORCH_INSTALL = "pip install tinygrad_edu[torch]"

# Our activation name -> the name of PyTorch's module for it (None: no module).
TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid",
                     "linear": None}
assert set(TORCH_ACTIVATIONS) == set(ACTIVATIONS)


def _torch():
    """The torch module, or one clear line saying how to install it."""
    try:
        import torch
    except ImportError:
        raise ModuleNotFoundError(
            f"PyTorch is not installed; install it with: {TORCH_INSTALL}") from None
    return torch


def layer_weights(model):
    """Each layer as ``(weights, biases, activation)`` in PyTorch's layout.

    ``weights[j][i]`` is neuron ``j``'s weight on input ``i`` (plain floats).

    >>> net = MLP(2, [3, 1], seed=0)
    >>> [(len(w), len(w[0]), len(b), act) for w, b, act in layer_weights(net)]
    [(3, 2, 3, 'relu'), (1, 3, 1, 'linear')]
    """
    return [([[w.data for w in n.w] for n in layer.neurons],
             [n.b.data for n in layer.neurons],
             layer.neurons[0].activation)
            for layer in model.layers]


# ----------------------------------------------------------------------
# To and from PyTorch.
# ----------------------------------------------------------------------

def sequential_source(model):
    """The PyTorch code that builds the same layers, as text.

    >>> sequential_source(MLP(64, [16, 4]))
    'nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 4)).double()'
    """
    parts = []
    for weights, _, activation in layer_weights(model):
        parts.append(f"nn.Linear({len(weights[0])}, {len(weights)})")
        if TORCH_ACTIVATIONS[activation]:
            parts.append(f"nn.{TORCH_ACTIVATIONS[activation]}()")
    return f"nn.Sequential({', '.join(parts)}).double()"


def to_torch(model, dtype=None):
    """An ``nn.Sequential`` that computes what ``model`` computes.

    Its parameters hold the same numbers, as ``dtype`` (``torch.float64`` by
    default, our engine's precision). The model's labels are kept on the
    module as ``classes``.
    """
    require_mlp(model, "to_torch")
    refuse_non_finite_weights(model, "export")
    torch = _torch()
    dtype = _torch_dtype(dtype, torch)
    modules = []
    for weights, biases, activation in layer_weights(model):
        linear = torch.nn.Linear(len(weights[0]), len(weights), dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(weights, dtype=dtype))
            linear.bias.copy_(torch.tensor(biases, dtype=dtype))
        modules.append(linear)
        if TORCH_ACTIVATIONS[activation]:
            modules.append(getattr(torch.nn, TORCH_ACTIVATIONS[activation])())
    module = torch.nn.Sequential(*modules)
    module.classes = list(model.classes)
    return module


def _torch_dtype(dtype, torch):
    """``dtype`` as a floating-point torch dtype: None means float64, and a
    name such as "float32" is accepted."""
    if dtype is None:
        return torch.float64
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype.removeprefix("torch."), dtype)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating-point torch dtype such as "
                         f"torch.float32 or torch.float64, got {dtype!r}")
    return dtype


def from_torch(module, classes=None):
    """The ``MLP`` that computes what a stack of ``nn.Linear`` layers computes.

    ``module`` is an ``nn.Linear`` or an ``nn.Sequential`` of ``Linear``
    layers, each optionally followed by ``ReLU``, ``Tanh``, ``Sigmoid`` or
    ``Identity``; every hidden layer must use the same activation, as in an
    MLP. ``classes`` defaults to the module's ``classes`` if it has them.
    """
    torch = _torch()
    layers = _linear_layers(module, torch)
    hidden = {activation for _, activation in layers[:-1]}
    if len(hidden) > 1:
        raise ValueError(
            f"from_torch: the hidden layers use different activations "
            f"({', '.join(sorted(hidden))}); an MLP uses one for all of them")
    model = MLP(layers[0][0].in_features,
                [linear.out_features for linear, _ in layers],
                activation=hidden.pop() if hidden else "relu",
                output_activation=layers[-1][1],
                classes=classes if classes is not None else getattr(module, "classes", None))
    for layer, (linear, _) in zip(model.layers, layers):
        weights = linear.weight.detach().double().tolist()
        biases = linear.bias.detach().double().tolist()
        for neuron, row, bias in zip(layer.neurons, weights, biases):
            for w, number in zip(neuron.w, row):
                w.data = number
            neuron.b.data = bias
    return model


def _linear_layers(module, torch):
    """``[(Linear, our activation name), ...]`` or a one-line error."""
    nn = torch.nn
    if not isinstance(module, nn.Module):
        raise TypeError(f"from_torch takes a PyTorch module (an nn.Sequential of "
                        f"nn.Linear layers), got a {type(module).__name__}")
    parts = list(module) if isinstance(module, nn.Sequential) else [module]
    activations = {getattr(nn, name): ours
                   for ours, name in TORCH_ACTIVATIONS.items() if name}
    activations[nn.Identity] = "linear"
    layers = []                       # [Linear, activation name] pairs
    for position, part in enumerate(parts):
        kind = type(part).__name__
        if isinstance(part, nn.Linear):
            if part.bias is None:
                _refuse(f"the Linear layer at position {position} has no bias")
            if layers and layers[-1][0].out_features != part.in_features:
                _refuse(f"the Linear layer at position {position} takes "
                        f"{part.in_features} inputs but the layer before gives "
                        f"{layers[-1][0].out_features}")
            layers.append([part, "linear"])
        elif type(part) in activations:
            if not layers:
                _refuse(f"{kind} at position {position} comes before any Linear layer")
            if layers[-1][1] != "linear":
                _refuse(f"{kind} at position {position} follows another activation")
            layers[-1][1] = activations[type(part)]
        else:
            _refuse(f"it holds a {kind} at position {position}")
    if not layers:
        _refuse("it holds no Linear layer")
    return [tuple(layer) for layer in layers]


def _refuse(reason):
    raise ValueError(
        f"from_torch takes nn.Linear layers with ReLU, Tanh or Sigmoid between "
        f"them (an nn.Sequential), but {reason}")


# ----------------------------------------------------------------------
# Files.
# ----------------------------------------------------------------------

def save_torch(model, path):
    """Write ``model`` for PyTorch: ``{"state_dict", "config", "classes", ...}``.

    ``torch.load(path)`` reads it (plain tensors, lists and strings, so the
    safe ``weights_only`` loading works); ``state_dict`` fits
    ``to_torch(model)`` or the same ``nn.Sequential`` built by hand. The
    file is written atomically: an error leaves no half-written file.
    """
    require_mlp(model, "save_torch")
    torch = _torch()
    module = to_torch(model)
    checkpoint = {"format": "tinygrad_edu.mlp.torch",
                  "config": model.config(), "classes": list(model.classes),
                  "state_dict": module.state_dict()}
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return write_atomically(path, buffer.getvalue())


def to_numpy(model):
    """The weights as numpy arrays: ``layers.K.weight`` (outputs x inputs),
    ``layers.K.bias``, plus ``activations`` and ``classes``."""
    import numpy as np
    require_mlp(model, "to_numpy")
    refuse_non_finite_weights(model, "export")
    arrays = {}
    activations = []
    for k, (weights, biases, activation) in enumerate(layer_weights(model)):
        arrays[f"layers.{k}.weight"] = np.array(weights, dtype=np.float64)
        arrays[f"layers.{k}.bias"] = np.array(biases, dtype=np.float64)
        activations.append(activation)
    arrays["activations"] = np.array(activations)
    arrays["classes"] = np.array(model.classes)
    return arrays


def save_numpy(model, path):
    """Write :func:`to_numpy`'s arrays to a ``.npz`` file, atomically.

    ``numpy.load(path)`` reads it without pickle.
    """
    import numpy as np
    require_mlp(model, "save_numpy")
    buffer = io.BytesIO()
    np.savez(buffer, **to_numpy(model))
    return write_atomically(path, buffer.getvalue())
