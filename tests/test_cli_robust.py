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
