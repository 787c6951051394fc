"""The losses written to be traced into a tape: the same graph for any example.

A tape is exact for *any* input only if the traced graph does not depend on
the example it was traced with. Two things in the losses would:

* cross-entropy subtracts the largest logit before ``exp`` (for stability).
  Here that shift is an operation of its own, ``max``, whose local
  derivatives are all zero (it is a constant as far as calculus is
  concerned), so the tape recomputes it: the largest logit of *this* example;
* the target class enters as a one-hot vector ``y`` of Values, picked out
  with ``dot(y, logits)``, so the program is the same for every label.

(``relu`` and ``abs`` choose their local derivative from the input's sign at
every replay, so they need nothing here.) :func:`compile_loss` traces a
model's loss with these and writes it down as a :class:`~.tape.Tape`.
"""

from ..engine import Value, dot
from ..learn.losses import _check_label, log_sum_exp, mse, one_hot
from .tape import Tape

__all__ = ["compile_loss", "traceable_cross_entropy", "traceable_mse"]


def _stop_gradient_max(values):
    """The largest of ``values`` as a Value whose local derivatives are all 0.

    ``cross_entropy`` subtracts the largest logit as a plain number. In a
    tape that number must be recomputed for every example, so here it is an
    operation of its own ("max") that passes no gradient back: exactly as a
    constant would.
    """
    m = max(v.data for v in values)
    return Value(m, op="max", parents=values, local_grads=[0.0] * len(values))


def traceable_cross_entropy(logits, target_one_hot):
    """Cross-entropy with the target as one-hot Values: log-sum-exp - dot(y, z).

    The same numbers and gradients as :func:`tinygrad_edu.cross_entropy`
    (the same :func:`~tinygrad_edu.learn.losses.log_sum_exp`, and ``dot`` with a
    one-hot vector picks out the target's logit exactly), but the graph does
    not depend on which class is the target, and the shift is the tape's
    ``max`` op, recomputed for each example.
    """
    return (log_sum_exp(logits, _stop_gradient_max(logits))
            - dot(target_one_hot, logits))


def traceable_mse(outputs, targets):
    """Mean squared error with the targets as Values (the same graph as ``mse``)."""
    return mse(outputs, targets)


_LOSSES = {"mse": traceable_mse, "cross_entropy": traceable_cross_entropy}


def compile_loss(model, loss="mse", example=None):
    """Trace ``loss(model(x), y)`` for one example and return it as a :class:`Tape`.

    ``model`` is an :class:`~tinygrad_edu.MLP` (anything with ``nin``,
    ``parameters()`` and ``outputs()`` returning a list of Values). ``loss`` is
    ``"mse"`` (to the one-hot target, as in the article) or
    ``"cross_entropy"``. ``example`` is an optional ``(x, label)`` to trace
    with; the tape does not depend on it, since it is exact for any input.
    The parameters are not copied: every replay reads their current ``data``.
    """
    if loss not in _LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose 'mse' or 'cross_entropy'")
    params = model.parameters()
    nin = model.nin
    if example is None:
        x_numbers = [0.0] * nin
        label = 0
    else:
        x_numbers, label = example
    x_values = [Value(float(v), f"x.{i}") for i, v in enumerate(x_numbers)]
    if len(x_values) != nin:
        raise ValueError(f"the model takes {nin} inputs, the example has {len(x_values)}")
    outputs = model.outputs(x_values)
    _check_label(label, len(outputs))
    y_values = [Value(v, f"y.{i}") for i, v in enumerate(one_hot(label, len(outputs)))]
    root = _LOSSES[loss](outputs, y_values)
    description = f"{loss} loss of {model!r}"
    return Tape.from_graph(root, params, x_values, y_values, outputs,
                           loss=loss, description=description)
