"""``tinygrad-edu train`` and ``tinygrad-edu predict`` end to end (tiny runs)."""

import json
import re
import subprocess
import sys

import pytest

from tinygrad_edu.cli import build_parser, main
from tinygrad_edu.learn.serialize import load_model

from cli_checks import usage_error

TINY = ["--classes", "3", "8", "--per-class", "6", "--hidden", "6",
        "--epochs", "2", "--batch-size", "4", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    model, metrics = folder / "out" / "model.json", folder / "out" / "metrics.json"
    code = main(["train", *TINY, "--out", str(model), "--metrics", str(metrics)])
    return code, model, metrics


def test_train_saves_a_model_and_metrics(trained):
    code, model_path, metrics_path = trained
    assert code == 0
    metrics = json.loads(metrics_path.read_text())
    for key in ("test_accuracy", "train_accuracy", "train_loss", "test_loss",
                "epochs", "seconds"):
        assert key in metrics
    assert metrics["epochs"] == 2 and metrics["classes"] == [3, 8]
    assert metrics["train_images"] == 12 and metrics["test_images"] == 357
    assert 0.5 < metrics["test_accuracy"] <= 1.0      # two classes: chance is 0.5
    model = load_model(model_path)
    assert model.classes == [3, 8] and model.sizes == [6, 2]
    assert model.info["test_accuracy"] == metrics["test_accuracy"]


def test_predict_shows_a_digit_and_probabilities(trained, capsys):
    _, model_path, _ = trained
    assert main(["predict", str(model_path), "--index", "2"]) == 0
    out = capsys.readouterr().out
    assert "true digit:" in out and "prediction:" in out
    rows = re.findall(r"^  (\d)\s+([\d.]+)%", out, flags=re.MULTILINE)
    assert [digit for digit, _ in rows] == ["3", "8"]
    assert sum(float(percent) for _, percent in rows) == pytest.approx(100, abs=0.2)


def test_defaults_train_all_ten_classes_on_the_whole_training_set():
    args = build_parser().parse_args(["train"])
    assert args.classes is None and args.per_class is None
    assert args.hidden == [64, 32] and args.out == "model.json"


@pytest.mark.parametrize("argv", [
    ["train", "--classes", "11"], ["train", "--per-class", "0"],
    ["train", "--hidden", "-3"], ["train", "--lr", "-1"],
    ["train", "--classes", "2", "2"], ["train", "--classes", "5"],
    ["train", "--classes", "0", "1", "--per-class", "100000"],
    ["train", "--activation", "swish"],
    ["predict", "does/not/exist.json"],
])
def test_invalid_arguments_give_usage_and_exit_2(argv, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(argv + (["--out", str(tmp_path / "m.json")] if argv[0] == "train" else []))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "error:" in err and "Traceback" not in err
    assert not (tmp_path / "m.json").exists()


def test_predict_refuses_a_metrics_file_with_exit_2(trained, capsys):
    _, _, metrics_path = trained
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(metrics_path)])
    assert exit_info.value.code == 2
    assert "not a tinygrad_edu model" in capsys.readouterr().err


def test_a_diverging_run_exits_1_and_saves_nothing(tmp_path, capsys):
    out = tmp_path / "model.json"
    code = main(["train", "--classes", "0", "1", "--per-class", "5", "--hidden", "4",
                 "--activation", "linear", "--loss", "mse", "--optimizer", "sgd",
                 "--lr", "1000", "--epochs", "5", "--quiet", "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert "diverged at epoch" in err and "Nothing was saved" in err
    assert not out.exists()


def test_a_diverging_run_leaves_no_empty_folders(tmp_path, capsys):
    """The output folders are made when something is written, not before."""
    code = main(["train", "--classes", "0", "1", "--per-class", "5", "--hidden", "4",
                 "--activation", "linear", "--loss", "mse", "--optimizer", "sgd",
                 "--lr", "1000", "--epochs", "5", "--quiet",
                 "--out", str(tmp_path / "new" / "deeper" / "model.json"),
                 "--metrics", str(tmp_path / "other" / "metrics.json")])
    assert code == 1 and "Nothing was saved" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_installed_command_reports_bad_arguments_without_traceback():
    done = subprocess.run([sys.executable, "-m", "tinygrad_edu", "train",
                           "--per-class", "0"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "usage:" in done.stderr and "Traceback" not in done.stderr


def test_the_model_file_records_the_loss(trained):
    _, model_path, _ = trained
    assert load_model(model_path).info["loss"] == "cross_entropy"


@pytest.mark.parametrize("flag", ["--out", "--metrics"])
def test_bad_output_paths_are_refused_before_training(flag, tmp_path, capsys,
                                                      monkeypatch):
    from tinygrad_edu.commands import train as train_command

    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking the output paths")
    monkeypatch.setattr(train_command, "train", no_training)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    folder = tmp_path / "folder"
    folder.mkdir()
    ok = ["--out", str(tmp_path / "m.json")] if flag == "--metrics" else []
    for bad, words in ((blocker / "x.json", "a_file is a file, not a folder"),
                       (folder, "it is a folder, not a file")):
        err = usage_error(["train", *TINY, *ok, flag, str(bad)], capsys)
        assert f"argument {flag}: cannot write {bad}" in err and words in err
        assert "choose another path" in err
    assert not (tmp_path / "m.json").exists()


def test_save_failing_after_training_is_exit_1(tmp_path, capsys, monkeypatch):
    from tinygrad_edu import output

    def disk_full(path, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(output, "_replace", disk_full)
    code = main(["train", *TINY, "--out", str(tmp_path / "m.json")])
    assert code == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "usage" not in err


def test_predict_picture_in_a_new_folder(trained, tmp_path, capsys):
    _, model_path, _ = trained
    picture = tmp_path / "new" / "a.png"
    assert main(["predict", str(model_path), "--picture", str(picture)]) == 0
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_predict_bad_picture_paths_are_refused_before_printing(trained, tmp_path,
                                                               capsys):
    _, model_path, _ = trained
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    for bad in (blocker / "a.png", tmp_path):
        with pytest.raises(SystemExit) as exit_info:
            main(["predict", str(model_path), "--picture", str(bad)])
        assert exit_info.value.code == 2
        printed = capsys.readouterr()
        assert "argument --picture: cannot write" in printed.err
        assert "usage:" in printed.err and printed.out == ""


def test_predict_refuses_a_model_of_another_input_size(tmp_path, capsys):
    from tinygrad_edu import MLP
    from tinygrad_edu.learn.serialize import save_model
    path = save_model(MLP(6, [4, 10], seed=0), tmp_path / "m.json")
    assert "takes 6 inputs, not the 64 pixels" in usage_error(
        ["predict", str(path)], capsys)


def test_help_metavars_match_the_docs():
    """Each ``--flag METAVAR`` in --help is written the same way in docs/cli-*.md."""
    from pathlib import Path
    docs = Path(__file__).resolve().parents[1] / "docs"
    for command in ("train", "predict", "graph", "explain", "step"):
        parser = build_parser()._subparsers._group_actions[0].choices[command]
        text = (docs / f"cli-{command}.md").read_text()
        for action in parser._actions:
            if action.option_strings and action.metavar:
                flag = f"{action.option_strings[0]} {action.metavar}"
                assert flag in text, f"docs/cli-{command}.md lacks `{flag}`"


def test_predict_and_export_take_the_model_as_explain_does_too(trained, capsys, tmp_path):
    """``--model FILE`` (the spelling of explain and step) works as the first
    argument does; both at once, or neither, is a usage error naming the fix."""
    _, model_path, _ = trained
    assert main(["predict", "--model", str(model_path), "--index", "2"]) == 0
    assert "prediction:" in capsys.readouterr().out
    err = usage_error(["predict", str(model_path), "--model", str(model_path)],
                      capsys, "predict")
    assert "give the model file once" in err
    err = usage_error(["predict"], capsys, "predict")
    assert "the model file is missing" in err
    out_file = tmp_path / "weights.npz"
    assert main(["export", "--to", "numpy", "--model", str(model_path), str(out_file)]) == 0
    assert out_file.stat().st_size > 0
    err = usage_error(["export", "--to", "numpy", str(tmp_path / "w2.npz")], capsys, "export")
    assert "the model file is missing" in err and not (tmp_path / "w2.npz").exists()


def test_an_unknown_flag_is_named_with_the_commands_own_usage(capsys):
    err = usage_error(["explain", "--digit", "3", "--modle", "m.json"], capsys, "explain")
    assert "unrecognized arguments: --modle m.json" in err
    err = usage_error(["--bogus"], capsys)
    assert "unrecognized arguments: --bogus" in err
