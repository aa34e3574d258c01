"""Layers with PyTorch's names, layouts and semantics, written by hand on scratchnet's kernels."""

from .activation import Flatten, ReLU, Sigmoid, Softmax, Tanh
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .latent import Reparameterize
from .linear import Linear
from .module import Module, Parameter, Sequential
from .normalization import BatchNorm1d, BatchNorm2d, Dropout

__all__ = [
    "Reparameterize",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Dropout",
    "Flatten",
    "Linear",
    "MaxPool2d",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
]
