"""Grading a workbook: each exercise's check, in a child process, against the clock.

The learner's code runs in a separate Python process, never in the checker's:
a loop that never ends, ``sys.exit()``, or a crash of Python itself cannot
hang or stop the checker. The child runs the exercises one after another and
reports each verdict as one line of JSON; the parent gives each exercise
``time_limit`` seconds. When one runs out of time, the child is stopped and a
new one carries on with the exercises after it.
"""

import contextlib
import io
import json
import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

from .. import engine as reference
from .verdict import Failed, NotDone, Verdict
from .workbook import MANIFEST, LoadError, all_exercises, load_module, read_workbook

__all__ = ["grade", "format_report", "GradingError", "TIME_LIMIT", "child_main"]

# Seconds each exercise may take; the real engine needs well under one.
TIME_LIMIT = 10.0
# Seconds a child process may take to start (import numpy and the package).
STARTUP_LIMIT = 60.0

_CHILD = ("import sys; from tinygrad_edu.exercises.grading import child_main; "
          "sys.exit(child_main(sys.argv[1:]))")

# Which name each workbook file is loaded under, and on which engine.
_MODULE_NAMES = {"engine.py": "tinygrad_edu_workbook.engine",
                 "nn.py": "tinygrad_edu_workbook.nn",
                 "losses.py": "tinygrad_edu_workbook.losses"}


def grade(folder, chosen, time_limit=TIME_LIMIT):
    """A Verdict for each (number, exercise) in ``chosen``, in order."""
    verdicts = {}
    remaining = list(chosen)
    while remaining:
        for number, exercise, verdict in _run_child(folder, remaining, time_limit):
            verdicts[number] = verdict
            if verdict.stopped == "loading":
                for n, e in remaining:          # the same file hangs for them too
                    if e.file == exercise.file:
                        verdicts.setdefault(n, verdict)
        remaining = [(n, e) for n, e in remaining if n not in verdicts]
    return [(n, e, verdicts[n]) for n, e in chosen]


def child_environment():
    """The environment, with this copy of the package first on the path."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(
        [root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["PYTHONDONTWRITEBYTECODE"] = "1"      # leave no __pycache__ in the workbook
    return env


def _run_child(folder, chosen, time_limit):
    """Yield (number, exercise, Verdict) until done, out of time, or the child dies.

    Stops after the first exercise that runs out of time or kills the child.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(folder)] + [e.id for _, e in chosen],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, env=child_environment())
    lines = queue.Queue()
    threading.Thread(target=_read_lines, args=(child.stdout, lines),
                     daemon=True).start()
    try:
        _wait_until_ready(lines)
        for number, exercise in chosen:
            verdict = _next_verdict(lines, exercise, time_limit)
            if verdict is None:                   # the child process ended
                verdict = Verdict("fail", [f"your code stopped Python itself "
                                           f"({_how_it_ended(child.wait())})"],
                                  stopped="crash")
            yield number, exercise, verdict
            if verdict.stopped:
                return
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()


class GradingError(RuntimeError):
    """The checker itself could not run (its child process did not start)."""


def _wait_until_ready(lines):
    try:
        line = lines.get(timeout=STARTUP_LIMIT)
    except queue.Empty:
        line = None
    if line != "ready":
        raise GradingError(f"the checker's Python process did not start within "
                           f"{STARTUP_LIMIT:g} s")


def _next_verdict(lines, exercise, time_limit):
    """The child's verdict on ``exercise``, a Verdict for running out of time,
    or None if the child ended. Loading the file and checking have a clock each."""
    try:
        line = lines.get(timeout=time_limit)
    except queue.Empty:
        return Verdict("fail", [
            f"loading {exercise.file} took longer than {time_limit:g} s; is "
            f"there a loop at the top level of the file that never ends?"],
            stopped="loading", file_error=True)
    if line != "started":
        return None if line is None else _parse(line)
    try:
        line = lines.get(timeout=time_limit)
    except queue.Empty:
        return Verdict("fail", [f"it took longer than {time_limit:g} s; is there "
                                f"a loop that never ends?"], stopped="time")
    return None if line is None else _parse(line)


def _how_it_ended(code):
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


def _read_lines(stream, lines):
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _parse(line):
    try:
        data = json.loads(line)
        return Verdict(data["status"], [str(x) for x in data["lines"]],
                       file_error=bool(data.get("file_error")))
    except (ValueError, KeyError, TypeError):
        return Verdict("fail", ["the check did not report a result"])


# ----------------------------------------------------------------------
# The child process
# ----------------------------------------------------------------------

def child_main(argv):
    """Check the exercises ``argv[1:]`` of the workbook ``argv[0]``; print one
    JSON line per exercise to the original standard output."""
    report = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)                 # the learner's prints go where stderr goes
    folder = Path(argv[0])
    by_id = {e.id: (n, e) for n, e in read_workbook(folder)}
    print("ready", file=report, flush=True)
    modules = {}
    for exercise_id in argv[1:]:
        number, exercise = by_id[exercise_id]
        printed = _Printed()
        with contextlib.redirect_stdout(printed):
            verdict = check_one(folder, exercise, modules,
                                lambda: print("started", file=report, flush=True),
                                number)
        if verdict.status == "fail" and not verdict.file_error:
            verdict.lines.extend(printed.summary())
        print(json.dumps({"status": verdict.status, "lines": verdict.lines,
                          "file_error": verdict.file_error}),
              file=report, flush=True)
    return 0


class _Printed(io.TextIOBase):
    """Stands in for stdout while the learner's code runs: counts the lines
    it prints and keeps the start of the first (a loop that prints for ten
    seconds must not fill the memory)."""

    def __init__(self):
        super().__init__()
        self.start, self.line_ends, self.tail = "", 0, False

    def writable(self):
        return True

    def write(self, text):
        if len(self.start) < 200:
            self.start += text[:200]
        self.line_ends += text.count("\n")
        if text:
            self.tail = not text.endswith("\n")
        return len(text)

    def summary(self):
        """A line saying what was printed, or none."""
        lines = self.start.splitlines()
        if not lines:
            return []
        first = lines[0] if len(lines[0]) <= 60 else lines[0][:57] + "..."
        total = self.line_ends + self.tail
        count = f"{total} line{'s' if total != 1 else ''}"
        return [f"(your code printed {count}; the first: {first!r})"]


def _load_problem(folder, file, error):
    """The lines that report a file that does not load, naming the exercise
    whose function holds the line at fault."""
    lines = [str(error)]
    found = re.match(rf"{re.escape(file)} line (\d+):", str(error))
    if found:
        owner = _function_at(Path(folder) / file, int(found.group(1)))
        exercise = next(((n, e) for n, e in all_exercises() if any(
            b.file == file and b.target == owner for b in e.blanks)), None)
        if owner:
            lines[0] += (f" (in {owner}" + (f", exercise {exercise[0]} "
                         f"({exercise[1].id})" if exercise else "") + ")")
    if "EOFError" in str(error):
        lines.append("hint: the file calls input() as it loads, and the "
                     "checker types nothing: take the input() out")
    if "use of tabs" in str(error):
        lines.append("hint: indent with 4 spaces, never tabs (most editors "
                     "can turn tabs into spaces)")
    return lines


def _function_at(path, line_number):
    """The qualified name of the function around a line (``Value.__add__``),
    read from the text alone (the file may not parse), or None."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()[:line_number]
    except (OSError, UnicodeDecodeError):
        return None
    names, limit = [], None
    for text in reversed(lines):
        found = re.match(r"(\s*)(?:async\s+)?(def|class)\s+(\w+)", text.expandtabs(8))
        if found and (limit is None or len(found.group(1)) < limit):
            names.insert(0, (found.group(2), found.group(3)))
            limit = len(found.group(1))
            if limit == 0:
                break
    if not names or names[-1][0] != "def":
        return None
    return ".".join(name for _, name in names)


def _learner_module(folder, file, modules):
    """The learner's ``file``, loaded once; nn.py and losses.py get the
    project's engine so they are checked on their own."""
    if file not in modules:
        engine = None if file == "engine.py" else reference
        try:
            modules[file] = load_module(Path(folder) / file, _MODULE_NAMES[file], engine)
        except LoadError as error:
            modules[file] = error
    return modules[file]


def _missing_function(module, exercise, number):
    """A Verdict if the learner's file lost one of the exercise's functions."""
    for blank in exercise.blanks:
        thing = module
        for part in blank.target.split("."):
            thing = getattr(thing, part, None)
        if thing is None and not blank.optional:
            where = f"exercise {number}, {exercise.id}" if number else exercise.id
            return Verdict("fail", [
                f"{exercise.file} no longer has {blank.target} ({where}): put "
                f"the function back, with that name",
                f"hint: a fresh workbook (tinygrad-edu exercise --out "
                f"another-folder) shows its blank"])
    return None


def check_one(folder, exercise, modules, started=None, number=None):
    """The Verdict of one exercise (never raises). ``started()`` is called
    when the learner's file is loaded and the check begins."""
    module = _learner_module(folder, exercise.file, modules)
    if started:
        started()
    if isinstance(module, LoadError):
        return Verdict("fail", _load_problem(folder, exercise.file, module),
                       file_error=True)
    missing = _missing_function(module, exercise, number)
    if missing:
        return missing
    try:
        exercise.check(module)
    except NotDone as not_done:
        message = str(not_done)
        if f"({exercise.id})" in message:
            return Verdict("not done", [message])
        return Verdict("fail", [f"it uses {message.replace(': not done yet', '')},"
                                f" which is not done yet"])
    except Failed as failure:
        return Verdict("fail", failure.lines)
    except RecursionError:
        return Verdict("fail", ["your code went deeper than Python's recursion limit"])
    except (Exception, SystemExit) as error:     # e.g. a Value that misbehaves
        return Verdict("fail", [f"the check stopped: {type(error).__name__}: "
                                f"{str(error)[:200]}"])
    return Verdict("pass")


# ----------------------------------------------------------------------
# The report
# ----------------------------------------------------------------------

def format_report(results):
    """A file that does not load (once), the table (number, exercise,
    result), then each other failure's counterexample."""
    width = max([len("exercise")] + [len(e.id) for _, e, _ in results])
    lines = []
    for file, verdict in _file_problems(results).items():
        lines.append(f"{file} does not load, so none of its exercises can pass:")
        lines.extend(f"  {line}" for line in verdict.lines)
        lines.append("")
    lines.append(f"{'#':>3}  {'exercise':<{width}}  result")
    for number, exercise, verdict in results:
        result = {"pass": "pass", "not done": "not done yet"}.get(verdict.status, "FAIL")
        lines.append(f"{number:>3}  {exercise.id:<{width}}  {result}")
    for number, exercise, verdict in results:
        if verdict.status == "fail" and not verdict.file_error:
            lines.append("")
            lines.append(f"exercise {number} ({exercise.id}) fails:")
            lines.extend(f"  {line}" for line in verdict.lines)
    passed = sum(v.passed for _, _, v in results)
    lines.append("")
    lines.append(f"{passed} of {len(results)} exercises pass.")
    return "\n".join(lines)


def _file_problems(results):
    """{file: the Verdict that says why it does not load}, first seen first."""
    problems = {}
    for _, exercise, verdict in results:
        if verdict.file_error:
            problems.setdefault(exercise.file, verdict)
    return problems
