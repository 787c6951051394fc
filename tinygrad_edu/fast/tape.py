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

The same tape is replayed over a whole batch at once, with numpy, in
:mod:`tinygrad_edu.fast.numpy_replay`: there every slot holds a vector with one
number per example.

Things that depend on the data are recomputed at every replay, so the tape is
exact for *any* input, not only the traced one:

* ``relu`` and ``abs`` choose their local derivative from the input's sign;
* cross-entropy subtracts the largest logit before ``exp`` (for stability).
  The tape records that shift as a ``max`` instruction whose gradient is
  zero (it is a constant as far as calculus is concerned), so it is the
  largest logit of *this* example;
* the target class of cross-entropy enters as a one-hot vector ``y``, picked
  out with ``dot(y, logits)``, so the program is the same for every label.
"""

import math
import operator
from itertools import repeat

from ..engine import Value, _exact_text, dot, topological_order
from ..learn.losses import _check_label, log_sum_exp, mse, one_hot

__all__ = ["Tape", "Instruction", "compile_loss"]

_add = operator.add
_mul = operator.mul


class Instruction:
    """One line of the tape: ``slots[out] = op(slots[args...])``.

    ``op`` is one of ``add sub mul div neg pow exp log tanh sigmoid relu abs
    sum dot max``. For ``pow`` the constant exponent is in ``exponent``. For
    ``dot`` the first half of ``args`` are the weights and the second half
    the inputs.
    """

    __slots__ = ("op", "out", "args", "exponent")

    def __init__(self, op, out, args, exponent=None):
        self.op = op
        self.out = out
        self.args = tuple(args)
        self.exponent = exponent

    def __repr__(self):
        extra = f", exponent={self.exponent!r}" if self.exponent is not None else ""
        return f"Instruction({self.op!r}, out={self.out}, args={self.args}{extra})"


# Engine op name -> tape op name, for ops with a fixed name.
_ENGINE_OPS = {
    "+": "add", "-": "sub", "*": "mul", "/": "div", "neg": "neg",
    "exp": "exp", "log": "log", "tanh": "tanh", "sigmoid": "sigmoid",
    "relu": "relu", "abs": "abs", "sum": "sum", "dot": "dot", "max": "max",
}


# ----------------------------------------------------------------------
# Tracing: the losses, written so that the graph is the same for any data.
# ----------------------------------------------------------------------

def _stop_gradient_max(values):
    """The largest of ``values`` as a Value whose local derivatives are all 0.

    ``cross_entropy`` subtracts the largest logit as a plain number. In a
    tape that number must be recomputed for every example, so here it is an
    operation of its own ("max") that passes no gradient back: exactly as a
    constant would.
    """
    m = max(v.data for v in values)
    return Value(m, op="max", parents=values, local_grads=[0.0] * len(values))


def traceable_cross_entropy(logits, target_one_hot):
    """Cross-entropy with the target as one-hot Values: log-sum-exp - dot(y, z).

    The same numbers and gradients as :func:`tinygrad_edu.cross_entropy`
    (the same :func:`~tinygrad_edu.learn.losses.log_sum_exp`, and ``dot`` with a
    one-hot vector picks out the target's logit exactly), but the graph does
    not depend on which class is the target, and the shift is the tape's
    ``max`` op, recomputed for each example.
    """
    return (log_sum_exp(logits, _stop_gradient_max(logits))
            - dot(target_one_hot, logits))


def traceable_mse(outputs, targets):
    """Mean squared error with the targets as Values (the same graph as ``mse``)."""
    return mse(outputs, targets)


_LOSSES = {"mse": traceable_mse, "cross_entropy": traceable_cross_entropy}


def compile_loss(model, loss="mse", example=None):
    """Trace ``loss(model(x), y)`` for one example and return it as a :class:`Tape`.

    ``model`` is an :class:`~tinygrad_edu.MLP` (anything with ``nin``,
    ``parameters()`` and ``outputs()`` returning a list of Values). ``loss`` is
    ``"mse"`` (to the one-hot target, as in the article) or
    ``"cross_entropy"``. ``example`` is an optional ``(x, label)`` to trace
    with; the tape does not depend on it, since it is exact for any input.
    The parameters are not copied: every replay reads their current ``data``.
    """
    if loss not in _LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose 'mse' or 'cross_entropy'")
    params = model.parameters()
    nin = model.nin
    if example is None:
        x_numbers = [0.0] * nin
        label = 0
    else:
        x_numbers, label = example
    x_values = [Value(float(v), f"x.{i}") for i, v in enumerate(x_numbers)]
    if len(x_values) != nin:
        raise ValueError(f"the model takes {nin} inputs, the example has {len(x_values)}")
    outputs = model.outputs(x_values)
    _check_label(label, len(outputs))
    y_values = [Value(v, f"y.{i}") for i, v in enumerate(one_hot(label, len(outputs)))]
    root = _LOSSES[loss](outputs, y_values)
    description = f"{loss} loss of {model!r}"
    return Tape.from_graph(root, params, x_values, y_values, outputs,
                           loss=loss, description=description)


# ----------------------------------------------------------------------
# The tape.
# ----------------------------------------------------------------------

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
        self._forward_program, self._backward_program = _compile_python(self)
        self._values = [0.0] * self.n_slots
        self._grads = [0.0] * self.n_slots

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
        next_slot = temp_start
        for v in inner:
            if v.op in ("dot", "sum", "max"):
                n = len(v.parents) // 2 if v.op == "dot" else len(v.parents)
                for group in ((v.parents[:n], v.parents[n:]) if v.op == "dot"
                              else (v.parents,)):
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
            op, exponent = _tape_op(v)
            out = slot[id(v)]
            needs_grad[out] = any(needs_grad[a] for a in args)
            instructions.append(Instruction(op, out, args, exponent))
        return cls(instructions, params, constants, len(inputs), len(targets),
                   next_slot - temp_start, slot[id(root)],
                   [slot[id(o)] for o in outputs], needs_grad, loss, description)

    # -- replay, one example at a time, in pure Python ------------------

    def load_parameters(self):
        """Copy the parameters' current ``data`` into the slot list."""
        self._values[:self.n_params] = [p.data for p in self.params]
        self._values[self.n_params:self.input_start] = self.constants

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
        if self.n_targets:
            values[self.target_start:self.temp_start] = one_hot(label, self.n_targets)
        _run_forward(self._forward_program, values)
        return values[self.root]

    def output_values(self):
        """The model's outputs from the last :meth:`forward`."""
        return [self._values[i] for i in self.outputs]

    def backward(self, seed=1.0, zero_param_grads=True):
        """Backprop through the last :meth:`forward`; return the parameter gradients.

        ``seed`` is d(objective)/d(loss), e.g. ``1/batch`` for a mean.
        With ``zero_param_grads=False`` the gradients add to those already
        held, which is how :meth:`batch_gradients` sums over a batch.
        """
        grads = self._grads
        if zero_param_grads:
            grads[:] = repeat(0.0, self.n_slots)
        else:
            grads[self.n_params:] = repeat(0.0, self.n_slots - self.n_params)
        grads[self.root] = seed
        _run_backward(self._backward_program, self._values, grads)
        return grads[:self.n_params]

    def loss_and_gradients(self, x, label=None):
        """The loss of one example and d(loss)/d(each parameter), as floats."""
        loss = self.forward(x, label)
        return loss, self.backward()

    def batch_gradients(self, xs, labels=None):
        """The mean loss over a batch and its gradient for each parameter.

        Each example is replayed forward and backward in turn; the gradients
        add up in one flat list (with seed 1/batch, so they are those of the
        mean loss).
        """
        n = len(xs)
        if labels is None:
            labels = [None] * n
        if n == 0 or n != len(labels):
            raise ValueError(f"a batch needs as many labels as examples, got "
                             f"{len(xs)} examples and {len(labels)} labels")
        self.load_parameters()
        self._grads[:] = repeat(0.0, self.n_slots)
        total = 0.0
        for x, label in zip(xs, labels):
            total += self.forward(x, label, load_parameters=False)
            self.backward(1.0 / n, zero_param_grads=False)
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
        lines = [f"# tape: {self.description}" if self.description else "# tape",
                 f"# slots: w[0:{self.n_params}] parameters, "
                 f"x[0:{self.n_inputs}] inputs, y[0:{self.n_targets}] targets, "
                 f"t0..t{self.n_temporaries - 1} temporaries "
                 f"(constants are written as numbers)"]
        for ins in self.instructions:
            lines.append(f"{self.slot_name(ins.out)} = {self._instruction_text(ins)}")
        lines.append(f"loss = {self.slot_name(self.root)}")
        return "\n".join(lines)

    def _instruction_text(self, ins):
        a = [self._operand_text(s) for s in ins.args]
        symbols = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
        if ins.op in symbols:
            return f"{a[0]} {symbols[ins.op]} {a[1]}"
        if ins.op == "neg":
            return f"-{a[0]}"
        if ins.op == "pow":
            return f"{a[0]} ** {_exact_text(ins.exponent)}"
        if ins.op == "dot":
            n = len(ins.args) // 2
            return (f"dot({self._list_text(ins.args[:n])}, "
                    f"{self._list_text(ins.args[n:])})")
        if ins.op in ("sum", "max"):
            text = f"{ins.op}({self._list_text(ins.args)})"
            if ins.op == "max":
                text += "    # no gradient: the stable log-sum-exp's shift"
            return text
        return f"{ins.op}({a[0]})"

    def __str__(self):
        return self.format()

    def __repr__(self):
        return (f"<Tape {self.loss}: {len(self.instructions)} instructions, "
                f"{self.n_params} parameters, {self.n_slots} slots>")


def _tape_op(value):
    """The tape op (and constant exponent) for the engine Value ``value``."""
    op = value.op
    if op in _ENGINE_OPS:
        return _ENGINE_OPS[op], None
    if op.startswith("**") and len(value.parents) == 1:
        # The engine writes the exponent so that it reads back exactly
        # (``**2``, ``**0.5``, ``**1.2345678``).
        exponent = float(op[2:])
        _check_exponent(value, exponent)
        return "pow", exponent
    raise ValueError(f"the tape cannot replay the engine op {op!r} "
                     f"(a Value as an exponent is not supported)")


def _check_exponent(value, exponent):
    """A sanity check: ``exponent`` gives the number the engine computed."""
    expected = value.data
    got = value.parents[0].data ** exponent
    if got != expected and not (math.isnan(got) and math.isnan(expected)):
        raise ValueError(f"the exponent read from the op {value.op!r} does not "
                         f"give the traced number ({got!r}, not {expected!r})")


# ----------------------------------------------------------------------
# The pure-Python interpreter. Each instruction becomes a tuple
# (code, out, a, b); the loops below dispatch on ``code``. Operand lists of
# dot/sum/max become ``itemgetter``s, which read a slice when the slots are
# side by side.
# ----------------------------------------------------------------------

(DOT, ADD, RELU, SUB, MUL, DIV, NEG, POW, EXP, LOG, TANH, SIGMOID, ABS, SUM,
 MAX) = range(15)
_CODES = {"dot": DOT, "add": ADD, "relu": RELU, "sub": SUB, "mul": MUL,
          "div": DIV, "neg": NEG, "pow": POW, "exp": EXP, "log": LOG,
          "tanh": TANH, "sigmoid": SIGMOID, "abs": ABS, "sum": SUM, "max": MAX}


def _reader(slots):
    """(a function list -> the values at ``slots``, (start, stop) or None).

    When the slots are side by side the function reads one slice and the
    span is returned too; otherwise it picks them one by one.
    """
    slots = list(slots)
    start, stop = slots[0], slots[0] + len(slots)
    if slots == list(range(start, stop)):
        return operator.itemgetter(slice(start, stop)), (start, stop)
    return operator.itemgetter(*slots), None        # (two or more slots here)


def _compile_python(tape):
    """Turn the instructions into the forward and backward programs."""
    forward, backward = [], []
    needs = tape.needs_grad
    for ins in tape.instructions:
        code = _CODES[ins.op]
        args = ins.args
        if code == DOT:
            n = len(args) // 2
            get_w, _ = _reader(args[:n])
            get_x, _ = _reader(args[n:])
            forward.append((code, ins.out, get_w, get_x))
            if needs[ins.out]:
                backward.append((code, ins.out, _grad_target(args[:n], needs, get_x),
                                 _grad_target(args[n:], needs, get_w), None))
        elif code in (SUM, MAX):
            get, _ = _reader(args)
            forward.append((code, ins.out, get, None))
            if code == SUM and needs[ins.out]:
                backward.append((code, ins.out, _grad_target(args, needs, None),
                                 None, None))
        elif code == POW:
            forward.append((code, ins.out, args[0], ins.exponent))
            if needs[ins.out]:
                backward.append((code, ins.out, args[0], ins.exponent, None))
        else:
            a = args[0]
            b = args[1] if len(args) > 1 else None
            forward.append((code, ins.out, a, b))
            if needs[ins.out]:
                # For two operands: which of them wants a gradient.
                wants = (needs[a], needs[b]) if b is not None else None
                backward.append((code, ins.out, a, b, wants))
    backward.reverse()
    return forward, backward


def _grad_target(slots, needs, get_other):
    """Where a list operand's gradient goes: None if no slot in it needs one.

    Returns (slots, (start, stop) or None, reader of the other operand).
    """
    if not any(needs[s] for s in slots):
        return None
    _, span = _reader(slots)
    return (tuple(slots), span, get_other)


def _run_forward(program, v):
    # dot and sum add with the built-in sum, in the same order as the
    # engine's dot and vsum: the same number to the last bit.
    for code, out, a, b in program:
        if code == DOT:
            v[out] = sum(map(_mul, a(v), b(v)))
        elif code == ADD:
            v[out] = v[a] + v[b]
        elif code == RELU:
            x = v[a]
            v[out] = 0.0 if x <= 0 else x         # (a NaN stays NaN, as in the engine)
        elif code == SUB:
            v[out] = v[a] - v[b]
        elif code == MUL:
            v[out] = v[a] * v[b]
        elif code == POW:
            v[out] = v[a] ** b
        elif code == SUM:
            v[out] = sum(a(v))
        elif code == DIV:
            v[out] = v[a] / v[b]
        elif code == EXP:
            v[out] = math.exp(v[a])
        elif code == LOG:
            v[out] = math.log(v[a])
        elif code == MAX:
            v[out] = max(a(v))
        elif code == NEG:
            v[out] = -v[a]
        elif code == TANH:
            v[out] = math.tanh(v[a])
        elif code == SIGMOID:
            x = v[a]
            if x >= 0:
                v[out] = 1.0 / (1.0 + math.exp(-x))
            else:
                e = math.exp(x)
                v[out] = e / (1.0 + e)
        elif code == ABS:
            v[out] = abs(v[a])
        else:                                     # pragma: no cover
            raise AssertionError(code)


def _add_into(g, target, amounts):
    """g[s] += amount for each slot s of ``target`` (a slice when side by side)."""
    slots, span = target[0], target[1]
    if span is not None:
        start, stop = span
        g[start:stop] = map(_add, g[start:stop], amounts)
    else:
        for s, amount in zip(slots, amounts):
            g[s] += amount


def _run_backward(program, v, g):
    for code, out, a, b, wants in program:
        go = g[out]
        if go == 0.0:
            continue                 # nothing to pass on (e.g. behind a dead relu)
        if code == DOT:
            # d/dw_i = x_i, d/dx_i = w_i. ``a`` and ``b`` carry the other side's reader.
            for target in (a, b):
                if target is None:
                    continue
                slots, span, read_other = target
                if span is not None:             # side by side: one slice
                    start, stop = span
                    g[start:stop] = [gi + go * o for gi, o in
                                     zip(g[start:stop], read_other(v))]
                else:
                    for s, o in zip(slots, read_other(v)):
                        g[s] += go * o
        elif code == ADD:
            if wants[0]:
                g[a] += go
            if wants[1]:
                g[b] += go
        elif code == RELU:
            x = v[a]
            if x > 0:
                g[a] += go
            elif x != x:                          # NaN: its local gradient is NaN
                g[a] += x * go
        elif code == SUB:
            if wants[0]:
                g[a] += go
            if wants[1]:
                g[b] -= go
        elif code == MUL:
            if wants[0]:
                g[a] += v[b] * go
            if wants[1]:
                g[b] += v[a] * go
        elif code == POW:
            if b != 0:
                g[a] += b * v[a] ** (b - 1) * go
        elif code == SUM:
            _add_into(g, a, repeat(go, len(a[0])))
        elif code == DIV:
            if wants[0]:
                g[a] += go / v[b]
            if wants[1]:
                g[b] += -v[a] / v[b] ** 2 * go
        elif code == EXP:
            g[a] += v[out] * go
        elif code == LOG:
            g[a] += go / v[a]
        elif code == NEG:
            g[a] -= go
        elif code == TANH:
            t = v[out]
            g[a] += (1.0 - t * t) * go
        elif code == SIGMOID:
            s = v[out]
            g[a] += s * (1.0 - s) * go
        elif code == ABS:
            x = v[a]
            if x > 0:
                g[a] += go
            elif x < 0:
                g[a] -= go
        else:                                     # pragma: no cover
            raise AssertionError(code)
