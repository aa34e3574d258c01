"""Datasets with hash-checked sources and a fast local cache (the data contract, notes/architecture.md).

    >>> from scratchnet.data import load
    >>> X, y = load("mnist")["train"]      # X float32 (50000, 1, 28, 28), y int64 (50000,)
"""

from .batching import batches
from .datasets import DATASETS, cache_root
from .errors import ChecksumError, DataError, DataFormatError, DatasetNotFoundError
from .loading import fetch, info, load

__all__ = ["DATASETS", "ChecksumError", "DataError", "DataFormatError", "DatasetNotFoundError",
           "batches", "cache_root", "fetch", "info", "load"]
