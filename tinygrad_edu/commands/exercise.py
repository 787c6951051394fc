"""``tinygrad-edu exercise``: write a workbook, the engine with parts to fill in.

    tinygrad-edu exercise --out workbook
    tinygrad-edu exercise --out workbook --only add,mul,chain_rule_step

The workbook is a copy of the engine (and of the network and loss modules)
in which the chosen functions are blanked: each keeps its docstring and a
one-line hint, and raises "exercise N: not done yet". ``tinygrad-edu check``
grades it. A folder that is not empty is refused (exit 2), so a learner's
answers are never lost; ``--replace`` writes an existing workbook again from
scratch.
"""

import sys

from .arguments import check_output_path, remember_parser, runtime_failure, usage_error

NAME = "exercise"
HELP = "write a workbook: the engine with parts blanked out for a learner to write"


def _exercise_list(text):
    """The names or numbers of ``--only``; names in any case (ADD is add)."""
    return [part.strip().lower() for part in text.split(",") if part.strip()]


def add_arguments(parser):
    parser.add_argument("--out", metavar="DIR",
                        help="the folder to write the workbook in, new or empty "
                             "(required, unless --list)")
    parser.add_argument("--only", type=_exercise_list, metavar="LIST",
                        help="some exercises, by name or number, separated by "
                             "commas (default: all; --list shows them)")
    parser.add_argument("--replace", action="store_true",
                        help="write over a workbook already in --out, from "
                             "scratch (the answers written in it are lost)")
    parser.add_argument("--list", action="store_true",
                        help="list the exercises and write nothing")
    remember_parser(parser)


def run(args, out=None):
    from ..exercises.workbook import WorkbookError, all_exercises, write_workbook
    out = out or sys.stdout
    if args.list:
        for number, exercise in all_exercises():
            print(f"{number:>3}  {exercise.id:<18} {exercise.teaches}", file=out)
        return 0
    if args.out is None:
        usage_error(args, "the following arguments are required: --out")
    if args.only is not None and not args.only:
        usage_error(args, "argument --only: name at least one exercise")
    try:
        chosen = write_workbook(args.out, args.only, replace=args.replace,
                                check_path=lambda path: check_output_path(
                                    args, path, "--out"))
    except WorkbookError as error:
        if "cannot write" in str(error):
            return runtime_failure(args, str(error))
        usage_error(args, str(error))
    print(f"wrote a workbook with {len(chosen)} exercise"
          f"{'' if len(chosen) == 1 else 's'} to {args.out}: "
          f"read {args.out}/README.md, then run 'tinygrad-edu check {args.out}'",
          file=out)
    return 0
