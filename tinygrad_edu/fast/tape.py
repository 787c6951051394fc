"""Trace once, replay fast: a model's loss compiled into a flat *tape*.

The engine builds a fresh graph of ``Value`` objects for every example. That
is what makes it easy to read and to step through, and also what makes it
slow: most of the time goes into creating objects, not into arithmetic. But
for a given network and loss the *shape* of that graph never changes; only
the numbers flowing through it do. So we can

1. **trace** the loss of one example with the ordinary engine, marking the
   model's parameters and the example's inputs and targets as *slots*;
2. write the graph down as a flat list of instructions (a *tape*): each one
   says "slot ``out`` = ``op`` of slots ``args``", in an order where every
   slot is computed before it is used;
3. **replay** the tape for each new example: forward over a flat list of
   floats, then backward over a flat list of gradients, in reverse. No Value
   objects are built, yet the numbers are the engine's.

Print a tape to read the program it holds::

    >>> from tinygrad_edu import MLP
    >>> from tinygrad_edu.fast.traced_losses import compile_loss
    >>> tape = compile_loss(MLP(2, [2, 1], seed=0), "mse")
    >>> print(tape)                                  # doctest: +NORMALIZE_WHITESPACE
    # tape: mse loss of MLP(2, [2, 1], activation='relu', output_activation='linear')
    # slots: w[0:9] parameters, x[0:2] inputs, y[0:1] targets, t0..t11 temporaries (constants are written as numbers)
    t0 = dot(w[0:2], x[0:2])
    t1 = t0 + w[2]
    t2 = relu(t1)
    t3 = dot(w[3:5], x[0:2])
    t4 = t3 + w[5]
    t5 = relu(t4)
    t6 = dot(w[6:8], [t2, t5])
    t7 = t6 + w[8]
    t8 = t7 - y[0]
    t9 = t8 ** 2
    t10 = sum([t9])
    t11 = t10 / 1
    loss = t11

Each line is one engine operation of the traced graph: ``t0 = dot(...)`` is
the neuron's fused weighted sum, ``w[2]`` its bias, ``y[0]`` the target.

Where the work is done:

* :mod:`~tinygrad_edu.fast.traced_losses` traces a model's loss so that the
  graph is the same for any example (:func:`compile_loss`);
* this module writes the graph down as a program (:meth:`Tape.from_graph`)
  and lists it (``print(tape)``);
* :mod:`~tinygrad_edu.fast.ops` holds each operation's forward rule and local
  derivatives, the one table both replays use;
* :mod:`~tinygrad_edu.fast.python_replay` runs the program one example at a
  time over flat lists of floats (:meth:`Tape.forward`, :meth:`Tape.backward`);
* :mod:`~tinygrad_edu.fast.numpy_replay` runs it over a whole batch at once,
  with numpy: there every slot holds a vector with one number per example.
"""

import math
from itertools import repeat

from ..engine import Value, _exact_text, _power, dot_sides, topological_order
from ..learn.losses import one_hot
from .ops import POWER, SYMBOLS, row_for, row_name
from .python_replay import (EXPONENT, ONE, batch_labels, compile_programs, run_backward,
                            run_forward, runs_of_one_kind)
from .python_source import CompiledTape, python_source

__all__ = ["Tape", "Instruction"]


class Instruction:
    """One line of the tape: ``slots[out] = op(slots[args...])``.

    ``op`` names the row of the op table (:mod:`.ops`) that replays it
    (``add``, ``relu``, ``dot``, an op made with define_op, ...) and ``row``
    is that row; for ``pow`` the constant exponent is in ``exponent``. A
    dot's ``args`` are its two sides, weights then inputs (see
    :func:`~tinygrad_edu.engine.dot_sides`).
    """

    __slots__ = ("op", "out", "args", "exponent", "row")

    def __init__(self, op, out, args, exponent=None, row=None):
        self.op = op
        self.out = out
        self.args = tuple(args)
        self.exponent = exponent
        self.row = row_for(op) if row is None else row

    def __repr__(self):
        extra = f", exponent={self.exponent!r}" if self.exponent is not None else ""
        return f"Instruction({self.op!r}, out={self.out}, args={self.args}{extra})"


class Tape:
    """A traced loss as a flat program over numbered slots, replayed without Values.

    The slots are laid out in one flat list::

        [ parameters | constants | inputs x | targets y | temporaries ]

    ``instructions`` lists the operations in an order where each slot is
    computed before it is read. ``params`` are the model's parameter Values;
    replay reads their current ``data``, so a tape compiled once stays valid
    while an optimizer changes the weights.
    """

    def __init__(self, instructions, params, constants, n_inputs, n_targets,
                 n_temporaries, root, outputs, needs_grad, loss="",
                 description=""):
        self.instructions = list(instructions)
        self.params = list(params)
        self.constants = list(constants)
        self.n_params = len(self.params)
        self.n_inputs = n_inputs
        self.n_targets = n_targets
        self.n_temporaries = n_temporaries
        self.input_start = self.n_params + len(self.constants)
        self.target_start = self.input_start + n_inputs
        self.temp_start = self.target_start + n_targets
        self.n_slots = self.temp_start + n_temporaries
        self.root = root
        self.outputs = list(outputs)
        self.needs_grad = list(needs_grad)
        self.loss = loss
        self.description = description
        # The steps the replay runs, in the order it runs them, with named
        # fields (python_replay); and the same as its loops take them, in
        # runs of one kind. A dot's side of parameters and constants is read
        # once per batch (into _fixed, with _fixed_finite saying whether its
        # numbers are all finite).
        programs = compile_programs(self.instructions, self.needs_grad, self.input_start)
        self.forward_steps, self.backward_steps = programs.forward, programs.backward
        self._fixed_sides = programs.fixed
        self._fixed, self._fixed_finite = [], False
        self._forward_program = runs_of_one_kind(self.forward_steps)
        self._backward_program = runs_of_one_kind(self.backward_steps)
        self._values = [0.0] * self.n_slots
        self._grads = [0.0] * self.n_slots
        self._zero_temporaries = [0.0] * n_temporaries
        self._one_hots = {}                     # label -> its one-hot targets
        self._lists = [None] * self.n_slots     # a dot's or sum's operand lists
        self.load_parameters()

    # -- building -------------------------------------------------------

    @classmethod
    def from_graph(cls, root, params, inputs, targets, outputs, loss="",
                   description=""):
        """Write the engine graph behind ``root`` down as a tape.

        ``params``, ``inputs`` and ``targets`` are leaf Values that become
        the named slot ranges ``w``, ``x`` and ``y``; any other leaf is a
        constant (e.g. the ``2`` of ``** 2`` or the ``n`` of ``/ n``).
        """
        order = topological_order(root)[::-1]      # parents before children
        slot = {}
        for i, p in enumerate(params):
            slot[id(p)] = i
        leaves = [v for v in order if not v.parents]
        known = set(slot)
        known.update(id(v) for v in inputs)
        known.update(id(v) for v in targets)
        constants = []
        for v in leaves:
            if id(v) not in known:
                slot[id(v)] = len(params) + len(constants)
                constants.append(v.data)
                known.add(id(v))
        input_start = len(params) + len(constants)
        for i, v in enumerate(inputs):
            slot[id(v)] = input_start + i
        for i, v in enumerate(targets):
            slot[id(v)] = input_start + len(inputs) + i
        temp_start = input_start + len(inputs) + len(targets)

        # Temporaries. A slot's number does not change what is computed, so
        # we choose numbers that keep the operands of each dot/sum/max
        # together (a layer's outputs side by side): then replay can read
        # them as one slice, in Python and in numpy.
        inner = [v for v in order if v.parents]
        # (a Value of an op made with define_op keeps the rules it was made
        # with, which stay right if the op is defined again; row_for refuses
        # an unknown op)
        rows = {id(v): v.rules or row_for(row_name(v)) for v in inner}
        next_slot = temp_start
        for v in inner:
            for group in _list_operands(rows[id(v)], v.parents):
                ids = [id(p) for p in group]
                if (all(p.parents for p in group) and len(set(ids)) == len(ids)
                        and not any(i in slot for i in ids)):
                    for p in group:
                        slot[id(p)] = next_slot
                        next_slot += 1
        for v in inner:
            if id(v) not in slot:
                slot[id(v)] = next_slot
                next_slot += 1

        needs_grad = [False] * next_slot
        for i in range(len(params)):
            needs_grad[i] = True
        instructions = []
        for v in inner:
            args = [slot[id(p)] for p in v.parents]
            out = slot[id(v)]
            needs_grad[out] = any(needs_grad[a] for a in args)
            instructions.append(Instruction(rows[id(v)].name, out, args, v.exponent,
                                            rows[id(v)]))
        return cls(instructions, params, constants, len(inputs), len(targets),
                   next_slot - temp_start, slot[id(root)],
                   [slot[id(o)] for o in outputs], needs_grad, loss, description)

    # -- replay, one example at a time, in pure Python ------------------

    def load_parameters(self, weights=None):
        """Copy the parameters' current ``data`` (or ``weights``) into the slot list."""
        self._values[:self.n_params] = (
            [p.data for p in self.params] if weights is None else weights)
        self._values[self.n_params:self.input_start] = self.constants
        self._fixed[:] = [side.read(self._values) for side in self._fixed_sides]
        # (all finite if their sum is: an inf or a NaN makes it inf or NaN)
        self._fixed_finite = math.isfinite(sum(self._values[:self.input_start]))

    def forward(self, x, label=None, load_parameters=True):
        """Run the program forward for one example; return its loss (a float).

        ``label`` is the target class (a tape without targets takes None).
        """
        values = self._values
        if load_parameters:
            self.load_parameters()
        if len(x) != self.n_inputs:
            raise ValueError(f"the tape takes {self.n_inputs} inputs, got {len(x)}")
        values[self.input_start:self.target_start] = x
        values[self.target_start:self.temp_start] = self.targets_of(label)
        try:
            run_forward(self._forward_program, values, self._lists, self._fixed,
                        self._fixed_finite)
        except OverflowError:
            self._explain_overflow()
            raise
        return values[self.root]

    def _explain_overflow(self):
        """Raise the engine's error for the step of the last forward that overflowed.

        A float ``**`` or ``math.exp`` that overflows says only "(34,
        'Numerical result out of range')"; the engine says which numbers.
        The steps before the one that failed ran on this example's values, so
        the first step, in run order, whose rule overflows is that one.
        """
        values = self._values
        op_of = {ins.out: ins.op for ins in self.instructions}
        for step in self.forward_steps:
            if step.kind not in (ONE, EXPONENT):
                continue                 # (+ - * / and lists give inf, not an error)
            operands = (values[step.a],) if step.kind == ONE else (values[step.a], step.b)
            try:
                step.rule(*operands)
            except OverflowError:
                _engine_overflow(op_of[step.out], operands)

    def targets_of(self, label):
        """The target values of ``label``: ``one_hot(label, n_targets)``, made
        (and ``label`` checked) once per label; ``[]`` for a tape without targets."""
        targets = self._one_hots.get(label) if label.__class__ is int else None
        if targets is None:
            targets = one_hot(label, self.n_targets) if self.n_targets else []
            if label.__class__ is int:
                self._one_hots[label] = targets
        return targets

    def output_values(self):
        """The model's outputs from the last :meth:`forward`."""
        return [self._values[i] for i in self.outputs]

    def backward(self, seed=1.0, zero_param_grads=True):
        """Backprop through the last :meth:`forward`; return the parameter gradients.

        ``seed`` is d(objective)/d(loss), e.g. ``1/batch`` for a mean.
        With ``zero_param_grads=False`` the gradients add to those already
        held.
        """
        if zero_param_grads:
            self._grads[:] = repeat(0.0, self.n_slots)
        self._backprop(seed)
        return self._grads[:self.n_params]

    def _backprop(self, seed):
        """Backprop through the last :meth:`forward`, adding into the gradients held."""
        grads = self._grads
        grads[self.temp_start:] = self._zero_temporaries   # (only they are read)
        grads[self.root] = seed
        run_backward(self._backward_program, self._values, grads, self._lists)

    def loss_and_gradients(self, x, label=None):
        """The loss of one example and d(loss)/d(each parameter), as floats."""
        loss = self.forward(x, label)
        return loss, self.backward()

    def batch_gradients(self, xs, labels=None, weights=None):
        """The mean loss over a batch and its gradient for each parameter.

        Each example is replayed forward and backward in turn; the gradients
        add up in one flat list (with seed 1/batch, so they are those of the
        mean loss). ``weights`` (a list of floats) defaults to the
        parameters' current ``data``.
        """
        labels = batch_labels(xs, labels)
        n = len(xs)
        self.load_parameters(weights)
        self._grads[:] = repeat(0.0, self.n_slots)
        total = 0.0
        for x, label in zip(xs, labels):
            total += self.forward(x, label, load_parameters=False)
            self._backprop(1.0 / n)
        return total / n, self._grads[:self.n_params]

    def accumulate_batch(self, xs, labels):
        """Add the mean loss's gradients into each parameter's ``grad``; return the loss.

        This is what ``loss.backward()`` on the mean loss does in the plain
        engine (leaves accumulate), so it can replace it in a training loop.
        """
        loss, grads = self.batch_gradients(xs, labels)
        for p, g in zip(self.params, grads):
            p.grad += g
        return loss

    # -- the program as Python --------------------------------------------

    def to_python(self):
        """The program as the source of one straight-line Python function.

        What a compiler would write for this tape: each instruction one line
        of plain Python, forward then backward. Print it to read it;
        ``compile_python()`` runs it (:mod:`~tinygrad_edu.fast.python_source`).
        """
        return python_source(self)

    def compile_python(self):
        """The :meth:`to_python` function compiled, with a batch loop: a ``CompiledTape``."""
        return CompiledTape(self)

    # -- reading the program ---------------------------------------------

    def slot_name(self, i):
        """What slot ``i`` holds, as the printed program names it.

        ``w[3]`` (a parameter), ``c[0]`` (a constant), ``x[5]`` (an input),
        ``y[0]`` (a target) or ``t12`` (the result of instruction 12).
        """
        if i < self.n_params:
            return f"w[{i}]"
        if i < self.input_start:
            return f"c[{i - self.n_params}]"
        if i < self.target_start:
            return f"x[{i - self.input_start}]"
        if i < self.temp_start:
            return f"y[{i - self.target_start}]"
        if not hasattr(self, "_temp_names"):
            self._temp_names = {ins.out: f"t{k}"
                                for k, ins in enumerate(self.instructions)}
        return self._temp_names[i]

    def _operand_text(self, i):
        """A slot as the printed program shows it; constants as their number."""
        if self.n_params <= i < self.input_start:
            return f"{self.constants[i - self.n_params]:g}"
        return self.slot_name(i)

    def _list_text(self, slots):
        """``w[0:64]`` for a run of parameters, inputs or targets, else a list."""
        for start, stop, kind in ((0, self.n_params, "w"),
                                  (self.input_start, self.target_start, "x"),
                                  (self.target_start, self.temp_start, "y")):
            run = all(s == slots[0] + k for k, s in enumerate(slots))
            if run and start <= slots[0] and slots[-1] < stop:
                first = slots[0] - start
                return f"{kind}[{first}:{first + len(slots)}]"
        return "[" + ", ".join(self._operand_text(s) for s in slots) + "]"

    def format(self):
        """The program as text, one instruction per line."""
        temporaries = (f"t0..t{self.n_temporaries - 1} temporaries"
                       if self.n_temporaries else "no temporaries")
        lines = [f"# tape: {self.description}" if self.description else "# tape",
                 f"# slots: w[0:{self.n_params}] parameters, "
                 f"x[0:{self.n_inputs}] inputs, y[0:{self.n_targets}] targets, "
                 f"{temporaries} (constants are written as numbers)"]
        return self.listing(lines, ((self.slot_name(ins.out), self._instruction_text(ins))
                                    for ins in self.instructions))

    def listing(self, header, assignments):
        """A program as text: the ``header`` lines, ``name = expression`` for each
        assignment, and the line naming the loss (shared by the numpy replay)."""
        lines = list(header)
        lines += [f"{name} = {expression}" for name, expression in assignments]
        lines.append(f"loss = {self.slot_name(self.root)}")
        return "\n".join(lines)

    def _instruction_text(self, ins):
        a = [self._operand_text(s) for s in ins.args]
        op = ins.op
        if op == POWER:
            return f"{a[0]} ** {_exact_text(ins.exponent)}"
        if op == "neg":
            return f"-{a[0]}"
        if op in SYMBOLS:                            # + - * /
            return f"{a[0]} {SYMBOLS[op]} {a[1]}"
        if ins.row.lists:
            lists = _list_operands(ins.row, ins.args)
            text = f"{op}({', '.join(self._list_text(group) for group in lists)})"
            if op == "max":
                text += "    # no gradient: the stable log-sum-exp's shift"
            return text
        return f"{op}({', '.join(a)})"

    def __str__(self):
        return self.format()

    def __repr__(self):
        return (f"<Tape {self.loss}: {len(self.instructions)} instructions, "
                f"{self.n_params} parameters, {self.n_slots} slots>")


def _engine_overflow(op, operands):
    """Raise the OverflowError the engine raises for ``op`` of these numbers."""
    if op == POWER:
        _power(*operands)                          # "1e+160 ** 2 is too large ..."
    elif hasattr(Value, op):
        getattr(Value(operands[0]), op)()          # e.g. exp's message
    raise OverflowError(f"{op}({operands[0]:g}) is too large for a float")


def _list_operands(row, operands):
    """The lists among an op's operands: a dot's two sides, a sum's one list, or none."""
    if row.lists == 2:
        return dot_sides(operands)
    return (operands,) if row.lists == 1 else ()
