"""output.py: the one way files are written (folders, clear errors, atomic)."""

import os
import stat

import pytest

from tinygrad_edu import output
from tinygrad_edu.output import OutputError, prepare_output_path, write_atomically


def test_writes_text_and_bytes_creating_the_folder(tmp_path):
    text_path = write_atomically(tmp_path / "a" / "b" / "t.txt", "héllo\n")
    assert text_path.read_text(encoding="utf-8") == "héllo\n"
    bytes_path = write_atomically(tmp_path / "p.bin", b"\x00\xff")
    assert bytes_path.read_bytes() == b"\x00\xff"
    assert sorted(os.listdir(tmp_path)) == ["a", "p.bin"]      # no temp files


def test_a_folder_or_a_file_in_the_way_is_a_clear_error(tmp_path):
    with pytest.raises(OutputError, match=r"it is a folder, not a file; choose "
                                          r"another path"):
        prepare_output_path(tmp_path)
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match=r"cannot write .*f/g/h\.txt: .*f is a "
                                          r"file, not a folder"):
        write_atomically(tmp_path / "f" / "g" / "h.txt", "text")


def test_output_error_is_a_value_error_and_saving_re_exports_it():
    from tinygrad_edu.pictures import saving
    assert issubclass(OutputError, ValueError)
    assert saving.OutputError is OutputError


def test_a_failed_write_keeps_the_old_file_and_names_the_path(tmp_path, monkeypatch):
    path = write_atomically(tmp_path / "m.json", "old")

    def disk_full(file, data, chunk_size=65536):
        file.write(data[:1])
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(output, "_write_chunks", disk_full)
    with pytest.raises(OutputError, match=r"m\.json: No space left on device; "
                                          r"choose another path"):
        write_atomically(path, "new")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["m.json"]


def test_new_files_get_the_usual_permissions_and_old_ones_keep_theirs(tmp_path):
    umask = os.umask(0o022)
    try:
        fresh = write_atomically(tmp_path / "new.txt", "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644      # not mkstemp's 0600
    kept = tmp_path / "kept.txt"
    kept.write_text("x")
    kept.chmod(0o640)
    write_atomically(kept, "y")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640


def test_checking_a_path_leaves_no_new_folders_but_writing_makes_them(tmp_path):
    target = tmp_path / "a" / "b" / "file.txt"
    assert prepare_output_path(target) == target
    assert not (tmp_path / "a").exists()
    (tmp_path / "kept").mkdir()
    prepare_output_path(tmp_path / "kept" / "new" / "file.txt")
    assert (tmp_path / "kept").is_dir() and not (tmp_path / "kept" / "new").exists()
    write_atomically(target, "hello")
    assert target.read_text() == "hello"
