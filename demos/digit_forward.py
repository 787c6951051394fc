"""Demo: the forward pass of a handwritten digit through an untrained network.

The article's second figure: the input layer has one neuron per pixel (64 for
our 8x8 digits), set to the pixel's grey level; each layer sums its weighted
inputs and applies its activation; the 10 outputs, one per numeral, become
probabilities with softmax. Untrained, the network's guess is random.

    python demos/digit_forward.py [--out out]
"""

from pathlib import Path

from tinygrad_edu import MLP, Value, softmax, trace
from tinygrad_edu.learn.digits import digit_to_text, draw_digit, load_digits
from tinygrad_edu.pictures import draw_network, render

from _command_line import run_demo


def main(out_dir="out", quick=False):
    out_dir = Path(out_dir)
    images, labels = load_digits("test", classes=[3], per_class=1)
    pixels, label = images[0], labels[0]
    print(f"A handwritten {label} (8x8 pixels, ink from 0 to 1):")
    print(digit_to_text(pixels))

    net = MLP(64, [8, 8, 10] if quick else [16, 16, 10], seed=0)
    inputs = [Value(p, f"px.{i}") for i, p in enumerate(pixels)]
    layers = net.forward_all(inputs)
    for depth, layer in enumerate(layers[1:], start=1):
        print(f"layer {depth}: {len(layer)} activations, e.g. "
              + ", ".join(f"{v.data:.3f}" for v in layer[:4]))
    probabilities = [p.data for p in softmax(layers[-1])]
    guess = max(range(10), key=probabilities.__getitem__)
    print("\nP(digit) from the untrained network:")
    for digit, p in enumerate(probabilities):
        print(f"  {digit}: {p:.3f} {'#' * round(100 * p)}")
    print(f"It guesses {guess}; the answer is {label}. Training will fix that.")
    steps = trace(layers[-1][label])
    print(f"\nComputing output {label} alone took {len(steps.operations())} "
          f"operations on {len(steps) - len(steps.operations())} leaves "
          f"(64 pixels and the weights).")

    pictures = [draw_digit(pixels, out_dir / "digit_forward_input.png"),
                render(draw_network(net, pixels,
                                    title=f"an untrained network reads a {label}"),
                       out_dir / "digit_forward_network.png")]
    for path in pictures:
        print(f"wrote {path}")
    return pictures


if __name__ == "__main__":
    run_demo(main, __doc__, quick_help="a smaller network")
