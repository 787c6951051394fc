"""tinygrad-edu graph: parameters are the variables the user names with --params."""

from cli_checks import usage_error
from tinygrad_edu.cli import main

GREEN = "#1b7837"          # the palette's parameter outline


def box_line(dot_source, name):
    return next(line for line in dot_source.splitlines() if f"<B>{name}</B>" in line)


def test_params_draws_the_named_variables_as_parameters(tmp_path):
    out = tmp_path / "g.dot"
    assert main(["graph", "tanh(x*w + b)", "x=2", "w=-3", "b=6.5", "--params", "w", "b",
                 "--out", str(out)]) == 0
    source = out.read_text()
    assert GREEN in box_line(source, "w") and GREEN in box_line(source, "b")
    assert GREEN not in box_line(source, "x")


def test_without_params_every_variable_is_an_input(tmp_path):
    out = tmp_path / "g.dot"
    assert main(["graph", "tanh(x*w + b)", "x=2", "w=-3", "b=6.5", "--out", str(out)]) == 0
    source = out.read_text()
    assert all(GREEN not in box_line(source, name) for name in "xwb")


def test_params_naming_no_variable_is_a_usage_error(tmp_path, capsys):
    err = usage_error(["graph", "x*w", "x=2", "w=-3", "--params", "q",
                       "--out", str(tmp_path / "g.png")], capsys, "graph")
    assert "no variable q" in err and "it has w, x" in err
