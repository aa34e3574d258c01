"""SGD and Adam/AdamW steps and the VAE's reparameterisation on the cuda tier, against the CPU
kernels: a few steps in a row, so the optimizer state is carried as well as the parameter."""

from __future__ import annotations

import numpy as np
import pytest
from cuda_helpers import on_device, on_host, twins, within_rounding

from scratchnet.kernels import optim as reference
from scratchnet.kernels import vae as reference_vae
from scratchnet.kernels.cuda import optim as cuda_optim
from scratchnet.kernels.cuda import vae as cuda_vae

DTYPES = [np.float64, np.float32]
# (lr, momentum, dampening, weight_decay, nesterov)
SGDS = [(0.1, 0.0, 0.0, 0.0, False), (0.1, 0.9, 0.0, 1e-2, False), (0.05, 0.9, 0.3, 0.0, False),
        (0.1, 0.8, 0.0, 1e-3, True)]


def _state(dtype, seed=0, shape=(3, 7)):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for _ in range(3)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", SGDS)
def test_sgd_steps(config, dtype):
    p, g, buf = _state(dtype)
    ref_p, ref_buf, got_p, got_buf = p.copy(), buf.copy(), p.copy(), buf.copy()
    for step in range(3):
        g = g * dtype(0.5) + dtype(step)
        _, (ref_p, _, ref_buf, *_) = on_host(reference.sgd_step, ref_p, g, ref_buf, *config, step == 0)
        _, (got_p, _, got_buf, *_) = on_device(cuda_optim.sgd_step, got_p, g, got_buf, *config, step == 0)
        within_rounding(got_buf, ref_buf, np.abs(ref_buf) + np.abs(g) + np.abs(p), what=f"buf {step}")
        within_rounding(got_p, ref_p, np.abs(ref_p) + np.abs(g) + np.abs(ref_buf), what=f"p {step}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weight_decay, decoupled", [(0.0, False), (0.01, False), (0.01, True)])
def test_adam_steps(weight_decay, decoupled, dtype):
    p, g, _ = _state(dtype, seed=1)
    m, v = np.zeros_like(p), np.zeros_like(p)
    ref, got = [p, m, v], [p.copy(), m.copy(), v.copy()]
    for step in range(1, 4):
        g = g * dtype(0.9) - dtype(0.1)
        args = (1e-2, 0.9, 0.999, 1e-8, weight_decay, decoupled, step)
        _, (rp, _, rm, rv, *_) = on_host(reference.adam_step, ref[0], g, ref[1], ref[2], *args)
        _, (gp, _, gm, gv, *_) = on_device(cuda_optim.adam_step, got[0], g, got[1], got[2], *args)
        ref, got = [rp, rm, rv], [gp, gm, gv]
        within_rounding(gm, rm, np.abs(rm) + np.abs(g), what=f"m {step}")
        within_rounding(gv, rv, rv + g * g, what=f"v {step}")
        within_rounding(gp, rp, np.abs(rp) + 1e-2 * 10, what=f"p {step}")  # the step is at most ~lr


@pytest.mark.parametrize("dtype", DTYPES)
def test_reparameterize_forward_and_backward(dtype):
    rng = np.random.default_rng(2)
    mu, logvar, eps = (rng.standard_normal((5, 3)).astype(dtype) for _ in range(3))
    (_, (*_, rz, rs)), (_, (*_, gz, gs)) = twins(reference_vae.reparameterize, cuda_vae.reparameterize,
                                                 mu, logvar, eps, np.empty_like(mu), np.empty_like(mu))
    within_rounding(gs, rs, rs, what="sigma")
    within_rounding(gz, rz, np.abs(mu) + np.abs(rs * eps), what="z")
    dz = rng.standard_normal(mu.shape).astype(dtype)
    dmu0, dlv0 = np.ones_like(mu), np.full_like(mu, 0.5)  # accumulated into
    (_, (*_, rdmu, rdlv)), (_, (*_, gdmu, gdlv)) = twins(reference_vae.reparameterize_backward,
                                                         cuda_vae.reparameterize_backward, dz, eps, rs, dmu0, dlv0)
    within_rounding(gdmu, rdmu, np.abs(dz) + 1, same_order=True, what="dmu")
    within_rounding(gdlv, rdlv, np.abs(dz * eps * rs) + 0.5, same_order=True, what="dlogvar")
