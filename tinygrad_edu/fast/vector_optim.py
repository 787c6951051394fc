"""The optimizers' steps over one flat numpy vector of weights.

``Adam.step()`` walks the parameters one Value at a time: for a network of
6,570 weights that is 6,570 rounds of a Python loop per step, slower than
computing the gradients with numpy. The fast engines keep the weights in one
numpy vector for the whole run instead, and step them here with the *same*
update rule (``adam_update`` and ``sgd_update`` in
:mod:`tinygrad_edu.learn.optim`), applied to whole vectors at once. Each
entry goes through the same IEEE operations in the same order, so the
numbers are the Value form's to the last bit.

>>> from tinygrad_edu import Value
>>> from tinygrad_edu.learn.optim import Adam
>>> params = [Value(1.0), Value(-2.0)]
>>> params[0].grad, params[1].grad = 0.5, -0.25
>>> Adam(params, lr=0.1).step()                   # one Value at a time
>>> weights = np.array([1.0, -2.0])               # the same, as one vector
>>> VectorAdam(Adam([Value(1.0), Value(-2.0)], lr=0.1)).step(
...     weights, np.array([0.5, -0.25]))
>>> weights.tolist() == [p.data for p in params]
True

The optimizer object stays the one the training loop knows: its ``lr`` (which
a schedule changes), its settings and its step count ``t`` are read from it
at every step, and ``write_back()`` leaves its state (``m``, ``v`` or
``velocity``) as its own ``step()`` would have.
"""

import numpy as np

from ..learn.optim import SGD, Adam, adam_update, sgd_update

__all__ = ["VectorAdam", "VectorSGD", "vector_form"]


class VectorAdam:
    """``Adam.step()`` for a vector of weights (same order as its parameters)."""

    def __init__(self, adam):
        self.optimizer = adam
        self.m = np.array(adam.m, dtype=float)
        self.v = np.array(adam.v, dtype=float)

    def step(self, weights, grads):
        """Move ``weights`` (changed in place) against ``grads``."""
        adam = self.optimizer
        adam.t += 1
        weights[:], self.m, self.v = adam_update(weights, grads, self.m, self.v,
                                                 *adam.settings(), sqrt=np.sqrt)

    def write_back(self):
        """Leave ``m`` and ``v`` in the optimizer, as its own steps would have."""
        self.optimizer.m = self.m.tolist()
        self.optimizer.v = self.v.tolist()


class VectorSGD:
    """``SGD.step()`` for a vector of weights (same order as its parameters)."""

    def __init__(self, sgd):
        self.optimizer = sgd
        self.velocity = np.array(sgd.velocity, dtype=float)

    def step(self, weights, grads):
        """Move ``weights`` (changed in place) against ``grads``."""
        sgd = self.optimizer
        weights[:], self.velocity = sgd_update(weights, grads, self.velocity, sgd.lr,
                                               sgd.momentum, sgd.weight_decay)

    def write_back(self):
        """Leave ``velocity`` in the optimizer, as its own steps would have."""
        self.optimizer.velocity = self.velocity.tolist()


_VECTOR_FORMS = {Adam: VectorAdam, SGD: VectorSGD}


def vector_form(optimizer, params):
    """The vector form of ``optimizer`` over ``params``, or None if it has none.

    None for an optimizer of another class (even a subclass, whose ``step``
    may differ) or one given other parameters than ``params`` (in the same
    order): the caller then steps the Values with the optimizer's own
    ``step()``.
    """
    form = _VECTOR_FORMS.get(type(optimizer))
    same = (len(optimizer.parameters) == len(params)
            and all(a is b for a, b in zip(optimizer.parameters, params)))
    return form(optimizer) if form is not None and same else None
