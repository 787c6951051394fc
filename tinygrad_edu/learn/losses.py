"""Losses: how far the network's outputs are from what we wanted.

Training makes the loss small. Each loss here is built from Value operations,
so ``loss.backward()`` gives every weight its gradient.
"""

import math

from ..engine import Value, vsum
from .checks import is_whole_number

__all__ = ["mse", "softmax", "log_sum_exp", "cross_entropy", "accuracy",
           "one_hot", "LOSSES", "loss_function", "model_loss_name"]


def _as_list(outputs, what):
    """The outputs as a non-empty list; a single Value (what a network with
    one output neuron returns) counts as a list of one."""
    outputs = [outputs] if isinstance(outputs, Value) else list(outputs)
    if not outputs:
        raise ValueError(f"{what} needs at least one output, got an empty list")
    return outputs


def one_hot(label, n):
    """``[0, ..., 1, ..., 0]``: 1.0 at position ``label``, of length ``n``."""
    label = _check_label(label, n)
    return [1.0 if i == label else 0.0 for i in range(n)]


def _check_label(label, n):
    """``label`` as a plain int if it is a whole number from 0 to n - 1
    (numpy integers count), else a ValueError."""
    if type(label) is int and 0 <= label < n:       # the common case, quickly
        return label
    if not is_whole_number(label) or not 0 <= label < n:
        raise ValueError(
            f"the target class must be a whole number from 0 to {n - 1}, "
            f"got {label!r}")
    return int(label)


def mse(outputs, targets):
    """Mean squared error: the average of (output - target)^2.

    >>> mse([Value(1.0), Value(3.0)], [1.0, 1.0]).data
    2.0
    """
    outputs = _as_list(outputs, "mse")
    try:
        targets = list(targets)
    except TypeError:
        raise TypeError(f"mse needs a list of targets, one per output, got "
                        f"{targets!r}; for a class label use one_hot(label, "
                        f"{len(outputs)})") from None
    if len(outputs) != len(targets):
        raise ValueError(
            f"mse needs as many targets as outputs: {len(outputs)} outputs, "
            f"{len(targets)} targets")
    return vsum([(o - t) ** 2 for o, t in zip(outputs, targets)]) / len(outputs)


def _as_values(logits, what):
    """The logits as a non-empty list of Values (plain numbers are wrapped)."""
    return [v if isinstance(v, Value) else Value(v) for v in _as_list(logits, what)]


def softmax(logits):
    """Turn logits into probabilities that sum to 1, without overflow.

    softmax(z)_i = e^(z_i - m) / sum_j e^(z_j - m), where m = max(z).
    Subtracting the largest logit changes nothing mathematically but keeps
    every exponent <= 0, so logits of 1000 do not overflow.

    (It could also be written e^(z_i - log_sum_exp(z, m)), as cross-entropy
    uses it, but for large logits that subtracts two big numbers and loses
    digits; dividing by the sum keeps every probability to the last digit.)
    """
    logits = _as_values(logits, "softmax")
    m = _largest(logits)
    exps = [(v - m).exp() for v in logits]
    total = vsum(exps)
    return [e / total for e in exps]


def log_sum_exp(logits, shift):
    """log(sum_j e^(z_j - shift)) + shift: the log of the sum of e^z_j.

    Any ``shift`` gives the same number mathematically, since e^(z - s) =
    e^z / e^s. With ``shift`` the largest logit every exponent is <= 0, so
    ``exp`` never overflows and the largest term is exactly 1 (the log never
    sees 0). ``shift`` is a Value (or a number); its gradient is whatever
    its own graph gives it: ``cross_entropy`` passes the largest logit as a
    constant, the tape an op ``max`` that passes no gradient back.

    >>> round(log_sum_exp([Value(1000.0), Value(1000.0)], 1000.0).data, 4)
    1000.6931
    """
    logits = _as_values(logits, "log_sum_exp")
    return vsum([(z - shift).exp() for z in logits]).log() + shift


def cross_entropy(logits, target):
    """The cross-entropy loss of one example: -log softmax(logits)[target].

    Computed as log-sum-exp minus the target's logit, the stable way:
    log(sum_j e^(z_j - m)) + m - z_target, with m the largest logit.

    >>> round(cross_entropy([Value(0.0), Value(0.0)], 1).data, 4)
    0.6931
    """
    logits = _as_values(logits, "cross_entropy")
    target = _check_label(target, len(logits))
    return log_sum_exp(logits, _largest(logits)) - logits[target]


def _largest(logits):
    """The largest logit, as one constant Value (drawn once in the graph)."""
    return Value(max(v.data for v in logits), "max")


def accuracy(outputs_per_example, labels):
    """The fraction of examples whose largest output is at the right label.

    >>> accuracy([[0.1, 0.9], [0.8, 0.2]], [1, 1])
    0.5
    """
    outputs_per_example = list(outputs_per_example)
    labels = list(labels)
    if len(outputs_per_example) != len(labels):
        raise ValueError(
            f"accuracy needs one label per example: {len(outputs_per_example)} "
            f"examples, {len(labels)} labels")
    if not labels:
        raise ValueError("accuracy of no examples is undefined")
    correct = sum(bool(predicted_class(out) == label)    # numpy labels too
                  for out, label in zip(outputs_per_example, labels))
    return correct / len(labels)


def predicted_class(outputs):
    """The index of the largest output (Values or plain numbers), or None if
    an output is NaN: such a network predicts nothing, so it is never right.
    """
    numbers = [float(o) for o in _as_list(outputs, "predicted_class")]
    total = sum(numbers)
    if total != total and any(math.isnan(n) for n in numbers):     # NaN
        return None
    return max(range(len(numbers)), key=numbers.__getitem__)


# ----------------------------------------------------------------------
# Losses by name. Each takes the network's outputs and the index of the
# right output, and returns a Value.
# ----------------------------------------------------------------------

def _cross_entropy_loss(outputs, target):
    return cross_entropy(outputs, target)


def _mse_loss(outputs, target):
    outputs = _as_list(outputs, "mse")
    return mse(outputs, one_hot(target, len(outputs)))


LOSSES = {"cross_entropy": _cross_entropy_loss, "mse": _mse_loss}


def model_loss_name(model, loss=None):
    """The name of the loss to use with ``model`` (a key of ``LOSSES``).

    ``loss`` if given; else the loss the model was trained with, if its model
    file recorded one (``model.info["loss"]``); else cross-entropy for a
    linear output layer (logits) and mse for any other.
    """
    if loss is None:
        loss = (getattr(model, "info", None) or {}).get("loss")
        if loss is not None and loss not in LOSSES:
            raise ValueError(
                f"the model file says it was trained with the loss {loss!r}, "
                f"which this tinygrad_edu does not know (it knows "
                f"{', '.join(sorted(LOSSES))})")
    if loss is None:
        loss = "cross_entropy" if model.output_activation == "linear" else "mse"
    loss_function(loss)                     # a clear error for an unknown name
    return loss


def loss_function(name):
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[name]
