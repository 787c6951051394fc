"""The operation checks raise no false alarms: the project's own engine passes
them on inputs Hypothesis chooses across wide ranges, not only on the seeded
inputs ``tinygrad-edu check`` uses."""

import pytest
from hypothesis import given, settings, strategies as st

from tinygrad_edu import engine as reference
from tinygrad_edu.exercises.op_checks import OPS, _check_case, dot_spec

SPECS = {spec.id: spec for spec in OPS}


def numbers(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def away_from_zero(low, high):
    return st.one_of(numbers(low, high), numbers(-high, -low))


# For each operation: a strategy for its inputs, wider than the check's own.
INPUTS = {
    "add": st.fixed_dictionaries({"a": numbers(-1e3, 1e3), "b": numbers(-1e3, 1e3)}),
    "mul": st.fixed_dictionaries({"a": numbers(-1e3, 1e3), "b": numbers(-1e3, 1e3)}),
    "sub": st.fixed_dictionaries({"a": numbers(-1e3, 1e3), "b": numbers(-1e3, 1e3)}),
    "div": st.fixed_dictionaries({"a": numbers(-1e3, 1e3), "b": away_from_zero(1e-2, 1e3)}),
    "neg": st.fixed_dictionaries({"a": numbers(-1e3, 1e3)}),
    "pow": st.one_of(
        st.fixed_dictionaries({"a": numbers(0.05, 20),
                               "n": st.sampled_from([0, 1, 2, 3, -1, -2, 0.5, 1.5, 2.5])}),
        st.fixed_dictionaries({"a": away_from_zero(0.05, 20),
                               "n": st.integers(-3, 4)}),
        st.fixed_dictionaries({"a": numbers(0.05, 20), "b": numbers(-3, 3)})),
    "exp": st.fixed_dictionaries({"x": numbers(-50, 50)}),
    "log": st.fixed_dictionaries({"x": numbers(1e-3, 1e3)}),
    "tanh": st.fixed_dictionaries({"x": numbers(-20, 20)}),
    "sigmoid": st.fixed_dictionaries({"x": numbers(-40, 40)}),
    "relu": st.fixed_dictionaries({"x": away_from_zero(1e-3, 1e3)}),
    "abs": st.fixed_dictionaries({"x": away_from_zero(1e-3, 1e3)}),
    "sqrt": st.fixed_dictionaries({"x": numbers(1e-3, 1e3)}),
    "sin": st.fixed_dictionaries({"x": numbers(-100, 100)}),
    "cos": st.fixed_dictionaries({"x": numbers(-100, 100)}),
}


def test_every_operation_has_a_strategy():
    assert set(SPECS) <= set(INPUTS)


@pytest.mark.parametrize("op", sorted(SPECS))
def test_the_engine_passes_its_own_operation_check(op):
    spec = SPECS[op]

    @settings(max_examples=25, deadline=None, database=None)
    @given(INPUTS[op])
    def check(inputs):
        expected, _ = spec.build(reference, inputs)
        _check_case(spec, reference, inputs, expected)
    check()


@settings(max_examples=25, deadline=None, database=None)
@given(st.lists(st.tuples(numbers(-100, 100), numbers(-100, 100)), min_size=1, max_size=8))
def test_the_engine_passes_the_dot_check(pairs):
    inputs = {f"w{i}": w for i, (w, _) in enumerate(pairs)}
    inputs.update({f"x{i}": x for i, (_, x) in enumerate(pairs)})
    spec = dot_spec()
    _check_case(spec, reference, inputs, spec.build(reference, inputs)[0])
