"""Demo: the article's four backprop steps for a handwritten "3".

An untrained network is shown a 3 (article figures 4 to 7):
1. the output for 3 should rise and the others fall (purple arrows);
2. so the weights into the "3" output change, each in proportion to the
   activation it comes from (the chain rule: dL/dw = dL/dz x a);
3. the same one layer back (green), and
4. once more for the first hidden layer (orange).
We draw each step and check step 2's rule on real numbers.

    python demos/backprop_for_three.py [--out out]
"""

from pathlib import Path

from tinygrad_edu import MLP, Value, cross_entropy
from tinygrad_edu.learn.digits import load_digits
from tinygrad_edu.pictures.explain import explain_steps, write_explanation

from _command_line import run_demo


def check_step_two(net, pixels, label):
    """dL/dw for the weights into the right output = dL/dz x incoming activation."""
    layers = net.forward_all([Value(p) for p in pixels])
    net.zero_grad()
    loss = cross_entropy(layers[-1], label)
    loss.backward()
    output = layers[-1][label]             # z: the linear output neuron
    neuron = net.layers[-1].neurons[label]
    print(f"loss = {loss.data:.4f}; dL/dz for output {label} = {output.grad:.4f}")
    print(f"the weights into output {label} with the largest incoming activations:")
    print("  weight   activation a   dL/dz x a     dL/dw")
    incoming = layers[-2]
    strongest = sorted(range(len(incoming)), key=lambda i: -incoming[i].data)
    for i in strongest[:4]:
        a, w = incoming[i].data, neuron.w[i]
        print(f"  w.{i:<6} {a:>12.4f} {output.grad * a:>11.4f} {w.grad:>9.4f}")
    return loss


def main(out_dir="out", quick=False):
    out_dir = Path(out_dir)
    images, labels = load_digits("test", classes=[3], per_class=1)
    net = MLP(64, [8, 8, 10] if quick else [16, 16, 10], seed=0)
    check_step_two(net, images[0], labels[0])
    steps = explain_steps(net, images[0], labels[0])
    for step in steps:
        print(f"\nStep {step.number}: {step.title}\n{step.text}")
    written = write_explanation(steps, out_dir / "backprop_for_three")
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    run_demo(main, __doc__, quick_help="a smaller network")
