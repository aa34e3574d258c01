"""The parity registry: every public scratchnet op, module, loss, optimizer and zoo model beside
its torch reference, the Hypothesis strategy that feeds both, and the tolerances.

``test_registry_complete.py`` fails, naming it, for anything public without an entry here and
for an entry looser than notes/architecture.md's tolerances. The tests that run the entries:

    MODULES, MODELS   test_modules.py           forward, declared shape, dX, every parameter grad
                                                (the CNNs, "costly", in test_zoo_cnn)
    LOSSES            test_losses.py            value and dC/dy_hat
    KERNELS           test_ops.py               one test per ``family``
    OPTIMIZERS        test_optim_trajectory.py  20-step trajectories, one per variant
                      test_cnn_trajectory.py    10 steps of book_conv and fashion_cnn, SGD and Adam
    ELSEWHERE         the test it names         (stateful layers, fused whole-epoch kernels)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from helpers import DESIGN_TOL, Tolerances
from hypothesis import strategies as st
from strategies import (
    ANY_SHAPE,
    OPTIMIZER_CONFIGS,
    arrays,
    batch,
    gemm_sizes,
    linear_configs,
    logits_labels,
    mlp_module_configs,
    optimizer_states,
    probabilities_soft_targets,
    real_pairs,
    rows,
    seeds,
    sigmoid_outputs_onehot,
)

import scratchnet.nn as snn
from scratchnet import losses as sl
from scratchnet import models as smodels
from scratchnet import optim as so
from scratchnet.kernels import activations as KA
from scratchnet.kernels import losses as KL
from scratchnet.kernels import matmul as KM
from scratchnet.kernels import ops as KOPS
from scratchnet.kernels import optim as KO
from scratchnet.kernels.reference import gemm as REF_GEMM
from torchnet import models as tmodels

# ----------------------------------------------------------------------------------- modules


@dataclass(frozen=True)
class ModuleEntry:
    """A ``scratchnet.nn`` module beside its ``torch.nn`` twin.

    ``configs`` draws a configuration holding at least ``input_shape``; ``ours(cfg, dtype)`` and
    ``theirs(cfg)`` build the two modules (torch's weights are then copied into ours);
    ``out_shape(cfg)`` is the *declared* output shape both must produce; ``k_terms(cfg)`` the
    length of the forward's longest reduction. Inputs are drawn unique in ``[lo, hi]``.
    """

    ours: Callable[[dict, Any], snn.Module]
    theirs: Callable[[dict], torch.nn.Module]
    configs: st.SearchStrategy[dict]
    out_shape: Callable[[dict], tuple[int, ...]]
    lo: float = -3.0
    hi: float = 3.0
    k_terms: Callable[[dict], int] = lambda cfg: 1
    tol: Tolerances = DESIGN_TOL


def _same_shape(cfg: dict) -> tuple[int, ...]:
    return cfg["input_shape"]


def _elementwise(ours: type, theirs: type, lo: float, hi: float) -> ModuleEntry:
    return ModuleEntry(ours=lambda cfg, dtype: ours(), theirs=lambda cfg: theirs(),
                       configs=st.fixed_dictionaries({"input_shape": ANY_SHAPE}),
                       out_shape=_same_shape, lo=lo, hi=hi)


ACTIVATIONS = {"sigmoid": (snn.Sigmoid, torch.nn.Sigmoid), "tanh": (snn.Tanh, torch.nn.Tanh),
               "relu": (snn.ReLU, torch.nn.ReLU)}


def mlp_ours(cfg: dict, dtype) -> snn.Sequential:
    """Linear, activation, ..., Linear (logits) for ``cfg["sizes"]`` and ``cfg["activation"]``."""
    sizes, act = cfg["sizes"], ACTIVATIONS[cfg["activation"]][0]
    layers: list[snn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(snn.Linear(a, b, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(act())
    return snn.Sequential(*layers)


def mlp_torch(cfg: dict) -> torch.nn.Sequential:
    """torch's twin of :func:`mlp_ours` (same children, same ``state_dict`` keys)."""
    sizes, act = cfg["sizes"], ACTIVATIONS[cfg["activation"]][1]
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return torch.nn.Sequential(*layers)


MODULES: dict[str, ModuleEntry] = {
    "Linear": ModuleEntry(
        ours=lambda c, dtype: snn.Linear(c["in"], c["out"], c["bias"], dtype=dtype),
        theirs=lambda c: torch.nn.Linear(c["in"], c["out"], c["bias"]),
        configs=linear_configs(), out_shape=lambda c: (c["input_shape"][0], c["out"]),
        k_terms=lambda c: c["in"]),
    # sigma and tanh saturate: +-40 reaches sigma = 1 - 4e-18, +-20 gives tanh = 1 exactly
    "Sigmoid": _elementwise(snn.Sigmoid, torch.nn.Sigmoid, -40.0, 40.0),
    "Tanh": _elementwise(snn.Tanh, torch.nn.Tanh, -20.0, 20.0),
    "ReLU": _elementwise(snn.ReLU, torch.nn.ReLU, -3.0, 3.0),
    "Softmax": ModuleEntry(
        ours=lambda c, dtype: snn.Softmax(1), theirs=lambda c: torch.nn.Softmax(1),
        configs=st.fixed_dictionaries({"input_shape": rows()}), out_shape=_same_shape,
        lo=-700.0, hi=700.0, k_terms=lambda c: c["input_shape"][1]),
    "Flatten": ModuleEntry(
        ours=lambda c, dtype: snn.Flatten(), theirs=lambda c: torch.nn.Flatten(),
        configs=st.fixed_dictionaries({"input_shape": ANY_SHAPE.filter(lambda s: len(s) >= 2)}),
        out_shape=lambda c: (c["input_shape"][0], int(np.prod(c["input_shape"][1:])))),
    "Sequential": ModuleEntry(
        ours=mlp_ours, theirs=mlp_torch, configs=mlp_module_configs(sorted(ACTIVATIONS)),
        out_shape=lambda c: (c["input_shape"][0], c["sizes"][-1]),
        k_terms=lambda c: max(c["sizes"])),
}


# ----------------------------------------------------------------------------------- zoo


@dataclass(frozen=True)
class ModelEntry:
    """A zoo model: ``scratchnet.models.NAME(dtype=...)`` beside ``torchnet.models.NAME()``.

    ``configs`` draws the batch size ``N``, the input layout (``(N, prod(input_shape))`` rows or
    ``(N, *input_shape)`` images) and a seed for the pixels and dropout masks; the declared output
    is ``(N, out_features)``. ``k_terms`` is the longest reduction of the forward pass.
    ``eval_mode``: the model behaves differently in evaluation (BatchNorm, Dropout), so it is
    compared in both modes. ``costly``: one example takes about a second (a CNN at its real
    shapes), so it runs a tenth of the profile's examples (``test_zoo_cnn``).
    """

    ours: Callable[..., snn.Sequential]
    theirs: Callable[[], torch.nn.Sequential]
    configs: st.SearchStrategy[dict] = st.fixed_dictionaries(
        {"N": batch(), "images": st.booleans(), "seed": seeds()})
    input_shape: tuple[int, ...] = (1, 28, 28)
    out_features: int = 10
    k_terms: int = 784
    eval_mode: bool = False
    costly: bool = False
    tol: Tolerances = DESIGN_TOL


def _cnn_configs(min_n: int, max_n: int) -> st.SearchStrategy[dict]:
    """Images only (the CNNs take no rows), ``min_n <= N <= max_n``."""
    return st.fixed_dictionaries({"N": st.integers(min_n, max_n), "images": st.just(True), "seed": seeds()})


MODELS: dict[str, ModelEntry] = {
    **{name: ModelEntry(ours=getattr(smodels, name), theirs=getattr(tmodels, name))
       for name in ["book_mlp", "book_mlp100", "mlp_3b1b", "linear_mask", "latent3"]},
    # Longest reductions: Linear(640, 100); Linear(3136, 256); Linear(16384, 512). fashion_cnn's
    # BatchNorm1d needs N >= 4: over 2 samples it maps every input to +-1 (its gradient is
    # identically zero, so only rounding noise would be compared) and 3 are ill-conditioned.
    "book_conv": ModelEntry(smodels.book_conv, tmodels.book_conv, _cnn_configs(1, 6), k_terms=640, costly=True),
    "fashion_cnn": ModelEntry(smodels.fashion_cnn, tmodels.fashion_cnn, _cnn_configs(4, 6), k_terms=3136,
                              eval_mode=True, costly=True),
    "cifar_cnn": ModelEntry(smodels.cifar_cnn, tmodels.cifar_cnn, _cnn_configs(2, 3), input_shape=(3, 32, 32),
                            k_terms=16384, eval_mode=True, costly=True),
}


# ----------------------------------------------------------------------------------- losses


@dataclass(frozen=True)
class LossEntry:
    """A ``scratchnet.losses`` class beside its torch form.

    ``cases(dtype)`` draws ``(y_hat, target)``; ``theirs(y_hat_t, target_t)`` is torch's scalar.
    """

    ours: type
    theirs: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    cases: Callable[[Any], st.SearchStrategy[tuple[np.ndarray, np.ndarray]]]
    tol: Tolerances = DESIGN_TOL


def book_cross_entropy_torch(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The book's ``sum nan_to_num(-y ln a - (1 - y) ln(1 - a))`` over a batch, divided by N."""
    return torch.nan_to_num(-y * torch.log(a) - (1 - y) * torch.log(1 - a)).sum() / a.shape[0]


def quadratic_torch(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The book's ``(1/N) sum_n 1/2 ||a_n - y_n||^2``."""
    return 0.5 * ((a - y) ** 2).sum(1).mean()


LOSSES: dict[str, LossEntry] = {
    "QuadraticCost": LossEntry(sl.QuadraticCost, quadratic_torch, sigmoid_outputs_onehot),
    "CrossEntropyCost": LossEntry(sl.CrossEntropyCost, book_cross_entropy_torch,
                                  sigmoid_outputs_onehot),
    "CrossEntropyLoss": LossEntry(sl.CrossEntropyLoss, F.cross_entropy, logits_labels),
    "MSELoss": LossEntry(sl.MSELoss, F.mse_loss, real_pairs),
    "BCELoss": LossEntry(sl.BCELoss, F.binary_cross_entropy, probabilities_soft_targets),
}


# ----------------------------------------------------------------------------------- kernels


@dataclass(frozen=True)
class KernelEntry:
    """Public jitted kernels beside a torch reference.

    ``family`` names the test in ``test_ops.py`` that runs the entry; each family has one
    calling convention for ``ours`` and ``theirs`` (written above the family's entries below).
    ``kernels`` are the public kernels the entry checks (for the completeness test);
    ``cases(dtype)`` draws the inputs; ``options`` holds family settings.
    """

    family: str
    kernels: tuple[Callable, ...]
    ours: Callable
    theirs: Callable
    cases: Callable[[Any], st.SearchStrategy]
    tol: Tolerances = DESIGN_TOL
    options: dict = field(default_factory=dict)


# "unary": ours(Z, dA) -> (A, dZ): forward, then backward from what it saves ("output" or
# "input"); theirs(Z_t) -> A_t, differentiated by autograd with the same dA. "rowwise" kernels
# reduce over a row of (N, C); the others take any shape.
def _unary(forward: Callable, backward: Callable, theirs: Callable, saved: str, lo: float,
           hi: float, rowwise: bool = False) -> KernelEntry:
    def ours(Z: np.ndarray, dA: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        A = forward(Z, np.full_like(Z, np.nan))
        return A, backward(A if saved == "output" else Z, dA, np.full_like(Z, np.nan))

    shapes = rows() if rowwise else ANY_SHAPE
    return KernelEntry("unary", (forward, backward), ours, theirs,
                       cases=lambda dtype: shapes.flatmap(lambda s: arrays(s, dtype, lo, hi)),
                       options={"rowwise": rowwise})


# "gemm": ours(A, B, out, beta) writes out = op(A) op(B) + beta out in place;
# theirs(A_t, B_t, C_t, beta) = torch.addmm(C_t, op(A_t), op(B_t), beta=beta).
def _gemm(kernel: Callable, trans_a: bool, trans_b: bool,
          call: Callable | None = None) -> KernelEntry:
    def theirs(A, B, C, beta):
        return torch.addmm(C, A.T if trans_a else A, B.T if trans_b else B, beta=beta)

    return KernelEntry("gemm", (kernel,), call or kernel, theirs, cases=lambda dtype: gemm_sizes(),
                       options={"trans_a": trans_a, "trans_b": trans_b})


def _matmul(trans_a: bool, trans_b: bool) -> Callable:
    """The validating Python wrapper ``matmul`` in the gemm calling convention."""
    return lambda A, B, out, beta: KOPS.matmul(A, B, trans_a, trans_b, out=out, beta=beta)


# "bias_act": ours(Z, b, act) -> f(Z + b); theirs(Z_t, b_t, act) the same in torch.
_TORCH_ACT = {KA.IDENTITY: lambda t: t, KA.SIGMOID: torch.sigmoid, KA.TANH: torch.tanh,
              KA.RELU: torch.relu}


def _bias_act_cases(dtype):
    codes = st.sampled_from(sorted(_TORCH_ACT))
    return st.tuples(rows(), codes).flatmap(lambda s: st.tuples(
        arrays(s[0], dtype, -20.0, 20.0), arrays(s[0][1:], dtype, -20.0, 20.0), st.just(s[1])))


# "bias_backward": ours(dZ, db) accumulates db += sum_n dZ[n]; theirs(dZ_t, db_t) = db + sum.
def _bias_backward_cases(dtype):
    return rows().flatmap(lambda s: st.tuples(arrays(s, dtype), arrays(s[1:], dtype)))


# "loss": ours(y_hat, y, dA) -> value, writing dC/dy_hat into dA; theirs and cases are the
# loss's in LOSSES.
def _loss_kernel(kernel: Callable, loss: str, call: Callable) -> KernelEntry:
    return KernelEntry("loss", (kernel,), call, LOSSES[loss].theirs, LOSSES[loss].cases,
                       options={"loss": loss})


def _cross_entropy_cost(a, y, dA):
    return KL.cross_entropy_cost(a, y, float(np.finfo(a.dtype).max), dA)[0]


# "optimizer": ours(p, g, state, cfg, step[, decoupled]) updates p and the state dict in place,
# as scratchnet.optim calls the kernel; theirs is the torch.optim class (AdamW when decoupled).
# Cases: (config, {shape, seed, steps_before}[, decoupled]); the state is drawn at random.
def _sgd_step(p: np.ndarray, g: np.ndarray, state: dict, cfg: dict, step: int) -> None:
    first = "momentum_buffer" not in state
    if cfg.get("momentum", 0.0) and first:
        state["momentum_buffer"] = np.full_like(p, np.nan)  # written before it is read
    KO.sgd_step(p, g, state.get("momentum_buffer", g), cfg["lr"], cfg.get("momentum", 0.0),
                cfg.get("dampening", 0.0), cfg["weight_decay"], cfg.get("nesterov", False), first)


def _adam_step(p: np.ndarray, g: np.ndarray, state: dict, cfg: dict, step: int,
               decoupled: bool) -> None:
    if not state:
        state.update(exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
    KO.adam_step(p, g, state["exp_avg"], state["exp_avg_sq"], cfg["lr"], cfg["betas"][0],
                 cfg["betas"][1], cfg["eps"], cfg["weight_decay"], decoupled, float(step))


_SGD_CONFIGS = st.sampled_from(["sgd", "momentum", "nesterov"]).flatmap(OPTIMIZER_CONFIGS.get)

KERNELS: dict[str, KernelEntry] = {
    "sigmoid": _unary(KA.sigmoid_forward, KA.sigmoid_backward, torch.sigmoid, "output",
                      -40.0, 40.0),
    "tanh": _unary(KA.tanh_forward, KA.tanh_backward, torch.tanh, "output", -20.0, 20.0),
    "relu": _unary(KA.relu_forward, KA.relu_backward, torch.relu, "input", -3.0, 3.0),
    "softmax": _unary(KA.softmax_forward, KA.softmax_backward, lambda z: torch.softmax(z, 1),
                      "output", -700.0, 700.0, rowwise=True),
    "bias_act_forward": KernelEntry(
        "bias_act", (KA.bias_act_forward,),
        ours=lambda Z, b, act: KA.bias_act_forward(Z, b, act, np.full_like(Z, np.nan)),
        theirs=lambda Z, b, act: _TORCH_ACT[act](Z + b), cases=_bias_act_cases),
    "bias_backward": KernelEntry(
        "bias_backward", (KA.bias_backward,), ours=KA.bias_backward,
        theirs=lambda dZ, db: db + dZ.sum(0), cases=_bias_backward_cases),
    "gemm_nt": _gemm(KM.gemm_nt, False, True),
    "gemm_tn": _gemm(KM.gemm_tn, True, False),
    "gemm_nn": _gemm(KM.gemm_nn, False, False),
    "reference_gemm_nt": _gemm(REF_GEMM.gemm_nt, False, True),
    "reference_gemm_tn": _gemm(REF_GEMM.gemm_tn, True, False),
    "reference_gemm_nn": _gemm(REF_GEMM.gemm_nn, False, False),
    "matmul_nt": _gemm(KOPS.matmul, False, True, _matmul(False, True)),
    "matmul_tn": _gemm(KOPS.matmul, True, False, _matmul(True, False)),
    "matmul_nn": _gemm(KOPS.matmul, False, False, _matmul(False, False)),
    "quadratic_cost": _loss_kernel(KL.quadratic_cost, "QuadraticCost",
                                   lambda a, y, dA: KL.quadratic_cost(a, y, dA)[0]),
    "cross_entropy_cost": _loss_kernel(KL.cross_entropy_cost, "CrossEntropyCost",
                                       _cross_entropy_cost),
    "mse_loss": _loss_kernel(KL.mse_loss, "MSELoss", lambda a, y, dA: KL.mse_loss(a, y, dA)[0]),
    "bce_loss": _loss_kernel(KL.bce_loss, "BCELoss", lambda a, y, dA: KL.bce_loss(a, y, dA)[0]),
    "softmax_cross_entropy": _loss_kernel(KL.softmax_cross_entropy, "CrossEntropyLoss",
                                          lambda z, y, dZ: KL.softmax_cross_entropy(z, y, dZ)[0]),
    "sgd_step": KernelEntry("optimizer", (KO.sgd_step,), ours=_sgd_step, theirs=torch.optim.SGD,
                            cases=lambda dtype: st.tuples(_SGD_CONFIGS, optimizer_states())),
    "adam_step": KernelEntry(
        "optimizer", (KO.adam_step, KO.adam_update), ours=_adam_step, theirs=torch.optim.Adam,
        cases=lambda dtype: st.tuples(OPTIMIZER_CONFIGS["adam"], optimizer_states(),
                                      st.booleans())),
}


# ----------------------------------------------------------------------------------- optimizers


@dataclass(frozen=True)
class OptimizerEntry:
    """A ``scratchnet.optim`` optimizer beside its ``torch.optim`` class, with the trajectory
    variants (keys of ``strategies.OPTIMIZER_CONFIGS``) that exercise it."""

    ours: type
    theirs: type
    variants: tuple[str, ...]
    tol: Tolerances = DESIGN_TOL


OPTIMIZERS: dict[str, OptimizerEntry] = {
    "SGD": OptimizerEntry(so.SGD, torch.optim.SGD, ("sgd", "momentum", "nesterov")),
    "Adam": OptimizerEntry(so.Adam, torch.optim.Adam, ("adam",)),
    "AdamW": OptimizerEntry(so.AdamW, torch.optim.AdamW, ("adamw",)),
}


# ----------------------------------------------------------------------------------- elsewhere

#: Public names whose parity test needs more than an entry above: name -> "file::test".
#: The completeness test checks that the test exists.
_CONV, _POOL = "test_conv_parity.py::test_conv2d", "test_conv_parity.py::test_pool"
_BN = "test_conv_parity.py::test_batchnorm_steps_then_eval"
_DIRECT = "test_conv_kernels.py::test_direct_conv_at_model_shapes"
ELSEWHERE: dict[str, str] = {
    # the book's fused whole-epoch kernel, stepped against autograd
    "forward_row": "test_book_kernels.py::test_sgd_epoch_matches_torch",
    "sgd_epoch": "test_book_kernels.py::test_sgd_epoch_matches_torch",
    # convolution, pooling, BatchNorm (running statistics over steps), Dropout (shared masks)
    "Conv2d": _CONV, "im2col": _CONV, "col2im": _CONV, "rows_to_nchw": _CONV, "nchw_to_rows": _CONV,
    "conv2d_forward": _DIRECT, "conv2d_backward_input": _DIRECT, "conv2d_backward_weight": _DIRECT,
    "MaxPool2d": _POOL, "AvgPool2d": _POOL, "maxpool_forward": _POOL, "maxpool_backward": _POOL,
    "avgpool_forward": _POOL, "avgpool_backward": _POOL,
    "BatchNorm1d": _BN, "BatchNorm2d": _BN, "batchnorm_train_forward": _BN,
    "batchnorm_train_backward": _BN, "batchnorm_eval_forward": _BN, "batchnorm_eval_backward": _BN,
    "Dropout": "test_conv_parity.py::test_dropout_with_a_shared_mask",
    # the VAE's sampling step and KL term, against autograd and PyTorch's VAE example
    "Reparameterize": "test_vae_parity.py::test_reparameterize_and_its_gradient_match_autograd",
    "reparameterize": "test_vae_parity.py::test_reparameterize_and_its_gradient_match_autograd",
    "reparameterize_backward": "test_vae_parity.py::test_reparameterize_and_its_gradient_match_autograd",
    "gaussian_kl": "test_vae_parity.py::test_gaussian_kl_and_its_gradient_match_autograd",
    "VAELoss": "test_vae_parity.py::test_the_whole_vae_matches_torchs_example",
    # the vectorisable elementary functions the element-wise kernels call, value by value
    "exp": "test_vmath_parity.py::test_exp_matches_torch",
    "log": "test_vmath_parity.py::test_log_matches_torch",
    "vae": "test_vae_parity.py::test_ten_adam_steps_of_the_vae_match_torch",
}


def registered_kernel_names() -> set[str]:
    """Names of the public kernels that some KERNELS entry checks."""
    return {getattr(k, "__name__", "") for e in KERNELS.values() for k in e.kernels}
