"""Model files: exact round trip, clear errors, and atomic saving."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tinygrad_edu import MLP, Value
from tinygrad_edu import output
from tinygrad_edu.learn import serialize
from tinygrad_edu.learn.serialize import (ModelFileError, load_model, load_weights,
                                    save_model)


def make_model(seed=0):
    return MLP(6, [5, 3], activation="tanh", seed=seed, classes=[2, 5, 9])


def outputs(model, x):
    return [o.data for o in model([Value(v) for v in x])]


def test_round_trip_is_exact(tmp_path):
    model = make_model(seed=4)
    for p in model.parameters():            # awkward floats survive exactly
        p.data = p.data / 3.0 + 1e-17
    path = save_model(model, tmp_path / "m.json", info={"test_accuracy": 0.9})
    loaded = load_model(path)
    assert loaded.state_dict() == model.state_dict()
    assert loaded.config() == model.config()
    assert loaded.classes == [2, 5, 9]
    assert loaded.info == {"test_accuracy": 0.9}
    x = [0.1, 0.9, 0.3, 0.0, 1.0, 0.5]
    assert outputs(loaded, x) == outputs(model, x)
    data = json.loads(path.read_text())       # plain JSON, no pickle
    assert data["format"] == "tinygrad_edu.mlp" and data["version"] == 1


def test_load_weights_into_a_model_of_the_same_shape(tmp_path):
    path = save_model(make_model(seed=1), tmp_path / "m.json")
    target = make_model(seed=2)
    load_weights(target, path)
    assert target.state_dict() == make_model(seed=1).state_dict()


def test_another_architecture_is_a_clear_error(tmp_path):
    path = save_model(make_model(), tmp_path / "m.json")
    other = MLP(6, [4, 3], activation="tanh", seed=0)
    before = other.state_dict()
    with pytest.raises(ModelFileError, match="another architecture"):
        load_weights(other, path)
    assert other.state_dict() == before
    # a file whose weights do not fit its own architecture
    data = json.loads(path.read_text())
    data["config"]["sizes"] = [7, 3]
    path.write_text(json.dumps(data))
    with pytest.raises(ModelFileError, match="do not fit"):
        load_model(path)


def test_truncated_file_is_a_clear_error(tmp_path):
    path = save_model(make_model(), tmp_path / "m.json")
    text = path.read_text()
    path.write_text(text[:len(text) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        load_model(path)


@pytest.mark.parametrize("content, message", [
    ('{"test_accuracy": 0.95, "epochs": 10}', "not a tinygrad_edu model"),
    ("[1, 2, 3]", "not a tinygrad_edu model"),
    ("hello", "not valid JSON"),
    ('{"format": "tinygrad_edu.mlp", "version": 99}', "version 99"),
    ('{"format": "tinygrad_edu.mlp", "version": 1, "config": {}}', "'classes'"),
])
def test_non_model_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_missing_and_binary_files_are_clear_errors(tmp_path):
    with pytest.raises(ModelFileError, match="no model file"):
        load_model(tmp_path / "nope.json")
    (tmp_path / "b.json").write_bytes(b"\x80\x04\x95 pickle-ish")
    with pytest.raises(ModelFileError, match="cannot read|not a readable"):
        load_model(tmp_path / "b.json")


def test_nan_weights_are_neither_saved_nor_loaded(tmp_path):
    model = make_model()
    model.parameters()[0].data = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        save_model(model, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()
    good = save_model(make_model(), tmp_path / "g.json")
    good.write_text(good.read_text().replace('"layers.0.neurons.0.b": 0.0',
                                             '"layers.0.neurons.0.b": NaN'))
    with pytest.raises(ModelFileError):
        load_model(good)


def test_a_save_that_fails_midway_keeps_the_old_file(tmp_path, monkeypatch):
    path = save_model(make_model(seed=1), tmp_path / "m.json")
    old_text = path.read_text()

    def write_half_then_die(file, data, chunk_size=65536):
        file.write(data[:len(data) // 2])
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(output, "_write_chunks", write_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        save_model(make_model(seed=2), path)
    assert path.read_text() == old_text
    assert os.listdir(tmp_path) == ["m.json"]          # no temp file left


KILLED_SAVER = textwrap.dedent("""
    import sys, time
    from tinygrad_edu import MLP, output
    from tinygrad_edu.learn import serialize

    def write_slowly(file, data, chunk_size=65536):
        file.write(data[:len(data) // 2])
        file.flush()
        print("half written", flush=True)
        time.sleep(60)                       # killed here

    output._write_chunks = write_slowly
    serialize.save_model(MLP(6, [5, 3], seed=2), sys.argv[1])
""")


def test_a_killed_save_keeps_the_old_file(tmp_path):
    path = save_model(make_model(seed=1), tmp_path / "m.json")
    old_text = path.read_text()
    saver = subprocess.Popen([sys.executable, "-c", KILLED_SAVER, str(path)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert saver.stdout.readline().strip() == "half written"
        temp_files = [name for name in os.listdir(tmp_path) if name != "m.json"]
        assert len(temp_files) == 1                 # the half-written new file
    finally:
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        saver.stdout.close()
    assert path.read_text() == old_text
    assert load_model(path).state_dict() == make_model(seed=1).state_dict()


def test_huge_numbers_that_read_as_infinity_are_refused(tmp_path):
    path = save_model(make_model(), tmp_path / "m.json")
    data = json.loads(path.read_text())
    name = next(iter(data["weights"]))
    text = json.dumps(data).replace(f'"{name}": {data["weights"][name]!r}',
                                    f'"{name}": 1e400')
    assert "1e400" in text
    path.write_text(text)
    with pytest.raises(ModelFileError, match=f"the weight {name} reads as inf, "
                                             f"not a finite number"):
        load_model(path)
    with pytest.raises(ModelFileError, match="not a finite number"):
        load_weights(make_model(), path)


def test_a_damaged_config_is_refused_before_building_the_network(tmp_path,
                                                                 monkeypatch):
    path = save_model(make_model(), tmp_path / "m.json")
    data = json.loads(path.read_text())
    data["config"]["sizes"] = [2, 1000000000]
    path.write_text(json.dumps(data))

    def no_building(*args, **kwargs):
        raise AssertionError("built the network before counting the weights")
    monkeypatch.setattr(serialize, "MLP", no_building)
    with pytest.raises(ModelFileError, match=r"3,000,000,014 weights is more "
                                             r"than the limit of 1,000,000"):
        load_model(path)
    data["config"]["sizes"] = [2, 3]                  # within limits, wrong count
    path.write_text(json.dumps(data))
    with pytest.raises(ModelFileError, match=r"weights do not fit .* need "
                                             r"23 weights, the file has 53"):
        load_model(path)


def test_parameter_count_matches_a_real_network():
    model = MLP(7, [5, 4, 3])
    assert serialize.parameter_count(7, [5, 4, 3]) == len(model.parameters())
