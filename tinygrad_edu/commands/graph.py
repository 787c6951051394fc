"""``tinygrad-edu graph``: draw a computation graph, with its gradients, to a file.

    tinygrad-edu graph "tanh(x*w + b)" x=2 w=-3 b=6.5 --params w b --out out/graph.png
    tinygrad-edu graph --neuron 3 --out out/neuron.svg

The formula is read safely (never run as Python): numbers, variables given a
value, + - * / **, and exp, log, tanh, sigmoid, relu, abs. ``--neuron N``
draws one neuron with N inputs instead.
"""

import random

from .arguments import (DefaultPath, check_output_path, formula_root, int_between,
                        positive_int, remember_parser, runtime_failure,
                        unnamed_if, usage_error)

NAME = "graph"
HELP = "draw the computation graph of a formula or a neuron, with gradients"

MAX_NEURON_INPUTS = 50
DEFAULT_OUT = DefaultPath("out/graph.png")


def add_arguments(parser):
    parser.add_argument("formula", nargs="?",
                        help='a formula in quotes, e.g. "tanh(x*w + b)"')
    parser.add_argument("variables", nargs="*", metavar="NAME=NUMBER",
                        help="a value for each variable, e.g. x=2 w=-3")
    parser.add_argument("--neuron", type=int_between(1, MAX_NEURON_INPUTS),
                        metavar="N",
                        help=f"draw one neuron with N inputs (1 to "
                             f"{MAX_NEURON_INPUTS}) instead of a formula")
    parser.add_argument("--activation",
                        choices=["relu", "tanh", "sigmoid", "linear"],
                        help="with --neuron: its activation (default tanh)")
    parser.add_argument("--seed", type=int, metavar="N",
                        help="with --neuron: seed of its weights and inputs "
                             "(default 0)")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="FILE",
                        help="where to save: .png, .svg, .pdf or .dot; without "
                             f"an extension, .png (default {DEFAULT_OUT}, if "
                             f"there is no such file yet)")
    parser.add_argument("--params", nargs="+", default=[], metavar="NAME",
                        help="the formula's variables to draw as parameters "
                             "(weights and biases, green), e.g. --params w b; "
                             "the others are inputs")
    parser.add_argument("--no-backward", action="store_true",
                        help="draw before backprop (gradients not computed yet)")
    parser.add_argument("--max-nodes", type=positive_int, metavar="N",
                        help="the most boxes to draw (default 1000)")
    remember_parser(parser)


def run(args):
    from ..pictures import (DEFAULT_MAX_NODES, GraphTooLargeError, GraphvizError,
                        draw_graph, render)
    from ..output import OutputError
    max_nodes = DEFAULT_MAX_NODES if args.max_nodes is None else args.max_nodes
    try:
        root = build_root(args)
        if not args.no_backward:
            root.backward()
        graph = draw_graph(root, max_nodes=max_nodes,
                           parameters=named_leaves(root, args.params) or None)
    except GraphTooLargeError as error:
        usage_error(args, error.advice(fold_option=None,
                                       limit_option="--max-nodes {}"))
    except ValueError as error:         # a formula it cannot use
        usage_error(args, str(error))
    path = output_path(args)            # creates its folder: after the checks
    try:
        path = render(graph, path)
    except (OutputError, GraphvizError) as error:
        return runtime_failure(args, str(error))
    print(f"{root.name} = {root.data:.4g}; wrote {path}")
    return 0


def named_leaves(root, names):
    """The leaves of ``root`` called one of ``names``; a ValueError names any
    name the formula does not have."""
    from ..engine import topological_order
    leaves = {v.label: v for v in topological_order(root) if not v.parents and v.label}
    unknown = [name for name in names if name not in leaves]
    if unknown:
        raise ValueError(f"argument --params: the formula has no variable "
                         f"{', '.join(unknown)} (it has {', '.join(sorted(leaves))})")
    return [leaves[name] for name in names]


def output_path(args):
    """The picture's path: ``--out`` with .png added if it has no extension;
    a usage error if it cannot be written."""
    from ..output import check_name_length
    from ..pictures import picture_path
    try:
        check_name_length(args.out)         # before picture_path looks at it
        path = picture_path(args.out, default="png")
    except ValueError as error:
        usage_error(args, f"argument --out: {error}")
    return check_output_path(args, unnamed_if(args.out, path), "--out")


def build_root(args):
    """The formula's Value, or a neuron's output, as the arguments ask."""
    if args.neuron is not None:
        if args.formula:
            raise ValueError("give either a formula or --neuron N, not both")
        return _neuron(args.neuron, args.activation or "tanh", args.seed or 0)
    for flag, value in (("--activation", args.activation), ("--seed", args.seed)):
        if value is not None:
            raise ValueError(f"{flag} only goes with --neuron N (a formula has "
                             f"no activation or random weights)")
    if not args.formula:
        raise ValueError('give a formula, e.g. tinygrad-edu graph "x*w + b" '
                         'x=2 w=-3 b=6.5, or --neuron 3')
    return formula_root(args.formula, args.variables, "out")


def _neuron(n_inputs, activation, seed):
    from ..engine import Value
    from ..learn.nn import Neuron
    rng = random.Random(seed)
    neuron = Neuron(n_inputs, activation, random.Random(seed))
    neuron.b.data = round(rng.uniform(-1, 1), 2)
    x = [Value(round(rng.uniform(-2, 2), 2), f"x.{i}") for i in range(n_inputs)]
    out = neuron(x)
    out.label = "out"
    return out
