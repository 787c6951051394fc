"""Jupyter: a Value shows as its small graph, a backprop step as its sentence.

The notebook in docs/notebooks is run by a real kernel (nbclient), as a
reader would run it, and its outputs are checked.
"""

from pathlib import Path

import nbformat
import pytest
from IPython.lib.pretty import pretty
from nbclient import NotebookClient

import tinygrad_edu.pictures.notebook as notebook
from tinygrad_edu import MLP, Value, backward_steps, cross_entropy
from tinygrad_edu.pictures.notebook import NOTEBOOK_MAX_VALUES, small_graph_svg

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "notebooks" / "first-steps.ipynb"


def results(cell):
    """The data of a code cell's result (its last expression)."""
    found = [o["data"] for o in cell.outputs if o.output_type == "execute_result"]
    assert len(found) == 1, cell.source
    return found[0]


def test_the_notebook_runs_and_shows_graphs_inline():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    for cell in code:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.source

    before, after = results(code[0]), results(code[1])
    for shown in (before, after):
        assert shown["image/svg+xml"].lstrip().startswith(("<?xml", "<svg", "<!DOCTYPE"))
        assert "<svg" in shown["image/svg+xml"]
        assert ">c</text>" in shown["image/svg+xml"]          # the root's label
    assert "not computed yet" in before["image/svg+xml"]
    assert "grad 1" in after["image/svg+xml"]                  # after backward()
    assert after["text/plain"] == "Value(data=-0.9993, grad=1, op='tanh', label='c')"

    step = results(code[2])
    assert step["text/plain"].startswith("step 1 of 3: y = v")     # v.. + x
    assert "\n  to x: d(y)/d(x) = 1.0000" in step["text/plain"]
    assert "BackwardStep(" not in step["text/plain"]

    big = results(code[4])
    assert set(big) == {"text/plain"}                          # too big to draw inline
    assert results(code[5])["text/plain"].endswith(", ())")    # no graph under no_grad


def test_a_value_offers_text_and_svg():
    x = Value(3.0, label="x")
    y = x * x
    bundle = y._repr_mimebundle_()
    assert bundle["text/plain"] == repr(y)
    assert "<svg" in bundle["image/svg+xml"]


def test_a_big_graph_shows_as_text_only():
    net = MLP(4, [8, 3], seed=0)
    loss = cross_entropy(net([0.1, 0.5, -0.2, 0.3]), 2)
    assert small_graph_svg(loss) is None
    assert set(loss._repr_mimebundle_()) == {"text/plain"}


def test_the_limit_counts_every_value_behind():
    total = Value(0.0)
    values = 1
    while values + 2 <= NOTEBOOK_MAX_VALUES:
        total = total + 1.0                     # one constant and one sum each
        values += 2
    assert small_graph_svg(total) is not None
    assert small_graph_svg(total + 1.0) is None


def test_without_dot_a_value_shows_as_text(monkeypatch):
    monkeypatch.setattr(notebook.shutil, "which", lambda name: None)
    assert set((Value(1.0) * 2)._repr_mimebundle_()) == {"text/plain"}


def test_a_backward_step_pretty_prints_as_its_sentence():
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    step = next(backward_steps(y))
    assert pretty(step) == str(step)
    assert pretty([step]).startswith("[step 1 of 2: y = x * x")


@pytest.mark.parametrize("thing", [Value(1.0), Value(2.0) + 1])
def test_small_graph_svg_of_a_leaf_and_of_a_sum(thing):
    assert "<svg" in small_graph_svg(thing)
