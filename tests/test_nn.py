"""Networks: shapes, names, seeded initialisation, and whole-network gradients
checked against an independent backprop written by hand in numpy."""

import math

import numpy as np
import pytest

from tinygrad_edu import MLP, Layer, Neuron, Value, vsum
from tinygrad_edu.learn.nn import init_scale
from tinygrad_edu.learn.training import batch_loss_and_grads


# ----------------------------------------------------------------------
# A hand-written numpy MLP (forward and backward), independent of the engine.
# ----------------------------------------------------------------------

def weights_as_arrays(model):
    """[(W, b)] per layer, W[j, i] = weight i of neuron j."""
    return [(np.array([[w.data for w in n.w] for n in layer.neurons]),
             np.array([n.b.data for n in layer.neurons]))
            for layer in model.layers]


NUMPY_ACTIVATIONS = {
    # name: (function, derivative given pre-activation z)
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)),
                lambda z: np.exp(-z) / (1.0 + np.exp(-z)) ** 2),
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
}


def numpy_loss_and_grads(layers, acts, X, targets, loss):
    """Mean loss over the batch and [(dW, db)] per layer, by hand."""
    batch = X.shape[0]
    a, zs, inputs = X, [], []
    for (W, b), act in zip(layers, acts):
        inputs.append(a)
        z = a @ W.T + b
        zs.append(z)
        a = NUMPY_ACTIVATIONS[act][0](z)
    n_out = a.shape[1]
    onehot = np.eye(n_out)[targets]
    if loss == "cross_entropy":
        z = a                                  # logits (linear output)
        shifted = z - z.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        value = -(log_probs * onehot).sum() / batch
        d_out = (np.exp(log_probs) - onehot) / batch
    else:
        value = ((a - onehot) ** 2).sum() / n_out / batch
        d_out = 2.0 * (a - onehot) / n_out / batch
    grads = [None] * len(layers)
    d_a = d_out
    for k in reversed(range(len(layers))):
        d_z = d_a * NUMPY_ACTIVATIONS[acts[k]][1](zs[k])
        grads[k] = (d_z.T @ inputs[k], d_z.sum(axis=0))
        d_a = d_z @ layers[k][0]
    return value, grads


@pytest.mark.parametrize("loss, activation, output_activation", [
    ("cross_entropy", "relu", "linear"),
    ("cross_entropy", "tanh", "linear"),
    ("mse", "sigmoid", "linear"),
    ("mse", "tanh", "sigmoid"),
])
def test_whole_mlp_gradient_matches_numpy_backprop(loss, activation, output_activation):
    rng = np.random.default_rng(1)
    model = MLP(10, [7, 5, 4], activation=activation,
                output_activation=output_activation, seed=3)
    X = rng.normal(0, 1, size=(6, 10))
    targets = [0, 3, 1, 2, 3, 0]

    engine_loss = batch_loss_and_grads(model, X.tolist(), targets, loss)

    layers = weights_as_arrays(model)
    acts = [activation] * 2 + [output_activation]
    numpy_loss, grads = numpy_loss_and_grads(layers, acts, X, targets, loss)
    assert engine_loss == pytest.approx(numpy_loss, abs=1e-12)
    for layer, (dW, db) in zip(model.layers, grads):
        engine_dW = np.array([[w.grad for w in n.w] for n in layer.neurons])
        engine_db = np.array([n.b.grad for n in layer.neurons])
        assert np.abs(engine_dW - dW).max() < 1e-9
        assert np.abs(engine_db - db).max() < 1e-9
    # and the gradients are not trivially zero
    assert np.abs(grads[0][0]).max() > 1e-4


def test_one_neuron_returns_a_single_value_as_in_micrograd():
    layer = Layer(3, 1, "tanh")
    assert isinstance(layer([1.0, 2.0, 3.0]), Value)
    listed = layer.outputs([1.0, 2.0, 3.0])
    assert isinstance(listed, list) and len(listed) == 1
    net = MLP(2, [3, 1], seed=0)
    out = net([1.0, 2.0])
    assert isinstance(out, Value)
    assert [o.data for o in net.outputs([1.0, 2.0])] == [out.data]
    assert [len(layer) for layer in net.forward_all([1.0, 2.0])] == [2, 3, 1]


def test_wider_layers_return_lists_and_a_hidden_layer_of_one_works():
    assert len(Layer(3, 2)([1.0, 2.0, 3.0])) == 2
    net = MLP(2, [1, 3], activation="tanh", seed=0)   # a one-neuron bottleneck
    out = net([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 3


def test_a_single_output_model_trains_evaluates_and_compiles():
    from tinygrad_edu.fast.traced_losses import compile_loss
    from tinygrad_edu.learn.training import evaluate, train
    net = MLP(2, [4, 1], seed=0)
    data = ([[0.0, 1.0], [1.0, 0.0]], [0, 0])
    train(net, data, epochs=1, batch_size=2, loss="mse", log=None)
    assert evaluate(net, data, loss="mse")["accuracy"] == 1.0
    tape = compile_loss(net, "mse", ([0.5, 0.5], 0))
    expected = (net([0.5, 0.5]) - 1.0) ** 2
    assert abs(tape.forward([0.5, 0.5], 0) - expected.data) < 1e-12


def test_neuron_computes_activation_of_weighted_sum():
    n = Neuron(2, "tanh")
    n.w[0].data, n.w[1].data, n.b.data = 0.5, -1.0, 0.25
    assert n([2.0, 1.0]).data == pytest.approx(math.tanh(0.5 * 2 - 1 + 0.25))


def test_named_parameters_have_readable_names():
    model = MLP(64, [16, 16, 10])
    names = [name for name, _ in model.named_parameters()]
    assert "layers.1.neurons.5.w.12" in names
    assert "layers.2.neurons.9.b" in names
    assert len(names) == len(set(names)) == 64 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10
    assert dict(model.named_parameters())["layers.1.neurons.5.w.12"] is \
        model.layers[1].neurons[5].w[12]


def test_same_seed_same_network_other_seed_other_network():
    a, b, c = MLP(8, [4, 2], seed=7), MLP(8, [4, 2], seed=7), MLP(8, [4, 2], seed=8)
    assert a.state_dict() == b.state_dict()
    assert a.state_dict() != c.state_dict()


def test_initial_weights_are_fan_in_scaled():
    model = MLP(400, [300, 10], activation="relu")
    first = np.array([w.data for n in model.layers[0].neurons for w in n.w])
    assert first.std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert init_scale(100, "tanh") == pytest.approx(0.1)
    assert all(n.b.data == 0.0 for layer in model.layers for n in layer.neurons)


def test_zero_grad_and_state_dict_round_trip():
    model = MLP(3, [2, 2], seed=1)
    for p in model.parameters():
        p.grad = 1.0
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    other = MLP(3, [2, 2], seed=2)
    other.load_state_dict(model.state_dict())
    assert other.state_dict() == model.state_dict()


def test_load_state_dict_of_another_shape_is_refused_and_changes_nothing():
    model = MLP(3, [2, 2], seed=1)
    before = model.state_dict()
    with pytest.raises(ValueError, match="do not fit"):
        model.load_state_dict(MLP(3, [4, 2]).state_dict())
    assert model.state_dict() == before


def test_classes_label_the_outputs():
    assert MLP(4, [3, 2]).classes == [0, 1]
    assert MLP(4, [3, 2], classes=[3, 7]).classes == [3, 7]
    with pytest.raises(ValueError, match="one label per output"):
        MLP(4, [3, 2], classes=[1, 2, 3])
    with pytest.raises(ValueError, match="twice"):
        MLP(4, [3, 2], classes=[1, 1])


@pytest.mark.parametrize("bad", [dict(nin=0, sizes=[2]), dict(nin=2, sizes=[]),
                                 dict(nin=2, sizes=[2], activation="swish")])
def test_bad_architectures_are_clear_errors(bad):
    with pytest.raises(ValueError):
        MLP(**bad)


def test_plain_number_inputs_become_values_once_per_layer():
    from tinygrad_edu.engine import topological_order
    net = MLP(64, [16, 10], seed=0)
    x = [i / 64 for i in range(64)]
    out = net(x)
    leaves = [v for v in topological_order(vsum(out)) if not v.parents]
    parameters = {id(p) for p in net.parameters()}
    inputs = [v for v in leaves if id(v) not in parameters]
    assert len(inputs) == 64            # not 16 neurons x 64
    same = net([Value(v) for v in x])
    assert [o.data for o in out] == [o.data for o in same]
