"""Trace once, write Python: a tape turned into a straight-line Python function.

The pure-Python replay is an *interpreter*: for every instruction it looks up
what to do (``if code == ADD: ...``) and where the operands are. A compiler
does that work once, ahead of time: it writes a program that does only the
arithmetic. Here the compiler is a few dozen lines, and its output is plain
Python you can print and read::

    >>> from tinygrad_edu import MLP
    >>> from tinygrad_edu.fast.traced_losses import compile_loss
    >>> tape = compile_loss(MLP(2, [2, 1], seed=0), "mse")
    >>> print(python_source(tape))              # doctest: +ELLIPSIS
    def loss_and_gradients(w, x, y, gw, seed):
        '''One example forward, then backward: returns the loss, adds seed * d(loss)/dw into gw.'''
        # forward: the tape's instructions, one line each
        t0 = 0.0 + w[0] * x[0] + w[1] * x[1]
        t1 = t0 + w[2]
        t2 = 0.0 if t1 <= 0 else t1
        t3 = 0.0 + w[3] * x[0] + w[4] * x[1]
        t4 = t3 + w[5]
        t5 = 0.0 if t4 <= 0 else t4
        t6 = 0.0 + w[6] * t2 + w[7] * t5
        t7 = t6 + w[8]
        t8 = t7 - y[0]
        t9 = t8 ** 2.0
        h0 = (t9,)
        t10 = sum(h0)
        t11 = t10 / 1.0
        # backward: the same instructions in reverse, each passing its gradient on
        g0 = g1 = g2 = g3 = g4 = g5 = g6 = g7 = g8 = g9 = g10 = 0.0
        g11 = seed
        if g11:  # t11 = t10 / 1.0
            g10 += g11 / 1.0
        ...
        if g6:  # t6 = 0.0 + w[6] * t2 + w[7] * t5
            gw[6] += g6 * t2
            gw[7] += g6 * t5
            g2 += g6 * w[6]
            g5 += g6 * w[7]
        ...
        return t11
    <BLANKLINE>

Temporaries are local variables (``t7``) with their gradients beside them
(``g7``); the weights ``w`` and their gradients ``gw`` are lists, the
inputs ``x`` and the one-hot targets ``y`` too. A dot is written out term
by term, and its gradients one line per operand: no loop runs, which is what
makes this faster than the interpreter. A list operand of ``sum`` or ``max``
is a tuple named once (``h0``). Constants are written in as numbers. Each line does what the replay does for that instruction, in the
same order, so the numbers are the replay's (and the engine's).

The compiler writes the ops it knows as Python expressions (``t0 + w[2]``,
``0.0 if t1 <= 0 else t1``): each of those templates is checked against its
row of the op table (``tests/test_python_source.py``). Any other op, such as
one made with ``define_op``, is a call of its row's rules (``cube(t3)``).

The source is made only from the traced program (slot numbers, op names,
constants written with ``repr``, or as ``math.inf`` and ``math.nan``), never
from text a user typed, and compiled with Python's own ``compile``.
"""

import math
from typing import NamedTuple

from ..engine import _stable_sigmoid, dot_sides
from .python_replay import batch_labels

__all__ = ["python_source", "compile_python", "CompiledTape"]

FUNCTION = "loss_and_gradients"

# What the generated code may call: the names it uses, nothing else.
_NAMESPACE = {"math": math, "exp": math.exp,
              "log": math.log, "tanh": math.tanh, "sigmoid": _stable_sigmoid}

# op -> the forward expression, from the operands' names.
_FORWARD = {
    "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
    "neg": "-{0}", "exp": "exp({0})", "log": "log({0})", "tanh": "tanh({0})",
    "sigmoid": "sigmoid({0})", "abs": "abs({0})",
    "relu": "0.0 if {0} <= 0 else {0}",            # a NaN stays NaN
}

# op -> for each operand, the amount added to its gradient; {g} is the
# result's gradient, {out} the result, {0} and {1} the operands. None: the
# operand gets a rule of its own below (relu, abs) or no gradient.
_BACKWARD = {
    "add": ("{g}", "{g}"), "sub": ("{g}", "-{g}"),
    "mul": ("{1} * {g}", "{0} * {g}"),
    "div": ("{g} / {1}", "-{out} / {1} * {g}"),
    "neg": ("-{g}",), "exp": ("{out} * {g}",), "log": ("{g} / {0}",),
    "tanh": ("(1.0 - {out} * {out}) * {g}",),
    "sigmoid": ("{out} * (1.0 - {out}) * {g}",),
}


def number_text(number):
    """A number as Python source that reads back as exactly it: ``2.0``, ``-math.inf``.

    ``repr`` gives ``inf`` and ``nan`` for the IEEE specials, which are not
    Python names (clamp with one bound makes an infinite constant); the
    generated module has ``math`` in its namespace, so they are written
    ``math.inf``, ``-math.inf`` and ``math.nan``.
    """
    number = float(number)
    if math.isnan(number):
        return "math.nan"
    if math.isinf(number):
        return "math.inf" if number > 0 else "-math.inf"
    return repr(number)


class _Writer:
    """Names for the slots of one tape, and the lines written so far."""

    def __init__(self, tape):
        self.tape = tape
        self.lines = []
        self.temp = {ins.out: k for k, ins in enumerate(tape.instructions)}
        self.lists = {}                   # tuple of slots -> name of its tuple
        self.namespace = dict(_NAMESPACE)  # what the generated code may call

    def rule(self, name, function):
        """A name for an op table rule the generated code calls (e.g. ``cube``)."""
        while self.namespace.get(name, function) is not function:
            name += "_"
        self.namespace[name] = function
        return name

    def value(self, slot):
        """A slot's value as an expression: ``w[3]``, ``x[5]``, ``t12`` or a number."""
        tape = self.tape
        if slot < tape.n_params:
            return f"w[{slot}]"
        if slot < tape.input_start:
            return number_text(tape.constants[slot - tape.n_params])
        if slot < tape.target_start:
            return f"x[{slot - tape.input_start}]"
        if slot < tape.temp_start:
            return f"y[{slot - tape.target_start}]"
        return f"t{self.temp[slot]}"

    def grad(self, slot):
        """Where a slot's gradient is added: ``gw[3]`` or ``g12`` (None: nowhere)."""
        if not self.tape.needs_grad[slot]:
            return None
        if slot < self.tape.n_params:
            return f"gw[{slot}]"
        return f"g{self.temp[slot]}"

    def span(self, slots):
        """``(list, start, stop)`` if ``slots`` are side by side in ``w``, ``x`` or ``y``."""
        tape = self.tape
        for name, start, stop in (("w", 0, tape.n_params),
                                  ("x", tape.input_start, tape.target_start),
                                  ("y", tape.target_start, tape.temp_start)):
            first = slots[0]
            if (start <= first and first + len(slots) <= stop
                    and list(slots) == list(range(first, first + len(slots)))):
                return name, first - start, first - start + len(slots), stop - start
        return None

    def sequence(self, slots):
        """A list operand as an expression: a slice, or a tuple named once."""
        found = self.span(slots)
        if found:
            name, a, b, size = found
            return name if (a, b) == (0, size) else f"{name}[{a}:{b}]"
        key = tuple(slots)
        if key not in self.lists:
            self.lists[key] = f"h{len(self.lists)}"
            items = ", ".join(self.value(s) for s in slots)
            comma = "," if len(slots) == 1 else ""
            self.lines.append(f"    {self.lists[key]} = ({items}{comma})")
        return self.lists[key]


def _forward_line(writer, ins):
    op, args = ins.op, ins.args
    if op == "dot":
        weights, inputs = dot_sides(ins.args)
        expression = _dot_expression(writer, weights, inputs)
    elif op in ("sum", "max"):
        expression = f"{op}({writer.sequence(args)})"
    elif op == "pow":
        expression = f"{writer.value(args[0])} ** {number_text(ins.exponent)}"
    elif op in _FORWARD:
        expression = _FORWARD[op].format(*(writer.value(a) for a in args))
    else:                                        # an op of the user's: its rule
        operands = ", ".join(writer.value(a) for a in args)
        expression = f"{writer.rule('op_' + op, ins.row.forward)}({operands})"
    return f"    {writer.value(ins.out)} = {expression}"


def _dot_expression(writer, weights, inputs, per_line=4):
    """A dot written out term by term: ``0.0 + w[0] * x[0] + w[1] * x[1] + ...``.

    Python's ``sum`` adds the products to 0.0 from left to right, and so does
    this line, so the result is the same to the bit (even a -0.0 becomes 0.0).
    Written out, it runs about a sixth faster than ``sum(map(mul, ...))``.
    Long dots go on over several lines, ``per_line`` products to a line.
    """
    terms = [f"{writer.value(w)} * {writer.value(x)}" for w, x in zip(weights, inputs)]
    lines = [" + ".join(terms[k:k + per_line]) for k in range(0, len(terms), per_line)]
    if len(lines) <= 1:
        return " + ".join(["0.0"] + lines)
    return "(0.0 + " + "\n        + ".join(lines) + ")"


def _backward_lines(writer, ins):
    """The lines that pass the gradient of ``ins.out`` on to its operands."""
    g = writer.grad(ins.out)
    out = writer.value(ins.out)
    op, args = ins.op, ins.args
    names = [writer.value(a) for a in args]
    lines = []
    if op == "dot":
        weights, inputs = dot_sides(ins.args)
        for side, other in ((weights, inputs), (inputs, weights)):
            if not any(writer.tape.needs_grad[s] for s in side):
                continue
            for s, o in zip(side, other):     # one line per operand: no loop to run
                if writer.grad(s):
                    lines.append(f"{writer.grad(s)} += {g} * {writer.value(o)}")
    elif op == "sum":
        lines += [f"{writer.grad(s)} += {g}" for s in args if writer.grad(s)]
    elif op == "max":
        return []                        # a constant: no gradient
    elif op == "pow":
        n = ins.exponent
        if n != 0 and writer.grad(args[0]):
            lines.append(f"{writer.grad(args[0])} += {number_text(n)} * {names[0]} "
                         f"** {number_text(n - 1)} * {g}")
    elif op == "relu":
        x, gx = names[0], writer.grad(args[0])
        if gx:
            lines += [f"if {x} > 0:", f"    {gx} += {g}",
                      f"elif {x} != {x}:  # NaN: its slope is NaN", f"    {gx} += {x} * {g}"]
    elif op == "abs":
        x, gx = names[0], writer.grad(args[0])
        if gx:
            lines += [f"if {x} > 0:", f"    {gx} += {g}", f"elif {x} < 0:", f"    {gx} -= {g}"]
    elif op in _BACKWARD:
        for k, rule in enumerate(_BACKWARD[op]):
            target = writer.grad(args[k])
            if target:
                lines.append(f"{target} += " + rule.format(*names, g=g, out=out))
    else:                                        # an op of the user's: its rules
        for k, derivative in enumerate(ins.row.derivatives):
            target = writer.grad(args[k])
            if not target:
                continue
            if callable(derivative):
                call = writer.rule(f"d_{op}_{k}", derivative)
                local = f"{call}({', '.join(names + [out])})"
            else:
                local = number_text(derivative)
            lines.append(f"{target} += {local} * {g}")
    return lines


def python_source(tape):
    """The tape as the source of one straight-line Python function (see :func:`_write`)."""
    return _write(tape).source


class _Written(NamedTuple):
    source: str
    namespace: dict


def _write(tape):
    """The tape as the source of one straight-line Python function.

    ``loss_and_gradients(w, x, y, gw, seed)`` runs one example forward (``w``
    the weights, ``x`` the inputs, ``y`` the one-hot target, all lists of
    floats) and backward, adds ``seed`` times each weight's gradient into the
    list ``gw`` and returns the loss.
    """
    writer = _Writer(tape)
    writer.lines += [f"def {FUNCTION}(w, x, y, gw, seed):",
                     "    '''One example forward, then backward: returns the loss, "
                     "adds seed * d(loss)/dw into gw.'''",
                     "    # forward: the tape's instructions, one line each"]
    for ins in tape.instructions:
        writer.lines.append(_forward_line(writer, ins))
    writer.lines.append("    # backward: the same instructions in reverse, each "
                        "passing its gradient on")
    root = writer.grad(tape.root)
    grads = [writer.grad(ins.out) for ins in tape.instructions
             if writer.grad(ins.out) and ins.out != tape.root]
    if grads:
        writer.lines.append("    " + " = ".join(grads) + " = 0.0")
    if root:
        writer.lines.append(f"    {root} = seed")
    for ins in reversed(tape.instructions):
        g = writer.grad(ins.out)
        body = _backward_lines(writer, ins) if g else []
        if body:
            first, *more = _forward_line(writer, ins).strip().split("\n")
            writer.lines.append(f"    if {g}:  # {first}{' ...)' if more else ''}")
            writer.lines += ["        " + line for line in body]
    writer.lines.append(f"    return {writer.value(tape.root)}")
    return _Written("\n".join(writer.lines) + "\n", writer.namespace)


def compile_python(tape):
    """The function :func:`python_source` writes, compiled and ready to call."""
    return _compile(_write(tape), tape)


def _compile(written, tape):
    source, namespace = written.source, dict(written.namespace)
    code = compile(source, f"<generated from {tape!r}>", "exec")
    exec(code, namespace)     # our own source, made from the traced program only
    return namespace[FUNCTION]


class CompiledTape:
    """A tape's generated function with the loop over a batch around it.

    ``source`` is the function's text (print it), ``function`` the function.
    """

    def __init__(self, tape):
        written = _write(tape)
        self.tape = tape
        self.source = written.source
        self.function = _compile(written, tape)

    def batch_gradients(self, xs, labels=None, weights=None):
        """The mean loss over a batch and d(mean loss)/d(each weight), as a list.

        ``weights`` (a list of floats) defaults to the parameters' current
        ``data``; as :meth:`Tape.batch_gradients`, with the same numbers.
        """
        tape, run = self.tape, self.function
        labels = batch_labels(xs, labels)
        n = len(xs)
        if weights is None:
            weights = [p.data for p in tape.params]
        grads = [0.0] * tape.n_params
        total = 0.0
        try:
            for x, label in zip(xs, labels):
                total += run(weights, x, tape.targets_of(label), grads, 1.0 / n)
        except OverflowError:
            tape.load_parameters(weights)  # the interpreter names what overflowed
            tape.forward(x, label, load_parameters=False)
            raise
        return total / n, grads
