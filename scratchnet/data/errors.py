"""The data layer's errors: each names the file, what was expected, what was found, and the remedy."""

from __future__ import annotations


class DataError(Exception):
    """Base class of every error the data layer raises."""


class DatasetNotFoundError(DataError):
    """No source could provide a dataset file; the message lists every source tried and why."""


class ChecksumError(DataError):
    """A file's SHA-256 (of its decompressed bytes) is not the one the data contract records."""


class DataFormatError(DataError):
    """A file is truncated or malformed (bad gzip, IDX header, pickle layout, CIFAR batch)."""


class DataWarning(UserWarning):
    """A damaged cache file was healed: set aside as ``.corrupt`` and rebuilt or fetched again.

    One warning per call of ``load`` / ``fetch`` / ``info``, naming each file, the expected and
    the actual digest, where the bad copy was set aside and where the good one came from.
    """
