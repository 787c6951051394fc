"""Exercises that check themselves: write the engine yourself, graded by the project.

    catalog.py          the exercises in course order: what to blank, the
                        hints, what each teaches, which check grades it
    blanking.py         cut a function's body out of a source file (ast)
    workbook.py         write a workbook folder; read it back; load its files
    op_checks.py        an operation's value, parents and local derivatives,
                        against central differences
    graph_checks.py     chain_rule_step (against numpy's linear algebra) and
                        topological_order (reused Values, deep chains)
    network_checks.py   the MLP's forward pass and the cross-entropy, against
                        numpy
    verdict.py          safe calls into the learner's code; hints
    grading.py          run the checks in a child process with a time limit;
                        the report

The commands ``tinygrad-edu exercise`` and ``tinygrad-edu check`` use these.
"""
