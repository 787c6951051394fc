"""Argument types and look-ups shared by the subcommands.

An argparse ``type`` turns the text typed on the command line into a value, or
raises ``argparse.ArgumentTypeError``, which argparse shows as a usage message
and exit code 2 (no traceback).
"""

import argparse


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


def pick_test_image(digit, index):
    """Test image number ``index`` among the test split's images of ``digit``.

    ``load_digits`` orders images with a fixed seed, so the same index always
    gives the same image.
    """
    from ..data import load_digits
    images, _ = load_digits("test", classes=[digit])
    if index >= len(images):
        raise ValueError(f"the test split has {len(images)} images of {digit}; "
                         f"choose --index from 0 to {len(images) - 1}")
    return images[index]
