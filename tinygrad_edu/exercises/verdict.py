"""What a check says about one exercise, and safe calls into a learner's code.

A check calls the learner's functions through :func:`attempt`, which turns
anything the learner's code does wrong (an error, ``sys.exit``, a blank that
is "not done yet") into a :class:`Failed` carrying a short, readable report,
and reads numbers through :func:`as_number`, which refuses anything that is
not a real number. So the report never shows a traceback from inside the
checker.
"""

import math
import numbers
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Verdict", "Failed", "NotDone", "attempt", "as_number", "show", "show_list",
           "close", "mismatch_hint", "NOT_DONE"]

# The words every blank raises: ``exercise 4 (div): not done yet``.
NOT_DONE = "not done yet"


@dataclass
class Verdict:
    """``status`` is "pass", "fail" or "not done"; ``lines`` explain a failure.

    ``stopped`` says why the learner's code had to be stopped, if it had to:
    "loading" (its file never finished loading), "time" (the check ran out
    of time) or "crash" (Python itself stopped). ``file_error`` is True when
    the exercise's file itself does not load: the report says so once.
    """
    status: str
    lines: list = field(default_factory=list)
    stopped: str = ""
    file_error: bool = False

    @property
    def passed(self):
        return self.status == "pass"


class Failed(Exception):
    """A check found a mistake; ``lines`` are the counterexample and hint."""

    def __init__(self, *lines):
        super().__init__(lines[0] if lines else "failed")
        self.lines = list(lines)


class NotDone(Failed):
    """The learner's code reached a blank that is still "not done yet"."""


def attempt(function, *args, doing="", **kwargs):
    """Call the learner's ``function``; turn whatever goes wrong into Failed.

    ``doing`` says what was being done, for the report ("a + b with a = 2").
    """
    try:
        return function(*args, **kwargs)
    except NotImplementedError as error:
        if NOT_DONE in str(error):
            raise NotDone(str(error)) from None
        raise Failed(*_raised(error, doing)) from None
    except RecursionError:
        raise Failed(f"{doing}: went deeper than Python's recursion limit "
                     f"({sys.getrecursionlimit()} calls)" if doing else
                     "went deeper than Python's recursion limit") from None
    except (Exception, SystemExit) as error:         # the learner's code failed
        raise Failed(*_raised(error, doing)) from None


# Frames from these folders are the checker's or Python's, not the learner's.
_NOT_THE_LEARNERS = (str(Path(__file__).resolve().parent.parent),
                     str(Path(os.__file__).resolve().parent))


def _learners_frames(error):
    """The frames of the traceback in the learner's files, outermost first."""
    return [frame for frame in traceback.extract_tb(error.__traceback__)
            if not str(Path(frame.filename).resolve()).startswith(_NOT_THE_LEARNERS)
            and not frame.filename.startswith("<")]


# The short names of the functions a workbook blanks (``exp``, ``__add__``,
# ``chain_rule_step``): the code a learner writes. catalog.exercises() adds them.
WRITTEN_BY_LEARNER = set()


def _where(frames):
    """`` (engine.py line 42, in exp)``: the line that raised, in the
    innermost function the learner wrote (not in Value.__init__, say)."""
    if not frames:
        return ""
    frame = ([f for f in frames if f.name in WRITTEN_BY_LEARNER] or frames)[-1]
    return f" ({Path(frame.filename).name} line {frame.lineno}, in {frame.name})"


# What went wrong when Value(...) itself fails on what an operation gave it.
_CONSTRUCTOR_HINTS = (
    ("local_grads", "hint: local_grads must be a tuple with one number per "
                    "parent, e.g. local_grads=(out,) (mind the comma)"),
    ("parents", "hint: parents must be a tuple of Values, e.g. parents=(self,) "
                "or parents=(self, other) (mind the comma)"),
)


def _constructor_hint(error, frames):
    """A hint when Value's constructor chokes on parents or local_grads."""
    if not frames or frames[-1].name != "__init__" or not isinstance(error, TypeError):
        return []
    line = frames[-1].line or ""
    return [hint for word, hint in _CONSTRUCTOR_HINTS if word in line][:1]


def _raised(error, doing):
    """The lines that report ``error`` raised by the learner's code."""
    message = str(error).strip().splitlines()
    first = message[0].replace("module 'tinygrad_edu_workbook.", "module '") if message else ""
    frames = _learners_frames(error)
    text = f"{type(error).__name__}" + (f": {first}" if first else "") + _where(frames)
    line = f"{doing}: your code raised {text}" if doing else f"your code raised {text}"
    return [line] + _constructor_hint(error, frames)


def as_number(thing, what):
    """``thing`` as a float, or Failed saying what it is instead."""
    if isinstance(thing, bool) or not isinstance(thing, numbers.Real):
        kind = type(thing).__name__
        advice = (" (a Value: store its .data, a plain number)"
                  if kind == "Value" else "")
        raise Failed(f"{what} is {_short(thing)} of type {kind}, not a "
                     f"number{advice}")
    number = float(thing)
    if math.isnan(number):
        raise Failed(f"{what} is NaN (not a number)")
    return number


def _short(thing):
    try:
        text = repr(thing)
    except Exception:                                 # a repr that fails
        text = "?"
    return text if len(text) <= 40 else text[:37] + "..."


def show(x):
    """A number as a report prints it: short, but enough digits to compare."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


def show_list(xs):
    """Numbers as a report prints a list of them: ``[1000, 999, -1000]``."""
    return "[" + ", ".join(show(float(x)) for x in xs) + "]"


def close(mine, expected, tolerance=1e-4):
    """``mine`` agrees with ``expected`` to about 4 significant digits."""
    if math.isinf(expected) or math.isinf(mine):
        return mine == expected
    return abs(mine - expected) <= tolerance * max(1.0, abs(expected))


def mismatch_hint(mine, expected, value=None):
    """A guess at the mistake behind a wrong number, or None.

    The hint reads after "your d(...)/d...": "has the wrong sign".

    >>> mismatch_hint(-0.25, 0.25)
    'has the wrong sign'
    >>> mismatch_hint(3.0, 6.0)
    'is half the right value: a missing factor of 2'
    """
    if expected != 0 and close(mine, -expected):
        return "has the wrong sign"
    if expected != 0 and close(mine, expected / 2):
        return "is half the right value: a missing factor of 2"
    if expected != 0 and close(mine, expected * 2):
        return "is twice the right value: an extra factor of 2"
    if expected != 0 and mine == 0:
        return "is 0, but changing this input does change the result"
    if value is not None and not close(value, expected) and close(mine, value):
        return "is the value of the result, not its slope"
    return None
