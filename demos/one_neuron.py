"""Demo: one artificial neuron, the article's first figure.

A neuron sums its weighted inputs, adds a bias and applies an activation:
o = tanh(x1*w1 + x2*w2 + x3*w3 + b). We build it from Values, print the
forward trace, run backward() and draw the graph with every gradient.

    python demos/one_neuron.py [--out out]
"""

import argparse
from pathlib import Path

from tinygrad_edu import Value, format_trace, vsum
from tinygrad_edu.draw import draw_graph, render


def build_neuron():
    """The neuron and its inputs, every Value labelled."""
    xs = [Value(x, f"x{i}") for i, x in enumerate([0.5, -1.0, 2.0], start=1)]
    ws = [Value(w, f"w{i}") for i, w in enumerate([0.8, 0.2, -0.4], start=1)]
    b = Value(0.1, "b")
    products = []
    for i, (x, w) in enumerate(zip(xs, ws), start=1):
        products.append(x * w)
        products[-1].label = f"x{i}w{i}"
    n = vsum(products + [b])
    n.label = "n"          # the weighted sum, before the activation
    o = n.tanh()
    o.label = "o"          # the neuron's output
    return o, xs, ws, b


def main(out_dir="out", quick=False):
    out_dir = Path(out_dir)
    o, xs, ws, b = build_neuron()
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the pictures")
    parser.add_argument("--quick", action="store_true", help="(no effect here)")
    args = parser.parse_args()
    main(args.out, args.quick)
