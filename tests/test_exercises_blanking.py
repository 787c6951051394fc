"""Blanking functions by name, whatever the file looks like around them."""

import pytest

from tinygrad_edu.exercises.blanking import (BlankingError, blank_functions,
                                             body_lines, point_imports_at,
                                             replace_bodies)
from tinygrad_edu.exercises.workbook import load_module

SOURCE = '''import math


class Shape:
    @property
    def area(self):
        return self._area

    def scale(self,
              factor: float,
              *, around=(0, 0)) -> "Shape":   # a long signature
        # the answer: grow each side
        self._area *= factor ** 2
        return self


def helper(x):  # a comment on the def line
    """Help."""

    y = x + 1   # the answer

    return y
'''


def blank(source, name, task=""):
    return blank_functions(source, [(name, "think", "exercise 9: not done yet", task)])


def test_a_long_signature_is_kept_and_a_comment_in_the_body_is_cut():
    text = blank(SOURCE, "Shape.scale", "Scale the shape.")
    assert "              *, around=(0, 0)) -> \"Shape\":   # a long signature\n" in text
    assert "the answer" not in text.split("def helper")[0]
    assert '        """Scale the shape."""\n        # Hint: think\n' in text
    assert "        raise NotImplementedError('exercise 9: not done yet')\n" in text
    compile(text, "blanked", "exec")


def test_a_docstring_is_kept_and_the_rest_of_the_file_is_untouched():
    text = blank(SOURCE, "helper")
    assert '    """Help."""\n    # Hint: think\n' in text
    assert "the answer" not in text.split("def helper")[1]
    assert text.split("def helper")[0] == SOURCE.split("def helper")[0]


def test_a_decorated_method_and_two_blanks_at_once():
    text = blank_functions(SOURCE, [("Shape.area", "a", "m1"), ("helper", "b", "m2")])
    assert "    @property\n    def area(self):\n        # Hint: a\n" in text
    assert "m2" in text and "self._area *= factor" in text


def test_mistakes_are_clear():
    with pytest.raises(BlankingError, match="no function 'nope'"):
        blank(SOURCE, "nope")
    with pytest.raises(BlankingError, match="one line"):
        blank("def f(): return 1\n", "f")


def test_body_lines_and_replace_bodies_round_trip(tmp_path):
    assert [line.strip() for line in body_lines(SOURCE, "helper") if line.strip()] == [
        "y = x + 1   # the answer", "return y"]
    path = tmp_path / "replaced.py"
    path.write_text(replace_bodies(SOURCE, {"helper": "return x * 2"}))
    assert load_module(path, "test_blanking_replaced").helper(5) == 10


def test_imports_are_pointed_at_the_workbook_or_made_absolute():
    source = ("from ..engine import Value, dot\n"
              "from .digits import (load,\n    show)\n"
              "from . import optim\n"
              "import math\n")
    text = point_imports_at(source, "tinygrad_edu.learn", {"tinygrad_edu.engine": "engine"})
    assert text == ("from engine import Value, dot\n"
                    "from tinygrad_edu.learn.digits import load, show\n"
                    "from tinygrad_edu.learn import optim\n"
                    "import math\n")
