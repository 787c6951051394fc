"""The command line never replaces a file the user did not name, and meets
bad input with a clear usage error (exit 2) rather than a traceback.

Each test here reproduces a case that once went wrong: a learner's finished
workbook written over, a model replaced by its own export or by a picture,
a default path replacing a file, a traceback from deep inside.
"""

import json
import shutil
from pathlib import Path

import pytest

from tinygrad_edu.cli import main
from tinygrad_edu.learn.nn import MLP
from tinygrad_edu.learn.serialize import save_model

from cli_checks import usage_error

TINY = ["--classes", "3", "8", "--per-class", "4", "--hidden", "4",
        "--epochs", "1", "--batch-size", "4", "--quiet", "--engine", "tape"]


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.json"
    save_model(MLP(64, [3, 2], seed=1, classes=[3, 8]), path)
    return path


@pytest.fixture
def metrics_file(tmp_path):
    """A small metrics file of the shape 'train --metrics' writes."""
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(good_metrics()))
    return path


def good_metrics():
    history = [{"epoch": e, "train_loss": 1.0 / e, "train_accuracy": 0.5 + e / 10,
                "test_loss": 1.1 / e, "test_accuracy": 0.4 + e / 10}
               for e in (1, 2)]
    return {"epochs": 2, "history": history, "steps_per_epoch": 2,
            "step_loss": [1.2, 1.0, 0.8, 0.6]}


# --- exercise: a learner's work is never written over ---------------------

def test_exercise_refuses_a_workbook_holding_a_learners_work(tmp_path, capsys):
    folder = tmp_path / "wb"
    assert main(["exercise", "--out", str(folder)]) == 0
    engine = folder / "engine.py"
    engine.write_text(engine.read_text() + "# MY SOLUTION\n")
    mine = engine.read_bytes()
    for extra in ([], ["--only", "add"]):
        err = usage_error(["exercise", "--out", str(folder), *extra], capsys, "exercise")
        assert "already holds a workbook" in err and "engine.py" in err
        assert "--replace" in err and "another folder" in err
        assert engine.read_bytes() == mine
    assert main(["exercise", "--out", str(folder), "--only", "add", "--replace"]) == 0
    assert "MY SOLUTION" not in engine.read_text()
    assert "wrote a workbook with 1 exercise to" in capsys.readouterr().out


def test_exercise_replace_still_refuses_a_folder_that_is_not_a_workbook(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    err = usage_error(["exercise", "--out", str(tmp_path), "--replace"], capsys,
                      "exercise")
    assert "is not a workbook" in err and "notes.txt" in err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


# --- an output is never one of the inputs --------------------------------

def test_export_refuses_to_write_over_its_model(model_file, capsys):
    model = model_file
    before = model.read_bytes()
    err = usage_error(["export", "--to", "numpy", str(model), str(model)], capsys,
                      "export")
    assert "same file" in err
    assert model.read_bytes() == before


@pytest.mark.parametrize("flag", ["--out", "--metrics", "--report"])
def test_train_plot_is_in_the_same_file_check(tmp_path, capsys, flag):
    path = tmp_path / "c.png"
    path.write_text("keep me")
    argv = ["train", *TINY, flag, str(path), "--plot", str(path)]
    if flag != "--out":
        argv += ["--out", str(tmp_path / "m.json")]
    err = usage_error(argv, capsys, "train")
    assert "same file" in err
    assert path.read_text() == "keep me"


def test_plot_refuses_to_draw_over_its_metrics(metrics_file, capsys):
    shutil.copy(metrics_file, metrics_file.with_suffix(".png"))
    metrics = metrics_file.with_suffix(".png")
    before = metrics.read_bytes()
    err = usage_error(["plot", str(metrics), "--out", str(metrics)], capsys, "plot")
    assert "same file" in err
    assert metrics.read_bytes() == before


@pytest.mark.parametrize("name", ["engine.py", "workbook.json", "nn.py"])
def test_step_html_never_replaces_the_workbooks_files(tmp_path, capsys, name):
    folder = tmp_path / "wb"
    assert main(["exercise", "--out", str(folder), "--only", "add"]) == 0
    before = (folder / name).read_bytes()
    err = usage_error(["step", "--engine", str(folder), "--html",
                       str(folder / name)], capsys, "step")
    assert "same file" in err and "--engine" in err
    assert (folder / name).read_bytes() == before


# --- a default path never replaces a file ---------------------------------

@pytest.mark.parametrize("argv, default, flag", [
    (["train", *TINY], "model.json", "--out model.json"),
    (["plot", "METRICS"], "curves.png", "--out curves.png"),
    (["graph", "x*y", "x=2", "y=3"], "out/graph.png", "--out out/graph.png"),
    (["explain", "--digit", "3"], "out/explain/explain.txt", "--out out/explain"),
])
def test_a_default_output_never_replaces_a_file(tmp_path, monkeypatch, capsys,
                                                metrics_file, argv, default, flag):
    monkeypatch.chdir(tmp_path)
    argv = [str(metrics_file) if a == "METRICS" else a for a in argv]
    Path(default).parent.mkdir(parents=True, exist_ok=True)
    Path(default).write_text("not yours to replace")
    err = usage_error(argv, capsys, argv[0])
    assert f"{default} exists and was not named" in err
    assert f"pass {flag} to replace it" in err
    assert Path(default).read_text() == "not yours to replace"


def test_a_named_output_still_replaces_its_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("out").mkdir()
    Path("out/graph.png").write_text("old")
    assert main(["graph", "x*y", "x=2", "y=3", "--out", "out/graph.png"]) == 0
    assert Path("out/graph.png").read_bytes().startswith(b"\x89PNG")


def test_explain_twice_in_a_named_folder_works(tmp_path, capsys):
    out = tmp_path / "ex"
    for _ in range(2):
        assert main(["explain", "--digit", "3", "--out", str(out)]) == 0
    assert (out / "explain.txt").is_file()


def test_train_without_out_writes_model_json_once(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *TINY]) == 0
    assert Path("model.json").is_file()


# --- tracebacks, a hang, silent garbage ---------------------------------------

import io
import subprocess
import sys

import tinygrad_edu
from tinygrad_edu.commands import own_engine, train as train_command
from tinygrad_edu.web.live import ServeError

ROOT = Path(tinygrad_edu.__file__).resolve().parent.parent


def tinygrad_edu_command(shell_line, **options):
    """Run ``shell_line`` in bash, with ``tinygrad-edu`` meaning this copy."""
    command = f"{sys.executable} -m tinygrad_edu"
    return subprocess.run(["bash", "-c", "set -o pipefail; " +
                           shell_line.replace("tinygrad-edu", command)],
                          capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
                          **options)


@pytest.fixture
def finished_workbook(tmp_path):
    """A workbook whose engine.py is whole (its one exercise is in nn.py)."""
    folder = tmp_path / "wb"
    assert main(["exercise", "--out", str(folder), "--only", "mlp"]) == 0
    return folder


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_a_port_out_of_range_is_a_usage_error(port, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)             # once, this trained into ./model.json
    err = usage_error(["train", "--live", "--port", port], capsys, "train")
    assert "--port" in err
    usage_error(["train", "--port", port], capsys, "train")      # without --live too


def test_step_on_an_engine_into_a_closed_pipe_is_quiet(finished_workbook):
    done = tinygrad_edu_command(f"tinygrad-edu step --engine {finished_workbook} "
                                f"--example three --all | head -1")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("The forward pass")


def test_an_engine_that_never_loads_is_stopped(finished_workbook, monkeypatch, capsys):
    engine = finished_workbook / "engine.py"
    engine.write_text(engine.read_text() + "\nwhile True:\n    pass\n")
    monkeypatch.setattr(own_engine, "TIME_LIMIT", 1.0)
    assert main(["step", "--engine", str(finished_workbook), "--all"]) == 1
    err = capsys.readouterr().err
    assert "took longer than 1 s" in err and "loop at the top level" in err


def test_stepping_on_an_engine_is_not_time_limited(finished_workbook, monkeypatch, capsys):
    monkeypatch.setattr(own_engine, "TIME_LIMIT", 30.0)
    assert main(["step", "--engine", str(finished_workbook), "--all",
                 "--expr", "x*x", "--var", "x=3"]) == 0


def metrics_with(change):
    metrics = good_metrics()
    change(metrics)
    return metrics


BAD_METRICS = {
    "no accuracy": (lambda m: m["history"][0].pop("train_accuracy"),
                    "history[0].train_accuracy should be a fraction"),
    "text accuracy": (lambda m: m["history"][1].update(test_accuracy="a"),
                      "history[1].test_accuracy should be a fraction"),
    "text steps": (lambda m: m.update(steps_per_epoch="x"),
                   "steps_per_epoch should be a whole number"),
    "dict of steps": (lambda m: m.update(step_loss={"a": 1}),
                      "step_loss should be a list of numbers"),
    "list of epochs": (lambda m: m.update(epochs=[1]),
                       "epochs should be a whole number"),
    "text epoch": (lambda m: m["history"][0].update(epoch="one"),
                   "history[0].epoch should be a whole number"),
    "no losses": (lambda m: [e.pop(k) for e in m["history"]
                             for k in ("train_loss", "test_loss")],
                  "holds no losses to draw"),
}


@pytest.mark.parametrize("case", sorted(BAD_METRICS))
def test_plot_names_what_is_wrong_with_a_metrics_file(case, tmp_path, capsys):
    change, message = BAD_METRICS[case]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(metrics_with(change)))
    err = usage_error(["plot", str(path), "--out", str(tmp_path / "c.png")],
                      capsys, "plot")
    assert message in err and "m.json" in err
    assert not (tmp_path / "c.png").exists()


def test_plot_of_one_epoch_says_one_epoch_and_warns_of_nothing(tmp_path):
    metrics = good_metrics()
    metrics.update(epochs=1, history=metrics["history"][:1], step_loss=None)
    for entry in metrics["history"]:
        entry["test_loss"] = None
    path = tmp_path / "m.json"
    path.write_text(json.dumps(metrics))
    done = tinygrad_edu_command(f"tinygrad-edu plot {path} --out {tmp_path}/c.png")
    assert done.returncode == 0, done.stderr
    assert "curves of 1 epoch drawn" in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize("engine", [False, True])
def test_a_closed_stdin_is_not_a_terminal(engine, finished_workbook):
    extra = f"--engine {finished_workbook}" if engine else ""
    done = tinygrad_edu_command(f"tinygrad-edu step {extra} 0<&-")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "your engine" not in done.stderr
    assert "quit at step 1 of 15; stdin ended, use --all" in done.stdout


def test_stdin_that_ends_says_how_to_print_every_step(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert main(["step"]) == 0
    assert "quit at step 2 of 15; stdin ended, use --all to print every step" \
        in capsys.readouterr().out


def test_an_empty_host_is_a_usage_error(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = usage_error(["train", *TINY, "--host", ""], capsys, "train")
    assert "the host is empty" in err


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True),
    ("0.0.0.0", False), ("192.168.1.5", False), ("myhost", False)])
def test_which_hosts_are_this_computer_only(host, loopback):
    assert train_command.is_loopback(host) is loopback


def test_a_host_the_network_sees_gets_a_warning(monkeypatch, tmp_path, capsys):
    def refuse(*args):
        raise ServeError("not serving in a test")
    monkeypatch.setattr(train_command, "LiveServer", refuse)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *TINY, "--live", "--host", "0.0.0.0", "--out",
              str(tmp_path / "m.json")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "warning: --host 0.0.0.0: the live page is visible to other computers" in err


@pytest.mark.parametrize("head", [b"PK\x03\x04\x14\x00\x00\x00", b"\x80\x02\x8a\nl\xfc\x9c"])
def test_a_binary_model_file_is_named_as_such(head, tmp_path, capsys):
    path = tmp_path / "m.pt"
    path.write_bytes(head + bytes(range(256)))
    for argv in (["predict", str(path)], ["step", "--model", str(path)],
                 ["export", "--to", "numpy", str(path), str(tmp_path / "x.npz")]):
        err = usage_error(argv, capsys, argv[0])
        assert f"{path} is not a tinygrad_edu model file" in err
        assert "JSON model file that 'tinygrad-edu train" in err
        assert "codec" not in err


# --- smaller things -----------------------------------------------------------

def test_exercise_paths_that_cannot_be_written_are_usage_errors(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    err = usage_error(["exercise", "--out", str(tmp_path / "afile" / "x")], capsys,
                      "exercise")
    assert "is a file, not a folder" in err
    err = usage_error(["exercise", "--out", "/proc/wb"], capsys, "exercise")
    assert "/proc/wb" in err


def test_check_on_a_file_says_it_is_a_file(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    err = usage_error(["check", str(tmp_path / "afile")], capsys, "check")
    assert "is a file, not a workbook folder" in err


def test_check_on_a_workbook_with_no_exercises_is_a_usage_error(tmp_path, capsys):
    folder = tmp_path / "wb"
    assert main(["exercise", "--out", str(folder), "--only", "add"]) == 0
    manifest = folder / "workbook.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "exercises": []}))
    err = usage_error(["check", str(folder)], capsys, "check")
    assert "lists no exercises" in err


def test_a_formula_starting_with_minus_gets_a_hint_that_works(tmp_path, capsys):
    err = usage_error(["graph", "-x*y", "x=1", "y=2"], capsys, "graph")
    assert "'(-x*y)'" in err and "--expr=-x*y" in err
    assert main(["graph", "(-x*y)", "x=1", "y=2", "--out", str(tmp_path / "g.png")]) == 0
    assert main(["graph", " -x*y", "x=1", "y=2", "--out", str(tmp_path / "h.png")]) == 0
    assert main(["step", "--expr=-x*y", "--var", "x=1", "--var", "y=2", "--all"]) == 0


@pytest.mark.parametrize("argv, message", [
    (["step", "--digit", "3"], "--digit only goes with --model"),
    (["step", "--index", "5"], "--index only goes with --model"),
    (["graph", "x*y", "x=2", "y=3", "--activation", "relu"], "--activation only goes with --neuron"),
    (["graph", "x*y", "x=2", "y=3", "--seed", "5"], "--seed only goes with --neuron"),
    (["graph", "x*y", "x=2", "y=3", "z=4"], "z is not in the formula"),
    (["graph", "x*y", "x=2", "x=3", "y=1"], "x is given a value more than once"),
    (["step", "--expr", "x*y", "--var", "x=1", "--var", "y=1", "--var", "q=3"],
     "q is not in the formula"),
])
def test_options_that_would_be_ignored_are_usage_errors(argv, message, capsys,
                                                         tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert message in usage_error(argv, capsys, argv[0])


def test_export_refuses_a_mismatched_extension(model_file, capsys):
    for to, name, right in (("numpy", "m.pt", ".npz"), ("torch", "m.npz", ".pt or .pth")):
        err = usage_error(["export", "--to", to, str(model_file),
                           str(model_file.parent / name)], capsys, "export")
        assert f"should end in {right} for --to {to}" in err
        assert not (model_file.parent / name).exists()


def test_explain_removes_only_its_own_stale_pictures(tmp_path, capsys):
    out = tmp_path / "ex"
    out.mkdir()
    stale = [out / "step9.png", out / "step2.svg"]
    mine = [out / "notes.txt", out / "step.png", out / "mystep1.png"]
    for path in stale + mine:
        path.write_text("old")
    assert main(["explain", "--digit", "3", "--out", str(out)]) == 0
    assert not any(path.exists() for path in stale)
    assert all(path.read_text() == "old" for path in mine)
    assert (out / "step1.png").is_file() and (out / "explain.txt").is_file()


def test_an_empty_plot_path_says_it_is_empty(metrics_file, capsys):
    err = usage_error(["plot", str(metrics_file), "--out", ""], capsys, "plot")
    assert "the path is empty" in err


def test_exercise_names_in_any_case(tmp_path, capsys):
    assert main(["exercise", "--out", str(tmp_path / "wb"), "--only", "ADD,Mul"]) == 0
    manifest = json.loads((tmp_path / "wb" / "workbook.json").read_text())
    assert [e["id"] for e in manifest["exercises"]] == ["add", "mul"]
