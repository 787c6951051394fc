"""One module per ``tinygrad-edu`` subcommand (see ``tinygrad_edu/cli.py``)."""
