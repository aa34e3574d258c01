"""Hand-written mutants: small, plausible bugs that the test suite must catch.

Each mutant replaces one exact snippet of one source file (the snippet must occur exactly
once, so a refactoring that moves the code makes the mutant fail loudly instead of silently
testing nothing). ``first`` names the tests most likely to kill it; they run first so that a
killed mutant costs seconds, but the verdict is always ``pytest parity_tests tests``.

The list covers the jitted kernels (which mutation tools cannot rewrite: Numba compiles the
source text, so a mutant has to be a source edit) and the Python-level layers the audit of
issue 7 named: Dropout, the book's shuffle, augmentation, the book's training rules, and
torchnet's own book loop (the torch side of the book parity).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    """Replace ``old`` by ``new`` in ``path``: the bug ``what``; ``first`` runs first."""

    name: str
    path: str
    old: str
    new: str
    what: str
    first: tuple[str, ...] = ()


K = "scratchnet/kernels/"
MUTANTS: list[Mutant] = [
    # ---------------------------------------------------------------- activations
    Mutant("relu-grad-at-zero", K + "activations.py",
           "of[i] = gf[i] if Zf[i] > 0 else 0.0", "of[i] = gf[i] if Zf[i] >= 0 else 0.0",
           "ReLU'(0) = 1 instead of torch's 0 (a flipped comparison at the kink)",
           ("parity_tests/test_ops.py", "parity_tests/test_modules.py")),
    Mutant("sigmoid-grad-sign", K + "activations.py",
           "of[i] = gf[i] * Af[i] * (1.0 - Af[i])", "of[i] = gf[i] * Af[i] * (1.0 + Af[i])",
           "sigma' = s (1 + s): a wrong sign in a derivative",
           ("parity_tests/test_ops.py",)),
    Mutant("tanh-grad-dropped-square", K + "activations.py",
           "of[i] = gf[i] * (1.0 - Af[i] * Af[i])", "of[i] = gf[i] * (1.0 - Af[i])",
           "tanh' = 1 - a instead of 1 - a^2: a dropped factor",
           ("parity_tests/test_ops.py",)),
    # ---------------------------------------------------------------- vectorisable exp and log
    Mutant("vmath-exp-series-cut-short", K + "vmath.py",
           "    p = 1.0 / 6227020800.0 ", "    p = 0.0 / 6227020800.0 ",
           "exp's series without its r^13 term: a 2-ulp error below the parity gate's tolerance",
           ("tests/test_vmath.py",)),
    Mutant("vmath-log-coefficient", K + "vmath.py",
           "LG7 = 1.479819860511658591e-01", "LG7 = 1.47e-01",
           "one of log's polynomial coefficients rounded to three digits",
           ("tests/test_vmath.py",)),
    Mutant("bce-non-finite-missed", K + "losses.py",
           "non_finite += not (math.isfinite(a) & math.isfinite(y))", "non_finite += 0",
           "BCELoss no longer noticing a NaN or inf input (the clear error becomes a NaN loss)",
           ("tests/test_losses_checks.py", "tests/test_bad_input.py")),
    # ---------------------------------------------------------------- losses
    Mutant("quadratic-missing-1/N", K + "losses.py",
           "dA[n, k] = d / N\n", "dA[n, k] = d\n",
           "the quadratic cost's gradient without the batch mean's 1/N",
           ("parity_tests/test_losses.py",)),
    Mutant("cross-entropy-value-sum", K + "losses.py",
           "    return total / N, bad\n\n\n# --8<-- [end:cross_entropy_kernel]",
           "    return total, bad\n\n\n# --8<-- [end:cross_entropy_kernel]",
           "the book's cross-entropy value summed, not averaged, over the batch",
           ("parity_tests/test_losses.py",)),
    Mutant("softmax-ce-onehot-sign", K + "losses.py",
           "dZ[n, k] = ((p - 1.0) if k == label else p) / N",
           "dZ[n, k] = ((p + 1.0) if k == label else p) / N",
           "softmax cross-entropy's gradient with +onehot: a sign error",
           ("parity_tests/test_losses.py",)),
    Mutant("mse-gradient-factor", K + "losses.py",
           "dA[n, k] = 2.0 * d / (N * K)", "dA[n, k] = d / (N * K)",
           "MSE gradient without its factor 2",
           ("parity_tests/test_losses.py",)),
    # ---------------------------------------------------------------- BatchNorm
    Mutant("batchnorm-unbiased-in-normalisation", K + "batchnorm.py",
           "        v /= M\n", "        v /= M - 1\n",
           "BatchNorm normalising with the unbiased variance (torch uses the biased one)",
           ("parity_tests/test_conv_parity.py",)),
    Mutant("batchnorm-running-var-biased", K + "ops.py",
           "momentum * var * (M / (M - 1))", "momentum * var",
           "running_var keeping the biased variance instead of the unbiased one",
           ("parity_tests/test_conv_parity.py",)),
    Mutant("batchnorm-backward-dropped-term", K + "batchnorm.py",
           "dX[n, c, k] = scale * (M * dY[n, c, k] - sdy - xhat[n, c, k] * sdyx)",
           "dX[n, c, k] = scale * (M * dY[n, c, k] - sdy)",
           "BatchNorm's input gradient without the variance term",
           ("parity_tests/test_conv_parity.py",)),
    # ---------------------------------------------------------------- pooling
    Mutant("maxpool-2x2-tie-to-last", K + "pool.py",
           "if X[n, c, h, w + 1] > m:", "if X[n, c, h, w + 1] >= m:",
           "2x2 max-pool sending a tie's gradient to the later index (torch: the first)",
           ("parity_tests/test_conv_parity.py",)),
    Mutant("avgpool-window-off-by-one", K + "pool.py",
           "                    s = 0.0\n                    for p in range(kh):",
           "                    s = 0.0\n                    for p in range(kh - 1):",
           "average pooling summing one row too few (off-by-one in the window)",
           ("parity_tests/test_conv_parity.py",)),
    Mutant("avgpool-backward-stride", K + "pool.py",
           "                    g = dY[n, c, i, j] / (kh * kw)\n                    for p in range(kh):\n"
           "                        h = i * sh + p - ph",
           "                    g = dY[n, c, i, j] / (kh * kw)\n                    for p in range(kh):\n"
           "                        h = i * kh + p - ph",
           "average pooling's backward stepping by the window instead of the stride",
           ("parity_tests/test_conv_parity.py",)),
    # ---------------------------------------------------------------- convolution
    Mutant("col2im-stride-off", K + "conv.py",
           "                        h = i * sh + p - ph\n                        if h < 0 or h >= H:\n"
           "                            continue\n                        base = (c * kh + p) * kw",
           "                        h = i * sh + p - ph + 1\n                        if h < 0 or h >= H:\n"
           "                            continue\n                        base = (c * kh + p) * kw",
           "col2im (im2col's backward) scattering into the row below: an off-by-one in a window",
           ("parity_tests/test_conv_kernels.py", "parity_tests/test_conv_parity.py")),
    Mutant("conv-reference-row-padding-on-columns", K + "reference/conv.py",
           "                                x = j + q - pw\n                                if 0 <= x < Wd:\n"
           "                                    s += W[o, c, p, q] * X[n, c, y, x]",
           "                                x = j + q - ph\n                                if 0 <= x < Wd:\n"
           "                                    s += W[o, c, p, q] * X[n, c, y, x]",
           "the reference convolution shifting columns by the row padding (right for every square case)",
           ("parity_tests/test_conv_kernels.py",)),
    Mutant("maxpool-column-stride-from-rows", K + "pool.py",
           "                            w = j * sw + q - pw\n                            if 0 <= w < W and (best < 0",
           "                            w = j * sh + q - pw\n                            if 0 <= w < W and (best < 0",
           "max-pooling stepping along the columns by the row stride (right whenever sh == sw)",
           ("parity_tests/test_conv_parity.py",)),
    # ---------------------------------------------------------------- GEMM
    Mutant("gemm-pack-a-transpose-swapped", K + "matmul.py",
           "                src = A[k0 + k]\n                for i in range(m):\n"
           "                    Ap[base + k * MR + i] = src[r0 + i]",
           "                for i in range(m):\n"
           "                    Ap[base + k * MR + i] = A[r0 + i, k0 + k]",
           "packing op(A) = A.T as A: a swapped transpose",
           ("tests/test_matmul.py",)),
    Mutant("gemm-nt-dots-tail-row", K + "matmul.py",
           "            for i in range(M4, M):\n                a0 = A[i, k0:k1]",
           "            for i in range(M4, M):\n                a0 = A[i - 1, k0:k1]",
           "the small-batch A B^T path reading the previous row for the tail rows",
           ("tests/test_matmul.py",)),
    Mutant("vector-partial-store-one-short", K + "vector_ir.py",
           "with cgutils.for_range(b, mask.count) as loop:",
           "with cgutils.for_range(b, b.sub(mask.count, self.const(1))) as loop:",
           "a partial vector stored one lane short (the last column of a partial tile or strip is lost; "
           "AVX2's path: AVX-512 targets store partial vectors with a masked store)",
           ("tests/test_matmul.py", "tests/test_machine_plan.py::test_the_kernels_compiled_for_avx2_equal_numpy")),
    Mutant("gemm-pack-transpose-rows-order", K + "vector_ir.py",
           "rows, order = mr, [(i, k) for k in range(vl) for i in range(mr)]",
           "rows, order = mr, [(i, k) for i in range(mr) for k in range(vl)]",
           "packing A's panel row after row instead of depth after depth (the loops' order swapped)",
           ("tests/test_matmul.py",)),
    # ---------------------------------------------------------------- optimizers
    Mutant("sgd-nesterov-as-momentum", K + "optim.py",
           "d = d + momentum * bf[i] if nesterov else bf[i]", "d = bf[i]",
           "Nesterov momentum computed as plain momentum",
           ("parity_tests/test_optim_trajectory.py", "tests/test_optim.py")),
    Mutant("sgd-dampening-dropped", K + "optim.py",
           "bf[i] = momentum * bf[i] + (1.0 - dampening) * d", "bf[i] = momentum * bf[i] + d",
           "SGD momentum ignoring dampening",
           ("parity_tests/test_optim_trajectory.py", "tests/test_optim.py")),
    Mutant("adam-no-second-bias-correction", K + "optim.py",
           "math.sqrt(vf[i]) / bc2_sqrt + eps", "math.sqrt(vf[i]) + eps",
           "Adam without the second moment's bias correction",
           ("parity_tests/test_optim_trajectory.py", "tests/test_optim.py", "tests/test_optim_adam.py")),
    Mutant("adamw-decay-coupled", K + "optim.py",
           "                pf[i] *= shrink\n",
           "                d = d + weight_decay * pf[i]\n",
           "AdamW's decoupled weight decay folded into the gradient (Adam's L2)",
           ("parity_tests/test_optim_trajectory.py", "tests/test_optim.py")),
    # ---------------------------------------------------------------- the book's fused kernel
    Mutant("fused-l1-sign", K + "fused_mlp.py",
           "        return w - eta * lmbda_n * sgn - step * nw, v",
           "        return w + eta * lmbda_n * sgn - step * nw, v",
           "the book's L1 step pushing weights away from zero",
           ("parity_tests/test_book_kernels.py", "parity_tests/test_book_parity.py")),
    Mutant("fused-l1-scaled", K + "fused_mlp.py",
           "        return w - eta * lmbda_n * sgn - step * nw, v",
           "        return w - 0.8 * eta * lmbda_n * sgn - step * nw, v",
           "the L1 penalty at 0.8 of its lambda (the audit's surviving change)",
           ("parity_tests/test_book_kernels.py", "parity_tests/test_book_parity.py")),
    Mutant("fused-momentum-bias", K + "fused_mlp.py",
           "                    Vbl[j] = mu * Vbl[j] - step * db[j]",
           "                    Vbl[j] = 0.9 * mu * Vbl[j] - step * db[j]",
           "the biases' momentum with a 10 % smaller coefficient",
           ("parity_tests/test_book_kernels.py", "parity_tests/test_book_parity.py")),
    Mutant("fused-momentum-penalty", K + "fused_mlp.py",
           "penalty = lmbda_n * w if reg == L2 else lmbda_n * sgn",
           "penalty = lmbda_n * w",
           "momentum with L1 regularisation applying the L2 penalty",
           ("parity_tests/test_book_kernels.py", "parity_tests/test_book_parity.py")),
    # ---------------------------------------------------------------- randomness
    Mutant("dropout-keep-flipped", "scratchnet/nn/normalization.py",
           "keep = self.rng.random(X.shape) >= self.p", "keep = self.rng.random(X.shape) < self.p",
           "Dropout keeping units with probability p instead of 1 - p (the audit's survivor)",
           ("tests/test_randomness.py",)),
    Mutant("dropout-no-rescale", "scratchnet/nn/normalization.py",
           "keep.astype(X.dtype) * X.dtype.type(1.0 / (1.0 - self.p))", "keep.astype(X.dtype)",
           "Dropout without the 1/(1-p) scaling in training",
           ("tests/test_randomness.py", "parity_tests/test_conv_parity.py")),
    Mutant("py2-shuffle-off-by-one", "scratchnet/book/common.py",
           "        j = int(rand() * (i + 1))", "        j = int(rand() * i)",
           "the book's shuffle drawing j from [0, i) (Sattolo's cycle, not Fisher-Yates)",
           ("tests/test_randomness.py", "tests/test_book_network.py")),
    Mutant("fast-shuffle-off-by-one", "scratchnet/book/common.py",
           "j = (r * np.arange(n, 1, -1)).astype(np.int64)",
           "j = (r * np.arange(n - 1, 0, -1)).astype(np.int64)",
           "the vectorised book shuffle drawing j from [0, i)",
           ("tests/test_randomness.py", "tests/test_book_network.py")),
    Mutant("hflip-rate", "scratchnet/data/transforms.py",
           "flip = rng.random(len(X)) < p", "flip = rng.random(len(X)) < 0.3",
           "horizontal flips at 30 % instead of p",
           ("tests/test_randomness.py",)),
    Mutant("crop-offset-range", "scratchnet/data/transforms.py",
           "    dy = rng.integers(0, 2 * padding + 1, N)", "    dy = rng.integers(0, 2 * padding, N)",
           "random crops never taking the last vertical offset",
           ("tests/test_randomness.py",)),
    # ---------------------------------------------------------------- the book's training rules
    Mutant("early-stopping-late", "scratchnet/book/network2.py",
           "if early_stopping_n and since_best == early_stopping_n:",
           "if early_stopping_n and since_best == early_stopping_n + 1:",
           "early stopping one epoch after the book's rule",
           ("tests/test_book_network.py", "parity_tests/test_book_parity.py")),
    Mutant("schedule-stop-at-64", "scratchnet/book/network2.py",
           "if eta <= eta0 / 128:", "if eta <= eta0 / 64:",
           "the learning-rate schedule stopping at eta0/64 instead of eta0/128",
           ("tests/test_book_network.py", "parity_tests/test_book_parity.py")),
    Mutant("schedule-counter-not-reset", "scratchnet/book/network2.py",
           "eta, since_change = eta / 2, 0", "eta, since_change = eta / 2, since_change",
           "the schedule halving once and never again (its plateau counter not reset)",
           ("tests/test_book_network.py", "parity_tests/test_book_parity.py")),
    # ---------------------------------------------------------------- torchnet's own book loop
    Mutant("torch-l1-scaled", "torchnet/book/network2.py",
           "p.copy_(p - eta * (lmbda / n) * torch.sign(p) - step * g)",
           "p.copy_(p - 0.8 * eta * (lmbda / n) * torch.sign(p) - step * g)",
           "torchnet's L1 step at 0.8 of its lambda (the audit's survivor, on the torch side)",
           ("parity_tests/test_book_parity.py",)),
    Mutant("torch-mu-scaled", "torchnet/book/network2.py",
           "v.copy_(mu * v - eta * penalty - step * g if is_weight else mu * v - step * g)",
           "v.copy_(0.9 * mu * v - eta * penalty - step * g if is_weight else mu * v - step * g)",
           "torchnet's weight momentum with a 10 % smaller coefficient",
           ("parity_tests/test_book_parity.py",)),
    Mutant("torch-tie-is-improvement", "torchnet/book/network2.py",
           "if accuracy > best:                  # a tie is no improvement",
           "if accuracy >= best:                  # a tie is no improvement",
           "torchnet counting a tie as an improvement (early stopping and the schedule start late)",
           ("parity_tests/test_book_parity.py",)),
]
