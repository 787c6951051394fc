"""Backprop as a slideshow: one picture per chain-rule step, in one HTML page.

``write_slideshow(loss, "backprop.html")`` runs backpropagation from ``loss``
one step at a time (with :func:`tinygrad_edu.watch.tracing.backward_steps`) and draws
the graph after each step with :func:`tinygrad_edu.pictures.graph.draw_graph`: the Value
being processed is outlined in orange and every gradient filled in so far is
shown. The frames go into a single HTML file with "previous" and "next"
buttons (the left and right arrow keys work too). The page is self-contained:
the pictures are inline SVG and the script is inline, so it opens from a USB
stick with no network and no server.
"""

import math
from dataclasses import dataclass
from html import escape
from .graph import draw_graph
from ..engine import topological_order
from ..output import prepare_output_path, write_atomically
from ..watch.tracing import backward_steps

__all__ = ["Frame", "backward_frames", "slideshow_html", "write_slideshow"]


@dataclass(frozen=True)
class Frame:
    """One slide: a caption (the step in words and numbers) and its picture."""

    caption: str
    svg: str
    step: object = None        # the BackwardStep drawn, None for the last slide


def backward_frames(root, fold=None):
    """Run backprop from ``root``, drawing a frame after each step that passes
    a gradient on, then one last frame with every gradient.

    Gradients are zeroed first (``root.zero_grad()``) so the pictures start
    clean. Steps that visit a leaf change nothing in the picture, so they get
    no frame of their own; the last frame shows their final gradients. Every
    frame uses one colour scale, the largest final |gradient|, so a box keeps
    its colour from the frame it is filled in to the end.
    """
    scale = _final_grad_scale(root)
    root.zero_grad()
    frames = []
    for step in backward_steps(root):
        if step.is_leaf:
            continue
        graph = draw_graph(root, fold=fold, highlight=step.value,
                           title=step.header(), grad_scale=scale)
        frames.append(Frame(str(step), _svg(graph), step))
    done = (f"done: every Value holds d({root.name})/d(Value); the leaves' "
            f"gradients are what training uses")
    frames.append(Frame(done, _svg(draw_graph(root, fold=fold, title=done,
                                              grad_scale=scale))))
    return frames


def _final_grad_scale(root):
    """The largest |gradient| backprop from ``root`` leaves (the series' scale)."""
    root.zero_grad()
    root.backward()
    return max((abs(v.grad) for v in topological_order(root)
                if math.isfinite(v.grad)), default=0.0)


def _svg(graph):
    """The picture as an ``<svg>`` element (Graphviz's XML header removed)."""
    text = graph.pipe(format="svg").decode("utf-8")
    return text[text.index("<svg"):]


_STYLE = """
body { font-family: sans-serif; margin: 1em 2em; }
nav { position: sticky; top: 0; background: white; padding: 0.5em 0; }
button { font-size: 1.1em; padding: 0.3em 1em; }
#counter { margin: 0 1em; font-weight: bold; }
pre { background: #f4f4f4; padding: 0.6em; white-space: pre-wrap; }
.picture svg { max-width: 100%; height: auto; }
"""

# Shows frame number ``shown`` (1-based) and hides the rest.
_SCRIPT = """
(function () {
  var frames = document.querySelectorAll("section.frame");
  var counter = document.getElementById("counter");
  var shown = 1;
  function show(number) {
    shown = Math.max(1, Math.min(frames.length, number));
    frames.forEach(function (frame, i) { frame.hidden = (i + 1 !== shown); });
    counter.textContent = "frame " + shown + " of " + frames.length;
    document.getElementById("prev").disabled = (shown === 1);
    document.getElementById("next").disabled = (shown === frames.length);
  }
  document.getElementById("prev").addEventListener("click", function () { show(shown - 1); });
  document.getElementById("next").addEventListener("click", function () { show(shown + 1); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight") { show(shown + 1); }
    if (event.key === "ArrowLeft") { show(shown - 1); }
  });
  show(1);
})();
"""


def slideshow_html(frames, title="Backpropagation, step by step"):
    """The HTML page (a string) showing ``frames`` one at a time."""
    sections = []
    for number, frame in enumerate(frames, start=1):
        hidden = "" if number == 1 else " hidden"
        sections.append(
            f'<section class="frame" id="frame-{number}" data-frame="{number}"{hidden}>\n'
            f"<pre>{escape(frame.caption)}</pre>\n"
            f'<div class="picture">{frame.svg}</div>\n</section>')
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        '<nav><button id="prev" type="button">&#9664; previous</button>'
        f'<span id="counter">frame 1 of {len(frames)}</span>'
        '<button id="next" type="button">next &#9654;</button>'
        " <small>(or the &larr; and &rarr; keys)</small></nav>",
        *sections,
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
    ])


def write_slideshow(root, path, title=None, fold=None):
    """Draw backprop from ``root`` step by step into the HTML file ``path``."""
    path = prepare_output_path(path)    # a bad path fails before the drawing
    frames = backward_frames(root, fold=fold)
    title = title or f"Backpropagation from {root.name}, step by step"
    return write_atomically(path, slideshow_html(frames, title))
