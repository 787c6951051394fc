"""Demo: why backprop must visit Values in topological order.

Here a Value is used twice: x = w * u, then y = x*x + x. The gradient that
reaches x comes from two places (the product x*x and the sum), and x may pass
it on to w and u only once it has *all* of it. Topological order guarantees
that. A naive depth-first walk that passes a gradient on as soon as it reaches
a Value gets w and u wrong, in one of two ways:

* "each time reached": x passes on its running total every time it is
  reached, so the early part is counted again (too large);
* "first time reached": x passes on what it has the first time and is then
  skipped, so the later part is lost (too small).

The two naive functions below are THE WRONG WAY, kept here to be looked at.
Central differences, (f(w + h) - f(w - h)) / 2h, give an independent answer.

    python demos/why_topological_order.py [--out out]
"""

from pathlib import Path

from tinygrad_edu import Value
from tinygrad_edu.pictures import draw_graph, render
from tinygrad_edu.watch.tracing import backward_steps

from _command_line import run_demo


def build(u=2.0, w=1.5):
    """y = x*x + x with x = w * u: the Value x is reused."""
    u, w = Value(u, "u"), Value(w, "w")
    x = w * u
    x.label = "x"
    square = x * x
    square.label = "x*x"
    y = square + x
    y.label = "y"
    return y, {"u": u, "w": w, "x": x}


def naive_each_time(root):
    """WRONG: depth first, passing the running gradient on at every visit."""
    def visit(value):
        for parent, local in zip(value.parents, value.local_grads):
            parent.grad += local * value.grad
            visit(parent)
    root.grad = 1.0
    visit(root)


def naive_first_time(root):
    """WRONG: depth first, each Value passes its gradient on once, when first
    reached, before every user of it has been visited."""
    seen = set()

    def visit(value):
        seen.add(id(value))
        for parent, local in zip(value.parents, value.local_grads):
            parent.grad += local * value.grad
            if id(parent) not in seen:
                visit(parent)
    root.grad = 1.0
    visit(root)


def central_difference(name, h=1e-6):
    """d(y)/d(name) from two forward passes, with no backprop at all."""
    def y_at(shift):
        numbers = {"u": 2.0, "w": 1.5}
        numbers[name] += shift
        return build(**numbers)[0].data
    return (y_at(h) - y_at(-h)) / (2 * h)


def gradients(method):
    """Build the graph afresh, run ``method`` on it, read the gradients."""
    y, values = build()
    method(y)
    return {name: values[name].grad for name in ("x", "w", "u")}, y


def main(out_dir="out", quick=False):
    out_dir = Path(out_dir)
    results = {
        "naive, each time reached": gradients(naive_each_time)[0],
        "naive, first time reached": gradients(naive_first_time)[0],
        "topological (backward())": gradients(lambda y: y.backward())[0],
    }
    exact = {"x": 2 * 3.0 + 1, "w": (2 * 3.0 + 1) * 2.0, "u": (2 * 3.0 + 1) * 1.5}
    numeric = {name: central_difference(name) for name in ("w", "u")}
    print("y = x*x + x with x = w*u, u = 2, w = 1.5 (so x = 3)")
    print(f"{'method':<28}{'dy/dx':>9}{'dy/dw':>9}{'dy/du':>9}")
    for method, grads in results.items():
        print(f"{method:<28}" + "".join(f"{grads[n]:>9.4f}" for n in ("x", "w", "u")))
    print(f"{'by hand: (2x+1), *u, *w':<28}" + "".join(
        f"{exact[n]:>9.4f}" for n in ("x", "w", "u")))
    print(f"{'central differences':<28}{'':>9}" + "".join(
        f"{numeric[n]:>9.4f}" for n in ("w", "u")))

    y, values = build()
    print("\nThe topological order visits x only after both of its users:")
    for step in backward_steps(y):
        print(f"  {step.number}. {step.value.name:<4} grad {step.grad:.4f}")
    picture = render(draw_graph(y, highlight=values["x"],
                                title="x is used twice; topological order "
                                      "waits for both gradients"),
                     out_dir / "why_topological_order.png")
    print(f"\nwrote {picture}")
    return [picture]


if __name__ == "__main__":
    run_demo(main, __doc__, quick_help="(no effect here)")
