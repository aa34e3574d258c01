"""The scratch backend: a zoo model trained with scratchnet's own modules, losses and optimizers."""

from __future__ import annotations

import json

import numpy as np

from ..data.transforms import cifar_augment
from .backend import EVAL_BATCH_SIZE, Backend, flatten_state, unflatten_state
from .config import TrainConfig


def one_hot(y: np.ndarray, num_classes: int, dtype: np.dtype) -> np.ndarray:
    """``(N,)`` int labels -> ``(N, num_classes)`` one-hot rows: ``out[n, y[n]] = 1``."""
    out = np.zeros((len(y), num_classes), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


class ScratchBackend:
    """A zoo model trained with scratchnet's modules, losses and optimizers (NumPy + Numba)."""

    def __init__(self, config: TrainConfig) -> None:
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
    def train_step(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """One mini-batch: forward, loss, backward (gradients accumulate), optimizer step."""
        self.model.train()
        self.opt.zero_grad()
        y_hat = self.model(X.astype(self.dtype, copy=False))      # (N, 10)
        if not np.isfinite(y_hat).all():
            return {"loss": float("nan")}  # diverged: the loop stops and keeps the last good checkpoint
        value = self.loss(y_hat, self._targets(y, y_hat.shape[1]))
        self.model.backward(self.loss.backward())                  # fills every .grad
        self.opt.step()
        return {"loss": float(value)}
    # --8<-- [end:scratch_step]

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> dict[str, float]:
        """Mean loss and accuracy over ``(X, y)``, in evaluation mode: ``{"loss", "acc"}``."""
        self.model.eval()
        total_loss, correct = 0.0, 0
        for start in range(0, len(X), batch_size):
            Xb, yb = X[start:start + batch_size].astype(self.dtype, copy=False), y[start:start + batch_size]
            y_hat = self.model(Xb)
            if not np.isfinite(y_hat).all():
                return {"loss": float("nan"), "acc": float("nan")}  # the loop reports divergence
            total_loss += float(self.loss(y_hat, self._targets(yb, y_hat.shape[1]))) * len(yb)
            correct += int((y_hat.argmax(axis=1) == yb).sum())
        return {"loss": total_loss / len(X), "acc": correct / len(X)}

    def scores(self, X: np.ndarray, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
        """The model's outputs ``(N, 10)`` for ``X`` (logits or sigmoid outputs), in evaluation mode."""
        self.model.eval()
        return np.concatenate([self.model(X[s:s + batch_size].astype(self.dtype, copy=False)).copy()
                               for s in range(0, len(X), batch_size)])

    def predict(self, X: np.ndarray, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
        """Class predictions ``(N,)`` for ``X``, in evaluation mode."""
        self.model.eval()
        return np.concatenate([self.model(X[s:s + batch_size].astype(self.dtype, copy=False)).argmax(axis=1)
                               for s in range(0, len(X), batch_size)])

    def hidden(self, X: np.ndarray) -> np.ndarray:
        """The narrowest hidden activations ``(N, width)`` for ``X`` (latent3's 3 sigmoid units),
        in evaluation mode: the output of the narrowest activation before the last layer."""
        from ..nn import ReLU, Sigmoid, Tanh

        self.model.eval()
        A, best = X.astype(self.dtype, copy=False), None
        children = list(self.model._children.values())
        for child in children[:-1]:
            A = child(A)
            if isinstance(child, Sigmoid | Tanh | ReLU) and (best is None or A.shape[1] < best.shape[1]):
                best = A.copy()
        if best is None:
            raise TypeError(f"{type(self.model).__name__}: no hidden activation to show")
        return best

    def augment(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Random crop of the 4-padded images, then a random left-right flip (NumPy, from ``rng``)."""
        return cifar_augment(X, rng)

    def _dropouts(self) -> list:
        from ..nn import Dropout

        return [m for m in self.model._modules() if isinstance(m, Dropout)]

    def state(self) -> dict[str, np.ndarray]:
        """Model, optimizer and the Dropout generators' states (JSON) as flat NumPy arrays."""
        out: dict[str, np.ndarray] = {}
        flatten_state("model", self.model.state_dict(), out)
        flatten_state("optim", self.opt.state_dict(), out)
        if self._dropouts():
            out["rng/dropout"] = np.array(json.dumps([m.rng.bit_generator.state for m in self._dropouts()]))
        return out

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

    def train_step(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """One mini-batch of images ``(N, 1, 28, 28)``: forward (one draw of eps), loss, backward, step."""
        self.opt.zero_grad()
        X = X.reshape(len(X), -1).astype(self.dtype, copy=False)               # (N, 784)
        X_hat, mu, logvar = self.model(X)
        if not (np.isfinite(mu).all() and np.isfinite(logvar).all()):
            return {"loss": float("nan")}
        self.loss(X_hat, X, mu, logvar)
        self.model.backward(*self.loss.backward())
        self.opt.step()
        return self._metrics()

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> dict[str, float]:
        """Batch means of loss, reconstruction and KL over ``X`` (eps drawn as in training)."""
        totals = {"loss": 0.0, "reconstruction": 0.0, "kl": 0.0}
        for start in range(0, len(X), batch_size):
            Xb = X[start:start + batch_size].reshape(-1, 784).astype(self.dtype, copy=False)
            X_hat, mu, logvar = self.model(Xb)
            if not (np.isfinite(mu).all() and np.isfinite(logvar).all()):
                return {k: float("nan") for k in totals}
            self.loss(X_hat, Xb, mu, logvar)
            for k, v in self._metrics().items():
                totals[k] += v * len(Xb)
        return {k: v / len(X) for k, v in totals.items()}

    def predict(self, X: np.ndarray, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
        """A VAE makes no class predictions."""
        raise TypeError("vae: a VAE reconstructs images and makes no class predictions")

    def encode(self, X: np.ndarray) -> np.ndarray:
        """The encoder's means ``mu`` ``(N, latent)`` of images ``X``."""
        return self.model.encode(X.reshape(len(X), -1).astype(self.dtype, copy=False))[0].copy()

    def decode(self, Z: np.ndarray) -> np.ndarray:
        """Images ``(N, 784)`` in (0, 1) decoded from latent points ``Z`` ``(N, latent)``."""
        return self.model.decode(Z.astype(self.dtype, copy=False)).copy()

    def state(self) -> dict[str, np.ndarray]:
        """Model, optimizer and the eps generator's state."""
        out = super().state()
        out["rng/vae"] = np.array(json.dumps(self.model.sample.rng.bit_generator.state))
        return out

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
