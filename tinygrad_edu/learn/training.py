"""The training loop: show the network mini-batches, step the optimizer, repeat.

One *step*:

1. take a small random batch of examples;
2. compute the mean loss over the batch and, by backprop, the gradient of
   that loss for every weight (``batch_loss_and_grads``);
3. let the optimizer move each weight a little against its gradient.

One *epoch* is enough steps to see every training example once. After each
epoch we measure loss and accuracy on the training set and on the held-out
test set (written by other people), without building any graph
(``no_grad``).

Step 2 is the slow part in pure Python, and it is pluggable: ``train(...,
engine=...)`` takes an *engine*, an object that computes a batch's loss and
gradients (``VALUES``, the Value graph, is the default; the fast engines of
:mod:`tinygrad_edu.fast` give the same numbers), or any function with the
signature of ``batch_loss_and_grads``. The loop knows nothing of how an
engine works inside.
"""

import gc
import math
import random
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from ..engine import no_grad, vsum
from .checks import whole_number
from .losses import loss_function, predicted_class
from .optim import SGD, Adam

__all__ = ["train", "evaluate", "TrainingDiverged", "TrainingResult", "StepReport",
           "batch_loss_and_grads", "VALUES", "ValueGraphEngine", "ValueSteps",
           "as_engine",
           "DivergenceWatch", "progress_bar"]


# ----------------------------------------------------------------------
# Step 2: the loss of a batch and the gradient of every weight.
# ----------------------------------------------------------------------

def batch_loss_and_grads(model, xs, targets, loss="cross_entropy"):
    """Set each parameter's ``.grad`` to d(mean batch loss)/d(parameter).

    ``xs`` are the inputs (lists of floats), ``targets`` the index of the
    right output for each. Returns the mean loss as a float.

    This is the one function a faster engine replaces: whatever it does
    inside, it must leave the same gradients in ``p.grad`` and return the
    same loss.
    """
    loss_fn = loss_function(loss)
    model.zero_grad()
    losses = []
    for x, target in zip(xs, targets):
        losses.append(loss_fn(model(x), target))
    mean_loss = vsum(losses) / len(losses)
    mean_loss.backward()
    return mean_loss.data


class Engine:
    """What ``train`` asks for each batch's loss and gradients.

    An engine has a ``name``, ``batch_loss_and_grads(model, xs, targets,
    loss)`` (the signature of the function above) and ``evaluate(model,
    data, loss)``, which measures a model after each epoch: here the Value
    graph's :func:`evaluate`, which an engine may replace with a faster one
    giving the same numbers.
    """

    name = "engine"

    def evaluate(self, model, data, loss="cross_entropy"):
        return evaluate(model, data, loss)

    def running(self):
        """What holds for a whole training run, as a ``with`` block around it
        (nothing here; the numpy engine uses one BLAS thread)."""
        return nullcontext()

    def __repr__(self):
        return f"<engine {self.name!r}>"


class ValueGraphEngine(Engine):
    """The readable engine: a Value graph per example, then ``backward()``.

    The fast engines in :mod:`tinygrad_edu.fast` give the same numbers.
    """

    name = "values"
    batch_loss_and_grads = staticmethod(batch_loss_and_grads)


VALUES = ValueGraphEngine()


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector inside the block.

    A batch's Value graph is thousands of new objects, so the collector runs
    again and again while it is built, and each time walks the young graph
    looking for reference cycles. It finds none: a Value keeps its parents
    in plain tuples, and reference counting frees the graph once it is
    dropped (see ``engine.py``). Pausing it saves about a tenth of a step.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class ValueSteps:
    """Steps 2 and 3 of a run, on the model's Values: the engine's gradients,
    then ``optimizer.step()``.

    This is what the loop does with any engine. An engine may instead offer
    ``start_steps(model, optimizer, loss, images, targets)``, returning an
    object with the same four methods that keeps the weights elsewhere (the
    fast engines keep them in one numpy vector) and writes them into the
    model's Values at ``sync()``, which the loop calls after every epoch. Such
    an object may also have ``evaluate``, used instead of the engine's to
    measure the model after each epoch.
    """

    def __init__(self, engine, model, optimizer, loss, images, targets):
        self.engine, self.model, self.optimizer, self.loss = engine, model, optimizer, loss
        self.images, self.targets = images, targets
        self.parameters = model.parameters()

    def gradients(self, batch):
        """The batch's mean loss; each weight's gradient goes where ``update`` finds it."""
        with collector_paused():
            return self.engine.batch_loss_and_grads(
                self.model, [self.images[i] for i in batch],
                [self.targets[i] for i in batch], self.loss)

    def update(self):
        self.optimizer.step()

    def weights_finite(self):
        return _all_finite(self.parameters)

    def sync(self):
        """Nothing to do: the weights are the Values' own."""


class _FunctionEngine(Engine):
    """An engine made from a plain function with ``batch_loss_and_grads``'s signature."""

    def __init__(self, function):
        self.name = getattr(function, "__name__", "function")
        self.batch_loss_and_grads = function


def as_engine(engine):
    """``engine`` as an object with ``batch_loss_and_grads`` and ``evaluate``.

    Accepts an engine object, the name ``"values"`` (the Value graph), or a
    function with the signature of :func:`batch_loss_and_grads`.
    """
    if isinstance(engine, str):
        if engine == VALUES.name:
            return VALUES
        raise ValueError(
            f"unknown engine {engine!r}: the training loop knows only "
            f"'values' by name; pass an engine object, e.g. "
            f"tinygrad_edu.fast.ENGINES[{engine!r}] (engines: values, tape, numpy)")
    if hasattr(engine, "batch_loss_and_grads"):
        return engine
    if callable(engine):
        return _FunctionEngine(engine)
    raise TypeError(f"engine must be an engine object, 'values' or a function, "
                    f"got {type(engine).__name__}")


# ----------------------------------------------------------------------
# Measuring a model
# ----------------------------------------------------------------------

def _targets(labels, classes):
    """Labels (e.g. digits) -> output indices, using the model's classes."""
    index_of = {label: i for i, label in enumerate(classes)}
    missing = sorted(set(labels) - set(index_of), key=str)
    if missing:
        raise ValueError(
            f"the data has labels {missing} that the model has no output for "
            f"(its classes are {list(classes)}); load only those classes")
    return [index_of[label] for label in labels]


def _check_data(data, what, classes):
    """``data = (images, labels)`` as a list of lists of floats and a list
    of labels, or a clear error naming the first bad image or label."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"{what} must be a pair (images, labels), as "
                        f"load_digits returns")
    images, labels = [list(part) for part in data]
    if len(images) != len(labels):
        raise ValueError(f"{what} has {len(images)} images but {len(labels)} labels")
    if not images:
        raise ValueError(f"{what} is empty")
    return ([_check_image(image, i, what) for i, image in enumerate(images)],
            [_check_label_value(label, i, what, classes) for i, label in enumerate(labels)])


def _check_image(image, i, what):
    """One image as a list of floats; every pixel must be a finite number."""
    try:
        pixels = [float(p) for p in image]
    except (TypeError, ValueError):
        if not hasattr(image, "__iter__"):
            raise TypeError(f"{what}: image {i} is {image!r}, not a list of "
                            f"pixel numbers") from None
        j, bad = next(((j, p) for j, p in enumerate(image) if not _is_float(p)),
                      ("?", image))
        raise TypeError(f"{what}: image {i} has {bad!r} as pixel {j}, not a "
                        f"number; every pixel must be a number such as 0.5") from None
    if not math.isfinite(sum(pixels)):       # a NaN or inf anywhere makes the sum one
        bad = [(j, p) for j, p in enumerate(pixels) if not math.isfinite(p)]
        if bad:
            j, p = bad[0]
            raise ValueError(f"{what}: image {i} has pixel {j} = {p}, not a finite "
                             f"number; fix or drop that image")
    return pixels


def _is_float(p):
    try:
        float(p)
    except (TypeError, ValueError):
        return False
    return True


def _check_label_value(label, i, what, classes):
    """One label: a whole number (a numpy integer or 3.0 count, as plain
    ints), or a string the model has as a class."""
    if type(label) is int:                       # the common case, quickly
        return label
    number = whole_number(label)
    if number is not None:
        return number
    if isinstance(label, str) and label in classes:
        return label
    if isinstance(label, str):
        fix = f"labels are whole numbers such as 3 (the model's classes are {list(classes)[:10]})"
    elif hasattr(label, "__len__"):
        fix = "give class labels such as 3, not one-hot vectors"
    else:
        fix = "labels are whole numbers such as 3, the class of each image"
    raise ValueError(f"{what}: label {i} is {label!r}; {fix}")


def _check_input_sizes(images, model, what):
    for i, image in enumerate(images):
        if len(image) != model.nin:
            raise ValueError(f"{what}: image {i} has {len(image)} numbers but "
                             f"the model takes {model.nin} inputs")


def _check_model(model, what):
    """``model`` must be an MLP (it has inputs ``nin`` and ``classes``)."""
    if not all(hasattr(model, name) for name in ("nin", "classes", "parameters")):
        raise TypeError(f"{what} takes an MLP, got a {type(model).__name__}; build "
                        f"one with MLP(nin, [hidden sizes..., number of classes])")


def evaluate(model, data, loss="cross_entropy"):
    """Mean loss and accuracy of ``model`` on ``data = (images, labels)``.

    Labels are mapped to outputs through ``model.classes``. No graph is built
    (``no_grad``), so this is cheaper than a training step. Returns a dict
    ``{"loss": ..., "accuracy": ...}``.
    """
    _check_model(model, "evaluate")
    images, labels = _check_data(data, "the data to evaluate on", model.classes)
    _check_input_sizes(images, model, "the data to evaluate on")
    targets = _targets(labels, model.classes)
    loss_fn = loss_function(loss)
    total_loss, correct = 0.0, 0
    with no_grad():
        for x, target in zip(images, targets):
            outputs = model(x)
            total_loss += loss_fn(outputs, target).data
            correct += predicted_class(outputs) == target
    return {"loss": total_loss / len(images), "accuracy": correct / len(images)}


# ----------------------------------------------------------------------
# Divergence, progress, results
# ----------------------------------------------------------------------

class TrainingDiverged(ArithmeticError):
    """Training went wrong: a number overflowed, the loss ran far above where
    it started, or it stopped moving with the accuracy at chance.

    ``epoch``, ``loss`` (the loss when it was noticed), ``lr`` and
    ``suggested_lr`` (a learning rate to try) are kept for programs.
    """

    def __init__(self, epoch, what, lr, loss, suggested_lr=None, step=None,
                 steps_per_epoch=None):
        self.epoch, self.step, self.lr, self.loss = epoch, step, lr, loss
        self.suggested_lr = lr / 10 if suggested_lr is None else suggested_lr
        where = f"epoch {epoch}"
        if step is not None:
            where += f", step {step} of {steps_per_epoch}"
        smaller = self.suggested_lr < lr
        cause = ("the learning rate is probably too big" if smaller
                 else "the learning rate may be too small")
        super().__init__(
            f"training diverged at {where} (loss {loss:.6g}): {what}; {cause} "
            f"(lr {lr:g}). Try a {'smaller' if smaller else 'larger'} one, "
            f"--lr {self.suggested_lr:g} (lr={self.suggested_lr:g} in Python)"
            + (", a bigger batch, or the tanh activation." if smaller else "."))


# When a run counts as diverged (besides a NaN or infinite number): its loss
# is LOSS_GROWTH_LIMIT times the first batch's loss at the end of an epoch,
# or STEP_GROWTH_LIMIT times it on any one batch (stopped at once); or, for
# STUCK_EPOCHS epochs in a row, the training accuracy stays within
# STUCK_MARGIN of chance while the loss moves by less than STUCK_LOSS_CHANGE
# of itself; or a run of at least STUCK_EPOCHS epochs ends with the training
# accuracy within STUCK_MARGIN of chance. A healthy run's loss falls below its start within an epoch, so
# these never fire at the default settings or the documented learning rates.
LOSS_GROWTH_LIMIT = 10
STEP_GROWTH_LIMIT = 1000
# Growth is measured from the first batch's loss, but from no less than this:
# a trained model trained further starts near 0, and its loss may wobble.
LOSS_GROWTH_FLOOR = 1.0
STUCK_EPOCHS = 3
STUCK_MARGIN = 0.05
STUCK_LOSS_CHANGE = 0.05
# Inputs larger than this (the digits' pixels are 0..1) are named when a run
# diverges.
LARGE_INPUT = 10.0


class DivergenceWatch:
    """Looks at each step's loss and each epoch's measurements, and raises
    ``TrainingDiverged`` when the run has gone wrong (see the limits above)."""

    def __init__(self, n_classes, lr, default_lr, steps_per_epoch, images=()):
        # With one output every guess is right: there is no chance level to
        # be stuck at, so only the loss can say the run went wrong.
        self.chance = 1 / n_classes if n_classes > 1 else None
        self.lr, self.default_lr = lr, default_lr
        self.steps_per_epoch = steps_per_epoch
        self.images = images
        self.start_loss = None
        self.epochs = []

    def stop(self, epoch, what, loss, suggested_lr=None, step=None):
        """The ``TrainingDiverged`` to raise (the caller raises it)."""
        error = TrainingDiverged(epoch, what, self.lr, loss, suggested_lr, step,
                                 self.steps_per_epoch if step else None)
        # Big inputs make big steps whatever the learning rate: raw 0..16
        # pixels look like a rate that is too big. Looked at only once the
        # run has failed, so a healthy run pays nothing for it.
        largest = max((max(map(abs, image)) for image in self.images), default=0.0)
        if largest > LARGE_INPUT:
            error.args = (f"{error.args[0]} Note that the inputs reach {largest:g}: "
                          f"scale them to about 0..1 first (load_digits does).",)
        return error

    def step(self, epoch, step, batch_loss):
        if not math.isfinite(batch_loss):
            raise self.stop(epoch, "the loss became NaN or infinite "
                                    "(the weights grew until the numbers overflowed)",
                             batch_loss, step=step)
        if self.start_loss is None:
            self.start_loss = batch_loss
        elif batch_loss > STEP_GROWTH_LIMIT * self._reference():
            raise self.stop(epoch, f"the loss grew to over {STEP_GROWTH_LIMIT} "
                                    f"times its start ({self._reference():.4g})",
                             batch_loss, step=step)

    def epoch(self, stats):
        epoch, loss = stats["epoch"], stats["train_loss"]
        for key in ("train_loss", "test_loss"):
            if stats.get(key) is not None and not math.isfinite(stats[key]):
                raise self.stop(epoch, f"the {key.replace('_', ' ')} after the "
                                       f"epoch is NaN or infinite", stats[key])
        if loss > LOSS_GROWTH_LIMIT * self._reference():
            raise self.stop(epoch, f"the training loss grew to over "
                                    f"{LOSS_GROWTH_LIMIT} times its start "
                                    f"({self._reference():.4g})", loss)
        self.epochs.append((loss, stats["train_accuracy"]))
        recent = self.epochs[-STUCK_EPOCHS:]
        if (self.chance is not None and len(recent) == STUCK_EPOCHS
                and self._stuck(recent)):
            raise self.stop(
                epoch, f"for {STUCK_EPOCHS} epochs the loss has not moved and "
                       f"the training accuracy ({stats['train_accuracy']:.1%}) "
                       f"is no better than chance ({self.chance:.1%})",
                loss, suggested_lr=self._stuck_suggestion())

    def _reference(self):
        """The loss that growth is measured from."""
        return max(self.start_loss, LOSS_GROWTH_FLOOR)

    def finish(self):
        """At the end of a run of at least ``STUCK_EPOCHS`` epochs: a model
        whose training accuracy is still at chance has learnt nothing."""
        if len(self.epochs) < STUCK_EPOCHS or self.chance is None:
            return
        loss, accuracy = self.epochs[-1]
        if accuracy <= self.chance + STUCK_MARGIN:
            raise self.stop(
                len(self.epochs), f"after {len(self.epochs)} epochs the training "
                                  f"accuracy ({accuracy:.1%}) is no better than "
                                  f"chance ({self.chance:.1%})",
                loss, suggested_lr=self._stuck_suggestion())

    def _stuck(self, recent):
        losses = [loss for loss, _ in recent]
        at_chance = all(accuracy <= self.chance + STUCK_MARGIN for _, accuracy in recent)
        still = max(losses) - min(losses) <= STUCK_LOSS_CHANGE * abs(sum(losses) / len(losses))
        return at_chance and still

    def _stuck_suggestion(self):
        """Stuck with a big rate: the neurons died, go smaller. With a rate
        below the default: the steps are too small, try the default."""
        return self.default_lr if self.lr < self.default_lr else self.lr / 10


def _progress_enabled(progress):
    """Draw progress bars? ``progress`` if given; else only where someone
    watches: a terminal on stderr, or a Jupyter notebook."""
    if progress is not None:
        return bool(progress)
    from tqdm.auto import tqdm as auto_tqdm
    if any(kind.__module__ == "tqdm.notebook" for kind in auto_tqdm.__mro__):
        return True                             # tqdm.auto found a notebook
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


def progress_bar(total, description, enabled):
    """A tqdm progress bar for one epoch (a widget in a notebook); it draws
    nothing when ``enabled`` is False and wipes itself when closed."""
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=description, unit="step", leave=False,
                disable=not enabled, dynamic_ncols=True)


@dataclass
class StepReport:
    """What ``train(..., on_step=...)`` hears after each step.

    ``images`` and ``targets`` are the batch just learned from (targets are
    output indices, see ``model.classes``); ``loss`` is its mean loss before
    the step, ``lr`` the learning rate the step used. The fast engines keep
    the weights outside the model during an epoch: call ``sync()`` before
    reading the model's weights (it writes the current ones in).
    """

    epoch: int
    step: int
    steps_per_epoch: int
    loss: float
    lr: float
    images: list
    targets: list
    sync: object = None


@dataclass
class TrainingResult:
    """What ``train`` measured: one dict per epoch, and the time it took."""

    history: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def final(self):
        """The measurements after the last epoch."""
        return self.history[-1]

    def metrics(self):
        """A flat JSON-friendly summary (what ``--metrics`` writes)."""
        final = self.final
        summary = {key: final.get(key) for key in
                   ("train_loss", "train_accuracy", "test_loss", "test_accuracy")}
        summary.update(epochs=final["epoch"], seconds=round(self.seconds, 3),
                       history=self.history)
        return summary


def _make_optimizer(optimizer, parameters, lr, momentum, weight_decay):
    if optimizer == "adam":
        return Adam(parameters, lr=lr, weight_decay=weight_decay)
    if optimizer == "sgd":
        return SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {optimizer!r}; choose 'adam' or 'sgd'")


def _check_optimizer(optimizer, parameters):
    """An optimizer object must be an instance that steps this model's weights."""
    if isinstance(optimizer, type):
        raise TypeError(f"optimizer is the class {optimizer.__name__}, not an "
                        f"optimizer; pass one made for this model, e.g. "
                        f"{optimizer.__name__}(model.parameters(), lr=0.1), or "
                        f"the name 'sgd' or 'adam'")
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "lr")):
        raise TypeError(f"optimizer must be 'adam', 'sgd' or an optimizer object "
                        f"with step() and lr, got {optimizer!r}")
    theirs = getattr(optimizer, "parameters", None)
    if isinstance(theirs, (list, tuple)):
        ours = {id(p) for p in parameters}
        if any(id(p) not in ours for p in theirs):
            raise ValueError("the optimizer was built on another model's "
                             "parameters, so its steps would not train this "
                             "model; build it with this model's, e.g. "
                             "SGD(model.parameters(), lr=0.1)")


def learning_rate_at(step, total_steps, base_lr, schedule):
    """The learning rate for step ``step`` (0-based) of ``total_steps``.

    ``"constant"`` keeps ``base_lr``. ``"cosine"`` glides from ``base_lr``
    down to 0 along half a cosine wave: big steps while the network is far
    from good, small careful ones at the end.
    """
    if schedule == "constant":
        return base_lr
    if schedule == "cosine":
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
    raise ValueError(f"unknown schedule {schedule!r}; choose 'cosine' or 'constant'")


# What the engine raises once numbers blow up: ``x ** 2`` or ``exp`` overflows,
# a divisor reaches 0. (A NaN or inf that arithmetic produces instead is
# caught by the checks on the loss and the weights.) Other errors, such as a
# bug or inputs of the wrong length, are not divergence: they are raised as
# they are.
NUMERIC_ERRORS = (OverflowError, ZeroDivisionError)


def _all_finite(parameters):
    return all(math.isfinite(p.data) for p in parameters)


# ----------------------------------------------------------------------
# The loop
# ----------------------------------------------------------------------

DEFAULT_LR = {"adam": 0.01, "sgd": 0.1}


def train(model, train_data, test_data=None, *, epochs=10, batch_size=8,
          optimizer="adam", lr=None, momentum=0.9, weight_decay=0.0,
          schedule="cosine", loss="cross_entropy", seed=0, engine="values",
          progress=None, log=print, on_step=None, on_epoch=None):
    """Train ``model`` on ``train_data = (images, labels)``; return a TrainingResult.

    * Labels are mapped to outputs by ``model.classes`` (so a model with
      ``classes=[3, 7]`` learns to put 3s on output 0 and 7s on output 1).
    * Each epoch shuffles the examples (with ``seed``: the same seed gives
      the same run) and takes steps on mini-batches of ``batch_size``.
    * ``optimizer`` is ``"adam"`` or ``"sgd"`` (with ``momentum``), or an
      optimizer object you made (then its own ``lr`` is used); ``lr``
      defaults to 0.01 (Adam) or 0.1 (SGD) and follows ``schedule``
      ("cosine" or "constant").
    * ``engine`` computes each batch's loss and gradients: ``"values"`` (the
      Value graph), an engine object such as ``tinygrad_edu.fast.ENGINES["numpy"]``,
      or a function like ``batch_loss_and_grads``.
    * After every epoch, loss and accuracy on the training data and on
      ``test_data`` (if given) are measured and, if ``log`` is not None,
      printed as one line.
    * A run that goes wrong raises ``TrainingDiverged`` naming the epoch,
      the loss and a learning rate to try: a NaN or infinite loss or weight,
      a loss far above where it started, or a loss stuck with the accuracy
      at chance (see ``DivergenceWatch`` for the limits).
    * ``progress``: True or False to show per-epoch progress bars (tqdm) or
      not; None (the default) shows them only on a terminal or in a notebook.
    * ``on_step(report)`` and ``on_epoch(stats)``, if given, are called after
      every step and every epoch, to watch the training (the live page of
      ``tinygrad-edu train --live`` does): see :class:`StepReport`; ``stats``
      is the epoch's entry of the history.
    """
    _check_model(model, "train")
    images, labels = _check_data(train_data, "the training data", model.classes)
    _check_input_sizes(images, model, "the training data")
    targets = _targets(labels, model.classes)
    if test_data is not None:
        test_images, test_labels = _check_data(test_data, "the test data", model.classes)
        _check_input_sizes(test_images, model, "the test data")
        _targets(test_labels, model.classes)
    for value, what in ((epochs, "epochs"), (batch_size, "batch_size")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{what} must be a positive whole number, got {value!r}")
    loss_function(loss)
    engine = as_engine(engine)
    parameters = model.parameters()
    optimizer_name = optimizer if isinstance(optimizer, str) else ""
    if isinstance(optimizer, str):
        lr = DEFAULT_LR.get(optimizer, 0.01) if lr is None else lr
        optimizer = _make_optimizer(optimizer, parameters, lr, momentum, weight_decay)
    else:
        _check_optimizer(optimizer, parameters)
        if lr is not None:
            raise ValueError(f"lr={lr!r} was given with an optimizer object, which "
                             f"has its own lr ({optimizer.lr:g}); set lr when you "
                             f"build the optimizer and leave out train's lr")
    for hook, name in ((log, "log"), (on_step, "on_step"), (on_epoch, "on_epoch")):
        if hook is not None and not callable(hook):
            raise TypeError(f"{name} must be a function (or None), got {hook!r}")
    base_lr = optimizer.lr
    learning_rate_at(0, 1, base_lr, schedule)          # check the name early

    start_steps = getattr(engine, "start_steps", None)
    steps = (start_steps(model, optimizer, loss, images, targets) if start_steps
             else ValueSteps(engine, model, optimizer, loss, images, targets))
    rng = random.Random(seed)
    order = list(range(len(images)))
    steps_per_epoch = math.ceil(len(images) / batch_size)
    total_steps = epochs * steps_per_epoch
    watch = DivergenceWatch(len(model.classes), base_lr,
                            DEFAULT_LR.get(optimizer_name, base_lr), steps_per_epoch,
                            images)
    show_progress = _progress_enabled(progress)
    result = TrainingResult()
    started = time.perf_counter()
    with getattr(engine, "running", nullcontext)():     # e.g. one BLAS thread
        for epoch in range(1, epochs + 1):
            rng.shuffle(order)
            with progress_bar(steps_per_epoch, f"epoch {epoch}/{epochs}",
                              show_progress) as bar:
                for step in range(1, steps_per_epoch + 1):
                    batch = order[(step - 1) * batch_size:step * batch_size]
                    optimizer.lr = learning_rate_at(
                        (epoch - 1) * steps_per_epoch + step - 1, total_steps,
                        base_lr, schedule)
                    batch_loss = _one_step(steps, batch)
                    watch.step(epoch, step, batch_loss)
                    bar.set_postfix_str(f"loss {batch_loss:.4f}", refresh=False)
                    bar.update(1)
                    if on_step is not None:
                        on_step(StepReport(epoch, step, steps_per_epoch, batch_loss,
                                           optimizer.lr, [images[i] for i in batch],
                                           [targets[i] for i in batch], steps.sync))
            steps.sync()            # the weights into the model's Values
            try:
                stats = _measure(model, epoch, (images, labels), test_data, loss,
                                 time.perf_counter() - started,
                                 getattr(steps, "evaluate", engine.evaluate))
            except NUMERIC_ERRORS as error:
                raise watch.stop(epoch, f"measuring the loss after the epoch "
                                         f"overflowed ({error})", math.inf) from error
            watch.epoch(stats)
            result.history.append(stats)
            if log is not None:
                log(_epoch_line(result.history[-1], epochs))
            if on_epoch is not None:
                on_epoch(result.history[-1])
    watch.finish()
    result.seconds = time.perf_counter() - started
    return result


def _one_step(steps, batch):
    """One optimizer step on one batch; returns the batch's loss (NaN if a
    number overflowed or a weight stopped being finite)."""
    try:
        batch_loss = steps.gradients(batch)
    except NUMERIC_ERRORS:
        return math.nan
    if not math.isfinite(batch_loss):
        return batch_loss
    steps.update()
    return batch_loss if steps.weights_finite() else math.nan


def _measure(model, epoch, train_data, test_data, loss, seconds, evaluate=evaluate):
    train_stats = evaluate(model, train_data, loss)
    stats = {"epoch": epoch, "train_loss": train_stats["loss"],
             "train_accuracy": train_stats["accuracy"],
             "test_loss": None, "test_accuracy": None}
    if test_data is not None:
        test_stats = evaluate(model, test_data, loss)
        stats.update(test_loss=test_stats["loss"],
                     test_accuracy=test_stats["accuracy"])
    stats["seconds"] = round(seconds, 3)
    return stats


def _epoch_line(stats, epochs):
    line = (f"epoch {stats['epoch']:>{len(str(epochs))}}/{epochs}  "
            f"train loss {stats['train_loss']:.4f} acc {stats['train_accuracy']:6.1%}")
    if stats["test_loss"] is not None:
        line += (f"  test loss {stats['test_loss']:.4f} "
                 f"acc {stats['test_accuracy']:6.1%}")
    return line + f"  ({stats['seconds']:.1f} s)"
