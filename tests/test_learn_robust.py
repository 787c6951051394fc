"""The learning API's answers to careless input: bad data is named, not blamed
on the learning rate; numpy numbers are numbers; an optimizer steps each
weight once; a NaN output is never a right answer; a model with NaN weights
leaves by no door; common slips get one clear line."""

import json
import math

import numpy as np
import pytest
import torch

from tinygrad_edu.engine import Value
from tinygrad_edu.learn import bridge
from tinygrad_edu.learn.digits import load_digits
from tinygrad_edu.learn.losses import accuracy, cross_entropy, mse, one_hot
from tinygrad_edu.learn.nn import MLP, Layer, Neuron
from tinygrad_edu.learn.optim import SGD, Adam
from tinygrad_edu.learn.serialize import load_model, load_weights, save_model
from tinygrad_edu.learn.training import evaluate, train


def small_data(n=12, nin=4):
    """A tiny two-class data set: class 1 has ink in the first half."""
    images = [[(0.9 if (i % 2 and j < nin // 2) else 0.1) for j in range(nin)]
              for i in range(n)]
    return images, [i % 2 for i in range(n)]


def quiet_train(model, data, **kwargs):
    kwargs.setdefault("epochs", 1)
    return train(model, data, log=None, progress=False, **kwargs)


# --- 1. train() blames the data or the setup, not the learning rate -------

@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_pixel_is_refused_naming_the_image(bad):
    images, labels = small_data()
    images[3] = list(images[3])
    images[3][2] = bad
    with pytest.raises(ValueError, match=r"image 3 has pixel 2 = .*not a finite number"):
        quiet_train(MLP(4, [3, 2]), (images, labels))
    with pytest.raises(ValueError, match="image 3"):
        evaluate(MLP(4, [3, 2]), (images, labels))


def test_a_non_finite_test_pixel_is_refused_before_training():
    images, labels = small_data()
    test_images = [list(image) for image in images]
    test_images[5][0] = math.nan
    with pytest.raises(ValueError, match=r"the test data: image 5 has pixel 0"):
        train(MLP(4, [3, 2]), (images, labels), (test_images, labels), epochs=1,
              log=None, progress=False)


def test_an_optimizer_of_another_model_is_refused():
    model, other = MLP(4, [3, 2], seed=0), MLP(4, [3, 2], seed=1)
    with pytest.raises(ValueError, match="another model's parameters"):
        quiet_train(model, small_data(), optimizer=SGD(other.parameters(), lr=0.1))


def test_an_optimizer_of_some_of_the_models_weights_is_fine():
    model = MLP(4, [3, 2], seed=0)
    last = model.layers[-1].parameters()
    quiet_train(model, small_data(), optimizer=SGD(last, lr=0.1))


def test_a_one_output_model_is_not_called_diverged_at_chance():
    model = MLP(4, [3, 1], classes=[5])
    result = quiet_train(model, ([[0.1] * 4] * 4, [5] * 4), epochs=3)
    assert result.final["train_accuracy"] == 1.0


def test_a_run_that_diverges_on_raw_pixels_says_so():
    from tinygrad_edu.learn.training import TrainingDiverged
    images, labels = load_digits(classes=[0, 1, 2], per_class=4)
    raw = [[16 * p for p in image] for image in images]
    with pytest.raises(TrainingDiverged, match=r"the inputs reach 16: scale them to about 0..1"):
        quiet_train(MLP(64, [8, 3], seed=0), (raw, labels), epochs=3)


# --- 2. numpy numbers are numbers, and are kept as plain ones -------------

def test_numpy_labels_and_sizes_are_accepted():
    images, labels = load_digits(classes=[0, 1, 2], per_class=2, as_numpy=True)
    model = MLP(np.int64(64), [np.int64(3)], classes=np.unique(labels))
    assert cross_entropy(model(images[0]), labels[0]).data > 0
    assert one_hot(np.int64(1), 3) == [0.0, 1.0, 0.0]
    assert type(model.nin) is int and all(type(s) is int for s in model.sizes)
    assert all(type(c) is int for c in model.classes)
    _, digits = load_digits(classes=np.array([1, 2]), per_class=np.int64(2))
    assert sorted(digits) == [1, 1, 2, 2]


def test_a_model_with_numpy_classes_saves_and_loads(tmp_path):
    images, labels = load_digits(classes=[3, 7], per_class=4, as_numpy=True)
    model = MLP(64, [4, 2], classes=np.unique(labels), seed=np.int64(2))
    quiet_train(model, (images, labels))
    back = load_model(save_model(model, tmp_path / "m.json"))
    assert back.classes == [3, 7] and back.state_dict() == model.state_dict()


def test_numpy_floats_are_accepted_as_rates_and_weights():
    model = MLP(2, [2])
    optimizer = SGD(model.parameters(), lr=np.float32(0.1), momentum=np.float64(0.5))
    assert type(optimizer.lr) is float
    Adam(model.parameters(), lr=np.float32(0.01), betas=(np.float32(0.9), 0.999))
    model.load_state_dict({name: np.float32(0.5) for name in model.state_dict()})
    assert set(model.state_dict().values()) == {0.5}
    assert all(type(w) is float for w in model.state_dict().values())


def test_numpy_labels_train():
    images, labels = small_data()
    quiet_train(MLP(4, [3, 2]), (np.array(images), np.array(labels)))


# --- 3. each parameter once ------------------------------------------------

@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1), lambda ps: Adam(ps)])
def test_an_optimizer_refuses_a_parameter_given_twice(make):
    w = Value(1.0)
    with pytest.raises(ValueError, match="same parameter twice"):
        make([w, Value(2.0), w])


# --- 4. a NaN output is wrong ---------------------------------------------

def test_a_nan_output_is_never_a_right_answer():
    assert accuracy([[math.nan, math.nan]], [0]) == 0.0
    assert accuracy([[math.nan, 1.0], [0.2, 0.1]], [0, 0]) == 0.5
    assert accuracy([[math.inf, 1.0]], [0]) == 1.0            # inf still ranks


@pytest.mark.parametrize("engine", ["values", "tape", "numpy"])
def test_evaluate_counts_a_nan_model_as_always_wrong(engine):
    from tinygrad_edu.fast import ENGINES
    model = MLP(4, [3, 2])
    for p in model.parameters():
        p.data = math.nan
    images, _ = small_data(4)
    assert ENGINES[engine].evaluate(model, (images, [0, 0, 0, 1]))["accuracy"] == 0.0


# --- 5. non-finite weights leave by no door -------------------------------

def nan_model():
    model = MLP(3, [2, 2])
    model.layers[0].neurons[1].w[2].data = math.nan
    return model


@pytest.mark.parametrize("export", [
    lambda m, p: save_model(m, p / "m.json"),
    lambda m, p: bridge.save_numpy(m, p / "m.npz"),
    lambda m, p: bridge.to_numpy(m),
    lambda m, p: bridge.to_torch(m),
    lambda m, p: bridge.save_torch(m, p / "m.pt"),
])
def test_every_way_out_refuses_non_finite_weights(export, tmp_path):
    with pytest.raises(ValueError, match=r"non-finite weights \(layers.0.neurons.1.w.2 = nan\)"):
        export(nan_model(), tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- 6. labels are whole numbers; pixels are numbers ----------------------

@pytest.mark.parametrize("label, message", [
    (1.7, r"label 2 is 1.7; labels are whole numbers"),
    ("1", r"label 2 is '1'; labels are whole numbers"),
    ("a", r"label 2 is 'a'; labels are whole numbers"),
    ([0.0, 1.0], r"label 2 is \[0.0, 1.0\]; give class labels such as 3, not one-hot vectors"),
    (None, r"label 2 is None"),
    (True, r"label 2 is True"),
])
def test_a_label_that_is_not_a_whole_number_is_refused(label, message):
    images, labels = small_data()
    labels[2] = label
    with pytest.raises(ValueError, match=message):
        quiet_train(MLP(4, [3, 2]), (images, labels))


def test_whole_floats_and_string_classes_are_labels():
    images, labels = small_data()
    quiet_train(MLP(4, [3, 2]), (images, [float(label) for label in labels]))
    quiet_train(MLP(4, [3, 2], classes=["no", "yes"]),
                (images, [["no", "yes"][label] for label in labels]))


def test_a_pixel_that_is_not_a_number_is_named():
    images, labels = small_data()
    images[4] = [0.1, None, 0.2, 0.3]
    with pytest.raises(TypeError, match=r"image 4 has None as pixel 1, not a number"):
        quiet_train(MLP(4, [3, 2]), (images, labels))


# --- 7. common slips, one clear line each ----------------------------------

def test_optimizer_slips():
    model = MLP(3, [2])
    with pytest.raises(TypeError, match=r"not the MLP itself; pass model.parameters\(\)"):
        SGD(model)
    with pytest.raises(TypeError, match=r"call it: pass model.parameters\(\)"):
        SGD(model.parameters)
    with pytest.raises(TypeError, match=r"a list of Values, got a int"):
        SGD(3)
    with pytest.raises(ValueError, match=r"betas must be a pair"):
        Adam(model.parameters(), betas=(0.9,))


def test_model_slips():
    with pytest.raises(TypeError, match=r"give the layer sizes as a list, e.g. MLP\(nin, \[5\]\)"):
        MLP(3, 5)
    with pytest.raises(ValueError, match="every layer size must be a positive whole number, got 2.0"):
        MLP(3, [2.0])
    with pytest.raises(TypeError, match=r"takes a list of numbers, one per input, got 3.0"):
        MLP(1, [2])(3.0)
    with pytest.raises(ValueError, match=r"class label must be a whole number or a string"):
        MLP(2, [2], classes=[(0, 1), (2, 3)])
    with pytest.raises(TypeError, match="Value needs a real number"):
        MLP(2, [2])(["a", 1.0])                      # the engine's own message


def test_loss_slips():
    with pytest.raises(TypeError, match=r"for a class label use one_hot\(label, 2\)"):
        mse([Value(0.0), Value(1.0)], 1)


def test_train_slips():
    data = small_data()
    with pytest.raises(TypeError, match=r"optimizer is the class SGD, not an optimizer"):
        quiet_train(MLP(4, [3, 2]), data, optimizer=SGD)
    with pytest.raises(TypeError, match=r"train takes an MLP, got a Neuron"):
        quiet_train(Neuron(4), data)
    model = MLP(4, [3, 2])
    with pytest.raises(ValueError, match=r"lr=5.0 was given with an optimizer object"):
        quiet_train(model, data, optimizer=SGD(model.parameters(), lr=0.1), lr=5.0)
    with pytest.raises(TypeError, match=r"on_step must be a function"):
        quiet_train(model, data, on_step=5)


def test_bridge_slips():
    for part in (Neuron(3), Layer(3, 2)):
        with pytest.raises(TypeError, match=r"to_torch takes an MLP, got a (Neuron|Layer)"):
            bridge.to_torch(part)
    model = MLP(3, [2])
    assert bridge.to_torch(model, dtype="float32")[0].weight.dtype == torch.float32
    with pytest.raises(ValueError, match="dtype must be a floating-point torch dtype"):
        bridge.to_torch(model, dtype="int64")
    with pytest.raises(TypeError, match="from_torch takes a PyTorch module"):
        bridge.from_torch(model.state_dict())


def test_file_slips(tmp_path):
    model, path = MLP(3, [2]), tmp_path / "m.json"
    with pytest.raises(TypeError, match=r"the model comes first: save_model\(model, path\)"):
        save_model(str(path), model)
    save_model(model, path)
    with pytest.raises(TypeError, match=r"use load_weights\(model, path\)"):
        load_model(model)
    with pytest.raises(TypeError, match=r"load_weights takes an MLP"):
        load_weights(path, model)


def test_info_is_made_plain_or_refused_clearly(tmp_path):
    model, path = MLP(3, [2]), tmp_path / "m.json"
    save_model(model, path, info={"accuracy": np.float32(0.5), "epochs": np.int64(3),
                                  "history": [{"loss": np.float64(0.25)}]})
    info = json.loads(path.read_text())["info"]
    assert info == {"accuracy": 0.5, "epochs": 3, "history": [{"loss": 0.25}]}
    with pytest.raises(ValueError, match=r"info\['a'\] is nan, which a model file cannot hold"):
        save_model(model, path, info={"a": math.nan})
    with pytest.raises(TypeError, match=r"info\['b'\]\[0\] is a set"):
        save_model(model, path, info={"b": [{1}]})


def test_accuracy_is_a_plain_float_with_numpy_labels():
    import numpy as np
    from tinygrad_edu.learn.losses import accuracy
    result = accuracy([[0.1, 0.9], [0.8, 0.2]], np.array([1, 1]))
    assert type(result) is float and result == 0.5
