"""The scratch backend: a zoo model trained with scratchnet's own modules, losses and optimizers.

``--device`` picks the kernel tier the run lives on: ``cpu`` the CPU tiers (``fast``, or the one
``SCRATCHNET_KERNELS`` names), ``cuda`` the cuda tier (parameters, gradients and the optimizer's
state on the GPU from the first step to the last; each batch goes there once, metrics come back
as floats); unset, the tier active when the backend is made. Every public method runs on that tier.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

import numpy as np

from ..data.transforms import cifar_augment
from ..kernels import ops, tiers
from .backend import EVAL_BATCH_SIZE, Backend, flatten_state, unflatten_state
from .config import TrainConfig


def one_hot(y: np.ndarray, num_classes: int, dtype: np.dtype) -> np.ndarray:
    """``(N,)`` int labels -> ``(N, num_classes)`` one-hot rows: ``out[n, y[n]] = 1``."""
    out = np.zeros((len(y), num_classes), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


def device_tier(device: str | None) -> str:
    """The kernel tier for ``--device``: ``None`` the active one, ``"cpu"`` the active one if it
    runs on the CPU (else ``fast``, or ``reference`` under ``NUMBA_DISABLE_JIT=1``), ``"cuda"`` the
    cuda tier; a ValueError for anything else, or for ``cuda`` where it cannot run (no GPU and no
    ``NUMBA_ENABLE_CUDASIM=1``: the message says which)."""
    if device is None:
        return tiers.current()
    if device == "cpu":
        return tiers.current() if tiers.current() != tiers.CUDA else tiers.default_cpu_tier()
    if device == "cuda":
        return tiers.check(tiers.CUDA, "--device cuda")
    raise ValueError(f"device must be 'cpu' or 'cuda' for the scratch backend, got {device!r}")


def on_tier(method: Callable) -> Callable:
    """``method`` run on the backend's kernel tier (``self.tier``), where its model's arrays live."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        if tiers.current() == self.tier:
            return method(self, *args, **kwargs)
        with tiers.use(self.tier):
            return method(self, *args, **kwargs)

    return run


class ScratchBackend:
    """A zoo model trained with scratchnet's modules, losses and optimizers (NumPy + Numba, or
    numba.cuda with ``--device cuda``)."""

    def __init__(self, config: TrainConfig) -> None:
        self.tier = device_tier(config.device)
        self._build(config)

    @on_tier
    def _build(self, config: TrainConfig) -> None:
        from .. import models, optim

        self.dtype = np.dtype(config.dtype)
        self.loss_name = models.SPECS[config.model].loss
        self.model = self._new_model(config)
        if config.dropout is not None:  # --dropout: every Dropout's p instead of the model's
            for m in self._dropouts():
                m.p = config.dropout
        self.loss = self._new_loss(config)
        params = list(self.model.parameters())
        if config.optimizer == "sgd":
            self.opt = optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
        elif config.optimizer == "adam":
            self.opt = optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
        else:
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {config.optimizer!r}")

    def _new_model(self, config: TrainConfig):
        from .. import models

        return getattr(models, config.model)(dtype=self.dtype, rng=np.random.default_rng(config.seed))

    def _new_loss(self, config: TrainConfig):
        from .. import losses

        return {"quadratic": losses.QuadraticCost, "cross_entropy_sigmoid": losses.CrossEntropyCost,
                "cross_entropy": losses.CrossEntropyLoss, "mse_onehot": losses.MSELoss}[self.loss_name]()

    def _targets(self, y: np.ndarray, num_classes: int) -> np.ndarray:
        return y if self.loss_name == "cross_entropy" else one_hot(y, num_classes, self.dtype)

    # --8<-- [start:scratch_step]
    @on_tier
    def train_step(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """One mini-batch: forward, loss, backward (gradients accumulate), optimizer step."""
        self.model.train()
        self.opt.zero_grad()
        y_hat = self.model(ops.contiguous(X, self.dtype))         # (N, 10); the batch to the GPU on cuda
        if not ops.all_finite(y_hat):
            return {"loss": float("nan")}  # diverged: the loop stops and keeps the last good checkpoint
        value = self.loss(y_hat, self._targets(y, y_hat.shape[1]))
        self.model.backward(self.loss.backward(), needs_input_grad=False)  # fills every .grad
        self.opt.step()
        return {"loss": float(value)}
    # --8<-- [end:scratch_step]

    @on_tier
    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> dict[str, float]:
        """Mean loss and accuracy over ``(X, y)``, in evaluation mode: ``{"loss", "acc"}``."""
        self.model.eval()
        total_loss, correct = 0.0, 0
        for start in range(0, len(X), batch_size):
            Xb, yb = ops.contiguous(X[start:start + batch_size], self.dtype), y[start:start + batch_size]
            y_hat = self.model(Xb)
            if not ops.all_finite(y_hat):
                return {"loss": float("nan"), "acc": float("nan")}  # the loop reports divergence
            total_loss += float(self.loss(y_hat, self._targets(yb, y_hat.shape[1]))) * len(yb)
            correct += int((ops.to_host(y_hat).argmax(axis=1) == yb).sum())
        return {"loss": total_loss / len(X), "acc": correct / len(X)}

    @on_tier
    def scores(self, X: np.ndarray, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
        """The model's outputs ``(N, 10)`` for ``X`` (logits or sigmoid outputs), in evaluation mode."""
        self.model.eval()
        return np.concatenate([ops.to_host(self.model(ops.contiguous(X[s:s + batch_size], self.dtype)))
                               for s in range(0, len(X), batch_size)])

    @on_tier
    def predict(self, X: np.ndarray, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
        """Class predictions ``(N,)`` for ``X``, in evaluation mode."""
        self.model.eval()
        return np.concatenate([ops.to_host(self.model(ops.contiguous(X[s:s + batch_size], self.dtype))).argmax(axis=1)
                               for s in range(0, len(X), batch_size)])

    @on_tier
    def hidden(self, X: np.ndarray) -> np.ndarray:
        """The narrowest hidden activations ``(N, width)`` for ``X`` (latent3's 3 sigmoid units),
        in evaluation mode: the output of the narrowest activation before the last layer."""
        from ..nn import ReLU, Sigmoid, Tanh

        self.model.eval()
        A, best = ops.contiguous(X, self.dtype), None
        children = list(self.model._children.values())
        for child in children[:-1]:
            A = child(A)
            if isinstance(child, Sigmoid | Tanh | ReLU) and (best is None or A.shape[1] < best.shape[1]):
                best = ops.to_host(A)
        if best is None:
            raise TypeError(f"{type(self.model).__name__}: no hidden activation to show")
        return best

    def augment(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Random crop of the 4-padded images, then a random left-right flip (NumPy, from ``rng``)."""
        return cifar_augment(X, rng)

    def _dropouts(self) -> list:
        from ..nn import Dropout

        return [m for m in self.model._modules() if isinstance(m, Dropout)]

    @on_tier
    def state(self) -> dict[str, np.ndarray]:
        """Model, optimizer and the Dropout generators' states (JSON) as flat NumPy arrays."""
        out: dict[str, np.ndarray] = {}
        flatten_state("model", self.model.state_dict(), out)
        flatten_state("optim", self.opt.state_dict(), out)
        if self._dropouts():
            out["rng/dropout"] = np.array(json.dumps([m.rng.bit_generator.state for m in self._dropouts()]))
        return out

    @on_tier
    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state` (or the torch backend's: its random streams are its own)."""
        self.model.load_state_dict(unflatten_state(state, "model"))
        self.opt.load_state_dict(unflatten_state(state, "optim"))
        if "rng/dropout" in state:
            for m, saved in zip(self._dropouts(), json.loads(str(state["rng/dropout"])), strict=True):
                m.rng.bit_generator.state = saved


# --8<-- [start:scratch_vae]
class ScratchVAEBackend(ScratchBackend):
    """The zoo's ``vae``: ``models.vae(config.latent_dim)`` and ``losses.VAELoss(config.beta)``.

    Its metrics are ``"loss"`` (reconstruction + beta KL per image), ``"reconstruction"`` (BCE
    summed over the pixels) and ``"kl"``, batch means; labels are not used. The generator of
    ``eps`` is part of :meth:`state`, so a resumed run draws what it would have drawn.
    """

    def _new_model(self, config: TrainConfig):
        from .. import models

        return models.vae(config.latent_dim, dtype=self.dtype, rng=np.random.default_rng(config.seed))

    def _new_loss(self, config: TrainConfig):
        from .. import losses

        return losses.VAELoss(config.beta)

    def _metrics(self) -> dict[str, float]:
        kl = self.loss.kl
        return {"loss": self.loss.reconstruction + self.loss.beta * kl, "reconstruction": self.loss.reconstruction,
                "kl": kl}

    @on_tier
    def train_step(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """One mini-batch of images ``(N, 1, 28, 28)``: forward (one draw of eps), loss, backward, step."""
        self.opt.zero_grad()
        X = ops.contiguous(X.reshape(len(X), -1), self.dtype)                   # (N, 784)
        X_hat, mu, logvar = self.model(X)
        if not (ops.all_finite(mu) and ops.all_finite(logvar)):
            return {"loss": float("nan")}
        self.loss(X_hat, X, mu, logvar)
        self.model.backward(*self.loss.backward())
        self.opt.step()
        return self._metrics()

    @on_tier
    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> dict[str, float]:
        """Batch means of loss, reconstruction and KL over ``X`` (eps drawn as in training)."""
        totals = {"loss": 0.0, "reconstruction": 0.0, "kl": 0.0}
        for start in range(0, len(X), batch_size):
            Xb = ops.contiguous(X[start:start + batch_size].reshape(-1, 784), self.dtype)
            X_hat, mu, logvar = self.model(Xb)
            if not (ops.all_finite(mu) and ops.all_finite(logvar)):
                return {k: float("nan") for k in totals}
            self.loss(X_hat, Xb, mu, logvar)
            for k, v in self._metrics().items():
                totals[k] += v * len(Xb)
        return {k: v / len(X) for k, v in totals.items()}

    def predict(self, X: np.ndarray, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
        """A VAE makes no class predictions."""
        raise TypeError("vae: a VAE reconstructs images and makes no class predictions")

    @on_tier
    def encode(self, X: np.ndarray) -> np.ndarray:
        """The encoder's means ``mu`` ``(N, latent)`` of images ``X``."""
        return ops.to_host(self.model.encode(ops.contiguous(X.reshape(len(X), -1), self.dtype))[0])

    @on_tier
    def decode(self, Z: np.ndarray) -> np.ndarray:
        """Images ``(N, 784)`` in (0, 1) decoded from latent points ``Z`` ``(N, latent)``."""
        return ops.to_host(self.model.decode(ops.contiguous(Z, self.dtype)))

    @on_tier
    def state(self) -> dict[str, np.ndarray]:
        """Model, optimizer and the eps generator's state."""
        out = super().state()
        out["rng/vae"] = np.array(json.dumps(self.model.sample.rng.bit_generator.state))
        return out

    @on_tier
    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state` (a torch run's state restores the weights and Adam's moments)."""
        super().load_state(state)
        if "rng/vae" in state:
            self.model.sample.rng.bit_generator.state = json.loads(str(state["rng/vae"]))
# --8<-- [end:scratch_vae]


def make_backend(config: TrainConfig) -> Backend:
    """The scratch backend for ``config``; any other backend is built by its own library.

    scratchnet never imports torch: a ``"torch"`` run takes ``torchnet.train.TorchBackend(config)``
    (or ``torchnet.train.make_backend``), which the ``scratchnet`` command builds for ``--backend torch``.
    """
    if config.backend != "scratch":
        raise ValueError(f"scratchnet builds only the 'scratch' backend, got {config.backend!r}: pass "
                         f"backend=torchnet.train.TorchBackend(config) (needs pip install 'scratchnet[torch]')")
    config = config.resolved()
    return ScratchVAEBackend(config) if config.model == "vae" else ScratchBackend(config)
