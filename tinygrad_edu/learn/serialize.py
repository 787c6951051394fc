"""Saving and loading a trained MLP as a JSON file: plain data, nothing in it is ever run.

A model file is plain JSON that you can open in an editor::

    {
      "format": "tinygrad_edu.mlp",
      "version": 1,
      "config": {"nin": 64, "sizes": [16, 16, 4], "activation": "relu",
                 "output_activation": "linear", "seed": 0},
      "classes": [0, 1, 2, 3],
      "weights": {"layers.0.neurons.0.w.0": 0.0123, ...},
      "info": {... anything the trainer wants to record ...}
    }

``config`` is the architecture (``MLP.config()``), ``classes`` the label of
each output, and ``weights`` every parameter by its name. Python writes each
float with the fewest digits that read back as the very same float, so a
save-and-load round trip is exact.

Saving is *atomic* (``output.write_atomically``): the JSON goes to a
temporary file in the same folder, which is flushed to disk and then renamed
over the target in one step (``os.replace``). If the program dies mid-save,
the old model file is intact.
"""

import json
import math
from pathlib import Path

from .nn import MLP, _check_classes
from ..output import write_atomically

__all__ = ["save_model", "load_model", "load_weights", "ModelFileError",
           "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "tinygrad_edu.mlp"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file is missing, damaged, not a model, or of another shape."""


def model_to_dict(model, info=None):
    """Everything needed to rebuild ``model``, as plain JSON-ready data."""
    weights = model.state_dict()
    bad = [name for name, number in weights.items() if not math.isfinite(number)]
    if bad:
        raise ValueError(
            f"refusing to save a model with non-finite weights ({bad[0]} = "
            f"{weights[bad[0]]}); training diverged, lower the learning rate")
    return {"format": FORMAT_NAME, "version": FORMAT_VERSION,
            "config": model.config(), "classes": list(model.classes),
            "weights": weights, "info": dict(info or {})}


def save_model(model, path, info=None):
    """Write ``model`` to ``path`` as JSON, atomically. Returns the path.

    ``info`` is an optional dict of JSON-friendly extras (accuracy, epochs,
    ...) stored beside the weights.
    """
    text = json.dumps(model_to_dict(model, info), indent=1, allow_nan=False)
    return write_atomically(path, text)


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number a model file may hold")


def read_model_file(path):
    """Read and check a model file; return its dict. Errors: ModelFileError."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"no model file at {path}; train one first, e.g. "
            f"tinygrad-edu train --out {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ModelFileError(f"cannot read {path}: {error}") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as error:
        looks_cut_off = (text.lstrip().startswith("{")
                         and not text.rstrip().endswith("}"))
        hint = ("it looks cut off (truncated), perhaps by a crash while it "
                "was copied" if looks_cut_off else "it is not valid JSON")
        raise ModelFileError(
            f"{path} is not a readable model file: {hint} ({error}). "
            f"Train or copy the model again.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{path} is JSON but not a tinygrad_edu model file (it has no "
            f"\"format\": \"{FORMAT_NAME}\"); did you pass the metrics file "
            f"or another program's file?")
    if data.get("version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} is model format version {data.get('version')!r}, but "
            f"this tinygrad_edu reads version {FORMAT_VERSION}; upgrade "
            f"tinygrad_edu or retrain the model")
    for key, kind in (("config", dict), ("classes", list), ("weights", dict)):
        if not isinstance(data.get(key), kind):
            raise ModelFileError(
                f"{path} is damaged: its {key!r} entry is missing or is not a "
                f"{kind.__name__}")
    _check_finite_weights(data["weights"], path)
    return data


def _check_finite_weights(weights, path):
    """Refuse a weight like ``1e400``, which JSON reads as infinity."""
    for name, number in weights.items():
        if (isinstance(number, (int, float)) and not isinstance(number, bool)
                and not math.isfinite(number)):
            raise ModelFileError(
                f"{path} is damaged: the weight {name} reads as {number}, not "
                f"a finite number (the file holds a number too large for a "
                f"float, such as 1e400); train or copy the model again")


def parameter_count(nin, sizes):
    """How many weights and biases ``MLP(nin, sizes)`` has.

    >>> parameter_count(64, [16, 10])      # 64*16 + 16 and 16*10 + 10
    1210
    """
    widths = [nin, *sizes]
    return sum((before + 1) * after for before, after in zip(widths, widths[1:]))


def _check_weight_count(data, path):
    """Compare the weights with the architecture before building anything, so
    a damaged config (``sizes: [2, 1000000000]``) fails at once."""
    config = data["config"]
    nin, sizes = config.get("nin"), config.get("sizes")
    if not (_is_count(nin) and isinstance(sizes, list) and sizes
            and all(_is_count(size) for size in sizes)):
        return                  # MLP(...) itself says what is wrong
    expected, found = parameter_count(nin, sizes), len(data["weights"])
    if expected != found:
        raise ModelFileError(
            f"{path} is damaged: its weights do not fit its architecture "
            f"(nin {nin} and sizes {sizes} need {expected} weights, the file "
            f"has {found}); train or copy the model again")


def _is_count(number):
    return isinstance(number, int) and not isinstance(number, bool) and number > 0


def _build_model(data, path):
    try:
        return MLP(**data["config"], classes=data["classes"])
    except (TypeError, ValueError) as error:
        raise ModelFileError(
            f"{path} is damaged: its architecture cannot be built ({error})"
        ) from None


def _load_weights_checked(model, weights, path):
    try:
        model.load_state_dict(weights)
    except ValueError as error:
        raise ModelFileError(f"{path}: {error}") from None


def load_model(path):
    """Rebuild the MLP saved in ``path`` (architecture, classes and weights).

    Raises ``ModelFileError`` with the reason if the file is missing,
    truncated, not a model file, or its weights do not fit its architecture.
    The training ``info`` saved with the model is at ``model.info``.
    """
    data = read_model_file(path)
    _check_weight_count(data, path)
    model = _build_model(data, path)
    _load_weights_checked(model, data["weights"], path)
    model.info = data.get("info") or {}
    return model


def load_weights(model, path):
    """Load the weights saved in ``path`` into an existing ``model``.

    The file's architecture must equal ``model.config()`` (the seed aside);
    if not, ``ModelFileError`` says how they differ, and the model is left
    unchanged.
    """
    data = read_model_file(path)
    ours = {k: v for k, v in model.config().items() if k != "seed"}
    theirs = {k: v for k, v in data["config"].items() if k != "seed"}
    if ours != theirs:
        raise ModelFileError(
            f"{path} holds a model of another architecture: the file has "
            f"{theirs}, this model is {ours}. Build an MLP of the saved shape, "
            f"or use load_model({str(path)!r}) which builds it for you.")
    try:
        classes = _check_classes(data["classes"], model.sizes[-1])
    except ValueError as error:
        raise ModelFileError(f"{path} is damaged: {error}") from None
    _load_weights_checked(model, data["weights"], path)
    model.classes = classes
    return model
