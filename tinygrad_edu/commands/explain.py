"""``tinygrad-edu explain``: the article's four steps of backprop for one digit.

    tinygrad-edu explain --digit 3 --out out/explain
    tinygrad-edu explain --digit 7 --model out/model.json --index 2 --format svg

Writes step1..step4 pictures and ``explain.txt``, which quotes the real numbers.
Without ``--model`` an untrained ``MLP(64, [16, 16, 10])`` made with ``--seed``
is used, as in the article (whose network is untrained too).
"""

from pathlib import Path

from .arguments import (check_forward, check_output_paths, digit,
                        load_digit_model, non_negative_int, output_index,
                        pick_test_image, remember_parser, runtime_failure,
                        usage_error)

NAME = "explain"
HELP = "draw and tell the four steps of backprop for one handwritten digit"


def add_arguments(parser):
    parser.add_argument("--digit", type=digit, required=True, metavar="D",
                        help="which digit to show the network (0..9)")
    parser.add_argument("--model", metavar="FILE",
                        help="a model saved by 'tinygrad-edu train' (default: "
                             "an untrained MLP(64, [16, 16, 10]))")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of the untrained network (default 0)")
    parser.add_argument("--index", type=non_negative_int, default=0, metavar="K",
                        help="which test image of that digit (default 0)")
    parser.add_argument("--out", default="out/explain", metavar="DIR",
                        help="folder for the pictures and explain.txt "
                             "(default out/explain)")
    parser.add_argument("--format", choices=["png", "svg", "pdf"], default="png",
                        help="picture format (default png)")
    remember_parser(parser)


def run(args):
    from ..pictures import GraphvizError
    from ..pictures.explain import explain_steps, write_explanation
    from ..output import OutputError
    folder = Path(args.out)
    check_output_paths(args, [(folder / "explain.txt", "--out")],
                       inputs=[(args.model, "--model")])
    try:
        model = _model(args)
        check_size(model)
        output_index(model, args.digit)
        image = pick_test_image(args.digit, args.index)
        check_forward(model, image, f"test image {args.index} of {args.digit}")
    except ValueError as error:
        usage_error(args, str(error))
    # One picture per layer, and the output's: step1 .. step(layers + 1).
    check_output_paths(args, [(folder / f"step{n}.{args.format}", "--out")
                              for n in range(1, len(model.sizes) + 2)])
    steps = explain_steps(model, image, args.digit)
    try:
        paths = write_explanation(steps, args.out, args.format)
    except (OutputError, GraphvizError) as error:
        return runtime_failure(args, str(error))
    for step in steps:
        print(f"Step {step.number}: {step.title}\n  {step.text}\n")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


# explain draws the whole network in each of its pictures, one per layer, so
# its work grows with layers x neurons; past these it would take minutes.
MAX_EXPLAIN_LAYERS = 10
MAX_EXPLAIN_NEURONS = 2000


def check_size(model):
    """Raise ValueError for a model too big to explain in reasonable time."""
    if len(model.sizes) > MAX_EXPLAIN_LAYERS or sum(model.sizes) > MAX_EXPLAIN_NEURONS:
        raise ValueError(
            f"argument --model: this model has {len(model.sizes)} layers and "
            f"{sum(model.sizes)} neurons; explain draws every neuron in a "
            f"picture per layer and takes at most {MAX_EXPLAIN_LAYERS} layers "
            f"and {MAX_EXPLAIN_NEURONS} neurons (try 'tinygrad-edu predict')")


def _model(args):
    """The model of ``--model``, or an untrained one made with ``--seed``."""
    if args.model is None:
        from ..learn.nn import MLP
        return MLP(64, [16, 16, 10], seed=args.seed)
    return load_digit_model(args.model)
