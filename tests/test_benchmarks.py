"""The benchmarks' own contenders: what they time must be what they claim.

No timing here (the figures are printed by the scripts); only that the cut-down
contenders of ``engine_ceiling.py`` give the shipped engine's gradients and
leave the engine and the collector as they found them.
"""

import gc
import os
import sys

import pytest

from tinygrad_edu import MLP, Value
from tinygrad_edu.learn.digits import load_digits

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "benchmarks")


@pytest.fixture(scope="module")
def ceiling():
    saved_environment = dict(os.environ)
    sys.path.insert(0, BENCHMARKS)
    try:
        import engine_ceiling
    finally:
        sys.path.remove(BENCHMARKS)
        os.environ.clear()                 # bench.py pins BLAS threads on import
        os.environ.update(saved_environment)
    return engine_ceiling


def test_cut_down_engines_give_the_shipped_gradients_and_restore_the_engine(ceiling):
    images, labels = load_digits("train")
    batch = (images[:4], labels[:4])
    shipped_init = Value.__dict__["__init__"]
    steppers = [kind(MLP(64, [16, 16, 10], activation="relu", seed=0))
                for kind in (ceiling.bench.PlainEngineUserStyle, ceiling.WithoutChecks,
                             ceiling.WithoutChecksOrCollector)]
    losses = [s.step(*batch) for s in steppers]
    assert losses[0] == losses[1] == losses[2]
    assert steppers[0].grads() == steppers[1].grads() == steppers[2].grads()
    assert any(g != 0.0 for g in steppers[0].grads())
    assert Value.__dict__["__init__"] is shipped_init
    assert gc.isenabled()
    with pytest.raises(TypeError, match="real number"):
        Value("3")                         # the shipped checks are back
