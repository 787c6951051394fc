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
import re
import stat
from pathlib import Path

from .checks import is_real_number, is_whole_number, refuse_non_finite_weights, require_mlp
from .losses import LOSSES
from .nn import MLP, _check_classes
from ..output import write_atomically

__all__ = ["save_model", "load_model", "load_weights", "ModelFileError",
           "FORMAT_NAME", "FORMAT_VERSION", "MAX_WEIGHTS", "MAX_LAYERS",
           "architecture_problem"]

FORMAT_NAME = "tinygrad_edu.mlp"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file is missing, damaged, not a model, or of another shape."""


def model_to_dict(model, info=None):
    """Everything needed to rebuild ``model``, as plain JSON-ready data."""
    require_mlp(model, "save_model")
    refuse_non_finite_weights(model, "save")
    if info is not None and not isinstance(info, dict):
        raise TypeError(f"info must be a dict of extras to save beside the "
                        f"weights, got a {type(info).__name__}")
    return {"format": FORMAT_NAME, "version": FORMAT_VERSION,
            "config": model.config(), "classes": list(model.classes),
            "weights": model.state_dict(), "info": _plain_json(info or {}, "info")}


def _plain_json(value, where):
    """``value`` with numpy numbers made plain ints and floats, or a clear
    error naming where it holds something a model file cannot (a NaN, an
    object): JSON has no NaN, and nothing but plain data goes in the file."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if is_whole_number(value):
        return int(value)
    if is_real_number(value):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {float(value)}, which a model file cannot "
                             f"hold (JSON has no NaN or infinity); leave it out or "
                             f"store None")
        return float(value)
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"{where} has the key {key!r}; a model file's "
                                f"keys are strings")
        return {key: _plain_json(item, f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_json(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(f"{where} is a {type(value).__name__}, which a model file "
                    f"cannot hold; give numbers, strings, lists and dicts")


def save_model(model, path, info=None):
    """Write ``model`` to ``path`` as JSON, atomically. Returns the path.

    ``info`` is an optional dict of JSON-friendly extras (accuracy, epochs,
    ...) stored beside the weights.
    """
    text = json.dumps(model_to_dict(model, info), indent=1, allow_nan=False)
    return write_atomically(path, text)


# Limits, generous for this project (the default digits model has 6,570
# weights in 3 layers), so a damaged or hostile file fails at once with a
# clear message instead of filling the memory or running for hours.
MAX_WEIGHTS = 1_000_000          # weights and biases in all
MAX_LAYERS = 50                  # layers of neurons (hidden ones and the output)
MAX_DEPTH = 10                   # nesting of [ ] and { } (a model file needs 3)
MAX_FILE_BYTES = 100 * MAX_WEIGHTS   # about 100 characters per weight at most
MAX_INT_DIGITS = 18              # integers beyond this are not sizes or weights


def architecture_problem(nin, sizes):
    """Why ``MLP(nin, sizes)`` is beyond this project's limits, or None.

    Only whole numbers are accepted (``4.0`` is not a layer size), at most
    ``MAX_LAYERS`` layers and ``MAX_WEIGHTS`` weights; nothing is allocated.
    """
    if not _is_count(nin):
        return f"nin must be a positive whole number, got {nin!r}"
    if not isinstance(sizes, list) or not sizes:
        return f"sizes must be a non-empty list of whole numbers, got {sizes!r}"
    for size in sizes:
        if not _is_count(size):
            return f"every layer size must be a positive whole number, got {size!r}"
    if len(sizes) > MAX_LAYERS:
        return (f"{len(sizes)} layers is more than the limit of {MAX_LAYERS}")
    count = parameter_count(nin, sizes)
    if count > MAX_WEIGHTS:
        return (f"{count:,} weights is more than the limit of {MAX_WEIGHTS:,}")
    return None


class _BigInteger:
    """An integer too long to be a size or a weight, kept as its text so the
    checks can name where it was."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return f"an integer of {len(self.text.lstrip('-'))} digits"


def _read_int(text):
    return _BigInteger(text) if len(text.lstrip("-")) > MAX_INT_DIGITS else int(text)


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number a model file may hold")


def _nesting_depth(text):
    """How deeply ``[`` and ``{`` nest in JSON ``text``, counted without
    recursion (``json`` itself would hit Python's recursion limit)."""
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', "", text)
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", without_strings):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _check_is_file(path):
    """A model file must be a regular file: a folder, FIFO or device is named
    as such (and a FIFO is never opened, which could wait forever)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ModelFileError(
            f"no model file at {path}; train one first, e.g. "
            f"tinygrad-edu train --out {path}") from None
    except OSError as error:
        raise ModelFileError(f"cannot read {path}: {error.strerror or error}") from None
    if stat.S_ISDIR(mode):
        raise ModelFileError(f"{path} is a folder, not a model file; give the "
                             f"path of the .json file inside it")
    if not stat.S_ISREG(mode):
        raise ModelFileError(f"{path} is not a regular file (it is a FIFO, a "
                             f"device or a socket); give a model file saved by "
                             f"'tinygrad-edu train'")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ModelFileError(
            f"{path} is {path.stat().st_size:,} bytes, more than a model within "
            f"the limit of {MAX_WEIGHTS:,} weights can be ({MAX_FILE_BYTES:,} "
            f"bytes); it is not a tinygrad_edu model file")


def _parse_json(text, path):
    depth = _nesting_depth(text)
    if depth > MAX_DEPTH:
        raise ModelFileError(
            f"{path} is not a model file: its JSON is nested {depth} levels "
            f"deep, and a model file is nested at most {MAX_DEPTH}")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_int=_read_int)
    except RecursionError:          # cannot happen after the depth check; be safe
        raise ModelFileError(f"{path} is nested too deeply to be a model file") from None
    except ValueError as error:
        looks_cut_off = (text.lstrip().startswith("{")
                         and not text.rstrip().endswith("}"))
        hint = ("it looks cut off (truncated), perhaps by a crash while it "
                "was copied" if looks_cut_off else "it is not valid JSON")
        raise ModelFileError(
            f"{path} is not a readable model file: {hint} ({error}). "
            f"Train or copy the model again.") from None


def read_model_file(path):
    """Read and check a model file; return its dict. Errors: ModelFileError."""
    path = Path(path)
    _check_is_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ModelFileError(f"cannot read {path}: {error}") from None
    data = _parse_json(text, path)
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{path} is JSON but not a tinygrad_edu model file (it has no "
            f"\"format\": \"{FORMAT_NAME}\"); did you pass the metrics file "
            f"or another program's file?")
    version = data.get("version")
    if type(version) is not int or version != FORMAT_VERSION:   # True == 1 too
        raise ModelFileError(
            f"{path} is model format version {version!r}, but "
            f"this tinygrad_edu reads version {FORMAT_VERSION}; upgrade "
            f"tinygrad_edu or retrain the model")
    for key, kind in (("config", dict), ("classes", list), ("weights", dict)):
        if not isinstance(data.get(key), kind):
            raise ModelFileError(
                f"{path} is damaged: its {key!r} entry is missing or is not a "
                f"{kind.__name__}")
    if not isinstance(data.get("info", {}), dict):
        raise ModelFileError(f"{path} is damaged: its 'info' entry is not a "
                             f"dict (it is {type(data['info']).__name__})")
    loss = data.get("info", {}).get("loss")
    if loss is not None and not (isinstance(loss, str) and loss in LOSSES):
        raise ModelFileError(
            f"{path} says it was trained with the loss {loss!r}, which this "
            f"tinygrad_edu does not know (it knows {', '.join(sorted(LOSSES))})")
    _check_architecture(data["config"], path)
    _check_finite_weights(data["weights"], path)
    return data


def _check_architecture(config, path):
    problem = architecture_problem(config.get("nin"), config.get("sizes"))
    if problem:
        raise ModelFileError(
            f"{path} is damaged or beyond this project's limits: {problem} "
            f"(limits: {MAX_LAYERS} layers, {MAX_WEIGHTS:,} weights)")


def _check_finite_weights(weights, path):
    """Refuse a weight like ``1e400`` (which JSON reads as infinity) or a
    401-digit integer, naming it."""
    for name, number in weights.items():
        if isinstance(number, _BigInteger):
            raise ModelFileError(
                f"{path} is damaged: the weight {name} is {number!r}, too large "
                f"for a float; train or copy the model again")
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
    nin, sizes = config["nin"], config["sizes"]
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


def _check_path(path, what):
    """A model file's path must be a str or a path object."""
    if not isinstance(path, (str, bytes)) and not hasattr(path, "__fspath__"):
        hint = (f"; to put a file's weights into a model you have, use "
                f"load_weights(model, path)" if hasattr(path, "named_parameters")
                else "")
        raise TypeError(f"{what} takes the path of a model file, got a "
                        f"{type(path).__name__}{hint}")


def load_model(path):
    """Rebuild the MLP saved in ``path`` (architecture, classes and weights).

    Raises ``ModelFileError`` with the reason if the file is missing,
    truncated, not a model file, or its weights do not fit its architecture.
    The training ``info`` saved with the model is at ``model.info``.
    """
    _check_path(path, "load_model")
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
    require_mlp(model, "load_weights")
    _check_path(path, "load_weights")
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
