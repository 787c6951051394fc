"""The fast engines for the training loop: the same numbers, without a Value graph.

``train(model, data, engine=ENGINES["numpy"])`` swaps how each batch's loss
and gradients are computed; the loop, optimizer, schedule and batch order stay
the training loop's own. Three engines, one result (the weights after training
agree to 1e-9):

========  ==========================================================  ==========
name      how it computes a batch                                     speed
========  ==========================================================  ==========
values    builds the Value graph per example, calls ``backward()``    slowest; the one to read
tape      replays the traced program per example, in pure Python      ~5x values
numpy     replays the traced program over the whole batch with numpy  fastest
========  ==========================================================  ==========

Each model's tape is compiled on first use and kept while the model lives
(its parameters are made once, when it is built; ``load_state_dict`` and the
optimizers change their numbers, which every replay reads afresh).
"""

import weakref

from ..learn.losses import predicted_class
from ..learn.training import VALUES, evaluate
from .numpy_replay import NumpyTape
from .traced_losses import compile_loss

__all__ = ["ENGINES", "TapeEngine", "NumpyEngine", "tape_gradient_fn",
           "tape_for"]

_compiled = weakref.WeakKeyDictionary()      # model -> {(backend, loss): tape}


def tape_for(model, loss, backend):
    """The model's compiled tape for ``loss`` (``backend`` "python" or "numpy")."""
    tapes = _compiled.setdefault(model, {})
    tape = tapes.get((backend, loss))
    if tape is None:
        tape = compile_loss(model, loss)
        if backend == "numpy":
            tape = NumpyTape(tape)
        tapes[(backend, loss)] = tape
    return tape


def tape_gradient_fn(model, loss="mse", backend="numpy"):
    """A per-batch gradient function for a training loop: ``fn(xs, labels) -> loss``.

    It adds the mean loss's gradients into each parameter's ``grad`` (as
    ``loss.backward()`` would) and returns the mean loss as a float.
    ``backend`` is ``"numpy"`` (the batch replay) or ``"python"`` (the
    pure-Python tape).
    """
    if backend not in ("python", "numpy"):
        raise ValueError(f"unknown backend {backend!r}; choose python or numpy")
    return tape_for(model, loss, backend).accumulate_batch


class TapeEngine:
    """Replays the traced program one example at a time, in pure Python."""

    name = "tape"

    def batch_loss_and_grads(self, model, xs, targets, loss="cross_entropy"):
        """Set each parameter's ``grad`` to d(mean batch loss)/d(parameter); return the loss."""
        tape = tape_for(model, loss, "python")
        mean_loss, grads = tape.batch_gradients(xs, targets)
        for p, g in zip(tape.params, grads):
            p.grad = g
        return mean_loss

    def evaluate(self, model, data, loss="cross_entropy"):
        return evaluate(model, data, loss)

    def __repr__(self):
        return f"<engine {self.name!r}>"


class NumpyEngine(TapeEngine):
    """Replays the traced program over a whole batch at once, with numpy."""

    name = "numpy"

    def batch_loss_and_grads(self, model, xs, targets, loss="cross_entropy"):
        """Set each parameter's ``grad`` to d(mean batch loss)/d(parameter); return the loss."""
        fast = tape_for(model, loss, "numpy")
        mean_loss, grads = fast.batch_gradients(xs, targets)
        for p, g in zip(fast.tape.params, grads.tolist()):
            p.grad = g
        return mean_loss

    def evaluate(self, model, data, loss="cross_entropy"):
        """Mean loss and accuracy, as ``training.evaluate``: the data set is one batch."""
        images, labels = data
        index_of = {label: i for i, label in enumerate(model.classes)}
        if len(images) == 0 or len(images) != len(labels) or any(
                label not in index_of for label in labels):
            return evaluate(model, data, loss)       # it explains what is wrong
        targets = [index_of[label] for label in labels]
        losses, outputs = tape_for(model, loss, "numpy").losses_and_outputs(images, targets)
        correct = sum(predicted_class(row) == target
                      for row, target in zip(outputs.tolist(), targets))
        return {"loss": float(losses.sum()) / len(images),
                "accuracy": correct / len(images)}


TAPE = TapeEngine()
NUMPY = NumpyEngine()

# Every engine by name: what ``tinygrad-edu train --engine`` offers.
ENGINES = {"values": VALUES, "tape": TAPE, "numpy": NUMPY}
