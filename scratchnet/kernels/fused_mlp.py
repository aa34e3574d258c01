"""A whole SGD epoch of a fully connected network in one compiled call (the book's networks).

``scratchnet.book.network`` / ``network2`` hand their weights here so the book's own API is not
the slow path: the mini-batch goes through the network as one matrix (chapter 2's exercise),
with no Python between mini-batches. Layer by layer it is the same maths as ``scratchnet.nn``:

    forward   Z_l = A_{l-1} W_l^T + b_l,  A_l = f(Z_l)
    output    delta_L = (A_L - Y) * f'(Z_L) (quadratic) or A_L - Y (cross-entropy, log-likelihood)
    backward  dW_l = delta_l^T A_{l-1},  db_l = sum_n delta_l,  delta_{l-1} = (delta_l W_l) * f'(Z_{l-1})
    update    W <- (1 - eta lmbda / n) W - (eta / m) dW   (L2; L1 and momentum as chapter 3 asks)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .matmul import gemm_nn, gemm_nt, gemm_tn

SIGMOID, TANH, RELU, SOFTMAX = 1, 2, 3, 4
QUADRATIC, CROSS_ENTROPY, LOG_LIKELIHOOD = 0, 1, 2
L2, L1 = 0, 1


@njit(cache=True)
def _activate(Z, A, act):
    """A = f(Z) row-wise; sigmoid as the book writes it, 1 / (1 + exp(-z))."""
    m, k = Z.shape
    if act == SOFTMAX:
        for r in range(m):
            mx = Z[r, 0]
            for c in range(1, k):
                mx = max(mx, Z[r, c])
            s = 0.0
            for c in range(k):
                A[r, c] = math.exp(Z[r, c] - mx)
                s += A[r, c]
            for c in range(k):
                A[r, c] /= s
        return
    for r in range(m):
        for c in range(k):
            z = Z[r, c]
            if act == SIGMOID:
                A[r, c] = 1.0 / (1.0 + math.exp(-z))
            elif act == TANH:
                A[r, c] = math.tanh(z)
            else:
                A[r, c] = z if z > 0 else 0.0


@njit(cache=True)
def _derivative_times(D, Z, A, act):
    """D *= f'(Z), from the saved output A (sigmoid, tanh) or input Z (ReLU)."""
    m, k = D.shape
    for r in range(m):
        for c in range(k):
            if act == SIGMOID:
                D[r, c] *= A[r, c] * (1.0 - A[r, c])
            elif act == TANH:
                D[r, c] *= 1.0 - A[r, c] * A[r, c]
            else:
                D[r, c] *= 1.0 if Z[r, c] > 0 else 0.0


# --8<-- [start:forward]
@njit(cache=True)
def forward(X, Ws, bs, act, out_act, Zs, As):
    """Fill the first k = len(X) rows of Zs[l], As[l]; X (k, n_0) -> As[-1][:k] (k, n_L)."""
    L = len(Ws)
    k = X.shape[0]
    A_prev = X
    for l in range(L):
        Z, A = Zs[l][:k], As[l][:k]
        gemm_nt(A_prev, Ws[l], Z, 0.0)               # (k, n_l) = (k, n_{l-1}) (n_l, n_{l-1})^T
        b = bs[l]
        for r in range(Z.shape[0]):
            for c in range(Z.shape[1]):
                Z[r, c] += b[c]
        _activate(Z, A, out_act if l == L - 1 else act)
        A_prev = A
    return A_prev
# --8<-- [end:forward]


def _buffers(sizes, m, dtype):
    """Per-layer (m, n_l) arrays for Z, A and delta."""
    return (tuple(np.empty((m, s), dtype) for s in sizes[1:]),
            tuple(np.empty((m, s), dtype) for s in sizes[1:]),
            tuple(np.empty((m, s), dtype) for s in sizes[1:]))


# --8<-- [start:sgd_epoch]
@njit(cache=True)
def sgd_epoch(X, Y, order, m, eta, lmbda, n, Ws, bs, act, out_act, cost, reg, mu, Vw, Vb,
              dWs, dbs, Zs, As, Ds):
    """One epoch of the book's mini-batch SGD over ``X[order]`` (``(n, n_0)``, targets ``Y``).

    Mini-batches are consecutive slices of ``order`` of size ``m`` (the last may be shorter).
    Ws/bs are updated in place; dWs/dbs/Zs/As/Ds are scratch buffers sized for ``m`` rows.
    """
    L = len(Ws)
    N = order.shape[0]
    Xb = np.empty((m, X.shape[1]), X.dtype)
    Yb = np.empty((m, Y.shape[1]), Y.dtype)
    for start in range(0, N, m):
        k = min(m, N - start)
        for r in range(k):  # gather the mini-batch rows
            Xb[r, :] = X[order[start + r]]
            Yb[r, :] = Y[order[start + r]]
        Xk = Xb[:k]
        forward(Xk, Ws, bs, act, out_act, Zs, As)
        # output error delta_L
        D = Ds[L - 1][:k]
        A = As[L - 1][:k]
        for r in range(k):
            for c in range(D.shape[1]):
                D[r, c] = A[r, c] - Yb[r, c]
        if cost == QUADRATIC:
            _derivative_times(D, Zs[L - 1][:k], A, out_act)
        # backpropagate, collecting dW, db
        for l in range(L - 1, -1, -1):
            D = Ds[l][:k]
            A_prev = Xk if l == 0 else As[l - 1][:k]
            gemm_tn(D, A_prev, dWs[l], 0.0)           # (n_l, n_{l-1}) = (k, n_l)^T (k, n_{l-1})
            db = dbs[l]
            db[:] = 0.0
            for r in range(k):
                db += D[r]
            if l > 0:
                D_prev = Ds[l - 1][:k]
                gemm_nn(D, Ws[l], D_prev, 0.0)        # (k, n_{l-1}) = (k, n_l) (n_l, n_{l-1})
                _derivative_times(D_prev, Zs[l - 1][:k], As[l - 1][:k], act)
        # the update, as network2.update_mini_batch writes it
        step = eta / k
        for l in range(L):
            W, dW, b, db = Ws[l], dWs[l], bs[l], dbs[l]
            if mu != 0.0:
                Vwl, Vbl = Vw[l], Vb[l]
                for i in range(W.shape[0]):
                    for j in range(W.shape[1]):
                        Vwl[i, j] = mu * Vwl[i, j] - step * dW[i, j]
                        W[i, j] = (1.0 - eta * (lmbda / n)) * W[i, j] + Vwl[i, j]
                    Vbl[i] = mu * Vbl[i] - step * db[i]
                    b[i] = b[i] + Vbl[i]
            elif reg == L1:
                shrink = eta * (lmbda / n)
                for i in range(W.shape[0]):
                    for j in range(W.shape[1]):
                        w = W[i, j]
                        sgn = 1.0 if w > 0 else (-1.0 if w < 0 else 0.0)
                        W[i, j] = w - shrink * sgn - step * dW[i, j]
                    b[i] = b[i] - step * db[i]
            else:
                decay = 1.0 - eta * (lmbda / n)
                for i in range(W.shape[0]):
                    for j in range(W.shape[1]):
                        W[i, j] = decay * W[i, j] - step * dW[i, j]
                    b[i] = b[i] - step * db[i]
# --8<-- [end:sgd_epoch]


def predict(X: np.ndarray, weights: list[np.ndarray], biases: list[np.ndarray], act: int, out_act: int,
            batch: int = 2000) -> np.ndarray:
    """Output activations ``(N, n_L)`` for rows ``X`` ``(N, n_0)``, in batches of ``batch`` rows."""
    sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    Ws, bs = tuple(weights), tuple(b.reshape(-1) for b in biases)
    Zs, As, _ = _buffers(sizes, min(batch, len(X)), X.dtype)
    out = np.empty((len(X), sizes[-1]), X.dtype)
    for s in range(0, len(X), batch):
        k = min(batch, len(X) - s)
        out[s:s + k] = forward(X[s:s + k], Ws, bs, act, out_act, Zs, As)
    return out


def train_epoch(X: np.ndarray, Y: np.ndarray, order: np.ndarray, mini_batch_size: int, eta: float, lmbda: float,
                n: int, weights: list[np.ndarray], biases: list[np.ndarray], act: int = SIGMOID,
                out_act: int = SIGMOID, cost: int = CROSS_ENTROPY, reg: int = L2, mu: float = 0.0,
                velocities: tuple | None = None) -> None:
    """Python entry to :func:`sgd_epoch`: builds the buffers, updates ``weights``/``biases`` in place.

    ``weights[l]`` ``(n_l, n_{l-1})`` and ``biases[l]`` ``(n_l, 1)`` must be C-contiguous float64.
    """
    sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    m = mini_batch_size
    Zs, As, Ds = _buffers(sizes, m, X.dtype)
    Ws, bs = tuple(weights), tuple(b.reshape(-1) for b in biases)
    dWs, dbs = tuple(np.empty_like(w) for w in Ws), tuple(np.empty_like(b) for b in bs)
    if velocities is None:
        Vw, Vb = tuple(np.zeros((1, 1)) for _ in Ws), tuple(np.zeros(1) for _ in bs)
    else:
        Vw, Vb = velocities
    sgd_epoch(X, Y, order, m, float(eta), float(lmbda), float(n), Ws, bs, act, out_act, cost, reg, float(mu),
              Vw, Vb, dWs, dbs, Zs, As, Ds)
