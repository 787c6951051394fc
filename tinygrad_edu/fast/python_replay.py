"""The tape's pure-Python interpreter: one float per slot, the rules from the op table.

When a :class:`~tinygrad_edu.fast.tape.Tape` is built, each instruction is
turned, once, into a :class:`ForwardStep` (the row's forward rule and where its
operands are) and, if it passes a gradient back, a :class:`BackwardStep` (the
row's local derivatives for the operands that want a gradient, and where to
add them; a dot has one per side). The loops below then only read slots,
call rules and add: every rule comes from :mod:`tinygrad_edu.fast.ops`, none
is written here.

A step's ``kind`` says how its operands are read:

* ``ONE``, ``TWO``, ``MANY``: one, two or more slots, ``rule(v[a], v[b])``;
* ``EXPONENT``: one slot and the constant exponent, ``rule(v[a], n)``;
* ``LIST``: a list of slots (``sum``, ``max``), ``rule([v[s] for s in a])``;
* ``DOT``: two lists of slots (a dot's two sides); a derivative that is an
  :class:`~tinygrad_edu.fast.ops.Operand` becomes its index, so the backward
  loop reads that side's values instead of calling a function;
* backward only, ``CONSTANT`` and ``CONSTANT_LIST``: the derivatives are
  numbers (``+ - neg sum``), ``g[a] += d * go``; and ``WEIGHTS``: a dot's
  side of parameters, read once per batch (below).

A list of slots becomes an ``itemgetter`` that reads one slice when the slots
lie side by side, as the tape arranges them. Three more things make the
loops faster, and none changes a number (``tests/test_tape.py`` checks
them against the engine, to the bit):

* **Runs of one kind.** The steps run level by level (an instruction's level
  is one more than the highest level of the slots it reads), and within a
  level kind by kind: a layer's dots, then its additions, then its relus.
  Each run is one inner loop (:func:`runs_of_one_kind`), so the loops do not
  ask every step what kind it is.
* **Weights read once per batch.** The parameters do not change during a
  batch, so a dot whose first side is parameters (a neuron's weights) reads
  them once per batch, into ``fixed``, not once per example.
* **Inputs that are 0 are skipped.** A dot is a sum of products, and a
  product with an input of 0 adds nothing to it (when the weight and the
  gradient are finite numbers). After a relu, or in a digit's blank pixels,
  about half the inputs are 0; so such a dot, forward, multiplies only the
  inputs that are not 0, and backward adds its weights' gradients only
  there (:func:`_nonzero_part`).
"""

import operator
from math import isfinite
from itertools import compress, repeat
from typing import Any, NamedTuple

from ..engine import dot_sides
from .ops import POWER, Operand

__all__ = ["ForwardStep", "BackwardStep", "Programs", "compile_programs",
           "instruction_levels", "runs_of_one_kind", "run_forward", "run_backward"]

DOT, TWO, ONE, EXPONENT, LIST, MANY, CONSTANT, CONSTANT_LIST, WEIGHTS = range(9)


class ForwardStep(NamedTuple):
    """``v[out] = rule(operands)``, the operands read as ``kind`` says."""

    kind: int
    rule: Any
    out: int
    a: Any          # a slot, a list reader, or (MANY) a tuple of slots
    b: Any          # a slot, a list reader, the exponent, or None


class BackwardStep(NamedTuple):
    """``g[operand] += derivative(operands, v[out]) * g[out]``, for each operand.

    ``da`` and ``db`` are the row's local derivatives for the operands ``a``
    and ``b``, or None where that operand wants no gradient. For ``MANY``,
    ``a`` is the tuple of operand slots and ``b`` the derivatives. A dot
    has a step per side that wants a gradient: ``a`` is the side (a
    ListOperand), ``da`` its derivative (or, for an Operand, that operand's
    index) and ``b`` the side's first slot when its slots lie side by side
    (else None). A ``WEIGHTS`` step needs only its side ``a``.
    """

    kind: int
    out: int
    a: Any            # an operand slot, or a ListOperand
    b: Any
    da: Any           # a function of (operands..., out), a number (CONSTANT), or None
    db: Any


class ListOperand(NamedTuple):
    """A list of slots as an operand: how to read it, and where its gradients go."""

    read: Any         # slot values -> the values of the list
    slots: tuple
    span: Any         # a slice when the slots lie side by side, else None


def _reader(slots, made):
    """A :class:`ListOperand` for ``slots``: it reads one slice when they lie side by side.

    ``made`` (a dict) gives the same slots the same ListOperand, so the
    forward pass can see that the dots of a layer read the same inputs.
    """
    slots = tuple(slots)
    if slots not in made:
        start, stop = slots[0], slots[0] + len(slots)
        if slots == tuple(range(start, stop)):
            span = slice(start, stop)
            read = operator.itemgetter(span)
        else:
            read, span = operator.itemgetter(*slots), None     # (2+ slots here)
        made[slots] = ListOperand(read, slots, span)
    return made[slots]


def _operands(ins, made):
    """(kind, a, b, the operands in the order of the row's derivatives)."""
    row, args = ins.row, ins.args
    if row.lists == 2:
        a, b = (_reader(side, made) for side in dot_sides(args))
        return DOT, a, b, (a, b)
    if row.lists == 1:
        a = _reader(args, made)
        return LIST, a, None, (a,)
    if row.name == POWER:
        return EXPONENT, args[0], ins.exponent, args
    if len(args) > 2:
        return MANY, tuple(args), None, args
    return (ONE, args[0], None, args) if len(args) == 1 else (TWO, *args, args)


def _wants(operand, needs_grad):
    """Does this operand (a slot or a ListOperand) want a gradient?"""
    if isinstance(operand, ListOperand):
        return any(needs_grad[s] for s in operand.slots)
    return needs_grad[operand]


def _backward_steps(ins, needs_grad, made, fixed):
    """The BackwardSteps of one instruction: one, one per dot side, or none."""
    kind, a, b, operands = _operands(ins, made)
    wanted = [d if _wants(operand, needs_grad) and not (d == 0.0 and kind == LIST)
              else None for operand, d in zip(operands, ins.row.derivatives)]
    if all(d is None for d in wanted):
        return []                        # e.g. max: it passes no gradient back
    if kind != MANY and not any(callable(d) for d in wanted):
        kind = CONSTANT_LIST if kind == LIST else CONSTANT   # + - neg sum: numbers
    else:                                # (mixed: a number becomes a function)
        wanted = [d if d is None or callable(d) else _constant(d) for d in wanted]
    if kind == MANY:
        return [BackwardStep(MANY, ins.out, a, tuple(wanted), None, None)]
    if kind == DOT:             # a step per side that wants a gradient
        return [_dot_side_step(ins.out, side, d, fixed)
                for side, d in zip((a, b), wanted) if d is not None]
    return [BackwardStep(kind, ins.out, a, b, *wanted, *[None] * (2 - len(wanted)))]


def _dot_side_step(out, side, derivative, fixed):
    """The step of one side of a dot: WEIGHTS if it is a dot's first side,
    read once per batch (its local derivatives are then the dot's inputs)."""
    if isinstance(derivative, Operand):
        if side in fixed and derivative.index == 1:
            return BackwardStep(WEIGHTS, out, side, None, None, None)
        derivative = derivative.index
    start = side.span.start if side.span is not None else None
    return BackwardStep(DOT, out, side, start, derivative, None)


def _constant(number):
    """A derivative that is always ``number``, as a function."""
    return lambda *operands_and_out: number


class Programs(NamedTuple):
    """What :func:`compile_programs` makes of a tape."""

    forward: list       # ForwardSteps
    backward: list      # BackwardSteps, in backward order
    fixed: list         # the dots' first sides that the replay reads once per batch


def compile_programs(instructions, needs_grad, n_fixed):
    """The forward and backward steps of a tape, and the sides it reads once per batch.

    Slots below ``n_fixed`` (parameters and constants) keep their value
    through a batch; so a dot's first side made of them (a neuron's
    weights) is read once per batch, not once per example: its forward
    step's ``a`` is its number in ``fixed``.

    The steps are put in the order they run (:func:`_run_order`).
    """
    forward, backward, made, fixed = [], [], {}, []
    for ins in instructions:
        kind, a, b, _ = _operands(ins, made)
        if kind == DOT and max(a.slots) < n_fixed:
            if a not in fixed:
                fixed.append(a)
            a, b = fixed.index(a), b.read
        elif ins.row.lists:              # read the lists with their itemgetters
            a, b = a.read, (b.read if b is not None else None)
        forward.append([ForwardStep(kind, ins.row.forward, ins.out, a, b)])
        backward.append(_backward_steps(ins, needs_grad, made, fixed)
                        if needs_grad[ins.out] else [])
    levels = instruction_levels(instructions)
    return Programs(_run_order(forward, levels),
                    _run_order(backward[::-1], [-level for level in levels[::-1]]),
                    fixed)


def _run_order(steps, levels):
    """The steps (a list of them for each instruction) in the order they run.

    Level by level (``levels``: each instruction's level, negated for the
    backward pass, which runs the other way), and within a level kind by
    kind: a layer's dots one after the other, then its additions, then its
    relus. Instructions of one level do not read each other's results, so
    the values are the same in any order of them; Python's sort keeps the
    order of steps of the same level and kind (so gradients that meet in a
    slot are added in the engine's order when their steps are of one kind).
    """
    keyed = [(level, step.kind, step)
             for level, of_one in zip(levels, steps) for step in of_one]
    return [step for _, _, step in sorted(keyed, key=lambda item: item[:2])]


def instruction_levels(instructions):
    """Each instruction's level: one more than the highest level of the slots it reads.

    (Parameters, constants, inputs and targets are level 0.) The instructions
    of one level do not read each other's results, so both replays may run
    them in any order: this one kind by kind, the numpy replay as one
    operation per kind.
    """
    level = {}
    for ins in instructions:
        level[ins.out] = 1 + max((level.get(s, 0) for s in ins.args), default=0)
    return [level[ins.out] for ins in instructions]


def runs_of_one_kind(steps):
    """The steps as the loops run them: ``[(kind, [step without its kind, ...]), ...]``,
    one entry per run of steps of the same kind, each step a plain tuple
    (which Python unpacks fastest)."""
    program = []
    for kind, *fields in steps:
        if not program or program[-1][0] != kind:
            program.append((kind, []))
        program[-1][1].append(tuple(fields))
    return program


def run_forward(program, v, lists, fixed, finite):
    """Run the forward program (:func:`runs_of_one_kind`) over the slot values ``v`` (floats).

    The operand lists a dot or sum reads are kept in ``lists[out]``, for the
    backward pass to use without reading them again: a dot's weights and
    inputs, and for weights read once per batch, the inputs' part that is
    not 0 (or None). The dots of a layer that read the same inputs (the same
    reader ``b``) read them once. ``fixed`` holds the values of the sides
    read once per batch (:func:`compile_programs`); when they are all
    ``finite``, such a dot multiplies only the inputs that are not 0
    (:func:`_nonzero_part`).
    """
    for kind, steps in program:
        if kind == DOT:                  # a: a reader, or the side's number in fixed
            last_read = None
            for rule, out, a, b in steps:
                if b is not last_read:
                    last_read, xs = b, b(v)
                    nonzero = _nonzero_part(xs) if finite and a.__class__ is int else None
                if a.__class__ is int:   # weights read once per batch
                    ws = fixed[a]
                    v[out] = (rule(ws, xs) if nonzero is None
                              else rule(nonzero[0](ws), nonzero[1]))
                    lists[out] = ws, xs, nonzero
                else:
                    ws = a(v)
                    v[out] = rule(ws, xs)
                    lists[out] = ws, xs
        elif kind == TWO:
            for rule, out, a, b in steps:
                v[out] = rule(v[a], v[b])
        elif kind == ONE:
            for rule, out, a, b in steps:
                v[out] = rule(v[a])
        elif kind == EXPONENT:
            for rule, out, a, b in steps:
                v[out] = rule(v[a], b)
        elif kind == LIST:
            for rule, out, a, b in steps:
                operands = lists[out] = a(v)
                v[out] = rule(operands)
        else:
            for rule, out, a, b in steps:
                v[out] = rule(*[v[s] for s in a])


def _nonzero_part(xs):
    """``(pick, pick(xs))``: ``pick`` reads the entries of ``xs`` that are not 0.

    A dot is a sum of products that starts at 0, so a product w * 0 (which
    is 0 or -0 when w is finite) leaves it as it is, to the bit: the dot of
    the picked weights and inputs is the same number. In the same way a
    weight's gradient, which only ever has numbers added to it from 0, is
    left as it is by x * go where x is 0 and go finite. None when no input
    is 0 (nothing to skip) or fewer than two are not (the whole dot is as
    quick).
    """
    places = list(compress(range(len(xs)), xs))     # (a NaN is not 0: it stays)
    if len(places) < 2 or len(places) == len(xs):
        return None
    pick = operator.itemgetter(*places)
    return pick, pick(xs)


def run_backward(program, v, g, lists):
    """Run the backward program (:func:`runs_of_one_kind`): add each operand's
    share of ``g[out]`` into ``g``.

    ``v`` and ``lists`` are as the last :func:`run_forward` left them. A slot
    whose gradient is exactly 0 passes nothing on (as the engine's
    ``chain_rule_step`` skips it), e.g. behind a relu that is switched off:
    every loop below starts with that test.
    """
    for kind, steps in program:
        if kind == CONSTANT:
            for out, a, b, da, db in steps:
                go = g[out]
                if go != 0.0:
                    if da is not None:
                        g[a] += da * go
                    if db is not None:
                        g[b] += db * go
        elif kind == ONE:
            for out, a, b, da, db in steps:
                go = g[out]
                if go != 0.0:
                    g[a] += da(v[a], v[out]) * go
        elif kind == WEIGHTS:            # a dot's weights: g[w] += x * go
            for out, a, b, da, db in steps:
                go = g[out]
                if go != 0.0:
                    ws, xs, nonzero = lists[out]
                    if nonzero is not None and isfinite(go):    # only where x is not 0
                        _add_into(g, nonzero[0](a.slots), nonzero[1], go)
                    else:
                        _add_into(g, a.slots, xs, go)
        elif kind == DOT:                # one side of a dot: a = the side, b = its first slot
            for out, a, b, da, db in steps:
                go = g[out]
                if go != 0.0:
                    operands = lists[out]                        # (ws, xs, ...)
                    local = (operands[da] if da.__class__ is int
                             else da(operands[0], operands[1], v[out]))
                    if b is None:
                        _add_into(g, a.slots, local, go)
                    else:                # side by side: count the slots up from b
                        for dl in local: # (faster than reading them, or a slice)
                            g[b] += dl * go
                            b += 1
        elif kind == TWO:
            for out, a, b, da, db in steps:
                go = g[out]
                if go != 0.0:
                    x, y, o = v[a], v[b], v[out]
                    if da is not None:
                        g[a] += da(x, y, o) * go
                    if db is not None:
                        g[b] += db(x, y, o) * go
        elif kind == EXPONENT:
            for out, a, b, da, db in steps:
                go = g[out]
                if go != 0.0:
                    g[a] += da(v[a], b, v[out]) * go
        elif kind == CONSTANT_LIST:
            for out, a, b, da, db in steps:
                go = g[out]
                if go != 0.0:
                    _add_into(g, a.slots, repeat(da, len(a.slots)), go)
        elif kind == LIST:
            for out, a, b, da, db in steps:
                go = g[out]
                if go != 0.0:
                    _add_into(g, a.slots, da(lists[out], v[out]), go)
        else:                                     # MANY: a = slots, b = derivatives
            for out, a, b, da, db in steps:
                go = g[out]
                if go != 0.0:
                    operands = [v[s] for s in a] + [v[out]]
                    for s, d in zip(a, b):
                        if d is not None:
                            g[s] += d(*operands) * go


def _add_into(g, slots, local_derivatives, go):
    """g[s] += local * go for each of the ``slots``."""
    for s, local in zip(slots, local_derivatives):
        g[s] += local * go


def batch_labels(xs, labels):
    """``labels`` checked against the batch ``xs`` (None: a batch without targets)."""
    if labels is None:
        labels = [None] * len(xs)
    if len(xs) == 0 or len(xs) != len(labels):
        raise ValueError(f"a batch needs as many labels as examples, got "
                         f"{len(xs)} examples and {len(labels)} labels")
    return labels
