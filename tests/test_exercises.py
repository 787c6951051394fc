"""Workbooks and their checks: ``tinygrad-edu exercise`` and ``tinygrad-edu check``.

The checks are tested the way a learner meets them: a fresh workbook fails
every exercise as "not done yet"; the project's own code, copied into a
workbook, passes every one; and for each exercise a typical wrong answer
fails with the hint that names its mistake. The wrong answers are checked in
this process (fast); the commands, with their child processes and time
limits, are run a few times end to end.
"""

import base64
import functools
import gzip
import importlib
import inspect
import itertools
import json
import re
from pathlib import Path

import pytest

from tinygrad_edu import engine as reference
from tinygrad_edu.cli import main
from tinygrad_edu.exercises.blanking import (body_lines, function_names,
                                             point_imports_at, replace_bodies)
from tinygrad_edu.exercises.catalog import FILES, exercises
from tinygrad_edu.exercises.grading import check_one
from tinygrad_edu.exercises.op_checks import OPS, check_op, generic_op
from tinygrad_edu.exercises.verdict import Failed, NotDone
from tinygrad_edu.exercises.workbook import all_exercises, load_module, write_workbook

from cli_checks import usage_error

_names = itertools.count()


@functools.lru_cache(maxsize=None)
def package_source(file):
    return Path(importlib.import_module(FILES[file]).__file__).read_text()


@functools.lru_cache(maxsize=None)
def solved_source(file):
    """The project's own file, as a workbook holds it (imports pointed at engine)."""
    package = FILES[file].rsplit(".", 1)[0]
    return point_imports_at(package_source(file), package,
                            {"tinygrad_edu.engine": "engine"})


def exercise(exercise_id):
    return next(e for _, e in all_exercises() if e.id == exercise_id)


def learner(tmp_path, file, bodies=None, source=None):
    """The project's ``file`` with some function bodies replaced, loaded as
    the checker loads a learner's file."""
    text = replace_bodies(source or solved_source(file), bodies or {})
    path = tmp_path / f"{next(_names)}_{file}"
    path.write_text(text)
    engine = None if file == "engine.py" else reference
    return load_module(path, f"test_workbook_{next(_names)}", engine)


def solve(folder):
    """Put the project's own files into the workbook ``folder``."""
    for file in FILES:
        (Path(folder) / file).write_text(solved_source(file))


def run_cli(capfd, *argv):
    """Run ``tinygrad-edu ARGV``; (exit code, stdout, stderr), the child
    processes' output included."""
    code = main(list(argv))
    out, err = capfd.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fresh") / "workbook"
    write_workbook(folder)
    return folder


# ----------------------------------------------------------------------
# Writing a workbook
# ----------------------------------------------------------------------

def test_exercises_come_in_course_order():
    ids = [e.id for _, e in all_exercises()]
    assert ids[:5] == ["add", "mul", "sub", "div", "neg"]
    assert ids[-5:] == ["chain_rule_step", "topological_order", "dot", "mlp",
                        "cross_entropy"]
    assert len(set(ids)) == len(ids)


def test_every_blank_keeps_its_docstring_and_says_not_done(fresh):
    for number, ex in all_exercises():
        module = learner(fresh, ex.file, source=(fresh / ex.file).read_text())
        written = (fresh / ex.file).read_text()
        for blank in ex.blanks:
            if blank.optional and blank.target not in function_names(written):
                continue
            text = "".join(body_lines(written, blank.target))
            assert f"exercise {number} ({ex.id}): not done yet" in text
            assert "# Hint: " in text
        holder = module
        for part in ex.blanks[0].target.split("."):
            holder = getattr(holder, part)
        assert holder.__doc__, f"{ex.blanks[0].target} lost its docstring"


def test_the_answers_are_not_in_the_workbook(fresh):
    for _, ex in all_exercises():
        written = {line.strip() for line in (fresh / ex.file).read_text().splitlines()}
        for blank in ex.blanks:
            if blank.optional and blank.target not in function_names(
                    package_source(ex.file)):
                continue
            for line in body_lines(package_source(ex.file), blank.target):
                code = line.strip()
                if "=" in code or code.startswith("return"):
                    assert code not in written, f"{blank.target}: {code}"


def test_only_blanks_the_chosen_exercises(tmp_path):
    chosen = write_workbook(tmp_path, ["div", "mlp"])
    assert [e.id for _, e in chosen] == ["div", "mlp"]
    engine = learner(tmp_path, "engine.py", source=(tmp_path / "engine.py").read_text())
    assert (engine.Value(2.0) * 3).data == 6.0           # mul is left as it was
    with pytest.raises(NotImplementedError, match=r"exercise 4 \(div\): not done yet"):
        engine.Value(1.0) / 2
    manifest = json.loads((tmp_path / "workbook.json").read_text())
    assert [item["id"] for item in manifest["exercises"]] == ["div", "mlp"]
    assert "local_grads=x_data + w_data" in (tmp_path / "engine.py").read_text()


def test_a_bigger_engine_gets_its_new_operation_as_an_exercise():
    """New lines at the top, a new argument, a new method: found by name."""
    source = package_source("engine.py")
    source = source.replace('"""The engine', '# a new first line\n\n"""The engine', 1)
    source = source.replace("    def tanh(self):", '''    def tan(self):
        """The tangent."""
        out = math.tan(self.data)
        return Value(out, op="tan", parents=(self,), local_grads=(1 + out * out,))

    def tanh(self):''', 1)
    ids = [e.id for e in exercises({"engine.py": source,
                                    "nn.py": package_source("nn.py"),
                                    "losses.py": package_source("losses.py")})]
    assert ids.index("abs") < ids.index("tan") < ids.index("chain_rule_step")
    assert "tanh" in ids and "pow" in ids


def test_the_exercise_command_refuses_a_folder_that_is_not_a_workbook(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    err = usage_error(["exercise", "--out", str(tmp_path)], capsys, "exercise")
    assert "is not empty and is not a workbook" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    err = usage_error(["exercise", "--out", str(tmp_path / "w"), "--only", "add,nope"],
                      capsys, "exercise")
    assert "unknown exercise 'nope'" in err


def test_the_exercise_command_rewrites_a_workbook(tmp_path, capsys):
    assert main(["exercise", "--out", str(tmp_path), "--only", "add"]) == 0
    assert main(["exercise", "--out", str(tmp_path), "--only", "1,mul",
                 "--replace"]) == 0
    assert "wrote a workbook with 2 exercises" in capsys.readouterr().out
    assert main(["exercise", "--list", "--out", str(tmp_path)]) == 0
    assert "cross_entropy" in capsys.readouterr().out


# ----------------------------------------------------------------------
# Checking: the whole command, in child processes
# ----------------------------------------------------------------------

def test_a_fresh_workbook_fails_every_exercise_as_not_done(fresh, capfd):
    code, out, err = run_cli(capfd, "check", str(fresh))
    assert code == 1 and "Traceback" not in out + err
    rows = [line for line in out.splitlines() if line[:3].strip().isdigit()]
    assert len(rows) == len(all_exercises())
    assert all(row.endswith("not done yet") for row in rows), out
    assert f"0 of {len(rows)} exercises pass." in out


def test_the_projects_own_engine_passes_every_exercise(tmp_path, capfd):
    write_workbook(tmp_path)
    solve(tmp_path)
    code, out, err = run_cli(capfd, "check", str(tmp_path))
    assert code == 0, out + err
    count = len(all_exercises())
    assert f"{count} of {count} exercises pass." in out


def test_code_that_loops_crashes_or_returns_nonsense_gets_one_line(tmp_path, capfd):
    write_workbook(tmp_path, ["add", "mul", "sub", "exp"])
    path = tmp_path / "engine.py"
    path.write_text(replace_bodies(path.read_text(), {
        "Value.__add__": "while True:\n    pass",
        "Value.__mul__": "import os\nos._exit(3)",
        "Value.__sub__": "return Value(self.data - other.data, op='-', parents=(self, other), "
                         "local_grads=('one', None))",
    }))
    code, out, err = run_cli(capfd, "check", str(tmp_path), "--time-limit", "1.5")
    assert code == 1 and "Traceback" not in out + err
    assert "it took longer than 1.5 s; is there a loop that never ends?" in out
    assert "your code stopped Python itself (exit code 3)" in out
    assert "local_grads[0] of your a-b is 'one' of type str, not a number" in out
    assert out.splitlines()[4].endswith("not done yet")          # exp, after them


def test_a_file_that_hangs_while_loading_fails_its_exercises_once(tmp_path, capfd):
    write_workbook(tmp_path, ["add", "mul"])
    path = tmp_path / "engine.py"
    path.write_text("while True:\n    pass\n" + path.read_text())
    code, out, err = run_cli(capfd, "check", str(tmp_path), "--time-limit", "1.5")
    assert code == 1 and "Traceback" not in out + err
    assert out.count("loading engine.py took longer than 1.5 s") == 1


def test_a_folder_that_is_not_a_workbook_is_exit_2(tmp_path, capsys):
    err = usage_error(["check", str(tmp_path / "missing")], capsys, "check")
    assert "there is no folder" in err
    err = usage_error(["check", str(tmp_path)], capsys, "check")
    assert "is not a workbook" in err
    (tmp_path / "workbook.json").write_text("{not json")
    assert "cannot read" in usage_error(["check", str(tmp_path)], capsys, "check")
    (tmp_path / "workbook.json").write_text(json.dumps(
        {"format": "tinygrad-edu workbook", "version": 1, "exercises": [{"id": "nope"}]}))
    assert "does not know: nope" in usage_error(["check", str(tmp_path)], capsys)


def test_step_runs_on_the_learners_engine(tmp_path, capfd):
    write_workbook(tmp_path, ["mul"])
    code, out, err = run_cli(capfd, "step", "--engine", str(tmp_path), "--expr", "a*b",
                             "--var", "a=2", "--var", "b=5", "--all")
    assert code == 1 and "Traceback" not in err
    assert "your engine is not finished: exercise 2 (mul): not done yet" in err
    path = tmp_path / "engine.py"           # a mul whose d/da is wrong: a, not b
    path.write_text(replace_bodies(path.read_text(), {"Value.__mul__": (
        "other = _as_value(other)\nreturn Value(self.data * other.data, op='*', "
        "parents=(self, other), local_grads=(self.data, self.data))")}))
    code, out, err = run_cli(capfd, "step", "--engine", str(tmp_path), "--expr", "a*b",
                             "--var", "a=2", "--var", "b=5", "--all")
    assert code == 0, err
    assert "d(y)/d(a) = 2.0000" in out           # the learner's number, not 5
    page = tmp_path / "explorer.html"
    code, out, err = run_cli(capfd, "step", "--engine", str(tmp_path), "--expr", "a*b",
                             "--var", "a=2", "--var", "b=5", "--html", str(page))
    assert code == 0, err
    data = re.search(r'<script type="application/gzip-base64" id="page-data">(.*?)</script>',
                     page.read_text(), re.S).group(1)
    shown = json.loads(gzip.decompress(base64.b64decode(data)))
    assert shown["local"][-1] == [2.0, 2.0]                 # the learner's local derivatives
    assert "local_grads=(self.data, self.data))" in "\n".join(
        shown["source"]["ops"]["*"]["lines"])                # and the learner's code


# ----------------------------------------------------------------------
# Wrong answers, and the hints they get (checked in this process)
# ----------------------------------------------------------------------

def _op(symbol, grads, other="other = _as_value(other)\n"):
    return (f"{other}return Value(self.data {symbol} other.data, op='{symbol}', "
            f"parents=(self, other), local_grads={grads})")


def _unary(method, out, grads):
    return {f"Value.{method}": f"x = self.data\nout = {out}\n"
                               f"return Value(out, op='{method}', parents=(self,), "
                               f"local_grads={grads})"}


WRONG = [
    ("add", {"Value.__add__": _op("+", "(1.0, -1.0)")}, "d(a+b)/db has the wrong sign"),
    ("add", {"Value.__add__": _op("+", "(2.0, 1.0)")}, "an extra factor of 2"),
    ("add", {"Value.__add__": "return self.data + _as_value(other).data"},
     "returned float -1.0, not a Value"),
    ("mul", {"Value.__mul__": _op("*", "(self.data, other.data)")},
     "d(a*b)/da is a itself"),
    ("mul", {"Value.__mul__": _op("*", "(other.data / 2, self.data)")},
     "a missing factor of 2"),
    ("mul", {"Value.__mul__": _op("*", "(other, self)")},
     "local_grads[0] of your a*b is Value(data=-3"),
    ("sub", {"Value.__sub__": _op("-", "(1.0, 1.0)")}, "d(a-b)/db has the wrong sign"),
    ("div", {"Value.__truediv__": _op("/", "(1 / other.data, self.data / other.data ** 2)")},
     "d(a/b)/db has the wrong sign"),
    ("div", {"Value.__truediv__": _op("/", "(1 / other.data, -1 / other.data ** 2)")},
     "d(a/b)/db is missing the factor a"),
    ("neg", {"Value.__neg__": "return Value(-self.data, op='neg', parents=(self,), "
                              "local_grads=(1.0,))"}, "d(-a)/da has the wrong sign"),
    ("neg", {"Value.__neg__": "return Value(-self.data, op='neg', parents=(Value(self.data),),"
                              " local_grads=(-1.0,))"},
     "the parents of your -a should be (a), in that order"),
    ("pow", {"Value.__pow__": "if isinstance(exponent, Value):\n"
                              "    return self._pow_value(exponent)\n"
                              "n = exponent\nreturn Value(self.data ** n, op=f'**{n}', "
                              "parents=(self,), local_grads=(n * self.data ** n,))"},
     "d(a**2)/da keeps the power n"),
    ("pow", {"Value._pow_value": "a, b = self.data, exponent.data\nout = a ** b\n"
                                 "return Value(out, op='**', parents=(self, exponent), "
                                 "local_grads=(b * a ** (b - 1), out))"},
     "d(a**b)/db is a**b itself; it also needs the factor log(a)"),
    ("exp", _unary("exp", "math.exp(x)", "(1.0,)"), "d(exp(x))/dx is 1"),
    ("log", _unary("log", "math.log(x)", "(x,)"), "d(log(x))/dx is x"),
    ("tanh", _unary("tanh", "math.tanh(x)", "(1 - x * x,)"), "d(tanh(x))/dx uses x"),
    ("sigmoid", _unary("sigmoid", "_stable_sigmoid(x)", "(out,)"),
     "d(sigmoid(x))/dx is s; multiply it by (1 - s)"),
    ("relu", _unary("relu", "max(x, 0.0)", "(x,)"), "d(relu(x))/dx is x"),
    ("abs", _unary("abs", "abs(x)", "(1.0,)"), "d(abs(x))/dx has the wrong sign"),
    ("sqrt", _unary("sqrt", "math.sqrt(x)", "(1 / out,)"),
     "d(sqrt(x))/dx is 1/sqrt(x); sqrt(x) = x**0.5, and the power rule brings down 0.5"),
    ("sin", _unary("sin", "math.sin(x)", "(-math.cos(x),)"), "d(sin(x))/dx has the wrong sign"),
    ("cos", _unary("cos", "math.cos(x)", "(math.sin(x),)"), "d(cos(x))/dx has the wrong sign"),
    ("exp", _unary("exp", "math.exp(x)", "(None,)"),
     "local_grads[0] of your exp(x) is None of type NoneType, not a number"),
    ("chain_rule_step", {"chain_rule_step": "for p, g in zip(value.parents, value.local_grads):\n"
                                            "    p.grad = g * value.grad"},
     "you overwrote parent.grad"),
    ("chain_rule_step", {"chain_rule_step": "for p, g in zip(value.parents, value.local_grads):\n"
                                            "    p.grad += g"},
     "multiply each local derivative by value.grad"),
    ("chain_rule_step", {"chain_rule_step": "for p, g in zip(value.parents, value.local_grads):\n"
                                            "    p.grad += g * p.grad"},
     "multiply by value.grad, the gradient arriving from above"),
    ("topological_order", {"topological_order": (
        "order = []\ndef visit(v):\n    for p in v.parents:\n        visit(p)\n"
        "    order.append(v)\nvisit(root)\nreturn order[::-1]")},
     "x is in it twice: remember the Values already visited"),
    ("topological_order", {"topological_order": (
        "order, seen = [], set()\ndef visit(v):\n    if v in seen:\n        return\n"
        "    seen.add(v)\n    for p in v.parents:\n        visit(p)\n"
        "    order.append(v)\nvisit(root)\n"
        "return [v for v in order[::-1] if leaves or v.parents or v is root]")},
     "walk the graph with a loop and a list as your own stack"),
    ("topological_order", {"topological_order": (
        "order, seen, stack = [], set(), [root]\nwhile stack:\n    v = stack.pop()\n"
        "    if v in seen:\n        continue\n    seen.add(v)\n    order.append(v)\n"
        "    stack.extend(v.parents)\nreturn order")},
     "x comes before y, which was made from it"),
    ("topological_order", {"topological_order": (
        "order, seen, stack = [], set(), [(root, False)]\nwhile stack:\n"
        "    v, done = stack.pop()\n    if done:\n        order.append(v)\n"
        "        continue\n    if v in seen:\n        continue\n    seen.add(v)\n"
        "    stack.append((v, True))\n    stack.extend((p, False) for p in v.parents)\n"
        "return order[::-1]")},
     "x has no parents: with leaves=False leave such Values out"),
    ("dot", {"_dot_of_values": "w = [v.data for v in weights]\nx = [v.data for v in inputs]\n"
                               "return Value(sum(a * b for a, b in zip(w, x)), op='dot', "
                               "parents=weights + inputs, local_grads=w + x)"},
     "d(dot(w, x))/dw0 is d(dot(w, x))/dx0: give the local derivatives in the same order"),
    ("mlp", {"Neuron.pre_activation": "return dot(self.w, x)"}, "the bias b is missing"),
    ("mlp", {"Neuron.__call__": "return self.pre_activation(x)"},
     "the hidden layers need their activation"),
    ("mlp", {"Neuron.pre_activation": (
        "return Value(sum(w.data * float(getattr(v, 'data', v)) "
        "for w, v in zip(self.w, x))) + self.b")},
     "build each neuron from Values"),
    ("mlp", {"MLP.forward_all": (
        "activations = [[v if isinstance(v, Value) else Value(v) for v in x]]\n"
        "for layer in self.layers:\n"
        "    activations.append([n(activations[-1]) for n in layer.neurons])\n"
        "return activations[1:]")},
     "forward_all returned 2 lists, expected 3: the input, then one per layer"),
    ("cross_entropy", {"log_sum_exp": "return vsum([z.exp() for z in logits]).log()"},
     "subtract the largest logit m before exp"),
    ("cross_entropy", {"cross_entropy": (
        "return logits[target] - log_sum_exp(logits, _largest(logits))")},
     "log-sum-exp minus the target's logit (never negative)"),
]


@pytest.mark.parametrize("exercise_id, bodies, hint", WRONG,
                         ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)])
def test_a_wrong_answer_gets_the_hint_that_names_it(tmp_path, exercise_id, bodies, hint):
    ex = exercise(exercise_id)
    module = learner(tmp_path, ex.file, bodies)
    with pytest.raises(Failed) as failure:
        ex.check(module)
    report = "\n".join(failure.value.lines)
    assert hint in report, report


def test_an_error_names_the_learners_line(tmp_path):
    module = learner(tmp_path, "engine.py", {"Value.__add__": "x = 1\nreturn x / 0"})
    with pytest.raises(Failed) as failure:
        exercise("add").check(module)
    line = failure.value.lines[0]
    assert line.startswith("a+b with a = 2, b = -3: your code raised "
                           "ZeroDivisionError: division by zero (")
    assert re.search(r"\(\d+_engine\.py line \d+, in __add__\)$", line), line


def test_every_exercise_of_the_table_has_a_wrong_answer_tested():
    table = {spec.id for spec in OPS} | {"chain_rule_step", "topological_order",
                                         "dot", "mlp", "cross_entropy"}
    assert table <= {w[0] for w in WRONG}
    assert table <= {e.id for _, e in all_exercises()}


def _negated(method):
    """A body for ``Value.method`` that computes the right value (with the
    project's engine) but gives each local derivative the wrong sign."""
    arity = len(inspect.signature(getattr(reference.Value, method)).parameters) - 1
    other = ", _as_value(other)" if arity else ""
    return (f"import tinygrad_edu.engine as right\n"
            f"parents = (self{other},)\n"
            f"v = getattr(right.Value(self.data), {method!r})("
            f"*[right.Value(p.data) for p in parents[1:]])\n"
            f"return Value(v.data, op=v.op, parents=parents,\n"
            f"             local_grads=tuple(-g for g in v.local_grads))")


def test_an_operation_new_to_the_table_is_checked_too(tmp_path):
    """Operations the engine gains later are checked like the others: a
    wrong sign is caught. (``tanh`` stands in for one here; any operation
    the installed engine has beyond the table is tried as well.)"""
    table = {spec.id for spec in OPS}
    new = [(e, e.blanks[0].target.split(".")[1]) for _, e in all_exercises()
           if e.file == "engine.py" and e.blanks[0].target.startswith("Value.")
           and e.id not in table]
    stand_in = generic_op("tanh", 0)
    cases = [(e.check, method) for e, method in new]
    cases.append((lambda module: check_op(stand_in, module), "tanh"))
    for check, method in cases:
        module = learner(tmp_path, "engine.py", {f"Value.{method}": _negated(method)})
        with pytest.raises(Failed) as failure:
            check(module)
        assert "has the wrong sign" in failure.value.lines[-1], failure.value.lines


def test_an_exercise_that_needs_an_unfinished_one_says_which(tmp_path):
    ex = exercise("sub")
    module = learner(tmp_path, "engine.py", {
        "Value.__sub__": "return self + (-other)",
        "Value.__neg__": "raise NotImplementedError('exercise 5 (neg): not done yet')"})
    with pytest.raises(NotDone):
        ex.check(module)
    verdict = check_one(tmp_path, ex, {"engine.py": module})
    assert verdict.status == "fail"
    assert verdict.lines == ["it uses exercise 5 (neg), which is not done yet"]
