"""``tinygrad-edu predict MODEL``: show a test digit and what the network thinks.

It loads a model saved by ``tinygrad-edu train``, takes one image of the
test split (written by people the network never saw) among the digits the
model knows, prints it as text and prints the network's probability for each
digit::

    tinygrad-edu predict model.json --index 5
"""

import sys

from .arguments import non_negative_int
from ..data import digit_to_text, draw_digit, load_digits
from ..engine import Value, no_grad
from ..losses import predicted_class, softmax
from ..serialize import ModelFileError, load_model

NAME = "predict"
HELP = "show a test digit and the network's probability for each class"

BAR_WIDTH = 30


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL",
                        help="a model file saved by 'tinygrad-edu train'")
    parser.add_argument("--index", type=non_negative_int, default=0, metavar="N",
                        help="which test image (among the model's digits) to "
                             "show (default: 0)")
    parser.add_argument("--picture", metavar="FILE.png",
                        help="also save the digit as a PNG picture")
    parser.set_defaults(predict_parser=parser)


def probabilities(model, pixels):
    """The network's probability for each of its outputs (plain floats)."""
    with no_grad():
        logits = model([Value(p) for p in pixels])
        return [p.data for p in softmax(logits)]


def run(args, out=None):
    out = out or sys.stdout
    parser = args.predict_parser
    try:
        model = load_model(args.model)
    except ModelFileError as error:
        parser.error(str(error))
    if model.nin != 64:
        parser.error(f"{args.model} takes {model.nin} inputs, not the 64 "
                     f"pixels of a digit")
    try:
        images, labels = load_digits("test", classes=model.classes)
    except ValueError as error:
        parser.error(f"{args.model} was not trained on digits: {error}")
    if args.index >= len(images):
        parser.error(f"argument --index: there are {len(images)} test images "
                     f"of these digits; use 0 to {len(images) - 1}")

    pixels, label = images[args.index], labels[args.index]
    probs = probabilities(model, pixels)
    guess = model.classes[predicted_class(probs)]
    print(f"test image {args.index} of {len(images)} (digits "
          f"{' '.join(map(str, model.classes))}, by writers not seen in training)",
          file=out)
    print(digit_to_text(pixels), file=out)
    print(f"true digit: {label}", file=out)
    print("the network's probabilities:", file=out)
    for digit, p in zip(model.classes, probs):
        bar = "#" * round(BAR_WIDTH * p)
        print(f"  {digit}  {p:6.1%}  {bar}", file=out)
    verdict = "right" if guess == label else "wrong"
    print(f"prediction: {guess} ({verdict})", file=out)
    if args.picture:
        draw_digit(pixels, args.picture)
        print(f"picture saved to {args.picture}", file=out)
    return 0
