"""The handwritten digits: loading them, and showing one as text or a picture.

The images are the UCI "Optical Recognition of Handwritten Digits" data set
(optdigits), by E. Alpaydin and C. Kaynak (1998), shared under the Creative
Commons Attribution 4.0 licence (CC BY 4.0): https://doi.org/10.24432/C50P49.
Copies ship inside the package (``tinygrad_edu/data/``), so nothing is
downloaded.

Each image is 8x8 pixels. Each pixel counts how many of 16 dots in a 4x4
block of the original 32x32 scan were inked, so it is a whole number from 0 to
16; ``load_digits`` divides by 16 so a network sees numbers from 0 to 1.

* ``split="train"``: 3823 images written by 30 people.
* ``split="test"``: 1797 images written by 13 *other* people. Testing on
  writers the network never saw is the honest measure of how well it learnt
  digits rather than handwriting. The two splits are never mixed.
"""

import gzip
import random
import struct
import zlib
from functools import lru_cache
from pathlib import Path

from ..output import refuse_non_regular, write_atomically
from .checks import is_whole_number

__all__ = ["load_digits", "digit_to_text", "draw_digit", "write_grey_png",
           "DigitsDataError", "DATA_DIR", "IMAGE_SIZE", "NUM_PIXELS"]

DATA_DIR = Path(__file__).resolve().parent / "data"
SPLIT_FILES = {"train": "optdigits.tra.csv.gz", "test": "optdigits.tes.csv.gz"}
IMAGE_SIZE = 8                     # images are IMAGE_SIZE x IMAGE_SIZE
NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE
MAX_PIXEL = 16                     # raw pixels are whole numbers 0..16
DIGITS = tuple(range(10))


class DigitsDataError(Exception):
    """A digits data file is missing or not in the expected format."""


# ----------------------------------------------------------------------
# Reading the files
# ----------------------------------------------------------------------

# The shipped files hold about 0.6 MB of text each; a file that unpacks to
# more than this is refused before it fills the memory (a "gzip bomb").
MAX_TEXT_BYTES = 50_000_000


def _fix_hint(path):
    """How to repair a bad data file: reinstall for the shipped files, check
    your own files otherwise."""
    if Path(path).resolve().parent == DATA_DIR:
        return "The file is corrupt: reinstall tinygrad_edu to restore it."
    return ("Check this file: it must be an optdigits file, gzipped CSV of 64 "
            "pixels 0..16 and a label 0..9 per line.")


def _whole_number(field):
    """The int in ``field`` if it is plain ASCII digits ("3", "16"), else None.
    ``int()`` alone would also take " 3 " and "0_0"."""
    return int(field) if field.isascii() and field.isdigit() and len(field) <= 2 else None


def _parse_line(line, line_number, path):
    """One CSV line -> (64 raw pixels, label), or a DigitsDataError."""
    fields = line.split(",")
    if len(fields) != NUM_PIXELS + 1:
        raise DigitsDataError(
            f"{path}, line {line_number}: expected {NUM_PIXELS + 1} "
            f"comma-separated numbers (64 pixels and a label), found "
            f"{len(fields)}. {_fix_hint(path)}")
    numbers = [_whole_number(field) for field in fields]
    if None in numbers:
        bad = fields[numbers.index(None)]
        raise DigitsDataError(
            f"{path}, line {line_number}: {bad!r} is not a whole number "
            f"written with the digits 0-9 only. {_fix_hint(path)}")
    pixels, label = numbers[:NUM_PIXELS], numbers[NUM_PIXELS]
    if not all(0 <= p <= MAX_PIXEL for p in pixels) or label not in DIGITS:
        raise DigitsDataError(
            f"{path}, line {line_number}: pixels must be 0..16 and the label "
            f"0..9. {_fix_hint(path)}")
    return pixels, label


def read_digits_file(path):
    """Read one gzipped optdigits CSV file: a list of (raw pixels, label).

    Raises ``DigitsDataError`` naming the file (and line) if it is missing,
    not gzip, larger than ``MAX_TEXT_BYTES`` once unpacked, or holds a line
    that is not 64 pixels and a label.
    """
    path = Path(path)
    if not path.is_file():
        shipped = path.resolve().parent == DATA_DIR
        raise DigitsDataError(
            f"the digits file {path} is missing. "
            + ("It ships with the package; reinstall tinygrad_edu "
               "(pip install -e .) to restore it." if shipped else
               f"Put {path.name} in {path.parent}, or leave out data_dir to "
               f"use the digits that ship with tinygrad_edu."))
    try:
        with gzip.open(path, "rb") as file:
            raw = file.read(MAX_TEXT_BYTES + 1)
        if len(raw) > MAX_TEXT_BYTES:
            raise DigitsDataError(
                f"the digits file {path} unpacks to more than "
                f"{MAX_TEXT_BYTES:,} bytes, far more than the digits data "
                f"holds; it is not an optdigits file. {_fix_hint(path)}")
        lines = raw.decode("ascii").splitlines()
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as error:
        raise DigitsDataError(
            f"cannot read the digits file {path} ({error}). "
            f"{_fix_hint(path)}") from None
    examples = [_parse_line(line, number, path)
                for number, line in enumerate(lines, start=1) if line.strip()]
    if not examples:
        raise DigitsDataError(f"the digits file {path} holds no images. "
                              f"{_fix_hint(path)}")
    return examples


@lru_cache(maxsize=4)
def _cached_split(path_text):
    """Read a split once per process (as a tuple, so nobody can change it)."""
    return tuple((tuple(pixels), label)
                 for pixels, label in read_digits_file(path_text))


def _check_classes(classes):
    if classes is None:
        return list(DIGITS)
    classes = list(classes)
    if not classes:
        raise ValueError("classes is empty; give digits such as [0, 1, 2, 3]")
    for digit in classes:
        if not is_whole_number(digit) or digit not in DIGITS:
            raise ValueError(f"classes must be digits 0..9, got {digit!r}")
    classes = [int(digit) for digit in classes]
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes lists a digit twice: {classes}")
    return classes


def load_digits(split="train", classes=None, per_class=None, seed=0,
                as_numpy=False, data_dir=None):
    """Load handwritten digits as ``(images, labels)``.

    * ``images``: one list of 64 floats in [0, 1] per image (row by row).
    * ``labels``: the digit each image shows (an int 0..9).

    ``classes`` keeps only those digits (e.g. ``[0, 1, 2, 3]``);
    ``per_class`` keeps that many images of each, picked at random with
    ``seed``, so the subset is balanced and the same seed gives the same
    images. The result is shuffled (with ``seed``) so classes are mixed.
    ``as_numpy=True`` returns a float array of shape (n, 64) and an int array.

    >>> images, labels = load_digits("train", classes=[0, 1], per_class=3)
    >>> len(images), len(images[0]), sorted(labels)
    (6, 64, [0, 0, 0, 1, 1, 1])
    """
    if split not in SPLIT_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    classes = _check_classes(classes)
    if per_class is not None and (not is_whole_number(per_class) or per_class < 1):
        raise ValueError(f"per_class must be a positive whole number or None, "
                         f"got {per_class!r}")
    per_class = None if per_class is None else int(per_class)
    path = Path(data_dir) / SPLIT_FILES[split] if data_dir else DATA_DIR / SPLIT_FILES[split]
    examples = _cached_split(str(path))

    rng = random.Random(seed)
    chosen = []
    for digit in classes:
        of_digit = [example for example in examples if example[1] == digit]
        if per_class is not None:
            if per_class > len(of_digit):
                raise ValueError(
                    f"asked for {per_class} images of digit {digit}, but the "
                    f"{split} split has only {len(of_digit)}; ask for at "
                    f"most {len(of_digit)} (per_class, or --per-class on the "
                    f"command line)")
            of_digit = rng.sample(of_digit, per_class)
        chosen.extend(of_digit)
    rng.shuffle(chosen)

    images = [[p / MAX_PIXEL for p in pixels] for pixels, _ in chosen]
    labels = [label for _, label in chosen]
    if as_numpy:
        import numpy as np
        return (np.array(images, dtype=float).reshape(len(images), NUM_PIXELS),
                np.array(labels, dtype=int))
    return images, labels


# ----------------------------------------------------------------------
# Showing a digit
# ----------------------------------------------------------------------

# From blank paper to full ink.
SHADES = " .:-=+*#%@"


def _check_pixels(pixels):
    """64 numbers in [0, 1] as a list of floats, or a clear error."""
    pixels = [float(p) for p in pixels]
    if len(pixels) != NUM_PIXELS:
        raise ValueError(f"a digit has {NUM_PIXELS} pixels, got {len(pixels)}")
    if not all(0.0 <= p <= 1.0 for p in pixels):
        raise ValueError("pixels must be between 0 and 1; divide raw 0..16 "
                         "values by 16 (load_digits does this for you)")
    return pixels


def digit_to_text(pixels):
    """The digit as 8 lines of text, darker characters for more ink.

    Each pixel is two characters wide so the picture is not squashed.

    >>> print(digit_to_text([1.0] * 8 + [0.0] * 56).splitlines()[0])
    @@@@@@@@@@@@@@@@
    """
    pixels = _check_pixels(pixels)
    rows = []
    for r in range(IMAGE_SIZE):
        row = pixels[r * IMAGE_SIZE:(r + 1) * IMAGE_SIZE]
        rows.append("".join(2 * SHADES[round(p * (len(SHADES) - 1))] for p in row))
    return "\n".join(rows)


def _png_chunk(kind, payload):
    """A PNG chunk: length, type, data, and a CRC of type + data."""
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))


def write_grey_png(path, rows):
    """Write a greyscale PNG: ``rows`` is a list of rows of ints 0..255.

    A PNG is a signature, a header chunk (size, 8 bits per pixel, greyscale),
    the pixel rows compressed with zlib (each row starting with filter
    byte 0, meaning "stored as is"), and an end chunk. The folder is created
    if needed; a path that cannot be written raises ``OutputError``.
    """
    height, width = len(rows), len(rows[0])
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    png = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
           + _png_chunk(b"IDAT", zlib.compress(raw, 9)) + _png_chunk(b"IEND", b""))
    return write_atomically(path, png)


PICTURE_FORMATS = (".png", ".svg")


def _greys(pixels):
    """Each pixel as a grey level 0..255: dark ink (0) on white paper (255)."""
    return [255 - round(255 * p) for p in pixels]


def digit_svg(pixels, scale=16):
    """The digit as SVG text: one grey square per pixel."""
    side = IMAGE_SIZE * scale
    squares = [f'<rect x="{i % IMAGE_SIZE}" y="{i // IMAGE_SIZE}" width="1" '
               f'height="1" fill="rgb({g},{g},{g})"/>'
               for i, g in enumerate(_greys(pixels))]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" '
            f'height="{side}" viewBox="0 0 {IMAGE_SIZE} {IMAGE_SIZE}" '
            f'shape-rendering="crispEdges">\n' + "\n".join(squares) + "\n</svg>\n")


def draw_digit(pixels, path, scale=16):
    """Save the digit as a PNG or SVG picture (by the name's ending): dark
    ink on white, each pixel a square.

    ``scale`` is the side of each square in screen pixels (16 gives 128x128).
    Returns the path written. Other endings raise ValueError.
    """
    pixels = _check_pixels(pixels)
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive whole number, got {scale!r}")
    refuse_non_regular(path)            # "it is a folder" before "no ending"
    suffix = Path(path).suffix.lower()
    if suffix not in PICTURE_FORMATS:
        raise ValueError(f"a digit picture is saved as .png or .svg, not "
                         f"{suffix or 'a name without an ending'}: {path}")
    if suffix == ".svg":
        return write_atomically(path, digit_svg(pixels, scale))
    rows = []
    for r in range(IMAGE_SIZE):
        grey = _greys(pixels[r * IMAGE_SIZE:(r + 1) * IMAGE_SIZE])
        row = [g for g in grey for _ in range(scale)]
        rows.extend([row] * scale)
    return write_grey_png(path, rows)
