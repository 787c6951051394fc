"""draw_network: the article's picture of the network, before and after backprop."""

import re

import pytest

from tinygrad_edu import MLP
from tinygrad_edu.pictures import draw_network, render
from tinygrad_edu.pictures.network import NEURON, network_state, signed


def mixed_net():
    net = MLP(3, [4, 2], seed=1)
    weights = [w.data for n in net.layers[0].neurons for w in n.w]
    assert min(weights) < 0 < max(weights)     # both signs, or the test is moot
    return net


def edge_lines(source):
    return [l for l in source.splitlines() if "->" in l]


def test_blue_and_red_lines_for_weights_of_both_signs():
    net = mixed_net()
    source = draw_network(net, [0.5, 1.0, 0.2], lines_per_neuron=None).source
    lines = edge_lines(source)
    assert len(lines) == 3 * 4 + 4 * 2                  # every weight, one line
    assert any('"#2166ac' in l for l in lines)           # blue: positive
    assert any('"#b2182b' in l for l in lines)           # red: negative
    # the line of a positive weight is blue, of a negative one red
    w = net.layers[0].neurons[0].w
    for i, weight in enumerate(w):
        line = next(l for l in lines if l.strip().startswith(f"n0_{i} -> n1_0"))
        assert ("#2166ac" if weight.data > 0 else "#b2182b") in line


def test_thicker_lines_for_larger_weights():
    net = mixed_net()
    source = draw_network(net, [1.0, 1.0, 1.0], lines_per_neuron=None).source
    w = net.layers[0].neurons[0].w
    width = {}
    for i in range(3):
        line = next(l for l in edge_lines(source) if l.strip().startswith(f"n0_{i} -> n1_0"))
        width[i] = float(line.split("penwidth=")[1].split("]")[0].strip('"'))
    big, small = max(range(3), key=lambda i: abs(w[i].data)), min(range(3), key=lambda i: abs(w[i].data))
    assert width[big] > width[small]


def test_lines_per_neuron_limits_the_lines():
    net = MLP(64, [16, 16, 10], seed=0)
    source = draw_network(net, [0.5] * 64, lines_per_neuron=3).source
    assert len(edge_lines(source)) == 3 * (16 + 16 + 10)


def test_activation_shading_dark_is_high():
    net = mixed_net()
    state = network_state(net, [0.5, 1.0, 0.2])
    source = draw_network(net, None, state=state).source
    hidden = state.activations[1]
    top = max(range(4), key=hidden.__getitem__)
    line = next(l for l in source.splitlines()
                if l.strip().startswith(f"n1_{top} [label"))
    assert "#141414" in line                           # the darkest grey


def test_desired_changes_after_backprop():
    net = mixed_net()
    state = network_state(net, [0.5, 1.0, 0.2], target=1)
    # minus the gradient: the right output should rise, the other fall
    assert state.changes[2][1] > 0 > state.changes[2][0]
    source = draw_network(net, None, state=state).source
    assert "\u25b2" in source and "\u25bc" in source   # up and down arrows
    assert "desired change" in source
    before = draw_network(net, [0.5, 1.0, 0.2]).source
    assert "\u25b2" not in before and "desired change" not in before


def test_focus_draws_weight_changes_in_black():
    net = mixed_net()
    state = network_state(net, [0.5, 1.0, 0.2], target=1)
    source = draw_network(net, None, state=state, focus=(2, 1)).source
    focus_lines = [l for l in edge_lines(source) if "-> n2_1" in l]
    assert len(focus_lines) == 4
    for i, line in enumerate(focus_lines):
        change = state.weight_changes[2][1][i]
        assert ("black" in line) == (change != 0)
    # chain rule: change of w_ji = (desired change of z_j) x (activation i)
    for i, a in enumerate(state.activations[1]):
        assert state.weight_changes[2][1][i] == pytest.approx(state.changes[2][1] * a)


def node_attributes(source, name):
    """The attributes of node ``name`` in the DOT source: {key: text}."""
    line = next(l for l in source.splitlines() if l.strip().startswith(f"{name} ["))
    attributes = {}
    for key, value in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|[^ \]]+)', line):
        attributes[key] = value.strip('"')
    return attributes


def position(attributes):
    x, y = attributes["pos"].rstrip("!").split(",")
    return float(x), float(y)


def test_focus_lines_false_rings_without_black_lines():
    net = mixed_net()
    state = network_state(net, [0.5, 1.0, 0.2], target=1)
    ringed = draw_network(net, None, state=state, focus=(2, 1), focus_lines=False).source
    assert not any("color=black" in l for l in edge_lines(ringed))
    assert "change2_1_" not in ringed                   # no numbers on lines
    assert node_attributes(ringed, "n2_1")["penwidth"] == "4"     # the ring


def test_focus_numbers_sit_between_the_columns_clear_of_circles():
    net = MLP(64, [16, 16, 10], seed=0)
    state = network_state(net, [i / 63 for i in range(64)], target=3)
    for arrows in ({3}, None):                           # with and without arrows
        source = draw_network(net, None, state=state, focus=(3, 3), arrows=arrows).source
        labels = [l.split()[0] for l in source.splitlines()
                  if l.strip().startswith("change3_3_")]
        assert labels
        circles = [position(node_attributes(source, f"n{L}_{j}"))
                   for L in (2, 3) for j in range(len(state.activations[L]))]
        for name in labels:
            attributes = node_attributes(source, name)
            x, y = position(attributes)
            half = float(attributes["width"]) / 2
            i = int(name.rsplit("_", 1)[1])
            assert attributes["label"] == signed(state.weight_changes[3][3][i])
            for cx, cy in circles:   # the label's box stays off every circle
                assert abs(x - cx) > half + NEURON / 2 or abs(y - cy) > 0.08 + NEURON / 2


def test_output_arrow_and_class_name_do_not_touch():
    net = MLP(64, [16, 16, 10], seed=0)
    state = network_state(net, [i / 63 for i in range(64)], target=3)
    source = draw_network(net, None, state=state, arrows={3}).source
    lefts = set()
    for j in range(10):
        arrow, name = node_attributes(source, f"arrow3_{j}"), node_attributes(source, f"name{j}")
        arrow_right = position(arrow)[0] + float(arrow["width"]) / 2
        name_left = position(name)[0] - float(name["width"]) / 2
        assert name_left - arrow_right >= 0.25, (arrow, name)
        lefts.add(round(name_left, 2))
        # 3 significant digits, the same as the text quotes
        assert arrow["label"].endswith(signed(state.changes[3][j]))
    assert len(lefts) == 1                               # one column of names


def test_numbers_have_three_significant_digits():
    assert signed(0.004616) == "+0.00462"
    assert signed(-0.0000123) == "-1.23e-05"
    assert signed(-0.0) == "+0"


def test_input_as_digit_image():
    net = MLP(64, [16, 16, 10], seed=0)
    source = draw_network(net, [i / 63 for i in range(64)]).source
    assert source.count("shape=square") == 64
    assert "input (8x8 digit)" in source


def test_wrong_input_length():
    with pytest.raises(ValueError, match="takes 3 inputs"):
        draw_network(mixed_net(), [1.0])


def test_renders_png(tmp_path):
    net = MLP(64, [16, 16, 10], seed=0)
    path = render(draw_network(net, [0.3] * 64, target=3, focus=(3, 3)),
                  tmp_path / "net.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


# -- which loss the picture backprops (training.LOSSES, by name) ----------

def engine_output_changes(net, x, target, loss):
    """-dLoss/d(output) and the loss, straight from training.LOSSES."""
    from tinygrad_edu.learn.losses import LOSSES

    outputs = net(x)
    value = LOSSES[loss](outputs, target)
    value.backward()
    return [-o.grad for o in outputs], value.data


def test_the_picture_backprops_the_loss_it_is_given():
    x = [0.5, 1.0, 0.2]
    for loss in ("mse", "cross_entropy"):
        state = network_state(MLP(3, [4, 2], seed=1), x, target=1, loss=loss)
        changes, value = engine_output_changes(MLP(3, [4, 2], seed=1), x, 1, loss)
        assert state.loss_name == loss
        assert state.loss == value
        assert state.changes[-1] == changes
    mse_state = network_state(MLP(3, [4, 2], seed=1), x, target=1, loss="mse")
    ce_state = network_state(MLP(3, [4, 2], seed=1), x, target=1)
    assert ce_state.loss_name == "cross_entropy"          # linear output: logits
    assert mse_state.changes[-1] != ce_state.changes[-1]
    assert network_state(MLP(3, [4, 2], output_activation="tanh", seed=1), x,
                         target=1).loss_name == "mse"


def test_the_picture_uses_the_loss_the_model_file_records(tmp_path):
    from tinygrad_edu.pictures.explain import explain_steps
    from tinygrad_edu.learn.serialize import load_model, save_model

    net = MLP(64, [5, 3], seed=2, classes=[0, 1, 7])
    path = save_model(net, tmp_path / "mse.json", info={"loss": "mse"})
    model = load_model(path)
    image = [i / 63 for i in range(64)]
    state = network_state(model, image, target=2)
    changes, value = engine_output_changes(load_model(path), image, 2, "mse")
    assert (state.loss_name, state.loss, state.changes[-1]) == ("mse", value, changes)
    # explain tells the mse story for this model (it draws network_state's)
    assert f"the loss is {value:.4g}" in explain_steps(model, image, 7)[0].text
    # an explicit loss wins over the file's
    assert network_state(model, image, 2, loss="cross_entropy").loss_name == "cross_entropy"


def test_an_unknown_loss_is_a_clear_error():
    net = MLP(3, [4, 2], seed=1)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        network_state(net, [0.5, 1.0, 0.2], target=1, loss="hinge")
    net.info = {"loss": "hinge"}
    with pytest.raises(ValueError, match="trained with the loss 'hinge', which"):
        draw_network(net, [0.5, 1.0, 0.2], target=1)


def test_one_scale_for_a_series_stated_in_the_key():
    net = MLP(64, [16, 16, 10], seed=0)
    image = [i / 63 for i in range(64)]
    state = network_state(net, image, target=3)
    own = draw_network(net, None, state=state).source
    largest = max(a for layer in state.activations[1:-1] for a in layer)
    assert f"black = {largest:.4g}" in own
    # the explain steps draw one state: every picture states the same scale
    steps = [draw_network(net, None, state=state, focus=(3, 3), arrows={3}),
             draw_network(net, None, state=state, focus=(2, 0), arrows={2})]
    assert all(f"black = {largest:.4g}" in p.source for p in steps)
    shared = draw_network(net, None, state=state, scale=(10.0, 5.0)).source
    assert "black = 10 " in shared and "|w| = 5)" in shared
    top = max(range(16), key=state.activations[1].__getitem__)
    assert node_attributes(shared, f"n1_{top}")["fillcolor"] != node_attributes(
        own, f"n1_{top}")["fillcolor"]                   # lighter on the wider scale


def test_wide_layer_keeps_the_focus_neuron_and_counts_the_rest():
    net = MLP(64, [64, 10], seed=0)
    image = [i / 63 for i in range(64)]
    state = network_state(net, image, target=3)
    quiet = min(range(64), key=lambda j: abs(state.changes[1][j]))
    source = draw_network(net, None, state=state, focus=(1, quiet), arrows={1}).source
    assert f"n1_{quiet} [" in source and "+ 48 more" in source
    assert len(re.findall(r"^\tn1_\d+ \[", source, re.M)) == 16
    assert f"index1_{quiet}" in source                   # its number is written
