"""Losses of torchnet's models that torch does not ship in one call: the VAE's."""

from __future__ import annotations

import torch
import torch.nn.functional as F


# --8<-- [start:vae_loss]
def vae_loss(X_hat: torch.Tensor, X: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float = 1.0) -> torch.Tensor:
    """PyTorch's VAE example's loss per image, averaged over the batch, with ``beta`` on the KL:
    ``(BCE summed over pixels + beta * (-1/2) sum(1 + logvar - mu^2 - exp(logvar))) / N``."""
    bce = F.binary_cross_entropy(X_hat, X.reshape(len(X), -1), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (bce + beta * kld) / len(X)
# --8<-- [end:vae_loss]
