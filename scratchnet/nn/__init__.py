"""Layers with PyTorch's names, layouts and semantics, written by hand on scratchnet's kernels."""

from .activation import Flatten, ReLU, Sigmoid, Softmax, Tanh
from .linear import Linear
from .module import Module, Parameter, Sequential

__all__ = ["Flatten", "Linear", "Module", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh"]
