"""How fast is tinygrad_edu? One command: ``python benchmarks/bench.py``.

The workload (issue 7): a 64-16-16-10 ReLU MLP, a batch of 32 digits, mean
squared error to the one-hot label; one step is zero-grad + forward +
backward + an SGD update. Every contender starts from the same weights and
data, and its gradients are checked against the plain engine's *before* any
timing. Then the steps are timed in alternation (one step of each contender
per round, so a busy machine slows them all alike) and the medians compared.

Contenders:

* micrograd 0.1.0 (``pip install micrograd==0.1.0``, the ``bench`` extra);
* our plain engine (a Value graph per example: the readable one);
* the pure-Python tape replay (trace once, replay over flat lists);
* the numpy tape replay (the same tape, each slot a vector over the batch),
  at batch 32 and at batch 1024;
* a hand-written numpy MLP (matrix products written by hand): the ceiling.

It also reports Values per example, peak memory per example (tracemalloc)
and the time and memory of backward through a chain of 1,000,000 operations.

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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))        # run from a checkout too

import numpy as np                                 # noqa: E402

from tinygrad_edu import MLP, Value, mse, one_hot, vsum  # noqa: E402
from tinygrad_edu.learn.digits import load_digits         # noqa: E402
from tinygrad_edu.fast.traced_losses import compile_loss  # noqa: E402
from tinygrad_edu.fast.numpy_replay import NumpyTape     # noqa: E402

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
    name = "tinygrad_edu plain engine"

    def __init__(self, model):
        self.model = model
        self.params = model.parameters()

    def loss(self, xs, labels):
        losses = []
        for x, label in zip(xs, labels):
            outputs = self.model([Value(v) for v in x])
            losses.append(mse(outputs, one_hot(label, len(outputs))))
        return vsum(losses) / len(losses)


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


class NumpyReplay:
    name = "numpy tape replay"

    def __init__(self, model):
        self.params = model.parameters()
        self.tape = NumpyTape(compile_loss(model, "mse"))
        self._grads = None

    def step(self, xs, labels):
        loss, grads = self.tape.batch_gradients(xs, labels)
        self._grads = grads.tolist()
        for p, g in zip(self.params, self._grads):
            p.data -= LR * g
        return loss

    def grads(self):
        return self._grads


class HandNumpy:
    """A 64-16-16-10 ReLU MLP with mean squared error, written with matrices."""

    name = "hand-written numpy MLP"

    def __init__(self, model):
        self.W, self.b = [], []
        for layer in model.layers:
            self.W.append(np.array([[w.data for w in n.w] for n in layer.neurons]))
            self.b.append(np.array([n.b.data for n in layer.neurons]))
        self._grads = None

    def step(self, xs, labels):
        X = np.asarray(xs, dtype=float)
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


def check_gradients(reference, others, xs, labels, tolerance,
                    reference_name="plain engine"):
    """Run one step of each from the same weights; the gradients must agree."""
    reference.step(xs, labels)
    expected = reference.grads()
    for other in others:
        other.step(xs, labels)
        diff = max_difference(expected, other.grads())
        status = "ok" if diff <= tolerance else "MISMATCH"
        print(f"  gradients of {other.name:<28} vs {reference_name}: max |diff| "
              f"{diff:.1e}  {status}")
        if diff > tolerance:
            sys.exit(f"{other.name} gives different gradients; not timing it")


def time_alternately(contenders, batches, rounds):
    """Seconds per example for each contender: the median of ``rounds`` steps.

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
    return {name: statistics.median(ts) for name, ts in times.items()}


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
    """Backward through ``n`` chained operations: (seconds, peak MB)."""
    gc.collect()
    x = Value(1.0, "x")
    y = x
    for _ in range(n):
        y = y * 1.0000001
    start = time.perf_counter()
    y.backward()
    seconds = time.perf_counter() - start
    assert abs(x.grad - 1.0000001 ** n) < 1e-6 * x.grad
    del y
    gc.collect()
    tracemalloc.start()
    x = Value(1.0, "x")
    y = x
    for _ in range(n):
        y = y * 1.0000001
    y.backward()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 1e6


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

    def fresh():
        return MLP(64, SIZES, activation="relu", seed=0)

    plain = PlainEngine(fresh())
    micro = Micrograd(fresh(), MValue, MMLP)
    tape = TapeReplay(fresh())
    fast = NumpyReplay(fresh())
    hand = HandNumpy(fresh())

    print("\nchecking gradients on the first batch (same weights, same data):")
    check_gradients(plain, [micro, tape, fast, hand], *small[0], tolerance=1e-12)

    print(f"\ntiming {rounds} alternating rounds at batch {BATCH} ...")
    # fresh copies, since the checked step moved every contender's weights
    plain, micro, tape, fast, hand = (PlainEngine(fresh()),
                                      Micrograd(fresh(), MValue, MMLP),
                                      TapeReplay(fresh()), NumpyReplay(fresh()),
                                      HandNumpy(fresh()))
    contenders = [micro, plain, tape, fast, hand]
    per_example = time_alternately(contenders, {c.name: small for c in contenders},
                                   rounds)
    print(f"timing {rounds * 4} alternating rounds at batch {BIG_BATCH} "
          f"(numpy only) ...")
    big_fast, big_hand = NumpyReplay(fresh()), HandNumpy(fresh())
    check_gradients(HandNumpy(fresh()), [NumpyReplay(fresh())], *big[0],
                    tolerance=1e-12, reference_name="hand-written numpy")
    big_times = time_alternately([big_fast, big_hand],
                                 {big_fast.name: big, big_hand.name: big},
                                 rounds * 4)

    nodes = {
        micro.name: nodes_per_example(
            micro.loss, lambda v: v._prev, *small[0], len(micro.params)),
        plain.name: nodes_per_example(
            plain.loss, lambda v: v.parents, *small[0], len(plain.params)),
    }
    memory = {c.name: peak_memory_per_example(c, *small[1])
              for c in [micro, plain, tape, fast, hand]}

    base = per_example[micro.name]
    print(f"\n{'batch ' + str(BATCH):<32}{'per example':>14}{'vs micrograd':>15}"
          f"{'nodes/example':>15}{'peak mem/example':>18}")
    for c in contenders:
        t = per_example[c.name]
        node_text = f"{nodes[c.name]:.0f}" if c.name in nodes else "-"
        print(f"{c.name:<32}{format_time(t):>14}{base / t:>14.0f}x"
              f"{node_text:>15}{memory[c.name] / 1024:>15.1f} kB")
    ratio = big_times[big_fast.name] / big_times[big_hand.name]
    print(f"\n{'batch ' + str(BIG_BATCH):<32}{'per example':>14}"
          f"{'vs micrograd':>15}{'vs hand numpy':>15}")
    for c in (big_fast, big_hand):
        t = big_times[c.name]
        print(f"{c.name:<32}{format_time(t):>14}{base / t:>14.0f}x"
              f"{t / big_times[big_hand.name]:>14.2f}x")

    print(f"\nbackward through a chain of {args.chain:,} multiplications ...")
    seconds, peak_mb = deep_chain(args.chain)
    print(f"  tinygrad_edu: {seconds:.2f} s, peak memory {peak_mb:.0f} MB "
          f"(build + backward), no recursion limit")
    old_limit = sys.getrecursionlimit()
    print(f"  micrograd, chain of 10,000: "
          f"{micrograd_deep_chain(MValue, 10_000)} (recursion limit {old_limit})")

    if not args.quick:
        train_figures()

    print("\nsummary:")
    print(f"  plain engine        {base / per_example[plain.name]:6.0f}x micrograd")
    print(f"  pure-Python tape    {base / per_example[tape.name]:6.0f}x micrograd")
    print(f"  numpy tape (b=1024) {base / big_times[big_fast.name]:6.0f}x micrograd, "
          f"{ratio:.2f}x the hand-written numpy MLP's time per example")
    return 0


# What issue 7 asks of ``tinygrad-edu train`` on all ten digits: >= 96% test
# accuracy in under 60 s, with the command's defaults.

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
