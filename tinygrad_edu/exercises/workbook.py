"""Writing a workbook, reading it back, and loading the learner's code.

A workbook is a folder:

    engine.py       the engine, with the chosen functions blanked
    nn.py           neurons, layers and MLPs (imports ``engine``)
    losses.py       the losses (imports ``engine``)
    README.md       what to do, for the learner
    workbook.json   which exercises it holds (plain JSON data)

The files are copied from the installed package when the workbook is written,
so a workbook always matches the engine the checks compare it with.
"""

import functools
import importlib
import importlib.util
import json
import sys
from pathlib import Path

from ..output import OutputError, write_atomically
from .blanking import BlankingError, blank_functions, function_names, point_imports_at
from .catalog import FILES, exercises

__all__ = ["WorkbookError", "LoadError", "write_workbook", "read_workbook",
           "workbook_files",
           "load_module", "all_exercises", "MANIFEST", "FORMAT"]

MANIFEST = "workbook.json"
# The first lines of each Python file of a workbook.
HEADER = ("# A workbook copy of {module}: write the functions that raise\n"
          "# \"not done yet\", then run: tinygrad-edu check <this folder>\n\n")
FORMAT = "tinygrad-edu workbook"
# The version of workbook.json this tinygrad-edu writes and can check.
VERSION = 1


class WorkbookError(ValueError):
    """A workbook cannot be written or read; the message says why and what to do."""


class LoadError(Exception):
    """The learner's file could not be loaded (a syntax error, say)."""


def _package_source(module_name):
    module = importlib.import_module(module_name)
    return Path(module.__file__).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def all_exercises():
    """Every exercise for the installed engine, numbered 1, 2, ... in course
    order: a tuple of (number, exercise)."""
    sources = {name: _package_source(module) for name, module in FILES.items()}
    return tuple(enumerate(exercises(sources), start=1))


def choose(only):
    """The (number, exercise) pairs picked by ``only`` (ids or numbers), or all."""
    numbered = all_exercises()
    if not only:
        return numbered
    by_key = {}
    for number, exercise in numbered:
        by_key[exercise.id] = (number, exercise)
        by_key[str(number)] = (number, exercise)
    unknown = [key for key in only if key not in by_key]
    if unknown:
        raise WorkbookError(
            f"unknown exercise {', '.join(map(repr, unknown))}; choose from "
            f"{', '.join(e.id for _, e in numbered)} (or their numbers 1 to "
            f"{len(numbered)})")
    picked = {by_key[key][0] for key in only}
    return [(n, e) for n, e in numbered if n in picked]


def workbook_files(folder):
    """The paths of the files a workbook in ``folder`` holds (or would)."""
    folder = Path(folder)
    return [folder / name for name in (*FILES, "README.md", MANIFEST)]


def _check_folder(folder, replace):
    """Refuse a file, a folder that holds anything but a workbook, and a
    workbook unless ``replace``: the learner's answers would be lost."""
    if folder.exists() and not folder.is_dir():
        raise WorkbookError(f"{folder} is a file; give a folder for the workbook")
    if not folder.is_dir():
        return
    names = sorted(p.name for p in folder.iterdir())
    if not names:
        return
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    if not (folder / MANIFEST).is_file():
        raise WorkbookError(
            f"{folder} is not empty and is not a workbook (it holds {shown}); "
            f"choose a new or empty folder (nothing was written)")
    if not replace:
        raise WorkbookError(
            f"{folder} already holds a workbook ({shown}); writing it again "
            f"would replace the answers written in it. Choose another folder, "
            f"or pass --replace to write it again from scratch (nothing was "
            f"written)")


def write_workbook(folder, only=None, replace=False, check_path=None):
    """Write a workbook with the exercises ``only`` names (all by default).

    Returns the chosen (number, exercise) pairs. A folder that is not empty
    is refused, except an existing workbook with ``replace`` (it is then
    written again from scratch). ``check_path``, if given, is called with
    the manifest's path once the folder is accepted, before anything is
    written (the command line turns a path that cannot be written into a
    usage error there).
    """
    folder = Path(folder)
    _check_folder(folder, replace)
    if check_path is not None:
        check_path(folder / MANIFEST)
    chosen = choose(only)
    files = {}
    blanked = {}                  # exercise id -> the functions blanked for it
    for name, module_name in FILES.items():
        source = _package_source(module_name)
        present = set(function_names(source))
        blanks = []
        for n, e in chosen:
            for b in e.blanks:
                if b.file == name and (b.target in present or not b.optional):
                    blanks.append((b.target, b.hint,
                                   f"exercise {n} ({e.id}): not done yet", b.task))
                    blanked.setdefault(e.id, []).append(b.target)
        package = module_name.rsplit(".", 1)[0]
        try:
            source = blank_functions(source, blanks)
        except BlankingError as error:
            raise WorkbookError(f"cannot make {name}: {error}") from None
        files[name] = HEADER.format(module=module_name) + point_imports_at(
            source, package, {"tinygrad_edu.engine": "engine"})
    files["README.md"] = readme(chosen, blanked)
    files[MANIFEST] = json.dumps(
        {"format": FORMAT, "version": VERSION,
         "exercises": [{"number": n, "id": e.id, "file": e.file} for n, e in chosen]},
        indent=2) + "\n"
    try:
        for name, text in files.items():
            write_atomically(folder / name, text)
    except OutputError as error:
        raise WorkbookError(str(error)) from None
    return chosen


def read_workbook(folder):
    """The (number, exercise) pairs of the workbook in ``folder``.

    Raises WorkbookError naming what is wrong: no such folder, no
    ``workbook.json``, or one this version cannot use.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise WorkbookError(f"{folder} is a file, not a workbook folder; give "
                            f"the folder 'tinygrad-edu exercise --out DIR' wrote")
    if not folder.is_dir():
        raise WorkbookError(f"there is no folder {folder}; write a workbook "
                            f"with: tinygrad-edu exercise --out {folder}")
    manifest = folder / MANIFEST
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkbookError(f"{folder} is not a workbook (it has no {MANIFEST}); "
                            f"write one with: tinygrad-edu exercise --out "
                            f"{folder}") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise WorkbookError(f"cannot read {manifest}: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise WorkbookError(f"{manifest} is not a tinygrad-edu workbook file")
    version = data.get("version")
    if type(version) is not int or version != VERSION:
        raise WorkbookError(
            (f"{manifest} says version {json.dumps(version)}" if "version" in data
             else f"{manifest} has no version") + f", which this tinygrad-edu "
            f"cannot check (it knows version {VERSION}); write the workbook again "
            f"with tinygrad-edu exercise --out <a new folder> and copy your "
            f"functions into it")
    known = {e.id: (n, e) for n, e in all_exercises()}
    try:
        ids = [item["id"] for item in data["exercises"]]
    except (KeyError, TypeError):
        raise WorkbookError(f"{manifest} has no list of exercises") from None
    if not ids:
        raise WorkbookError(f"{manifest} lists no exercises, so there is "
                            f"nothing to check; write the workbook again with "
                            f"'tinygrad-edu exercise --out {folder} --replace'")
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise WorkbookError(f"{manifest} names exercises this version does not "
                            f"know: {', '.join(map(str, unknown))}; write the "
                            f"workbook again with this version")
    missing = sorted({known[i][1].file for i in ids} - {
        p.name for p in folder.iterdir()})
    if missing:
        raise WorkbookError(f"{folder} has no {', '.join(missing)}; write the "
                            f"workbook again or restore the file")
    return [known[i] for i in ids]


def load_module(path, name, engine=None):
    """Load the learner's file ``path`` as a module called ``name``.

    ``engine``, if given, is the module the file gets for ``import engine``
    (the project's own engine, to check nn.py or losses.py on their own).
    Raises LoadError with one line for a file that does not load.
    """
    path = Path(path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    saved_engine = sys.modules.get("engine")
    if engine is not None:
        sys.modules["engine"] = engine
    sys.modules[name] = module            # as an import would
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        sys.modules.pop(name, None)
        raise LoadError(f"{path.name} line {error.lineno}: {error.msg}") from None
    except (Exception, SystemExit) as error:
        sys.modules.pop(name, None)
        message = str(error).strip().splitlines()
        raise LoadError(f"{path.name} does not load: {type(error).__name__}"
                        + (f": {message[0]}" if message else "")) from None
    finally:
        if engine is not None:
            if saved_engine is None:
                sys.modules.pop("engine", None)
            else:
                sys.modules["engine"] = saved_engine
    return module


def readme(chosen, blanked):
    """The learner's README: what to do, and the exercises in order.

    ``blanked`` maps each exercise to the functions blanked for it."""
    rows = "\n".join(f"| {n} | `{e.id}` | "
                     f"{', '.join(f'`{target}`' for target in blanked[e.id])}"
                     f" in `{e.file}` | {e.teaches} |" for n, e in chosen)
    return f"""# Your backprop workbook

This folder holds a working copy of a small autograd engine with some parts
cut out. Each cut-out function keeps its docstring (what it must do) and a
one-line hint, and raises "exercise N: not done yet" until you write it.

| # | exercise | what to write | what it teaches |
|---|---|---|---|
{rows}

How to work:

1. Open the file of the first exercise, find the function that says
   "not done yet", and write it.
2. Check your work, in this folder:

       tinygrad-edu check .

   You get a table of the exercises, and for each one that fails, one
   concrete example: the inputs, your number, the right number, and a hint.
3. Watch your own engine do backprop, one chain-rule step at a time:

       tinygrad-edu step --engine . --expr "a*b + a" --var a=2 --var b=3 --all

   or, with `--html page.html` instead of `--all`, in a page to open in a
   browser, your own code beside each step.

Each exercise is checked on its own: the network and loss exercises run on a
finished engine, so you can do them in any order. Try things in Python, too:
in this folder, `python3 -c "from engine import Value; print(Value(2.0) * 3)"`.
"""
