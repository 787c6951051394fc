"""How far could the plain engine go without changing its shape? ``python benchmarks/engine_ceiling.py``

The plain engine (a graph of ``Value`` objects, one per number) runs the
user-style workload of ``bench.py`` (the 64-16-16-10 ReLU MLP, batch 32,
``loss = loss + d * d``) in three forms, in alternating rounds against
micrograd:

* as shipped;
* with ``Value.__init__`` cut down to its eight assignments: no number check,
  no check of the label or of the local derivatives, no ``no_grad`` switch,
  no tuple copies (what a "factory" or a stripped-down class could give);
* the same, with Python's cyclic garbage collector switched off during the
  step (Values make no cycles, so it finds nothing; the engine must not
  switch it off behind a user's back, so this is only a measurement).

The cut-down ``__init__`` is swapped in for that contender's steps only and
gives the same gradients (checked before timing). Every ratio is the median
of the round-by-round ratios to micrograd, with their range. BLAS plays no
part (no numpy in these steps). Exit status 2 if micrograd is missing.
"""

import argparse
import gc
import itertools
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench                                        # noqa: E402
from tinygrad_edu import MLP, Value                 # noqa: E402
from tinygrad_edu.learn.digits import load_digits   # noqa: E402

_ids = itertools.count(10 ** 9)


def _bare_init(self, data, label="", *, parameter=False, op="", parents=(),
               local_grads=()):
    """Value.__init__ with nothing but its assignments (a measurement only)."""
    self.data = data
    self.grad = 0.0
    self.op = op
    self.label = label
    self.is_parameter = parameter
    self.id = next(_ids)
    self.parents = parents
    self.local_grads = local_grads


class WithoutChecks(bench.PlainEngineUserStyle):
    name = "user-style, Value.__init__ bare"

    def step(self, xs, labels):
        shipped = Value.__dict__["__init__"]
        Value.__init__ = _bare_init
        try:
            return super().step(xs, labels)
        finally:
            Value.__init__ = shipped


class WithoutChecksOrCollector(WithoutChecks):
    name = "  ... and the collector off"

    def step(self, xs, labels):
        gc.disable()
        try:
            return super().step(xs, labels)
        finally:
            gc.enable()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9,
                        help="timed steps per contender (default 9)")
    args = parser.parse_args(argv)
    MValue, MMLP = bench.import_micrograd()
    print(f"machine: {bench.machine_description()}")
    images, labels = load_digits("train")
    size = bench.BATCH
    batches = [(images[k * size:(k + 1) * size], labels[k * size:(k + 1) * size])
               for k in range(max(args.rounds, 2))]

    def fresh():
        return MLP(64, bench.SIZES, activation="relu", seed=0)

    def contenders():
        return [bench.Micrograd(fresh(), MValue, MMLP),
                bench.PlainEngineUserStyle(fresh()), WithoutChecks(fresh()),
                WithoutChecksOrCollector(fresh())]

    print("checking gradients on the first batch (same weights, same data):")
    micro, shipped, *cut = contenders()
    bench.check_gradients(shipped, [micro, *cut], (batches[0], batches[0]),
                          tolerance=1e-12)
    group = contenders()
    print(f"timing {args.rounds} alternating rounds at batch {size} ...")
    times = bench.time_alternately(group, {c.name: batches for c in group},
                                   args.rounds)
    micro = group[0]
    print(f"\n{'batch ' + str(size) + ', per batch':<34}{'median (min-max)':>38}"
          f"{'vs micrograd (rounds)':>26}")
    for c in group:
        ratios = bench.round_ratios(times[micro.name], times[c.name])
        print(f"{c.name:<34}{bench.spread(times[c.name], size):>38}"
              f"{statistics.median(ratios):>13.0f}x ({min(ratios):.0f}-{max(ratios):.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
