"""BatchNorm over the global batch of every data-parallel worker: ``torch.nn.SyncBatchNorm`` on
GPUs, and the same statistics on the CPU, where torch's own refuses to run.

``torch.nn.SyncBatchNorm`` runs on GPUs only: its kernels (``batch_norm_stats``,
``batch_norm_gather_stats_with_counts``, ``batch_norm_elemt``) have no CPU implementation, and
DistributedDataParallel refuses a CPU module holding one ("SyncBatchNorm layers only work with
GPU modules"). On the CPU, :class:`CPUSyncBatchNorm` computes the same global statistics from
differentiable all-reduces (:func:`all_reduce_sum`: a sum over the workers whose backward is the
same sum of the gradients) and lets autograd derive the backward pass. :func:`convert_sync_batchnorm`
puts torch's in a GPU model and this one in a CPU model; either ``state_dict`` is BatchNorm's, key for key.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


class _AllReduceSum(torch.autograd.Function):
    """``y = sum_r x_r`` on every worker r; backward ``dx_r = sum_s dy_s`` (each x_r feeds every y_s)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, group: dist.ProcessGroup) -> torch.Tensor:
        ctx.group = group
        y = x.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(y, group=group)
        return y

    @staticmethod
    def backward(ctx, dy: torch.Tensor) -> tuple[torch.Tensor, None]:
        return _AllReduceSum.apply(dy, ctx.group), None


def all_reduce_sum(x: torch.Tensor, group: dist.ProcessGroup | None = None) -> torch.Tensor:
    """The sum of ``x`` over the workers of ``group`` (default: all), differentiable.

    ``torch.distributed.all_reduce`` works in place and autograd does not see it;
    ``torch.distributed.nn.functional.all_reduce`` does the same as this and is deprecated.
    """
    return _AllReduceSum.apply(x, group or dist.group.WORLD)


# --8<-- [start:sync_bn]
class CPUSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """``torch.nn.SyncBatchNorm`` for the CPU (gloo): BatchNorm whose statistics are the global batch's.

    Training on worker r with its shard ``x_r`` of the global batch, ``S`` the summed axes
    (the batch, and the image's height and width for ``BatchNorm2d``), over all workers::

        count = sum_r |x_r|                           (values per channel)
        mean  = sum_r sum_S x_r / count               all-reduce 1: the sums and the count
        var   = sum_r sum_S (x_r - mean)^2 / count    all-reduce 2: biased, as BatchNorm normalises
        y_r   = (x_r - mean) / sqrt(var + eps) * weight + bias
        running_var <- (1 - momentum) running_var + momentum var * count / (count - 1)

    exactly what one process computes on the whole batch. Evaluation uses the running statistics,
    without communication; so does one process alone (``torch.nn.BatchNorm``'s own forward).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.process_group = process_group

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"CPUSyncBatchNorm: expected an input of 2 or more dimensions (N, C, ...), "
                             f"got {input.dim()}D of shape {tuple(input.shape)}")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized()
                and dist.get_world_size(self.process_group) > 1):
            return super().forward(input)  # BatchNorm's: evaluation, or one process
        self._check_input_dim(input)
        x = input.to(torch.promote_types(input.dtype, torch.float32))  # statistics in float32 or better
        dims = [0, *range(2, x.dim())]                                  # all but the channels
        shape = [1, -1] + [1] * (x.dim() - 2)                           # (1, C, 1, 1) or (1, C)
        C = x.shape[1]
        local = torch.cat([x.sum(dims), x.new_tensor([x.numel() // C])])  # (C + 1,): sums and count
        total = all_reduce_sum(local, self.process_group)
        count = total[C].detach()
        mean = total[:C] / count                                        # (C,)
        centred = x - mean.reshape(shape)
        var = all_reduce_sum((centred * centred).sum(dims), self.process_group) / count
        y = centred * torch.rsqrt(var + self.eps).reshape(shape)
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach(), count)
        return y.to(input.dtype)
    # --8<-- [end:sync_bn]

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, count: torch.Tensor) -> None:
        """As ``torch.nn.BatchNorm``: momentum, or the cumulative average when momentum is None."""
        self.num_batches_tracked.add_(1)
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.mul_(1 - factor).add_(mean.to(self.running_mean.dtype), alpha=factor)
        unbiased = var * count / (count - 1)
        self.running_var.mul_(1 - factor).add_(unbiased.to(self.running_var.dtype), alpha=factor)


def convert_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Every ``BatchNorm1d/2d/3d`` in ``module`` replaced by one that normalises over all workers:
    ``torch.nn.SyncBatchNorm`` on a GPU, :class:`CPUSyncBatchNorm` on the CPU. Either holds the
    same parameter and buffer tensors (an optimizer built on ``module`` keeps working). Returns the
    converted module, as ``torch.nn.SyncBatchNorm.convert_sync_batchnorm`` does."""
    if device.type != "cpu":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, CPUSyncBatchNorm):
        out = CPUSyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                               module.track_running_stats)
        if module.affine:
            out.weight, out.bias = module.weight, module.bias
        out.running_mean, out.running_var = module.running_mean, module.running_var
        out.num_batches_tracked = module.num_batches_tracked
        out.train(module.training)
        return out
    for name, child in module.named_children():
        module.add_module(name, convert_sync_batchnorm(child, device))
    return module
