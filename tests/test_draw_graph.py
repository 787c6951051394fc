"""draw_graph and render: DOT text, folding, the node ceiling, real rendering."""

import random

import graphviz
import pytest

from tinygrad_edu import MLP, Value, cross_entropy
from tinygrad_edu.output import OutputError
from tinygrad_edu.pictures import GraphTooLargeError, GraphvizError, draw_graph, render
from tinygrad_edu.pictures.palette import signed_colour
from tinygrad_edu.watch.expression import parse_expression
from lecture_example import karpathy


def small_graph():
    x = Value(2.0, "x")
    w, b = Value(-0.5, "w", parameter=True), Value(0.5, "b", parameter=True)
    y = (x * w + b).tanh()
    y.label = "y"
    return y, x, w, b


def digit_loss():
    net = MLP(64, [16, 16, 10], seed=0)
    rng = random.Random(1)
    loss = cross_entropy(net([rng.random() for _ in range(64)]), 3)
    loss.label = "loss"
    return loss


def test_labels_data_and_grads_in_dot_text():
    y, x, w, b = small_graph()
    y.backward()
    source = draw_graph(y).source
    for text in ("<B>x</B>", "<B>w</B>", "<B>y</B>", "data -0.5", "data -0.4621",
                 "grad 1", f"grad {w.grad:.4g}", "tanh"):
        assert text in source
    assert "not computed" not in source


def test_gradient_sign_is_the_fill_colour():
    y, x, w, b = small_graph()
    y.backward()
    source = draw_graph(y).source
    assert w.grad > 0 and x.grad < 0
    largest = max(abs(v) for v in (x.grad, w.grad, b.grad, 1.0))
    assert signed_colour(w.grad, largest) in source      # bluish
    assert signed_colour(1.0, 1.0) == "#2166ac"           # the root: full blue
    assert signed_colour(-1.0, 1.0) == "#b2182b"


def test_before_backward_says_not_computed():
    y, *_ = small_graph()
    source = draw_graph(y).source
    assert "gradients not computed yet" in source
    assert "grad 0" not in source


def test_parameters_and_inputs_look_different():
    y, *_ = small_graph()
    y.backward()
    source = draw_graph(y).source
    param_line = next(l for l in source.splitlines() if "<B>w</B>" in l)
    input_line = next(l for l in source.splitlines() if "<B>x</B>" in l)
    assert "#1b7837" in param_line and "#1b7837" not in input_line
    root_line = next(l for l in source.splitlines() if "<B>y</B>" in l)
    assert "peripheries=2" in root_line


def test_parameters_are_what_the_user_marks_not_what_labels_look_like():
    # Karpathy's lecture example: a, b, c, e, f are all inputs, even "b".
    L, values = karpathy()
    f = values["f"]
    L.backward()
    source = draw_graph(L).source
    assert "#1b7837" not in source.split("cluster_legend")[0]
    marked = draw_graph(L, parameters=[f]).source.split("cluster_legend")[0]
    lines = [l for l in marked.splitlines() if "#1b7837" in l]
    assert len(lines) == 1 and "<B>f</B>" in lines[0]
    net = MLP(2, [1], seed=0)
    out = net([Value(1.0, "x.0"), Value(2.0, "x.1")])      # one output: one Value
    out.backward()
    params = [l for l in draw_graph(out).source.splitlines() if "#1b7837" in l]
    assert len(params) == 3 + 1                         # w.0, w.1, b and the key


def test_highlight_a_value_and_a_set():
    y, x, w, b = small_graph()
    y.backward()
    one = draw_graph(y, highlight=w).source
    assert one.count("#ff7f00") == 1
    two = draw_graph(y, highlight={x, b}).source
    assert two.count("#ff7f00") == 2


def test_arrows_follow_the_data():
    a = Value(1.0, "a")
    c = a * a
    c.label = "c"
    source = draw_graph(c, legend=False).source
    assert f"v{a.id} -> op{c.id}" in source
    assert f"op{c.id} -> v{c.id}" in source
    assert source.count(f"v{a.id} -> op{c.id}") == 1   # a * a: one arrow
    assert "rankdir=LR" in source


def test_large_graph_folds_itself_and_says_how_to_unfold():
    loss = digit_loss()
    loss.backward()
    source = draw_graph(loss).source
    assert "folded: one box per neuron" in source
    assert "fold=None, max_nodes=" in source
    assert "layers.1.neurons.15" in source and "64 weights" in source
    layers = draw_graph(loss, max_nodes=80).source
    assert "folded: one box per layer" in layers


def test_large_graph_refused_with_the_options():
    loss = digit_loss()
    with pytest.raises(GraphTooLargeError) as info:
        draw_graph(loss, fold=None)
    message = str(info.value)
    assert 'fold="neuron"' in message and 'fold="layer"' in message
    assert "max_nodes=" in message
    error = info.value
    cli = error.advice(fold_option="--fold {}", limit_option="--max-nodes {}")
    assert f"more than --max-nodes {error.max_nodes}" in cli
    assert f"--fold neuron ({error.folds['neuron']} boxes)" in cli
    assert f"lift the ceiling with --max-nodes {error.nodes}." in cli
    assert "=" not in cli
    bare = error.advice(fold_option=None, limit_option=None)
    assert "fold" not in bare and "max" not in bare and "smaller graph" in bare
    with pytest.raises(GraphTooLargeError):     # even folded by layer: too many
        draw_graph(loss, max_nodes=10)


def test_one_colour_scale_for_a_series():
    y, x, w, b = small_graph()
    y.backward()
    source = draw_graph(y, grad_scale=10.0).source
    assert "full colour: |grad| 10" in source
    assert signed_colour(w.grad, 10.0) in source


def test_digit_mlp_folds_under_the_ceiling():
    loss = digit_loss()
    loss.backward()
    for fold, at_most in (("neuron", 150), ("layer", 100)):
        graph = draw_graph(loss, fold=fold, max_nodes=at_most)
        assert graph.source.count("->") > 10
    source = draw_graph(loss, fold="layer").source
    assert "layers.0: 16 neurons, relu" in source
    assert "layers.2: 10 neurons, linear" in source
    assert "inputs (64 values)" in source
    assert "layers.0.neurons" not in source
    neuron_source = draw_graph(loss, fold="neuron").source
    assert "layers.1.neurons.15" in neuron_source
    assert "64 weights" in neuron_source


def test_highlight_inside_a_fold_rings_the_box():
    net = MLP(2, [3, 1], seed=0)
    out = net([1.0, 2.0])          # one output neuron: a single Value
    out.backward()
    source = draw_graph(out, fold="neuron",
                        highlight=net.layers[0].neurons[1].w[0]).source
    ringed = [l for l in source.splitlines() if "#ff7f00" in l]
    assert len(ringed) == 1 and "layers.0.neurons.1" in ringed[0]


def test_bad_arguments():
    with pytest.raises(TypeError, match="needs a Value"):
        draw_graph(3.0)
    with pytest.raises(ValueError, match="fold must be"):
        draw_graph(Value(1.0), fold="everything")


def test_renders_svg_and_png_with_dot(tmp_path):
    y = parse_expression("tanh(x*w + b)", {"x": 2.0, "w": -3.0, "b": 1.0})
    y.backward()
    graph = draw_graph(y)
    assert isinstance(graph, graphviz.Digraph)
    svg = render(graph, tmp_path / "g.svg")
    assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert "tanh" in svg.read_text()
    png = render(graph, tmp_path / "g.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = render(graph, tmp_path / "g", format="pdf")
    assert pdf.name == "g.pdf" and pdf.read_bytes()[:4] == b"%PDF"


def test_shows_inline_in_jupyter():
    y, *_ = small_graph()
    bundle = draw_graph(y)._repr_mimebundle_()
    assert "image/svg+xml" in bundle


def test_missing_dot_writes_source_and_says_how_to_install(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    y, *_ = small_graph()
    written = render(draw_graph(y), tmp_path / "g.png")
    assert written == tmp_path / "g.dot"
    assert "digraph" in written.read_text()
    assert not (tmp_path / "g.png").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "apt-get install graphviz" in err[0] and str(written) in err[0]


def test_missing_dot_never_replaces_a_dot_file_it_was_not_asked_for(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    (tmp_path / "g.dot").write_text("the user's own notes")
    y, *_ = small_graph()
    with pytest.raises(GraphvizError, match="already exists .it is not replaced"):
        render(draw_graph(y), tmp_path / "g.png")
    assert (tmp_path / "g.dot").read_text() == "the user's own notes"


def test_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    y, *_ = small_graph()
    with pytest.raises(OutputError, match="not a folder"):
        render(draw_graph(y), blocker / "g.svg")
    with pytest.raises(ValueError, match="choose svg, png, pdf"):
        render(draw_graph(y), tmp_path / "g.jpg")

    with pytest.raises(OutputError, match="it is a folder"):
        render(draw_graph(y), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]   # no .svg


def test_graphviz_failing_is_a_graphviz_error(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise graphviz.CalledProcessError(1, ["dot"], stderr=b"syntax error")
    monkeypatch.setattr(graphviz.Digraph, "pipe", fail)
    y, *_ = small_graph()
    with pytest.raises(GraphvizError, match="could not draw g.png: syntax error"):
        render(draw_graph(y), tmp_path / "g.png")
    assert issubclass(GraphvizError, RuntimeError)
    assert not (tmp_path / "g.png").exists()
