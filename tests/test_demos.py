"""Every demo runs to completion as a script (with --quick) and writes its pictures."""

import math
import re
import subprocess
import sys
from pathlib import Path

DEMOS = Path(__file__).resolve().parent.parent / "demos"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_demo(name, out):
    done = subprocess.run([sys.executable, str(DEMOS / name), "--out", str(out),
                           "--quick"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{name} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def assert_pictures(out, *names):
    for name in names:
        path = out / name
        assert path.is_file(), f"{path} was not written"
        if path.suffix == ".png":
            data = path.read_bytes()
            assert data.startswith(PNG_SIGNATURE) and len(data) > 200, path


def test_every_demo_has_a_test():
    tested = {"one_neuron.py", "why_topological_order.py", "step_backward.py",
              "digit_forward.py", "backprop_for_three.py", "train_tiny.py"}
    demos = {p.name for p in DEMOS.glob("*.py") if not p.name.startswith("_")}
    assert demos == tested


def test_one_neuron(tmp_path):
    text = run_demo("one_neuron.py", tmp_path)
    assert_pictures(tmp_path, "one_neuron.png")
    # do/dw1 = x1 * (1 - tanh(n)^2) with n = -0.5, x1 = 0.5
    assert f"do/dw1 = {0.5 * (1 - math.tanh(-0.5) ** 2):+.4f}" in text


def test_why_topological_order(tmp_path):
    text = run_demo("why_topological_order.py", tmp_path)
    assert_pictures(tmp_path, "why_topological_order.png")
    rows = {line[:28].strip(): line[28:].split()
            for line in text.splitlines() if len(line) > 28}
    # x = 3: dy/dx = 2x + 1 = 7, dy/dw = 7u = 14, dy/du = 7w = 10.5
    assert rows["topological (backward())"] == ["7.0000", "14.0000", "10.5000"]
    assert rows["central differences"] == ["14.0000", "10.5000"]
    assert rows["naive, each time reached"][1:] != ["14.0000", "10.5000"]
    assert rows["naive, first time reached"][1:] != ["14.0000", "10.5000"]


def test_step_backward(tmp_path):
    text = run_demo("step_backward.py", tmp_path)
    assert_pictures(tmp_path, "step_backward_1.png", "step_backward_2.png",
                    "step_backward.html")
    assert "step 15 of 15" in text
    from tinygrad_edu.web.page import unpack_data
    data = unpack_data((tmp_path / "step_backward.html").read_text())
    assert len(data["forward"]["value"]) == 7 and len(data["backward"]["value"]) == 15


def test_digit_forward(tmp_path):
    text = run_demo("digit_forward.py", tmp_path)
    assert_pictures(tmp_path, "digit_forward_input.png", "digit_forward_network.png")
    probabilities = [float(p) for p in re.findall(r"^  \d: (\d\.\d+)", text, flags=re.M)]
    assert len(probabilities) == 10 and abs(sum(probabilities) - 1) < 0.01


def test_backprop_for_three(tmp_path):
    text = run_demo("backprop_for_three.py", tmp_path)
    assert_pictures(tmp_path / "backprop_for_three", "step1.png", "step2.png",
                    "step3.png", "step4.png", "explain.txt")
    # Step 2's rule in numbers: the last two columns (dL/dz x a, dL/dw) agree.
    rows = re.findall(r"^  w\.\d+\s+(\S+)\s+(\S+)\s+(\S+)$", text, flags=re.M)
    assert len(rows) == 4
    assert all(product == grad for _, product, grad in rows)


def test_train_tiny(tmp_path):
    text = run_demo("train_tiny.py", tmp_path)
    assert_pictures(tmp_path, "train_tiny_before.png", "train_tiny_after.png")
    before, after = map(int, re.search(r"from (\d+)% to (\d+)%", text).groups())
    assert after > before
