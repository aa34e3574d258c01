"""The zoo in both libraries: same names, same SPECS, same state_dict keys and shapes, and with
torch's weights copied across, the same output in float64 (the CNNs in evaluation mode here;
training mode, with shared dropout masks, is in parity_tests).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import scratchnet.nn as snn
from scratchnet import models as smodels
from torchnet import models as tmodels

ARCHITECTURES = {  # name -> layer sizes, and whether the output goes through a sigmoid
    "book_mlp": ([784, 30, 10], True),
    "book_mlp100": ([784, 100, 10], True),
    "mlp_3b1b": ([784, 16, 16, 10], False),
    "linear_mask": ([784, 10], False),
    "latent3": ([784, 10, 3, 10], False),
}


def _bn(prefix: str, C: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.weight": (C,), f"{prefix}.bias": (C,), f"{prefix}.running_mean": (C,),
            f"{prefix}.running_var": (C,), f"{prefix}.num_batches_tracked": ()}


# name -> every state_dict key with its shape, in order; input shape; declared output shape
CNN_STATE = {
    "book_conv": {"0.weight": (20, 1, 5, 5), "0.bias": (20,), "3.weight": (40, 20, 5, 5), "3.bias": (40,),
                  "7.weight": (100, 640), "7.bias": (100,), "9.weight": (10, 100), "9.bias": (10,)},
    "fashion_cnn": {"conv_stack.0.weight": (32, 1, 3, 3), **_bn("conv_stack.1", 32),
                    "conv_stack.4.weight": (64, 32, 3, 3), **_bn("conv_stack.5", 64),
                    "conv_stack.8.weight": (64, 64, 3, 3), **_bn("conv_stack.9", 64),
                    "fc_stack.1.weight": (256, 3136), **_bn("fc_stack.2", 256),
                    "fc_stack.5.weight": (128, 256), **_bn("fc_stack.6", 128),
                    "fc_stack.9.weight": (10, 128), "fc_stack.9.bias": (10,)},
    "cifar_cnn": {**{k: v for i, (c_in, c_out) in enumerate([(3, 32), (32, 32), (32, 64)])
                     for k, v in {f"conv_stack.{3 * i}.weight": (c_out, c_in, 3, 3),
                                  **_bn(f"conv_stack.{3 * i + 1}", c_out)}.items()},
                  **{k: v for i, (c_in, c_out) in enumerate([(64, 128), (128, 128), (128, 256)])
                     for k, v in {f"conv_stack.{10 + 3 * i}.weight": (c_out, c_in, 3, 3),
                                  **_bn(f"conv_stack.{11 + 3 * i}", c_out)}.items()},
                  "fc_stack.1.weight": (512, 16384), "fc_stack.1.bias": (512,),
                  "fc_stack.3.weight": (10, 512), "fc_stack.3.bias": (10,)},
}
CNN_INPUT = {"book_conv": (1, 28, 28), "fashion_cnn": (1, 28, 28), "cifar_cnn": (3, 32, 32)}


def test_both_libraries_share_one_specs_table() -> None:
    assert tmodels.SPECS is smodels.SPECS
    assert set(smodels.SPECS) == set(ARCHITECTURES) | set(CNN_STATE) | {"vae"}
    assert smodels.SPECS["mlp_3b1b"].batch_size == 100 and smodels.SPECS["mlp_3b1b"].lr == 0.1
    assert smodels.SPECS["linear_mask"].loss == "mse_onehot"
    for spec in smodels.SPECS.values():
        assert spec.loss in ("quadratic", "cross_entropy_sigmoid", "cross_entropy", "mse_onehot", "vae")
        assert spec.optimizer in ("sgd", "adam") and spec.dataset in ("mnist", "fashion-mnist", "cifar10")
    book, fashion, cifar = (smodels.SPECS[n] for n in ("book_conv", "fashion_cnn", "cifar_cnn"))
    assert (book.dataset, book.optimizer, book.lr, book.batch_size, book.epochs) == ("mnist", "sgd", 0.03, 10, 60)
    assert book.weight_decay == pytest.approx(2e-5)  # network3: lmbda / num_training_batches
    assert (fashion.dataset, fashion.optimizer, fashion.lr, fashion.batch_size, fashion.epochs) == \
        ("fashion-mnist", "adam", 1e-3, 64, 10)
    assert (cifar.dataset, cifar.optimizer, cifar.lr, cifar.batch_size, cifar.augment) == \
        ("cifar10", "adam", 1e-3, 64, True)
    assert not fashion.augment and not book.augment
    assert {n: smodels.SPECS[n].input_shape for n in CNN_INPUT} == CNN_INPUT


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


@pytest.mark.parametrize("name", sorted(CNN_STATE))
def test_cnn_state_dict_and_eval_forward_match_torch(name: str) -> None:
    ours, theirs = smodels.build(name, dtype=np.float64, rng=np.random.default_rng(0)), tmodels.build(name)
    sd_ours, sd_theirs = ours.state_dict(), theirs.state_dict()
    assert list(sd_ours) == list(sd_theirs) == list(CNN_STATE[name])
    assert {k: v.shape for k, v in sd_ours.items()} == CNN_STATE[name]
    assert {k: tuple(v.shape) for k, v in sd_theirs.items()} == CNN_STATE[name]
    theirs = theirs.double()
    with torch.no_grad():  # running statistics away from (0, 1), so evaluation mode is not the identity
        for key, v in theirs.state_dict().items():
            if key.endswith("running_mean"):
                v.uniform_(-0.2, 0.2)
            elif key.endswith("running_var"):
                v.uniform_(0.5, 2.0)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.eval()
    theirs.eval()
    X = np.random.default_rng(1).random((2, *CNN_INPUT[name]))
    with torch.no_grad():
        ref = theirs(torch.from_numpy(X)).numpy()
    out = ours(X)
    assert out.shape == (2, 10)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
    np.testing.assert_array_equal(ours(X), out)  # evaluation: no dropout, running statistics only


@pytest.mark.parametrize(("name", "shape", "message"), [
    ("fashion_cnn", (5, 3, 32, 32), r"fashion_cnn expects images of shape \(N, 1, 28, 28\), got \(5, 3, 32, 32\)"),
    ("cifar_cnn", (5, 1, 28, 28), r"cifar_cnn expects images of shape \(N, 3, 32, 32\), got \(5, 1, 28, 28\)"),
    ("book_conv", (5, 784), r"book_conv expects images of shape \(N, 1, 28, 28\), got \(5, 784\)"),
    ("book_mlp", (5, 3, 32, 32), r"book_mlp expects images of shape \(N, 1, 28, 28\) or \(N, 784\), got"),
])
def test_wrong_image_shape_names_model_expected_and_actual(name: str, shape, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        smodels.check_input_shape(name, shape)


def test_right_shapes_pass() -> None:
    smodels.check_input_shape("book_mlp", (5, 784))
    smodels.check_input_shape("book_mlp", (5, 1, 28, 28))
    smodels.check_input_shape("cifar_cnn", (5, 3, 32, 32))


@pytest.mark.parametrize("name", sorted(CNN_STATE))
def test_cnn_float32_default_seeded_construction_and_torch_init(name: str) -> None:
    a, b = smodels.build(name, rng=np.random.default_rng(7)), smodels.build(name, rng=np.random.default_rng(7))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and va.dtype == (np.int64 if ka.endswith("num_batches_tracked") else np.float32)
        np.testing.assert_array_equal(va, vb)
    for m in a._modules():  # torch's defaults: U(-1/sqrt(fan_in), 1/sqrt(fan_in)); BatchNorm gamma 1, beta 0
        if isinstance(m, snn.Conv2d | snn.Linear):
            bound = 1 / np.sqrt(m.weight.data[0].size)
            assert np.abs(m.weight.data).max() <= bound
            assert m.bias is None or np.abs(m.bias.data).max() <= bound
        elif isinstance(m, snn.BatchNorm1d | snn.BatchNorm2d):
            assert (m.weight.data == 1).all() and (m.bias.data == 0).all()


VAE_STATE = {"fc1.weight": (400, 784), "fc1.bias": (400,), "fc21.weight": (2, 400), "fc21.bias": (2,),
             "fc22.weight": (2, 400), "fc22.bias": (2,), "fc3.weight": (400, 2), "fc3.bias": (400,),
             "fc4.weight": (784, 400), "fc4.bias": (784,)}


def test_the_vae_has_pytorchs_example_layout_in_both_libraries() -> None:
    """The keys and shapes of PyTorch's VAE example (examples/vae/main.py), in its order; with
    torch's weights and eps copied across, the same outputs (float64)."""
    ours, theirs = smodels.build("vae", dtype=np.float64), tmodels.build("vae").double()
    assert {k: v.shape for k, v in ours.state_dict().items()} == VAE_STATE
    assert list(ours.state_dict()) == list(theirs.state_dict()) == list(VAE_STATE)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(0)
    X, eps = rng.random((3, 1, 28, 28)), rng.standard_normal((3, 2))
    with torch.no_grad():
        expected = theirs(torch.from_numpy(X), torch.from_numpy(eps))
    for got, exp in zip(ours(X, eps), expected, strict=True):
        np.testing.assert_allclose(got, exp.numpy(), rtol=1e-10, atol=1e-12)
    assert smodels.SPECS["vae"].optimizer == "adam" and smodels.SPECS["vae"].batch_size == 128
