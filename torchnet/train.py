"""The torch backend of the shared training loop (``scratchnet.train.Trainer``).

torchnet depends on scratchnet (its loop, config and state format), never the other way:
``Trainer(config, data, run_dir, backend=TorchBackend(config))``, or :func:`make_backend`.

Same zoo model, same loss, same optimizer as ``ScratchBackend``, in idiomatic PyTorch; arrays
cross the boundary as NumPy so checkpoints load into either library. Augmentation is
torchvision's ``RandomCrop(size, padding=4)`` and ``RandomHorizontalFlip()``. Dropout draws from
torch's global generator, so each backend keeps its own generator state, swaps it in for its
training steps, and stores it in the checkpoint: two runs in one process never share a stream.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scratchnet.train import EVAL_BATCH_SIZE, Backend, TrainConfig, flatten_state, unflatten_state
from scratchnet.train import make_backend as scratch_backend

from . import models, options


# --8<-- [start:torch_losses]
def make_loss(name: str):
    """The torch form of each zoo loss: same value as scratchnet.losses (mean over the batch)."""
    if name == "quadratic":            # mean_n 1/2 ||a_n - y_n||^2
        return lambda a, y: 0.5 * ((a - y) ** 2).sum(dim=1).mean()
    if name == "cross_entropy_sigmoid":  # mean_n sum_j -[y ln a + (1-y) ln(1-a)]
        return lambda a, y: F.binary_cross_entropy(a, y, reduction="sum") / a.shape[0]
    if name == "cross_entropy":        # log-softmax + NLL on class indices
        return F.cross_entropy
    if name == "mse_onehot":
        return F.mse_loss
    raise ValueError(f"unknown loss {name!r}")
# --8<-- [end:torch_losses]


class TorchBackend:
    """A zoo model trained with torch.nn / torch.optim on ``config.device`` (CUDA when present).

    The GPU path (:mod:`torchnet.options`): ``config.amp`` autocasts the forward passes (fp16 with
    loss scaling), ``config.channels_last`` keeps the CNNs' weights and batches in NHWC order, and
    ``config.compile`` runs the training step through ``torch.compile``. ``self.model`` is the
    module (its ``state_dict`` is the checkpoint's); ``self.net`` is what a training step calls:
    the model, compiled or wrapped for data parallelism (``torchnet.dist``).
    """

    def __init__(self, config: TrainConfig) -> None:
        spec = models.SPECS[config.model]
        self.device = self._device(config)
        self.dtype = getattr(torch, config.dtype)
        self.memory_format = options.memory_format(config)
        self._cuda = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=self._cuda):  # the caller's global generator is left alone
            torch.manual_seed(config.seed)
            self.model = self._new_model(config).to(self.device, self.dtype, memory_format=self.memory_format)
            self._rng_cpu, self._rng_cuda = self._get_rng()
        if config.dropout is not None:  # --dropout: every Dropout's p instead of the model's
            for m in self.model.modules():
                if isinstance(m, nn.Dropout):
                    m.p = config.dropout
        self.loss_name = spec.loss
        self.loss = self._new_loss(config)
        if config.optimizer == "sgd":
            self.opt = torch.optim.SGD(self.model.parameters(), lr=config.lr, momentum=config.momentum,
                                       weight_decay=config.weight_decay)
        elif config.optimizer == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        else:
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {config.optimizer!r}")
        self.precision = options.Precision(config.amp, self.device)
        self.net = options.compiled(self.model, config)

    def _device(self, config: TrainConfig) -> torch.device:
        return options.device_for(config)

    def _new_model(self, config: TrainConfig) -> nn.Module:
        return getattr(models, config.model)()

    def _new_loss(self, config: TrainConfig):
        return make_loss(self.loss_name)

    def _tensors(self, X: np.ndarray, y: np.ndarray, num_classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
        Xt = torch.from_numpy(np.ascontiguousarray(X)).to(self.device, self.dtype)
        if Xt.dim() == 4:  # images: NHWC with --channels-last
            Xt = Xt.contiguous(memory_format=self.memory_format)
        yt = torch.from_numpy(y).to(self.device)
        if self.loss_name != "cross_entropy":
            yt = F.one_hot(yt, num_classes).to(self.dtype)
        return Xt, yt

    def _get_rng(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        return torch.get_rng_state(), torch.cuda.get_rng_state(self.device) if self._cuda else None

    @contextlib.contextmanager
    def _own_rng(self) -> Iterator[None]:
        """Run with this backend's generator states in torch's global generators (dropout's)."""
        with torch.random.fork_rng(devices=self._cuda):
            torch.set_rng_state(self._rng_cpu)
            if self._cuda:
                torch.cuda.set_rng_state(self._rng_cuda, self.device)
            yield
            self._rng_cpu, self._rng_cuda = self._get_rng()

    # --8<-- [start:torch_step]
    def train_step(self, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """One mini-batch: zero grads, forward, loss, autograd backward, optimizer step."""
        self.model.train()
        self.opt.zero_grad()
        loss, metrics = self._loss(*self._tensors(X, y))
        self.precision.backward_step(loss, self.opt)  # loss.backward(); opt.step() (fp16: scaled)
        return metrics

    def _loss(self, Xt: torch.Tensor, yt: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The training forward pass through ``self.net`` and the batch's mean loss, with its metrics."""
        with self._own_rng(), self.precision.autocast():  # dropout's masks come from this run's stream
            y_hat = self.net(Xt)
        loss = self.loss(y_hat.to(self.dtype), yt)  # in the model's dtype, also under --amp
        return loss, {"loss": loss.item()}
    # --8<-- [end:torch_step]

    def _infer(self, Xt: torch.Tensor) -> torch.Tensor:
        """The evaluation forward pass (autocast with ``--amp``), in the model's dtype."""
        with self.precision.autocast():
            return self.model(Xt).to(self.dtype)

    @torch.no_grad()
    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> dict[str, float]:
        """Mean loss and accuracy over ``(X, y)``, in evaluation mode: ``{"loss", "acc"}``."""
        self.model.eval()
        total, correct = 0.0, 0
        for s in range(0, len(X), batch_size):
            Xt, yt = self._tensors(X[s:s + batch_size], y[s:s + batch_size])
            y_hat = self._infer(Xt)
            total += float(self.loss(y_hat, yt)) * len(Xt)
            correct += int((y_hat.argmax(1).cpu().numpy() == y[s:s + batch_size]).sum())
        return {"loss": total / len(X), "acc": correct / len(X)}

    @torch.no_grad()
    def hidden(self, X: np.ndarray) -> np.ndarray:
        """The narrowest hidden activations ``(N, width)`` (as ``ScratchBackend.hidden``)."""
        self.model.eval()
        A, best = self._tensors(X, np.zeros(0, np.int64))[0], None
        for child in list(self.model.children())[:-1]:
            A = child(A)
            if isinstance(child, nn.Sigmoid | nn.Tanh | nn.ReLU) and (best is None or A.shape[1] < best.shape[1]):
                best = A
        if best is None:
            raise TypeError(f"{type(self.model).__name__}: no hidden activation to show")
        return best.cpu().numpy().astype(np.float64 if self.dtype == torch.float64 else np.float32)

    @torch.no_grad()
    def predict(self, X: np.ndarray, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
        """Class predictions ``(N,)`` for ``X``, in evaluation mode."""
        self.model.eval()
        return np.concatenate([self._infer(self._tensors(X[s:s + batch_size], np.zeros(0, np.int64))[0])
                               .argmax(1).cpu().numpy() for s in range(0, len(X), batch_size)])

    # --8<-- [start:torch_augment]
    def augment(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """torchvision's random crop of the 4-padded image and random flip, image by image.

        torchvision draws from torch's global generator: it is seeded from the run's ``rng`` for
        this batch and put back afterwards, so dropout's stream is untouched and runs repeat.
        """
        from torchvision.transforms import v2

        augment = v2.Compose([v2.RandomCrop(X.shape[-2:], padding=4), v2.RandomHorizontalFlip()])
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(int(rng.integers(2**63)))
            images = torch.from_numpy(np.ascontiguousarray(X))               # (N, C, H, W)
            return torch.stack([augment(image) for image in images]).numpy()  # (N, C, H, W)
    # --8<-- [end:torch_augment]

    def state(self) -> dict[str, np.ndarray]:
        """Model, optimizer and torch's generator states (dropout) as flat NumPy arrays."""
        out: dict[str, np.ndarray] = {}
        flatten_state("model", {k: v.detach().cpu().numpy() for k, v in self.model.state_dict().items()}, out)
        flatten_state("optim", _to_numpy(self.opt.state_dict()), out)
        out["rng/torch_cpu"] = self._rng_cpu.numpy()
        if self._cuda:
            out["rng/torch_cuda"] = self._rng_cuda.numpy()
        out.update(self.precision.state())  # fp16's loss scale
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state` (or the scratch backend's: its random streams are its own)."""
        model_sd = unflatten_state(state, "model")
        self.model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in model_sd.items()})
        if "rng/torch_cpu" in state:
            self._rng_cpu = torch.from_numpy(np.array(state["rng/torch_cpu"]))
        if "rng/torch_cuda" in state and self._cuda:
            self._rng_cuda = torch.from_numpy(np.array(state["rng/torch_cuda"]))
        self.precision.load_state(state)
        saved = unflatten_state(state, "optim")
        sd = self.opt.state_dict()
        # Adam's "step" stays a CPU tensor, as torch.optim keeps it (unless capturable/fused)
        sd["state"] = {int(i): {k: torch.as_tensor(np.asarray(v), device="cpu" if k == "step" else self.device)
                                for k, v in s.items()}
                       for i, s in saved.get("state", {}).items()}
        for group, saved_group in zip(sd["param_groups"], saved.get("param_groups", []), strict=False):
            for k, v in saved_group.items():
                if k != "params" and k in group:
                    group[k] = tuple(v.tolist()) if isinstance(v, np.ndarray) else v.item()
        self.opt.load_state_dict(sd)


# --8<-- [start:torch_vae]
class TorchVAEBackend(TorchBackend):
    """The zoo's ``vae`` in torch: ``torchnet.models.vae(config.latent_dim)`` and
    ``torchnet.losses.vae_loss(..., config.beta)``; metrics as ``ScratchVAEBackend``'s."""

    def _new_model(self, config: TrainConfig) -> nn.Module:
        return models.vae(config.latent_dim)

    def _new_loss(self, config: TrainConfig):
        from .losses import vae_loss

        self.beta = config.beta
        return vae_loss

    def _tensors(self, X: np.ndarray, y: np.ndarray, num_classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
        """Images as rows ``(N, 784)``; the labels are not used."""
        return torch.from_numpy(np.ascontiguousarray(X.reshape(len(X), -1))).to(self.device, self.dtype), None

    def _losses(self, Xt: torch.Tensor, net: nn.Module) -> tuple[torch.Tensor, dict[str, float]]:
        with self._own_rng(), self.precision.autocast():  # eps from this run's stream
            X_hat, mu, logvar = (t.to(self.dtype) for t in net(Xt))
        loss = self.loss(X_hat, Xt, mu, logvar, self.beta)
        kl = float(-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()).detach() / len(Xt))
        return loss, {"loss": loss.item(), "reconstruction": loss.item() - self.beta * kl, "kl": kl}

    def _loss(self, Xt: torch.Tensor, yt: None) -> tuple[torch.Tensor, dict[str, float]]:
        """Forward through ``self.net`` (one draw of eps), the loss and its two parts."""
        return self._losses(Xt, self.net)

    @torch.no_grad()
    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> dict[str, float]:
        """Batch means of loss, reconstruction and KL over ``X``."""
        totals = {"loss": 0.0, "reconstruction": 0.0, "kl": 0.0}
        for s in range(0, len(X), batch_size):
            Xb = np.ascontiguousarray(X[s:s + batch_size].reshape(-1, 784))
            Xt = torch.from_numpy(Xb).to(self.device, self.dtype)
            for k, v in self._losses(Xt, self.model)[1].items():
                totals[k] += v * len(Xt)
        return {k: v / len(X) for k, v in totals.items()}

    def predict(self, X: np.ndarray, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
        """A VAE makes no class predictions."""
        raise TypeError("vae: a VAE reconstructs images and makes no class predictions")

    @torch.no_grad()
    def encode(self, X: np.ndarray) -> np.ndarray:
        """The encoder's means ``mu`` ``(N, latent)`` of images ``X``."""
        Xt = torch.from_numpy(np.ascontiguousarray(X.reshape(len(X), -1))).to(self.device, self.dtype)
        return self.model.encode(Xt)[0].cpu().numpy()

    @torch.no_grad()
    def decode(self, Z: np.ndarray) -> np.ndarray:
        """Images ``(N, 784)`` decoded from latent points ``Z`` ``(N, latent)``."""
        return self.model.decode(torch.from_numpy(np.ascontiguousarray(Z)).to(self.device, self.dtype)).cpu().numpy()
# --8<-- [end:torch_vae]


def make_backend(config: TrainConfig) -> Backend:
    """The backend ``config.backend`` names: :class:`TorchBackend` (:class:`TorchVAEBackend` for the
    ``vae``) for ``"torch"``, else scratchnet's."""
    config = config.resolved()  # the model's defaults (optimizer, lr, ...) filled in
    if config.backend != "torch":
        return scratch_backend(config)
    return TorchVAEBackend(config) if config.model == "vae" else TorchBackend(config)


def _to_numpy(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy()
    if isinstance(obj, dict):
        return {k: _to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_to_numpy(v) for v in obj]
    return obj
