"""Output files: never overwrite what the user did not name, never half a file.

Each test reproduces a way main once lost or damaged a file: the same path
given twice, a symlink, FIFO or device replaced by a plain file, a name too
long, a folder nobody may write in, a save killed midway, two trainings
writing one path at once.
"""

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tinygrad_edu
from tinygrad_edu.cli import main
from tinygrad_edu.learn.serialize import load_model, save_model
from tinygrad_edu.learn.nn import MLP
from tinygrad_edu.output import OutputError, write_atomically

from cli_checks import usage_error

ROOT = Path(tinygrad_edu.__file__).resolve().parent.parent     # the code under test
TINY = ["--classes", "3", "8", "--per-class", "6", "--hidden", "6",
        "--epochs", "2", "--batch-size", "4", "--quiet", "--engine", "numpy"]
QUICK = ["--classes", "3", "8", "--per-class", "2", "--hidden", "6",
         "--epochs", "1", "--quiet", "--engine", "tape"]     # no numpy to import


def tiny_model_file(path):
    """A small valid digits model saved at ``path``; returns its bytes."""
    save_model(MLP(64, [3, 2], seed=1, classes=[3, 8]), path)
    return path.read_bytes()


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.json"
    tiny_model_file(path)
    return path


# --- the same file twice ------------------------------------------------

def test_out_and_metrics_on_one_path_is_a_usage_error(tmp_path, capsys):
    old = tiny_model_file(tmp_path / "same.json")
    same = str(tmp_path / "same.json")
    err = usage_error(["train", *TINY, "--out", same, "--metrics", same], capsys)
    assert "argument --metrics:" in err and "is the same file as --out" in err
    assert capsys.readouterr().out == ""                     # before any work
    assert (tmp_path / "same.json").read_bytes() == old
    # also through another spelling of the same path, and when it does not exist yet
    other = str(tmp_path / "sub" / ".." / "new.json")
    (tmp_path / "sub").mkdir()
    err = usage_error(["train", *TINY, "--out", str(tmp_path / "new.json"),
                       "--metrics", other], capsys)
    assert "same file" in err and not (tmp_path / "new.json").exists()


def test_predict_picture_on_the_model_itself_is_refused(model_file, capsys):
    old = model_file.read_bytes()
    err = usage_error(["predict", str(model_file), "--picture",
                       str(model_file.with_suffix(".json"))], capsys)
    assert "--picture" in err
    assert model_file.read_bytes() == old


# --- paths that are not regular files ----------------------------------

def _commands(path, model_file):
    """Every command with an output flag, writing to ``path``."""
    return {
        "train --out": ["train", *TINY, "--out", path],
        "train --metrics": ["train", *TINY, "--out", str(model_file.parent / "m2.json"),
                            "--metrics", path],
        "predict --picture": ["predict", str(model_file), "--picture", path],
        "graph --out": ["graph", "x*x", "x=2", "--out", path],
        "step --html": ["step", "--html", path],
    }


@pytest.mark.parametrize("command", ["train --out", "train --metrics",
                                     "predict --picture", "graph --out", "step --html"])
def test_a_symlink_is_refused_and_its_target_untouched(command, tmp_path, model_file,
                                                       capsys):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / ("link.png" if "picture" in command or "graph" in command
                       else "link.html" if "html" in command else "link.json")
    link.symlink_to(target)
    err = usage_error(_commands(str(link), model_file)[command], capsys)
    assert "symbolic link" in err and "Traceback" not in err
    assert link.is_symlink() and target.read_text() == "keep me"


@pytest.mark.parametrize("command", ["train --out", "predict --picture", "graph --out",
                                     "step --html"])
def test_a_fifo_is_refused_not_replaced(command, tmp_path, model_file, capsys,
                                       no_replacing_special_files):
    fifo = tmp_path / ("pipe.png" if "picture" in command or "graph" in command
                       else "pipe.html" if "html" in command else "pipe.json")
    os.mkfifo(fifo)
    err = usage_error(_commands(str(fifo), model_file)[command], capsys)
    assert "FIFO" in err
    assert fifo.is_fifo()


@pytest.fixture
def no_replacing_special_files(monkeypatch):
    """Make ``os.replace`` refuse to replace anything but a regular file, so
    that code which tried (as main once did) cannot harm the machine."""
    real_replace = os.replace

    def guarded_replace(source, target, *args, **kwargs):
        if os.path.lexists(target) and not stat.S_ISREG(os.lstat(target).st_mode):
            raise AssertionError(f"tried to replace the special file {target}")
        return real_replace(source, target, *args, **kwargs)
    monkeypatch.setattr(os, "replace", guarded_replace)


@pytest.mark.parametrize("minor", [3, 7])         # copies of /dev/null, /dev/full
def test_a_device_is_refused_not_replaced(minor, tmp_path, model_file, capsys,
                                          no_replacing_special_files):
    device = tmp_path / "device.png"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    err = usage_error(["train", *TINY, "--out", str(device)], capsys)
    assert "device" in err
    err = usage_error(["predict", str(model_file), "--picture", str(device)], capsys)
    assert "device" in err
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_the_real_dev_null_is_refused(model_file, capsys, no_replacing_special_files):
    err = usage_error(["train", *TINY, "--out", "/dev/null"], capsys)
    assert "it is a device, not a regular file" in err
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_write_atomically_never_replaces_a_non_regular_file(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    for name in ("fifo", "link"):
        with pytest.raises(OutputError, match="not a regular file"):
            write_atomically(tmp_path / name, "data")
    assert (tmp_path / "fifo").is_fifo() and (tmp_path / "link").is_symlink()
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("command", ["train --out", "train --metrics",
                                     "predict --picture", "graph --out", "step --html"])
def test_a_name_too_long_is_a_usage_error(command, tmp_path, model_file, capsys):
    suffix = ".png" if "picture" in command or "graph" in command else ".json"
    path = str(tmp_path / ("n" * 300 + suffix))
    err = usage_error(_commands(path, model_file)[command], capsys)
    assert "bytes long, and the limit is 255" in err


@pytest.mark.parametrize("argv", [["explain", "--digit", "1", "--out"],
                                  ["train", *TINY, "--out"],
                                  ["predict", "{model}", "--picture"]])
def test_a_folder_name_too_long_is_a_usage_error(argv, tmp_path, model_file, capsys):
    path = str(tmp_path / ("f" * 300) / "x.png")
    err = usage_error([a.format(model=model_file) for a in argv] + [path], capsys)
    assert "the folder name fff" in err and "300 bytes long" in err


def test_a_model_name_too_long_is_a_usage_error(tmp_path, capsys):
    err = usage_error(["step", "--model", str(tmp_path / ("m" * 300))], capsys)
    assert "File name too long" in err


def test_a_folder_where_no_file_can_be_made_is_a_usage_error(model_file, capsys):
    # /proc refuses new files even to root, for whom os.access says yes.
    err = usage_error(["train", *TINY, "--out", "/proc/model.json"], capsys)
    assert "files cannot be created in the folder /proc" in err
    err = usage_error(["predict", str(model_file), "--picture", "/proc/d.png"], capsys)
    assert "files cannot be created" in err


def test_explain_refuses_a_symlinked_picture_in_its_folder(tmp_path, capsys):
    out = tmp_path / "explain"
    out.mkdir()
    (out / "step2.png").symlink_to(tmp_path / "target.png")
    err = usage_error(["explain", "--digit", "3", "--out", str(out)], capsys)
    assert "step2.png" in err and "symbolic link" in err
    assert not (tmp_path / "target.png").exists()


# --- late failures, pictures --------------------------------------------

def test_metrics_failing_after_the_model_was_saved_says_so(tmp_path, capsys,
                                                          monkeypatch):
    from tinygrad_edu.commands import train as train_command

    def metrics_fail(path, data):
        raise OutputError(f"cannot write {path}: No space left on device")
    monkeypatch.setattr(train_command, "write_atomically", metrics_fail)
    out, metrics = tmp_path / "m.json", tmp_path / "metrics.json"
    code = main(["train", *TINY, "--out", str(out), "--metrics", str(metrics)])
    assert code == 1
    err = capsys.readouterr().err
    assert f"the model was saved to {out}, but the metrics were not" in err
    assert load_model(out).classes == [3, 8]


def test_predict_picture_svg_is_real_svg_and_other_endings_are_refused(
        model_file, tmp_path, capsys):
    svg = tmp_path / "d.svg"
    assert main(["predict", str(model_file), "--picture", str(svg)]) == 0
    text = svg.read_text()
    assert text.startswith("<svg") and text.rstrip().endswith("</svg>")
    assert text.count("<rect") == 64
    err = usage_error(["predict", str(model_file), "--picture",
                       str(tmp_path / "d.gif")], capsys)
    assert "must end in .png or .svg" in err
    assert not (tmp_path / "d.gif").exists()


# --- killed saves and concurrent saves -----------------------------------

# Train, with each save slowed down (small chunks, a pause after each) and
# announced by a marker file, so the parent can kill it mid-save.
SLOW_SAVE = """
import sys, time
from tinygrad_edu import output
marker = sys.argv[1]

def slow_chunks(file, data, chunk_size=65536):
    open(marker, "w").close()
    for start in range(0, len(data), 1024):
        file.write(data[start:start + 1024])
        file.flush()
        time.sleep(0.002)

output._write_chunks = slow_chunks
from tinygrad_edu.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _python(code, *argv, **options):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", code, *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            **options)


def test_sigkill_during_saves_leaves_the_old_file_or_the_whole_new_one(tmp_path):
    path = tmp_path / "model.json"
    old = tiny_model_file(path)
    # Kill early in the save, in its middle, and (most likely) after it.
    for attempt, delay in enumerate([0.002, 0.02, 0.4]):
        marker = tmp_path / f"saving{attempt}"
        process = _python(SLOW_SAVE, str(marker), "train", *QUICK,
                          "--seed", str(attempt + 1), "--out", str(path))
        while not marker.exists() and process.poll() is None:
            time.sleep(0.005)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
        now = path.read_bytes()
        if now != old:                            # replaced: then wholly
            model = load_model(path)
            assert model.info["seed"] == attempt + 1
            old = now
    # A save after the kills removes the temporaries they left behind.
    assert main(["train", *TINY, "--out", str(path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()
                  if not p.name.startswith("saving")) == ["model.json"]


def test_two_trainings_to_one_path_at_once(tmp_path):
    path = tmp_path / "model.json"
    code = ("import sys\nfrom tinygrad_edu.cli import main\n"
            "sys.exit(main(sys.argv[1:]))")
    runs = [_python(code, "train", *TINY, "--seed", str(seed), "--out", str(path))
            for seed in (1, 2)]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    assert load_model(path).info["seed"] in (1, 2)
    assert json.loads(path.read_text())["format"] == "tinygrad_edu.mlp"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]   # no temporaries


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".model.json.{dead}.abc123.tmp"
    live = tmp_path / f".model.json.{os.getppid()}.def456.tmp"   # a running process
    other = tmp_path / f".notes.txt.{dead}.abc123.tmp"            # another file's
    for path in (stale, live, other):
        path.write_text("half a file")
    write_atomically(tmp_path / "model.json", "{}")
    assert not stale.exists() and live.exists() and other.exists()
