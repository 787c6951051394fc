"""Static curves: `tinygrad-edu train --plot` and `tinygrad-edu plot`, and the
per-step losses in the metrics file they are drawn from."""

import json

import pytest

from cli_checks import usage_error
from tinygrad_edu.cli import main

TINY = ["train", "--classes", "0", "1", "--per-class", "6", "--hidden", "4",
        "--epochs", "2", "--batch-size", "4", "--quiet"]


@pytest.fixture(scope="module")
def metrics_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plot")
    assert main([*TINY, "--out", str(folder / "model.json"), "--metrics",
                 str(folder / "metrics.json"), "--plot", str(folder / "curves.png"),
                 "--report", str(folder / "report.html")]) == 0
    return folder / "metrics.json"


def test_metrics_hold_every_steps_loss(metrics_file):
    metrics = json.loads(metrics_file.read_text())
    assert metrics["steps_per_epoch"] == 3                  # 12 images, 4 a batch
    assert len(metrics["step_loss"]) == 2 * 3
    assert all(loss > 0 for loss in metrics["step_loss"])
    model = json.loads((metrics_file.parent / "model.json").read_text())
    assert "step_loss" not in json.dumps(model)             # the model file stays small


def test_train_plot_draws_a_png(metrics_file):
    assert (metrics_file.parent / "curves.png").read_bytes().startswith(b"\x89PNG")


def test_plot_redraws_the_curves_as_svg(metrics_file, tmp_path, capsys):
    out = tmp_path / "curves.svg"
    assert main(["plot", str(metrics_file), "--out", str(out)]) == 0
    svg = out.read_text()
    assert "<svg" in svg and "accuracy" in svg
    assert f"drawn to {out}" in capsys.readouterr().out


def test_plot_refuses_what_it_cannot_draw(tmp_path, capsys):
    not_json = tmp_path / "notes.json"
    not_json.write_text("hello")
    assert "is not JSON" in usage_error(["plot", str(not_json)], capsys, "plot")
    no_history = tmp_path / "other.json"
    no_history.write_text('{"a": 1}')
    assert "no per-epoch history" in usage_error(["plot", str(no_history)], capsys, "plot")
    assert "cannot read" in usage_error(["plot", str(tmp_path / "missing.json")], capsys, "plot")
    assert ".png or .svg" in usage_error(["plot", str(not_json), "--out", "x.gif"],
                                         capsys, "plot")
    assert ".png or .svg" in usage_error([*TINY, "--plot", "x.jpg"], capsys, "train")


def test_report_without_live_holds_every_epoch(metrics_file):
    """--report alone: no server, the same events, ending with the end event."""
    from tinygrad_edu.web.page import unpack_data
    events = unpack_data((metrics_file.parent / "report.html").read_text())["events"]
    metrics = json.loads(metrics_file.read_text())
    assert [e["type"] for e in events][0] == "start" and events[-1]["type"] == "end"
    epochs = [e for e in events if e["type"] == "epoch"]
    assert [e["test_accuracy"] for e in epochs] == [h["test_accuracy"]
                                                    for h in metrics["history"]]
