"""Layer 3, the fast paths: trace a model's loss once into a flat program (a
*tape*), then replay it without building Values, in pure Python or over a
whole batch with numpy. The numbers are the engine's.

``ops`` is the table of operations both replays use, ``traced_losses``
traces a model's loss, ``tape`` writes it down as a program and lists it,
``python_replay`` runs it one example at a time, ``python_source`` writes it
as a straight-line Python function (``tape.to_python()``), ``numpy_replay``
runs it over a batch, ``vector_optim`` steps a whole vector of weights, and
``engines`` plugs the replays into the training loop (``ENGINES``).
"""

from .engines import ENGINES, NUMPY, TAPE, tape_gradient_fn
from .numpy_replay import NumpyTape, compile_numpy
from .ops import TABLE, row_for
from .python_source import CompiledTape
from .tape import Instruction, Tape
from .traced_losses import compile_loss

__all__ = ["ENGINES", "TAPE", "NUMPY", "tape_gradient_fn", "Tape", "Instruction",
           "compile_loss", "NumpyTape", "compile_numpy", "TABLE", "row_for",
           "CompiledTape"]
