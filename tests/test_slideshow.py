"""The HTML slideshow of backprop, checked in a real headless browser."""

import re
import shutil
import subprocess
from html import unescape

import pytest

from tinygrad_edu import Value
from tinygrad_edu.pictures.slideshow import backward_frames, write_slideshow

CHROMIUM = "/usr/bin/chromium"


def neuron():
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    return o


def highlighted_nodes(svg):
    """Graphviz node names (``<title>``) drawn with the orange highlight."""
    groups = re.findall(r'<g id="node\d+" class="node">\s*<title>(.*?)</title>(.*?)</g>',
                        svg, flags=re.S)
    return [unescape(title) for title, body in groups if "#ff7f00" in body]


def grad_shown(svg, node):
    """The text after "grad " in the box of the Graphviz node ``node``."""
    for title, body in re.findall(
            r'<g id="node\d+" class="node">\s*<title>(.*?)</title>(.*?)</g>',
            svg, flags=re.S):
        if unescape(title) == node:
            return re.search(r">grad ([^<]*)<", body).group(1)
    raise AssertionError(f"no node {node} in the picture")


def test_one_frame_per_step_that_passes_a_gradient_on_plus_a_last_one():
    o = neuron()
    frames = backward_frames(o)
    # tanh, +, +, *, * pass gradients on; the five leaves do not.
    assert [f.step.value.op for f in frames[:-1]] == ["tanh", "+", "+", "*", "*"]
    assert frames[-1].step is None and frames[-1].caption.startswith("done")
    for frame in frames[:-1]:
        assert highlighted_nodes(frame.svg) == [f"v{frame.step.value.id}"]
        assert frame.caption == str(frame.step)
    assert highlighted_nodes(frames[-1].svg) == []
    # Gradients are filled in as the steps go: b gets its 0.5 (= 1 - o^2)
    # from the step through n = s + b, the second frame.
    b = o.parents[0].parents[1]
    shown = [grad_shown(frame.svg, f"v{b.id}") for frame in frames]
    assert shown == ["0", "0.5", "0.5", "0.5", "0.5", "0.5"]
    assert o.grad == 1.0


def test_page_is_self_contained(tmp_path):
    page = write_slideshow(neuron(), tmp_path / "show.html").read_text()
    assert page.count('<section class="frame"') == 6
    assert page.count("<svg") == 6
    assert not re.search(r"<script[^>]*\bsrc=|<link\b|<img\b|@import|url\(", page)
    # The only URLs are the XML namespace names inside each SVG.
    urls = set(re.findall(r"https?://[^\"' )]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


# A page that loads the slideshow in an iframe, drives it like a user
# (buttons, then arrow keys) and writes what was visible into #result.
HARNESS = """<!DOCTYPE html><html><body>
<iframe id="show" src="show.html" width="1000" height="700"></iframe>
<div id="result">not run</div>
<script>
function visible(doc) {
  var shown = Array.from(doc.querySelectorAll("section.frame")).filter(function (s) {
    return doc.defaultView.getComputedStyle(s).display !== "none"; });
  return shown.map(function (s) { return s.dataset.frame + ":" +
    s.querySelector("pre").textContent.split("\\n")[0]; }).join(",") +
    " [" + doc.getElementById("counter").textContent + "]";
}
document.getElementById("show").addEventListener("load", function () {
  var out = [];
  try {
    var doc = this.contentDocument, win = this.contentWindow;
    function key(name) { doc.dispatchEvent(new win.KeyboardEvent("keydown", {key: name})); }
    out.push(visible(doc));
    doc.getElementById("next").click(); out.push(visible(doc));
    key("ArrowRight"); out.push(visible(doc));
    key("ArrowLeft"); out.push(visible(doc));
    doc.getElementById("prev").click(); out.push(visible(doc));
  } catch (error) { out.push("error: " + error); }
  document.getElementById("result").textContent = out.join("|");
});
</script></body></html>
"""


def run_in_chromium(harness, tmp_path):
    if shutil.which(CHROMIUM) is None and shutil.which("chromium") is None:
        pytest.fail("Chromium is not installed; this test needs a real browser. "
                    "Run `bash .ci/setup` to install it.")
    browser = CHROMIUM if shutil.which(CHROMIUM) else shutil.which("chromium")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync",
               "--allow-file-access-from-files",
               f"--user-data-dir={tmp_path / 'chromium-profile'}",
               "--virtual-time-budget=3000", "--dump-dom", harness.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    match = re.search(r'<div id="result">(.*?)</div>', done.stdout, flags=re.S)
    assert match, f"no result in chromium's DOM; stderr:\n{done.stderr[-2000:]}"
    return unescape(match.group(1)).split("|")


def test_slideshow_buttons_and_arrow_keys_in_headless_chromium(tmp_path):
    o = neuron()
    write_slideshow(o, tmp_path / "show.html")
    harness = tmp_path / "harness.html"
    harness.write_text(HARNESS)
    seen = run_in_chromium(harness, tmp_path)
    step1 = "1:step 1 of 10: o = tanh(v{}) = 0.7071, grad 1.0000 [frame 1 of 6]"
    n = o.parents[0]
    assert seen[0] == step1.format(n.id)
    assert seen[1].startswith(f"2:step 2 of 10: v{n.id} = ")
    assert seen[1].endswith("grad 0.5000 [frame 2 of 6]")
    assert seen[2].startswith("3:step ") and seen[2].endswith("[frame 3 of 6]")
    assert seen[3] == seen[1]           # ArrowLeft goes back
    assert seen[4] == seen[0]           # and "previous" back to the start
