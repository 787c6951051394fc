"""How big and how quick is the backprop explorer? ``python benchmarks/explorer.py``.

The page of two graphs is written with ``tinygrad-edu step ... --html`` (the
time counts everything: building the graph, backprop step by step, the
Graphviz layout, writing the file):

* the "three" example: an untrained 64-3-3-10 network shown a "3", with
  its cross-entropy loss (374 Values, so 374 backward steps);
* a trained ``MLP(64, [64, 32, 10])`` digit loss (trained here for one epoch
  with the fast engine, or ``--model FILE``), folded by neuron.

Then, if Selenium, Chromium and chromium-driver are installed, each page is
opened in headless Chromium and one step's update of the picture is timed
with ``performance.now()`` (the script's work and the layout it causes).
"""

import argparse
import contextlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))        # run from a checkout too

from tinygrad_edu.cli import main as cli_main    # noqa: E402


def write_page(argv, path):
    """Run ``tinygrad-edu step ARGV --html PATH``; return (seconds, bytes)."""
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli_main(["step", *argv, "--html", path])
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"tinygrad-edu step {' '.join(argv)} failed")
    return seconds, os.path.getsize(path)


def trained_model(folder):
    path = os.path.join(folder, "model.json")
    print("training MLP(64, [64, 32, 10]) for one epoch (fast engine)...")
    with contextlib.redirect_stdout(io.StringIO()):
        cli_main(["train", "--epochs", "1", "--quiet", "--out", path])
    return path


def step_times(path, moves=40):
    """Milliseconds for one step's update in Chromium (None without a browser)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        return None
    os.environ.setdefault("SE_OFFLINE", "true")
    options = Options()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,800"):
        options.add_argument(flag)
    options.binary_location = browser
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    try:
        start = time.perf_counter()
        chrome.get("file://" + os.path.abspath(path))
        while not chrome.execute_script("return document.body.getAttribute('data-ready')"):
            time.sleep(0.02)
        opened = time.perf_counter() - start
        times = chrome.execute_script("""
            var times = [];
            explorer.goto(explorer.F);
            for (var k = 0; k < arguments[0]; k++) {
              var t = performance.now();
              explorer.next();
              document.getElementById('graph').getBoundingClientRect();
              times.push(performance.now() - t);
            }
            var t = performance.now(); explorer.goto(explorer.last);
            document.getElementById('graph').getBoundingClientRect();
            var end = performance.now() - t;
            t = performance.now(); explorer.goto(explorer.F + 1);
            document.getElementById('graph').getBoundingClientRect();
            return [times, end, performance.now() - t];""", moves)
    finally:
        chrome.quit()
    steps, to_end, back = times
    return opened, statistics.median(steps), max(steps), to_end, back


def report(label, seconds, size, targets, timing):
    size_mb = size / 1e6
    print(f"\n{label}\n  page {size_mb:.2f} MB (target <= {targets[0]} MB), written in "
          f"{seconds:.2f} s (target <= {targets[1]} s)")
    if timing is None:
        print("  (no Selenium/Chromium here: the browser timing is left out)")
        return
    opened, median, worst, to_end, back = timing
    print(f"  in Chromium: ready {opened:.2f} s after opening; one step updates the "
          f"picture in {median:.1f} ms (median; slowest {worst:.1f} ms; target < 50 ms); "
          f"jump to the last step {to_end:.1f} ms, back to the first backward step "
          f"{back:.1f} ms")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a trained MLP(64, [64, 32, 10]) model file "
                                        "(default: train one for one epoch)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        three = os.path.join(folder, "three.html")
        seconds, size = write_page(["--example", "three"], three)
        report('the "three" example (64-3-3-10, cross-entropy, 374 backward steps), '
               "folded by neuron", seconds, size, (1.5, 2), step_times(three))
        every = os.path.join(folder, "three_all.html")
        seconds, size = write_page(["--example", "three", "--fold", "none"], every)
        report('the "three" example, every Value drawn (--fold none)', seconds, size,
               (1.5, 2), step_times(every))
        model = args.model or trained_model(folder)
        digit = os.path.join(folder, "digit.html")
        seconds, size = write_page(["--model", model, "--digit", "5"], digit)
        report("a trained MLP(64, [64, 32, 10]), the loss of a test 5 "
               "(6,967 backward steps), folded by neuron", seconds, size, (3, 5),
               step_times(digit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
