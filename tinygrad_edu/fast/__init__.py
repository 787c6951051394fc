"""Layer 3, the fast paths: trace a model's loss once into a flat program (a
*tape*), then replay it without building Values, in pure Python or over a
whole batch with numpy. The numbers are the engine's.

``tape`` records and lists the program, ``numpy_replay`` runs it over a
batch, ``engines`` plugs both into the training loop (``ENGINES``).
"""

from .engines import ENGINES, NUMPY, TAPE, tape_gradient_fn
from .numpy_replay import NumpyTape, compile_numpy
from .tape import Instruction, Tape, compile_loss

__all__ = ["ENGINES", "TAPE", "NUMPY", "tape_gradient_fn", "Tape", "Instruction",
           "compile_loss", "NumpyTape", "compile_numpy"]
