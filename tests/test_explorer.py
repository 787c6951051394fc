"""The explorer page's contents, checked in Python (the browser tests are in
test_explorer_browser.py): the records it carries, its folding, its SVG, and
that it needs nothing from outside the file."""

import math
import re
from html import unescape

import pytest

from tinygrad_edu import MLP, Value, cross_entropy
from tinygrad_edu.engine import chain_rule_step, topological_order
from tinygrad_edu.pictures.graph import GraphTooLargeError
from tinygrad_edu.watch.examples import article_neuron_loss
from tinygrad_edu.watch.tracing import backward_steps, trace
from tinygrad_edu.web.explorer import (AUTO_UNFOLDED_MAX, choose_fold, explore,
                                       explorer_data)
from tinygrad_edu.web.page import unpack_data
from tinygrad_edu.web.source import chain_rule_source, op_sources


def replay(data, steps):
    """Each Value's gradient after ``steps`` backward records, replayed as
    the page's script does: every parent takes the gradient recorded after
    its addition."""
    grads = [0.0] * len(data["names"])
    back = data["backward"]
    for r in range(steps):
        v = back["value"][r]
        grads[v] = back["grad"][r]
        for parent, after in zip(data["parents"][v], back["after"][r]):
            grads[parent] = after
    return grads


def test_records_agree_with_backward_steps_and_central_differences():
    loss, _ = article_neuron_loss()
    data = explorer_data(loss)
    by_name = {v.name: v for v in topological_order(loss)}
    loss.zero_grad()
    steps = list(backward_steps(loss))
    back = data["backward"]
    assert [data["names"][i] for i in back["value"]] == [s.value.name for s in steps]
    assert back["text"] == [str(s) for s in steps]
    assert back["after"] == [list(s.parent_grads) for s in steps]
    # Replaying the records half way gives backward_steps' state half way...
    loss.zero_grad()
    list(backward_steps(loss, stop_at=steps[9].value.name))
    half = replay(data, 10)
    for i, name in enumerate(data["names"]):
        assert half[i] == by_name[name].grad
    # ... and all of them the derivatives, by central differences.
    grads = replay(data, len(steps))
    h = 1e-6
    for i, name in enumerate(data["names"]):
        value = by_name[name]
        if value.parents:
            continue
        saved = value.data
        value.data = saved + h
        up = _recompute(loss)
        value.data = saved - h
        down = _recompute(loss)
        value.data = saved
        assert grads[i] == pytest.approx((up - down) / (2 * h), abs=1e-6)


def _recompute(root):
    """The root's data computed afresh from the leaves' data, walking the
    graph with plain floats (an independent evaluator for the neuron's ops)."""
    ops = {"*": lambda a, b: a * b, "+": lambda a, b: a + b, "-": lambda a, b: a - b,
           "sum": lambda *xs: sum(xs), "tanh": math.tanh, "**2": lambda a: a * a}
    data = {}
    for value in reversed(topological_order(root)):
        data[id(value)] = (value.data if not value.parents else
                           ops[value.op](*(data[id(p)] for p in value.parents)))
    return data[id(root)]


def test_forward_pass_is_the_trace_of_operations():
    loss, _ = article_neuron_loss()
    data = explorer_data(loss)
    operations = [e for e in trace(loss) if not e.is_input]
    assert [data["names"][i] for i in data["forward"]["value"]] == [e.name for e in operations]
    assert data["forward"]["text"] == [str(e) for e in operations]
    assert data["forward"]["value"] == sorted(data["forward"]["value"])


def test_fold_choice():
    loss, _ = article_neuron_loss()
    assert choose_fold(topological_order(loss)) is None
    big = cross_entropy(MLP(64, [16, 10], seed=0)([0.5] * 64), 3)
    order = topological_order(big)
    assert choose_fold(order) == "neuron"
    assert choose_fold(order, "layer") == "layer"
    assert choose_fold(order, "none", max_nodes=10_000) is None
    assert choose_fold(order, None, max_nodes=10_000) is None   # draw_graph's way
    with pytest.raises(GraphTooLargeError) as error:
        choose_fold(order, "none")
    assert "neuron" in error.value.advice(fold_option="--fold {}")
    with pytest.raises(ValueError, match="fold must be one of"):
        choose_fold(order, "neurons")
    assert AUTO_UNFOLDED_MAX < 1000


def test_svg_has_stable_ids_for_every_node_edge_and_value():
    loss, _ = article_neuron_loss()
    data = explorer_data(loss)
    svg = data["svg"]
    ids = set(re.findall(r'<g id="([^"]+)" class="(?:node|edge)"', svg))
    assert {"n-" + node for node in data["node"]} <= ids
    assert {"n-" + spec["id"] for spec in data["svgNodes"]} <= ids
    assert {e for edges in data["edges"] for e in edges} <= ids
    assert "<title>" not in svg.split("</title>", 1)[1]     # only the graph's own
    # Each Value's box shows its own data and gradient.
    o = data["names"].index("o")
    spec = next(s for s in data["svgNodes"] if s["id"] == data["node"][o])
    assert [slot[1:] for slot in spec["slots"]] == [["data", "data ", [o]],
                                                   ["grad", "grad ", [o]]]
    # The arrows of n's step: from the four inputs of the sum to its circle,
    # and from the circle to n.
    n = data["names"].index("n")
    assert len(data["edges"][n]) == 5


def test_folded_boxes_know_their_neurons_and_slots():
    loss = cross_entropy(MLP(64, [16, 10], seed=0)([0.5] * 64), 3)
    data = explorer_data(loss, fold="neuron")
    kinds = [b["kind"] for b in data["boxes"]]
    assert kinds.count("neuron") == 26 and kinds.count("inputs") == 1
    for box in data["boxes"]:
        if box["kind"] == "neuron":
            neuron = data["neurons"][box["neurons"][0]]
            assert len(neuron["weights"]) == len(neuron["inputs"])
            assert set(neuron["weights"] + [neuron["bias"], neuron["z"]]) <= set(box["members"])
    layers = explorer_data(loss, fold="layer")
    layer = next(b for b in layers["boxes"] if b["kind"] == "layer")
    spec = next(s for s in layers["svgNodes"] if s.get("box") == layers["boxes"].index(layer))
    rows = [slot for slot in spec["slots"] if slot[1] == "datarow"]
    outputs = [layers["neurons"][k]["out"] for k in layer["neurons"]]
    assert [i for slot in rows for i in slot[3]] == outputs


def test_page_needs_nothing_from_outside(tmp_path):
    loss, _ = article_neuron_loss()
    page = explore(loss)
    html = page.html
    assert not re.search(r"<script[^>]*\bsrc=|<link\b|<img\b|@import|url\(", html)
    urls = set(re.findall(r"https?://[^\"' )]+", html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert "window.TG = TG" in html and "function Explorer" in html
    assert page.save(tmp_path / "a" / "page.html").read_text() == html
    assert page.steps == (7, 15)


def test_jupyter_shows_the_page_in_an_iframe():
    loss, _ = article_neuron_loss()
    page = explore(loss, title='a "quoted" <title>')
    shown = page._repr_html_()
    assert shown.startswith("<iframe srcdoc=\"") and 'sandbox="allow-scripts"' in shown
    srcdoc = re.search(r'srcdoc="([^"]*)"', shown).group(1)
    assert unescape(srcdoc) == page.html
    assert "&lt;title&gt;" in page.html


def test_numbers_that_are_not_finite_survive_the_packing():
    x = Value(float("nan"), "x")
    y = x * 2 + Value(float("inf"), "big")
    y.label = "y"
    data = unpack_data(explore(y).html)
    assert data["data"][data["names"].index("x")] == "NaN"
    assert data["data"][data["names"].index("big")] == "Infinity"


def test_breakpoints_are_checked():
    loss, _ = article_neuron_loss()
    data = unpack_data(explore(loss, breakpoints=["n", "w1"]).html)
    assert [data["names"][i] for i in data["breakpoints"]] == ["n", "w1"]
    with pytest.raises(ValueError, match="no Value called 'nowhere'"):
        explore(loss, breakpoints="nowhere")
    with pytest.raises(TypeError, match="explore needs a Value"):
        explore(3.0)


def test_engine_source_is_read_from_the_engine():
    import inspect
    from tinygrad_edu import engine
    chain = chain_rule_source()
    assert chain["lines"][0] == "def chain_rule_step(value):"
    assert chain["numbers"][0] == inspect.getsourcelines(chain_rule_step)[1]
    assert "parent.grad += local_grad * grad" in chain["lines"][chain["marks"]["add"]]
    assert "for parent, local_grad in" in chain["lines"][chain["marks"]["added"]]
    assert '"""' not in "\n".join(chain["lines"])
    sources = op_sources(["*", "**2", "tanh", "dot", "unknown-op"])
    relu = op_sources(["relu"])["relu"]          # its NaN branch returns first
    assert "x if x > 0" in relu["lines"][relu["marks"]["made"]]
    assert "_Power(" in sources["**2"]["lines"][sources["**2"]["marks"]["made"]]
    assert set(sources) == {"*", "**2", "tanh", "dot"}
    assert sources["**2"]["name"] == "Value.__pow__"
    line = sources["*"]["lines"][sources["*"]["marks"]["made"]]
    assert line.strip().startswith("return Value(self.data * other.data")
    first = inspect.getsourcelines(engine.Value.tanh)[1]
    assert sources["tanh"]["numbers"][0] == first
