"""tinygrad_edu: a scalar autograd engine made to be read, stepped through and drawn.

The package is a stack of layers; each imports only from the layers below it:

    engine.py    Value, its operations and backward()           (start here)
    learn/       neurons, networks, losses, optimizers, training, digits
    watch/       the forward trace, backprop step by step, formulas
    pictures/    the graph with gradients, the article's network (Graphviz)
    fast/        trace once, replay fast: the tape and its numpy replay
    web/         pages for the browser: the backprop explorer
    cli.py       the ``tinygrad-edu`` command, one module per subcommand
                 in commands/

This file is the front door. The engine, networks and losses are pure Python
and imported right away. Everything else (digits, pictures, tracing, the fast
tape) is imported the first time you use one of its names, so ``from
tinygrad_edu import Value`` needs no third-party package.
"""

import importlib

from .engine import (Value, chain_rule_step, define_op, dot, is_grad_enabled,
                     no_grad, register_display, start_backward,
                     topological_order, vsum)
from .learn.losses import accuracy, cross_entropy, log_sum_exp, mse, one_hot, softmax
from .learn.nn import MLP, Layer, Module, Neuron

__version__ = "0.1.0"

# Public name -> the module (inside this package) that defines it.
_LAZY_NAMES = {
    "SGD": "learn.optim", "Adam": "learn.optim",
    "load_digits": "learn.digits", "digit_to_text": "learn.digits",
    "draw_digit": "learn.digits",
    "train": "learn.training", "evaluate": "learn.training",
    "TrainingDiverged": "learn.training",
    "save_model": "learn.serialize", "load_model": "learn.serialize",
    "ModelFileError": "learn.serialize",
    "to_torch": "learn.bridge", "from_torch": "learn.bridge",
    "save_torch": "learn.bridge", "to_numpy": "learn.bridge",
    "save_numpy": "learn.bridge",
    "draw_graph": "pictures.graph", "draw_network": "pictures.network",
    "draw_saliency": "pictures.saliency",
    "render": "pictures.saving",
    "trace": "watch.tracing", "format_trace": "watch.tracing",
    "backward_steps": "watch.tracing", "BackwardStep": "watch.tracing",
    "gradcheck": "watch.gradcheck", "GradcheckError": "watch.gradcheck",
    "compile_loss": "fast.traced_losses", "Tape": "fast.tape", "ENGINES": "fast.engines",
    "explore": "web.explorer",
}


def _graph_svg(value):
    """A Value's small graph for Jupyter (the pictures load on first use)."""
    from .pictures.notebook import small_graph_svg
    return small_graph_svg(value)


# Jupyter shows a Value as its graph: the engine asks this hook (the engine
# may not import the pictures layer above it; the front door may).
register_display("image/svg+xml", _graph_svg)


def __getattr__(name):
    module_name = _LAZY_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tinygrad_edu' has no attribute {name!r}")
    module = importlib.import_module(f".{module_name}", __name__)
    return getattr(module, name)


def __dir__():
    return sorted(set(globals()) | set(_LAZY_NAMES))


__all__ = [
    "Value", "no_grad", "is_grad_enabled", "vsum", "dot", "topological_order",
    "start_backward", "chain_rule_step", "define_op", "Module", "Neuron", "Layer", "MLP", "mse", "softmax",
    "cross_entropy", "log_sum_exp", "accuracy", "one_hot", *_LAZY_NAMES,
]
