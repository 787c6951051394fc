"""The live training page: `tinygrad-edu train --live` in a subprocess, its
routes and its event stream, the report file and the watcher's throttle.

Every server binds 127.0.0.1 on a free port, and every wait has a deadline.
"""

import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from tinygrad_edu.learn.training import StepReport
from tinygrad_edu.web.live import (MAX_STEP_EVENTS_PER_SECOND, EventLog,
                                   TrainingWatcher, page_html)
from tinygrad_edu.web.page import unpack_data

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 60             # seconds any one wait may take before the test fails
TINY = ["--classes", "0", "1", "2", "--per-class", "8", "--hidden", "6",
        "--epochs", "3", "--batch-size", "4", "--quiet"]


def default_sigint():
    """Let the child hear Ctrl-C even when the tests run in the background
    (a shell starts background jobs with SIGINT ignored; children inherit it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Training:
    """`tinygrad-edu train ARGS` in a subprocess, its stdout read line by line."""

    def __init__(self, args):
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tinygrad_edu", "train", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            preexec_fn=default_sigint)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, prefix):
        """The first (next) stdout line starting with ``prefix``."""
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=max(end - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if line is None:
                break
            if line.startswith(prefix):
                return line
        self.stop()
        pytest.fail(f"no line starting with {prefix!r}; stderr: {self.process.stderr.read()}")

    def interrupt(self):
        """Ctrl-C; return the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=DEADLINE)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=DEADLINE)


def read_events(url, until_end=True, until=("end",)):
    """The events of ``url``/events, in order, up to the ``end`` event (or
    the first event of a type in ``until``)."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=DEADLINE)
    connection.request("GET", "/events")
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("text/event-stream")
    events = []
    while True:
        line = response.fp.readline().decode("utf-8")
        assert line, "the stream ended before the end event"
        if line.startswith("data: "):
            events.append(json.loads(line[len("data: "):]))
            if events[-1]["type"] in until or not until_end:
                break
    connection.close()
    return events


def status_of(url, path, method="GET"):
    """The HTTP status of ``method path`` (the path sent exactly as given)."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=DEADLINE)
    connection.request(method, path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A tiny --live training, finished and still serving; stopped with Ctrl-C at the end."""
    folder = tmp_path_factory.mktemp("live")
    paths = SimpleNamespace(model=folder / "model.json", metrics=folder / "metrics.json",
                            report=folder / "report.html")
    run = Training([*TINY, "--live", "--port", "0", "--out", str(paths.model),
                    "--metrics", str(paths.metrics), "--report", str(paths.report)])
    line = run.wait_for("live: ")
    url = line.split(" ", 1)[1]
    events = read_events(url)                 # connects while training runs (or just after)
    run.wait_for("the page stays at")
    yield SimpleNamespace(run=run, url=url, events=events, paths=paths)
    run.stop()


def test_the_url_is_printed_on_its_own_line_on_loopback(finished):
    assert finished.url.startswith("http://127.0.0.1:")
    assert finished.url.endswith("/")


def test_the_page_is_served(finished):
    with urllib.request.urlopen(finished.url, timeout=DEADLINE) as response:
        page = response.read().decode("utf-8")
        assert response.headers["Content-Type"].startswith("text/html")
    assert "Watch the network learn" in page and 'new EventSource("events")' in page
    assert "https://" not in page.replace("https://www.w3.org", "")     # no CDN


def test_the_events_carry_the_numbers_of_the_metrics_file(finished):
    metrics = json.loads(finished.paths.metrics.read_text())
    events = finished.events
    assert [e["type"] for e in events][0] == "start"
    assert events[-1]["type"] == "end"
    steps = [e for e in events if e["type"] == "step"]
    epochs = [e for e in events if e["type"] == "epoch"]
    assert len(metrics["step_loss"]) == 3 * metrics["steps_per_epoch"]
    assert steps and all(e["loss"] == metrics["step_loss"][e["t"] - 1] for e in steps)
    assert len(epochs) == 3
    for event, entry in zip(epochs, metrics["history"]):
        assert {key: event[key] for key in entry} == entry
    end = events[-1]
    for key in ("test_accuracy", "train_accuracy", "test_loss", "train_loss", "epochs"):
        assert end[key] == metrics[key]


def test_the_epoch_events_agree_with_themselves(finished):
    """The confusion matrix counts the test accuracy the loop measured;
    the weights have the network's shape."""
    pictures = [e for e in finished.events if "confusion" in e]
    assert pictures[-1] is finished.events[-1]          # the end event has them all
    for event in pictures:
        confusion = event["confusion"]
        right = sum(confusion[i][i] for i in range(len(confusion)))
        assert right / sum(map(sum, confusion)) == pytest.approx(event["test_accuracy"])
        assert [len(layer) for layer in event["weights"]] == [6, 3]
        assert all(len(row) == 64 + 1 for row in event["weights"][0])
    last = finished.events[-1]
    assert len(last["details"]) == 3 and len(last["details"][0]["loss_saliency"]) == 64
    steps = finished.events[-1]["steps"]         # the texts, one list per pick
    assert len(steps) == 3 and all(title and text for title, text in steps[0])


def test_a_late_client_gets_the_history(finished):
    again = read_events(finished.url)
    assert again == finished.events


def test_a_browser_that_reconnects_gets_only_what_it_missed(finished):
    """EventSource sends the last id it saw (Last-Event-ID) when it reconnects."""
    host, port = finished.url.split("//")[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=DEADLINE)
    connection.request("GET", "/events", headers={"Last-Event-ID": "2"})
    response = connection.getresponse()
    lines = []
    while len(lines) < 2:
        line = response.fp.readline().decode("utf-8")
        if line.startswith(("id: ", "data: ")):
            lines.append(line.strip())
    connection.close()
    assert lines[0] == "id: 3"
    assert json.loads(lines[1][len("data: "):]) == finished.events[3]


def test_only_the_page_and_the_stream_are_served(finished):
    assert status_of(finished.url, "/../../etc/passwd") == 404
    assert status_of(finished.url, "/live.js") == 404
    assert status_of(finished.url, "/nothing/here") == 404
    assert status_of(finished.url, "/", "POST") == 405
    assert status_of(finished.url, "/events", "POST") == 405


def test_the_report_holds_the_final_epoch(finished):
    page = finished.paths.report.read_text()
    assert unpack_data(page)["events"] == finished.events


def test_ctrl_c_exits_0_with_the_model_saved(finished):
    # Last in the module on purpose: it stops the shared training.
    assert finished.run.interrupt() == 0
    assert json.loads(finished.paths.model.read_text())


def test_a_diverging_run_says_so_on_the_page_and_in_the_report(tmp_path):
    report = tmp_path / "report.html"
    run = Training([*TINY, "--lr", "1e6", "--live", "--port", "0",
                    "--out", str(tmp_path / "model.json"), "--report", str(report)])
    try:
        url = run.wait_for("live: ").split(" ", 1)[1]
        run.wait_for("the page stays at")           # it keeps serving the page
        events = read_events(url, until=("stopped",))
        assert events[-1]["type"] == "stopped"
        assert "diverged" in events[-1]["reason"] and "--lr" in events[-1]["reason"]
        assert not any(e["type"] == "end" for e in events)
        assert unpack_data(report.read_text())["events"] == events
        assert run.interrupt() == 1                 # the training failed
        assert "training diverged" in run.process.stderr.read()
        assert not (tmp_path / "model.json").exists()
    finally:
        run.stop()


def test_a_port_in_use_is_a_clear_usage_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "tinygrad_edu", "train", *TINY, "--live",
             "--port", str(port), "--out", str(tmp_path / "model.json")],
            capture_output=True, text=True, timeout=DEADLINE,
            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr
    assert "--port 0" in done.stderr and "Traceback" not in done.stderr
    assert "epoch 1" not in done.stdout and not (tmp_path / "model.json").exists()


# ----------------------------------------------------------------------
# The watcher alone (no server)
# ----------------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def tiny_watcher(clock, epochs=2, steps=50):
    from tinygrad_edu import MLP, load_digits
    model = MLP(64, [4, 2], seed=0, classes=[0, 1])
    train = load_digits("train", classes=[0, 1], per_class=steps // 2)
    test = load_digits("test", classes=[0, 1])
    return TrainingWatcher(model, train, test, epochs=epochs, batch_size=1, clock=clock)


def test_step_events_are_throttled_whatever_the_step_rate():
    clock = FakeClock()
    watcher = tiny_watcher(clock)
    image = [0.0] * 64
    for epoch in (1, 2):
        for step in range(1, 51):            # 50 steps in 0.5 s: 100 steps a second
            clock.now += 0.01
            watcher.on_step(StepReport(epoch, step, 50, 0.5, 0.01, [image], [0]))
    steps = [e for e in watcher.log.events() if e["type"] == "step"]
    assert len(watcher.step_losses) == 100
    # 1 s of training: at most 20 events a second, plus the last step of each epoch.
    assert len(steps) <= MAX_STEP_EVENTS_PER_SECOND * 1 + 2
    assert [e["t"] for e in steps if e["step"] == 50] == [50, 100]


def test_the_event_log_hands_out_the_history_then_waits():
    log = EventLog()
    log.publish({"type": "start"})
    assert log.wait_from(0, timeout=0) == ['{"type":"start"}']
    assert log.wait_from(1, timeout=0.01) == []
    log.close()
    assert log.wait_from(1) == []              # closed: no waiting


def test_the_report_page_embeds_its_data_and_the_live_page_none():
    events = [{"type": "start", "note": "</script><script>alert(1)"}]
    page = page_html(events)
    assert "alert(1)" not in page and unpack_data(page) == {"events": events}
    assert 'id="page-data"' not in page_html()


def test_the_saliency_is_the_gradient_by_central_differences():
    """Checked against the loss itself, nudging one pixel at a time (no backprop)."""
    from tinygrad_edu.engine import no_grad
    from tinygrad_edu.learn.losses import cross_entropy
    watcher = tiny_watcher(FakeClock())
    model, index = watcher.model, watcher.picks[1]
    pixels, target = watcher.test_images[index], watcher.test_targets[index]

    def loss(image):
        with no_grad():
            return cross_entropy(model(image), target).data

    detail = watcher.details(index)
    h = 1e-5
    for i in range(64):
        up, down = list(pixels), list(pixels)
        up[i] += h
        down[i] -= h
        slope = (loss(up) - loss(down)) / (2 * h)
        assert detail["loss_saliency"][i] == pytest.approx(slope, rel=1e-3, abs=1e-6)
    assert detail["loss"] == pytest.approx(loss(pixels), rel=1e-3)


def test_every_worst_digit_comes_with_its_details():
    """The learner can pick any worst digit: the end event carries each one's
    details, the same as ``details(index)`` computes, and its explanations;
    an epoch event within the budget carries them too (but the last)."""
    from tinygrad_edu import load_digits
    from tinygrad_edu.fast.engines import NUMPY
    from tinygrad_edu.learn.training import train
    watcher = tiny_watcher(time.monotonic, epochs=2)
    watcher.budget = float("inf")                # every epoch event within the budget
    watcher.start()
    result = train(watcher.model, load_digits("train", classes=[0, 1], per_class=4),
                   (watcher.test_images, watcher.test_labels), epochs=2, batch_size=4,
                   engine=NUMPY, log=None, on_step=watcher.on_step, on_epoch=watcher.on_epoch)
    watcher.finish(result.metrics())
    events = watcher.log.events()
    start, end = events[0], events[-1]
    first, last = [e for e in events if e["type"] == "epoch"]
    assert "worst_details" not in last        # the end event, just after, has them all
    for event in (first, end):
        worst = [d["index"] for d in event["worst"]]
        assert worst and [d["index"] for d in event["worst_details"]] == worst
    assert end["worst_details"] == [watcher.details(i) for i in worst]
    assert len(end["worst_steps"]) == len(worst)
    assert all(title and text for steps in end["worst_steps"] for title, text in steps)
    assert start["change_colours"][0] == "#7b3294"      # the output's purple first
    assert start["max_shown"] == 16               # neurons a column, as pictures/network.py


def test_the_budget_counts_what_each_piece_cost_last_time():
    """Epoch events carry the weights and test results at their minimum
    rates, then the picks' details one digit at a time, in turn, only while
    the work stays within the budget (counting what a piece cost last time)."""
    clock, cpu = FakeClock(), FakeClock()
    watcher = tiny_watcher(clock)
    watcher.cpu_clock, watcher.budget = cpu, 0.2
    costs = {"weights": 0.001, "tests": 0.01, "details": 0.05}

    def costing(kind, result):
        def piece(*args):
            cpu.now += costs[kind]
            return result(*args)
        return piece

    watcher._weights = costing("weights", lambda: [])
    watcher._test_results = costing("tests", lambda: {"confusion": [[1]], "worst": []})
    watcher.details = costing("details", lambda index: {"index": index})
    watcher.start()
    for epoch in range(1, 21):
        clock.now += 0.1
        cpu.now += 0.1                         # 0.1 s of CPU training an epoch
        watcher.on_epoch({"epoch": epoch})
    epochs = [e for e in watcher.log.events() if e["type"] == "epoch"]
    assert "weights" in epochs[0] and "confusion" in epochs[0]     # no empty panel
    assert [d["index"] for d in epochs[0]["details"]] == [watcher.picks[0]]
    sent = [d["index"] for e in epochs for d in e.get("details", [])]
    assert 3 <= len(sent) < 20 * len(watcher.picks)            # some, not all
    assert sent == [watcher.picks[k % len(watcher.picks)] for k in range(len(sent))]
    # Within the budget, but for the first details (its cost not known yet).
    assert watcher.cpu_seconds <= watcher.budget * cpu.now + costs["details"]


def test_the_report_is_rewritten_as_often_as_its_share_allows(tmp_path):
    """After the first epoch, then as often as rewriting it (what it cost
    last time) stays within REPORT_SHARE of the training's CPU time."""
    from tinygrad_edu.web.live import REPORT_SHARE
    clock, cpu = FakeClock(), FakeClock()
    watcher = tiny_watcher(clock, epochs=40)
    watcher.cpu_clock, watcher.report, watcher.picks = cpu, tmp_path / "r.html", []
    written = []

    def write():
        cpu.now += 0.05                        # each rewrite: 0.05 s of CPU
        written.append(epoch)

    watcher._write_report = write
    watcher._test_results = lambda: {}
    watcher.start()
    for epoch in range(1, 41):
        cpu.now += 0.1                         # 0.1 s of CPU training an epoch
        watcher.on_epoch({"epoch": epoch})
    assert written[0] == 1 and 2 <= len(written) < 40
    assert 0.05 * len(written) <= REPORT_SHARE * cpu.now + 0.05


def test_a_stopped_training_is_an_event_and_rewrites_the_report(tmp_path):
    clock = FakeClock()
    watcher = tiny_watcher(clock)
    watcher.report = tmp_path / "report.html"
    watcher.start()
    watcher.on_step(StepReport(1, 1, 50, 0.5, 0.01, [[0.0] * 64], [0]))
    watcher.stop("the training was interrupted")
    events = watcher.log.events()
    assert events[-1] == {"type": "stopped", "reason": "the training was interrupted", "t": 1}
    assert unpack_data(watcher.report.read_text())["events"] == events


def test_long_epochs_bring_the_weights_within_the_epoch():
    """With an epoch of several CPU seconds (the tape or values engine), the
    weights come with step events at their rate; with short epochs, only
    the epochs' ends bring them."""
    wall, cpu = FakeClock(), FakeClock()

    def steps_with_weights(seconds_per_step):
        from tinygrad_edu import MLP, load_digits
        model = MLP(64, [4, 2], seed=0, classes=[0, 1])
        data = load_digits("train", classes=[0, 1], per_class=25)
        watcher = TrainingWatcher(model, data, load_digits("test", classes=[0, 1]),
                                  epochs=1, batch_size=1, clock=wall, cpu_clock=cpu)
        watcher.start()
        for step in range(1, 51):
            wall.now += seconds_per_step
            cpu.now += seconds_per_step
            watcher.on_step(StepReport(1, step, 50, 0.5, 0.01, [[0.0] * 64], [0]))
        return sum(1 for e in watcher.log.events() if e["type"] == "step" and "weights" in e)

    assert steps_with_weights(0.001) == 0           # a 0.05 s epoch
    assert 10 <= steps_with_weights(0.1) <= 16      # a 5 s epoch: about 3 a second


def test_the_end_brings_the_last_batch_guessed_by_the_trained_network():
    watcher = tiny_watcher(FakeClock(), epochs=1)
    watcher.start()
    images = [watcher.test_images[i] for i in (0, 1)]
    watcher.on_step(StepReport(1, 1, 50, 0.5, 0.01, images, [0, 1]))
    watcher.finish({"epochs": 1})
    end = watcher.log.events()[-1]
    assert end["type"] == "end" and end["batch"]["labels"] == [0, 1]
    assert len(end["batch"]["guesses"]) == 2
