"""Machine instructions per example, counted with callgrind: a figure the load cannot move.

    python benchmarks/instructions.py user      # or: fused, tape, python, micrograd

runs the contender of ``bench.py`` under ``valgrind --tool=callgrind`` twice,
once with 0 steps and once with ``--steps`` steps (batch 32), and prints the
difference divided by the examples: the instructions one example costs,
without the imports and set-up. Needs valgrind (``apt-get install valgrind``).
Use it to judge a change to the code on a busy machine; ``bench.py`` gives
the times.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CONTENDERS = {"micrograd": "Micrograd", "user": "PlainEngineUserStyle",
              "fused": "PlainEngine", "tape": "TapeReplay", "python": "GeneratedPython"}


def run_steps(kind, steps):
    """The child: make the contender, warm it up, take ``steps`` steps."""
    sys.path.insert(0, HERE)
    import bench
    images, labels = bench.load_digits("train")
    model = bench.MLP(64, bench.SIZES, activation="relu", seed=0)
    if kind == "micrograd":
        contender = bench.Micrograd(model, *bench.import_micrograd())
    else:
        contender = getattr(bench, CONTENDERS[kind])(model)
    batch = (images[:bench.BATCH], labels[:bench.BATCH])
    contender.step(*batch)                       # warm-up: caches, compiled code
    for _ in range(steps):
        contender.step(*batch)


def count(kind, steps):
    """Instructions callgrind counts for a run of ``steps`` steps."""
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        sys.executable, __file__, kind, "--child", str(steps)],
                       check=True, capture_output=True)
        with open(out) as file:
            return int(re.search(r"^summary: (\d+)", file.read(), re.M).group(1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=sorted(CONTENDERS))
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        run_steps(args.kind, args.child)
        return
    import bench
    per_example = (count(args.kind, args.steps) - count(args.kind, 0)) / (
        args.steps * bench.BATCH)
    print(f"{args.kind}: {per_example / 1e6:.3f}M instructions per example")


if __name__ == "__main__":
    main()
