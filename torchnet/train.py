"""The torch backend of the shared training loop (``scratchnet.train.Trainer``).

Same zoo model, same loss, same optimizer as ``ScratchBackend``, in idiomatic PyTorch; arrays
cross the boundary as NumPy so checkpoints load into either library.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from scratchnet.train import TrainConfig, flatten_state, unflatten_state

from . import default_device, models


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
    """A zoo model trained with torch.nn / torch.optim on ``config.device`` (CUDA when present)."""

    def __init__(self, config: TrainConfig) -> None:
        spec = models.SPECS[config.model]
        self.device = torch.device(config.device) if config.device else default_device()
        self.dtype = getattr(torch, config.dtype)
        torch.manual_seed(config.seed)
        self.model = getattr(models, config.model)().to(self.device, self.dtype)
        self.loss_name = spec.loss
        self.loss = make_loss(spec.loss)
        if config.optimizer == "sgd":
            self.opt = torch.optim.SGD(self.model.parameters(), lr=config.lr, momentum=config.momentum,
                                       weight_decay=config.weight_decay)
        elif config.optimizer == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        else:
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {config.optimizer!r}")

    def _tensors(self, X: np.ndarray, y: np.ndarray, num_classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
        Xt = torch.from_numpy(np.ascontiguousarray(X)).to(self.device, self.dtype)
        yt = torch.from_numpy(y).to(self.device)
        if self.loss_name != "cross_entropy":
            yt = F.one_hot(yt, num_classes).to(self.dtype)
        return Xt, yt

    # --8<-- [start:torch_step]
    def train_step(self, X: np.ndarray, y: np.ndarray) -> float:
        """One mini-batch: zero grads, forward, loss, autograd backward, optimizer step."""
        self.model.train()
        Xt, yt = self._tensors(X, y)
        self.opt.zero_grad()
        loss = self.loss(self.model(Xt), yt)
        loss.backward()
        self.opt.step()
        return loss.item()
    # --8<-- [end:torch_step]

    @torch.no_grad()
    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[float, float]:
        """Mean loss and accuracy over ``(X, y)``, in evaluation mode."""
        self.model.eval()
        total, correct = 0.0, 0
        for s in range(0, len(X), batch_size):
            Xt, yt = self._tensors(X[s:s + batch_size], y[s:s + batch_size])
            y_hat = self.model(Xt)
            total += float(self.loss(y_hat, yt)) * len(Xt)
            correct += int((y_hat.argmax(1).cpu().numpy() == y[s:s + batch_size]).sum())
        return total / len(X), correct / len(X)

    @torch.no_grad()
    def predict(self, X: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Class predictions ``(N,)`` for ``X``."""
        self.model.eval()
        return np.concatenate([self.model(self._tensors(X[s:s + batch_size], np.zeros(0, np.int64))[0])
                               .argmax(1).cpu().numpy() for s in range(0, len(X), batch_size)])

    def state(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        flatten_state("model", {k: v.detach().cpu().numpy() for k, v in self.model.state_dict().items()}, out)
        flatten_state("optim", _to_numpy(self.opt.state_dict()), out)
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        model_sd = unflatten_state(state, "model")
        self.model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in model_sd.items()})
        saved = unflatten_state(state, "optim")
        sd = self.opt.state_dict()
        sd["state"] = {int(i): {k: torch.as_tensor(np.asarray(v), device=self.device) for k, v in s.items()}
                       for i, s in saved.get("state", {}).items()}
        for group, saved_group in zip(sd["param_groups"], saved.get("param_groups", []), strict=False):
            for k, v in saved_group.items():
                if k != "params" and k in group:
                    group[k] = tuple(v.tolist()) if isinstance(v, np.ndarray) else v.item()
        self.opt.load_state_dict(sd)


def _to_numpy(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy()
    if isinstance(obj, dict):
        return {k: _to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_to_numpy(v) for v in obj]
    return obj
