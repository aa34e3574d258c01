"""Numba-jitted kernels: pure functions on preallocated arrays, no classes.

Two tiers (``kernels.tiers``): ``reference`` (``kernels.reference``: the loops of each formula)
and ``fast`` (``matmul``, ``conv``, ``fused_mlp``: micro-kernels and fused paths). The library
calls the two-tier kernels through ``kernels.ops``; ``use("reference")`` switches a block.
"""

from .tiers import current, use

__all__ = ["current", "use"]
