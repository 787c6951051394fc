"""The tape replayed over a whole batch at once, with numpy.

A :class:`~tinygrad_edu.fast.tape.Tape` is a scalar program: ``t5 = t3 + w[2]``.
Run it for 1,000 examples and every slot holds 1,000 numbers, one per
example. Here each slot *is* that vector: the program is the same, only the
values it moves around got wider. This is how JAX's ``vmap`` and tinygrad
think, in miniature.

Two more steps make it fast, and neither changes a single number:

1. **Levels.** An instruction's level is one more than the highest level of
   the slots it reads (parameters, constants and inputs are level 0). All
   the instructions of one level are independent of each other, so the 16
   ``relu``s of a layer can run as one numpy call on a 16-row block instead of
   16 calls.
2. **Fused dots become one matrix product.** The 16 neurons of a layer are 16
   ``dot(w[...], [same inputs])`` instructions on the same level. Stacking
   their weights as rows gives a 16 x 64 matrix ``W``, and the layer is
   ``W @ X``, with ``X`` the 64 x batch block of inputs.

3. **A bias joins its matrix product.** A neuron's ``t1 = t0 + w[2]`` adds
   its bias to the dot product and nothing else reads ``t0``; so the group of
   a layer's dots and the group of its bias additions run as one step,
   ``W @ X + b``, and ``t0`` is never stored.

Slots that are the same for every example (parameters and constants) are
kept in one vector ``uniform``; slots that vary (inputs, targets and
temporaries) are the rows of a ``rows x batch`` matrix ``varying``.
Gradients mirror this: a varying slot's gradient is a row with one number per
example, a parameter's gradient is summed over the batch.

The rows are numbered for the replay, not as the tape numbers its slots:
each group writes one block of rows, in order (so a layer's outputs are one
slice, read by the next layer without gathering), and the two matrices are
made once for each batch size and reused (a replay allocates no big array
of its own each step).
"""

import math
from collections import Counter, defaultdict

import numpy as np

from ..engine import dot_sides
from .ops import array_rules
from .python_replay import instruction_levels
from .tape import Tape
from .traced_losses import compile_loss

__all__ = ["NumpyTape", "compile_numpy"]


def compile_numpy(model, loss="mse"):
    """``NumpyTape(compile_loss(model, loss))``: the batch replay of a model's loss."""
    return NumpyTape(compile_loss(model, loss))


class _Operand:
    """Where a group of instructions reads one of its operands from.

    ``slots`` is an integer array (one row per instruction, or one column for
    a shared operand). The operand is ``uniform`` (a parameter or constant,
    the same for every example), ``varying`` (one row per slot), or ``mixed``.
    """

    def __init__(self, tape, slots, row_of):
        self.slots = np.asarray(slots, dtype=np.intp)
        uniform = self.slots < tape.input_start
        if uniform.all():
            self.kind = "uniform"
        elif not uniform.any():
            self.kind = "varying"
        else:
            self.kind = "mixed"
        # rows of `varying` (row_of: slot - input_start -> row; -1 for uniform slots)
        self.rows = np.full(self.slots.shape, -1, dtype=np.intp)
        self.rows[~uniform] = row_of[self.slots[~uniform] - tape.input_start]
        self.uniform_mask = uniform
        flat = self.slots.ravel()
        self.unique = len(np.unique(flat)) == flat.size   # safe for `+=`
        self.span = _span(self.rows if self.kind == "varying" else self.slots)

    def read(self, uniform, varying):
        """The operand's values: shape ``slots.shape + (batch or 1,)``."""
        if self.kind == "uniform":
            index = self.span if self.span is not None else self.slots
            return uniform[index][..., None]
        if self.kind == "varying":
            index = self.span if self.span is not None else self.rows
            return varying[index]
        out = np.empty(self.slots.shape + (varying.shape[1],))
        out[self.uniform_mask] = uniform[self.slots[self.uniform_mask]][:, None]
        out[~self.uniform_mask] = varying[self.rows[~self.uniform_mask]]
        return out

    def add_grad(self, amount, grad_uniform, grad_varying):
        """Add ``amount`` (shaped like ``read``) into the operand's gradients.

        A uniform slot's gradient is summed over the batch.
        """
        if self.kind == "varying":
            _scatter_add(grad_varying, self.span, self.rows, self.unique, amount)
        elif self.kind == "uniform":
            _scatter_add(grad_uniform, self.span, self.slots, self.unique,
                         amount.sum(axis=-1))
        else:
            mask = self.uniform_mask
            amount = np.broadcast_to(amount, self.slots.shape + amount.shape[-1:])
            np.add.at(grad_uniform, self.slots[mask], amount[mask].sum(axis=-1))
            np.add.at(grad_varying, self.rows[~mask], amount[~mask])


def _span(index):
    """``slice(a, b)`` if ``index`` is the run a, a+1, ..., b-1, else None."""
    if index.ndim != 1 or index.size == 0:
        return None
    start = int(index[0])
    if np.array_equal(index, np.arange(start, start + index.size)):
        return slice(start, start + index.size)
    return None


def _scatter_add(target, span, index, unique, amount):
    if span is not None:
        target[span] += amount
    elif unique:
        target[index] += amount
    else:
        np.add.at(target, index, amount)


class _Group:
    """Instructions of one level and one op, run as one numpy operation.

    The op's rules come from its row of the op table, in their array form
    (:func:`~tinygrad_edu.fast.ops.array_rules`): the forward rule and the
    local derivatives work on the stacked operands of the whole group.
    """

    def __init__(self, tape, instructions, row_of, biases=None):
        first = instructions[0]
        self.row = first.row
        self.constants = () if first.exponent is None else (first.exponent,)
        self.forward_rule, self.derivatives = array_rules(self.row)
        # A fused bias (see _fused_biases): the group writes ``dot + bias``
        # into the slots of the bias additions; the dots' own slots are unused.
        outs = [ins.out for ins in instructions] if biases is None else [
            add.out for add, _ in biases]
        self.bias = None if biases is None else _Operand(
            tape, [bias for _, bias in biases], row_of)
        self.out = _Operand(tape, outs, row_of)
        self.needs_grad = any(tape.needs_grad[out] for out in outs)
        self.matmul = _is_matmul(tape, instructions)
        if self.row.lists == 2:
            weights, inputs = zip(*(dot_sides(ins.args) for ins in instructions))
            w = _Operand(tape, weights, row_of)
            self.args = [w, _Operand(tape, inputs[0] if self.matmul else inputs,
                                     row_of)]
        elif self.row.lists == 1:
            self.args = [_Operand(tape, [ins.args for ins in instructions], row_of)]
        else:
            self.args = [_Operand(tape, [ins.args[k] for ins in instructions], row_of)
                         for k in range(len(first.args))]
        self.arg_grad = [any(tape.needs_grad[s] for s in arg.slots.ravel().tolist())
                         for arg in self.args]
        self.bias_grad = biases is not None and any(
            tape.needs_grad[bias] for _, bias in biases)
        # Constant derivatives (+ - neg sum) need neither the operands nor the result.
        self.reads_operands = any(callable(d) for d, wanted in
                                  zip(self.derivatives, self.arg_grad) if wanted)

    def _rows(self):
        return self.out.span if self.out.span is not None else self.out.rows

    def describe(self, tape):
        """What this step computes, in the tape's names (for ``NumpyTape.format``)."""
        if self.matmul:
            w, x = self.args
            bias = "" if self.bias is None else f" + {_names(tape, self.bias.slots)}"
            return (f"W @ {_names(tape, x.slots)}{bias}    # W: {w.slots.shape[0]} x "
                    f"{w.slots.shape[1]} weights, a row per neuron")
        operands = []
        for arg in self.args:
            if arg.slots.ndim == 1:
                operands.append(_names(tape, arg.slots))
            elif arg.slots.shape[0] == 1:                # one list (sum, max, dot)
                operands.append(_names(tape, arg.slots[0]))
            else:
                operands.append(f"each of {arg.slots.shape[0]} lists like "
                                f"{_names(tape, arg.slots[0])}")
        extra = f", {self.constants[0]!r}" if self.constants else ""
        return f"{self.row.name}({', '.join(operands)}{extra})"

    # -- forward ----------------------------------------------------------

    def forward(self, uniform, varying):
        operands = [arg.read(uniform, varying) for arg in self.args]
        rows = self._rows()
        if self.matmul and isinstance(rows, slice):
            # the dot row's rule for the whole layer, W @ X, straight into its rows
            result = np.matmul(operands[0][..., 0], operands[1], out=varying[rows])
        elif self.matmul:
            result = operands[0][..., 0] @ operands[1]          # (n, batch)
        else:
            result = self.forward_rule(*operands, *self.constants)
        if self.bias is not None:
            result += self.bias.read(uniform, varying)          # + b, row by row
        if not (self.matmul and isinstance(rows, slice)):
            varying[rows] = result

    # -- backward ---------------------------------------------------------

    def backward(self, uniform, varying, grad_uniform, grad_varying, finite=True):
        """Add this group's share of the gradients; ``finite=False`` when some
        value is NaN or infinite (then a zero gradient passes nothing on)."""
        rows = self._rows()
        g = grad_varying[rows]                                   # (n, batch)
        if self.bias_grad:                       # d(dot + b)/db = 1
            self.bias.add_grad(g, grad_uniform, grad_varying)
        operands = out = None
        if self.reads_operands:
            operands = [arg.read(uniform, varying) for arg in self.args]
            out = varying[rows]
        if self.matmul:
            self._matmul_backward(operands, g, grad_uniform, grad_varying, finite)
            return
        if self.row.lists:                # a list runs along axis -2
            g = g[:, None, :]
            out = out[:, None, :] if out is not None else None
        for arg, wants, derivative in zip(self.args, self.arg_grad, self.derivatives):
            if not wants or (not callable(derivative) and derivative == 0.0):
                continue                         # (max: no gradient)
            local = (derivative(*operands, *self.constants, out)
                     if callable(derivative) else derivative)
            amount = local * g
            if not finite:
                amount = _nothing_where_zero(g, amount)
            shape = arg.slots.shape + g.shape[-1:]
            if amount.shape != shape:            # e.g. a constant derivative, or
                amount = np.broadcast_to(         # a list's shared gradient
                    amount, np.broadcast_shapes(shape, g.shape))
            arg.add_grad(amount, grad_uniform, grad_varying)

    def _matmul_backward(self, operands, g, grad_uniform, grad_varying, finite):
        """The dot row's derivatives (d/dw = x, d/dx = w) for W @ X, as matrix products.

        (With a NaN or an infinity about, the products are written out so
        that a zero gradient passes nothing on: ``(n, k, batch)`` arrays.)
        """
        (w, x), (w_arg, x_arg) = operands, self.args
        if self.arg_grad[0]:
            dw = (g @ x.T if finite else
                  _nothing_where_zero(g[:, None, :], g[:, None, :] * x).sum(axis=-1))
            w_arg.add_grad(dw[..., None], grad_uniform, grad_varying)
        if self.arg_grad[1]:
            dx = (w[..., 0].T @ g if finite else   # (w: n x k x 1)
                  _nothing_where_zero(g[:, None, :], w * g[:, None, :]).sum(axis=0))
            x_arg.add_grad(dx, grad_uniform, grad_varying)


def _nothing_where_zero(g, amount):
    """``amount`` with 0 wherever the gradient ``g`` is exactly 0.

    A zero gradient passes nothing on, as in the engine's chain_rule_step;
    multiplied out, 0 times an infinite local derivative would be NaN.
    """
    return np.where(g == 0.0, 0.0, amount)


def _per_example(operand, uniform, varying):
    """An operand's values with one column per example (a uniform one repeated)."""
    values = operand.read(uniform, varying)
    return np.broadcast_to(values, values.shape[:-1] + varying.shape[1:])


def _names(tape, slots, most=4):
    """Slots as the tape names them: ``x[0:64]``, ``t7``, ``[t2, t5, ..., t47] (16)``."""
    slots = [int(s) for s in slots]
    if len(slots) == 1:
        return tape._operand_text(slots[0])
    text = tape._list_text(slots)
    if not text.startswith("[") or len(slots) <= most:
        return text
    first, second, last = (tape._operand_text(s) for s in (slots[0], slots[1], slots[-1]))
    return f"[{first}, {second}, ..., {last}] ({len(slots)})"


def _is_matmul(tape, instructions):
    """Are these dots one matrix product? Every row reads the same inputs, with weights."""
    if instructions[0].row.lists != 2:
        return False
    weights, inputs = zip(*(dot_sides(ins.args) for ins in instructions))
    return (all(row == inputs[0] for row in inputs)
            and all(s < tape.input_start for row in weights for s in row))


def _fused_biases(tape, groups):
    """For each group that is a matrix product followed by a bias: its additions.

    Returns {index of the group: [(add instruction, bias slot) per dot]} and
    takes those additions out of their own groups. A dot's addition is fused
    when it adds a parameter or constant to the dot and nothing else reads
    the dot's result (nor is it the loss or an output).
    """
    reads = Counter(a for ins in tape.instructions for a in ins.args)
    keep = set(tape.outputs) | {tape.root}
    bias_of = {}                                  # dot's slot -> (add, bias slot)
    for ins in tape.instructions:
        if ins.op == "add":
            for k in (0, 1):
                dot_slot, bias = ins.args[k], ins.args[1 - k]
                if (bias < tape.input_start and reads[dot_slot] == 1
                        and dot_slot not in keep and dot_slot >= tape.temp_start):
                    bias_of[dot_slot] = (ins, bias)
                    break
    fused = {}
    for i, instructions in enumerate(groups):
        if _is_matmul(tape, instructions) and all(
                ins.out in bias_of for ins in instructions):
            fused[i] = [bias_of[ins.out] for ins in instructions]
    taken = {id(add) for biases in fused.values() for add, _ in biases}
    for instructions in groups:
        instructions[:] = [ins for ins in instructions if id(ins) not in taken]
    return fused


def _group_key(tape, ins):
    """Instructions with the same key (on one level) can run as one group."""
    if ins.row.lists == 2:
        weights, inputs = dot_sides(ins.args)
        return (ins.op, len(weights), tuple(inputs))
    if ins.row.lists == 1:
        return (ins.op, len(ins.args))
    kinds = tuple(arg < tape.input_start for arg in ins.args)
    return (ins.op, ins.exponent, kinds)


class NumpyTape:
    """A :class:`Tape` replayed over a batch: every slot a vector.

    >>> from tinygrad_edu import MLP
    >>> from tinygrad_edu.fast.traced_losses import compile_loss
    >>> tape = compile_loss(MLP(4, [3, 2], seed=0), "cross_entropy")
    >>> fast = NumpyTape(tape)
    >>> loss, grads = fast.batch_gradients([[0.1, 0.2, 0.3, 0.4]] * 2, [0, 1])
    >>> round(loss, 6) == round(tape.batch_gradients([[0.1, 0.2, 0.3, 0.4]] * 2,
    ...                                                [0, 1])[0], 6)
    True
    """

    def __init__(self, tape):
        if not isinstance(tape, Tape):
            raise TypeError(f"NumpyTape needs a Tape, got {type(tape).__name__}")
        self.tape = tape
        by_level = defaultdict(lambda: defaultdict(list))
        for ins, lv in zip(tape.instructions, instruction_levels(tape.instructions)):
            by_level[lv][_group_key(tape, ins)].append(ins)
        groups = [instructions for lv in sorted(by_level)
                  for instructions in by_level[lv].values()]
        fused = _fused_biases(tape, groups)
        row_of = self._layout(groups, fused)
        self.groups = [_Group(tape, instructions, row_of, fused.get(i))
                       for i, instructions in enumerate(groups) if instructions]
        self.levels = len(by_level)
        self._n_rows = tape.n_inputs + tape.n_targets + sum(
            len(instructions) for instructions in groups)
        # The loss's row of ``varying``; None for a loss that is a leaf (a
        # parameter, the same for every example). The outputs are read like
        # an operand, so any of them may be a leaf too.
        self._loss_row = (int(row_of[tape.root - tape.input_start])
                          if tape.root >= tape.input_start else None)
        self._loss = _Operand(tape, [tape.root], row_of)
        self._outputs = _Operand(tape, tape.outputs, row_of)
        self._buffers = {}             # batch size -> (values, gradients)

    def _layout(self, groups, fused):
        """Row of ``varying`` for each varying slot (slot - input_start -> row).

        Inputs and targets first, as the tape has them; then each group's
        outputs as one block, group after group.
        """
        tape = self.tape
        row_of = np.full(tape.n_slots - tape.input_start, -1, dtype=np.intp)
        row_of[:tape.n_inputs + tape.n_targets] = np.arange(tape.n_inputs + tape.n_targets)
        next_row = tape.n_inputs + tape.n_targets
        for i, instructions in enumerate(groups):
            outs = ([add.out for add, _ in fused[i]] if i in fused
                    else [ins.out for ins in instructions])
            for out in outs:
                row_of[out - tape.input_start] = next_row
                next_row += 1
        return row_of

    def _buffer(self, batch):
        """The (values, gradients) matrices for a batch of this size, made once."""
        if batch not in self._buffers:
            self._buffers[batch] = (np.zeros((self._n_rows, batch)),
                                    np.zeros((self._n_rows, batch)))
        return self._buffers[batch]

    def format(self):
        """The replay's program: one line per numpy step, in the tape's names.

        Each step computes a block of the tape's temporaries for the whole
        batch at once: ``W @ X + b`` for a layer (a matrix product with its
        bias), ``relu(...)`` for a block of activations, and so on.
        """
        tape = self.tape
        header = [f"# numpy replay: {tape.description or 'tape'}",
                  f"# {len(tape.instructions)} instructions in {len(self.groups)} "
                  f"steps; each name holds one number per example"]
        return tape.listing(header, ((_names(tape, group.out.slots), group.describe(tape))
                                     for group in self.groups))

    def __str__(self):
        return self.format()

    @property
    def params(self):
        """The model's parameter Values, in the order of the gradients."""
        return self.tape.params

    def __repr__(self):
        return (f"<NumpyTape: {len(self.tape.instructions)} instructions in "
                f"{len(self.groups)} groups on {self.levels} levels>")

    def _uniform(self):
        tape = self.tape
        return np.array([p.data for p in tape.params] + tape.constants, dtype=float)

    def forward(self, xs, labels=None, uniform=None):
        """Run the program for a batch; return (uniform, varying) slot values.

        ``varying`` (one row per varying slot, in the replay's own order) is
        the replay's buffer: the next replay of a batch of the same size
        writes over it.
        """
        tape = self.tape
        xs = np.asarray(xs, dtype=float)
        if xs.ndim != 2 or xs.shape[1] != tape.n_inputs:
            raise ValueError(f"expected a batch of shape (n, {tape.n_inputs}), "
                             f"got {xs.shape}")
        batch = xs.shape[0]
        uniform = self._uniform() if uniform is None else uniform
        varying = self._buffer(batch)[0]
        varying[:tape.n_inputs] = xs.T
        if tape.n_targets:
            labels = np.asarray(labels, dtype=np.intp)
            if labels.shape != (batch,):
                raise ValueError(f"a batch needs one label per example, got "
                                 f"{labels.size} labels for {batch} examples")
            if batch and (labels.min() < 0 or labels.max() >= tape.n_targets):
                raise ValueError(f"labels must be from 0 to {tape.n_targets - 1}")
            first_target_row = tape.target_start - tape.input_start
            varying[first_target_row:first_target_row + tape.n_targets] = 0.0
            varying[first_target_row + labels, np.arange(batch)] = 1.0   # one-hot
        with np.errstate(all="ignore"):      # inf/nan show in the loss instead
            for group in self.groups:
                group.forward(uniform, varying)
        return uniform, varying

    def losses_and_outputs(self, xs, labels=None):
        """Per-example losses (n,) and model outputs (n, n_outputs), no gradients."""
        uniform, varying = self.forward(xs, labels)
        return (_per_example(self._loss, uniform, varying)[0].copy(),
                _per_example(self._outputs, uniform, varying).T.copy())

    def batch_gradients(self, xs, labels=None, uniform=None):
        """The mean loss over the batch and d(mean loss)/d(each parameter) (an array).

        ``uniform`` (the parameters, then the constants, as one array) defaults
        to the parameters' current ``data``.
        """
        uniform, varying = self.forward(xs, labels, uniform)
        batch = varying.shape[1]
        if batch == 0:
            raise ValueError("the batch is empty")
        loss = (float(varying[self._loss_row].sum() / batch) if self._loss_row is not None
                else float(uniform[self.tape.root]))
        try:
            grads = self._backward(uniform, varying, finite=math.isfinite(loss))
        except FloatingPointError:      # a 0 x inf met on the way: go the careful way
            grads = self._backward(uniform, varying, finite=False)
        return loss, grads

    def _backward(self, uniform, varying, finite):
        """Backprop through the last forward; return the parameters' gradients.

        numpy multiplies a zero gradient by its local derivatives, where the
        engine passes nothing on: the same, but for 0 x inf or 0 x NaN, which
        make a NaN. With a finite loss that can only happen as an invalid
        operation, which here raises (free until it happens); then, or when
        the loss is NaN or infinite, ``finite=False`` masks the products
        where the gradient is 0, as the engine does.
        """
        batch = varying.shape[1]
        grad_uniform = np.zeros_like(uniform)
        grad_varying = self._buffer(batch)[1]
        grad_varying.fill(0.0)
        if self._loss_row is not None:
            grad_varying[self._loss_row] = 1.0 / batch           # d(mean)/d(loss_i)
        else:
            grad_uniform[self.tape.root] = 1.0                   # the mean of one number
        with np.errstate(all="ignore", invalid="raise" if finite else "ignore"):
            for group in reversed(self.groups):
                if group.needs_grad:
                    group.backward(uniform, varying, grad_uniform, grad_varying,
                                   finite)
        return grad_uniform[:self.tape.n_params]

    def accumulate_batch(self, xs, labels):
        """Add the mean loss's gradients into each parameter's ``grad``; return the loss."""
        loss, grads = self.batch_gradients(xs, labels)
        for p, g in zip(self.params, grads.tolist()):
            p.grad += g
        return loss
