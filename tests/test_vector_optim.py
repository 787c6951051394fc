"""The optimizers' vector forms step a numpy vector as ``step()`` steps the Values."""

import random

import numpy as np
import pytest

from tinygrad_edu import Value
from tinygrad_edu.learn.optim import SGD, Adam
from tinygrad_edu.fast.vector_optim import VectorAdam, VectorSGD, vector_form

SETTINGS = [
    (Adam, dict(lr=0.01)),
    (Adam, dict(lr=0.003, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)),
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.001)),
]


@pytest.mark.parametrize("make, settings", SETTINGS)
def test_the_vector_form_gives_the_value_forms_numbers(make, settings):
    rng = random.Random(5)
    start = [rng.uniform(-2, 2) for _ in range(200)]
    params = [Value(w) for w in start]
    by_values = make(params, **settings)
    by_vector = make([Value(w) for w in start], **settings)
    form = vector_form(by_vector, by_vector.parameters)
    weights = np.array(start)
    for step in range(6):
        grads = [rng.gauss(0, 1) * 10 ** rng.randint(-4, 2) for _ in start]
        lr = settings["lr"] * (1 - step / 6)               # a schedule changes lr
        by_values.lr = by_vector.lr = lr
        for p, g in zip(params, grads):
            p.grad = g
        by_values.step()
        form.step(weights, np.array(grads))
    assert max(abs(w - p.data) for w, p in zip(weights.tolist(), params)) <= 1e-12
    form.write_back()
    for name in ("m", "v", "velocity", "t"):
        if hasattr(by_values, name):
            ours, theirs = getattr(by_vector, name), getattr(by_values, name)
            assert np.allclose(ours, theirs, rtol=0, atol=1e-12), name


def test_only_the_known_optimizers_over_the_same_parameters_have_a_vector_form():
    params = [Value(1.0), Value(2.0)]

    class MyAdam(Adam):
        def step(self):
            pass

    assert isinstance(vector_form(Adam(params), params), VectorAdam)
    assert isinstance(vector_form(SGD(params, lr=0.1), params), VectorSGD)
    assert vector_form(MyAdam(params), params) is None
    assert vector_form(Adam(params[:1]), params) is None
    assert vector_form(Adam(params[::-1]), params) is None
