"""``tinygrad-edu export --to torch MODEL OUT.pt``: take a trained model to PyTorch or numpy.

``--to torch`` writes a file that ``torch.load`` reads: the weights as a
PyTorch ``state_dict`` (for an ``nn.Sequential`` of ``Linear`` layers and the
model's activations) beside the architecture and the classes. ``--to numpy``
writes the weight matrices to a ``.npz`` file that ``numpy.load`` reads::

    tinygrad-edu export --to torch model.json model.pt
    tinygrad-edu export --to numpy model.json model.npz

PyTorch is optional: ``pip install tinygrad_edu[torch]``.
"""

import sys

from pathlib import Path

from .arguments import (add_model_file, check_output_paths, load_model_file,
                        loaded_model, remember_parser, runtime_failure,
                        usage_error)
from ..learn.bridge import save_numpy, save_torch, sequential_source
from ..output import OutputError

NAME = "export"
HELP = "write a trained model's weights for PyTorch (.pt) or numpy (.npz)"

# --to NAME -> the function that writes the file.
FORMATS = {"torch": save_torch, "numpy": save_numpy}
# --to NAME -> the endings its files have.
ENDINGS = {"torch": (".pt", ".pth"), "numpy": (".npz",)}


def how_to_read(model, path, to):
    """The lines of code that read the file back, in PyTorch or numpy."""
    if to == "torch":
        return ["import torch",
                "from torch import nn",
                f"model = {sequential_source(model)}",
                f"checkpoint = torch.load({str(path)!r})",
                "model.load_state_dict(checkpoint['state_dict'])",
                "classes = checkpoint['classes']    # the label of each output"]
    return ["import numpy",
            f"arrays = numpy.load({str(path)!r})",
            "arrays['layers.0.weight']    # the first layer: outputs x inputs",
            "arrays['activations'], arrays['classes']"]


def add_arguments(parser):
    parser.add_argument("--to", required=True, choices=sorted(FORMATS),
                        help="torch: a PyTorch state_dict file (.pt); "
                             "numpy: the weight matrices (.npz)")
    add_model_file(parser)
    parser.add_argument("out", metavar="OUT",
                        help="the file to write, e.g. model.pt or model.npz")
    remember_parser(parser)


def run(args, out=None):
    out = out or sys.stdout
    model = loaded_model(args, load_model_file)
    check_output_paths(args, [(args.out, "OUT")], inputs=[(args.model, "MODEL")])
    endings = ENDINGS[args.to]
    if Path(args.out).suffix.lower() not in endings:
        usage_error(args, f"argument OUT: {args.out} should end in "
                          f"{' or '.join(endings)} for --to {args.to}")
    try:
        path = FORMATS[args.to](model, args.out)
    except (ModuleNotFoundError, OutputError) as error:
        return runtime_failure(args, str(error))
    print(f"wrote {model!r} to {path}; read it in {args.to} with:", file=out)
    for line in how_to_read(model, path, args.to):
        print("    " + line, file=out)
    return 0
