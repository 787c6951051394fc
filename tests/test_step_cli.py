"""The ``tinygrad-edu step`` command: printed numbers, keys, breakpoints, sources."""

import io
import math
import re
import subprocess
import sys

from tinygrad_edu import MLP
from tinygrad_edu.cli import build_parser, main
from tinygrad_edu.commands import step as step_command

from cli_checks import usage_error


def run_step(argv, keys=""):
    """Run ``tinygrad-edu step ARGV`` in-process with ``keys`` as typed input."""
    args = build_parser().parse_args(["step", *argv])
    out = io.StringIO()
    code = step_command.run(args, keys=io.StringIO(keys), out=out)
    return code, out.getvalue()


def shown_steps(text):
    """The step numbers printed, in order."""
    return [int(n) for n in re.findall(r"^step (\d+) of \d+", text, flags=re.M)]


def f4(x):
    return f"{x:.4f}"


# The built-in neuron, by hand: n = 0.5*0.8 - 1*0.2 + 2*(-0.4) + 0.1 = -0.5,
# o = tanh(n), loss = (o - 1)^2. Then dloss/do = 2(o - 1), do/dn = 1 - o^2,
# and each weight's gradient is its input times dloss/dn.
X = {"x1": 0.5, "x2": -1.0, "x3": 2.0}
W = {"w1": 0.8, "w2": 0.2, "w3": -0.4}
O = math.tanh(-0.5)
D_ERROR = 2 * (O - 1)
D_N = D_ERROR * (1 - O ** 2)


def test_all_prints_the_chain_rule_numbers_of_the_neuron():
    code, text = run_step(["--all"])
    assert code == 0
    lines = text.splitlines()
    assert f"step 1 of 15: loss = error ** 2 = {f4((O - 1) ** 2)}, grad 1.0000" in lines
    assert (f"  to error: d(loss)/d(error) = {f4(D_ERROR)}, adds {f4(D_ERROR)} x "
            f"1.0000 = {f4(D_ERROR)}, error.grad is now {f4(D_ERROR)}") in lines
    assert (f"  to n: d(o)/d(n) = {f4(1 - O ** 2)}, adds {f4(1 - O ** 2)} x "
            f"{f4(D_ERROR)} = {f4(D_N)}, n.grad is now {f4(D_N)}") in lines
    # w3's step: d(x3w3)/d(w3) = x3 = 2
    assert (f"  to w3: d(x3w3)/d(w3) = 2.0000, adds 2.0000 x {f4(D_N)} = "
            f"{f4(2 * D_N)}, w3.grad is now {f4(2 * D_N)}") in lines
    assert shown_steps(text) == list(range(1, 16))
    summary = dict(re.findall(r"^\s+(\w+)  grad (\S+)$", text, flags=re.M))
    for i in (1, 2, 3):
        assert summary[f"w{i}"] == f4(X[f"x{i}"] * D_N)
        assert summary[f"x{i}"] == f4(W[f"w{i}"] * D_N)
    assert summary["b"] == f4(D_N)


def test_the_forward_trace_comes_first():
    _, text = run_step(["--all"])
    assert "11  n       sum(x1w1, x2w2, x3w3, b)  -0.5000" in text
    assert text.index("The forward pass") < text.index("step 1 of")


def test_keys_enter_back_and_quit():
    code, text = run_step([], keys="\n\nb\nq\n")
    assert code == 0
    assert shown_steps(text) == [1, 2, 3, 2]
    assert text.rstrip().endswith("quit at step 2 of 15")


def test_back_at_the_first_step_and_unknown_keys():
    _, text = run_step([], keys="b\nzz\nq\n")
    assert shown_steps(text) == [1]
    assert "(this is the first step)" in text
    assert text.count(step_command.KEYS_HELP) == 2     # once at the start


def test_going_back_then_forward_shows_the_same_records_and_true_grads():
    _, straight = run_step(["--all"])
    _, wandering = run_step([], keys="\n" * 5 + "b\n" * 5 + "\n" * 40)
    assert shown_steps(wandering) == (list(range(1, 7)) + [5, 4, 3, 2, 1]
                                      + list(range(2, 16)))
    assert wandering.split("done:")[1] == straight.split("done:")[1]


def test_end_of_input_quits():
    code, text = run_step([], keys="\n")
    assert code == 0 and shown_steps(text) == [1, 2]
    assert "quit at step 2" in text


def test_breakpoint_interactive_and_all():
    _, text = run_step(["--break", "o"], keys="q\n")
    assert "(ran 3 steps to reach the breakpoint o)" in text
    assert shown_steps(text) == [4]
    _, text = run_step(["--all", "--break", "n"])
    assert shown_steps(text) == [1, 2, 3, 4, 5]
    assert text.rstrip().endswith("stopped at the breakpoint n")


def test_ops_only_skips_leaves():
    _, text = run_step(["--all", "--ops-only"])
    assert "a leaf" not in text
    assert len(shown_steps(text)) == 7      # loss, error, o, n, three products


def test_user_expression_with_a_reused_variable():
    code, text = run_step(["--expr", "x*x + x", "--var", "x=3", "--all"])
    assert code == 0
    assert re.search(r"^\s+x  grad 7\.0000$", text, flags=re.M)     # 2x + 1


def test_clear_errors(capsys):
    assert "cannot stop at 'nowhere'" in usage_error(["step", "--break", "nowhere"],
        capsys, command="step")
    assert "cannot read the formula" in usage_error(
        ["step", "--expr", "x +", "--var", "x=1"], capsys, command="step")
    assert "--var only goes with --expr" in usage_error(["step", "--var", "x=1"],
        capsys, command="step")
    assert "x1 is a leaf" in usage_error(["step", "--break", "x1", "--ops-only"],
        capsys, command="step")


def test_a_leaf_root_has_nothing_to_step_through(capsys):
    for extra in ([], ["--ops-only"], ["--all", "--ops-only"]):
        err = usage_error(["step", "--expr", "x", "--var", "x=3", *extra],
            capsys, command="step")
        assert "nothing to step through: the root is a leaf" in err


def test_html_path_mistakes_are_usage_errors(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    err = usage_error(["step", "--html", str(blocker / "s.html")], capsys, command="step")
    assert "argument --html" in err and "a_file is a file, not a folder" in err
    err = usage_error(["step", "--html", str(tmp_path)], capsys, command="step")
    assert "it is a folder" in err and "choose another path" in err


def test_html_new_folder_is_created(tmp_path):
    code, _ = run_step(["--expr", "x*x", "--var", "x=2",
                        "--html", str(tmp_path / "new" / "s.html")])
    assert code == 0 and (tmp_path / "new" / "s.html").is_file()


def test_html_write_failing_late_is_exit_1(tmp_path, capsys, monkeypatch):
    from tinygrad_edu import output

    def disk_full(path, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(output, "_replace", disk_full)
    assert main(["step", "--html", str(tmp_path / "s.html")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "usage" not in err
    assert "No space left on device; choose another path" in err


def test_saved_model_and_a_test_digit(tmp_path):
    from tinygrad_edu.learn.digits import load_digits
    from tinygrad_edu.learn.losses import cross_entropy
    from tinygrad_edu.learn.serialize import save_model
    model = MLP(64, [3, 10], seed=4)
    path = save_model(model, tmp_path / "m.json") or tmp_path / "m.json"
    code, text = run_step(["--model", str(path), "--digit", "7", "--index", "2",
                           "--all", "--ops-only"])
    assert code == 0
    sevens, _ = load_digits("test", classes=[7])
    expected = cross_entropy(model(sevens[2]), 7).data
    assert f"Backward pass from loss = {f4(expected)}:" in text
    assert "done:" in text
    assert "... and" in text          # 128-parent dot products are shortened


def test_the_three_example_runs():
    code, text = run_step(["--example", "three", "--all", "--ops-only"])
    assert code == 0 and "to out.3:" in text and "done:" in text


def test_html_writes_the_explorer_page(tmp_path):
    from tinygrad_edu.web.page import unpack_data
    code, text = run_step(["--html", str(tmp_path / "s.html"), "--break", "o"])
    assert code == 0
    assert "wrote" in text and "7 forward and 15 backward steps" in text
    data = unpack_data((tmp_path / "s.html").read_text())
    assert data["fold"] == "none" and len(data["backward"]["value"]) == 15
    assert [data["names"][i] for i in data["breakpoints"]] == ["o"]


def test_html_for_a_saved_model_is_folded_by_neuron(tmp_path):
    from tinygrad_edu.learn.serialize import save_model
    from tinygrad_edu.web.page import unpack_data
    path = save_model(MLP(64, [8, 10], seed=4), tmp_path / "m.json")
    code, _ = run_step(["--model", str(path), "--html", str(tmp_path / "m.html")])
    assert code == 0
    data = unpack_data((tmp_path / "m.html").read_text())
    assert data["fold"] == "neuron"
    assert [b["kind"] for b in data["boxes"]].count("neuron") == 18
    code, _ = run_step(["--model", str(path), "--html", str(tmp_path / "l.html"),
                        "--fold", "layer"])
    assert unpack_data((tmp_path / "l.html").read_text())["fold"] == "layer"


def test_html_fold_mistakes(tmp_path, capsys):
    from tinygrad_edu.learn.serialize import save_model
    path = save_model(MLP(64, [32, 10], seed=4), tmp_path / "m.json")
    err = usage_error(["step", "--model", str(path), "--fold", "none", "--html",
                       str(tmp_path / "m.html")], capsys, command="step")
    assert "argument --html" in err and "--fold neuron (" in err
    assert "--fold layer (" in err
    err = usage_error(["step", "--fold", "layer"], capsys, command="step")
    assert "--fold only goes with --html" in err


def test_real_command_line_reads_keys_from_stdin():
    done = subprocess.run([sys.executable, "-m", "tinygrad_edu", "step"],
                          input="\nb\n\n\nq\n", capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert shown_steps(done.stdout) == [1, 2, 1, 2, 3]
    assert "quit at step 3 of 15" in done.stdout


def test_saved_model_and_a_digit_it_does_not_know(tmp_path, capsys):
    from tinygrad_edu.learn.serialize import save_model
    path = tmp_path / "m.json"
    save_model(MLP(64, [3, 2], seed=4, classes=[0, 1]), path)
    err = usage_error(["step", "--model", str(path), "--digit", "7", "--all"],
        capsys, command="step")
    assert "recognises the digits 0 1, not 7" in err


def test_saved_model_mistakes_are_usage_errors(tmp_path, capsys):
    from tinygrad_edu.learn.serialize import save_model
    path = save_model(MLP(6, [3, 10], seed=4), tmp_path / "m.json")
    err = usage_error(["step", "--model", str(path), "--all"], capsys, command="step")
    assert "takes 6 inputs, not the 64 pixels" in err
    err = usage_error(["step", "--model", str(tmp_path / "no.json"), "--all"],
        capsys, command="step")
    assert "no model file" in err
    good = save_model(MLP(64, [3, 10], seed=4), tmp_path / "good.json")
    err = usage_error(["step", "--model", str(good), "--digit", "7",
                       "--index", "9999", "--all"], capsys, command="step")
    assert "choose --index from 0 to" in err


def test_saved_model_steps_through_the_loss_it_was_trained_with(tmp_path):
    from tinygrad_edu.learn.digits import load_digits
    from tinygrad_edu.learn.losses import mse, one_hot
    from tinygrad_edu.learn.serialize import save_model
    model = MLP(64, [3, 4], seed=4, classes=[1, 7, 8, 9])
    path = save_model(model, tmp_path / "m.json", info={"loss": "mse"})
    code, text = run_step(["--model", str(path), "--digit", "7", "--all",
                           "--ops-only"])
    assert code == 0
    sevens, _ = load_digits("test", classes=[7])
    expected = mse(model(sevens[0]), one_hot(1, 4)).data   # 7 is output 1
    assert f"Backward pass from loss = {f4(expected)}:" in text
