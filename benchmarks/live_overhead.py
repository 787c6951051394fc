"""How much the live page slows training: the full default `tinygrad-edu train`
with and without `--live` (a client reading the event stream all along).

    python benchmarks/live_overhead.py            # one pair, about a minute
    python benchmarks/live_overhead.py --pairs 2  # alternate plain / live twice

Each run is its own process. Two times are compared: the training time the
command reports (``seconds`` in its metrics file: the loop, the measurements
after each epoch and, with ``--live``, every event), and the CPU time of the
whole process (start to exit, the server thread and the explanations drawn
after training included), which is steadier on a busy machine.
"""

import argparse
import http.client
import json
import os
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1, help="plain/live pairs (default 1)")
    args = parser.parse_args()
    runs = {"plain": [], "live": []}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.pairs):
            for name in runs:
                seconds, cpu, stream = run(name == "live", folder)
                runs[name].append((seconds, cpu))
                print(f"{name:5}: training {seconds:.1f} s, process CPU {cpu:.1f} s", end="")
                if stream["events"]:
                    print(f"; {stream['events']} events ({stream['bytes'] / 1e6:.1f} MB) "
                          f"made in {stream['cpu']:.2f} s of CPU", end="")
                print(flush=True)
    for k, what in ((0, "training time"), (1, "process CPU time")):
        plain = sum(r[k] for r in runs["plain"])
        live = sum(r[k] for r in runs["live"])
        print(f"{what}: {plain:.1f} s plain, {live:.1f} s live: "
              f"{live / plain - 1:+.1%} with the live page")


if __name__ == "__main__":
    main()
