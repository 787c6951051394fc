"""``tinygrad-edu step``: walk through a backward pass one chain-rule step at a time.

Press Enter for the next step, ``b`` (then Enter) to go back, ``q`` to quit.
``--all`` prints every step without waiting, ``--html`` writes the explorer
page (both passes to step through in a browser; ``--fold`` says how a big
graph is folded).

What to step through (one of):

* ``--example neuron`` (the default): the article's first figure, one neuron
  ``o = tanh(x1*w1 + x2*w2 + x3*w3 + b)`` with the loss ``(o - 1)^2``;
* ``--example three``: a small untrained network shown a handwritten "3",
  with the cross-entropy loss for the answer 3 (the article's four steps);
* ``--expr "x*x + x" --var x=3``: your own formula;
* ``--model model.json --digit 5 --index 2``: a saved model shown test image
  number 2 of the digit 5 (the same image ``explain --digit 5 --index 2`` uses),
  with the loss it was trained with (cross-entropy if the file does not say).

Mistakes in the arguments print the usage and exit with 2; failing to write
the ``--html`` file exits with 1.
"""

import io
import sys

from .arguments import (check_forward, check_output_paths, digit,
                        formula_root, load_digit_model, non_negative_int,
                        output_index, pick_test_image, remember_parser,
                        runtime_failure, usage_error)

from ..engine import Value, topological_order
from ..watch.tracing import backward_steps, format_number, format_trace

NAME = "step"
HELP = "step through backpropagation one chain-rule step at a time"

# Graphs with more Values than this get a one-line summary instead of a trace.
MAX_TRACE_LINES = 60
# How many parents of one step are listed (a 64-pixel dot product has 128).
MAX_PARENT_LINES = 12
# How many leaf gradients the final summary lists.
MAX_SUMMARY_LINES = 20
KEYS_HELP = "keys: Enter = next step, b = back one step, q = quit"


def add_arguments(parser):
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--example", choices=["neuron", "three"],
                        help="a built-in example (default: neuron)")
    source.add_argument("--expr", metavar="FORMULA",
                        help='your own formula, e.g. "tanh(x*w + b)"')
    source.add_argument("--model", metavar="FILE",
                        help="a model saved by 'tinygrad-edu train'")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=NUMBER",
                        help="a variable of --expr (repeat for each), e.g. --var x=3")
    parser.add_argument("--digit", type=digit, metavar="D",
                        help="with --model: show it a test image of this digit "
                             "(default: the model's first class)")
    parser.add_argument("--index", type=non_negative_int, metavar="K",
                        help="with --model: which test image of that digit "
                             "(default 0)")
    parser.add_argument("--all", action="store_true",
                        help="print every step without waiting for keys")
    parser.add_argument("--break", dest="breakpoint", metavar="NAME",
                        help="run without stopping until the Value NAME is reached")
    parser.add_argument("--ops-only", action="store_true",
                        help="skip the steps at leaves (inputs and weights), "
                             "which pass nothing on")
    parser.add_argument("--html", metavar="FILE",
                        help="write the explorer page instead: one HTML file to "
                             "step through both passes in a browser")
    parser.add_argument("--fold", choices=["auto", "none", "neuron", "layer"],
                        default="auto",
                        help="with --html: draw every Value (none), one box per "
                             "neuron or per layer; auto (the default) folds a "
                             "network by neuron")
    parser.add_argument("--engine", metavar="DIR",
                        help="run on the engine.py of a workbook (see "
                             "'tinygrad-edu exercise'): watch your own backprop")
    remember_parser(parser)


def run(args, keys=None, out=None):
    """Run the command; ``keys`` and ``out`` default to stdin and stdout."""
    keys = keys or sys.stdin or io.StringIO()      # a closed stdin: no keys
    out = out or sys.stdout
    if args.engine is not None:
        return run_on_engine(args, keys, out)
    if not args.html and args.fold != "auto":
        usage_error(args, "--fold only goes with --html (it says how the page "
                          "draws a big graph)")
    check_output_paths(args, [(args.html, "--html")],
                       inputs=[(args.model, "--model")])
    try:
        root = build_root(args)
        check_breakpoint(root, args.breakpoint, args.ops_only)
    except ValueError as error:
        usage_error(args, str(error))
    if args.html:
        return write_html(args, root, out)
    try:
        show_forward(root, out)
        if args.all:
            steps = backward_steps(root, stop_at=args.breakpoint)
            return print_all(root, steps, args.ops_only, out)
        return interact(root, backward_steps(root), args.breakpoint,
                        args.ops_only, keys, out)
    except BrokenPipeError:
        raise                           # stdout closed (| head): a quiet end
    except OSError as error:            # e.g. the terminal went away
        return runtime_failure(args, str(error))


def run_on_engine(args, keys, out):
    """Run this command again on the learner's engine, in a child process.

    The workbook's files count as inputs: ``--html`` may not replace them."""
    from .own_engine import run_on_own_engine
    from ..exercises.workbook import workbook_files
    check_output_paths(args, [(args.html, "--html")],
                       inputs=[(args.model, "--model")] +
                       [(path, "--engine") for path in workbook_files(args.engine)])
    try:
        return run_on_own_engine(NAME, args, keys, out)
    except ValueError as error:
        usage_error(args, str(error))


def check_breakpoint(root, name, ops_only):
    """A clear error for a graph with no steps, or a breakpoint that could
    never be reached."""
    if not root.parents:
        raise ValueError(f"nothing to step through: the root is a leaf "
                         f"({root.name} is not computed from anything); give "
                         f"a formula with an operation, e.g. --expr \"x*x\"")
    if name is None:
        return
    backward_steps(root, stop_at=name)     # raises if no Value is called that
    if ops_only and any(v.name == name and not v.parents
                        for v in topological_order(root)):
        raise ValueError(f"--break {name}: {name} is a leaf, and --ops-only "
                         f"skips the steps at leaves")


# ----------------------------------------------------------------------
# What to step through
# ----------------------------------------------------------------------

def build_root(args):
    """The Value to backpropagate from, as the arguments ask."""
    if args.expr is not None:
        return formula_root(args.expr, args.var, "y")
    if args.var:
        raise ValueError("--var only goes with --expr")
    if args.model is not None:
        return model_root(args.model, args.digit, args.index or 0)
    for flag, value in (("--digit", args.digit), ("--index", args.index)):
        if value is not None:
            raise ValueError(f"{flag} only goes with --model (which test image "
                             f"the model is shown)")
    return three_example() if args.example == "three" else neuron_example()


def neuron_example():
    """One neuron, as in the article's first figure, and a loss asking for 1."""
    from ..watch.examples import article_neuron_loss
    loss, _ = article_neuron_loss()
    return loss


def three_example(sizes=(3, 3, 10), seed=0):
    """An untrained ``MLP(64, sizes)`` shown the first "3" of the test split,
    with the cross-entropy loss of answering 3 (the article's steps 1 to 4)."""
    from ..learn.digits import load_digits
    from ..learn.nn import MLP
    images, labels = load_digits("test", classes=[3], per_class=1, seed=seed)
    return digit_loss(MLP(64, list(sizes), seed=seed), images[0], labels[0])


def model_root(path, digit, index):
    """The loss of a saved model on test image ``index`` of ``digit``."""
    model = load_digit_model(path)
    if digit is None:
        digit = model.classes[0]
    output_index(model, digit)              # a clear error for an unknown digit
    pixels = pick_test_image(digit, index)
    check_forward(model, pixels, f"test image {index} of {digit}")
    return digit_loss(model, pixels, digit)


def digit_loss(model, pixels, label):
    """The model's loss on ``pixels`` showing ``label``, with readable names
    on the way: pixels ``px.0``..``px.63``, activations ``h1.0``, ``h2.3``,
    outputs ``out.0``.., the loss ``loss``.

    The loss is the one the model was trained with, if its file records it
    (see ``losses.model_loss_name``).
    """
    from ..learn.losses import LOSSES, model_loss_name
    loss_function = LOSSES[model_loss_name(model)]
    inputs = [Value(p, f"px.{i}") for i, p in enumerate(pixels)]
    layers = model.forward_all(inputs)[1:]
    for depth, layer in enumerate(layers, start=1):
        prefix = "out" if depth == len(layers) else f"h{depth}"
        for j, value in enumerate(layer):
            value.label = f"{prefix}.{j}"
    loss = loss_function(layers[-1], output_index(model, label))
    loss.label = "loss"
    return loss


def show_forward(root, out):
    n = len(topological_order(root))
    if n <= MAX_TRACE_LINES:
        print("The forward pass, in the order it ran:", file=out)
        print(format_trace(root), file=out)
    else:
        print(f"The forward pass computed {n} Values (too many to list; "
              f"see 'tinygrad_edu.trace' in Python).", file=out)
    print(f"\nBackward pass from {root.name} = {format_number(root.data)}:", file=out)


def print_all(root, steps, ops_only, out):
    """Print every step; stop early if the steps stop at a breakpoint."""
    last = None
    for step in steps:
        if not (ops_only and step.is_leaf):
            print(step.format(MAX_PARENT_LINES), file=out)
        last = step
    if last is not None and last.number < last.total:
        print(f"stopped at the breakpoint {last.value.name}", file=out)
    else:
        print_summary(root, out)
    return 0


class Stepper:
    """Walks forward through steps and back again, remembering those seen.

    Going back only shows an earlier step's record again: each step is
    applied once, so the gradients the Values end up with are always right.
    """

    def __init__(self, steps):
        self._steps = iter(steps)
        self.seen = []
        self.position = -1

    def next(self):
        """The next step, or None after the last."""
        if self.position + 1 == len(self.seen):
            step = next(self._steps, None)
            if step is None:
                return None
            self.seen.append(step)
        self.position += 1
        return self.seen[self.position]

    def back(self):
        """The step before, or None at the first."""
        if self.position <= 0:
            return None
        self.position -= 1
        return self.seen[self.position]


def interact(root, steps, breakpoint, ops_only, keys, out):
    """Show one step at a time, moving as the keys read from ``keys`` say."""
    if ops_only:
        steps = (s for s in steps if not s.is_leaf)
    stepper = Stepper(steps)
    step = stepper.next()
    if breakpoint:
        while step is not None and step.value.name != breakpoint:
            step = stepper.next()
        print(f"(ran {stepper.position} steps to reach the breakpoint {breakpoint})",
              file=out)
    print(KEYS_HELP, file=out)
    print(step.format(MAX_PARENT_LINES), file=out)
    while True:
        key = read_key(keys, out)
        if key is None or key == "q":
            ended = ("; stdin ended, use --all to print every step"
                     if key is None and not is_terminal(keys) else "")
            print(f"quit at step {stepper.seen[stepper.position].number} of "
                  f"{step.total}{ended}", file=out)
            return 0
        if key == "b":
            earlier = stepper.back()
            print(earlier.format(MAX_PARENT_LINES) if earlier
                  else "(this is the first step)", file=out)
        elif key == "":
            following = stepper.next()
            if following is None:
                print_summary(root, out)
                return 0
            print(following.format(MAX_PARENT_LINES), file=out)
        else:
            print(KEYS_HELP, file=out)


def read_key(keys, out):
    """One line typed by the user, stripped; None at the end of input."""
    if is_terminal(keys):
        print("[Enter/b/q] ", end="", file=out, flush=True)
    line = keys.readline()
    return None if line == "" else line.strip().lower()


def is_terminal(stream):
    """True if ``stream`` is a terminal (a closed or missing one is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def print_summary(root, out):
    leaves = [v for v in topological_order(root) if not v.parents and v.label]
    print(f"\ndone: backward pass complete. d({root.name})/d(leaf) for the "
          f"{len(leaves)} labelled leaves:", file=out)
    shown = leaves[:MAX_SUMMARY_LINES]
    width = max((len(leaf.name) for leaf in shown), default=0)
    for leaf in shown:
        print(f"  {leaf.name:>{width}}  grad {format_number(leaf.grad)}", file=out)
    if len(leaves) > MAX_SUMMARY_LINES:
        print(f"  ... and {len(leaves) - MAX_SUMMARY_LINES} more", file=out)


def write_html(args, root, out):
    """Write the explorer page to ``--html``; exit code 1 if that fails."""
    from ..output import OutputError
    from ..pictures import GraphTooLargeError, GraphvizError
    from ..web.explorer import explore
    breakpoints = [args.breakpoint] if args.breakpoint else []
    try:
        page = explore(root, fold=args.fold, breakpoints=breakpoints)
        written = page.save(args.html)
    except GraphTooLargeError as error:
        usage_error(args, "argument --html: " + error.advice(
            fold_option="--fold {}", limit_option=None))
    except (OutputError, GraphvizError) as error:
        return runtime_failure(args, str(error))
    forward, backward = page.steps
    print(f"wrote {written}: {forward} forward and {backward} backward steps; "
          f"open it in a browser (keys: arrows, space, Home, End)", file=out)
    return 0
