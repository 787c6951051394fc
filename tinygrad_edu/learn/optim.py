"""Optimizers: how to change the weights once we have their gradients.

Each optimizer is given a list of parameters (``model.parameters()``) and,
at each ``step()``, nudges every one of them against its gradient ``p.grad``.
Only the parameters it was given are touched, each once: a parameter listed
twice is refused (it would be stepped twice), as PyTorch does.

* ``SGD``: plain gradient descent, optionally with momentum and weight decay.
* ``Adam``: gives each weight its own step size from running averages of its
  gradient and squared gradient; usually the quickest to a good network.

The learning rate is the attribute ``lr``; the training loop may change it
between steps (a schedule).

Each update rule is written once, as a function of plain numbers
(``sgd_update``, ``adam_update``): ``step()`` applies it to one weight at a
time, and the fast engines apply the very same function to a whole numpy
vector of weights at once (:mod:`tinygrad_edu.fast.vector_optim`), which gives
the same numbers to the last bit.
"""

import math

from ..engine import Value
from .checks import is_real_number

__all__ = ["Optimizer", "SGD", "Adam", "sgd_update", "adam_update"]


def _check_rate(number, what, low=0.0, high=math.inf, low_inclusive=False):
    ok = (is_real_number(number) and math.isfinite(number)
          and (number >= low if low_inclusive else number > low) and number < high)
    if not ok:
        bracket = "[" if low_inclusive else "("
        raise ValueError(f"{what} must be a number in {bracket}{low:g}, {high:g}), "
                         f"got {number!r}")
    return float(number)


def _check_parameters(parameters):
    """The parameters as a list of distinct Values, or a clear error."""
    if hasattr(parameters, "named_parameters"):
        raise TypeError(f"the optimizer takes the model's parameters, not the "
                        f"{type(parameters).__name__} itself; pass model.parameters()")
    if callable(parameters):
        raise TypeError("the optimizer was given the method parameters itself; "
                        "call it: pass model.parameters()")
    try:
        parameters = list(parameters)
    except TypeError:
        raise TypeError(f"the optimizer takes a list of Values, got a "
                        f"{type(parameters).__name__}; pass model.parameters()") from None
    if not parameters:
        raise ValueError("the optimizer was given no parameters; pass "
                         "model.parameters()")
    for p in parameters:
        if not isinstance(p, Value):
            raise TypeError(f"optimizers update Values, got {type(p).__name__}")
    if len({id(p) for p in parameters}) != len(parameters):
        seen = set()
        twice = next(p for p in parameters if id(p) in seen or seen.add(id(p)))
        raise ValueError(f"the optimizer was given the same parameter twice "
                         f"({twice!r}), which would step it twice; give each "
                         f"parameter once")
    return parameters


class Optimizer:
    """What SGD and Adam share: their parameters, ``lr`` and ``zero_grad()``."""

    def __init__(self, parameters, lr):
        self.parameters = _check_parameters(parameters)
        self.lr = _check_rate(lr, "the learning rate lr")

    def zero_grad(self):
        """Set the gradient of every parameter to 0 before the next backward."""
        for p in self.parameters:
            p.grad = 0.0

    def step(self):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent.

    Each step, for every parameter p with gradient g:

        g = g + weight_decay * p          (pull weights towards 0)
        velocity = momentum * velocity + g
        p = p - lr * velocity

    With ``momentum=0`` this is the textbook ``p -= lr * g``. Momentum keeps
    moving in the direction of recent steps, which smooths noisy mini-batch
    gradients.

    >>> from tinygrad_edu import Value
    >>> w = Value(1.0); w.grad = 0.5
    >>> SGD([w], lr=0.1).step(); w.data
    0.95
    """

    def __init__(self, parameters, lr=0.05, momentum=0.0, weight_decay=0.0):
        super().__init__(parameters, lr)
        self.momentum = _check_rate(momentum, "momentum", 0.0, 1.0, True)
        self.weight_decay = _check_rate(weight_decay, "weight_decay", 0.0,
                                        low_inclusive=True)
        self.velocity = [0.0] * len(self.parameters)

    def step(self):
        for i, p in enumerate(self.parameters):
            p.data, self.velocity[i] = sgd_update(
                p.data, p.grad, self.velocity[i],
                self.lr, self.momentum, self.weight_decay)


def sgd_update(w, g, velocity, lr, momentum, weight_decay):
    """SGD's rule for a weight ``w`` with gradient ``g``: (new w, new velocity).

    Plain arithmetic, so ``w``, ``g`` and ``velocity`` may be floats or
    numpy arrays of the same shape (one entry per weight).
    """
    g = g + weight_decay * w
    velocity = momentum * velocity + g
    return w - lr * velocity, velocity


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): a step size of its own for every weight.

    It keeps two running averages per parameter: ``m`` of the gradient
    (like momentum) and ``v`` of the squared gradient (how big it usually
    is). Each step:

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        m_hat = m / (1 - beta1^t)          (both start at 0; this undoes
        v_hat = v / (1 - beta2^t)           the pull towards 0 early on)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    So every weight moves by about ``lr`` per step, whatever the size of its
    gradient. ``weight_decay`` adds ``weight_decay * p`` to the gradient.
    """

    def __init__(self, parameters, lr=0.01, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0):
        super().__init__(parameters, lr)
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), e.g. (0.9, 0.999), "
                             f"got {betas!r}")
        beta1, beta2 = betas
        self.beta1 = _check_rate(beta1, "beta1", 0.0, 1.0, True)
        self.beta2 = _check_rate(beta2, "beta2", 0.0, 1.0, True)
        self.eps = _check_rate(eps, "eps")
        self.weight_decay = _check_rate(weight_decay, "weight_decay", 0.0,
                                        low_inclusive=True)
        self.m = [0.0] * len(self.parameters)
        self.v = [0.0] * len(self.parameters)
        self.t = 0                      # number of steps taken

    def step(self):
        self.t += 1
        settings = self.settings()
        m, v = self.m, self.v
        for i, p in enumerate(self.parameters):
            p.data, m[i], v[i] = adam_update(p.data, p.grad, m[i], v[i], *settings,
                                             sqrt=math.sqrt)

    def settings(self):
        """This step's numbers for ``adam_update``: lr, betas, eps, weight decay
        and the two bias corrections ``1 - beta ** t``."""
        return (self.lr, self.beta1, self.beta2, self.eps, self.weight_decay,
                1.0 - self.beta1 ** self.t, 1.0 - self.beta2 ** self.t)


def adam_update(w, g, m, v, lr, beta1, beta2, eps, weight_decay,
                correction1, correction2, sqrt):
    """Adam's rule for a weight ``w`` with gradient ``g``: (new w, new m, new v).

    Plain arithmetic, so the numbers may be floats (with ``sqrt=math.sqrt``)
    or numpy arrays (with ``sqrt=numpy.sqrt``), one entry per weight.
    """
    g = g + weight_decay * w
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * g * g
    m_hat = m / correction1
    v_hat = v / correction2
    return w - lr * m_hat / (sqrt(v_hat) + eps), m, v
