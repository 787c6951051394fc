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

Slots that are the same for every example (parameters and constants) are
kept in one vector ``uniform``; slots that vary (inputs, targets and
temporaries) are the rows of a ``slots x batch`` matrix ``varying``.
Gradients mirror this: a varying slot's gradient is a row with one number per
example, a parameter's gradient is summed over the batch.
"""

from collections import defaultdict

import numpy as np

from ..engine import dot_sides
from .ops import array_rules
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

    def __init__(self, tape, slots):
        self.slots = np.asarray(slots, dtype=np.intp)
        uniform = self.slots < tape.input_start
        if uniform.all():
            self.kind = "uniform"
        elif not uniform.any():
            self.kind = "varying"
        else:
            self.kind = "mixed"
        self.rows = self.slots - tape.input_start         # rows of `varying`
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

    def __init__(self, tape, instructions):
        first = instructions[0]
        self.row = first.row
        self.constants = () if first.exponent is None else (first.exponent,)
        self.forward_rule, self.derivatives = array_rules(self.row)
        self.out = _Operand(tape, [ins.out for ins in instructions])
        self.needs_grad = any(tape.needs_grad[ins.out] for ins in instructions)
        self.matmul = False
        if self.row.lists == 2:
            weights, inputs = zip(*(dot_sides(ins.args) for ins in instructions))
            w = _Operand(tape, weights)
            # One matrix product when every row reads the same input list.
            self.matmul = (all(row == inputs[0] for row in inputs)
                           and w.kind == "uniform")
            self.args = [w, _Operand(tape, inputs[0] if self.matmul else inputs)]
        elif self.row.lists == 1:
            self.args = [_Operand(tape, [ins.args for ins in instructions])]
        else:
            self.args = [_Operand(tape, [ins.args[k] for ins in instructions])
                         for k in range(len(first.args))]
        self.arg_grad = [any(tape.needs_grad[s] for s in arg.slots.ravel().tolist())
                         for arg in self.args]

    def _rows(self):
        return self.out.span if self.out.span is not None else self.out.rows

    # -- forward ----------------------------------------------------------

    def forward(self, uniform, varying):
        operands = [arg.read(uniform, varying) for arg in self.args]
        if self.matmul:      # the dot row's rule for the whole layer: W @ X
            result = operands[0][..., 0] @ operands[1]          # (n, batch)
        else:
            result = self.forward_rule(*operands, *self.constants)
        varying[self._rows()] = result

    # -- backward ---------------------------------------------------------

    def backward(self, uniform, varying, grad_uniform, grad_varying):
        rows = self._rows()
        g = grad_varying[rows]                                   # (n, batch)
        operands = [arg.read(uniform, varying) for arg in self.args]
        if self.matmul:
            self._matmul_backward(operands, g, grad_uniform, grad_varying)
            return
        out = varying[rows]
        if self.row.lists:                # a list runs along axis -2
            out, g = out[:, None, :], g[:, None, :]
        for arg, wants, derivative in zip(self.args, self.arg_grad, self.derivatives):
            if not wants or (not callable(derivative) and derivative == 0.0):
                continue                         # (max: no gradient)
            local = (derivative(*operands, *self.constants, out)
                     if callable(derivative) else derivative)
            amount = np.broadcast_to(local * g, np.broadcast_shapes(
                arg.slots.shape + g.shape[-1:], g.shape))
            arg.add_grad(amount, grad_uniform, grad_varying)

    def _matmul_backward(self, operands, g, grad_uniform, grad_varying):
        """The dot row's derivatives (d/dw = x, d/dx = w) for W @ X, as matrix products."""
        (w, x), (w_arg, x_arg) = operands, self.args
        if self.arg_grad[0]:
            w_arg.add_grad((g @ x.T)[..., None], grad_uniform, grad_varying)
        if self.arg_grad[1]:
            x_arg.add_grad(w[..., 0].T @ g, grad_uniform, grad_varying)


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
        level = defaultdict(int)
        by_level = defaultdict(lambda: defaultdict(list))
        for ins in tape.instructions:
            lv = 1 + max((level[a] for a in ins.args), default=0)
            level[ins.out] = lv
            by_level[lv][_group_key(tape, ins)].append(ins)
        self.groups = [_Group(tape, instructions)
                       for lv in sorted(by_level)
                       for instructions in by_level[lv].values()]
        self.levels = len(by_level)
        n_varying = tape.n_slots - tape.input_start
        self._n_varying = n_varying
        self._root_row = tape.root - tape.input_start
        self._output_rows = np.array(tape.outputs) - tape.input_start

    def __repr__(self):
        return (f"<NumpyTape: {len(self.tape.instructions)} instructions in "
                f"{len(self.groups)} groups on {self.levels} levels>")

    def _uniform(self):
        tape = self.tape
        return np.array([p.data for p in tape.params] + tape.constants, dtype=float)

    def forward(self, xs, labels=None, uniform=None):
        """Run the program for a batch; return (uniform, varying) slot values."""
        tape = self.tape
        xs = np.asarray(xs, dtype=float)
        if xs.ndim != 2 or xs.shape[1] != tape.n_inputs:
            raise ValueError(f"expected a batch of shape (n, {tape.n_inputs}), "
                             f"got {xs.shape}")
        batch = xs.shape[0]
        uniform = self._uniform() if uniform is None else uniform
        varying = np.zeros((self._n_varying, batch))
        varying[:tape.n_inputs] = xs.T
        if tape.n_targets:
            labels = np.asarray(labels, dtype=np.intp)
            if labels.shape != (batch,):
                raise ValueError(f"a batch needs one label per example, got "
                                 f"{labels.size} labels for {batch} examples")
            if batch and (labels.min() < 0 or labels.max() >= tape.n_targets):
                raise ValueError(f"labels must be from 0 to {tape.n_targets - 1}")
            first_target_row = tape.target_start - tape.input_start
            varying[first_target_row + labels, np.arange(batch)] = 1.0   # one-hot
        with np.errstate(all="ignore"):      # inf/nan show in the loss instead
            for group in self.groups:
                group.forward(uniform, varying)
        return uniform, varying

    def losses_and_outputs(self, xs, labels=None):
        """Per-example losses (n,) and model outputs (n, n_outputs), no gradients."""
        _, varying = self.forward(xs, labels)
        return varying[self._root_row].copy(), varying[self._output_rows].T.copy()

    def batch_gradients(self, xs, labels=None):
        """The mean loss over the batch and d(mean loss)/d(each parameter) (an array)."""
        uniform, varying = self.forward(xs, labels)
        batch = varying.shape[1]
        if batch == 0:
            raise ValueError("the batch is empty")
        grad_uniform = np.zeros_like(uniform)
        grad_varying = np.zeros_like(varying)
        grad_varying[self._root_row] = 1.0 / batch            # d(mean)/d(loss_i)
        with np.errstate(all="ignore"):
            for group in reversed(self.groups):
                if group.needs_grad:
                    group.backward(uniform, varying, grad_uniform, grad_varying)
        loss = float(varying[self._root_row].sum() / batch)
        return loss, grad_uniform[:self.tape.n_params]

    def accumulate_batch(self, xs, labels):
        """Add the mean loss's gradients into each parameter's ``grad``; return the loss."""
        loss, grads = self.batch_gradients(xs, labels)
        for p, g in zip(self.tape.params, grads.tolist()):
            p.grad += g
        return loss
