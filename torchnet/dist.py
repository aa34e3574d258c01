"""Data-parallel training with torch.distributed: ``scratchnet train MODEL --backend torch --nproc N``.

Nothing here starts processes or meets other workers by itself: :func:`launch` is torchrun
(``torch.distributed.run``, run in this process with its own arguments), and a worker it started
finds its place in the environment torchrun gives it (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``MASTER_ADDR``/``PORT``), so a run started by hand with ``torchrun ... -m scratchnet.cli train``
(several machines: ``--nnodes``) is the same run. Each worker:

- trains the same model from the same seed (DistributedDataParallel checks that it is the same
  and all-reduces the gradients), with ``SyncBatchNorm`` for the BatchNorm models
  (:mod:`torchnet.syncbn`); gloo on the CPU, NCCL and one GPU per worker (``LOCAL_RANK``) on CUDA;
- draws the same global mini-batches as a one-process run with the same seed (the same loop, the
  same generator) and trains on its contiguous shard of each (:func:`shard`), weighting its mean
  loss by the shard's share so that the averaged gradient is the global batch's mean gradient;
- reports metrics reduced over the workers, weighted by their number of images, and evaluates
  its shard of the evaluation split;
- agrees with the others, before every mini-batch, whether a stop signal arrived (:class:`AgreedStop`),
  so SIGINT / SIGTERM stop all workers at the same batch.

Rank 0 alone prints and writes the run folder (metrics, checkpoints, report, config.json); a
checkpoint has the one-process format (the bare model's ``state_dict``), so it resumes in one
process, in scratchnet, or in another number of workers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from scratchnet.train import Callback, EarlyStopping, StopRequest, TrainConfig, Trainer, stop_signals

from . import options
from .syncbn import convert_sync_batchnorm
from .train import TorchBackend, TorchVAEBackend

#: The environment torchrun gives each worker; its presence makes ``scratchnet train`` a worker.
WORKER_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE")


# --8<-- [start:launch]
def launch(command: Sequence[str], nproc: int) -> int:
    """Run ``python -m scratchnet.cli COMMAND`` as ``nproc`` workers on this machine, through torchrun.

    The same as ``torchrun --standalone --nproc-per-node NPROC -m scratchnet.cli COMMAND``: torch's
    elastic agent runs in this process, starts the workers, forwards SIGINT / SIGTERM to them and
    waits. Each worker gets ``cores / nproc`` threads unless ``OMP_NUM_THREADS`` is set. Returns the
    exit status: 0, the first failed worker's (130 for one stopped by SIGINT), or 128 + the signal
    number when a signal stopped the launcher.
    """
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    args = torchrun.get_args_parser().parse_args(["--standalone", f"--nproc-per-node={nproc}", "-m", "scratchnet.cli"])
    args.training_script_args = list(command)  # as given: torchrun's parser would read --nproc as its own option
    for name in list(logging.root.manager.loggerDict):  # each of torchrun's loggers sets its own level
        if name.startswith("torch.distributed.elastic"):
            logging.getLogger(name).setLevel(logging.ERROR)  # its warnings say what the workers say better
    try:
        torchrun.run(args)
    except SignalException as exc:  # the workers had the signal too and stopped; they printed where
        return 128 + int(exc.sigval)
    except ChildFailedError as exc:
        return next((f.exitcode for f in exc.failures.values() if f.exitcode), 1) or 1
    return 0
# --8<-- [end:launch]


def check_devices(config: TrainConfig) -> torch.device:
    """The device kind the ``config.nproc`` workers will train on, checked before any starts: on
    CUDA one GPU per worker. Raises ``ValueError`` naming how many are needed and how many there are."""
    device = options.device_for(config)
    count = torch.cuda.device_count() if device.type == "cuda" else 0
    if device.type == "cuda" and count < config.nproc:
        raise ValueError(f"nproc: {config.nproc} workers on CUDA need {config.nproc} GPUs (one each), "
                         f"this machine has {count}; use --nproc {count} or --device cpu")
    return device


def is_worker() -> bool:
    """True in a process torchrun started (its environment names the rank and the world size)."""
    return all(k in os.environ for k in WORKER_ENV)


@dataclass(frozen=True)
class World:
    """This worker's place: ``rank`` of ``size`` workers, ``local_rank`` on its machine, its device."""

    rank: int
    local_rank: int
    size: int
    device: torch.device

    @property
    def lead(self) -> bool:
        """Rank 0: the worker that prints and writes the run folder."""
        return self.rank == 0

    def weighted_mean(self, values: dict[str, float], n: int, total: int) -> dict[str, float]:
        """Each metric over all workers, weighted by images: ``sum_r n_r v_r / total``.

        ``values`` are this worker's means over its ``n`` images; every worker passes the same keys.
        """
        sums = torch.tensor([v * n for v in values.values()], dtype=torch.float64, device=self.device)
        dist.all_reduce(sums)
        return {k: s / total for k, s in zip(values, sums.tolist(), strict=True)}

    def from_lead(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every worker (``torch.distributed.broadcast_object_list``)."""
        box = [obj]
        dist.broadcast_object_list(box, src=0, device=self.device)
        return box[0]


def start(config: TrainConfig) -> World:
    """Join the workers torchrun started: ``init_process_group`` (gloo, or NCCL on CUDA), one GPU
    per worker (``cuda:LOCAL_RANK``). Raises ``ValueError`` outside torchrun or without that GPU."""
    if not is_worker():
        raise ValueError(f"torchnet.dist.start: not a torchrun worker (the environment lacks {WORKER_ENV})")
    rank, local_rank, size = (int(os.environ[k]) for k in WORKER_ENV)
    device = options.device_for(config, local_rank=local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    return World(rank, local_rank, size, device)


def stop() -> None:
    """Leave the process group (at the end of a worker's run)."""
    if dist.is_initialized():
        dist.destroy_process_group()


# --8<-- [start:shard]
def shard(n: int, rank: int, size: int) -> slice:
    """Worker ``rank``'s contiguous part of a batch of ``n``: sizes differ by at most one, the first
    ``n % size`` workers taking one more (``np.array_split``'s parts); some are empty when ``n < size``."""
    q, r = divmod(n, size)
    start = rank * q + min(rank, r)
    return slice(start, start + q + (rank < r))
# --8<-- [end:shard]


class DataParallel:
    """What makes a torch backend data-parallel (a mixin before :class:`TorchBackend` or
    :class:`TorchVAEBackend`); ``METRICS`` / ``EVAL_METRICS`` name what its steps report."""

    METRICS: tuple[str, ...] = ("loss",)
    EVAL_METRICS: tuple[str, ...] = ("loss", "acc")

    def __init__(self, config: TrainConfig, world: World) -> None:
        self.world, self.seed = world, config.seed
        super().__init__(config)
        self.model = convert_sync_batchnorm(self.model, world.device)  # the same tensors: the optimizer keeps them
        ddp = DistributedDataParallel(self.model, device_ids=[world.device.index] if world.device.type == "cuda"
                                      else None)
        self.net = options.compiled(ddp, config)

    def _device(self, config: TrainConfig) -> torch.device:
        return self.world.device

    # --8<-- [start:ddp_step]
    def train_step(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """One global mini-batch ``(X, y)`` (every worker gets the same one): this worker's shard
        forward and backward, DDP's all-reduce of the gradients, the optimizer step everywhere.

        DDP averages the workers' gradients, ``g = (1/W) sum_r g_r``. With ``g_r`` the gradient of
        ``W n_r / B`` times the mean loss over the ``n_r`` images of shard r, ``g = sum_r (n_r / B) *
        (mean gradient over shard r) = (1/B) sum_i grad loss_i``: the batch's mean gradient, for any
        shard sizes (a last batch of 5 over 2 workers: 3 and 2)."""
        part = shard(len(X), self.world.rank, self.world.size)
        n = part.stop - part.start
        self.model.train()
        self.opt.zero_grad()
        Xt, yt = self._tensors(X[part], y[part])
        if n:
            loss, metrics = self._loss(Xt, yt)
        else:  # fewer images than workers: the forward pass runs anyway (SyncBatchNorm and DDP wait for it)
            loss, metrics = self._no_loss(Xt), dict.fromkeys(self.METRICS, 0.0)
        self.precision.backward_step(loss * (self.world.size * n / len(X)), self.opt)
        return self.world.weighted_mean(metrics, n, len(X))
    # --8<-- [end:ddp_step]

    def _no_loss(self, Xt: torch.Tensor) -> torch.Tensor:
        """Zero, through the forward pass of an empty shard (every parameter gets a zero gradient)."""
        with self._own_rng(), self.precision.autocast():
            out = self.net(Xt)
        return sum(t.sum() for t in (out if isinstance(out, tuple) else (out,))) * 0.0

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> dict[str, float]:
        """Each worker evaluates its shard of ``(X, y)``; the means are combined weighted by images."""
        part = shard(len(X), self.world.rank, self.world.size)
        n = part.stop - part.start
        mine = super().evaluate(X[part], y[part], batch_size) if n else dict.fromkeys(self.EVAL_METRICS, 0.0)
        return self.world.weighted_mean(mine, n, len(X))

    def begin_epoch(self, epoch: int) -> None:
        """Workers other than rank 0 draw dropout masks (the VAE: eps) from a stream of their own,
        seeded by (seed, rank, epoch): the shards never share masks, and a run resumed at an epoch
        draws what it would have drawn. Rank 0's stream is the checkpoint's, as in one process."""
        if self.world.rank == 0:
            return
        seed = int(np.random.SeedSequence([self.seed, self.world.rank, epoch]).generate_state(1)[0])
        with torch.random.fork_rng(devices=self._cuda):
            torch.manual_seed(seed)
            self._rng_cpu, self._rng_cuda = self._get_rng()


class DataParallelBackend(DataParallel, TorchBackend):
    """:class:`TorchBackend` on one worker of several."""


class DataParallelVAEBackend(DataParallel, TorchVAEBackend):
    """:class:`TorchVAEBackend` on one worker of several."""

    METRICS = EVAL_METRICS = ("loss", "reconstruction", "kl")


def make_backend(config: TrainConfig, world: World) -> DataParallel:
    """This worker's backend for ``config`` (the VAE's or a classifier's)."""
    config = config.resolved()
    return (DataParallelVAEBackend if config.model == "vae" else DataParallelBackend)(config, world)


# --8<-- [start:agreed_stop]
class AgreedStop:
    """The run's :class:`StopRequest` as every worker sees it: :attr:`requested` is a collective
    (an all-reduce of the signal number, the largest wins), so all workers stop at the same batch,
    whichever of them the signal reached first."""

    def __init__(self, local: StopRequest, world: World) -> None:
        self.local, self.world, self.signum = local, world, None

    @property
    def requested(self) -> bool:
        flag = torch.tensor([self.local.signum or 0], device=self.world.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        self.signum = int(flag.item()) or None
        return self.signum is not None

    @property
    def delivered(self) -> bool:
        return self.local.delivered

    @delivered.setter
    def delivered(self, value: bool) -> None:
        self.local.delivered = value
# --8<-- [end:agreed_stop]


class _WorkerStreams(Callback):
    """Calls :meth:`DataParallel.begin_epoch` at the start of every epoch, on every worker."""

    def on_epoch_start(self, trainer: Trainer, epoch: int, num_batches: int) -> None:
        trainer.backend.begin_epoch(epoch)


@dataclass
class DistributedTrainer(Trainer):
    """:class:`scratchnet.train.Trainer` on one of ``world.size`` workers.

    Every worker runs the same loop on the same global batches (the backend takes its shard); rank 0
    runs all the callbacks, the others only those that decide when to stop (early stopping reads
    the reduced metrics, which every worker has), so only rank 0 writes the run folder.
    """

    world: World | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.world is None:
            raise ValueError("DistributedTrainer: world must be this worker's World (torchnet.dist.start)")
        kept = self.callbacks if self.world.lead else [cb for cb in self.callbacks if isinstance(cb, EarlyStopping)]
        self.callbacks = [_WorkerStreams(), *kept]

    def fit(self) -> dict:
        """As :meth:`Trainer.fit`, with the stop signal agreed by all workers before every batch."""
        with stop_signals(redeliver=True) as stop:
            return self._fit(AgreedStop(stop, self.world))


__all__ = ["AgreedStop", "DataParallel", "DataParallelBackend", "DataParallelVAEBackend", "DistributedTrainer",
           "World", "check_devices", "is_worker", "launch", "make_backend", "shard", "start", "stop"]
