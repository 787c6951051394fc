"""The ``tinygrad-edu`` command.

Each subcommand lives in its own module under ``tinygrad_edu/commands/``,
which defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args)``
(returning an exit code). This file only gathers them.
"""

import argparse
import importlib
import sys

# Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES = ["train", "predict", "graph", "explain", "step", "export",
                   "exercise", "check", "plot"]


def _load_commands():
    return [importlib.import_module(f".commands.{name}", __package__)
            for name in COMMAND_MODULES]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tinygrad-edu",
        description="Train, draw and step through a tiny scalar autograd engine.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in _load_commands():
        sub = subparsers.add_parser(command.NAME, help=command.HELP,
                                    description=command.HELP)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def _dash_hint(unknown):
    """A hint when an unknown argument is a formula starting with '-' (every
    option here starts with '--', so one '-' is most likely a formula)."""
    formulas = [a for a in unknown if a.startswith("-") and not a.startswith("--")]
    if not formulas:
        return ""
    return (f"; {formulas[0]!r} starts with '-', so it reads as an option: "
            f"write the formula in brackets, '({formulas[0]})', or after a "
            f"space, ' {formulas[0]}' (for step, --expr={formulas[0]})")


def main(argv=None):
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:         # said by the command itself, with its own usage
        command_parser = getattr(args, "command_parser", parser)
        command_parser.error(f"unrecognized arguments: {' '.join(unknown)}"
                             + _dash_hint(unknown))
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    from .commands.arguments import run_command
    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
