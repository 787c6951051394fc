"""``tinygrad-edu plot METRICS``: the loss and accuracy curves as a picture.

It reads the metrics file ``tinygrad-edu train --metrics`` writes (the loss
of every step and the measurements after every epoch) and draws them with
matplotlib, as PNG or SVG, for slides and papers::

    tinygrad-edu plot metrics.json --out curves.png

``tinygrad-edu train --plot FILE`` draws the same picture at the end of
training. matplotlib is an optional extra: ``pip install 'tinygrad_edu[plot]'``.
"""

import io
import json
import math
import warnings
from pathlib import Path

from .arguments import (DefaultPath, check_output_paths,
                        remember_parser, runtime_failure, usage_error)
from ..learn.checks import is_real_number, is_whole_number
from ..output import OutputError, write_atomically

NAME = "plot"
HELP = "draw the loss and accuracy curves of a training's metrics file (PNG or SVG)"

FORMATS = (".png", ".svg")
TRAIN_COLOUR, TEST_COLOUR, STEP_COLOUR = "#1b7837", "#e66101", "#aaaaaa"


def add_arguments(parser):
    parser.add_argument("metrics", metavar="METRICS",
                        help="a metrics file written by 'tinygrad-edu train --metrics'")
    parser.add_argument("--out", default=DefaultPath("curves.png"), metavar="FILE",
                        help="where to draw the curves, .png or .svg "
                             "(default: curves.png, if there is no such file yet)")
    remember_parser(parser)


def run(args):
    check_plot_path(args, args.out, "--out")
    check_output_paths(args, [(args.out, "--out")], inputs=[(args.metrics, "METRICS")])
    try:
        metrics = read_metrics(args.metrics)
    except ValueError as error:
        usage_error(args, str(error))
    try:
        draw_curves(metrics, args.out)
    except OutputError as error:
        return runtime_failure(args, str(error))
    epochs = metrics["epochs"]
    print(f"curves of {epochs} epoch{'' if epochs == 1 else 's'} drawn to {args.out}")
    return 0


def check_plot_path(args, path, flag):
    """A usage error unless ``path`` ends in .png or .svg and matplotlib is
    here. (Whether it can be written, and is no input's or other output's
    file, the caller's ``check_output_paths`` says.)"""
    if not path.strip():
        usage_error(args, f"argument {flag}: the path is empty; give a file "
                          f"name ending in .png or .svg")
    if Path(path).suffix.lower() not in FORMATS:
        usage_error(args, f"argument {flag}: {path} should end in .png or .svg")
    try:
        import matplotlib  # noqa: F401  (only checking it is installed)
    except ImportError:
        usage_error(args, f"argument {flag}: drawing curves needs matplotlib; "
                          f"install it with: pip install 'tinygrad_edu[plot]'")


def read_metrics(path):
    """The metrics file at ``path``, checked to have what the curves need.

    Raises ValueError saying what is wrong.
    """
    try:
        metrics = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{path} is not JSON; give the file that "
                         f"'tinygrad-edu train --metrics' wrote") from None
    check_metrics(metrics, path)
    metrics.setdefault("epochs", metrics["history"][-1]["epoch"])
    return metrics


def _number(value):
    """True for a finite number (JSON's true and false are not numbers)."""
    return is_real_number(value) and math.isfinite(value)


def _whole(value):
    return is_whole_number(value) and value >= 1


def check_metrics(metrics, path):
    """Raise ValueError naming the first key of ``metrics`` (read from
    ``path``) that is not what the curves need, and what it should be."""
    fix = "give the file that 'tinygrad-edu train --metrics' wrote"
    history = metrics.get("history") if isinstance(metrics, dict) else None
    if not (isinstance(history, list) and history):
        raise ValueError(f"{path} has no per-epoch history; {fix}")

    def wrong(key, should):
        return ValueError(f"{path}: {key} should be {should}; {fix}")

    for i, entry in enumerate(history):
        if not isinstance(entry, dict) or "epoch" not in entry:
            raise ValueError(f"{path} has no per-epoch history (history[{i}] "
                             f"has no epoch); {fix}")
        if not _whole(entry["epoch"]):
            raise wrong(f"history[{i}].epoch", "a whole number from 1")
        for key in ("train", "test"):
            if entry.get(f"{key}_loss") is None:
                continue
            if not _number(entry[f"{key}_loss"]):
                raise wrong(f"history[{i}].{key}_loss", "a number")
            accuracy = entry.get(f"{key}_accuracy")
            if not (_number(accuracy) and 0 <= accuracy <= 1):
                raise wrong(f"history[{i}].{key}_accuracy", "a fraction from 0 to 1")
    if not any(entry.get(f"{key}_loss") is not None
               for entry in history for key in ("train", "test")):
        raise ValueError(f"{path} holds no losses to draw; {fix}")
    if "epochs" in metrics and not _whole(metrics["epochs"]):
        raise wrong("epochs", "a whole number from 1")
    if metrics.get("steps_per_epoch") is not None and not _whole(metrics["steps_per_epoch"]):
        raise wrong("steps_per_epoch", "a whole number from 1")
    steps = metrics.get("step_loss")
    if steps is not None and not (isinstance(steps, list) and all(map(_number, steps))):
        raise wrong("step_loss", "a list of numbers (the loss of each step)")


def draw_curves(metrics, path):
    """Draw the loss (per step and per epoch) and accuracy curves to ``path``.

    ``metrics`` is what ``tinygrad-edu train --metrics`` writes; the per-step
    losses are drawn when it has them.
    """
    from matplotlib.figure import Figure      # only when a picture is asked for

    history = metrics["history"]
    epochs = [entry["epoch"] for entry in history]
    figure = Figure(figsize=(9, 3.6), layout="constrained")
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    steps = metrics.get("step_loss") or []
    per_epoch = metrics.get("steps_per_epoch") or 0
    if steps and per_epoch:
        loss_axes.plot([(t + 1) / per_epoch for t in range(len(steps))], steps,
                       color=STEP_COLOUR, linewidth=0.6, label="batch loss (each step)")
    for key, colour, name in (("train", TRAIN_COLOUR, "training images"),
                              ("test", TEST_COLOUR, "test images")):
        points = [(e["epoch"], e[f"{key}_loss"], e[f"{key}_accuracy"])
                  for e in history if e.get(f"{key}_loss") is not None]
        if not points:
            continue
        xs, losses, accuracies = zip(*points)
        loss_axes.plot(xs, losses, "o-", color=colour, markersize=3, label=name)
        accuracy_axes.plot(xs, [100 * a for a in accuracies], "o-", color=colour,
                           markersize=3, label=name)
    # The loss falls by orders of magnitude: a log scale shows its start and end.
    loss_axes.set(title="loss (log scale)", xlabel="epoch", xlim=(0, max(epochs)),
                  yscale="log")
    accuracy_axes.set(title="accuracy (%)", xlabel="epoch", xlim=(0, max(epochs)))
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(frameon=False)
    buffer = io.BytesIO()
    with warnings.catch_warnings():     # matplotlib's advice is not the user's
        warnings.simplefilter("ignore")
        figure.savefig(buffer, format=Path(path).suffix.lower()[1:], dpi=120)
    return write_atomically(path, buffer.getvalue())
