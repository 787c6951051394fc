"""Demo: train a small network on a tiny subset of the digits.

The article's third figure: training makes the loss small by many small
weight changes, each computed by backprop on a random mini-batch. We train
a 64-16-4 network to tell 0, 1, 2 and 3 apart from a few examples of each,
print the loss and accuracy epoch by epoch, and draw a test digit going
through the network before and after training.

    python demos/train_tiny.py [--out out] [--quick]
"""

from pathlib import Path

from tinygrad_edu import MLP
from tinygrad_edu.learn.digits import load_digits
from tinygrad_edu.pictures import draw_network, render
from tinygrad_edu.pictures.network import network_state, picture_scale
from tinygrad_edu.learn.training import evaluate, train

from _command_line import run_demo

CLASSES = [0, 1, 2, 3]


def main(out_dir="out", quick=False):
    out_dir = Path(out_dir)
    train_data = load_digits("train", classes=CLASSES, per_class=8 if quick else 40)
    test_data = load_digits("test", classes=CLASSES, per_class=5 if quick else 30)
    net = MLP(64, [16, 4], classes=CLASSES, seed=0)
    pixels, label = test_data[0][0], test_data[1][0]
    target = CLASSES.index(label)

    before = evaluate(net, test_data)
    start = net.state_dict()
    print(f"{len(train_data[1])} training and {len(test_data[1])} test digits "
          f"of {CLASSES}")
    result = train(net, train_data, test_data, epochs=3 if quick else 10,
                   batch_size=8, lr=0.02, seed=0)
    after = result.final
    print(f"test accuracy went from {before['accuracy']:.0%} to "
          f"{after['test_accuracy']:.0%}")
    # Both pictures on one scale (the larger of the two), so their shades compare.
    trained = net.state_dict()
    states = []
    for weights in (start, trained):
        net.load_state_dict(weights)
        states.append(network_state(net, pixels, target))
    scale = [max(pair) for pair in zip(*map(picture_scale, states))]
    pictures = []
    for weights, state, when in ((start, states[0], "before"), (trained, states[1], "after")):
        net.load_state_dict(weights)
        pictures.append(render(draw_network(net, pixels, target, state=state, scale=scale,
                                            title=f"{when} training: a {label}"),
                               out_dir / f"train_tiny_{when}.png"))
    for path in pictures:
        print(f"wrote {path}")
    return pictures


if __name__ == "__main__":
    run_demo(main, __doc__, quick_help="fewer digits and epochs")
