"""scratchnet: the networks of Nielsen's *Neural Networks and Deep Learning*, by hand.

NumPy for the bookkeeping, Numba-jitted kernels (``scratchnet.kernels``) for the maths.
Reading order: kernels -> nn -> models -> train / cli.
"""

__version__ = "0.1.0"
