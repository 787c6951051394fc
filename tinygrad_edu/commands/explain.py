"""``tinygrad-edu explain``: the article's four steps of backprop for one digit.

    tinygrad-edu explain --digit 3 --out out/explain
    tinygrad-edu explain --digit 7 --model out/model.json --index 2 --format svg
    tinygrad-edu explain --digit 7 --model out/model.json --pick wrong

Writes step1..step4 pictures (and a last one: which pixels made it that digit)
and ``explain.txt``, which quotes the real numbers. ``--pick wrong`` or
``--pick unsure`` tells a test image the model gets wrong or is least sure of,
so a trained model still has a story to tell.
Without ``--model`` an untrained ``MLP(64, [16, 16, 10])`` made with ``--seed``
is used, as in the article (whose network is untrained too).
"""

import re
from pathlib import Path

from .arguments import (check_forward, check_output_paths, digit,
                        load_digit_model, non_negative_int, output_index,
                        pick_test_image, remember_parser, runtime_failure,
                        unnamed_if, usage_error, DefaultPath)

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
                        help="which test image of that digit (default 0); with "
                             "--pick wrong/unsure, which of those (0 = the "
                             "most wrong / least sure)")
    parser.add_argument("--pick", choices=["first", "wrong", "unsure"],
                        default="first",
                        help="first: test image --index; wrong: one the model "
                             "misclassifies; unsure: one it gets right but is "
                             "least sure of (default first)")
    parser.add_argument("--out", default=DefaultPath("out/explain"), metavar="DIR",
                        help="folder for the pictures and explain.txt "
                             "(default out/explain, if it holds none yet)")
    parser.add_argument("--format", choices=["png", "svg", "pdf"], default="png",
                        help="picture format (default png)")
    remember_parser(parser)


def run(args):
    from ..pictures import GraphvizError
    from ..pictures.explain import explain_steps, write_explanation
    from ..output import OutputError
    folder = Path(args.out)
    check_output_paths(args, [(unnamed_if(args.out, folder / "explain.txt"), "--out")],
                       inputs=[(args.model, "--model")])
    try:
        model = _model(args)
        check_size(model)
        output_index(model, args.digit)
        image, why = _image(args, model)
        check_forward(model, image, f"the chosen test image of {args.digit}")
    except ValueError as error:
        usage_error(args, str(error))
    # One picture per layer, the output's, and the pixels': step1 .. step(layers + 2).
    check_output_paths(args, [(unnamed_if(args.out, folder / f"step{n}.{args.format}"), "--out")
                              for n in range(1, len(model.sizes) + 3)])
    steps = explain_steps(model, image, args.digit)
    try:
        paths = write_explanation(steps, args.out, args.format, intro=why)
    except (OutputError, GraphvizError) as error:
        return runtime_failure(args, str(error))
    remove_stale_pictures(folder, paths)
    print(why + "\n")
    for step in steps:
        print(f"Step {step.number}: {step.title}\n  {step.text}\n")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


# The pictures explain writes: step1.png, step2.svg, ...
PICTURE_NAME = re.compile(r"step[0-9]+\.(png|svg|pdf)")


def remove_stale_pictures(folder, written):
    """Remove pictures an earlier run of explain left in ``folder`` that
    this run did not write again (a bigger model's step5.png, a picture in
    another format): they would tell another model's story. Only files
    named as explain names its pictures are touched."""
    keep = {Path(path).name for path in written}
    for path in folder.iterdir():
        if (PICTURE_NAME.fullmatch(path.name) and path.name not in keep
                and path.is_file() and not path.is_symlink()):
            try:
                path.unlink()
            except OSError:
                pass                    # not ours to remove after all: leave it


def _image(args, model):
    """The test image ``--pick`` and ``--index`` ask for, and why it was chosen."""
    if args.pick == "first":
        image = pick_test_image(args.digit, args.index)
        return image, f'Test image {args.index} of the "{args.digit}"s.'
    from ..learn.digits import load_digits
    from ..pictures.explain import choose_image
    images, _ = load_digits("test", classes=[args.digit])
    position, why = choose_image(model, images, args.digit, args.pick, args.index)
    return images[position], why


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
