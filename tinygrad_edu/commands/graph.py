"""``tinygrad-edu graph``: draw a computation graph, with its gradients, to a file.

    tinygrad-edu graph "tanh(x*w + b)" x=2 w=-3 b=1 --out out/graph.png
    tinygrad-edu graph --neuron 3 --out out/neuron.svg

The formula is read safely (never run as Python): numbers, variables given a
value, + - * / **, and exp, log, tanh, sigmoid, relu, abs. ``--neuron N``
draws one neuron with N inputs instead.
"""

import random
import sys

NAME = "graph"
HELP = "draw the computation graph of a formula or a neuron, with gradients"


def add_arguments(parser):
    parser.add_argument("formula", nargs="?",
                        help='a formula in quotes, e.g. "tanh(x*w + b)"')
    parser.add_argument("variables", nargs="*", metavar="NAME=NUMBER",
                        help="a value for each variable, e.g. x=2 w=-3")
    parser.add_argument("--neuron", type=int, metavar="N",
                        help="draw one neuron with N inputs instead of a formula")
    parser.add_argument("--activation", default="tanh",
                        choices=["relu", "tanh", "sigmoid", "linear"],
                        help="the neuron's activation (default tanh)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the neuron's weights and inputs (default 0)")
    parser.add_argument("--out", default="out/graph.png", metavar="FILE",
                        help="where to save: .png, .svg, .pdf or .dot "
                             "(default out/graph.png)")
    parser.add_argument("--no-backward", action="store_true",
                        help="draw before backprop (gradients not computed yet)")
    parser.add_argument("--max-nodes", type=int, default=None,
                        help="the most boxes to draw (default 1000)")


def run(args):
    from ..draw import DEFAULT_MAX_NODES, OutputError, draw_graph, render
    from ..expression import ExpressionError
    try:
        root = _build(args)
        if not args.no_backward:
            root.backward()
        graph = draw_graph(root, max_nodes=args.max_nodes or DEFAULT_MAX_NODES)
        path = render(graph, args.out)
    except (ExpressionError, ValueError, OutputError) as error:
        print(f"tinygrad-edu graph: {error}", file=sys.stderr)
        return 1
    print(f"{root.name} = {root.data:.4g}; wrote {path}")
    return 0


def _build(args):
    if args.neuron is not None:
        if args.formula:
            raise ValueError("give either a formula or --neuron N, not both")
        return _neuron(args.neuron, args.activation, args.seed)
    if not args.formula:
        raise ValueError('give a formula, e.g. tinygrad-edu graph "x*w + b" '
                         'x=2 w=-3 b=1, or --neuron 3')
    from ..expression import parse_assignments, parse_expression
    root = parse_expression(args.formula, parse_assignments(args.variables))
    if not root.label:
        root.label = "out"
    return root


def _neuron(n_inputs, activation, seed):
    from ..engine import Value
    from ..nn import Neuron
    if not 1 <= n_inputs <= 50:
        raise ValueError(f"--neuron takes 1 to 50 inputs, got {n_inputs}")
    rng = random.Random(seed)
    neuron = Neuron(n_inputs, activation, random.Random(seed))
    neuron.b.data = round(rng.uniform(-1, 1), 2)
    x = [Value(round(rng.uniform(-2, 2), 2), f"x.{i}") for i in range(n_inputs)]
    out = neuron(x)
    out.label = "out"
    return out
