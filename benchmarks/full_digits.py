"""The full-digits job, whole process, against scikit-learn and PyTorch.

    pip install -e ".[bench]"            # scikit-learn, PyTorch (see below), micrograd
    python benchmarks/full_digits.py     # 3 alternating rounds; --rounds N

The job: all ten digits, 3,823 training images, accuracy on the 1,797 test
images (other writers). Three contenders, each a fresh Python process, timed
from outside from start to exit (imports, loading the data, training,
measuring, and for ours saving the model):

* ``tinygrad-edu train`` with its defaults (MLP 64-64-32-10, ReLU, 20 epochs,
  batch 16, Adam 0.01 with a cosine schedule, cross-entropy; it measures
  train and test accuracy after every epoch and saves the model);
* scikit-learn's ``MLPClassifier((64, 32))`` with its defaults (Adam 0.001,
  batches of 200, up to 200 epochs, stopping early when the loss stalls);
* a PyTorch loop of the same net, epochs, batch, optimizer, schedule and
  loss as ours, measuring train and test accuracy after every epoch too.

Every process runs with **one thread**: the BLAS and OpenMP thread counts are
set to 1 in its environment before numpy or torch is imported, and PyTorch
also calls ``torch.set_num_threads(1)``. The contenders run in alternation
(one of each per round) so a busy machine slows them alike; the figures are
the median and the range (min-max) of the rounds.

PyTorch must be the CPU build: ``pip install torch==2.13.0`` (a plain ``pip
install torch`` may fetch a CUDA build of several GB).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                                     "NUMEXPR_NUM_THREADS")}
EPOCHS, BATCH, LR, HIDDEN = 20, 16, 0.01, (64, 32)


# ----------------------------------------------------------------------
# The contenders. Each runs in its own process and prints, as its last
# line, a JSON object with the test accuracy.
# ----------------------------------------------------------------------

def run_sklearn(seed):
    import numpy as np
    from sklearn.neural_network import MLPClassifier
    from tinygrad_edu.learn.digits import load_digits
    x_train, y_train = load_digits("train", seed=seed, as_numpy=True)
    x_test, y_test = load_digits("test", as_numpy=True)
    model = MLPClassifier(HIDDEN, random_state=seed).fit(x_train, y_train)
    return {"test_accuracy": float(np.mean(model.predict(x_test) == y_test)),
            "epochs": model.n_iter_}


def run_torch(seed):
    import math
    import torch
    from tinygrad_edu.learn.digits import load_digits
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    x_train, y_train = (torch.as_tensor(a) for a in load_digits(
        "train", seed=seed, as_numpy=True))
    x_test, y_test = (torch.as_tensor(a) for a in load_digits("test", as_numpy=True))
    x_train, x_test = x_train.float(), x_test.float()
    y_train, y_test = y_train.long(), y_test.long()
    sizes = [64, *HIDDEN, 10]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    steps_per_epoch = math.ceil(len(x_train) / BATCH)
    total = EPOCHS * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * step / total)))
    loss_fn = torch.nn.CrossEntropyLoss()

    def accuracy(x, y):
        with torch.no_grad():
            return (net(x).argmax(dim=1) == y).float().mean().item()

    for _ in range(EPOCHS):
        order = torch.randperm(len(x_train))
        for k in range(steps_per_epoch):
            batch = order[k * BATCH:(k + 1) * BATCH]
            optimizer.zero_grad()
            loss_fn(net(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
            schedule.step()
        accuracy(x_train, y_train)                 # measured every epoch, as ours
        test_accuracy = accuracy(x_test, y_test)
    return {"test_accuracy": test_accuracy, "epochs": EPOCHS}


CONTENDERS = {"sklearn": run_sklearn, "torch": run_torch}
NAMES = {"tinygrad_edu": "tinygrad-edu train (defaults, numpy engine)",
         "sklearn": "scikit-learn MLPClassifier((64, 32))",
         "torch": "PyTorch loop, same net/epochs/batch"}


def command_for(name, seed, folder):
    if name == "tinygrad_edu":
        return [sys.executable, "-m", "tinygrad_edu", "train", "--quiet", "--seed",
                str(seed), "--out", os.path.join(folder, "model.json"),
                "--metrics", os.path.join(folder, "metrics.json")]
    return [sys.executable, os.path.abspath(__file__), "--contender", name,
            "--seed", str(seed)]


def time_process(name, seed, folder):
    """(seconds from start to exit, test accuracy) of one contender's process."""
    env = dict(os.environ, **ONE_THREAD)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    start = time.perf_counter()
    done = subprocess.run(command_for(name, seed, folder), env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{name} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    if name == "tinygrad_edu":
        with open(os.path.join(folder, "metrics.json")) as f:
            accuracy = json.load(f)["test_accuracy"]
    else:
        accuracy = json.loads(done.stdout.strip().splitlines()[-1])["test_accuracy"]
    return seconds, accuracy


def check_installed():
    missing = []
    for module, pip_name in (("sklearn", "scikit-learn"), ("torch", "torch==2.13.0")):
        try:
            __import__(module)
        except ImportError:
            missing.append(pip_name)
    if missing:
        print("missing: " + ", ".join(missing) + '. Install them with: pip install '
              + " ".join(f'"{m}"' for m in missing) + '   (or: pip install -e ".[bench]")',
              file=sys.stderr)
        sys.exit(2)


def spread(values, unit="", digits=1):
    values = sorted(values)
    return (f"{statistics.median(values):.{digits}f}{unit} "
            f"({values[0]:.{digits}f}-{values[-1]:.{digits}f})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3,
                        help="processes per contender, in alternation (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--contender", choices=sorted(CONTENDERS),
                        help=argparse.SUPPRESS)              # the child process
    args = parser.parse_args(argv)
    if args.contender:
        print(json.dumps(CONTENDERS[args.contender](args.seed)))
        return 0
    check_installed()
    print("full digits, whole process, 1 thread each (BLAS/OpenMP threads set to 1 "
          f"before import), {args.rounds} alternating rounds, seed {args.seed}")
    names = ["tinygrad_edu", "sklearn", "torch"]
    seconds = {name: [] for name in names}
    accuracy = {name: [] for name in names}
    for r in range(args.rounds):
        for name in names:
            with tempfile.TemporaryDirectory() as folder:
                s, a = time_process(name, args.seed, folder)
            seconds[name].append(s)
            accuracy[name].append(a)
            print(f"  round {r + 1}: {name:<13} {s:5.1f} s  test accuracy {a:.1%}",
                  flush=True)
    print(f"\n{'':<46}{'seconds: median (min-max)':>28}{'test accuracy':>26}")
    for name in names:
        print(f"{NAMES[name]:<46}{spread(seconds[name], ' s'):>28}"
              f"{spread([100 * a for a in accuracy[name]], '%'):>26}")
    for name in ("sklearn", "torch"):
        ratios = [t / o for t, o in zip(seconds[name], seconds["tinygrad_edu"])]
        print(f"  {NAMES[name]} takes {statistics.median(ratios):.2f}x our time "
              f"(per round: {', '.join(f'{x:.2f}' for x in ratios)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
