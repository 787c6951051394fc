"""tinygrad_edu: a scalar autograd engine made to be read, stepped through and drawn.

The engine, networks and losses are pure Python and imported right away.
Everything else (digits, pictures, tracing, the fast tape) is imported the
first time you use one of its names, so ``from tinygrad_edu import Value``
needs no third-party package.
"""

import importlib

from .engine import (Value, chain_rule_step, dot, is_grad_enabled, no_grad,
                     start_backward,
                     topological_order, vsum)
from .losses import accuracy, cross_entropy, log_sum_exp, mse, one_hot, softmax
from .nn import MLP, Layer, Module, Neuron

__version__ = "0.1.0"

# Public name -> the module (inside this package) that defines it.
_LAZY_NAMES = {
    "SGD": "optim", "Adam": "optim",
    "load_digits": "data", "digit_to_text": "data", "draw_digit": "data",
    "train": "training", "evaluate": "training", "TrainingDiverged": "training",
    "save_model": "serialize", "load_model": "serialize",
    "ModelFileError": "serialize",
    "draw_graph": "draw", "draw_network": "draw", "render": "draw",
    "trace": "tracing", "format_trace": "tracing",
    "backward_steps": "tracing", "BackwardStep": "tracing",
    "compile_loss": "tape", "Tape": "tape",
}


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
    "start_backward", "chain_rule_step", "Module", "Neuron", "Layer", "MLP", "mse", "softmax",
    "cross_entropy", "log_sum_exp", "accuracy", "one_hot", *_LAZY_NAMES,
]
