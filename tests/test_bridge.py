"""Leaving for PyTorch and numpy: same numbers, same gradients, clear errors.

PyTorch is installed for the tests (.ci/setup installs its CPU build); the
behaviour without it is checked by hiding the module.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from cli_checks import usage_error
from tinygrad_edu import MLP, Value, from_torch, to_torch, vsum
from tinygrad_edu.cli import main
from tinygrad_edu.fast.engines import ENGINES
from tinygrad_edu.learn import LOSSES, evaluate, load_digits, save_model, train
from tinygrad_edu.learn.bridge import TORCH_INSTALL, layer_weights
from tinygrad_edu.learn.training import _targets

nn = torch.nn


@pytest.fixture(scope="module")
def digits():
    return load_digits("train", per_class=3, seed=1)      # 30 real digits


def torch_loss(outputs, targets, loss):
    """The same loss as ours, written with PyTorch's own functions."""
    if loss == "cross_entropy":
        return nn.functional.cross_entropy(outputs, targets)
    one_hot = nn.functional.one_hot(targets, outputs.shape[1]).double()
    return ((outputs - one_hot) ** 2).mean()


@pytest.mark.parametrize("activation, output_activation, loss", [
    ("relu", "linear", "cross_entropy"),
    ("tanh", "sigmoid", "mse"),
    ("sigmoid", "tanh", "mse"),
])
def test_torch_outputs_and_gradients_equal_ours(digits, activation, output_activation, loss):
    images, labels = digits
    model = MLP(64, [16, 16, 10], activation=activation,
                output_activation=output_activation, seed=3)
    module = to_torch(model)
    targets = _targets(labels, model.classes)

    # ours: the mean loss over the batch, through the Value graph
    ours_out = [model.outputs(x) for x in images]
    mean = vsum([LOSSES[loss](o, t) for o, t in zip(ours_out, targets)]) / len(images)
    model.zero_grad()
    mean.backward()

    # PyTorch's
    outputs = module(torch.tensor(images, dtype=torch.float64))
    theirs = torch_loss(outputs, torch.tensor(targets), loss)
    theirs.backward()

    assert outputs.dtype == torch.float64
    assert np.abs(outputs.detach().numpy()
                  - [[o.data for o in out] for out in ours_out]).max() < 1e-12
    assert abs(theirs.item() - mean.data) < 1e-12
    linears = [m for m in module if isinstance(m, nn.Linear)]
    for layer, linear in zip(model.layers, linears):
        dW = [[w.grad for w in n.w] for n in layer.neurons]
        db = [n.b.grad for n in layer.neurons]
        assert np.abs(linear.weight.grad.numpy() - dW).max() < 1e-12
        assert np.abs(linear.bias.grad.numpy() - db).max() < 1e-12
    assert np.abs(linears[0].weight.grad.numpy()).max() > 1e-6    # not all zero


def test_a_model_trained_here_scores_the_same_in_torch(tmp_path, capsys):
    classes = [0, 1, 2, 3]
    train_data = load_digits("train", classes=classes, per_class=25, seed=0)
    test_images, test_labels = load_digits("test", classes=classes)
    model = MLP(64, [16, 4], seed=0, classes=classes)
    train(model, train_data, epochs=4, engine=ENGINES["numpy"], log=None)
    ours = evaluate(model, (test_images, test_labels))["accuracy"]
    save_model(model, tmp_path / "model.json")

    assert main(["export", "--to", "torch", str(tmp_path / "model.json"),
                 str(tmp_path / "model.pt")]) == 0
    printed = capsys.readouterr().out.splitlines()

    # A PyTorch user runs the code the command printed, then scores the
    # test digits with torch alone (in a fresh process, from a file).
    code = [line[4:] for line in printed[1:]]
    assert "nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 4))" in code[2]
    (tmp_path / "test.json").write_text(json.dumps([test_images, test_labels]))
    script = tmp_path / "in_torch.py"
    script.write_text("\n".join(code + [
        "import json",
        "images, labels = json.load(open('test.json'))",
        "with torch.no_grad():",
        "    guesses = model(torch.tensor(images, dtype=torch.float64)).argmax(1)",
        "right = [classes[g] == label for g, label in zip(guesses.tolist(), labels)]",
        "print(repr(sum(right) / len(right)))"]))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert ours > 0.8
    assert float(done.stdout) == ours


def test_numpy_export_computes_the_same_outputs(tmp_path, digits):
    model = MLP(64, [8, 10], activation="tanh", seed=2)
    save_model(model, tmp_path / "m.json")
    assert main(["export", "--to", "numpy", str(tmp_path / "m.json"),
                 str(tmp_path / "m.npz")]) == 0
    arrays = np.load(tmp_path / "m.npz", allow_pickle=False)
    assert list(arrays["activations"]) == ["tanh", "linear"]
    assert list(arrays["classes"]) == list(range(10))
    x = np.array(digits[0][:5])
    h = np.tanh(x @ arrays["layers.0.weight"].T + arrays["layers.0.bias"])
    out = h @ arrays["layers.1.weight"].T + arrays["layers.1.bias"]
    assert np.abs(out - [[o.data for o in model.outputs(row)] for row in digits[0][:5]]).max() < 1e-12


def test_from_torch_round_trips_and_takes_a_module_made_in_torch():
    model = MLP(5, [4, 3, 2], activation="tanh", output_activation="sigmoid",
                seed=4, classes=["a", "b"])
    back = from_torch(to_torch(model))
    assert back.state_dict() == model.state_dict()
    assert back.config()["activation"] == "tanh" and back.classes == ["a", "b"]

    torch.manual_seed(0)
    made_in_torch = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 1))
    ours = from_torch(made_in_torch)
    x = [0.3, -0.7, 1.1]
    expected = made_in_torch(torch.tensor([x])).item()      # float32 in torch
    assert isinstance(ours(x), Value)                        # one output
    assert abs(ours(x).data - expected) < 1e-6
    assert from_torch(nn.Linear(2, 3)).sizes == [3]


def test_to_torch_takes_another_dtype():
    module = to_torch(MLP(2, [3]), dtype=torch.float32)
    assert module[0].weight.dtype == torch.float32


@pytest.mark.parametrize("module, reason", [
    (nn.Sequential(nn.Conv2d(1, 1, 3)), "holds a Conv2d at position 0"),
    (nn.Sequential(nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 1)), "holds a GELU at position 1"),
    (nn.Sequential(nn.ReLU(), nn.Linear(2, 2)), "ReLU at position 0 comes before any Linear"),
    (nn.Linear(2, 2, bias=False), "has no bias"),
    (nn.Sequential(nn.Linear(2, 3), nn.Linear(2, 2)), "takes 2 inputs but the layer before gives 3"),
    (nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh()), "follows another activation"),
    (nn.Sequential(), "holds no Linear layer"),
    (nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1)),
     "different activations"),
])
def test_from_torch_on_an_unsupported_module_is_one_clear_line(module, reason):
    with pytest.raises(ValueError) as error:
        from_torch(module)
    assert reason in str(error.value)
    assert "\n" not in str(error.value)


def test_layer_weights_use_torch_layout():
    model = MLP(3, [2], seed=0)
    (weights, biases, activation), = layer_weights(model)
    assert weights[1][2] == model.layers[0].neurons[1].w[2].data
    assert activation == "linear" and biases == [0.0, 0.0]


# ----------------------------------------------------------------------
# Without PyTorch, and when the file cannot be written.
# ----------------------------------------------------------------------

def test_without_torch_one_line_names_the_install_command(tmp_path):
    save_model(MLP(2, [2]), tmp_path / "m.json")
    code = ("import sys; sys.modules['torch'] = None\n"
            "from tinygrad_edu import MLP, to_torch\n"
            "try:\n    to_torch(MLP(2, [2]))\n"
            "except ModuleNotFoundError as error:\n    print(error)\n"
            "from tinygrad_edu.cli import main\n"
            f"sys.exit(main(['export', '--to', 'torch', {str(tmp_path / 'm.json')!r}, "
            f"{str(tmp_path / 'm.pt')!r}]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == f"PyTorch is not installed; install it with: {TORCH_INSTALL}"
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"tinygrad-edu export: error: PyTorch is not installed; install it with: {TORCH_INSTALL}")
    assert not (tmp_path / "m.pt").exists()


def test_an_export_path_that_cannot_be_written_is_a_usage_error(tmp_path, capsys):
    save_model(MLP(2, [2]), tmp_path / "m.json")
    (tmp_path / "file").write_text("not a folder")
    err = usage_error(["export", "--to", "torch", str(tmp_path / "m.json"),
                       str(tmp_path / "file" / "m.pt")], capsys, "export")
    assert "is a file, not a folder" in err
    err = usage_error(["export", "--to", "numpy", str(tmp_path / "m.json"),
                       str(tmp_path)], capsys, "export")
    assert "it is a folder" in err


def test_a_failure_while_writing_leaves_the_old_file_whole(tmp_path, capsys, monkeypatch):
    import tinygrad_edu.output as output
    save_model(MLP(2, [2]), tmp_path / "m.json")
    old = tmp_path / "m.pt"
    old.write_bytes(b"the old export")

    def disk_full(file, data, chunk_size=65536):
        file.write(data[:10])
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(output, "_write_chunks", disk_full)
    assert main(["export", "--to", "torch", str(tmp_path / "m.json"), str(old)]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert old.read_bytes() == b"the old export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.pt"]  # no temp file


def test_a_missing_model_is_a_usage_error(tmp_path, capsys):
    err = usage_error(["export", "--to", "numpy", str(tmp_path / "none.json"),
                       str(tmp_path / "out.npz")], capsys, "export")
    assert "no model file" in err
    assert not (tmp_path / "out.npz").exists()
