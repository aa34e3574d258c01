"""The run's configuration: a dataclass with readable defaults, resolved against the model zoo."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..data.datasets import DATASETS

#: The backends a run may name; scratchnet builds only ``scratch`` (``torch`` comes from torchnet).
BACKEND_NAMES = ("scratch", "torch")


# --8<-- [start:config]
@dataclass
class TrainConfig:
    """Everything that defines a run; printed at the start and stored in every checkpoint.

    ``None`` fields take the model's defaults from ``scratchnet.models.SPECS``.
    """

    model: str
    backend: str = "scratch"            # "scratch" | "torch"
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str | None = None        # "sgd" | "adam"
    momentum: float = 0.0
    weight_decay: float | None = None   # L2: g += weight_decay * p (torch.optim's)
    augment: bool | None = None         # random crop (4-padded) + horizontal flip of training batches
    dataset: str | None = None          # "mnist" | "fashion-mnist" | "cifar10"
    seed: int = 0
    split_seed: int = 0                 # validation holdout and k-fold assignment
    subset: int | None = None           # train on the first N training images only
    patience: int | None = None         # early stopping: epochs without a better validation score
    out_dir: str = "runs"
    device: str | None = None           # "cpu" | "cuda" (torch: default CUDA when present; scratch: the cuda tier)
    dtype: str = "float32"
    beta: float = 1.0                   # vae: the weight of the KL term (beta-VAE)
    latent_dim: int = 2                 # vae: size of the latent space
    dropout: float | None = None        # every Dropout's p instead of the model's (0: dropout off)
    nproc: int = 1                      # torch backend: data-parallel workers (--batch-size stays the global batch)
    amp: str | None = None              # torch backend: mixed precision "bf16" | "fp16" (autocast)
    channels_last: bool = False         # torch backend, CNNs: NHWC memory format
    compile: bool = False               # torch backend: torch.compile the training step's model
# --8<-- [end:config]

    def resolved(self) -> TrainConfig:
        """A copy with the model's defaults filled in and every field checked.

        Raises ``ValueError`` naming the field, what it must be and what it was.
        """
        from ..models import SPECS

        if self.model not in SPECS:
            raise ValueError(f"unknown model {self.model!r}; expected one of {sorted(SPECS)}")
        if self.backend not in BACKEND_NAMES:
            raise ValueError(f"backend must be 'scratch' or 'torch', got {self.backend!r}")
        spec = SPECS[self.model]
        c = dataclasses.replace(self)
        c.epochs = spec.epochs if c.epochs is None else c.epochs
        c.batch_size = spec.batch_size if c.batch_size is None else c.batch_size
        c.lr = spec.lr if c.lr is None else c.lr
        c.optimizer = spec.optimizer if c.optimizer is None else c.optimizer
        c.weight_decay = spec.weight_decay if c.weight_decay is None else c.weight_decay
        c.augment = spec.augment if c.augment is None else c.augment
        c.dataset = spec.dataset if c.dataset is None else c.dataset
        if c.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {c.dataset!r}; expected one of {sorted(DATASETS)}")
        for name in ("epochs", "batch_size"):
            if getattr(c, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(c, name)}")
        if not (c.lr > 0 and math.isfinite(c.lr)):
            raise ValueError(f"lr must be a positive finite number, got {c.lr}")
        if not (c.weight_decay >= 0 and math.isfinite(c.weight_decay)):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {c.weight_decay}")
        if not (c.beta >= 0 and math.isfinite(c.beta)):
            raise ValueError(f"beta must be a finite number >= 0, got {c.beta}")
        if c.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {c.latent_dim}")
        if c.dropout is not None and not 0 <= c.dropout < 1:
            raise ValueError(f"dropout must be a probability in [0, 1) or None (the model's), got {c.dropout}")
        _check_torch_options(c)
        return c


#: The torch backend's own options and their defaults (what a scratch run of a torch run's config resets).
TORCH_ONLY = {"nproc": 1, "amp": None, "channels_last": False, "compile": False}


def _check_torch_options(c: TrainConfig) -> None:
    """The torch backend's scale and GPU options: each names the field, the expected and the actual value."""
    from ..models import _CNNS

    if c.nproc < 1:
        raise ValueError(f"nproc must be >= 1, got {c.nproc}")
    if c.amp not in (None, "bf16", "fp16"):
        raise ValueError(f"amp must be 'bf16', 'fp16' or None, got {c.amp!r}")
    if c.amp is not None and c.dtype != "float32":
        raise ValueError(f"amp needs dtype 'float32' (autocast lowers float32 only), got {c.dtype!r}")
    if c.channels_last and c.model not in _CNNS:
        raise ValueError(f"channels_last applies to the CNNs {_CNNS}, got model {c.model!r}")
    used = [f"{name}={getattr(c, name)!r}" for name, default in TORCH_ONLY.items() if getattr(c, name) != default]
    if used and c.backend != "torch":
        raise ValueError(f"{', '.join(used)}: backend must be 'torch' for these options, got {c.backend!r}")
