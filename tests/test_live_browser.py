"""The live page in a real browser (headless Chromium driven by selenium).

The training runs in a thread of the test, each step paced by a short pause,
so the page can be watched while it runs: the loss curve gains points, the
network picture changes between epochs, and the console stays free of
errors. The report file opens from file:// with no server.
"""

import math
import threading
import time

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from browser import start_chromium
from tinygrad_edu import MLP, load_digits
from tinygrad_edu.fast.engines import NUMPY
from tinygrad_edu.learn.training import train
from tinygrad_edu.web.live import LiveServer, TrainingWatcher

EPOCHS = 5
PAUSE = 0.08               # seconds after each step: 6 steps an epoch, ~0.5 s an epoch
DEADLINE = 30


@pytest.fixture(scope="module")
def browser():
    driver = start_chromium()
    driver.set_page_load_timeout(DEADLINE)
    yield driver
    driver.quit()


def console_errors(driver):
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE"]


@pytest.fixture
def paced_training(tmp_path):
    """A live server and a training to start when the page is open."""
    model = MLP(64, [6, 3], seed=0, classes=[0, 1, 2])
    train_data = load_digits("train", classes=[0, 1, 2], per_class=8)
    test_data = load_digits("test", classes=[0, 1, 2])
    report = tmp_path / "report.html"
    # budget=1: the pictures' numbers with every epoch, however short it is
    watcher = TrainingWatcher(model, train_data, test_data, epochs=EPOCHS,
                              batch_size=4, report=report, budget=1.0)
    server = LiveServer(watcher.log, "127.0.0.1", 0).start()

    pace = {"pause": PAUSE}

    def on_step(step):
        watcher.on_step(step)
        time.sleep(pace["pause"])

    def run():
        watcher.start()
        result = train(model, train_data, test_data, epochs=EPOCHS, batch_size=4,
                       engine=NUMPY, log=None, on_step=on_step,
                       on_epoch=watcher.on_epoch)
        watcher.finish(result.metrics())

    thread = threading.Thread(target=run, daemon=True)
    yield server.url, thread, report, pace
    thread.join(DEADLINE)
    server.stop()


def steps_drawn(driver):
    """How many step points the loss curve shows."""
    return driver.execute_script(
        "const p = document.querySelector('#loss-chart path.series');"
        "return p ? p.getAttribute('d').split(/[ML]/).length - 1 : 0;")


def network_colours(driver):
    """The epoch of the weights the network picture shows, and its pixels."""
    return driver.execute_script(
        "const canvas = document.getElementById('network');"
        "return [canvas.dataset.epoch || null, canvas.toDataURL()];")


def test_the_page_follows_the_training(browser, paced_training):
    url, training, _, _ = paced_training
    browser.get(url)
    wait = WebDriverWait(browser, DEADLINE, poll_frequency=0.05)
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    training.start()
    first = wait.until(lambda d: steps_drawn(d) or None)
    wait.until(lambda d: steps_drawn(d) > first)             # the curve grows ...
    assert training.is_alive()                              # ... while training runs
    epoch, colours = wait.until(lambda d: network_colours(d)[0] not in (None, "0") and network_colours(d))
    later_epoch, later_colours = wait.until(
        lambda d: network_colours(d)[0] not in (None, epoch) and network_colours(d))
    assert int(later_epoch) > int(epoch) and later_colours != colours
    wait.until(lambda d: "finished" in d.find_element("id", "status").text)
    assert browser.find_elements("css selector", "#batch figure")
    assert browser.find_elements("css selector", "#worst figure")
    assert len(browser.find_elements("css selector", "#confusion td")) == 9
    pick = browser.find_elements("css selector", "#picks figure")[1]
    pick.click()
    wait.until(lambda d: "picked" in pick.get_attribute("class"))
    assert "Step 1" in browser.find_element("id", "inside").text
    assert step_pictures(browser) == step_pictures_expected(browser)
    worst = browser.find_elements("css selector", "#worst figure")[-1]
    worst.click()                              # any worst digit can be picked too
    wait.until(lambda d: "picked" in worst.get_attribute("class"))
    inside = browser.find_element("id", "inside")
    assert inside.get_attribute("data-index") == worst.get_attribute("data-index")
    assert "Step 1" in inside.text and step_pictures(browser) == step_pictures_expected(browser)
    assert console_errors(browser) == []


def step_pictures(driver):
    """Per step diagram: its arrows and its weight-change lines."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#inside svg.step-diagram'), s =>"
        " [s.querySelectorAll('path.arrow').length, s.querySelectorAll('line.weight-change').length]);")


def step_pictures_expected(driver):
    """The 6-3 network of the test: the 3 outputs' arrows, a line for each
    weight into the right output that changes (from a hidden neuron that is
    on: the numbers the page was sent), then the 6 arrows of the hidden layer."""
    changes = driver.execute_script("return detailsOf(live.picked.index).detail.weight_changes")
    assert len(changes) == 6
    return [[3, 0], [0, sum(1 for c in changes if c)], [6, 0]]


def test_the_report_opens_from_disk_with_the_final_epoch(browser, paced_training):
    _, training, report, pace = paced_training
    pace["pause"] = 0                     # no one watches: train at full speed
    training.start()
    training.join(DEADLINE)
    browser.get(report.as_uri())
    status = browser.find_element("id", "status").text
    assert f"epoch {EPOCHS}/{EPOCHS}" in status and "finished" in status
    assert network_colours(browser)[0] == str(EPOCHS)
    assert "the finished training" in browser.find_element("id", "connection").text
    # The loss axis is logarithmic (a tick's height goes with its log), with
    # at least two ticks, and no step's loss (the first is the highest) is
    # above the chart.
    ticks = browser.execute_script(
        "return [...document.querySelectorAll('#loss-chart text[x=\"40\"]')]"
        ".map(t => [Number(t.textContent), Number(t.getAttribute('y'))]);")
    assert len(ticks) >= 2 and all(t > 0 for t, _ in ticks)
    (t0, y0), (t1, y1) = ticks[0], ticks[-1]
    for t, y in ticks[1:-1]:
        expected = y0 + (y1 - y0) * math.log(t / t0) / math.log(t1 / t0)
        assert abs(y - expected) < 1.0
    top = browser.execute_script(
        "const p = document.querySelector('#loss-chart path.series');"
        "return Math.min(...p.getAttribute('d').split(/[ML]/).slice(1)"
        ".map(xy => Number(xy.split(' ')[1])));")
    assert top >= 8                       # the chart's top margin: nothing cut off
    assert console_errors(browser) == []


def test_a_stopped_training_says_so_on_its_report(browser, tmp_path):
    model = MLP(64, [6, 3], seed=0, classes=[0, 1, 2])
    train_data = load_digits("train", classes=[0, 1, 2], per_class=8)
    watcher = TrainingWatcher(model, train_data, load_digits("test", classes=[0, 1, 2]),
                              epochs=EPOCHS, batch_size=4, report=tmp_path / "r.html")
    watcher.start()
    train(model, train_data, epochs=1, batch_size=4, engine=NUMPY, log=None,
          on_step=watcher.on_step, on_epoch=watcher.on_epoch)
    watcher.stop("training diverged at epoch 2: the learning rate is probably too big")
    browser.get((tmp_path / "r.html").as_uri())
    status = browser.find_element("id", "status")
    WebDriverWait(browser, DEADLINE).until(lambda d: "stopped" in status.text)
    assert "learning rate is probably too big" in status.text
    assert "stopped" in status.get_attribute("class")
    assert "stopped before the end" in browser.find_element("id", "connection").text
    assert "just after its update" in browser.find_element("id", "batch-note").text
    assert console_errors(browser) == []
