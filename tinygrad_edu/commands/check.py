"""``tinygrad-edu check``: grade a workbook written by ``tinygrad-edu exercise``.

    tinygrad-edu check workbook

Prints a table of the exercises (pass, FAIL or not done yet) and, for each
failure, one counterexample: the inputs, the learner's number, the expected
number and a hint. Exit code 0 when every exercise passes, 1 otherwise, 2
for a folder that is not a workbook.

The learner's code runs in a separate process with a time limit per
exercise, so code that loops forever or stops Python is reported, not obeyed.
It is still code: check only workbooks you trust.
"""

import sys

from .arguments import positive_float, remember_parser, runtime_failure, usage_error

NAME = "check"
HELP = "grade a workbook: which exercises pass, and a counterexample for each failure"


def add_arguments(parser):
    from ..exercises.grading import TIME_LIMIT
    parser.add_argument("workbook", metavar="DIR",
                        help="a folder written by 'tinygrad-edu exercise'")
    parser.add_argument("--time-limit", type=positive_float, default=TIME_LIMIT,
                        metavar="SECONDS",
                        help=f"the most time each exercise may take "
                             f"(default {TIME_LIMIT:g})")
    remember_parser(parser)


def run(args, out=None):
    from ..exercises.grading import GradingError, format_report, grade
    from ..exercises.workbook import WorkbookError, read_workbook
    out = out or sys.stdout
    try:
        chosen = read_workbook(args.workbook)
    except WorkbookError as error:
        usage_error(args, str(error))
    try:
        results = grade(args.workbook, chosen, args.time_limit)
    except GradingError as error:
        return runtime_failure(args, str(error))
    print(format_report(results), file=out)
    return 0 if all(verdict.passed for _, _, verdict in results) else 1
