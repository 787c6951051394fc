"""Checks shared by the command-line tests."""

import pytest

from tinygrad_edu.cli import main


def usage_error(argv, capsys, command=""):
    """Run ``tinygrad-edu ARGV``; check it is a usage error (exit 2, a usage
    message, no traceback); return what it printed on stderr.

    ``command`` (e.g. "step") also checks whose usage message it is.
    """
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"usage: tinygrad-edu {command}".rstrip() in err
    assert "Traceback" not in err
    return err
