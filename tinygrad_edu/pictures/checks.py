"""What every picture of a model checks at the door, and what it leaves behind.

* ``gradients_kept(model)``: a picture that runs backprop on the model puts
  every parameter's ``grad`` back as it found it. A learner who draws between
  ``loss.backward()`` and ``optimizer.step()`` still takes the batch's step.
* ``output_for_class`` / ``output_index``: the pictures take the class
  (the digit, as in ``model.classes``); the numbers underneath
  (``network_state``) take the output's index. Each says which it wanted.
* ``as_label``: a numpy integer (``load_digits(as_numpy=True)`` hands them
  out) counts as the plain int it holds.
* ``positive_number`` / ``positive_whole_number``: the size arguments.
"""

import math
from contextlib import contextmanager

from ..learn.checks import is_real_number, is_whole_number

__all__ = ["gradients_kept", "as_label", "output_for_class", "output_index",
           "positive_number", "positive_whole_number"]


@contextmanager
def gradients_kept(model):
    """Inside: every parameter's grad starts at 0, so a backward pass run here
    gives this example's gradients alone. Afterwards: every grad is back to
    what it was before (read what you need inside the ``with``)."""
    parameters = model.parameters()
    kept = [p.grad for p in parameters]
    for p in parameters:
        p.grad = 0.0
    try:
        yield
    finally:
        for p, grad in zip(parameters, kept):
            p.grad = grad


def as_label(label):
    """A numpy integer as the plain int it holds; anything else as it is."""
    return int(label) if is_whole_number(label) else label


def output_for_class(model, label):
    """``(label, index)``: the output of ``model`` that stands for the class
    ``label`` (one of ``model.classes``), with ``label`` as a plain value."""
    label = as_label(label)
    classes = list(model.classes)
    if isinstance(label, bool) or label not in classes:
        hint = ""
        if is_whole_number(label) and 0 <= label < len(classes):
            hint = (f" (the target is the class, not the output's index: "
                    f"output {label} is the class {classes[label]})")
        raise ValueError(f"this model cannot recognise the digit {label}: its "
                         f"outputs are for {classes}; choose one of those{hint}")
    return label, classes.index(label)


def output_index(model, index):
    """``index`` checked as the index of one of ``model``'s outputs, a plain int."""
    index = as_label(index)
    classes = list(model.classes)
    last = len(classes) - 1
    if not is_whole_number(index) or not 0 <= index <= last:
        hint = ""
        if not isinstance(index, bool) and index in classes:
            hint = f" (class {index} is index {classes.index(index)})"
        raise ValueError(
            f"network_state's target is the output's index 0..{last}{hint}, "
            f"got {index!r}; draw_network, draw_saliency and explain_steps take "
            f"the class itself")
    return index


def positive_number(value, name, meaning):
    """``value`` as a float if it is a finite number above 0, else a clear error.

    ``meaning`` says what the argument is for, in the message.
    """
    if not is_real_number(value) or not (math.isfinite(value) and value > 0):
        error = ValueError if is_real_number(value) else TypeError
        raise error(f"{name} must be a positive number ({meaning}), got {value!r}")
    return float(value)


def positive_whole_number(value, name, meaning):
    """``value`` as an int if it is a whole number above 0, else a clear error."""
    if not is_whole_number(value) or value < 1:
        error = ValueError if is_real_number(value) else TypeError
        raise error(f"{name} must be a positive whole number ({meaning}), "
                    f"got {value!r}")
    return int(value)
