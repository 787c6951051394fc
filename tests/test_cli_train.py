"""``tinygrad-edu train`` and ``tinygrad-edu predict`` end to end (tiny runs)."""

import json
import re
import subprocess
import sys

import pytest

from tinygrad_edu.cli import build_parser, main
from tinygrad_edu.serialize import load_model

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


def test_the_installed_command_reports_bad_arguments_without_traceback():
    done = subprocess.run([sys.executable, "-m", "tinygrad_edu", "train",
                           "--per-class", "0"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "usage:" in done.stderr and "Traceback" not in done.stderr
