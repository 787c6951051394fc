"""Argument types, error reporting and look-ups shared by the subcommands.

An argparse ``type`` turns the text typed on the command line into a value, or
raises ``argparse.ArgumentTypeError``, which argparse shows as a usage message
and exit code 2 (no traceback).

Every command reports problems the same way:

* a mistake in the input (a bad formula, a missing model, an index too
  large, an output path that cannot be written) is a usage error:
  :func:`usage_error` prints the usage and the message, and exits with 2;
* a failure while working (Graphviz failing, a disk that fills up) is
  reported by :func:`runtime_failure`: one line, exit code 1.
"""

import argparse
import sys


# ----------------------------------------------------------------------
# Reporting problems
# ----------------------------------------------------------------------

def remember_parser(parser):
    """Keep ``parser`` in the parsed arguments, for :func:`usage_error`."""
    parser.set_defaults(command_parser=parser)


def usage_error(args, message):
    """Print the command's usage and ``message``; exit with code 2."""
    args.command_parser.error(message)


def runtime_failure(args, message):
    """Print ``tinygrad-edu COMMAND: error: message``; return exit code 1."""
    print(f"{args.command_parser.prog}: error: {message}", file=sys.stderr)
    return 1


def check_output_path(args, path, flag):
    """Create ``path``'s folder, or make a usage error naming ``flag``."""
    from ..output import OutputError, prepare_output_path
    try:
        return prepare_output_path(path)
    except OutputError as error:
        usage_error(args, f"argument {flag}: {error}")


# ----------------------------------------------------------------------
# Types
# ----------------------------------------------------------------------


def _number(text, convert, kind):
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None


def digit(text):
    """A digit 0..9."""
    number = _number(text, int, "a digit 0..9")
    if not 0 <= number <= 9:
        raise argparse.ArgumentTypeError(f"{number} is not a digit 0..9")
    return number


def non_negative_int(text):
    """A whole number >= 0 (an index)."""
    number = _number(text, int, "a whole number")
    if number < 0:
        raise argparse.ArgumentTypeError(f"{number} must be 0 or more")
    return number


def positive_int(text):
    """A whole number >= 1 (a count or a size)."""
    number = _number(text, int, "a whole number")
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} must be at least 1")
    return number


def int_between(low, high):
    """A type for a whole number from ``low`` to ``high``."""
    def whole_number(text):
        number = _number(text, int, "a whole number")
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(
                f"{number} is not between {low} and {high}")
        return number
    whole_number.__name__ = f"int_between_{low}_and_{high}"
    return whole_number


def positive_float(text):
    """A finite number > 0 (a learning rate)."""
    number = _number(text, float, "a number")
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return number


def fraction(text):
    """A number in [0, 1) (momentum, weight decay)."""
    number = _number(text, float, "a number")
    if not 0 <= number < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 0 and below 1")
    return number


# ----------------------------------------------------------------------
# Look-ups (they raise ValueError with a message for usage_error)
# ----------------------------------------------------------------------

def pick_test_image(digit, index):
    """Test image number ``index`` among the test split's images of ``digit``.

    ``load_digits`` orders images with a fixed seed, so the same index always
    gives the same image.
    """
    from ..learn.digits import load_digits
    images, _ = load_digits("test", classes=[digit])
    if index >= len(images):
        raise ValueError(f"argument --index: the test split has {len(images)} "
                         f"images of {digit}; choose --index from 0 to "
                         f"{len(images) - 1}")
    return images[index]


def load_digit_model(path):
    """The model saved in ``path``, checked to read 64-pixel digit images.

    Raises ``ModelFileError`` (a ValueError) saying what is wrong.
    """
    from ..learn.serialize import ModelFileError, load_model
    model = load_model(path)
    if model.nin != 64:
        raise ModelFileError(f"{path} takes {model.nin} inputs, not the 64 "
                             f"pixels of a digit image; give a model trained "
                             f"by 'tinygrad-edu train'")
    return model


def output_index(model, digit):
    """Which output of ``model`` stands for ``digit`` (see ``model.classes``).

    Raises ValueError if the model was not trained on that digit.
    """
    classes = list(model.classes)
    if digit not in classes:
        raise ValueError(f"argument --digit: this model recognises the digits "
                         f"{' '.join(map(str, classes))}, not {digit}; choose "
                         f"--digit from those or another model")
    return classes.index(digit)


def formula_root(text, assignments, label):
    """The Value of a formula typed on the command line, with ``NAME=NUMBER``
    assignments; labelled ``label`` unless the formula is a single variable.

    Raises ``ExpressionError`` (a ValueError) for a formula it cannot use.
    """
    from ..watch.expression import parse_assignments, parse_expression
    root = parse_expression(text, parse_assignments(assignments))
    if not root.label:
        root.label = label
    return root
