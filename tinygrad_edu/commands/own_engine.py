"""Run a command on a learner's engine: ``tinygrad-edu step --engine DIR``.

The command runs again in a child process in which ``tinygrad_edu.engine`` *is*
the workbook's ``engine.py``, loaded before anything else of the package. So
everything the command uses (the examples, the formula reader, the tracer
that steps through backprop) runs on the learner's Values, local derivatives,
topological order and chain-rule step, with no second code path. Any command
with an ``--engine`` option can use it.

Loading ``engine.py`` has a time limit (``check``'s, ``TIME_LIMIT``): a loop
at the top level of the file that never ends is reported, not waited on.
Stepping itself waits for the learner's keys as long as they like.
"""

import json
import os
import select
import subprocess
import sys
from pathlib import Path

from ..exercises.grading import TIME_LIMIT, child_environment

__all__ = ["run_on_own_engine", "engine_file", "child_run"]

# Loads DIR/engine.py as tinygrad_edu.engine, then runs the command.
_CHILD = r"""
import importlib.util, os, sys
name, path, arguments, loaded = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
spec = importlib.util.spec_from_file_location("tinygrad_edu.engine", path)
engine = importlib.util.module_from_spec(spec)
sys.modules["tinygrad_edu.engine"] = engine
try:
    spec.loader.exec_module(engine)
except SyntaxError as error:
    sys.exit(f"tinygrad-edu {name}: error: {path} line {error.lineno}: {error.msg}")
except Exception as error:
    sys.exit(f"tinygrad-edu {name}: error: {path} does not load: "
             f"{type(error).__name__}: {error}")
os.write(loaded, b"loaded\n")         # tells the parent the file has loaded
os.close(loaded)
from tinygrad_edu.commands.own_engine import child_run
sys.exit(child_run(name, engine, arguments))
"""


def engine_file(folder):
    """``folder/engine.py``, or ValueError saying what to give instead."""
    path = Path(folder) / "engine.py"
    if not path.is_file():
        raise ValueError(f"argument --engine: {folder} has no engine.py; give "
                         f"a workbook folder written by 'tinygrad-edu exercise'")
    return path


def run_on_own_engine(name, args, keys, out):
    """Run the command ``name`` with ``args`` on the engine in ``args.engine``.

    Returns the exit code. With the real terminal the child reads and writes
    it directly (so stepping with keys works); otherwise ``keys`` is passed
    in and the output copied to ``out``.
    """
    path = engine_file(args.engine)
    settings = {key: value for key, value in vars(args).items()
                if key not in ("command_parser", "run", "engine", "command")}
    direct = keys is sys.stdin and out is sys.stdout
    streams = {} if direct else dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
    read_end, write_end = os.pipe()
    command = [sys.executable, "-c", _CHILD, name, str(path),
               json.dumps(settings, default=str), str(write_end)]
    child = subprocess.Popen(command, env=child_environment(),
                             pass_fds=(write_end,), **streams)
    os.close(write_end)
    try:
        if not _loads_in_time(read_end, TIME_LIMIT):
            child.kill()
            from .arguments import runtime_failure
            return runtime_failure(args, f"loading {path} took longer than "
                                         f"{TIME_LIMIT:g} s; is there a loop at "
                                         f"the top level of the file that never "
                                         f"ends?")
        if direct:
            return child.wait()
        stdout, stderr = child.communicate(keys.read())
        out.write(stdout)
        sys.stderr.write(stderr)
        return child.returncode
    finally:
        os.close(read_end)
        if child.poll() is None:
            child.kill()
        child.wait()


def _loads_in_time(ready, limit):
    """Wait until the child has loaded engine.py (it writes a line to the
    pipe ``ready``) or ended (the pipe closes); False after ``limit`` seconds."""
    readable, _, _ = select.select([ready], [], [], limit)
    return bool(readable)


def child_run(name, engine, arguments):
    """In the child: run the command ``name`` with the settings ``arguments``
    (JSON); an unfinished or failing engine gets one line, exit code 1."""
    import argparse
    import importlib
    import tinygrad_edu
    tinygrad_edu.engine = engine
    command = importlib.import_module(f"tinygrad_edu.commands.{name}")
    parser = argparse.ArgumentParser(prog=f"tinygrad-edu {name}")
    command.add_arguments(parser)
    args = parser.parse_args([])
    for key, value in json.loads(arguments).items():
        setattr(args, key, value)
    try:
        code = command.run(args)
        sys.stdout.flush()              # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:             # stdout closed (| head): a quiet end
        from .arguments import drop_stdout
        drop_stdout()
        return 0
    except NotImplementedError as error:
        print(f"tinygrad-edu {name}: error: your engine is not finished: {error}",
              file=sys.stderr)
    except (ArithmeticError, AttributeError, LookupError, TypeError,
            ValueError, RecursionError) as error:
        print(f"tinygrad-edu {name}: error: your engine raised "
              f"{type(error).__name__}: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130                  # Ctrl-C: the parent says "interrupted"
    return 1
