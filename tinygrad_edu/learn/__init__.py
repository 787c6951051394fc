"""Layer 1, learning: neurons and networks, losses, optimizers, the training
loop, the shipped digits and model files. Built on the engine only.

Read in this order: ``nn`` (Neuron, Layer, MLP), ``losses``, ``optim``,
``training``; ``digits`` loads the data, ``serialize`` saves and loads models,
``bridge`` takes them to PyTorch and numpy.
"""

from .bridge import from_torch, save_numpy, save_torch, to_numpy, to_torch
from .digits import DigitsDataError, digit_to_text, draw_digit, load_digits
from .losses import (LOSSES, accuracy, cross_entropy, log_sum_exp, model_loss_name,
                     mse, one_hot, softmax)
from .nn import MLP, Layer, Module, Neuron
from .optim import SGD, Adam
from .serialize import ModelFileError, load_model, save_model
from .training import VALUES, TrainingDiverged, evaluate, train

__all__ = ["Module", "Neuron", "Layer", "MLP", "mse", "softmax", "log_sum_exp",
           "cross_entropy", "accuracy", "one_hot", "LOSSES", "model_loss_name",
           "SGD", "Adam", "train", "evaluate", "TrainingDiverged", "VALUES",
           "load_digits", "digit_to_text", "draw_digit", "DigitsDataError",
           "save_model", "load_model", "ModelFileError",
           "to_torch", "from_torch", "save_torch", "to_numpy", "save_numpy"]
