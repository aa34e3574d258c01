"""The zoo in both libraries: same names, same SPECS, same state_dict keys and shapes, and with
torch's weights copied across, the same output in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scratchnet import models as smodels
from torchnet import models as tmodels

ARCHITECTURES = {  # name -> layer sizes, and whether the output goes through a sigmoid
    "book_mlp": ([784, 30, 10], True),
    "book_mlp100": ([784, 100, 10], True),
    "mlp_3b1b": ([784, 16, 16, 10], False),
    "linear_mask": ([784, 10], False),
    "latent3": ([784, 10, 3, 10], False),
}


def test_both_libraries_share_one_specs_table() -> None:
    assert tmodels.SPECS is smodels.SPECS
    assert set(smodels.SPECS) == set(ARCHITECTURES)
    assert smodels.SPECS["mlp_3b1b"].batch_size == 100 and smodels.SPECS["mlp_3b1b"].lr == 0.1
    assert smodels.SPECS["linear_mask"].loss == "mse_onehot"
    for spec in smodels.SPECS.values():
        assert spec.loss in ("quadratic", "cross_entropy_sigmoid", "cross_entropy", "mse_onehot")
        assert spec.optimizer in ("sgd", "adam") and spec.dataset == "mnist"


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_state_dict_keys_shapes_and_forward_match_torch(name: str) -> None:
    sizes, out_sigmoid = ARCHITECTURES[name]
    ours, theirs = (
        smodels.build(name, dtype=np.float64, rng=np.random.default_rng(0)),
        tmodels.build(name),
    )
    expected = {}
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        index = 1 + 2 * layer  # Flatten, then Linear / activation pairs
        expected[f"{index}.weight"], expected[f"{index}.bias"] = (n_out, n_in), (n_out,)
    sd_ours, sd_theirs = ours.state_dict(), theirs.state_dict()
    assert list(sd_ours) == list(sd_theirs) == list(expected)
    assert {k: v.shape for k, v in sd_ours.items()} == expected
    assert {k: tuple(v.shape) for k, v in sd_theirs.items()} == expected

    theirs = theirs.double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    X = np.random.default_rng(1).random((6, 1, 28, 28))
    with torch.no_grad():
        ref = theirs(torch.from_numpy(X)).numpy()
    out = ours(X)
    assert out.shape == (6, 10)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
    np.testing.assert_allclose(
        ours(X.reshape(6, 784)), ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max()
    )
    if out_sigmoid:
        assert ((out > 0) & (out < 1)).all()


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_float32_default_and_seeded_construction(name: str) -> None:
    a = smodels.build(name, rng=np.random.default_rng(7))
    b = smodels.build(name, rng=np.random.default_rng(7))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and va.dtype == np.float32
        np.testing.assert_array_equal(va, vb)
    for layer in a:
        if hasattr(layer, "weight"):  # torch's default U(-1/sqrt(in), 1/sqrt(in)), weight and bias
            bound = 1 / np.sqrt(layer.in_features)
            assert max(np.abs(layer.weight.data).max(), np.abs(layer.bias.data).max()) <= bound
