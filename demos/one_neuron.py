"""Demo: one artificial neuron, the article's first figure.

A neuron sums its weighted inputs, adds a bias and applies an activation:
o = tanh(x1*w1 + x2*w2 + x3*w3 + b). We build it from Values, print the
forward trace, run backward() and draw the graph with every gradient.

    python demos/one_neuron.py [--out out]
"""

from pathlib import Path

from tinygrad_edu import format_trace
from tinygrad_edu.watch.examples import article_neuron
from tinygrad_edu.pictures import draw_graph, render

from _command_line import run_demo


def main(out_dir="out", quick=False):
    out_dir = Path(out_dir)
    o, xs, ws, b = article_neuron()
    print("The forward pass:")
    print(format_trace(o))
    o.backward()
    print(f"\nThe neuron outputs o = {o.data:.4f}.")
    print("How o changes when each weight is nudged (do/dw = x * (1 - o^2)):")
    for x, w in zip(xs, ws):
        print(f"  {w.name} = {w.data:+.2f}: do/d{w.name} = {w.grad:+.4f} "
              f"(= {x.data:+.2f} x {1 - o.data ** 2:.4f})")
    print(f"  b  = {b.data:+.2f}: do/db  = {b.grad:+.4f}")
    picture = render(draw_graph(o, title="one neuron: o = tanh(w.x + b)"),
                     out_dir / "one_neuron.png")
    print(f"\nwrote {picture}")
    return [picture]


if __name__ == "__main__":
    run_demo(main, __doc__, quick_help="(no effect here)")
