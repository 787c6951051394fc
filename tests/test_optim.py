"""Optimizers, checked against the update rules written out by hand."""

import math

import pytest

from tinygrad_edu import Value
from tinygrad_edu.learn.optim import SGD, Adam


def params_with_grads(values, grads):
    params = [Value(v) for v in values]
    for p, g in zip(params, grads):
        p.grad = g
    return params


def test_sgd_plain_step():
    params = params_with_grads([1.0, -2.0], [0.5, -1.0])
    SGD(params, lr=0.1).step()
    assert [p.data for p in params] == pytest.approx([0.95, -1.9])


def test_sgd_momentum_and_weight_decay_over_two_steps():
    (p,) = params_with_grads([1.0], [0.5])
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    # step 1: g = 0.5 + 0.01*1 = 0.51; v = 0.51; p = 1 - 0.051
    opt.step()
    assert p.data == pytest.approx(0.949)
    # step 2 (same grad): g = 0.5 + 0.01*0.949; v = 0.9*0.51 + g
    opt.step()
    g2 = 0.5 + 0.01 * 0.949
    assert p.data == pytest.approx(0.949 - 0.1 * (0.9 * 0.51 + g2))


def test_adam_matches_the_update_rule_by_hand():
    (p,) = params_with_grads([1.0], [0.0])
    grads = [0.3, -0.1, 0.2]
    opt = Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    m = v = 0.0
    expected = 1.0
    for t, g in enumerate(grads, start=1):
        p.grad = g
        opt.step()
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        expected -= 0.01 * (m / (1 - 0.9 ** t)) / (math.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        assert p.data == pytest.approx(expected, abs=1e-15)
    # Adam's first step moves a weight by about lr whatever the gradient size
    (q,) = params_with_grads([0.0], [1000.0])
    Adam([q], lr=0.01).step()
    assert q.data == pytest.approx(-0.01)


def test_optimizers_touch_only_the_parameters_they_were_given():
    mine, other = params_with_grads([1.0, 1.0], [1.0, 1.0])
    for opt in (SGD([mine], lr=0.1), Adam([mine], lr=0.1)):
        opt.step()
    assert mine.data != 1.0 and other.data == 1.0


def test_zero_grad():
    params = params_with_grads([1.0, 2.0], [3.0, 4.0])
    SGD(params, lr=0.1).zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


@pytest.mark.parametrize("make", [
    lambda p: SGD(p, lr=0), lambda p: SGD(p, lr=float("nan")),
    lambda p: SGD(p, lr=0.1, momentum=1.0), lambda p: Adam(p, lr=-1),
    lambda p: SGD([], lr=0.1), lambda p: Adam(p, betas=(1.0, 0.9)),
])
def test_bad_settings_are_clear_errors(make):
    with pytest.raises(ValueError):
        make([Value(1.0)])
