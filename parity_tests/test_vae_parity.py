"""The VAE against PyTorch's VAE example: the reparameterisation, the KL, the loss, the model, and a
10-step Adam trajectory, float64 (the gate) with shared ``eps``; ``beta`` 1 and 10."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import DEVICE, DTYPES, assert_close, copy_torch_weights, to_numpy, to_torch
from hypothesis import given
from hypothesis import strategies as st

from scratchnet import losses, models, optim
from scratchnet.kernels.vae import gaussian_kl, reparameterize, reparameterize_backward
from scratchnet.nn import Reparameterize
from torchnet import losses as tlosses
from torchnet import models as tmodels

dtype_ids = pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)


def _latents(seed: int, N: int, J: int, dtype):
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal((N, J)).astype(dtype)
    logvar = rng.uniform(-4.0, 2.0, (N, J)).astype(dtype)
    eps = rng.standard_normal((N, J)).astype(dtype)
    dz = rng.standard_normal((N, J)).astype(dtype)
    return mu, logvar, eps, dz


@dtype_ids
@given(N=st.integers(1, 9), J=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_reparameterize_and_its_gradient_match_autograd(N, J, seed, dtype):
    mu, logvar, eps, dz = _latents(seed, N, J, dtype)
    z, sigma = np.empty_like(mu), np.empty_like(mu)
    reparameterize(mu, logvar, eps, z, sigma)
    dmu, dlogvar = np.zeros_like(mu), np.zeros_like(mu)
    reparameterize_backward(dz, eps, sigma, dmu, dlogvar)
    mu_t, lv_t = to_torch(mu, True), to_torch(logvar, True)
    z_t = mu_t + to_torch(eps) * torch.exp(0.5 * lv_t)
    z_t.backward(to_torch(dz))
    assert_close("z = mu + exp(logvar/2) eps", z, z_t, dtype)
    assert_close("dC/dmu", dmu, mu_t.grad, dtype, kind="grad")
    assert_close("dC/dlogvar", dlogvar, lv_t.grad, dtype, kind="grad")
    module = Reparameterize()
    assert_close("Reparameterize module", module(mu, logvar, eps), z_t, dtype)
    got_mu, got_lv = module.backward(dz)
    assert_close("Reparameterize dmu", got_mu, mu_t.grad, dtype, kind="grad")
    assert_close("Reparameterize dlogvar", got_lv, lv_t.grad, dtype, kind="grad")


@dtype_ids
@given(N=st.integers(1, 9), J=st.integers(1, 6), seed=st.integers(0, 2**16),
       scale=st.sampled_from([1.0, 0.25, 10.0]))
def test_gaussian_kl_and_its_gradient_match_autograd(N, J, seed, scale, dtype):
    mu, logvar, _, _ = _latents(seed, N, J, dtype)
    dmu, dlogvar = np.empty_like(mu), np.empty_like(mu)
    total = gaussian_kl(mu, logvar, scale, dmu, dlogvar)
    mu_t, lv_t = to_torch(mu, True), to_torch(logvar, True)
    kl_t = -0.5 * torch.sum(1 + lv_t - mu_t.pow(2) - lv_t.exp())
    (scale * kl_t).backward()
    assert_close("KL", np.array(total), kl_t, dtype, k_terms=N * J)
    assert_close("scale dKL/dmu", dmu, mu_t.grad, dtype, kind="grad")
    assert_close("scale dKL/dlogvar", dlogvar, lv_t.grad, dtype, kind="grad")


def _pair(latent_dim: int, hidden: int, dtype, seed: int = 0):
    torch.manual_seed(seed)
    theirs = tmodels.vae(latent_dim, hidden).to(DEVICE, torch.float64 if dtype == np.float64 else torch.float32)
    ours = models.vae(latent_dim, hidden, dtype=dtype, rng=np.random.default_rng(seed))
    copy_torch_weights(ours, theirs)
    return ours, theirs


def _batch(seed: int, N: int, latent_dim: int, dtype):
    rng = np.random.default_rng(seed)
    X = rng.random((N, 784)).astype(dtype)
    X[rng.random(X.shape) < 0.5] = 0.0                       # MNIST-like: many exact zeros
    return X, rng.standard_normal((N, latent_dim)).astype(dtype)


@dtype_ids
@pytest.mark.parametrize("beta", [1.0, 10.0])
@pytest.mark.parametrize("latent_dim", [2, 5])
def test_the_whole_vae_matches_torchs_example(latent_dim, beta, dtype):
    """Outputs, the loss and its two parts, every parameter gradient; eps shared."""
    ours, theirs = _pair(latent_dim, 32, dtype)
    X, eps = _batch(1, 6, latent_dim, dtype)
    X_hat, mu, logvar = ours(X, eps)
    Xh_t, mu_t, lv_t = theirs(to_torch(X), to_torch(eps))
    loss = losses.VAELoss(beta)
    value = loss(X_hat, X, mu, logvar)
    value_t = tlosses.vae_loss(Xh_t, to_torch(X), mu_t, lv_t, beta)
    value_t.backward()
    assert_close("X_hat", X_hat, Xh_t, dtype, k_terms=32)
    assert_close("mu", mu, mu_t, dtype, k_terms=784)
    assert_close("logvar", logvar, lv_t, dtype, k_terms=784)
    assert_close(f"loss (beta {beta})", np.array(value), value_t, dtype, k_terms=784 * 6)
    recon_t = torch.nn.functional.binary_cross_entropy(Xh_t, to_torch(X), reduction="sum") / 6
    assert_close("reconstruction", np.array(loss.reconstruction), recon_t, dtype, k_terms=784 * 6)
    ours.zero_grad()
    ours.backward(*loss.backward())
    grads = dict(theirs.named_parameters())
    for key, p in ours.named_parameters():
        assert_close(f"grad {key}", p.grad, grads[key].grad, dtype, kind="grad", k_terms=784 * 6)


def _adam_steps(hidden: int, N: int, steps: int, beta: float, seed: int) -> None:
    """float64, Adam 1e-3: each step compare the loss and every gradient before the update, then
    every parameter and Adam's two moments after it."""
    dtype, terms = np.float64, 784 * N
    ours, theirs = _pair(2, hidden, dtype, seed=seed)
    opt, opt_t = optim.Adam(list(ours.parameters()), lr=1e-3), torch.optim.Adam(theirs.parameters(), lr=1e-3)
    loss = losses.VAELoss(beta)
    names = [k for k, _ in ours.named_parameters()]
    for step in range(steps):
        X, eps = _batch(100 * seed + step, N, 2, dtype)
        opt.zero_grad()
        opt_t.zero_grad()
        X_hat, mu, logvar = ours(X, eps)
        value = loss(X_hat, X, mu, logvar)
        ours.backward(*loss.backward())
        Xh_t, mu_t, lv_t = theirs(to_torch(X), to_torch(eps))
        value_t = tlosses.vae_loss(Xh_t, to_torch(X), mu_t, lv_t, beta)
        value_t.backward()
        assert_close(f"step {step} loss", np.array(value), value_t, dtype, k_terms=terms)
        grads = dict(theirs.named_parameters())
        for key, p in ours.named_parameters():
            assert_close(f"step {step} grad {key}", p.grad, grads[key].grad, dtype, kind="grad", k_terms=terms)
        opt.step()
        opt_t.step()
        state_t = {k: to_numpy(v) for k, v in theirs.state_dict().items()}
        for key, value_ in ours.state_dict().items():
            assert_close(f"step {step} {key}", value_, state_t[key], dtype, kind="grad", k_terms=terms)
        for i, p_t in enumerate(theirs.parameters()):
            for moment in ("exp_avg", "exp_avg_sq"):
                assert_close(f"step {step} {moment} {names[i]}", opt.state[i][moment], opt_t.state[p_t][moment],
                             dtype, kind="grad", k_terms=terms)


@pytest.mark.parametrize("beta", [1.0, 10.0])
def test_ten_adam_steps_of_the_vae_match_torch(beta):
    """A 10-step trajectory of a small VAE (hidden 24, 8 images a step)."""
    _adam_steps(hidden=24, N=8, steps=10, beta=beta, seed=3)


def test_vae_loss_refuses_what_it_cannot_use():
    with pytest.raises(ValueError, match=r"VAELoss: beta must be a finite number >= 0, got -1"):
        losses.VAELoss(-1)
    X = np.full((2, 784), 0.5)
    message = r"VAELoss: mu and logvar must both be \(2, latent\), got \(2, 2\) and \(2, 3\)"
    with pytest.raises(ValueError, match=message):
        losses.VAELoss()(X, X, np.zeros((2, 2)), np.zeros((2, 3)))


def test_the_zoo_sized_vae_matches_torch_on_the_threaded_kernels():
    """hidden 400 and 96 images: the BCE and Adam's update of fc1 / fc4 are big enough
    to run their threaded twins. Two steps."""
    _adam_steps(hidden=400, N=96, steps=2, beta=1.0, seed=5)
