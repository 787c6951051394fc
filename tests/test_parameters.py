"""Parameters are what the user says they are, not what their labels look like."""

from tinygrad_edu import MLP, Value
from tinygrad_edu.learn.serialize import load_model, save_model
from tinygrad_edu.watch.tracing import backward_steps, describe, format_trace


def test_a_value_is_a_parameter_only_when_marked():
    assert Value(1.0, "w").is_parameter is False
    assert Value(1.0, "x", parameter=True).is_parameter is True
    assert (Value(1.0, parameter=True) * 2).is_parameter is False   # results never


def test_every_weight_and_bias_of_a_model_is_marked_also_after_loading(tmp_path):
    net = MLP(3, [4, 2], seed=0)
    assert all(p.is_parameter for p in net.parameters())
    loaded = load_model(save_model(net, tmp_path / "m.json"))
    assert all(p.is_parameter for p in loaded.parameters())


def test_the_trace_and_the_steps_call_weights_parameters_not_inputs():
    net = MLP(2, [1], seed=0)
    x = [Value(0.5, "x.0"), Value(-1.0, "x.1")]
    out = net(x)                      # one output neuron: one Value
    out.label = "out"
    assert describe(net.layers[0].neurons[0].w[0]) == "parameter"
    assert describe(x[0]) == "input"
    rows = {line.split()[1]: line.split()[2] for line in
            format_trace(out).splitlines()[1:]}
    assert rows["layers.0.neurons.0.w.0"] == rows["layers.0.neurons.0.b"] == "parameter"
    assert rows["x.0"] == "input"
    leaves = {s.value.name: s.header() for s in backward_steps(out) if s.is_leaf}
    assert "= -0.9875 (parameter), grad -1.0000" in leaves["layers.0.neurons.0.w.1"]
    assert "= -1.0000 (input), grad -0.9875" in leaves["x.1"]
