"""The checks against answers that look right but miss the lesson.

Each case is a learner's answer that an earlier checker passed, or failed
with a hint about something else: an operation that changes its inputs, one
built from other operations, one that overflows or returns inf where the
engine refuses, a wrong op name, a kink with the wrong slope. Each must fail
with the hint that names its mistake; the right composite-free answers of
the project's own engine pass (tests/test_exercises.py).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_edu.exercises.blanking import replace_bodies
from tinygrad_edu.exercises.grading import _Printed, format_report, grade
from tinygrad_edu.exercises.verdict import Failed
from tinygrad_edu.exercises.workbook import (WorkbookError, all_exercises, read_workbook,
                                             write_workbook)

from test_exercises import exercise, learner


def _value(method, out, grads, op=None):
    return {f"Value.{method}": f"x = self.data\nout = {out}\n"
                               f"return Value(out, op={op or method!r}, "
                               f"parents=(self,), local_grads={grads})"}


ROBUST = [
    # 1. an operation that changes its inputs
    ("add", {"Value.__add__": "other = _as_value(other)\nself.data = self.data + other.data\n"
                              "return Value(self.data, op='+', parents=(self, other), "
                              "local_grads=(1.0, 1.0))"},
     ["your a+b changed a.data from 2 to -1",
      "an operation makes a new Value and leaves its inputs"]),
    ("mul", {"Value.__mul__": "other = _as_value(other)\nself.grad = other.grad = 0.0\n"
                              "return Value(self.data * other.data, op='*', "
                              "parents=(self, other), local_grads=(other.data, self.data))"},
     ["your a*b changed a.grad from 0.25 to 0 (the check gave each input a gradient first)"]),
    ("topological_order", {"topological_order": (
        "root.label = 'root'\norder, seen, stack = [], set(), [(root, False)]\n"
        "while stack:\n    v, done = stack.pop()\n    if done:\n        order.append(v)\n"
        "        continue\n    if v in seen:\n        continue\n    seen.add(v)\n"
        "    stack.append((v, True))\n    stack.extend((p, False) for p in v.parents)\n"
        "return [v for v in order[::-1] if leaves or v.parents or v is root]")},
     ["your topological_order(a) changed a.label from 'a' to 'root'",
      "leave them as they are"]),
    # 2. built from other operations, micrograd style
    ("sub", {"Value.__sub__": "return self + (-_as_value(other))"},
     ["your a-b is made of 2 operations (neg, +)", "one Value",
      "hint: return Value(a-b, op='-', parents=(self, other), local_grads=(...))"]),
    ("sqrt", {"Value.sqrt": "return self ** 0.5"},
     ["your sqrt(x) is the result of another operation (op='**0.5')",
      "one new Value with its own local derivative", "op='sqrt'"]),
    ("div", {"Value.__truediv__": "return self * _as_value(other) ** -1"},
     ["your a/b is made of 2 operations (**-1, *)", "op='/'"]),
    ("dot", {"_dot_of_values": "return sum((w * x for w, x in zip(weights, inputs)), Value(0.0))"},
     ["your dot(w, x) is made of 4 operations (*, +, *, +) and the constant 0",
      "parents=weights + inputs"]),
    ("neg", {"Value.__neg__": "return self * -1"},
     ["your -a is made of 1 operation (*) and the constant -1",
      "parents=(self,)"]),
    ("tanh", {"Value.tanh": "e = (self * 2).exp()\nreturn (e - 1) / (e + 1)"},
     ["your tanh(x) is made of 5 operations", "op='tanh'"]),
    # 3. the edges the exercises teach
    ("sigmoid", _value("sigmoid", "1 / (1 + math.exp(-x))", "(out * (1 - out),)"),
     ["sigmoid(x) with x = -1000: your code raised OverflowError",
      "use _stable_sigmoid(x)"]),
    ("tanh", _value("tanh", "(math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)",
                    "(1 - out * out,)"),
     ["tanh(x) with x = 400: your code raised OverflowError", "use math.tanh(x)"]),
    ("div", {"Value.__truediv__": (
        "other = _as_value(other)\nif other.data == 0:\n"
        "    return Value(math.inf, op='/', parents=(self, other), "
        "local_grads=(math.inf, math.inf))\n"
        "return Value(self.data / other.data, op='/', parents=(self, other), "
        "local_grads=(1 / other.data, -self.data / other.data ** 2))")},
     ["inputs: a = 2, b = 0", "your a/b returned inf; it should refuse these inputs",
      "raise ZeroDivisionError"]),
    ("log", _value("log", "math.log(x) if x > 0 else -math.inf",
                   "(1 / x if x else math.inf,)"),
     ["your log(x) returned -inf", "refuse x <= 0 with a ValueError"]),
    ("exp", {"Value.exp": "try:\n    out = math.exp(self.data)\nexcept OverflowError:\n"
                          "    out = math.inf\n"
                          "return Value(out, op='exp', parents=(self,), local_grads=(out,))"},
     ["inputs: x = 1000", "your exp(x) returned inf", "never return inf"]),
    ("relu", _value("relu", "max(x, 0.0)", "(1.0 if x >= 0 else 0.0,)"),
     ["inputs: x = 0", "your d(relu(x))/dx = 1, expected 0", "choose the slope 0"]),
    ("abs", _value("abs", "abs(x)", "(1.0 if x >= 0 else -1.0,)"),
     ["inputs: x = 0", "your d(abs(x))/dx = 1, expected 0", "choose the slope 0"]),
    # 6. the op name
    ("mul", {"Value.__mul__": "other = _as_value(other)\nreturn Value(self.data * other.data, "
                              "op='mul', parents=(self, other), "
                              "local_grads=(other.data, self.data))"},
     ["your a*b has op='mul', expected op='*'", "write op='*'"]),
    ("exp", _value("exp", "math.exp(x)", "(out,)", op="e"),
     ["expected op='exp'"]),
    # 7. misleading hints
    ("chain_rule_step", {"chain_rule_step": (
        "for p, g in zip(value.parents, value.local_grads):\n"
        "    p.grad += g * value.grad\nvalue.grad = 0.0")},
     ["after your step v.grad = 0, expected it to stay 0.5",
      "don't change value.grad"]),
    ("topological_order", {"topological_order": (
        "order, done, stack = [], set(), [(root, False)]\nwhile stack:\n"
        "    v, expanded = stack.pop()\n    if expanded:\n"
        "        if v not in done:\n            done.add(v)\n            order.append(v)\n"
        "        continue\n    if v in done:\n        continue\n"
        "    stack.append((v, True))\n    stack.extend((p, False) for p in v.parents)\n"
        "return [v for v in order if leaves or v.parents or v is root]")},
     ["the root c must come first", "reverse the list at the end"]),
    # 3. a cross-entropy that takes the log of a softmax that rounds to 0
    ("cross_entropy", {"cross_entropy": (
        "logits = _as_values(logits, 'cross_entropy')\nm = _largest(logits)\n"
        "exps = [(z - m).exp() for z in logits]\n"
        "return -(exps[target] / vsum(exps)).log()")},
     ["logits z = [0, 800], target 0", "the log of a softmax"]),
    ("cross_entropy", {"cross_entropy": (
        "logits = _as_values(logits, 'cross_entropy')\n"
        "return log_sum_exp(logits, _largest(logits)) - logits[target]")},
     ["logits z = [2, 1, 0.1], target -1", "check the target first"]),
    # 9. numbers shown as numbers
    ("cross_entropy", {"log_sum_exp": "return vsum([z.exp() for z in logits]).log()"},
     ["logits z = [1000, 999, -1000]"]),
    # 7. a Value exponent made a number
    ("pow", {"Value.__pow__": "x, n = self.data, float(exponent)\n"
                              "return Value(x ** n, op=f'**{n}', parents=(self,), "
                              "local_grads=(n * x ** (n - 1),))"},
     ["a Value exponent is a parent too", "self._pow_value(exponent)"]),
]


@pytest.mark.parametrize("exercise_id, bodies, phrases", ROBUST,
                         ids=[f"{r[0]}-{i}" for i, r in enumerate(ROBUST)])
def test_an_answer_that_misses_the_lesson_fails_with_its_hint(
        tmp_path, exercise_id, bodies, phrases):
    ex = exercise(exercise_id)
    module = learner(tmp_path, ex.file, bodies)
    with pytest.raises(Failed) as failure:
        ex.check(module)
    report = "\n".join(failure.value.lines)
    for phrase in phrases:
        assert phrase in report, report


def test_the_blanks_name_the_op_each_value_needs():
    for exercise_id, op in (("add", "'+'"), ("mul", "'*'"), ("sub", "'-'"),
                            ("div", "'/'"), ("neg", "'neg'"), ("exp", "'exp'"),
                            ("relu", "'relu'"), ("dot", "'dot'"), ("pow", "f'**{n}'")):
        assert f"op={op}" in exercise(exercise_id).blanks[0].hint, exercise_id


def test_the_div_hint_does_not_suggest_a_chain_of_operations():
    assert "a * b**-1" not in exercise("div").blanks[0].hint


# ----------------------------------------------------------------------
# 4. Errors name the learner's own line, and what to write instead
# ----------------------------------------------------------------------

@pytest.mark.parametrize("arguments, hint", [
    ("parents=(self,), local_grads=out", "local_grads must be a tuple with one "
                                         "number per parent, e.g. local_grads=(out,)"),
    ("parents=self, local_grads=(out,)", "parents must be a tuple of Values, "
                                         "e.g. parents=(self,)")])
def test_a_bad_argument_to_value_names_the_learners_line(tmp_path, arguments, hint):
    module = learner(tmp_path, "engine.py", {"Value.exp": (
        f"out = math.exp(self.data)\nreturn Value(out, op='exp', {arguments})")})
    with pytest.raises(Failed) as failure:
        exercise("exp").check(module)
    first, second = failure.value.lines[:2]
    line = next(number for number, text in enumerate(
        Path(module.__file__).read_text().splitlines(), 1)
        if "return Value(out, op='exp'" in text)
    assert f"engine.py line {line}, in exp)" in first, first
    assert hint in second


def test_a_deleted_function_is_named_without_the_checkers_module_names(tmp_path):
    write_workbook(tmp_path, ["neg", "chain_rule_step"])
    path = tmp_path / "engine.py"
    source = path.read_text()
    path.write_text(source.replace("def chain_rule_step(", "def chain_step(")
                    .replace("def __neg__(", "def negate("))
    verdicts = dict((e.id, v) for _, e, v in grade(tmp_path, read_workbook(tmp_path)))
    lines = verdicts["chain_rule_step"].lines
    number = next(n for n, e in all_exercises() if e.id == "chain_rule_step")
    assert lines[0] == (f"engine.py no longer has chain_rule_step (exercise {number}, "
                        f"chain_rule_step): put the function back, with that name")
    assert "tinygrad-edu exercise --out" in lines[1]
    assert "no longer has Value.__neg__ (exercise 5, neg)" in verdicts["neg"].lines[0]
    assert "tinygrad_edu_workbook" not in str(verdicts)


# ----------------------------------------------------------------------
# 5. A file that does not load is reported once; 9. the learner's prints
# ----------------------------------------------------------------------

def _report(folder):
    return format_report(grade(folder, read_workbook(folder)))


def _edit(folder, bodies):
    path = folder / "engine.py"
    path.write_text(replace_bodies(path.read_text(), bodies))
    return path


@pytest.mark.parametrize("body, words", [
    ("return Value(self.data + other.data", ["was never closed"]),
    ("other = _as_value(other)\n\treturn other", ["tabs", "indent with 4 spaces"])])
def test_a_file_that_does_not_parse_is_reported_once(tmp_path, body, words):
    write_workbook(tmp_path, ["add", "mul", "sub"])
    path = _edit(tmp_path, {"Value.__add__": "pass"})
    path.write_text(path.read_text().replace("        pass\n", "".join(
        ("" if line.startswith("\t") else "        ") + line + "\n"
        for line in body.split("\n")), 1))
    report = _report(tmp_path)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1)
                if body.split("\n")[-1].strip() in text)
    assert report.count(f"engine.py line {line}") == 1, report
    assert f"(in Value.__add__, exercise 1 (add))" in report
    assert report.index("does not load") < report.index("exercise  ")
    for word in words:
        assert word in report
    assert "0 of 3 exercises pass." in report


def test_input_at_the_top_of_the_file_is_reported_once(tmp_path):
    write_workbook(tmp_path, ["add", "mul"])
    path = tmp_path / "engine.py"
    path.write_text("name = input('name? ')\n" + path.read_text())
    report = _report(tmp_path)
    assert report.count("EOFError") == 1, report
    assert "take the input() out" in report


def test_what_the_learners_failing_code_printed_is_shown(tmp_path):
    write_workbook(tmp_path, ["add", "mul"])
    _edit(tmp_path, {
        "Value.__add__": ("other = _as_value(other)\nprint('DEBUG', self.data)\n"
                          "print('more')\nreturn Value(self.data + other.data, op='+', "
                          "parents=(self, other), local_grads=(1.0, -1.0))"),
        "Value.__mul__": ("other = _as_value(other)\nprint('fine')\nreturn Value("
                          "self.data * other.data, op='*', parents=(self, other), "
                          "local_grads=(other.data, self.data))")})
    report = _report(tmp_path)
    assert "(your code printed 2 lines; the first: 'DEBUG 2.0')" in report, report
    assert "fine" not in report                 # mul passes: its prints stay quiet


# ----------------------------------------------------------------------
# 8. A workbook of a version this tinygrad-edu does not know
# ----------------------------------------------------------------------

@pytest.mark.parametrize("version", [0, 2, "1", None, "missing"])
def test_a_workbook_of_an_unknown_version_is_refused(tmp_path, version):
    write_workbook(tmp_path, ["add"])
    manifest = tmp_path / "workbook.json"
    data = json.loads(manifest.read_text())
    if version == "missing":
        del data["version"]
    else:
        data["version"] = version
    manifest.write_text(json.dumps(data))
    with pytest.raises(WorkbookError) as error:
        read_workbook(tmp_path)
    assert "workbook.json" in str(error.value)
    assert "tinygrad-edu exercise --out" in str(error.value)
    done = subprocess.run([sys.executable, "-m", "tinygrad_edu", "check", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "cannot check" in done.stderr


def test_the_learners_prints_are_counted_not_kept():
    printed = _Printed()
    for i in range(100000):
        print("line", i, file=printed)
    print("no newline at the end", end="", file=printed)
    assert printed.summary() == ["(your code printed 100001 lines; the first: 'line 0')"]
    assert len(printed.start) < 500
