"""Numba-jitted kernels: pure functions on preallocated arrays, no classes.

Three tiers (``kernels.tiers``): ``reference`` (``kernels.reference``: the loops of each formula),
``fast`` (``matmul``, ``conv``, ``fused_mlp`` on ``microkernel`` and ``vector_ir``: register tiles and
fused paths) and ``cuda`` (``kernels.cuda``: numba.cuda kernels on device arrays). The library calls
the kernels through ``kernels.ops``, whose names follow the active tier; ``use("reference")`` switches a block.
"""

from .tiers import current, use

__all__ = ["current", "use"]
