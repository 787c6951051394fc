"""Training through the fast engines ends where training through the plain engine does.

The tape engines replace only the per-batch gradient computation; the
optimizer, schedule, batch order and measuring are the training loop's. So a
few epochs through each engine, from the same seed, must end with the same
weights (to 1e-9) and report the same losses and accuracies.
"""

import pytest

from tinygrad_edu import MLP
from tinygrad_edu.learn.digits import load_digits
from tinygrad_edu.learn.losses import predicted_class
from tinygrad_edu.fast.engines import ENGINES, NUMPY
from tinygrad_edu.learn.training import VALUES, evaluate, train

numpy_evaluate = NUMPY.evaluate

CLASSES = [0, 1, 7]


@pytest.fixture(scope="module")
def digits():
    train_data = load_digits("train", classes=CLASSES, per_class=6, seed=1)
    test_data = load_digits("test", classes=CLASSES, per_class=4, seed=1)
    return train_data, test_data


def trained(engine, digits, loss, optimizer, activation="relu"):
    model = MLP(64, [6, len(CLASSES)], activation=activation, seed=3,
                classes=CLASSES)
    result = train(model, *digits, epochs=2, batch_size=5, optimizer=optimizer,
                   loss=loss, seed=2, engine=ENGINES[engine], log=None, progress=False)
    return model, result


@pytest.mark.parametrize("loss, optimizer, activation", [
    ("cross_entropy", "adam", "relu"),
    ("mse", "sgd", "tanh"),
])
def test_fast_engines_end_with_the_plain_engines_weights(digits, loss, optimizer,
                                                         activation):
    plain, plain_result = trained("values", digits, loss, optimizer, activation)
    start = MLP(64, [6, len(CLASSES)], activation=activation, seed=3,
                classes=CLASSES).state_dict()
    expected = plain.state_dict()
    assert max(abs(expected[k] - start[k]) for k in start) > 1e-3   # it trained
    for engine in ("tape", "numpy"):
        model, result = trained(engine, digits, loss, optimizer, activation)
        got = model.state_dict()
        assert max(abs(got[k] - expected[k]) for k in expected) <= 1e-9, engine
        for ours, theirs in zip(result.history, plain_result.history):
            for key in ("train_loss", "test_loss"):
                assert ours[key] == pytest.approx(theirs[key], abs=1e-9)
            for key in ("train_accuracy", "test_accuracy"):
                assert ours[key] == theirs[key]


def test_numpy_evaluate_matches_evaluate(digits):
    model = MLP(64, [5, len(CLASSES)], seed=4, classes=CLASSES)
    for loss in ("cross_entropy", "mse"):
        ours, theirs = numpy_evaluate(model, digits[1], loss), evaluate(model, digits[1], loss)
        assert ours["loss"] == pytest.approx(theirs["loss"], abs=1e-12)
        assert ours["accuracy"] == theirs["accuracy"]


def test_numpy_evaluate_explains_unknown_labels(digits):
    model = MLP(64, [5, 2], seed=4, classes=[0, 1])
    with pytest.raises(ValueError, match="no output"):
        numpy_evaluate(model, digits[1])


def test_the_engines_are_named_for_what_they_are():
    assert list(ENGINES) == ["values", "tape", "numpy"]
    assert ENGINES["values"] is VALUES
    assert all(engine.name == name for name, engine in ENGINES.items())


def test_numpy_evaluate_breaks_ties_as_predicted_class_does(digits):
    """Outputs [0, 1, 1] for every image: the first largest (class 1) wins."""
    model = MLP(64, [4, len(CLASSES)], seed=4, classes=CLASSES)
    for p in model.parameters():
        p.data = 0.0
    for neuron, bias in zip(model.layers[-1].neurons, (0.0, 1.0, 1.0)):
        neuron.b.data = bias
    images = digits[1][0][:5]
    data = (images, [1, 1, 1, 7, 0])
    assert [predicted_class(model(x)) for x in images] == [1] * 5
    for loss in ("cross_entropy", "mse"):
        assert numpy_evaluate(model, data, loss)["accuracy"] == 3 / 5
        assert evaluate(model, data, loss)["accuracy"] == 3 / 5


def test_the_numpy_engine_is_the_numpy_replay():
    assert ENGINES["numpy"] is NUMPY


def test_the_numpy_engine_trains_on_one_blas_thread_and_gives_them_back(digits):
    """Small matrices are quicker on one BLAS thread; the user's setting
    comes back after the run."""
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info()
                if lib["user_api"] == "blas"]

    before = blas_threads()
    assert before, "numpy's BLAS is not seen by threadpoolctl"
    seen = []
    train_data, test_data = digits
    train(MLP(64, [8, len(CLASSES)], classes=CLASSES), train_data, test_data, epochs=1,
          batch_size=16, engine=NUMPY, progress=False,
          on_step=lambda report: seen.append(blas_threads()))
    assert seen and all(threads == [1] * len(before) for threads in seen)
    assert blas_threads() == before


@pytest.mark.parametrize("name", ["tape", "numpy"])
def test_fast_evaluate_matches_evaluate_and_explains_bad_labels(digits, name, monkeypatch):
    import tinygrad_edu.fast.engines as engines
    import tinygrad_edu.learn.training as training_module
    engine = ENGINES[name]
    model = MLP(64, [5, len(CLASSES)], seed=4, classes=CLASSES)
    single = MLP(64, [3, 1], seed=1, classes=[CLASSES[0]])
    images = digits[1][0][:6]
    data = (images, [CLASSES[0]] * 6)
    expected = {loss: evaluate(model, digits[1], loss) for loss in ("cross_entropy", "mse")}
    expected_single = evaluate(single, data, "mse")
    with monkeypatch.context() as patched:      # valid data never falls back to Values
        for module in (engines, training_module):
            patched.setattr(module, "evaluate", lambda *a, **k: pytest.fail("fell back"))
        for loss in ("cross_entropy", "mse"):
            ours = engine.evaluate(model, digits[1], loss)
            assert ours["loss"] == pytest.approx(expected[loss]["loss"], abs=1e-12)
            assert ours["accuracy"] == expected[loss]["accuracy"]
        assert engine.evaluate(single, data, "mse") == pytest.approx(expected_single)
    with pytest.raises(ValueError, match="no output"):
        engine.evaluate(MLP(64, [5, 2], seed=4, classes=[0, 1]), digits[1])
    with pytest.raises(ValueError):
        engine.evaluate(model, (images, [[1, 0, 0]] * 6))        # one-hot labels
