"""How fast is tinygrad_edu? One command: ``python benchmarks/bench.py``.

The workload: a 64-16-16-10 ReLU MLP, a batch of 32 digits, mean
squared error to the one-hot label; one step is zero-grad + forward +
backward + an SGD update. Every contender starts from the same weights and
data, and its gradients are checked against the plain engine's *before* any
timing. Then the steps are timed in alternation (one step of each contender
per round, so a busy machine slows them all alike) and the medians compared.

Contenders:

* micrograd 0.1.0 (``pip install micrograd==0.1.0``, the ``bench`` extra);
* our plain engine (a Value graph per example: the readable one), twice:
  written as a user writes it (``[Value(p) for p in x]``, ``loss = loss +
  d * d``) and with the library's fused helpers (``mse``, which sums with
  ``vsum``);
* the pure-Python tape replay (trace once, replay over flat lists);
* the generated Python (``tape.to_python()``: the same program written out
  as one straight-line function, compiled once);
* the numpy tape replay (the same tape, each slot a vector over the batch),
  at batch 32 and at batch 1024;
* a hand-written numpy MLP (matrix products written by hand): the ceiling.

Like with like: the numpy contenders get their batches as arrays made before
the timing (so neither is charged for turning lists into arrays), both keep
their weights in arrays and step them there, and BLAS runs on **one thread**
(set in the environment before numpy is imported) for every figure. Each
figure is the median of the rounds with the range (min-max) beside it, and
each ratio the median of the round-by-round ratios.

It also reports Values per example, peak memory per example (tracemalloc)
and the build and backward time and peak memory of chains of 250,000,
500,000 and 1,000,000 operations (backward should stay linear).

``--quick`` takes fewer rounds. Exit status 2 if micrograd is missing.
"""

import argparse
import contextlib
import gc
import io
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc

# One BLAS/OpenMP thread for every figure, set before numpy is imported (the
# libraries read these when they load): the ceiling is then a property of
# the code, not of how idle the other core happened to be.
ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "BLIS_NUM_THREADS")
for _name in ONE_THREAD:
    os.environ[_name] = "1"

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))        # run from a checkout too

import numpy as np                                 # noqa: E402

from tinygrad_edu import MLP, Value, mse, one_hot, vsum  # noqa: E402
from tinygrad_edu.learn.digits import load_digits         # noqa: E402
from tinygrad_edu.fast.traced_losses import compile_loss  # noqa: E402
from tinygrad_edu.fast.numpy_replay import NumpyTape     # noqa: E402
from tinygrad_edu.fast.python_source import CompiledTape  # noqa: E402

SIZES = [16, 16, 10]
BATCH = 32
BIG_BATCH = 1024
LR = 0.01
PIP_COMMAND = 'pip install "micrograd==0.1.0"   (or: pip install -e ".[bench]")'


def import_micrograd():
    try:
        from micrograd.engine import Value as MValue
        from micrograd.nn import MLP as MMLP
    except ImportError:
        print("micrograd is not installed; it is the optional benchmark "
              "dependency. Install it with:\n    " + PIP_COMMAND, file=sys.stderr)
        sys.exit(2)
    return MValue, MMLP


# ----------------------------------------------------------------------
# The contenders. Each is an object with step(xs, labels) (one SGD step on
# the batch) and grads() (the gradients of the last step, in our
# parameter order).
# ----------------------------------------------------------------------

class ValueGraphStep:
    """One SGD step for an engine that builds a graph of Values (ours or
    micrograd's): zero the gradients, build the loss, backward, update.
    Subclasses give ``params`` and ``loss(xs, labels)``."""

    def step(self, xs, labels):
        for p in self.params:
            p.grad = 0.0
        loss = self.loss(xs, labels)
        loss.backward()
        for p in self.params:
            p.data -= LR * p.grad
        return loss.data

    def grads(self):
        return [p.grad for p in self.params]


class PlainEngine(ValueGraphStep):
    """Our engine with the library's fused helpers: ``mse`` sums with ``vsum``."""

    name = "plain engine, fused helpers"

    def __init__(self, model):
        self.model = model
        self.params = model.parameters()

    def loss(self, xs, labels):
        losses = []
        for x, label in zip(xs, labels):
            outputs = self.model([Value(v) for v in x])
            losses.append(mse(outputs, one_hot(label, len(outputs))))
        return vsum(losses) / len(losses)


class PlainEngineUserStyle(PlainEngine):
    """Our engine as a user writes the loss: one ``+`` at a time."""

    name = "plain engine, user-style"

    def loss(self, xs, labels):
        total = Value(0.0)
        for x, label in zip(xs, labels):
            outputs = self.model([Value(p) for p in x])
            loss = Value(0.0)
            for o, t in zip(outputs, one_hot(label, len(outputs))):
                d = o - t
                loss = loss + d * d
            total = total + loss / len(outputs)
        return total / len(xs)


class Micrograd(ValueGraphStep):
    name = "micrograd 0.1.0"

    def __init__(self, model, MValue, MMLP):
        self.Value = MValue
        self.net = MMLP(model.nin, SIZES)
        # Copy our weights in, neuron by neuron (micrograd: w list, then b).
        ours = [neuron for layer in model.layers for neuron in layer.neurons]
        theirs = [neuron for layer in self.net.layers for neuron in layer.neurons]
        for a, b in zip(ours, theirs):
            for wa, wb in zip(a.w, b.w):
                wb.data = wa.data
            b.b.data = a.b.data
        self.params = self.net.parameters()     # same order as ours

    def loss(self, xs, labels):
        total = self.Value(0.0)
        for x, label in zip(xs, labels):
            outputs = self.net(x)
            target = one_hot(label, len(outputs))
            sq = sum(((o - t) ** 2 for o, t in zip(outputs, target)), self.Value(0.0))
            total = total + sq * (1.0 / len(outputs))
        return total * (1.0 / len(xs))


class TapeReplay:
    name = "pure-Python tape replay"

    def __init__(self, model):
        self.params = model.parameters()
        self.tape = compile_loss(model, "mse")
        self._grads = None

    def step(self, xs, labels):
        loss, self._grads = self.tape.batch_gradients(xs, labels)
        for p, g in zip(self.params, self._grads):
            p.data -= LR * g
        return loss

    def grads(self):
        return self._grads


class GeneratedPython(TapeReplay):
    name = "generated Python (to_python)"

    def __init__(self, model):
        self.params = model.parameters()
        self.tape = CompiledTape(compile_loss(model, "mse"))
        self._grads = None


class NumpyReplay:
    """The numpy replay, its weights in one vector stepped there (as training does)."""

    name = "numpy tape replay"
    arrays = True                       # takes its batches as arrays

    def __init__(self, model):
        self.tape = NumpyTape(compile_loss(model, "mse"))
        self.weights = np.array([p.data for p in self.tape.tape.params])
        self.constants = np.array(self.tape.tape.constants, dtype=float)
        self._grads = None

    def step(self, xs, labels):
        uniform = np.concatenate((self.weights, self.constants))
        loss, self._grads = self.tape.batch_gradients(xs, labels, uniform)
        self.weights -= LR * self._grads
        return loss

    def grads(self):
        return self._grads.tolist()


class HandNumpy:
    """A 64-16-16-10 ReLU MLP with mean squared error, written with matrices."""

    name = "hand-written numpy MLP"
    arrays = True                       # takes its batches as arrays

    def __init__(self, model):
        self.W, self.b = [], []
        for layer in model.layers:
            self.W.append(np.array([[w.data for w in n.w] for n in layer.neurons]))
            self.b.append(np.array([n.b.data for n in layer.neurons]))
        self._grads = None

    def step(self, xs, labels):
        X = xs
        n = X.shape[0]
        Y = np.zeros((n, self.W[-1].shape[0]))
        Y[np.arange(n), labels] = 1.0
        acts, pre = [X], []
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            z = acts[-1] @ W.T + b
            pre.append(z)
            acts.append(np.maximum(z, 0.0) if i < len(self.W) - 1 else z)
        out = acts[-1]
        loss = ((out - Y) ** 2).mean()
        g = 2.0 * (out - Y) / out.size
        gW, gb = [None] * len(self.W), [None] * len(self.W)
        for i in reversed(range(len(self.W))):
            if i < len(self.W) - 1:
                g = g * (pre[i] > 0)
            gW[i] = g.T @ acts[i]
            gb[i] = g.sum(axis=0)
            if i:
                g = g @ self.W[i]
        for i in range(len(self.W)):
            self.W[i] -= LR * gW[i]
            self.b[i] -= LR * gb[i]
        self._grads = (gW, gb)
        return float(loss)

    def grads(self):
        gW, gb = self._grads
        flat = []
        for W, b in zip(gW, gb):
            for j in range(W.shape[0]):
                flat.extend(W[j].tolist())
                flat.append(float(b[j]))
        return flat


# ----------------------------------------------------------------------
# Measuring
# ----------------------------------------------------------------------

def max_difference(a, b):
    return max(abs(x - y) for x, y in zip(a, b))


def form_for(contender, lists, arrays):
    """The batches in the form ``contender`` takes (arrays for the numpy ones)."""
    return arrays if getattr(contender, "arrays", False) else lists


def check_gradients(reference, others, batch, tolerance):
    """Run one step of each from the same weights; the gradients must agree.

    ``batch`` is a pair (as lists, as arrays) of the same examples.
    """
    reference.step(*form_for(reference, *batch))
    expected = reference.grads()
    for other in others:
        other.step(*form_for(other, *batch))
        diff = max_difference(expected, other.grads())
        status = "ok" if diff <= tolerance else "MISMATCH"
        print(f"  gradients of {other.name:<30} vs {reference.name}: max |diff| "
              f"{diff:.1e}  {status}")
        if diff > tolerance:
            sys.exit(f"{other.name} gives different gradients; not timing it")


def time_alternately(contenders, batches, rounds):
    """Seconds per example of each of ``rounds`` steps, for each contender.

    Each contender is charged for freeing its own garbage. micrograd's
    graphs are reference cycles (each node's ``_backward`` closure refers to
    the node), which only the cyclic garbage collector frees; that cost is
    part of using it, and would otherwise land on whichever contender runs
    next. So every timed step is followed by ``gc.collect()``, and the time
    of that collection minus the time of a second, empty one (the fixed cost
    of walking the heap) is added to the step, if it found any garbage.
    """
    times = {c.name: [] for c in contenders}
    for r in range(rounds):
        for c in contenders:
            xs, labels = batches[c.name][r % len(batches[c.name])]
            gc.collect()                                 # a clean start
            start = time.perf_counter()
            c.step(xs, labels)
            stepped = time.perf_counter()
            found = gc.collect()                         # this step's cycles
            collected = time.perf_counter()
            own_garbage = 0.0
            if found:
                gc.collect()                             # nothing left: baseline
                baseline = time.perf_counter() - collected
                own_garbage = max(0.0, (collected - stepped) - baseline)
            times[c.name].append((stepped - start + own_garbage) / len(xs))
    return times


def median(times):
    return statistics.median(times)


def round_ratios(numerators, denominators):
    """a / b round by round: both ran in the same round, on the same machine state."""
    return [a / b for a, b in zip(numerators, denominators)]


def as_arrays(batches):
    """The same batches as (float array, int array) pairs, made before timing."""
    return [(np.asarray(xs, dtype=float), np.asarray(labels, dtype=np.intp))
            for xs, labels in batches]


def peak_memory_per_example(contender, xs, labels):
    gc.collect()
    tracemalloc.start()
    contender.step(xs, labels)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / len(xs)


def nodes_per_example(make_loss, children, xs, labels, n_params):
    """Graph nodes built per example (the shared parameters not counted)."""
    root = make_loss(xs, labels)
    seen, stack = {id(root)}, [root]
    while stack:
        v = stack.pop()
        for p in children(v):
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return (len(seen) - n_params) / len(xs)


def deep_chain(n):
    """A chain of ``n`` multiplications: (build seconds, backward seconds, peak MB).

    Timed once without tracemalloc (which slows allocation), then built and
    run again under tracemalloc for the peak memory of building + backward.
    """
    gc.collect()
    start = time.perf_counter()
    x = Value(1.0, "x")
    y = x
    for _ in range(n):
        y = y * 1.0000001
    built = time.perf_counter()
    y.backward()
    done = time.perf_counter()
    assert abs(x.grad - 1.0000001 ** n) < 1e-6 * x.grad
    del x, y
    gc.collect()
    tracemalloc.start()
    x = Value(1.0, "x")
    y = x
    for _ in range(n):
        y = y * 1.0000001
    y.backward()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return built - start, done - built, peak / 1e6


def micrograd_deep_chain(MValue, n):
    x = MValue(1.0)
    y = x
    for _ in range(n):
        y = y * 1.0000001
    try:
        y.backward()
        return "ok"
    except RecursionError:
        return "RecursionError"


def machine_description():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} "
            f"{platform.release()}, CPython {platform.python_version()}, "
            f"numpy {np.__version__}")


def spread(times, scale=1.0):
    """'median (min-max)' of per-example times, formatted."""
    ts = sorted(t * scale for t in times)
    return f"{format_time(median(ts))} ({format_time(ts[0])}-{format_time(ts[-1])})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds (noisier figures)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="timed steps per contender (default 15, quick 5)")
    parser.add_argument("--chain", type=int, default=1_000_000,
                        help="length of the deep chain (default 1,000,000)")
    args = parser.parse_args(argv)
    MValue, MMLP = import_micrograd()
    rounds = args.rounds or (5 if args.quick else 15)

    print(f"machine: {machine_description()}")
    print(f"BLAS/OpenMP threads: 1 ({', '.join(ONE_THREAD)} set to 1 before "
          f"numpy is imported)")
    print(f"workload: MLP 64-{'-'.join(map(str, SIZES))} ReLU, MSE to one-hot, "
          f"batch {BATCH}, zero-grad + forward + backward + SGD step")
    images, labels = load_digits("train")
    n_batches = max(rounds, 2)
    rng = random.Random(0)
    order = list(range(len(images)))
    rng.shuffle(order)

    def batches_of(size, count):
        out = []
        for k in range(count):
            idx = [order[(k * size + j) % len(order)] for j in range(size)]
            out.append(([images[i] for i in idx], [labels[i] for i in idx]))
        return out

    small = batches_of(BATCH, n_batches)
    big = batches_of(BIG_BATCH, 3)
    small_arrays, big_arrays = as_arrays(small), as_arrays(big)

    def fresh():
        return MLP(64, SIZES, activation="relu", seed=0)

    def contenders():
        return [Micrograd(fresh(), MValue, MMLP), PlainEngineUserStyle(fresh()),
                PlainEngine(fresh()), TapeReplay(fresh()), GeneratedPython(fresh()),
                NumpyReplay(fresh()),
                HandNumpy(fresh())]

    def batches_for(group, lists, arrays):
        return {c.name: form_for(c, lists, arrays) for c in group}

    print("\nchecking gradients on the first batch (same weights, same data):")
    micro, user, fused, *rest = contenders()
    check_gradients(fused, [micro, user, *rest], (small[0], small_arrays[0]),
                    tolerance=1e-12)

    print(f"\ntiming {rounds} alternating rounds at batch {BATCH} ...")
    group = contenders()          # fresh weights: the checked step moved them
    times = time_alternately(group, batches_for(group, small, small_arrays), rounds)
    print(f"timing {rounds * 4} alternating rounds at batch {BIG_BATCH} "
          f"(numpy only) ...")
    check_gradients(HandNumpy(fresh()), [NumpyReplay(fresh())],
                    (big[0], big_arrays[0]), tolerance=1e-12)
    big_group = [NumpyReplay(fresh()), HandNumpy(fresh())]
    big_times = time_alternately(big_group, batches_for(big_group, big, big_arrays),
                                 rounds * 4)
    ceiling_32 = round_ratios(times[NumpyReplay.name], times[HandNumpy.name])
    ceiling_1024 = round_ratios(big_times[NumpyReplay.name], big_times[HandNumpy.name])

    micro, user, fused = group[0], group[1], group[2]
    nodes = {
        micro.name: nodes_per_example(
            micro.loss, lambda v: v._prev, *small[0], len(micro.params)),
        user.name: nodes_per_example(
            user.loss, lambda v: v.parents, *small[0], len(user.params)),
        fused.name: nodes_per_example(
            fused.loss, lambda v: v.parents, *small[0], len(fused.params)),
    }
    memory = {c.name: peak_memory_per_example(c, *form_for(c, small, small_arrays)[1])
              for c in group}

    print(f"\n{'batch ' + str(BATCH) + ', per example':<32}"
          f"{'median (min-max)':>28}{'vs micrograd':>14}"
          f"{'nodes/example':>15}{'peak mem/example':>18}")
    for c in group:
        ratio = median(round_ratios(times[micro.name], times[c.name]))
        node_text = f"{nodes[c.name]:.0f}" if c.name in nodes else "-"
        print(f"{c.name:<32}{spread(times[c.name]):>28}{ratio:>13.0f}x"
              f"{node_text:>15}{memory[c.name] / 1024:>15.1f} kB")
    print(f"\n{'batch ' + str(BIG_BATCH) + ', per example':<32}"
          f"{'median (min-max)':>28}{'vs hand numpy':>15}")
    for c in big_group:
        ratio = median(round_ratios(big_times[c.name], big_times[HandNumpy.name]))
        print(f"{c.name:<32}{spread(big_times[c.name]):>28}{ratio:>14.2f}x")

    print("\nbackward through chains of multiplications (build, backward, "
          "peak memory of both):")
    for n in (args.chain // 4, args.chain // 2, args.chain):
        build, backward, peak_mb = deep_chain(n)
        print(f"  {n:>9,} ops: build {build:5.2f} s, backward {backward:5.2f} s "
              f"({backward / n * 1e9:.0f} ns per op), peak memory {peak_mb:4.0f} MB")
    print(f"  micrograd, chain of 10,000: "
          f"{micrograd_deep_chain(MValue, 10_000)} (recursion limit "
          f"{sys.getrecursionlimit()})")

    if not args.quick:
        train_figures()

    def ratio_text(name):
        ratios = round_ratios(times[micro.name], times[name])
        return (f"{median(ratios):6.0f}x micrograd "
                f"(rounds {min(ratios):.0f}-{max(ratios):.0f}x)")

    print("\nsummary (medians of the round-by-round ratios of this run, their "
          "range in brackets; BLAS on 1 thread):")
    print(f"  plain engine, user-style    {ratio_text(user.name)}")
    print(f"  plain engine, fused helpers {ratio_text(fused.name)}")
    print(f"  pure-Python tape            {ratio_text(TapeReplay.name)}")
    print(f"  generated Python            {ratio_text(GeneratedPython.name)}")
    print(f"  numpy replay / hand numpy   batch {BATCH}: "
          f"{median(ceiling_32):.2f}x ({min(ceiling_32):.2f}-{max(ceiling_32):.2f}), "
          f"batch {BIG_BATCH}: {median(ceiling_1024):.2f}x "
          f"({min(ceiling_1024):.2f}-{max(ceiling_1024):.2f}) (round by round)")
    return 0


# ``tinygrad-edu train`` on all ten digits, in this process (the whole-process
# comparison with scikit-learn and PyTorch is benchmarks/full_digits.py).

def train_figures():
    """Run ``tinygrad-edu train`` with its defaults on the full digits."""
    import tempfile
    from tinygrad_edu.cli import main as cli_main
    print("\ntinygrad-edu train with its defaults: all 10 digits (3,823 training "
          "images, 1,797 test images), fast engine:")
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "model.json")
        captured = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(captured):
            code = cli_main(["train", "--quiet", "--out", out])
        wall = time.perf_counter() - start
        last = captured.getvalue().strip().splitlines()[-1]
        print(f"  {last.split('; model saved')[0]} (exit {code}, {wall:.1f} s wall)")


def format_time(seconds):
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


if __name__ == "__main__":
    sys.exit(main())
