"""Make every picture in docs/img/ from the code as it is.

    python3 docs/make_images.py            # every picture: NAME.png and NAME.dot
    python3 docs/make_images.py --train    # first retrain the small digit model

Each picture is written twice: ``NAME.png`` for the pages and ``NAME.dot``, the
Graphviz source it was drawn from. ``tests/test_docs_images.py`` draws every
picture again and fails when its DOT text differs from the committed ``.dot``,
so a change to the drawing code that is not followed by running this script
is caught (the DOT text is compared, not the pixels).

The pictures of a trained network use ``img/digits-model.json``, a small
``MLP(64, [32, 10])`` trained by ``--train`` (a few seconds with the numpy
engine), so drawing them again needs no training.
"""

import argparse
import random
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
IMG = DOCS / "img"
MODEL = IMG / "digits-model.json"
sys.path.insert(0, str(DOCS.parent))
sys.path.insert(0, str(DOCS.parent / "demos"))

from tinygrad_edu import MLP, Value, cross_entropy, draw_graph, draw_network  # noqa: E402
from tinygrad_edu.learn.digits import load_digits  # noqa: E402
from tinygrad_edu.pictures import draw_saliency, render  # noqa: E402
from tinygrad_edu.pictures.explain import choose_image, explain_steps  # noqa: E402
from tinygrad_edu.watch.examples import article_neuron, article_neuron_loss  # noqa: E402
from tinygrad_edu.watch.tracing import backward_steps  # noqa: E402


def first_three():
    """Test image 0 of the digit 3: the one ``tinygrad-edu explain --digit 3`` tells."""
    images, _ = load_digits("test", classes=[3])
    return images[0]


def formula():
    """The README's example, tanh(w*x + b) with x=2, w=-3, b=6.5 (not saturated)."""
    x = Value(2.0, "x")
    w, b = Value(-3.0, "w", parameter=True), Value(6.5, "b", parameter=True)
    y = (w * x + b).tanh()
    y.label = "y"
    y.backward()
    return draw_graph(y, highlight=w)


def digit_loss_layers():
    net = MLP(64, [16, 16, 10], seed=0)
    image = [random.Random(i).random() for i in range(64)]
    loss = cross_entropy(net(image), 3)
    loss.backward()
    return draw_graph(loss, fold="layer")


def story_neuron():
    o, *_ = article_neuron()
    o.backward()
    return draw_graph(o, title="one neuron")


def story_network():
    net = MLP(64, [16, 16, 10], seed=0)
    return draw_network(net, first_three(), title="an untrained network reads a 3")


def trace_step_2():
    loss, _ = article_neuron_loss()
    loss.zero_grad()
    for step in backward_steps(loss):       # drawn while backprop is at step 2
        if step.number == 2:
            return draw_graph(loss, highlight=step.value, title=step.header())


def trace_why_order():
    from why_topological_order import build
    y, values = build()
    y.backward()
    return draw_graph(y, highlight=values["x"],
                      title="x is used twice; topological order waits for both gradients")


def trained_model(retrain=False):
    """The small trained digit model (trained and saved first with ``retrain``)."""
    from tinygrad_edu.learn.serialize import load_model, save_model
    if retrain or not MODEL.exists():
        from tinygrad_edu.fast import ENGINES
        from tinygrad_edu.learn.training import train
        net = MLP(64, [32, 10], seed=0)
        result = train(net, load_digits("train"), load_digits("test"), epochs=5,
                       engine=ENGINES["numpy"], seed=0, log=None)
        save_model(net, MODEL, info={"test_accuracy": result.final["test_accuracy"]})
    return load_model(MODEL)


def saliency(model, digit, pick):
    images, _ = load_digits("test", classes=[digit])
    position, _ = choose_image(model, images, digit, pick)
    return draw_saliency(model, images[position], digit)


def pictures(retrain=False):
    """Every docs picture by name: {name: graphviz.Digraph}."""
    untrained = explain_steps(MLP(64, [16, 16, 10], seed=0), first_three(), 3)
    model = trained_model(retrain)
    images, _ = load_digits("test", classes=[7])
    position, _ = choose_image(model, images, 7, "wrong")
    trained = explain_steps(model, images[position], 7)
    wide = explain_steps(MLP(64, [128, 10], seed=0), first_three(), 3)
    made = {
        "graph_neuron": formula(),
        "graph_digit_mlp_layers": digit_loss_layers(),
        "explain_step2": untrained[1].picture,
        "explain_step3": untrained[2].picture,
        "story-neuron": story_neuron(),
        "story-network": story_network(),
        "trace-step-2": trace_step_2(),
        "trace-why-order": trace_why_order(),
        "network-wide-128": wide[2].picture,
        "trained-wrong-7-step3": trained[2].picture,
        "saliency-right": saliency(model, 3, "first"),
        "saliency-wrong": saliency(model, 7, "wrong"),
    }
    for step in untrained:
        made[f"story-step{step.number}"] = step.picture
    return made


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true",
                        help="retrain the small digit model first")
    args = parser.parse_args()
    for name, picture in pictures(args.train).items():
        render(picture, IMG / f"{name}.dot")
        print(render(picture, IMG / f"{name}.png"))


if __name__ == "__main__":
    main()
