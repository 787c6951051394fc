"""Model files and the commands that read them: limits checked before
anything is allocated, one-line errors instead of tracebacks, and a model
whose numbers blow up is reported as such, never printed as a number."""

import json
import os

import pytest

from tinygrad_edu.cli import main
from tinygrad_edu.learn import serialize
from tinygrad_edu.learn.nn import MLP
from tinygrad_edu.learn.serialize import ModelFileError, load_model, save_model

from cli_checks import usage_error


def model_data(tmp_path, sizes=(3, 4), classes=(0, 1, 2, 3)):
    """A valid digits model's dict, saved once to read back."""
    path = save_model(MLP(64, list(sizes), seed=0, classes=list(classes)),
                      tmp_path / "valid.json")
    return json.loads(path.read_text())


def write(tmp_path, data, name="m.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


# --- limits, before allocation -------------------------------------------

def test_a_float_size_is_refused_before_building(tmp_path, monkeypatch):
    data = model_data(tmp_path)
    data["config"]["sizes"] = [2000000000, 4.0]

    def no_building(*args, **kwargs):
        raise AssertionError("built the network before checking its sizes")
    monkeypatch.setattr(serialize, "MLP", no_building)
    with pytest.raises(ModelFileError, match=r"whole number, got 4\.0"):
        load_model(write(tmp_path, data))


def test_too_many_layers_or_weights_are_refused_naming_the_limit(tmp_path):
    MAX_LAYERS, MAX_WEIGHTS = serialize.MAX_LAYERS, serialize.MAX_WEIGHTS
    data = model_data(tmp_path)
    data["config"]["sizes"] = [2] * (MAX_LAYERS + 1)
    with pytest.raises(ModelFileError, match=f"{MAX_LAYERS + 1} layers is more "
                                             f"than the limit of {MAX_LAYERS}"):
        load_model(write(tmp_path, data))
    data["config"]["sizes"] = [2000, 2000, 4]
    with pytest.raises(ModelFileError, match=f"limit of {MAX_WEIGHTS:,}"):
        load_model(write(tmp_path, data))


@pytest.mark.parametrize("hidden, words", [
    (["1000000000"], "weights is more than the limit"),
    (["2"] * 60, "61 layers is more than the limit of 50"),
])
def test_train_hidden_sizes_have_limits(hidden, words, tmp_path, capsys):
    err = usage_error(["train", "--hidden", *hidden, "--out",
                       str(tmp_path / "m.json")], capsys)
    assert "argument --hidden:" in err and words in err


def test_json_nested_very_deep_is_a_clear_error(tmp_path):
    path = write(tmp_path, "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match="nested 100000 levels deep"):
        load_model(path)


def test_a_huge_integer_weight_is_refused_by_name(tmp_path):
    data = model_data(tmp_path)
    name = next(iter(data["weights"]))
    text = json.dumps(data).replace(json.dumps(data["weights"][name]), "9" * 401, 1)
    with pytest.raises(ModelFileError, match=f"the weight {name} is an integer "
                                             f"of 401 digits"):
        load_model(write(tmp_path, text))


def test_non_finite_weights_are_refused_by_name(tmp_path):
    data = model_data(tmp_path)
    name = next(iter(data["weights"]))
    text = json.dumps(data).replace(json.dumps(data["weights"][name]), "1e400", 1)
    with pytest.raises(ModelFileError, match=f"the weight {name} reads as inf"):
        load_model(write(tmp_path, text))


@pytest.mark.parametrize("version", [True, 1.0, "1"])
def test_version_must_be_the_integer_1(version, tmp_path):
    data = model_data(tmp_path)
    data["version"] = version
    with pytest.raises(ModelFileError, match="model format version"):
        load_model(write(tmp_path, data))


@pytest.mark.parametrize("info", ["text", [1, 2], {"loss": "hinge"}, {"loss": [1]}])
def test_a_damaged_info_entry_is_a_model_file_error(info, tmp_path):
    data = model_data(tmp_path)
    data["info"] = info
    with pytest.raises(ModelFileError, match="info|loss"):
        load_model(write(tmp_path, data))


@pytest.mark.parametrize("command", [["predict", "{model}"],
                                     ["explain", "--digit", "1", "--model", "{model}"],
                                     ["step", "--model", "{model}"]])
def test_commands_report_a_damaged_info_in_one_line(command, tmp_path, capsys):
    data = model_data(tmp_path)
    data["info"] = {"loss": "hinge"}
    path = write(tmp_path, data)
    err = usage_error([part.format(model=path) for part in command], capsys)
    assert "'hinge'" in err and "Traceback" not in err


# --- folders and FIFOs given as the model --------------------------------

def test_a_folder_or_fifo_as_the_model_is_named_as_such(tmp_path, capsys):
    err = usage_error(["predict", str(tmp_path)], capsys)
    assert "is a folder, not a model file" in err
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)                       # opening it to read would wait forever
    err = usage_error(["predict", str(fifo)], capsys)
    assert "not a regular file" in err


# --- a model whose numbers blow up ----------------------------------------

def blown_up_model(tmp_path, weight):
    data = model_data(tmp_path)
    data["weights"] = {name: weight for name in data["weights"]}
    return write(tmp_path, data, "huge.json")


@pytest.mark.parametrize("weight", [1e100, 1e200])
@pytest.mark.parametrize("command", [
    ["predict", "{model}"],
    ["explain", "--digit", "1", "--model", "{model}", "--out", "{out}"],
    ["step", "--model", "{model}", "--all"],
])
def test_a_model_that_overflows_is_reported_not_printed(command, weight, tmp_path,
                                                        capsys):
    path = blown_up_model(tmp_path, weight)
    argv = [part.format(model=path, out=tmp_path / "explain") for part in command]
    err = usage_error(argv, capsys)
    assert "blow up" in err and "train it again" in err
    assert "nan" not in capsys.readouterr().out


def test_a_healthy_model_passes_the_forward_check(tmp_path, capsys):
    path = save_model(MLP(64, [3, 4], seed=0, classes=[0, 1, 2, 3]),
                      tmp_path / "ok.json")
    assert main(["step", "--model", str(path), "--all"]) == 0
    assert "done: backward pass complete" in capsys.readouterr().out


@pytest.mark.parametrize("sizes", [[4] * 11, [30, 10]])
def test_explain_refuses_a_model_too_big_to_draw_in_reasonable_time(sizes, tmp_path,
                                                                   capsys, monkeypatch):
    from tinygrad_edu.commands import explain
    monkeypatch.setattr(explain, "MAX_EXPLAIN_NEURONS", 39)   # a small model will do
    path = save_model(MLP(64, sizes, seed=0), tmp_path / "big.json")
    err = usage_error(["explain", "--digit", "1", "--model", str(path), "--out",
                       str(tmp_path / "e")], capsys)
    assert "explain draws every neuron" in err and "at most 10 layers and 39" in err
    assert not (tmp_path / "e" / "step1.png").exists()
