"""Saving a Graphviz picture to a file (SVG, PNG, PDF or the DOT source)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import graphviz

from ..output import OutputError, prepare_output_path, write_atomically

__all__ = ["render", "picture_path", "GraphvizError", "INSTALL_HINT", "FORMATS"]

INSTALL_HINT = ("sudo apt-get install graphviz  (macOS: brew install graphviz; "
                "Windows: winget install graphviz)")

FORMATS = ("svg", "png", "pdf")


class GraphvizError(RuntimeError):
    """Graphviz's ``dot`` program failed to draw a picture."""


def picture_path(path, format=None, default="svg"):
    """The path ``render`` writes: ``path`` with the format's extension.

    The format is ``format``, else the extension of ``path``, else
    ``default``. Raises ``ValueError`` for a format it cannot write and
    ``OutputError`` for a folder (not ``folder.svg`` beside it).

    >>> str(picture_path("out/g", default="png")), str(picture_path("g.svg"))
    ('out/g.png', 'g.svg')
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder, not a file; "
                          f"choose another path, e.g. {path / 'graph.png'}")
    format = (format or path.suffix.lstrip(".") or default).lower()
    if format not in FORMATS + ("dot", "gv"):
        raise ValueError(f"cannot save as {format!r}: choose svg, png, pdf or dot")
    if path.suffix.lstrip(".").lower() != format:
        path = path.with_name(path.name + "." + format)
    return path


def render(graph, path, format=None):
    """Save ``graph`` (a Digraph) to ``path``; return the path written.

    The format comes from ``format`` or the file's extension: svg, png or pdf
    (or dot for the Graphviz source only). When Graphviz's ``dot`` program is
    missing, the ``.dot`` source is written instead, one line says how to
    install Graphviz, and that ``.dot`` path is returned. A path that cannot
    be written raises ``OutputError``; Graphviz failing raises
    ``GraphvizError``.
    """
    path = picture_path(path, format)
    format = path.suffix.lstrip(".").lower()
    if format in ("dot", "gv"):
        return write_atomically(path, graph.source)
    if shutil.which("dot") is None:
        return _write_source_instead(graph, path)
    prepare_output_path(path)           # a bad path fails before the drawing
    try:
        picture = graph.pipe(format=format)
    except graphviz.ExecutableNotFound:
        return _write_source_instead(graph, path)
    except (graphviz.CalledProcessError, subprocess.CalledProcessError) as error:
        raise GraphvizError(
            f"Graphviz could not draw {path.name}: "
            f"{(error.stderr or b'').decode(errors='replace').strip()}") from None
    return write_atomically(path, picture)


def _write_source_instead(graph, path):
    """Without Graphviz: the picture's DOT source beside where it would go,
    but never over a file that is already there (the user did not name it)."""
    dot_path = path.with_suffix(".dot")
    if os.path.lexists(dot_path):
        raise GraphvizError(
            f"Graphviz's dot program is not installed, so {path.name} cannot be "
            f"drawn, and {dot_path} already exists (it is not replaced). "
            f"Install Graphviz with: {INSTALL_HINT}")
    dot_path = write_atomically(dot_path, graph.source)
    print(f"Graphviz's dot program is not installed; wrote {dot_path}. "
          f"Install it with: {INSTALL_HINT}", file=sys.stderr)
    return dot_path
