"""Losses: values and gradients against numpy formulas, and stability."""

import math

import numpy as np
import pytest

from tinygrad_edu import Value, accuracy, cross_entropy, mse, one_hot, softmax
from tinygrad_edu.learn.losses import log_sum_exp


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


def test_log_sum_exp_is_the_same_for_any_shift_and_its_gradient_is_softmax():
    z = np.array([0.3, -1.2, 2.0, 0.1])
    expected = math.log(np.exp(z).sum())
    for shift in (0.0, 2.0, -5.0, Value(1.5)):
        logits = [Value(float(v)) for v in z]
        total = log_sum_exp(logits, shift)
        assert total.data == pytest.approx(expected, abs=1e-14)
        total.backward()
        assert np.allclose([v.grad for v in logits], np.exp(z) / np.exp(z).sum(),
                           atol=1e-14)
    # The shift's own gradient: d/ds [log(sum e^(z - s)) + s] = -1 + 1 = 0.
    shift = Value(1.5)
    log_sum_exp([Value(float(v)) for v in z], shift).backward()
    assert shift.grad == pytest.approx(0.0, abs=1e-15)
    # Shifting by the largest logit is what keeps huge logits finite.
    assert log_sum_exp([1000.0, 1000.0], 1000.0).data == pytest.approx(
        1000.0 + math.log(2))
    with pytest.raises(OverflowError):
        log_sum_exp([1000.0, 1000.0], 0.0)


def test_cross_entropy_is_log_sum_exp_minus_the_target_logit():
    z = [0.3, -1.2, 2.0, 0.1]
    for target in range(4):
        expected = log_sum_exp(z, max(z)).data - z[target]
        assert cross_entropy(z, target).data == expected      # to the last bit


def test_the_tapes_cross_entropy_is_the_same_graph_of_numbers():
    """The tape traces log_sum_exp with its own ``max`` op as the shift; the
    loss and every gradient are bit for bit those of cross_entropy."""
    from tinygrad_edu.fast.traced_losses import traceable_cross_entropy

    z = [0.3, -1.2, 2.0, 0.1]
    for target in range(4):
        ours = [Value(v) for v in z]
        theirs = [Value(v) for v in z]
        loss = traceable_cross_entropy(ours, [Value(v) for v in one_hot(target, 4)])
        expected = cross_entropy(theirs, target)
        loss.backward()
        expected.backward()
        assert loss.data == expected.data
        assert [v.grad for v in ours] == [v.grad for v in theirs]
        shift = [node for node in loss.parents[0].parents if node.op == "max"]
        assert len(shift) == 1 and shift[0].local_grads == (0.0,) * 4
