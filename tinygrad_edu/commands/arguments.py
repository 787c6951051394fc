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
import math
import os
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
    parser = getattr(args, "command_parser", None)
    prog = parser.prog if parser is not None else "tinygrad-edu"
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 1


class DefaultPath(str):
    """An output path the user did not type: an option's default (such as
    ``model.json``), or a file in a default folder (``out/explain/step1.png``).
    It never replaces an existing file (see :func:`check_output_path`); a path
    the user named does. ``option_value`` is what to type after the option to
    name it on purpose (the path, or the default folder)."""

    def __new__(cls, path, option_value=None):
        self = super().__new__(cls, str(path))
        self.option_value = str(option_value or path)
        return self


def unnamed_if(default, path):
    """``path`` as a :class:`DefaultPath` if ``default`` is one (a file in
    a folder the user did not name), else as it is."""
    if isinstance(default, DefaultPath):
        return DefaultPath(path, default.option_value)
    return path


def check_output_path(args, path, flag):
    """Create ``path``'s folder, or make a usage error naming ``flag``.

    Refused: an empty path, a folder, a symbolic link, a device, a FIFO, a
    name too long, a folder where files cannot be created (see
    ``output.prepare_output_path``), and an existing file the user did not
    name (a :class:`DefaultPath`).
    """
    from ..output import OutputError, prepare_output_path
    if not str(path).strip():
        usage_error(args, f"argument {flag}: the path is empty; give a file name")
    if isinstance(path, DefaultPath) and os.path.lexists(path):
        usage_error(args, f"{path} exists and was not named (it is where {flag} "
                          f"writes by default); pass {flag} {path.option_value} "
                          f"to replace it, or another path")
    try:
        return prepare_output_path(path)
    except OutputError as error:
        usage_error(args, f"argument {flag}: {error}")


def check_output_paths(args, outputs, inputs=()):
    """Check every ``(path, flag)`` of ``outputs`` (skipping paths that are
    None), then that no output is the same file as an input or an output
    named before it: one would overwrite the other."""
    from ..output import same_file
    outputs = [(path, flag) for path, flag in outputs if path is not None]
    earlier = [(path, flag) for path, flag in inputs if path is not None]
    for path, flag in outputs:
        check_output_path(args, path, flag)
        for other, other_flag in earlier:
            if same_file(path, other):
                usage_error(args, f"argument {flag}: {path} is the same file as "
                                  f"{other_flag} {other}; one would overwrite "
                                  f"the other, give two different paths")
        earlier.append((path, flag))


def run_command(args):
    """Run the subcommand; turn the errors any command can meet into one
    line on stderr (exit 1), and a closed stdout into a quiet exit 0."""
    try:
        code = args.run(args) or 0
        sys.stdout.flush()              # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        drop_stdout()
        return 0                        # like cat piped into head
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        return runtime_failure(args, "ran out of memory; try smaller sizes")
    except Exception as error:
        if isinstance(error, _known_errors()):
            return runtime_failure(args, str(error))
        raise


# The errors with a message meant for users, by the module that defines them.
_KNOWN_ERRORS = {"learn.digits": "DigitsDataError", "output": "OutputError",
                 "pictures.saving": "GraphvizError",
                 "learn.serialize": "ModelFileError"}


def _known_errors():
    """The classes of ``_KNOWN_ERRORS`` whose modules are loaded (an error
    cannot come from a module that was never imported, and importing the
    pictures would load Graphviz for nothing)."""
    package = __name__.rsplit(".commands", 1)[0]
    modules = (sys.modules.get(f"{package}.{name}") for name in _KNOWN_ERRORS)
    return tuple(getattr(module, kind) for module, kind
                 in zip(modules, _KNOWN_ERRORS.values()) if module is not None)


def drop_stdout():
    """Send whatever is still printed to /dev/null: the reader has gone
    (``| head``), and Python would otherwise complain when it exits."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def print_while_read(*parts, **options):
    """``print``, flushed at once; once stdout is closed (``| head``), the
    rest is dropped and the work goes on (a training still saves its model)."""
    try:
        print(*parts, **options, flush=True)
    except BrokenPipeError:
        drop_stdout()


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


def add_model_file(parser):
    """The model file: the first argument (``predict model.json``) or, as
    ``explain`` and ``step`` take it, ``--model model.json``.

    Call :func:`loaded_model` in ``run`` to read it.
    """
    parser.add_argument("model", metavar="MODEL", nargs="?",
                        help="a model file saved by 'tinygrad-edu train' "
                             "(or give it as --model MODEL)")
    parser.add_argument("--model", dest="model_flag", metavar="MODEL",
                        help=argparse.SUPPRESS)


def loaded_model(args, load):
    """The model of :func:`add_model_file`'s arguments, read by ``load``
    (``load_model``, or ``load_digit_model`` for one that must read digits);
    a usage error saying what is wrong with the file. ``args.model`` is then
    the file's path, however it was given."""
    from ..learn.serialize import ModelFileError
    args.model = model_file(args)
    try:
        return load(args.model)
    except ModelFileError as error:
        usage_error(args, str(error))


def model_file(args):
    """The model file given by :func:`add_model_file`'s arguments, or a usage error."""
    if args.model and args.model_flag:
        usage_error(args, f"give the model file once: {args.model} and "
                          f"--model {args.model_flag} were both given")
    path = args.model or args.model_flag
    if not path:
        usage_error(args, "the model file is missing: give the file that "
                          "'tinygrad-edu train --out FILE' saved")
    return path


def load_model_file(path):
    """The model saved in ``path`` (``serialize.load_model``), after a check
    that the file is text: a binary file (a PyTorch or numpy export, say)
    gets a ``ModelFileError`` saying so, not a decoding error."""
    from ..learn.serialize import ModelFileError, load_model
    kind = binary_kind(path)
    if kind:
        raise ModelFileError(
            f"{path} is not a tinygrad_edu model file: it is {kind}; give the "
            f"JSON model file that 'tinygrad-edu train --out FILE' saved")
    return load_model(path)


def binary_kind(path, size=65536):
    """What the file ``path`` is if it is binary, not text (None for text,
    or a file that cannot be read: reading it again says why)."""
    import codecs
    if not os.path.isfile(path):        # a FIFO would block; a folder says itself
        return None
    try:
        with open(path, "rb") as file:
            head = file.read(size)
    except OSError:
        return None
    if head.startswith(b"PK\x03\x04"):
        return ("a zip archive (perhaps a PyTorch .pt or numpy .npz export, "
                "as 'tinygrad-edu export' writes)")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "a binary file, not JSON text (perhaps a PyTorch or numpy file)"
    if b"\0" in head:
        return "a binary file, not JSON text (perhaps a PyTorch or numpy file)"
    return None


def load_digit_model(path):
    """The model saved in ``path``, checked to read 64-pixel digit images.

    Raises ``ModelFileError`` (a ValueError) saying what is wrong.
    """
    from ..learn.serialize import ModelFileError
    model = load_model_file(path)
    if model.nin != 64:
        raise ModelFileError(f"{path} takes {model.nin} inputs, not the 64 "
                             f"pixels of a digit image; give a model trained "
                             f"by 'tinygrad-edu train'")
    return model


# Beyond this size a float cannot hold the differences of about 1 between
# outputs that decide the probabilities (it keeps about 16 digits), so the
# network's answer would be noise printed as a number.
MAX_ACTIVATION = 1e15


def check_forward(model, pixels, what):
    """Raise ValueError if ``model``'s forward pass on ``pixels`` overflows,
    goes NaN or grows beyond ``MAX_ACTIVATION``; ``what`` names the image."""
    from ..engine import Value, no_grad
    try:
        with no_grad():
            layers = model.forward_all([Value(p) for p in pixels])[1:]
    except (OverflowError, ZeroDivisionError, ValueError) as error:
        raise ValueError(f"the model's forward pass on {what} fails: {error}; "
                         f"its weights are broken, train it again") from None
    for depth, layer in enumerate(layers, start=1):
        for j, value in enumerate(layer):
            if not (math.isfinite(value.data) and abs(value.data) <= MAX_ACTIVATION):
                where = "output" if depth == len(layers) else f"layer {depth}"
                raise ValueError(
                    f"the model's numbers blow up on {what}: {where} neuron {j} "
                    f"is {value.data:.3g} (the limit is {MAX_ACTIVATION:g}, "
                    f"beyond which no answer can be trusted); its weights are "
                    f"far too large, train it again with a smaller --lr")


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
    from ..engine import topological_order
    from ..watch.expression import (ExpressionError, parse_assignments,
                                    parse_expression)
    names = [item.partition("=")[0].strip() for item in assignments]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ExpressionError(f"{', '.join(repeated)} is given a value more "
                              f"than once; give each variable once")
    root = parse_expression(text, parse_assignments(assignments))
    used = {v.label for v in topological_order(root) if not v.parents}
    unused = [name for name in names if name not in used]
    if unused:
        raise ExpressionError(f"{', '.join(unused)} is not in the formula "
                              f"{text!r}; remove it or use it in the formula")
    if not root.label:
        root.label = label
    return root
