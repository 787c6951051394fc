"""How much the live page slows training: the full default `tinygrad-edu train`
with and without `--live` (a client reading the event stream all along).

    python benchmarks/live_overhead.py             # five pairs, about a minute
    python benchmarks/live_overhead.py --pairs 10  # alternate plain / live ten times

Each run is its own process, and the two kinds alternate (plain, live, plain,
live, ...), so a machine that gets busier or quieter meanwhile slows both
alike. Two times are compared: the training time the command reports
(``seconds`` in its metrics file: the loop, the measurements after each epoch
and, with ``--live``, every event made during training), and the CPU time of
the whole process (start to exit: with ``--live`` also the server thread and
the end event's details and explanations, made after training). For each,
the median and the range (min-max) over the runs of each kind, and the ratio
of the medians, which one slow run does not move.
"""

import argparse
import http.client
import json
import os
import statistics
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def read_stream(url, counts):
    """Read /events like a browser would, counting the events, until the end."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=600)
    connection.request("GET", "/events")
    response = connection.getresponse()
    for line in response.fp:
        if line.startswith(b"data: "):
            counts["events"] += 1
            counts["bytes"] += len(line)
            if line.startswith(b'data: {"type":"end"'):
                counts["cpu"] = json.loads(line[len(b"data: "):])["cpu_seconds"]
                break
    connection.close()


def default_sigint():
    """Let the child hear Ctrl-C even if this script runs in the background
    (a shell starts background jobs with SIGINT ignored, and children inherit it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run(live, folder):
    """One full default training: (training seconds, CPU seconds, what the stream
    said: events, bytes, and the CPU seconds spent making them during training)."""
    metrics = Path(folder) / f"metrics-{'live' if live else 'plain'}.json"
    command = [sys.executable, "-m", "tinygrad_edu", "train", "--quiet",
               "--out", str(Path(folder) / "model.json"), "--metrics", str(metrics)]
    if live:
        command += ["--live", "--port", "0"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env,
                               preexec_fn=default_sigint)
    counts = {"events": 0, "bytes": 0, "cpu": 0.0}
    reader = None
    for line in process.stdout:
        if line.startswith("live: "):
            url = line.split(" ", 1)[1].strip()
            reader = threading.Thread(target=read_stream, args=(url, counts))
            reader.start()
        if line.startswith("the page stays at"):
            process.send_signal(signal.SIGINT)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if reader:
        reader.join()
    cpu = usage.ru_utime + usage.ru_stime
    return json.loads(metrics.read_text())["seconds"], cpu, counts


def summary(values):
    """'median s (min-max)' of a list of seconds."""
    return (f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5,
                        help="plain/live pairs, run alternately (default 5)")
    args = parser.parse_args()
    runs = {"plain": [], "live": []}
    made = []                      # CPU seconds the events took during training
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.pairs):
            for name in runs:
                seconds, cpu, stream = run(name == "live", folder)
                runs[name].append((seconds, cpu))
                print(f"{name:5}: training {seconds:.2f} s, process CPU {cpu:.2f} s", end="")
                if stream["events"]:
                    made.append(stream["cpu"])
                    print(f"; {stream['events']} events ({stream['bytes'] / 1e6:.2f} MB) "
                          f"made in {stream['cpu']:.3f} s of CPU", end="")
                print(flush=True)
    print(f"{args.pairs} pairs; median (min-max) per run:")
    for k, what in ((0, "training time"), (1, "process CPU time")):
        plain = [r[k] for r in runs["plain"]]
        live = [r[k] for r in runs["live"]]
        ratio = statistics.median(live) / statistics.median(plain) - 1
        print(f"  {what:16}: plain {summary(plain)}, live {summary(live)}: "
              f"{ratio:+.1%} with the live page")
    print(f"  events made during training: {summary(made)} of the training thread's CPU")


if __name__ == "__main__":
    main()
