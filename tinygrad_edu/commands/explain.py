"""``tinygrad-edu explain``: the article's four steps of backprop for one digit.

    tinygrad-edu explain --digit 3 --out out/explain
    tinygrad-edu explain --digit 7 --model out/model.json --index 2 --format svg

Writes step1..step4 pictures and ``explain.txt``, which quotes the real numbers.
Without ``--model`` an untrained ``MLP(64, [16, 16, 10])`` made with ``--seed``
is used, as in the article (whose network is untrained too).
"""

import sys

from .arguments import digit, non_negative_int, pick_test_image

NAME = "explain"
HELP = "draw and tell the four steps of backprop for one handwritten digit"


def add_arguments(parser):
    parser.add_argument("--digit", type=digit, required=True,
                        help="which digit to show the network (0..9)")
    parser.add_argument("--model", metavar="FILE",
                        help="a model saved by 'tinygrad-edu train' (default: "
                             "an untrained MLP(64, [16, 16, 10]))")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the untrained network (default 0)")
    parser.add_argument("--index", type=non_negative_int, default=0,
                        help="which test image of that digit (default 0)")
    parser.add_argument("--out", default="out/explain", metavar="DIR",
                        help="folder for the pictures and explain.txt "
                             "(default out/explain)")
    parser.add_argument("--format", choices=["png", "svg", "pdf"], default="png",
                        help="picture format (default png)")


def run(args):
    from ..draw import OutputError
    from ..explain import explain_steps, write_explanation
    try:
        model = _model(args)
        image = pick_test_image(args.digit, args.index)
        steps = explain_steps(model, image, args.digit)
        paths = write_explanation(steps, args.out, args.format)
    except (ValueError, OutputError) as error:
        print(f"tinygrad-edu explain: {error}", file=sys.stderr)
        return 1
    for step in steps:
        print(f"Step {step.number}: {step.title}\n  {step.text}\n")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _model(args):
    from ..nn import MLP
    if args.model is None:
        return MLP(64, [16, 16, 10], seed=args.seed)
    from ..serialize import load_model
    model = load_model(args.model)     # ModelFileError is a ValueError
    if model.nin != 64:
        raise ValueError(f"{args.model} takes {model.nin} inputs, not the 64 "
                         f"pixels of a digit image")
    return model
