"""Former home of the parity machinery, kept so that older test files still import from it.

New code imports from ``helpers`` (tolerances, conversions, assertions) and ``strategies``.
"""

from __future__ import annotations

from helpers import DEVICE, DTYPES, TORCH_DTYPE, assert_close, assert_equal, to_numpy, to_torch
from strategies import arrays, upstream

__all__ = ["DEVICE", "DTYPES", "TORCH_DTYPE", "arrays", "assert_close", "assert_equal", "to_numpy",
           "to_torch", "upstream"]
