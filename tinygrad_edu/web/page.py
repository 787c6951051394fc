"""Self-contained HTML pages: shared scripts and styles inlined, data embedded.

Every page of ``tinygrad_edu.web`` is one file that opens from ``file://``
with no network: its scripts and styles (the files in ``static/``) are
copied into it, and the numbers it shows are embedded as packed JSON (see
:func:`pack_data`). ``static/common.js`` holds what every page shares
(unpacking the data, number formatting as Python prints it, the colour
scale, small SVG and panel helpers); each page adds its own script after it.

>>> html = inline_page("t", "<p>hi</p>", scripts=["common.js"], data={"x": 1.5})
>>> html.count("<script>"), unpack_data(html) == {"x": 1.5}
(1, True)
"""

import base64
import gzip
import json
import math
import re
from html import escape, unescape
from importlib import resources

from ..pictures.palette import BLUE, HIGHLIGHT, PARAMETER_GREEN, RED

__all__ = ["asset", "inline_page", "pack_data", "unpack_data", "svg_element",
           "stable_ids", "PALETTE"]

# The colours of palette.py, handed to the page's script so that the page
# and the Graphviz pictures use the very same ones.
PALETTE = {"blue": list(BLUE), "red": list(RED), "highlight": HIGHLIGHT,
           "parameter": PARAMETER_GREEN}


def asset(name):
    """The text of ``static/NAME`` (a script or a style sheet)."""
    return resources.files(__package__).joinpath("static", name).read_text(
        encoding="utf-8")


def pack_data(data):
    """``data`` as JSON, gzip-compressed, in base64: text safe inside HTML.

    A graph's numbers and sentences are most of a page, and compress about
    six-fold; the browser unpacks them with its own ``DecompressionStream``
    (``TG.loadPageData`` in common.js). NaN and infinities, which JSON
    lacks, travel as the strings ``"NaN"``, ``"Infinity"`` and
    ``"-Infinity"``: JavaScript's ``Number()`` reads them back.
    """
    text = json.dumps(_json_ready(data), separators=(",", ":"), allow_nan=False)
    packed = gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
    return base64.b64encode(packed).decode("ascii")


def unpack_data(page):
    """The data embedded in ``page`` (HTML text): the reverse of pack_data."""
    match = re.search(r'<script type="application/gzip-base64" id="page-data">'
                      r"([^<]*)</script>", page)
    return json.loads(gzip.decompress(base64.b64decode(match.group(1))))


def _json_ready(thing):
    """``thing`` with every float that is not finite turned into text."""
    if isinstance(thing, float) and not math.isfinite(thing):
        return "NaN" if math.isnan(thing) else ("Infinity" if thing > 0 else "-Infinity")
    if isinstance(thing, dict):
        return {key: _json_ready(value) for key, value in thing.items()}
    if isinstance(thing, (list, tuple)):
        return [_json_ready(item) for item in thing]
    return thing


def inline_page(title, body, scripts=(), styles=(), data=None):
    """A whole HTML page: ``body`` (HTML), then ``data`` (packed by
    :func:`pack_data`), then each of ``scripts`` (names in ``static/``);
    ``styles`` (names in ``static/``) go in the head."""
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{escape(title)}</title>"]
    parts += [f"<style>\n{asset(name)}</style>" for name in styles]
    parts += ["</head><body>", body]
    if data is not None:
        parts.append('<script type="application/gzip-base64" id="page-data">'
                     f"{pack_data(data)}</script>")
    parts += [f"<script>\n{asset(name)}</script>" for name in scripts]
    parts.append("</body></html>")
    return "\n".join(parts)


def svg_element(svg_bytes_or_text):
    """Graphviz's SVG output made ready to go inside an HTML page: the bare
    ``<svg>`` element (no XML header, no comments), with the coordinates of
    shapes cut to one decimal (a tenth of a point), which makes a big graph
    a third smaller and looks the same."""
    text = (svg_bytes_or_text.decode("utf-8") if isinstance(svg_bytes_or_text, bytes)
            else svg_bytes_or_text)
    text = text[text.index("<svg"):]
    text = re.sub(r"<!--.*?-->\n?", "", text, flags=re.S)
    return _SHAPE.sub(lambda m: m.group(1) + _DECIMALS.sub(r"\1", m.group(2)) + '"', text)


_SHAPE = re.compile(r'(\s(?:d|points)=")([^"]*)"')
_DECIMALS = re.compile(r"(\.\d)\d+")


# A node or edge group as Graphviz writes it: <g id="node7" class="node">
# followed by <title>NAME</title> (for an edge, TAIL->HEAD, escaped).
_GROUP = re.compile(r'<g id="(?:node|edge)\d+" class="(node|edge)">(\s*<title>([^<]*)</title>)')


def stable_ids(svg, rename=lambda name: name):
    """Give each node's and edge's ``<g>`` an id made from its Graphviz name.

    Graphviz numbers the groups in drawing order (``node1``, ``edge7``); the
    page needs ids it can compute: a node named ``v7`` becomes ``n-v7``, the
    edge from ``v5`` to ``op7`` becomes ``e-v5-op7``. ``rename`` maps a
    Graphviz node name to the name used in the ids. The ``<title>`` that
    held the name goes (a browser would show it as a tooltip).

    >>> svg = '<g id="node3" class="node">\\n<title>v7</title>\\n<text>'
    >>> stable_ids(svg)
    '<g id="n-v7" class="node">\\n<text>'
    """
    def replace(match):
        kind, title = match.group(1), unescape(match.group(3))
        if kind == "node":
            new_id = "n-" + rename(title)
        else:
            tail, head = title.split("->")
            new_id = f"e-{rename(tail)}-{rename(head)}"
        return f'<g id="{escape(new_id)}" class="{kind}">'
    return _GROUP.sub(replace, svg)
