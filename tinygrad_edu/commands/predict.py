"""``tinygrad-edu predict MODEL``: show a test digit and what the network thinks.

It loads a model saved by ``tinygrad-edu train``, takes one image of the
test split (written by people the network never saw) among the digits the
model knows, prints it as text and prints the network's probability for each
digit::

    tinygrad-edu predict model.json --index 5
"""

import sys
from pathlib import Path

from .arguments import (add_model_file, check_forward, check_output_paths,
                        load_digit_model, loaded_model, non_negative_int,
                        remember_parser, runtime_failure, usage_error)
from ..learn.digits import PICTURE_FORMATS, digit_to_text, draw_digit, load_digits
from ..engine import Value, no_grad
from ..learn.losses import predicted_class, softmax
from ..output import OutputError

NAME = "predict"
HELP = "show a test digit and the network's probability for each class"

BAR_WIDTH = 30


def add_arguments(parser):
    add_model_file(parser)
    parser.add_argument("--index", type=non_negative_int, default=0, metavar="K",
                        help="which test image (among the model's digits) to "
                             "show (default: 0)")
    parser.add_argument("--picture", metavar="FILE.png",
                        help="also save the digit as a picture (.png or .svg)")
    remember_parser(parser)


def probabilities(model, pixels):
    """The network's probability for each of its outputs (plain floats)."""
    with no_grad():
        logits = model([Value(p) for p in pixels])
        return [p.data for p in softmax(logits)]


def run(args, out=None):
    out = out or sys.stdout
    model = loaded_model(args, load_digit_model)
    check_output_paths(args, [(args.picture, "--picture")],
                       inputs=[(args.model, "MODEL")])
    if args.picture and Path(args.picture).suffix.lower() not in PICTURE_FORMATS:
        usage_error(args, f"argument --picture: {args.picture} must end in .png "
                          f"or .svg, the formats the digit can be saved in")
    try:
        images, labels = load_digits("test", classes=model.classes)
    except ValueError as error:
        usage_error(args, f"{args.model} was not trained on digits: {error}")
    if args.index >= len(images):
        usage_error(args, f"argument --index: there are {len(images)} test "
                          f"images of these digits; use 0 to {len(images) - 1}")
    pixels, label = images[args.index], labels[args.index]
    try:
        check_forward(model, pixels, f"test image {args.index}")
    except ValueError as error:
        usage_error(args, f"{args.model}: {error}")
    show_prediction(model, pixels, label, f"test image {args.index} of "
                    f"{len(images)}", out)
    if args.picture:
        try:
            draw_digit(pixels, args.picture)
        except OutputError as error:
            return runtime_failure(args, str(error))
        print(f"picture saved to {args.picture}", file=out)
    return 0


def show_prediction(model, pixels, label, which, out):
    """Print the digit, the network's probabilities and its guess."""
    probs = probabilities(model, pixels)
    guess = model.classes[predicted_class(probs)]
    print(f"{which} (digits {' '.join(map(str, model.classes))}, by writers "
          f"not seen in training)", file=out)
    print(digit_to_text(pixels), file=out)
    print(f"true digit: {label}", file=out)
    print("the network's probabilities:", file=out)
    for digit, p in zip(model.classes, probs):
        bar = "#" * round(BAR_WIDTH * p)
        print(f"  {digit}  {p:6.1%}  {bar}", file=out)
    verdict = "right" if guess == label else "wrong"
    print(f"prediction: {guess} ({verdict})", file=out)
