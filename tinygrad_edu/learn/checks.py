"""Checks shared by the learning modules: what counts as a whole number or a
real number, and the rule that a model with non-finite weights goes nowhere.

numpy's scalars (``np.int64(3)``, ``np.float32(0.1)``) count as numbers here,
as they do for ``Value``; what is kept is always a plain Python ``int`` or
``float``, so it can be written to JSON.
"""

import math
import numbers

__all__ = ["is_whole_number", "is_real_number", "whole_number",
           "refuse_non_finite_weights", "require_mlp"]


def is_whole_number(x):
    """True for an int or numpy integer (not a bool, which is a yes/no)."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def is_real_number(x):
    """True for an int, float or numpy number (not a bool)."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def whole_number(x):
    """``x`` as a plain int if it is a whole number (or a float such as
    ``3.0`` that is one), else None."""
    if is_whole_number(x):
        return int(x)
    if is_real_number(x) and math.isfinite(x) and float(x).is_integer():
        return int(x)
    return None


def refuse_non_finite_weights(model, action):
    """Raise ValueError if a weight of ``model`` is NaN or infinite.

    ``action`` says what was refused ("save", "export"): the one rule for
    every way a model leaves this project.
    """
    for name, value in model.named_parameters():
        if not math.isfinite(value.data):
            raise ValueError(
                f"refusing to {action} a model with non-finite weights ({name} = "
                f"{value.data}); training diverged, lower the learning rate")


def require_mlp(model, what):
    """Raise TypeError unless ``model`` is an MLP (has layers, a config and
    classes); ``what`` names the function, e.g. "to_torch"."""
    if not all(hasattr(model, name) for name in ("layers", "config", "classes")):
        kind = type(model).__name__
        hint = (f"; the model comes first: {what}(model, path)"
                if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__")
                else "; wrap a Neuron or Layer in an MLP, e.g. MLP(3, [2])")
        raise TypeError(f"{what} takes an MLP, got a {kind}{hint}")
