"""The exercises, in the order a course takes them.

Each row names the functions to blank (by name, in which workbook file), the
one-line hint left in each blank, what the exercise teaches, and the check
that grades it. Operations that the engine gains later (a ``tan``, say) are
found by reading the engine (:func:`discovered_ops`) and get an exercise too,
checked the same way as the others.
"""

import ast
from dataclasses import dataclass

from .. import engine as reference
from .blanking import find_function, function_names
from .graph_checks import check_chain_rule_step, check_topological_order
from .network_checks import check_cross_entropy, check_mlp
from .op_checks import OPS, check_op, dot_spec, generic_op
from .verdict import WRITTEN_BY_LEARNER

__all__ = ["Blank", "Exercise", "exercises", "FILES"]

# The files of a workbook: its name -> the package module it is copied from.
FILES = {"engine.py": "tinygrad_edu.engine",
         "nn.py": "tinygrad_edu.learn.nn",
         "losses.py": "tinygrad_edu.learn.losses"}


@dataclass(frozen=True)
class Blank:
    """One function to blank: ``target`` in the workbook file ``file``."""
    file: str
    target: str
    hint: str
    task: str = ""        # the docstring, for a function that has none
    optional: bool = False    # blanked if the file has it (a newer nn.py, say)


@dataclass(frozen=True)
class Exercise:
    """One exercise: what to blank, what it teaches, and how to check it.

    ``check(module)`` raises ``Failed`` with a counterexample, or returns;
    ``module`` is the learner's copy of ``blanks[0].file``.
    """
    id: str
    blanks: tuple
    teaches: str
    check: object

    @property
    def file(self):
        return self.blanks[0].file


# ----------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------

_OP_HINTS = {
    "add": ("other = _as_value(other); return Value(..., op='+', "
            "parents=(self, other), local_grads=(d/da, d/db))"),
    "mul": "like __add__; how much does a*b change per unit of a?",
    "sub": "like __add__; what does making b larger do to a - b?",
    "div": ("refuse other.data == 0 (ZeroDivisionError); for d/db, think of "
            "a/b as a times b**-1 and use the power rule, then write the "
            "number yourself: one Value"),
    "neg": "one parent, self; -a moves the opposite way to a",
    "exp": ("math.exp (turn its OverflowError into a clear message); which "
            "function is its own slope?"),
    "log": "refuse x <= 0 with a ValueError; the slope of log x shrinks as x grows",
    "tanh": "t = math.tanh(self.data); write the slope with t",
    "sigmoid": "s = _stable_sigmoid(self.data); write the slope with s",
    "relu": "max(x, 0); its slope is 1 or 0 (choose 0 at x = 0)",
    "abs": "abs(x); its slope is the sign of x (choose 0 at x = 0)",
    "sqrt": "refuse x <= 0 with a ValueError (no slope at 0); sqrt(x) = x**0.5",
    "sin": "math.sin; which function is the slope of sin?",
    "cos": "math.cos; the slope of cos is a sine, but with which sign?",
}

_OP_TEACHES = {
    "add": "a Value records its parents and its local derivatives",
    "mul": "the local derivative of a product is the other factor",
    "sub": "a minus sign in the forward pass is a minus sign in the slope",
    "div": "the quotient rule, and refusing to divide by zero",
    "neg": "an operation with one parent",
    "pow": "the power rule, and a^b = exp(b log a) for a Value exponent",
    "exp": "the function that is its own derivative; overflow",
    "log": "1/x, and the domain of an operation",
    "tanh": "writing a derivative with the output instead of the input",
    "sigmoid": "s(1 - s), and computing e^-x without overflow",
    "relu": "a kink: choosing the slope at 0",
    "abs": "another kink: the sign function",
    "sqrt": "the power rule with the power 1/2; a slope that is infinite at 0",
    "sin": "derivatives that turn into each other: sin gives cos",
    "cos": "and cos gives -sin",
}


def _op_name(spec):
    """The op name the exercise's Value must carry, as the engine writes it."""
    try:
        return spec.build(reference, spec.simple[0])[0].op
    except AttributeError:              # an engine newer than the one installed
        return None


def _op_exercise(spec, hint, teaches, extra=()):
    formula = "a ** exponent" if spec.id == "pow" else spec.formula(spec.simple[0])
    if "op=" not in hint and _op_name(spec):
        hint += (" Use" if hint.endswith("?") else "; use") + f" op={_op_name(spec)!r}"
    names = ("a is self, b is other" if "b" in spec.simple[0] else
             "a is self" if "a" in spec.simple[0] else "x is self")
    task = (f"Return {formula} as one new Value that records its parents and "
            f"its local derivatives ({names}).")
    blanks = (Blank("engine.py", f"Value.{spec.method}", hint, task),) + extra
    return Exercise(spec.id, blanks, teaches, lambda module: check_op(spec, module))


def _pow_exercise(spec):
    return _op_exercise(
        spec, "if exponent is a Value: return self._pow_value(exponent); else "
              "n = _as_float(exponent, ...), _check_power, _power, op=f'**{n}'",
        _OP_TEACHES["pow"],
        (Blank("engine.py", "Value._pow_value",
               "two parents; one slope from the power rule, one from "
               "a^b = e^(b log a); op='**'"),))


def _known_ops():
    found = []
    for spec in OPS:
        if spec.id == "pow":
            found.append(_pow_exercise(spec))
        else:
            found.append(_op_exercise(spec, _OP_HINTS[spec.id], _OP_TEACHES[spec.id]))
    return found


def _later_exercises():
    return [
        Exercise("chain_rule_step", (Blank(
            "engine.py", "chain_rule_step",
            "for each parent and its local derivative, add (+=) the "
            "local derivative times value.grad into parent.grad (and leave "
            "value.grad as it is)"),),
            "the chain rule, one Value at a time; gradients accumulate",
            check_chain_rule_step),
        Exercise("topological_order", (Blank(
            "engine.py", "topological_order",
            "a loop with a stack (not recursion) and a set of finished "
            "Values; a Value goes after all its parents, then reverse"),),
            "the order backprop needs; reused Values; deep graphs",
            check_topological_order),
        Exercise("dot", (Blank(
            "engine.py", "_dot_of_values",
            "one Value: the sum of w.data * x.data, parents weights + inputs, "
            "a local derivative for each; op='dot'"),),
            "a neuron's weighted sum as one operation with many parents",
            lambda module: check_op(dot_spec(), module)),
        Exercise("mlp", (
            Blank("nn.py", "Neuron.pre_activation",
                  "check len(x) against len(self.w), then dot(self.w, x) + self.b"),
            Blank("nn.py", "Neuron.__call__",
                  "apply ACTIVATIONS[self.activation] to the pre-activation",
                  "activation(w.x + b): what the neuron outputs for inputs x."),
            Blank("nn.py", "Layer.outputs",
                  "make plain numbers Values once, then one output per neuron",
                  optional=True),
            Blank("nn.py", "Layer.__call__",
                  "one output per neuron, all for the same inputs x",
                  "The outputs of the layer's neurons (see the class docstring)."),
            Blank("nn.py", "MLP.outputs",
                  "the last layer's outputs, as a list", optional=True),
            Blank("nn.py", "MLP.__call__",
                  "feed x through self.layers, in order",
                  "The network's outputs for the inputs x (see the class "
                  "docstring)."),
            Blank("nn.py", "MLP.forward_all",
                  "like __call__, but keep the input and each layer's outputs")),
            "an MLP's forward pass: neurons, layers, a network", check_mlp),
        Exercise("cross_entropy", (
            Blank("losses.py", "log_sum_exp",
                  "subtract shift from each logit, exp, vsum, log, add shift back"),
            Blank("losses.py", "cross_entropy",
                  "check the target (_check_label); log_sum_exp with the "
                  "largest logit (_largest) as shift, minus the target's logit")),
            "a loss that never overflows: the log-sum-exp trick",
            check_cross_entropy),
    ]


def discovered_ops(tree):
    """Methods of ``Value`` that make a Value with local derivatives but are
    not in the table (an operation added to the engine later); ``tree`` is
    the engine's source, parsed."""
    known = {f"Value.{spec.method}" for spec in OPS} | {"Value._pow_value",
                                                       "Value.__init__"}
    found = []
    for name in function_names(tree):
        parts = name.split(".")
        if len(parts) != 2 or parts[0] != "Value" or name in known:
            continue
        method = parts[1]
        if method.startswith("_") and not method.startswith("__"):
            continue                        # a helper, not an operation
        node = find_function(tree, name)
        arity = len(node.args.args) - 1
        if arity in (0, 1) and _records_local_grads(node):
            found.append(generic_op(method, arity))
    return found


def _records_local_grads(node):
    return any(isinstance(call, ast.Call) and any(
        keyword.arg == "local_grads" for keyword in call.keywords)
        for call in ast.walk(node))


def exercises(sources):
    """Every exercise for the files whose source texts ``sources`` maps by
    name ("engine.py", ...), in course order. An exercise whose functions a
    file lacks is left out; a new operation of the engine is put in."""
    trees = {name: ast.parse(text) for name, text in sources.items()}
    names = {name: set(function_names(tree)) for name, tree in trees.items()}

    def present(exercise):
        return all(b.optional or b.target in names[b.file] for b in exercise.blanks)

    new_ops = [_op_exercise(spec, "compute the value with the math module; "
                            "its slope at x is the local derivative",
                            "one more operation, checked like the others")
               for spec in discovered_ops(trees["engine.py"])]
    found = ([e for e in _known_ops() if present(e)] + new_ops
             + [e for e in _later_exercises() if present(e)])
    WRITTEN_BY_LEARNER.update(blank.target.rsplit(".", 1)[-1]
                              for exercise in found for blank in exercise.blanks)
    return found
