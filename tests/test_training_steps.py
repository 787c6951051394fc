"""The training loop's steps object and the collector pause around the Value graph."""

import gc

import pytest

from tinygrad_edu.learn.training import collector_paused


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_inside_and_left_as_it_was(enabled):
    (gc.enable if enabled else gc.disable)()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() == enabled
        with pytest.raises(KeyError):
            with collector_paused():
                raise KeyError("an error inside")
        assert gc.isenabled() == enabled
    finally:
        gc.enable()
