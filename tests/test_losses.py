"""Losses: values and gradients against numpy formulas, and stability."""

import math

import numpy as np
import pytest

from tinygrad_edu import Value, accuracy, cross_entropy, mse, one_hot, softmax


def test_softmax_sums_to_one_and_matches_numpy():
    logits = [1.0, -2.0, 0.5, 3.0]
    expected = np.exp(logits) / np.exp(logits).sum()
    probs = [p.data for p in softmax(logits)]
    assert np.allclose(probs, expected, atol=1e-15)
    assert sum(probs) == pytest.approx(1.0)


def test_softmax_and_cross_entropy_of_huge_logits_do_not_overflow():
    probs = [p.data for p in softmax([1000.0, 1000.0, -1000.0])]
    assert probs == pytest.approx([0.5, 0.5, 0.0])
    assert cross_entropy([Value(1000.0), Value(0.0)], 0).data == pytest.approx(0.0)
    assert cross_entropy([Value(1000.0), Value(0.0)], 1).data == pytest.approx(1000.0)


def test_cross_entropy_value_and_gradient_match_numpy():
    z = np.array([0.3, -1.2, 2.0, 0.1])
    logits = [Value(float(v)) for v in z]
    loss = cross_entropy(logits, 2)
    loss.backward()
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert loss.data == pytest.approx(-math.log(p[2]), abs=1e-14)
    # d(-log softmax_t)/dz = softmax - one_hot(t)
    assert np.allclose([v.grad for v in logits], p - np.eye(4)[2], atol=1e-14)


def test_mse_value_and_gradient():
    outs = [Value(1.0), Value(-2.0), Value(0.5)]
    loss = mse(outs, [0.0, 1.0, 0.5])
    loss.backward()
    assert loss.data == pytest.approx((1 + 9 + 0) / 3)
    assert [o.grad for o in outs] == pytest.approx([2 / 3, -6 / 3, 0.0])


def test_accuracy_and_one_hot():
    assert accuracy([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], [1, 0, 0]) == pytest.approx(2 / 3)
    assert one_hot(2, 4) == [0.0, 0.0, 1.0, 0.0]


@pytest.mark.parametrize("call", [
    lambda: one_hot(4, 4), lambda: cross_entropy([1.0, 2.0], 2),
    lambda: mse([Value(1.0)], [1.0, 2.0]), lambda: accuracy([], []),
    lambda: softmax([]),
])
def test_bad_inputs_are_clear_errors(call):
    with pytest.raises(ValueError):
        call()
