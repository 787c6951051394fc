"""The pictures of a model leave it as they found it, draw what a diverged
model holds (NaN, infinity), handle one-output models, and take a class label
(plain or numpy) wherever they ask for one."""

import math

import numpy as np
import pytest

from tinygrad_edu import MLP, SGD, Value, cross_entropy, vsum
from tinygrad_edu.learn.digits import load_digits
from tinygrad_edu.pictures import (draw_graph, draw_network, draw_saliency,
                                   network_state, pixel_gradients)
from tinygrad_edu.pictures.explain import explain_steps
from tinygrad_edu.pictures.palette import NAN_COLOUR

NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def digits():
    return load_digits(classes=[0, 1, 2], per_class=4)


def trained_a_little(images, labels, classes=(0, 1, 2)):
    """A model with the batch's gradients in it, as between backward() and step()."""
    model = MLP(64, [8, len(classes)], seed=0, classes=list(classes))
    targets = [list(classes).index(label) for label in labels]
    loss = vsum([cross_entropy(model(x), t) for x, t in zip(images, targets)]) / len(images)
    loss.backward()
    return model


def grads(model):
    return [p.grad for p in model.parameters()]


# -- 1. a picture leaves every gradient as it found it -------------------------

PICTURES = {
    "draw_saliency": lambda m, x, label: draw_saliency(m, x, label),
    "pixel_gradients": lambda m, x, label: pixel_gradients(m, x, label),
    "draw_network": lambda m, x, label: draw_network(m, x, label),
    "network_state": lambda m, x, label: network_state(m, x, m.classes.index(label)),
    "explain_steps": lambda m, x, label: explain_steps(m, x, label),
    "explain_steps (text only)": lambda m, x, label: explain_steps(m, x, label, draw=False),
}


@pytest.mark.parametrize("name", PICTURES)
def test_a_picture_keeps_the_models_gradients(digits, name):
    images, labels = digits
    model = trained_a_little(images, labels)
    before = grads(model)
    assert sum(g != 0 for g in before) > 100        # the batch's gradients are there
    PICTURES[name](model, images[0], labels[0])
    assert grads(model) == before


def test_a_step_after_drawing_is_the_step_without(digits):
    images, labels = digits
    drawn, plain = trained_a_little(images, labels), trained_a_little(images, labels)
    draw_network(drawn, images[1], labels[1])
    draw_saliency(drawn, images[1], labels[1])
    for model in (drawn, plain):
        SGD(model.parameters(), lr=0.1).step()
    assert [p.data for p in drawn.parameters()] == [p.data for p in plain.parameters()]


def test_the_pictures_numbers_ignore_gradients_already_there(digits):
    """What the picture shows is this example's backprop, not added to the batch's."""
    images, labels = digits
    busy = trained_a_little(images, labels)
    clean = trained_a_little(images, labels)
    clean.zero_grad()
    image, target = images[2], labels[2]
    assert (network_state(busy, image, target).weight_changes
            == network_state(clean, image, target).weight_changes)
    assert (pixel_gradients(busy, image, target).loss_grads
            == pixel_gradients(clean, image, target).loss_grads)


def test_input_values_keep_their_gradients_too():
    model = MLP(3, [4, 2], seed=1)
    x = [Value(0.5, "a"), Value(1.0, "b"), Value(0.2, "c")]
    for v in x:
        v.grad = 7.0
    draw_network(model, x, 1)
    assert [v.grad for v in x] == [7.0, 7.0, 7.0]


# -- 2. NaN and infinity are drawn, and the picture says so ---------------------

def nan_weight_model():
    model = MLP(4, [3, 2], seed=0)
    model.layers[0].neurons[1].w[2].data = NAN
    return model


def test_draw_network_draws_a_nan_weight_and_says_so(tmp_path):
    from tinygrad_edu.pictures import render
    picture = draw_network(nan_weight_model(), [0.1] * 4, 0, lines_per_neuron=None)
    assert "1 of 18 weights is NaN" in picture.source
    assert NAN_COLOUR in picture.source                 # the line and circles
    assert render(picture, tmp_path / "nan.png").stat().st_size > 1000


def test_an_infinite_weight_is_drawn_as_the_largest():
    model = MLP(2, [2, 1], seed=0)
    model.layers[0].neurons[0].w[0].data = -INF
    source = draw_network(model, [0.0, 1.0], lines_per_neuron=None).source
    assert "1 of 6 weights is infinite" in source
    (line,) = [l for l in source.splitlines() if "n0_0 -> n1_0" in l]
    assert "#b2182bff" in line and "penwidth=3.00" in line   # full red, thickest


def test_nan_inputs_draw_in_every_model_picture(digits):
    images, labels = digits
    model = trained_a_little(images, labels)
    nan_image = [NAN] * 64
    network = draw_network(model, nan_image, 0).source
    assert "64 of 64 inputs are NaN" in network and NAN_COLOUR in network
    saliency = draw_saliency(model, nan_image, 0).source
    assert "64 of 64 pixels are NaN" in saliency and NAN_COLOUR in saliency
    steps = explain_steps(model, nan_image, 0)
    assert all("NaN" in step.picture.source for step in steps)
    assert steps[0].text.startswith("The loss is NaN")
    assert steps[-1].text.startswith("The network cannot say: its outputs are NaN.")


def test_draw_graph_draws_nan_gradients_and_says_so():
    x = Value(NAN, "x")
    y = x * Value(2.0, "w")
    y.label = "y"
    y.backward()
    source = draw_graph(y).source
    assert NAN_COLOUR in source and "1 of 3 gradients is NaN" in source


@pytest.mark.parametrize("scale", [NAN, INF, -1.0, 0.0, "a", True])
def test_draw_graph_refuses_a_bad_grad_scale(scale):
    y = Value(2.0, "a") * Value(3.0, "b")
    y.backward()
    with pytest.raises((ValueError, TypeError), match="grad_scale must be a positive"):
        draw_graph(y, grad_scale=scale)


@pytest.mark.parametrize("limit", ["5", 0, -3, 2.5, True])
def test_draw_graph_refuses_a_bad_max_nodes(limit):
    y = Value(2.0, "a") * Value(3.0, "b")
    with pytest.raises((ValueError, TypeError), match="max_nodes must be a positive whole"):
        draw_graph(y, max_nodes=limit)


def test_draw_graph_takes_numpy_numbers_for_its_limits():
    y = Value(2.0, "a") * Value(3.0, "b")
    y.backward()
    assert "|grad| 3" in draw_graph(y, grad_scale=np.float64(3.0),
                                    max_nodes=np.int64(10)).source


def test_a_bad_network_scale_is_refused():
    with pytest.raises(ValueError, match="scale must be two positive"):
        draw_network(MLP(2, [2, 1], seed=0), [0.0, 1.0], scale=(NAN, 1.0))


# -- 3. one output ---------------------------------------------------------------

def central_difference(f, xs, i, h=1e-6):
    up, down = list(xs), list(xs)
    up[i] += h
    down[i] -= h
    return (f(up) - f(down)) / (2 * h)


def test_saliency_of_a_one_output_model(digits):
    images, _ = digits
    model = MLP(64, [4, 1], seed=3, classes=[3])
    g = pixel_gradients(model, images[0], 3)
    out = lambda pixels: model(pixels).data                  # noqa: E731
    for i in (10, 27, 44):
        assert g.output_grads[i] == pytest.approx(
            central_difference(out, images[0], i), rel=1e-4, abs=1e-9)
    assert 'the network says \\"3' in draw_saliency(model, images[0], 3).source


def test_explain_steps_of_a_one_output_model(digits):
    images, _ = digits
    model = MLP(64, [4, 1], seed=3, classes=[3])
    steps = explain_steps(model, images[0], 3)
    assert len(steps) == 4                                  # output, weights, hidden, pixels
    assert "only one output" in steps[0].text


# -- 4. a class label everywhere, plain or numpy ----------------------------------

def test_draw_network_takes_the_class_label(digits):
    images, _ = digits
    model = MLP(64, [5, 3], seed=0, classes=[3, 5, 7])
    by_label = draw_network(model, images[0], 7).source
    by_state = draw_network(model, None, state=network_state(model, images[0], 2)).source
    assert by_label == by_state
    with pytest.raises(ValueError, match=r"output 2 is the class 7"):
        draw_network(model, images[0], 2)
    with pytest.raises(ValueError, match=r"index 0\.\.2 \(class 7 is index 2\)"):
        network_state(model, images[0], 7)


def test_numpy_labels_are_taken():
    images, labels = load_digits(classes=[0, 1, 2], per_class=2, as_numpy=True)
    model = MLP(64, [6, 3], seed=0, classes=[0, 1, 2])
    label = labels[0]
    assert isinstance(label, np.integer)
    plain = int(label)
    image = images[0].tolist()
    assert draw_network(model, image, label).source == draw_network(model, image, plain).source
    assert draw_saliency(model, image, label).source == draw_saliency(model, image, plain).source
    assert network_state(model, image, label).loss == network_state(model, image, plain).loss
    assert ([s.text for s in explain_steps(model, image, label, draw=False)]
            == [s.text for s in explain_steps(model, image, plain, draw=False)])
    # a numpy image row and a numpy label, as load_digits(as_numpy=True) gives them
    assert draw_network(model, images[0], label).source == draw_network(model, image, plain).source
    from tinygrad_edu.pictures.explain import choose_image
    position, _ = choose_image(model, images[:2], label, "first", np.int64(1))
    assert type(position) is int
    focus = (np.int64(1), np.int64(0))
    assert "penwidth=4" in draw_network(model, image, label, focus=focus).source


def test_draw_graph_takes_fold_none_as_explore_spells_it():
    from tinygrad_edu import Value, draw_graph
    x = Value(2.0, "x")
    y = x * x
    assert draw_graph(y, fold="none").source == draw_graph(y, fold=None).source
    with pytest.raises(ValueError, match="'none'"):
        draw_graph(y, fold="nothing")
