"""Where the torch side of the parity suite runs: CUDA when present (``PARITY_DEVICE`` overrides),
in float64 there as on the CPU, with IEEE float32 (no TF32) for the float32 smoke tests."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from helpers import DEVICE, assert_close, copy_torch_weights, to_numpy, to_torch

from scratchnet import models
from torchnet import models as tmodels

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device (torch.cuda.is_available() is False): the parity suite's "
                                       "torch side runs on the CPU")


def test_the_torch_side_runs_on_cuda_exactly_when_present():
    expected = os.environ.get("PARITY_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    assert DEVICE.type == torch.device(expected).type
    assert to_torch(np.zeros(2)).device.type == DEVICE.type


@needs_cuda
def test_cuda_computes_ieee_float32_and_deterministic_convolutions():
    assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    assert torch.backends.cudnn.deterministic


@needs_cuda
def test_a_zoo_cnn_in_float64_on_cuda_matches_scratchnet():
    """fashion_cnn in evaluation mode (no dropout), float64 on the GPU, against scratchnet on the CPU."""
    torch.manual_seed(0)
    theirs = tmodels.fashion_cnn().to("cuda", torch.float64).eval()
    ours = models.fashion_cnn(dtype=np.float64, rng=np.random.default_rng(0))
    copy_torch_weights(ours, theirs)
    ours.eval()
    X = np.random.default_rng(1).random((3, 1, 28, 28))
    with torch.no_grad():
        Y_t = theirs(torch.from_numpy(X).to("cuda"))
    assert Y_t.device.type == "cuda"
    assert_close("fashion_cnn logits on CUDA", ours(X), to_numpy(Y_t), np.float64, k_terms=3136)
