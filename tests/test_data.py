"""The digits: loading, subsets, errors for damaged files, text and PNG."""

import gzip
import struct
import zlib
from collections import Counter

import numpy as np
import pytest

from tinygrad_edu.learn.digits import (DigitsDataError, digit_to_text, draw_digit,
                               load_digits, read_digits_file)


def test_whole_splits_are_the_uci_files_scaled_to_0_1():
    train_x, train_y = load_digits("train")
    test_x, test_y = load_digits("test")
    assert (len(train_x), len(test_x)) == (3823, 1797)
    assert all(len(x) == 64 for x in train_x)
    flat = [p for x in train_x for p in x]
    assert min(flat) == 0.0 and max(flat) == 1.0
    assert set(train_y) == set(test_y) == set(range(10))


def test_train_and_test_are_different_writers_never_mixed():
    train_x, _ = load_digits("train")
    test_x, _ = load_digits("test", classes=[0, 1], per_class=50)
    train_images = {tuple(x) for x in train_x}
    # images of other writers: (almost) none equal a training image
    assert sum(tuple(x) in train_images for x in test_x) <= 1


def test_balanced_subset_of_chosen_classes():
    x, y = load_digits("train", classes=[0, 1, 2, 3], per_class=20, seed=5)
    assert Counter(y) == {0: 20, 1: 20, 2: 20, 3: 20}
    assert y[:8] != sorted(y[:8]) or y[8:16] != sorted(y[8:16])   # shuffled


def test_same_seed_same_subset_other_seed_other_subset():
    a = load_digits("train", classes=[7], per_class=5, seed=1)
    b = load_digits("train", classes=[7], per_class=5, seed=1)
    c = load_digits("train", classes=[7], per_class=5, seed=2)
    assert a == b and a != c


def test_numpy_on_request():
    x, y = load_digits("test", classes=[3], per_class=4, as_numpy=True)
    assert isinstance(x, np.ndarray) and x.shape == (4, 64) and x.dtype == float
    assert y.tolist() == [3, 3, 3, 3]


@pytest.mark.parametrize("kwargs, message", [
    (dict(split="valid"), "split"), (dict(classes=[10]), "digits 0..9"),
    (dict(classes=[1, 1]), "twice"), (dict(per_class=0), "per_class"),
    (dict(classes=[0], per_class=1000), r"only 376; ask for at most 376 "
                                        r"\(per_class, or --per-class"),
])
def test_bad_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_digits(**kwargs)


def write_gz(path, text):
    with gzip.open(path, "wt") as file:
        file.write(text)


def test_missing_or_corrupt_data_file_is_a_clear_error(tmp_path):
    with pytest.raises(DigitsDataError, match="missing.*leave out data_dir"):
        load_digits("train", data_dir=tmp_path)
    (tmp_path / "optdigits.tra.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DigitsDataError, match="cannot read"):
        load_digits("train", data_dir=tmp_path)
    good = ",".join(["0"] * 64) + ",3\n"
    write_gz(tmp_path / "short.csv.gz", good + "1,2,3\n")
    with pytest.raises(DigitsDataError, match="line 2: expected 65"):
        read_digits_file(tmp_path / "short.csv.gz")
    write_gz(tmp_path / "big.csv.gz", ",".join(["17"] * 64) + ",3\n")
    with pytest.raises(DigitsDataError, match="line 1: pixels must be 0..16"):
        read_digits_file(tmp_path / "big.csv.gz")
    write_gz(tmp_path / "ok.csv.gz", good)
    assert read_digits_file(tmp_path / "ok.csv.gz") == [([0] * 64, 3)]


def test_digit_to_text_shades_ink_darker():
    pixels = [0.0] * 64
    pixels[0], pixels[63] = 1.0, 0.5
    lines = digit_to_text(pixels).splitlines()
    assert len(lines) == 8 and all(len(line) == 16 for line in lines)
    assert lines[0].startswith("@@") and lines[0][2:] == " " * 14
    assert lines[7][-2:] not in ("  ", "@@")
    with pytest.raises(ValueError, match="divide raw 0..16"):
        digit_to_text([16] * 64)


def read_grey_png(path):
    """Decode the simple greyscale PNG draw_digit writes (filter 0 rows)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = {}, 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        payload = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + payload)
        chunks[kind] = chunks.get(kind, b"") + payload
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 0)
    raw = zlib.decompress(chunks[b"IDAT"])
    rows = [raw[r * (width + 1):(r + 1) * (width + 1)] for r in range(height)]
    assert all(row[0] == 0 for row in rows)
    return [list(row[1:]) for row in rows]


def test_draw_digit_writes_a_png_of_the_digit(tmp_path):
    x, _ = load_digits("test", classes=[1], per_class=1)
    path = draw_digit(x[0], tmp_path / "one.png", scale=4)
    rows = read_grey_png(path)
    assert len(rows) == 32 and all(len(row) == 32 for row in rows)
    for r in range(8):
        for c in range(8):
            # each pixel is a 4x4 square: ink 1.0 is black (0), paper white (255)
            square = {rows[4 * r + i][4 * c + j] for i in range(4) for j in range(4)}
            assert square == {255 - round(255 * x[0][8 * r + c])}


def test_draw_digit_creates_the_folder_and_refuses_bad_paths(tmp_path):
    from tinygrad_edu.output import OutputError
    path = draw_digit([0.5] * 64, tmp_path / "new" / "deeper" / "d.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(OutputError, match="it is a folder"):
        draw_digit([0.5] * 64, tmp_path / "new")
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(OutputError, match="a_file is a file, not a folder"):
        draw_digit([0.5] * 64, tmp_path / "a_file" / "d.png")
