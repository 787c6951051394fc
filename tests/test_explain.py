"""explain: the four steps as pictures and a text quoting the real numbers."""

import re

import pytest

from tinygrad_edu import MLP
from tinygrad_edu.cli import main
from tinygrad_edu.pictures.explain import explain_steps

from cli_checks import usage_error


def test_four_steps_with_real_numbers():
    net = MLP(64, [16, 16, 10], seed=0)
    image = [((i * 7) % 17) / 16 for i in range(64)]
    steps = explain_steps(net, image, 3)
    assert [s.number for s in steps] == [1, 2, 3, 4, 5]     # 5: the pixels
    assert '"3" output to rise' in steps[0].text
    # the quoted desired change is minus the gradient of the loss
    quoted = re.search(r"loss, is ([+-][\d.e-]*\d)", steps[0].text)[1]
    assert float(quoted) > 0
    assert f"{quoted} x activation" in steps[1].text
    assert "hidden layer 2" in steps[2].text and "hidden layer 1" in steps[3].text
    assert "should go up" in steps[2].text or "should go down" in steps[2].text


def edges(picture):
    return [l for l in picture.source.splitlines() if "->" in l]


def test_step_one_shows_no_weight_changes_step_two_does():
    net = MLP(64, [16, 16, 10], seed=0)
    image = [((i * 7) % 17) / 16 for i in range(64)]
    steps = explain_steps(net, image, 3)
    # step 1: activations and the output arrows only, no black numbered lines
    assert not any("color=black" in l for l in edges(steps[0].picture))
    assert "change3_" not in steps[0].picture.source
    assert "\u25b2" in steps[0].picture.source
    # step 2: the black lines into the "3" output, numbered
    black = [l for l in edges(steps[1].picture) if "color=black" in l]
    assert black and all("-> n3_3" in l for l in black)
    assert "change3_3_" in steps[1].picture.source
    # steps 3 and 4: black lines into a hidden layer 2, then layer 1, neuron
    assert all(re.search(r"-> n2_\d+", l) for l in edges(steps[2].picture)
               if "color=black" in l)
    assert all(re.search(r"-> n1_\d+", l) for l in edges(steps[3].picture)
               if "color=black" in l)


def test_text_and_picture_quote_the_same_numbers():
    net = MLP(64, [16, 16, 10], seed=0)
    image = [((i * 7) % 17) / 16 for i in range(64)]
    steps = explain_steps(net, image, 3)
    up = re.search(r"loss, is ([+-][\d.e-]*\d)", steps[0].text)[1]
    assert re.search(r'arrow3_3 \[label="\u25b2 ' + re.escape(up) + '"',
                     steps[0].picture.source)
    examples = re.findall(r"\): ([+-][\d.e-]*\d)", steps[1].text)
    assert examples
    for number in examples:
        assert f'label="{number}"' in steps[1].picture.source
    assert "-0.000" not in "".join(s.text for s in steps)


def test_digit_missing_from_the_model():
    net = MLP(64, [8, 2], seed=0, classes=[0, 1])
    with pytest.raises(ValueError, match="cannot recognise the digit 7"):
        explain_steps(net, [0.0] * 64, 7)


def test_command_writes_four_pictures_and_text(tmp_path, capsys):
    assert main(["explain", "--digit", "3", "--out", str(tmp_path), "--format", "svg"]) == 0
    for n in range(1, 6):
        assert (tmp_path / f"step{n}.svg").read_text().count("<svg") == 1
    text = (tmp_path / "explain.txt").read_text()
    assert text.count("Step ") == 5 and '"3"' in text
    assert text.startswith('Test image 0 of the "3"s.')
    assert "which pixels made it a" in text


def test_command_with_a_model_file_lacking_the_digit(tmp_path, capsys):
    from tinygrad_edu.learn.serialize import save_model
    path = tmp_path / "model.json"
    save_model(MLP(64, [8, 2], seed=0, classes=[0, 1]), path)
    err = usage_error(["explain", "--digit", "5", "--model", str(path),
                       "--out", str(tmp_path)], capsys)
    assert "recognises the digits 0 1, not 5" in err


@pytest.mark.parametrize("extra, words", [
    (["--model", "no/such/model.json"], "no model file"),
    (["--index", "9999"], "choose --index from 0 to"),
])
def test_explain_input_mistakes_are_usage_errors(extra, words, tmp_path, capsys):
    err = usage_error(["explain", "--digit", "3", "--out", str(tmp_path), *extra],
                      capsys)
    assert words in err
    assert not (tmp_path / "explain.txt").exists()


def test_explain_refuses_a_model_of_another_input_size(tmp_path, capsys):
    from tinygrad_edu.learn.serialize import save_model
    path = save_model(MLP(6, [4, 10], seed=0), tmp_path / "m.json")
    err = usage_error(["explain", "--digit", "3", "--model", str(path),
                       "--out", str(tmp_path / "out")], capsys)
    assert "takes 6 inputs, not the 64 pixels" in err


def test_explain_out_that_is_a_file_is_a_usage_error(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    err = usage_error(["explain", "--digit", "3", "--out", str(blocker)], capsys)
    assert "a_file is a file, not a folder" in err and "choose another path" in err


def test_graphviz_failing_is_exit_1_with_one_line(tmp_path, capsys, monkeypatch):
    """A runtime failure (not the user's input) exits 1 without usage."""
    import graphviz
    def fail(*args, **kwargs):
        raise graphviz.CalledProcessError(1, ["dot"], stderr=b"dot crashed")
    monkeypatch.setattr(graphviz.Digraph, "pipe", fail)
    assert main(["graph", "x*x", "x=1", "--out", str(tmp_path / "g.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Graphviz could not draw g.png: dot crashed" in err
    assert main(["explain", "--digit", "3", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Graphviz could not draw" in err


def test_graph_command(tmp_path, capsys):
    out = tmp_path / "g.svg"
    assert main(["graph", "tanh(x*w + b)", "x=2", "w=-3", "b=1", "--out", str(out)]) == 0
    assert "tanh" in out.read_text()
    assert main(["graph", "--neuron", "3", "--out", str(tmp_path / "n.svg")]) == 0


@pytest.mark.parametrize("argv, words", [
    (["x.__class__", "x=1"], "an attribute"),
    (["x +", "x=1"], "cannot read the formula"),
    ([], "give a formula"),
    (["--neuron", "0"], "argument --neuron: 0 is not between 1 and 50"),
    (["--neuron", "51"], "argument --neuron: 51 is not between 1 and 50"),
    (["x*x", "x=1", "--max-nodes", "0"], "argument --max-nodes: 0 must be at least 1"),
    (["x*x", "x=1", "--max-nodes", "-5"], "argument --max-nodes: -5 must be"),
    (["x*x", "x=1", "--out", "g.jpg"], "cannot save as 'jpg'"),
])
def test_graph_input_mistakes_are_usage_errors(argv, words, tmp_path, capsys,
                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = usage_error(["graph", *argv], capsys)
    assert words in err
    assert list(tmp_path.iterdir()) == []          # nothing written


def test_graph_too_large_names_the_command_line_flag(tmp_path, capsys):
    err = usage_error(["graph", "x*x + x", "x=1", "--max-nodes", "2",
                       "--out", str(tmp_path / "g.svg")], capsys)
    assert "more than --max-nodes 2" in err and "with --max-nodes 5" in err
    assert "max_nodes=" not in err and "fold=" not in err


def test_graph_out_may_not_be_a_folder_and_defaults_to_png(tmp_path, capsys):
    folder = tmp_path / "ok"
    folder.mkdir()
    err = usage_error(["graph", "x*x", "x=1", "--out", str(folder)], capsys)
    assert "it is a folder" in err
    assert list(tmp_path.iterdir()) == [folder]      # no ok.svg beside it
    assert main(["graph", "x*x", "x=1", "--out", str(tmp_path / "pic")]) == 0
    assert (tmp_path / "pic.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_out_that_cannot_be_created_is_a_usage_error(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    err = usage_error(["graph", "x*x", "x=1", "--out", str(blocker / "g.png")],
                      capsys)
    assert "a_file is a file, not a folder" in err


# -- which test image to tell: --pick -----------------------------------

def sure_of(net, image):
    """Softmax of the outputs, computed here with plain floats."""
    import math
    outputs = [o.data for o in net(image)]
    top = max(outputs)
    exps = [math.exp(o - top) for o in outputs]
    return [e / sum(exps) for e in exps]


def test_choose_image_wrong_unsure_and_first():
    from tinygrad_edu.learn.digits import load_digits
    from tinygrad_edu.pictures.explain import choose_image
    net = MLP(64, [8, 10], seed=3)
    images, _ = load_digits("test", classes=[5], per_class=30)
    sure = [sure_of(net, image) for image in images]
    wrong = [i for i, p in enumerate(sure) if max(p) != p[5]]
    right = [i for i, p in enumerate(sure) if max(p) == p[5]]
    assert wrong and right, "the untrained net should get some 5s right and some wrong"
    i, why = choose_image(net, images, 5, "wrong")
    assert i == min(wrong, key=lambda k: sure[k][5])        # the most wrong
    assert f"Test image {i}: the model gets {len(wrong)} of the 30" in why
    assert "most wrong" in why
    i, why = choose_image(net, images, 5, "unsure")
    assert i == min(right, key=lambda k: sure[k][5])        # right, least sure
    assert "least sure" in why
    second, why = choose_image(net, images, 5, "wrong", index=1)
    assert second == sorted(wrong, key=lambda k: sure[k][5])[1] and "second" in why
    assert choose_image(net, images, 5, "first", index=4)[0] == 4
    with pytest.raises(ValueError, match="choose --index from 0 to"):
        choose_image(net, images, 5, "wrong", index=len(wrong))


def test_pick_wrong_with_nothing_wrong_says_so():
    from tinygrad_edu.pictures.explain import choose_image
    net = MLP(64, [4, 2], seed=0, classes=[0, 1])
    image = [0.5] * 64
    digit = 0 if sure_of(net, image)[0] > 0.5 else 1
    i, why = choose_image(net, [image], digit, "wrong")
    assert i == 0 and "gets all 1 test images" in why and "least sure" in why


def test_command_pick_wrong_says_which_and_why(tmp_path, capsys):
    assert main(["explain", "--digit", "3", "--pick", "wrong", "--out",
                 str(tmp_path), "--format", "svg"]) == 0
    text = (tmp_path / "explain.txt").read_text()
    assert re.match(r'Test image \d+: the model gets \d+ of the \d+ test images '
                    r'of "3" wrong; this is the most wrong\. It says "\d"', text)
    assert "this is the most wrong" in capsys.readouterr().out


# -- which pixels made it a "3": the saliency map --------------------------

def test_pixel_gradients_match_central_differences():
    from tinygrad_edu.learn.losses import LOSSES
    from tinygrad_edu.pictures.saliency import pixel_gradients
    net = MLP(64, [6, 10], activation="tanh", seed=2)
    image = [((i * 5) % 11) / 10 for i in range(64)]
    g = pixel_gradients(net, image, 3)

    def output(pixels):
        return net(pixels)[3].data

    def loss(pixels):
        return LOSSES["cross_entropy"](net(pixels), 3).data

    h = 1e-6
    for i in (0, 9, 27, 63):
        up, down = list(image), list(image)
        up[i] += h
        down[i] -= h
        assert g.output_grads[i] == pytest.approx((output(up) - output(down)) / (2 * h),
                                                  abs=1e-7)
        assert g.loss_grads[i] == pytest.approx((loss(up) - loss(down)) / (2 * h),
                                                abs=1e-7)
    assert all(p.grad == 0 for p in net.parameters())      # leaves nothing behind


def test_draw_saliency_from_the_front_door_and_its_story():
    import tinygrad_edu
    from tinygrad_edu.pictures.saliency import pixel_gradients, tell_saliency
    net = MLP(64, [8, 10], seed=0)
    image = [((i * 7) % 17) / 16 for i in range(64)]
    picture = tinygrad_edu.draw_saliency(net, image, 3)
    g = pixel_gradients(net, image, 3)
    scale = max(abs(x) for x in g.output_grads)
    assert f"full colour = {scale:.4g}" in picture.source
    text = tell_saliency(g)
    rows = [sum(g.output_grads[8 * r + c] * image[8 * r + c] for c in range(8))
            for r in range(8)]
    up = max(range(8), key=rows.__getitem__)
    assert f"row {up + 1} of 8" in text and f"{rows[up]:+.3g} together" in text
    with pytest.raises(ValueError, match="cannot recognise the digit 4"):
        tinygrad_edu.draw_saliency(MLP(64, [4, 2], seed=0, classes=[0, 1]), image, 4)


def test_steps_told_without_drawing_say_the_same():
    model = MLP(64, [8, 10], seed=2)
    image = [((i * 7) % 17) / 16 for i in range(64)]
    drawn = explain_steps(model, image, 3)
    told = explain_steps(model, image, 3, draw=False)
    assert [(s.number, s.title, s.text) for s in told] == \
        [(s.number, s.title, s.text) for s in drawn]
    assert all(s.picture is None for s in told)
    assert all(s.picture is not None for s in drawn)
