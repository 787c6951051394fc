"""The explorer page in a real browser: Debian's Chromium, driven by Selenium.

One browser for the module. Each test opens a page from a file and uses it
as a learner would (keys, clicks, typing); the numbers it shows are checked
against ``backward_steps`` (4 significant digits, as the page prints them).
The page must log no errors and request nothing but its own file. The
time one step takes to update the picture is printed (run with ``-s``),
never asserted.
"""

import json
import os
import time

import pytest

from browser import start_chromium
from tinygrad_edu import MLP, cross_entropy
from tinygrad_edu.engine import topological_order
from tinygrad_edu.pictures.palette import fmt, signed_colour
from tinygrad_edu.watch.examples import article_neuron_loss
from tinygrad_edu.watch.tracing import backward_steps
from tinygrad_edu.web.explorer import explore

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys


@pytest.fixture(scope="module")
def browser():
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def neuron_page(tmp_path_factory):
    loss, _ = article_neuron_loss()
    path = explore(loss).save(tmp_path_factory.mktemp("pages") / "neuron.html")
    return path, loss


def open_page(browser, path):
    browser.get_log("browser"), browser.get_log("performance")    # start afresh
    browser.get(path.as_uri())
    for _ in range(100):
        if browser.execute_script("return document.body.getAttribute('data-ready')"):
            return browser.find_element(By.TAG_NAME, "body")
        time.sleep(0.05)
    raise AssertionError(f"the page never got ready; log: {browser.get_log('browser')}")


def text_of(browser, element_id):
    return browser.find_element(By.ID, element_id).text


def grads_shown(browser):
    """{node id: the text after "grad " in its box}, for every box."""
    return browser.execute_script("""
        var shown = {};
        document.querySelectorAll('#graph g.node').forEach(function (g) {
          g.querySelectorAll('text').forEach(function (t) {
            if (t.textContent.indexOf('grad ') === 0) { shown[g.id] = t.textContent.slice(5); }
          });
        });
        return shown;""")


def wait_for_pause(browser):
    for _ in range(100):
        if text_of(browser, "play") == "play":
            return
        time.sleep(0.05)
    raise AssertionError("play never stopped")


def check_clean_log(browser, path):
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    urls = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.add(message["params"]["request"]["url"])
    assert urls <= {path.as_uri()}, urls


def test_ten_arrow_presses_show_backward_steps_numbers(browser, neuron_page):
    path, loss = neuron_page
    body = open_page(browser, path)
    assert text_of(browser, "where") == "start"
    goto = browser.find_element(By.ID, "goto")
    goto.send_keys("0", Keys.ENTER)                 # the end of the forward pass
    assert text_of(browser, "where") == "forward step 7 of 7"
    for _ in range(10):
        body.send_keys(Keys.ARROW_RIGHT)
    assert text_of(browser, "where") == "backward step 10 of 15"
    loss.zero_grad()
    steps = backward_steps(loss)
    for _ in range(10):
        step = next(steps)
    assert text_of(browser, "sentence") == str(step)
    shown = grads_shown(browser)
    values = topological_order(loss)
    assert {f"n-v{v.id}": fmt(v.grad) for v in values} == shown
    assert "# grad = " + fmt(step.grad) in text_of(browser, "code")
    check_clean_log(browser, path)


def test_forward_pass_makes_values_appear_in_the_order_they_ran(browser, neuron_page):
    from tinygrad_edu.watch.tracing import trace
    path, loss = neuron_page
    body = open_page(browser, path)
    operations = [e for e in trace(loss) if not e.is_input]
    for _ in range(3):
        body.send_keys(Keys.ARROW_RIGHT)
    assert text_of(browser, "where") == "forward step 3 of 7"
    assert text_of(browser, "sentence") == str(operations[2])

    def box(value):
        element = browser.find_element(By.ID, f"n-v{value.id}")
        texts = [t.get_attribute("textContent")
                 for t in element.find_elements(By.TAG_NAME, "text")]
        return texts, element.get_attribute("class")
    texts, classes = box(operations[2].value)
    assert f"data {fmt(operations[2].data)}" in texts and "grad \u2013" in texts
    assert "current" in classes and "pending" not in classes
    texts, classes = box(loss)
    assert "data ?" in texts and "pending" in classes
    body.send_keys(Keys.ARROW_LEFT)
    assert text_of(browser, "sentence") == str(operations[1])
    assert "pending" in box(operations[2].value)[1]
    check_clean_log(browser, path)


def test_click_a_node_runs_to_its_step(browser, neuron_page):
    path, loss = neuron_page
    open_page(browser, path)
    n = next(v for v in topological_order(loss) if v.label == "n")
    number = next(s.number for s in backward_steps(loss) if s.value is n)
    browser.find_element(By.ID, f"n-v{n.id}").click()
    assert text_of(browser, "where") == f"backward step {number} of 15"
    assert text_of(browser, "sentence").startswith(f"step {number} of 15: n = ")
    classes = browser.find_element(By.ID, f"n-v{n.id}").get_attribute("class")
    assert "current" in classes
    check_clean_log(browser, path)


def test_play_pause_and_a_breakpoint(browser, neuron_page):
    path, loss = neuron_page
    body = open_page(browser, path)
    o = next(v for v in topological_order(loss) if v.label == "o")
    ActionChains(browser).key_down(Keys.SHIFT).click(
        browser.find_element(By.ID, f"n-v{o.id}")).key_up(Keys.SHIFT).perform()
    assert "breakpoint" in browser.find_element(By.ID, f"n-v{o.id}").get_attribute("class")
    assert text_of(browser, "where") == "start"        # shift-click does not move
    browser.execute_script("document.getElementById('speed').value = '60'")
    body.send_keys(Keys.SPACE)                          # play: stops where o is made
    assert text_of(browser, "play") == "pause"
    wait_for_pause(browser)
    assert text_of(browser, "where") == ("forward step 5 of 7 \u2014 stopped at "
                                         "the breakpoint o")
    body.send_keys(Keys.SPACE)                          # and where o passes its grad on
    wait_for_pause(browser)
    number = next(s.number for s in backward_steps(loss) if s.value is o)
    assert text_of(browser, "where") == (f"backward step {number} of 15 \u2014 "
                                         f"stopped at the breakpoint o")
    browser.execute_script("document.getElementById('speed').value = '1'")
    body.send_keys(Keys.SPACE)                          # play again, then pause
    assert text_of(browser, "play") == "pause"
    body.send_keys(Keys.SPACE)
    assert text_of(browser, "play") == "play"
    paused = text_of(browser, "where")
    time.sleep(0.2)
    assert text_of(browser, "where") == paused
    # After a click on the button, space still means play / pause, once.
    browser.find_element(By.ID, "play").click()
    assert text_of(browser, "play") == "pause"
    ActionChains(browser).send_keys(Keys.SPACE).perform()
    assert text_of(browser, "play") == "play"
    body.send_keys(Keys.END)
    assert text_of(browser, "where") == "backward step 15 of 15"
    body.send_keys(Keys.HOME)
    assert text_of(browser, "where") == "start"
    check_clean_log(browser, path)


def test_find_a_value_by_name(browser, neuron_page):
    path, loss = neuron_page
    open_page(browser, path)
    w2 = next(v for v in topological_order(loss) if v.label == "w2")
    browser.find_element(By.ID, "find").send_keys("w2", Keys.ENTER)
    assert text_of(browser, "found").startswith("found w2")
    assert "found" in browser.find_element(By.ID, f"n-v{w2.id}").get_attribute("class")
    browser.find_element(By.ID, "find").clear()
    browser.find_element(By.ID, "find").send_keys("nobody", Keys.ENTER)
    assert "No Value is called" in text_of(browser, "found")
    # A part of several names: they are offered, and a click finds one.
    browser.find_element(By.ID, "find").clear()
    browser.find_element(By.ID, "find").send_keys("w", Keys.ENTER)
    assert "Values have \u201cw\u201d in their name" in text_of(browser, "found")
    offered = [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#found button.match")]
    assert {"w1", "w2", "w3"} <= set(offered)
    next(b for b in browser.find_elements(By.CSS_SELECTOR, "#found button.match")
         if b.text == "w2").click()
    assert text_of(browser, "found").startswith("found w2")
    check_clean_log(browser, path)


def test_numbers_and_colours_as_python_makes_them(browser, neuron_page):
    path, _ = neuron_page
    open_page(browser, path)
    numbers = [0.0, -0.0, 1.0, -2.5, 3.14159, -0.000123456, 0.0001, 12345.6, 1e-12,
               6.02e23, 0.5, 99999.5, 9999.5, -1.0625, 1.0635, 0.00012345, 1234.0,
               123.45, -1e300, 5e-324, 0.1 + 0.2]
    shown = browser.execute_script(
        "return arguments[0].map(function (x) { return [TG.fmt(x), TG.fmt(x, 3)]; })",
        numbers)
    assert shown == [[fmt(x), f"{x:.3g}"] for x in numbers]
    colours = browser.execute_script(
        "return arguments[0].map(function (x) { return TG.signedColour(x, 2.0, "
        "{blue: [33, 102, 172], red: [178, 24, 43]}); })", numbers)
    assert colours == [signed_colour(x, 2.0) for x in numbers]


def test_a_folded_box_opens_in_the_panel(browser, tmp_path):
    loss = cross_entropy(MLP(64, [16, 10], seed=0)([0.25] * 64), 3)
    page = explore(loss)
    assert page.fold == "neuron"
    path = page.save(tmp_path / "net.html")
    open_page(browser, path)
    browser.find_element(By.ID, "goto").send_keys("f30", Keys.ENTER)
    box = browser.find_element(By.CSS_SELECTOR, "#graph g.node[id^='n-box']")
    box.click()
    inside = text_of(browser, "inside")
    assert inside.startswith("inside layers.") or inside.startswith("inputs")
    check_clean_log(browser, path)


def timing(browser, path, label, moves=20):
    """Print how long one step takes to update the picture (milliseconds)."""
    open_page(browser, path)
    times = browser.execute_script("""
        var F = explorer.F, times = [];
        explorer.goto(F);
        for (var k = 0; k < arguments[0]; k++) {
          var t = performance.now();
          explorer.next();
          document.getElementById('graph').getBoundingClientRect();   // layout too
          times.push(performance.now() - t);
        }
        var t = performance.now(); explorer.goto(explorer.last);
        times.push(performance.now() - t);
        return times;""", moves)
    print(f"\n{label}: one step updates the picture in {sorted(times)[len(times) // 2]:.1f} ms "
          f"(median of {moves}; slowest {max(times):.1f} ms, a jump to the end "
          f"{times[-1]:.1f} ms)")


def test_print_the_time_of_one_step(browser, tmp_path):
    from tinygrad_edu.commands.step import three_example
    timing(browser, explore(three_example()).save(tmp_path / "three.html"),
           'the "three" example, folded by neuron')
    # The graph of an MLP(64, [64, 32, 10]) digit loss (untrained: training
    # changes the numbers, not the graph).
    timing(browser, explore(three_example(sizes=(64, 32, 10))).save(tmp_path / "big.html"),
           "an MLP(64, [64, 32, 10]) digit loss (6,967 backward steps), folded by neuron")


def test_jupyter_shows_a_working_page(browser, tmp_path):
    """A notebook cell ending in explore(loss) shows the page: the notebook is
    run by a real kernel (nbclient), and its output opened in the browser."""
    import nbformat
    from nbclient import NotebookClient
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"import sys\nsys.path.insert(0, {root!r})"),
        nbformat.v4.new_code_cell(
            "from tinygrad_edu.watch.examples import article_neuron_loss\n"
            "from tinygrad_edu.web.explorer import explore\n"
            "loss, _ = article_neuron_loss()\n"
            "explore(loss)")])
    NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    html = notebook.cells[1].outputs[0]["data"]["text/html"]
    assert html.startswith("<iframe srcdoc=")
    shown = tmp_path / "notebook_output.html"
    shown.write_text(f"<!DOCTYPE html><html><body>{html}</body></html>")
    browser.get_log("browser"), browser.get_log("performance")
    browser.get(shown.as_uri())
    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    try:
        for _ in range(100):
            if browser.execute_script("return document.body.getAttribute('data-ready')"):
                break
            time.sleep(0.05)
        assert text_of(browser, "where") == "start"
        browser.find_element(By.ID, "next").click()
        assert text_of(browser, "where") == "forward step 1 of 7"
    finally:
        browser.switch_to.default_content()
    check_clean_log(browser, shown)
