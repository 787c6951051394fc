"""The training loop on a fixed tiny subset of the digits."""

import math

import pytest

from tinygrad_edu import MLP
from tinygrad_edu.learn.digits import load_digits
from tinygrad_edu.learn.training import (TrainingDiverged,
                                   batch_loss_and_grads, evaluate,
                                   learning_rate_at, train)

CLASSES = [0, 1, 7]


@pytest.fixture(scope="module")
def tiny():
    return (load_digits("train", classes=CLASSES, per_class=10, seed=0),
            load_digits("test", classes=CLASSES, per_class=20, seed=0))


def tiny_model(seed=0):
    return MLP(64, [8, 3], activation="tanh", seed=seed, classes=CLASSES)


def test_training_lowers_the_loss_and_beats_chance(tiny):
    train_data, test_data = tiny
    model = tiny_model()
    before = evaluate(model, train_data)
    lines = []
    result = train(model, train_data, test_data, epochs=4, batch_size=5,
                   lr=0.02, seed=0, log=lines.append)
    after = result.final
    assert after["train_loss"] < 0.5 * before["loss"]
    assert after["train_accuracy"] >= 0.9
    assert after["test_accuracy"] >= 0.7            # chance is 1/3
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4]
    assert len(lines) == 4 and "test loss" in lines[0] and "epoch 4/4" in lines[3]
    metrics = result.metrics()
    assert metrics["test_accuracy"] == after["test_accuracy"]
    assert metrics["epochs"] == 4 and metrics["seconds"] > 0


def test_same_seed_same_weights_other_seed_other_weights(tiny):
    train_data, _ = tiny
    runs = []
    for seed in (3, 3, 4):
        model = tiny_model()
        train(model, train_data, epochs=1, batch_size=5, seed=seed, log=None)
        runs.append(model.state_dict())
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_sgd_with_momentum_also_learns(tiny):
    train_data, _ = tiny
    model = tiny_model()
    result = train(model, train_data, epochs=3, batch_size=5, optimizer="sgd",
                   lr=0.2, log=None)
    assert result.final["train_accuracy"] >= 0.8


def test_a_plugged_in_engine_is_used_for_every_step(tiny):
    train_data, _ = tiny
    calls = []

    def counting_engine(model, xs, targets, loss):
        calls.append(len(xs))
        return batch_loss_and_grads(model, xs, targets, loss)

    model = tiny_model()
    train(model, train_data, epochs=2, batch_size=8, engine=counting_engine, log=None)
    assert calls == [8, 8, 8, 6] * 2
    with pytest.raises(ValueError, match="unknown engine"):
        train(tiny_model(), train_data, engine="warp", log=None)


def test_nan_loss_stops_training_naming_epoch_and_step(tiny):
    train_data, _ = tiny
    steps = []

    def engine_that_breaks(model, xs, targets, loss):
        steps.append(1)
        value = batch_loss_and_grads(model, xs, targets, loss)
        return math.nan if len(steps) == 9 else value    # epoch 2, step 3

    with pytest.raises(TrainingDiverged, match=r"epoch 2, step 3 of 6.*nan.*"
                                               r"smaller"):
        train(tiny_model(), train_data, epochs=3, batch_size=5,
              engine=engine_that_breaks, log=None)


def test_a_huge_learning_rate_is_caught_as_divergence(tiny):
    train_data, _ = tiny
    model = MLP(64, [4, 3], activation="linear", classes=CLASSES)
    with pytest.raises(TrainingDiverged, match=r"epoch \d+, step \d+.*learning rate"):
        train(model, train_data, epochs=5, batch_size=10, optimizer="sgd",
              lr=1e3, loss="mse", log=None)


def test_labels_the_model_has_no_output_for_are_refused(tiny):
    train_data, _ = tiny
    model = MLP(64, [4, 2], classes=[0, 1])
    with pytest.raises(ValueError, match=r"labels \[7\].*no output"):
        train(model, train_data, log=None)


def test_evaluate_builds_no_graph_and_changes_no_gradient(tiny):
    _, test_data = tiny
    model = tiny_model()
    for p in model.parameters():
        p.grad = 0.5
    stats = evaluate(model, test_data)
    assert 0 <= stats["accuracy"] <= 1 and stats["loss"] > 0
    assert all(p.grad == 0.5 for p in model.parameters())


def test_cosine_schedule_glides_from_lr_to_zero():
    assert learning_rate_at(0, 100, 0.1, "cosine") == pytest.approx(0.1)
    assert learning_rate_at(50, 100, 0.1, "cosine") == pytest.approx(0.05)
    assert learning_rate_at(100, 100, 0.1, "cosine") == pytest.approx(0.0)
    assert learning_rate_at(70, 100, 0.1, "constant") == 0.1


def test_progress_bars_draw_only_when_asked_or_on_a_terminal(tiny, capsys):
    train_data, _ = tiny
    train(tiny_model(), train_data, epochs=1, batch_size=10, log=None)
    assert capsys.readouterr().err == ""        # stderr is no terminal here
    train(tiny_model(), train_data, epochs=2, batch_size=10, log=None,
          progress=False)
    assert capsys.readouterr().err == ""
    train(tiny_model(), train_data, epochs=2, batch_size=10, log=None,
          progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "/3 [" in err
