"""The fast engines for the training loop: the same numbers, without a Value graph.

``train(model, data, engine=ENGINES["numpy"])`` swaps how each batch's loss
and gradients are computed; the loop, optimizer, schedule and batch order stay
the training loop's own. Three engines, one result (the weights after training
agree to 1e-9):

========  ==========================================================  ==========
name      how it computes a batch                                     speed
========  ==========================================================  ==========
values    builds the Value graph per example, calls ``backward()``    slowest; the one to read
tape      replays the traced program per example, in pure Python      ~6x values
numpy     replays the traced program over the whole batch with numpy  fastest
========  ==========================================================  ==========

They agree on NaN and infinity too (a zero gradient passes nothing on in
all three), but for one thing: a number too large for a float
(``1e160 ** 2``) is ``inf`` in numpy, where the other two raise
``OverflowError``. The training loop stops at a NaN or infinite loss or
weight, whichever engine.

Each model's tape is compiled on first use and kept while the model lives
(its parameters are made once, when it is built; ``load_state_dict`` and the
optimizers change their numbers, which every replay reads afresh).

In a training run (``start_steps``) the tape engines go one step further:
the weights live in one flat numpy vector for the whole run, stepped by the
optimizer's vector form (:mod:`tinygrad_edu.fast.vector_optim`), and are
written back into the model's Values after every epoch and at the end, so
pictures, saving and measuring see them. The training images become one
array once, instead of once per batch.
"""

import weakref

import numpy as np
from threadpoolctl import threadpool_limits

from ..learn.losses import predicted_class
from ..learn.training import VALUES, Engine, evaluate
from .numpy_replay import NumpyTape
from .traced_losses import compile_loss
from .vector_optim import vector_form

__all__ = ["ENGINES", "TapeEngine", "NumpyEngine", "VectorSteps", "NumpySteps",
           "tape_gradient_fn", "tape_for"]

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


class VectorSteps:
    """Steps 2 and 3 of a training run over one flat vector of weights.

    The training loop's counterpart is ``training.ValueSteps``; this one
    keeps the weights in ``self.weights`` (a numpy vector in the order of
    ``model.parameters()``) and writes them into the Values at ``sync()``.
    An optimizer without a vector form is still honoured: its ``step()``
    runs on the Values, and the vector is read back from them.
    """

    def __init__(self, engine, tape, optimizer, batch_gradients, images, targets,
                 storage=None):
        self.engine = engine
        self.params = tape.params
        self.optimizer = optimizer
        self.batch_gradients = batch_gradients      # (weights, xs, targets) -> loss, grads
        self.images = images
        self.targets = targets
        # ``storage``: a longer vector whose first entries are the weights
        # (the numpy replay's parameters-then-constants vector), else its own.
        if storage is None:
            storage = np.empty(len(self.params))
        self.weights = storage[:len(self.params)]
        self.weights[:] = [p.data for p in self.params]
        self.rule = vector_form(optimizer, self.params)
        self.grads = None

    def gradients(self, batch):
        """The batch's mean loss; its gradients wait in ``self.grads`` for ``update``."""
        loss, self.grads = self.batch_gradients(
            self.weights, self.images[batch], self.targets[batch])
        return loss

    def update(self):
        if self.rule is not None:
            self.rule.step(self.weights, self.grads)
            return
        self.sync()                   # an optimizer of its own: step the Values
        for p, g in zip(self.params, self.grads.tolist()):
            p.grad = g
        self.optimizer.step()
        self.weights[:] = [p.data for p in self.params]

    def weights_finite(self):
        return bool(np.isfinite(self.weights).all())

    def sync(self):
        """Write the weights (and the optimizer's state) into the model and optimizer."""
        for p, w in zip(self.params, self.weights.tolist()):
            p.data = w
        if self.rule is not None:
            self.rule.write_back()


class NumpySteps(VectorSteps):
    """``VectorSteps`` for the numpy replay, which also measures each epoch."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._arrays = {}            # (id, length) -> (data set, as an array)

    def evaluate(self, model, data, loss="cross_entropy"):
        """The engine's ``evaluate``, with each data set made an array once per run.

        The loop measures the same training and test images after every
        epoch; they do not change during a run.
        """
        images, labels = data
        key = (id(images), len(images))
        if key not in self._arrays:
            self._arrays[key] = (images, np.asarray(images, dtype=float))
        return self.engine.evaluate(model, (self._arrays[key][1], labels), loss)


def _as_arrays(images, targets):
    return np.asarray(images, dtype=float), np.asarray(targets, dtype=np.intp)


class TapeEngine(Engine):
    """Replays the traced program one example at a time, in pure Python."""

    name = "tape"
    backend = "python"

    def start_steps(self, model, optimizer, loss, images, targets):
        """The training loop's steps, with the weights in one vector (see ``VectorSteps``)."""
        tape = tape_for(model, loss, "python")

        def batch_gradients(weights, xs, batch_targets):
            mean_loss, grads = tape.batch_gradients(xs.tolist(), batch_targets.tolist(),
                                                    weights.tolist())
            return mean_loss, np.array(grads)

        return VectorSteps(self, tape, optimizer, batch_gradients,
                           *_as_arrays(images, targets))

    def evaluate(self, model, data, loss="cross_entropy"):
        """Mean loss and accuracy, as ``training.evaluate``, replayed on the tape.

        The training loop measures both data sets after every epoch; with
        Values that took twice as long as the epoch's training.
        """
        images, labels = data
        targets = _targets_if_valid(model, images, labels)
        if targets is None:
            return evaluate(model, data, loss)       # it explains what is wrong
        tape = tape_for(model, loss, "python")
        tape.load_parameters()
        total_loss, correct = 0.0, 0
        for x, target in zip(images, targets):
            total_loss += tape.forward(x, target, load_parameters=False)
            correct += predicted_class(tape.output_values()) == target
        return {"loss": total_loss / len(images), "accuracy": correct / len(images)}

    def batch_loss_and_grads(self, model, xs, targets, loss="cross_entropy"):
        """Set each parameter's ``grad`` to d(mean batch loss)/d(parameter); return the loss."""
        replay = tape_for(model, loss, self.backend)
        mean_loss, grads = replay.batch_gradients(xs, targets)
        if not isinstance(grads, list):
            grads = grads.tolist()          # numpy's array, as Python floats
        for p, g in zip(replay.params, grads):
            p.grad = g
        return mean_loss


class NumpyEngine(TapeEngine):
    """Replays the traced program over a whole batch at once, with numpy."""

    name = "numpy"
    backend = "numpy"

    def running(self):
        """One BLAS thread for the whole run.

        A batch's matrices are small (16 x 64 for the default training), and
        sharing each product among threads costs more than it saves: the
        default ``tinygrad-edu train`` took 3.5-3.9 s with OpenBLAS's own
        threads on a 2-core machine, 1.5 s with one, to the same weights.
        """
        return threadpool_limits(limits=1, user_api="blas")

    def start_steps(self, model, optimizer, loss, images, targets):
        """The training loop's steps, with the weights in one vector (see ``VectorSteps``)."""
        fast = tape_for(model, loss, "numpy")
        tape = fast.tape
        uniform = np.array([0.0] * tape.n_params + list(tape.constants))

        def batch_gradients(weights, xs, batch_targets):    # weights: uniform's head
            return fast.batch_gradients(xs, batch_targets, uniform)

        return NumpySteps(self, tape, optimizer, batch_gradients,
                          *_as_arrays(images, targets), storage=uniform)

    def evaluate(self, model, data, loss="cross_entropy"):
        """Mean loss and accuracy, as ``training.evaluate``: the data set is one batch."""
        images, labels = data
        targets = _targets_if_valid(model, images, labels)
        if targets is None:
            return evaluate(model, data, loss)       # it explains what is wrong
        losses, outputs = tape_for(model, loss, "numpy").losses_and_outputs(images, targets)
        correct = _count_correct(outputs, targets)
        return {"loss": float(losses.sum()) / len(images),
                "accuracy": correct / len(images)}


def _targets_if_valid(model, images, labels):
    """Each label's output index, or None if the data is not plainly valid
    (then ``training.evaluate`` runs instead, and says what is wrong)."""
    index_of = {label: i for i, label in enumerate(model.classes)}
    try:
        if len(images) == 0 or len(images) != len(labels) or any(
                label not in index_of for label in labels) or any(
                len(x) != model.nin for x in images):
            return None
    except TypeError:                # an unhashable label, an image without len
        return None
    return [index_of[label] for label in labels]


def _count_correct(outputs, targets):
    """How many rows of ``outputs`` (examples x classes) pick their target.

    ``argmax`` takes the first of equal largest outputs, as ``predicted_class``
    does; with a NaN among the outputs we leave it to ``predicted_class``.
    """
    if np.isfinite(outputs).all():
        return int((outputs.argmax(axis=1) == np.asarray(targets)).sum())
    return sum(predicted_class(row) == target
               for row, target in zip(outputs.tolist(), targets))


TAPE = TapeEngine()
NUMPY = NumpyEngine()

# Every engine by name: what ``tinygrad-edu train --engine`` offers.
ENGINES = {"values": VALUES, "tape": TAPE, "numpy": NUMPY}
