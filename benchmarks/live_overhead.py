"""How much the live page slows training: the full default `tinygrad-edu train`
with and without `--live` (a client reading the event stream all along).

    python benchmarks/live_overhead.py             # five pairs, about a minute
    python benchmarks/live_overhead.py --pairs 10  # alternate plain / live ten times
    python benchmarks/live_overhead.py --browser   # the page open in headless Chromium

Each run is its own process, and the two kinds alternate (plain, live, plain,
live, ...), so a machine that gets busier or quieter meanwhile slows both
alike. Two times are compared: the training time the command reports
(``seconds`` in its metrics file: the loop, the measurements after each epoch
and, with ``--live``, every event made during training), and the CPU time of
the whole process (start to exit: with ``--live`` also the server thread and
the end event's details and explanations, made after training). For each,
the median and the range (min-max) over the runs of each kind, the ratio of
the medians, and the median of the pairs' ratios (each live run against the
plain run just before it); one slow run moves neither ratio. A third figure, the
process's CPU time up to the line of the last epoch (read from /proc when it
is printed), leaves out the work after training and is the steadiest measure
of what the page costs while the network trains.

The live runs are watched by a client reading the event stream (the server's
whole work), or with ``--browser`` by the page itself in a headless Chromium
on the same machine (its drawing competes for the CPU too; the browser is
open, idle, during the plain runs as well). The browser needs Selenium,
Debian's chromium and chromium-driver.
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAST_EPOCH = "epoch 20/20"        # the default training's last epoch line


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


def cpu_so_far(pid):
    """The CPU seconds (user + system) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_browser():
    """A headless Chromium driven by Selenium (as the browser tests start it)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    os.environ.setdefault("SE_OFFLINE", "true")       # never let Selenium download
    options = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1280,800"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def watch_in_browser(browser, url, counts):
    """Open the page; when training has ended, note what the end event said."""
    browser.get(url)
    while not browser.execute_script("return Boolean(live.end)"):
        time.sleep(0.2)
    counts.update(browser.execute_script(
        "return {events: live.steps.length + live.epochs.length + 2, bytes: 0,"
        " cpu: live.end.cpu_seconds}"))
    browser.get("about:blank")


def run(live, folder, browser=None):
    """One full default training: (training seconds, CPU seconds, CPU seconds up
    to the last epoch's line, what the stream said: events, bytes, and the CPU
    seconds spent making them during training). ``browser``: watch the live
    page in it instead of reading the stream."""
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
    trained_cpu = None
    for line in process.stdout:
        if line.startswith(LAST_EPOCH):
            trained_cpu = cpu_so_far(process.pid)
        if line.startswith("live: "):
            url = line.split(" ", 1)[1].strip()
            reader = (threading.Thread(target=read_stream, args=(url, counts))
                      if browser is None else
                      threading.Thread(target=watch_in_browser, args=(browser, url, counts)))
            reader.start()
        if line.startswith("the page stays at"):
            if reader:
                reader.join()             # the browser has the end event
            process.send_signal(signal.SIGINT)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if reader:
        reader.join()
    cpu = usage.ru_utime + usage.ru_stime
    return json.loads(metrics.read_text())["seconds"], cpu, trained_cpu, counts


def summary(values):
    """'median s (min-max)' of a list of seconds."""
    return (f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5,
                        help="plain/live pairs, run alternately (default 5)")
    parser.add_argument("--browser", action="store_true",
                        help="watch the live runs in headless Chromium")
    args = parser.parse_args()
    browser = start_browser() if args.browser else None
    runs = {"plain": [], "live": []}
    made = []                      # CPU seconds the events took during training
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.pairs):
            for name in runs:
                seconds, cpu, trained_cpu, stream = run(name == "live", folder, browser)
                runs[name].append((seconds, cpu, trained_cpu))
                print(f"{name:5}: training {seconds:.2f} s, process CPU {cpu:.2f} s "
                      f"({trained_cpu:.2f} s to the last epoch)", end="")
                if stream["events"]:
                    made.append(stream["cpu"])
                    size = f" ({stream['bytes'] / 1e6:.2f} MB)" if stream["bytes"] else ""
                    print(f"; {stream['events']} events{size} "
                          f"made in {stream['cpu']:.3f} s of CPU", end="")
                print(flush=True)
    if browser:
        browser.quit()
    print(f"{args.pairs} pairs; median (min-max) per run:")
    for k, what in ((0, "training time"), (1, "process CPU time"),
                    (2, "CPU to last epoch")):
        plain = [r[k] for r in runs["plain"]]
        live = [r[k] for r in runs["live"]]
        ratio = statistics.median(live) / statistics.median(plain) - 1
        paired = statistics.median(b / a for a, b in zip(plain, live)) - 1
        print(f"  {what:17}: plain {summary(plain)}, live {summary(live)}: "
              f"{ratio:+.1%} with the live page (median of the pairs' ratios {paired:+.1%})")
    print(f"  events made during training: {summary(made)} of the training thread's CPU")


if __name__ == "__main__":
    main()
