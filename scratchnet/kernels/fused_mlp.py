"""Fast tier: equals ``book/matrix_form.py`` (the mini-batch step on scratchnet.nn), to rounding.
Made fast by one compiled call per epoch, a sparse first layer and vector-register row sums.

A whole SGD epoch of a fully connected network in one compiled call (the book's networks).

``scratchnet.book.network`` / ``network2`` hand their weights here so the book's own API is not
the slow path: the mini-batch goes through the network as one matrix (chapter 2's exercise),
with no Python between mini-batches. Layer by layer it is the same maths as ``scratchnet.nn``:

    forward   Z_l = A_{l-1} W_l^T + b_l,  A_l = f(Z_l)
    output    delta_L = (A_L - Y) * f'(Z_L) (quadratic) or A_L - Y (cross-entropy, log-likelihood)
    backward  dW_l = delta_l^T A_{l-1},  db_l = sum_n delta_l,
              delta_{l-1} = (delta_l W_l) * f'(Z_{l-1})
    update    W <- (1 - eta lmbda / n) W - (eta / m) dW   (L2; L1 and momentum as chapter 3 asks)

Speed: the first layer skips zero inputs (about 80 % of MNIST's pixels), in the forward pass
and in ``dW_1``, from a transposed working copy ``W_1^T`` (n_0, n_1) whose rows are contiguous;
rows never touched by a mini-batch only take the weight decay. Each ``z = sum_t v_t W^T[k_t]``
keeps its sums in vector registers for the whole sum (``_gather_rows_sum``), and the next
mini-batch's rows of X are prefetched while this one computes. ``dW`` and ``db`` sum the samples
in mini-batch order, as the book's ``nabla_w = [nw + dnw ...]`` does, so they are the book's
numbers bit for bit; only ``W a`` sums in another order than NumPy's ``dot``.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .codes import Activation, Cost, Penalty
from .vector_ir import VECTOR_BYTES, VectorOps

# The codes, as plain ints the compiler folds (one definition: codes.py).
SIGMOID, TANH, RELU, SOFTMAX = (int(a) for a in (Activation.SIGMOID, Activation.TANH,
                                                 Activation.RELU, Activation.SOFTMAX))
QUADRATIC, CROSS_ENTROPY, LOG_LIKELIHOOD = (int(c) for c in Cost)
L2, L1 = int(Penalty.L2), int(Penalty.L1)
GATHER_VECTORS = 4  # vector accumulators of _gather_rows_sum: 32 float64 columns with AVX-512


# --8<-- [start:gather]
@intrinsic
def _gather_rows_sum(typingctx, M, ld, j0, rows, w, t0, t1, out, o0, n):
    """``out[o0 + j] = sum_{t0 <= t < t1} w[t] * M[rows[t] * ld + j0 + j]`` for ``j < n``.

    ``rows=None`` takes rows ``t`` (a dense matrix-vector product). ``M`` and ``out`` are
    C-contiguous and read flat; ``n`` at most ``GATHER_VECTORS`` vectors.
    The sum starts at 0 and runs in t order, a multiply then an add per term (the scalar loop's
    numbers bit for bit); in LLVM IR because the point is where the sums live: in vector
    registers across the whole t loop, not in memory, which a loop over ``j`` inside a loop over
    ``t`` must store and reload for every term. Lanes past ``n`` are masked off.
    """
    dense = isinstance(rows, types.NoneType)
    arrays = (M, w, out) if dense else (M, rows, w, out)
    if not (all(isinstance(a, types.Array) and a.layout == "C" for a in arrays)
            and M.dtype in (types.float32, types.float64) and w.dtype == M.dtype
            and out.dtype == M.dtype and (dense or rows.dtype == types.int64)):
        return None
    i = types.intp
    sig = types.none(M, i, i, rows, w, i, i, out, i, i)

    def codegen(context, builder, sig, args):
        M_, ld_, j0_, rows_, w_, t0_, t1_, out_, o0_, n_ = args
        ops = VectorOps(context, builder, sig.args[0].dtype)

        def data(k, value):
            return context.make_array(sig.args[k])(context, builder, value).data

        pm, pw = builder.gep(data(0, M_), [j0_]), data(4, w_)
        prows = None if dense else data(3, rows_)
        masks = [ops.mask(n_, v) for v in range(GATHER_VECTORS)]
        entry = builder.basic_block
        loop, done = builder.append_basic_block("gather.loop"), builder.append_basic_block("gather.done")
        builder.cbranch(builder.icmp_signed("<", t0_, t1_), loop, done)

        builder.position_at_end(loop)  # one term: acc[v] += w[t] * M[rows[t], v*VL:(v+1)*VL]
        t = builder.phi(ops.i64)
        acc = [builder.phi(ops.vty) for _ in range(GATHER_VECTORS)]
        r = t if dense else builder.load(builder.gep(prows, [t]))
        row = builder.gep(pm, [builder.mul(r, ld_)])
        wt = ops.splat(builder.load(builder.gep(pw, [t])))
        new = [builder.fadd(acc[v], builder.fmul(wt, ops.load(ops.vector_at(row, v * ops.VL),
                                                                  masks[v])))
               for v in range(GATHER_VECTORS)]
        t_next = builder.add(t, ops.const(1))
        t.add_incoming(t0_, entry)
        t.add_incoming(t_next, loop)
        for v in range(GATHER_VECTORS):
            acc[v].add_incoming(ops.zero, entry)
            acc[v].add_incoming(new[v], loop)
        builder.cbranch(builder.icmp_signed("<", t_next, t1_), loop, done)

        builder.position_at_end(done)
        total = [builder.phi(ops.vty) for _ in range(GATHER_VECTORS)]
        po = builder.gep(data(7, out_), [o0_])
        for v in range(GATHER_VECTORS):
            total[v].add_incoming(ops.zero, entry)
            total[v].add_incoming(new[v], loop)
            ops.store(total[v], ops.vector_at(po, v * ops.VL), masks[v])
        return context.get_dummy_value()

    return sig, codegen
# --8<-- [end:gather]


@intrinsic
def _prefetch(typingctx, a):
    """Ask the cache for every 64-byte line of the C-contiguous array ``a`` (into L2), now.

    Rows of X in shuffled order defeat the hardware prefetcher at every row start; asking one
    mini-batch ahead hides the memory latency behind the current one's arithmetic.
    """
    if not (isinstance(a, types.Array) and a.layout == "C"):
        return None

    def codegen(context, builder, sig, args):
        arr = context.make_array(sig.args[0])(context, builder, args[0])
        i8p, i32, i64 = ir.IntType(8).as_pointer(), ir.IntType(32), ir.IntType(64)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0")
        base = builder.bitcast(arr.data, i8p)
        nbytes = builder.mul(arr.nitems, arr.itemsize)
        with cgutils.for_range_slice(builder, ir.Constant(i64, 0), nbytes, ir.Constant(i64, 64)) as (
                offset, _):  # a read (0), kept in L2 (locality 2), of data (1)
            builder.call(fn, [builder.gep(base, [offset]), ir.Constant(i32, 0), ir.Constant(i32, 2),
                              ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.none(a), codegen


@njit(cache=True)
def _gather_width(a) -> int:
    """Columns one ``_gather_rows_sum`` call covers for ``a``'s dtype."""
    return GATHER_VECTORS * (VECTOR_BYTES // a.itemsize)


# --8<-- [start:activation]
@njit(cache=True, fastmath=False)
def _activate(z, a, act):
    """a = f(z) for one sample's layer; sigmoid as the book writes it, 1 / (1 + exp(-z))."""
    n = z.shape[0]
    if act == SOFTMAX:
        mx = z[0]
        for c in range(1, n):
            mx = max(mx, z[c])
        s = 0.0
        for c in range(n):
            a[c] = math.exp(z[c] - mx)
            s += a[c]
        for c in range(n):
            a[c] /= s
    elif act == SIGMOID:
        for c in range(n):
            a[c] = 1.0 / (1.0 + math.exp(-z[c]))
    elif act == TANH:
        for c in range(n):
            a[c] = math.tanh(z[c])
    else:
        for c in range(n):
            a[c] = z[c] if z[c] > 0 else 0.0


@njit(cache=True, fastmath=False)
def _times_derivative(d, z, a, act):
    """d *= f'(z), from the saved output a (sigmoid, tanh) or the input z (ReLU, f'(0) = 0)."""
    for c in range(d.shape[0]):
        if act == SIGMOID:
            d[c] *= a[c] * (1.0 - a[c])
        elif act == TANH:
            d[c] *= 1.0 - a[c] * a[c]
        else:
            d[c] *= 1.0 if z[c] > 0 else 0.0
# --8<-- [end:activation]


# --8<-- [start:forward]
@njit(cache=True, fastmath=False)
def forward_row(x, WTs, bs, act, out_act, idx, val, Zs, As, r):
    """Sample ``x`` (n_0,) through the network into row ``r`` of ``Zs[l]``, ``As[l]`` (m, n_l).

    ``WTs[l]`` is ``W_l^T`` (n_{l-1}, n_l): ``z = sum_k x_k W^T[k, :] + b`` runs over contiguous
    rows, and layer 1 only over the nonzero ``x_k``, whose positions and values it leaves in
    ``idx``/``val`` for ``dW_1``. Returns their count.
    """
    L = len(WTs)
    nnz = 0
    for k in range(x.shape[0]):  # branch-free: written every time, kept when nonzero
        idx[nnz] = k
        val[nnz] = x[k]
        nnz += x[k] != 0
    for l in range(L):
        WT, b, Z = WTs[l], bs[l], Zs[l]
        n_out, width = Z.shape[1], _gather_width(Z)
        for j0 in range(0, n_out, width):  # z = sum_t v_t W^T[k_t, :], a block of columns at a time
            if l == 0:                     # over the nonzero pixels k_t = idx[t], v_t = val[t]
                _gather_rows_sum(WT, n_out, j0, idx, val, 0, nnz, Z, r * n_out + j0,
                                 min(width, n_out - j0))
            else:                          # over every unit of the layer below
                _gather_rows_sum(WT, n_out, j0, None, As[l - 1][r], 0, WT.shape[0], Z,
                                 r * n_out + j0, min(width, n_out - j0))
        for j in range(n_out):
            Z[r, j] += b[j]
        _activate(Z[r], As[l][r], out_act if l == L - 1 else act)
    return nnz
# --8<-- [end:forward]


@njit(cache=True, fastmath=False)
def _new_weight(w, nw, v, step, eta, lmbda_n, reg, mu):
    """(w', v') for one weight: the book's ``(1 - eta lmbda/n) w - (eta/m) nw`` and its variants.

    L1: ``w - eta (lmbda/n) sgn(w) - (eta/m) nw``. Momentum (mu > 0):
    ``v' = mu v - eta dR/dw - (eta/m) nw``, ``w' = w + v'`` with R the L1 or L2 penalty.
    """
    sgn = 1.0 if w > 0 else (-1.0 if w < 0 else 0.0)
    if mu != 0.0:
        penalty = lmbda_n * w if reg == L2 else lmbda_n * sgn
        v = mu * v - eta * penalty - step * nw
        return w + v, v
    if reg == L1:
        return w - eta * lmbda_n * sgn - step * nw, v
    return (1.0 - eta * lmbda_n) * w - step * nw, v


# --8<-- [start:sgd_epoch]
@njit(cache=True, fastmath=False)
def sgd_epoch(X, Y, order, m, eta, lmbda, n, Ws, WTs, bs, act, out_act, cost, reg, mu, Vw, Vb,
              dWs, dbs, Zs, As, Ds, idx, val, nnz, NW, seen, touched):
    """One epoch of the book's mini-batch SGD over ``X[order]`` (X (N, n_0), targets Y (N, n_L)).

    Mini-batches are consecutive slices of ``order`` of size ``m`` (the last may be shorter).
    ``Ws[l]`` (n_l, n_{l-1}) for l >= 1 and ``WTs[l]`` = ``Ws[l]^T`` are updated in place; layer
    1's weights live in ``WTs[0]`` only (the caller copies them back). ``Vw[0]`` is transposed
    like ``WTs[0]``. ``NW`` (n_0, n_1) and ``seen`` (n_0,) come in zeroed and leave zeroed;
    the rest are scratch buffers sized for ``m`` rows. Arrays are indexed in two dimensions,
    never sliced into rows: a row view costs more than the 30 multiply-adds it would serve.
    """
    L = len(Ws)
    lmbda_n = lmbda / n
    sparse = mu == 0.0 and reg == L2   # untouched rows of W_1^T then only decay
    decay = 1.0 - eta * lmbda_n
    for start in range(0, order.shape[0], m):
        k = min(m, order.shape[0] - start)
        for ahead in range(start + m, min(start + 2 * m, order.shape[0])):  # the next mini-batch
            _prefetch(X[order[ahead]])
        for r in range(k):  # forward, one sample per row of the mini-batch matrices
            nnz[r] = forward_row(X[order[start + r]], WTs, bs, act, out_act, idx[r], val[r],
                                 Zs, As, r)
        A, D = As[L - 1], Ds[L - 1]
        for r in range(k):  # BP1: delta_L = nabla_a C * f'(z_L), or a - y
            s = order[start + r]
            for c in range(D.shape[1]):
                D[r, c] = A[r, c] - Y[s, c]
            if cost == QUADRATIC:
                _times_derivative(D[r], Zs[L - 1][r], A[r], out_act)
        for l in range(L - 1, -1, -1):  # BP3/BP4 per layer, BP2 down to the layer below
            db, D = dbs[l], Ds[l]
            for j in range(D.shape[1]):
                db[j] = 0.0
            for r in range(k):
                for j in range(D.shape[1]):
                    db[j] += D[r, j]
            if l == 0:
                break
            dW, W, A, Dp = dWs[l], Ws[l], As[l - 1], Ds[l - 1]
            dW[:, :] = 0.0
            for r in range(k):
                for j in range(D.shape[1]):
                    dj = D[r, j]
                    for i in range(A.shape[1]):
                        dW[j, i] += dj * A[r, i]             # (n_l, n_{l-1}) += delta^T a
                n_prev = Dp.shape[1]
                for i0 in range(0, n_prev, _gather_width(Dp)):  # (n_{l-1},) = delta W
                    _gather_rows_sum(W, n_prev, i0, None, D[r], 0, D.shape[1], Dp,
                                     r * n_prev + i0, min(_gather_width(Dp), n_prev - i0))
                _times_derivative(Dp[r], Zs[l - 1][r], A[r], act)
        step = eta / k
        for l in range(1, L):  # update W_l, l >= 1, and its transposed copy
            W, WT, dW, V = Ws[l], WTs[l], dWs[l], Vw[l]
            for j in range(W.shape[0]):
                if sparse:  # the book's update, without the per-weight branches
                    for i in range(W.shape[1]):
                        W[j, i] = decay * W[j, i] - step * dW[j, i]
                else:
                    for i in range(W.shape[1]):
                        W[j, i], V[j, i] = _new_weight(W[j, i], dW[j, i], V[j, i], step, eta,
                                                       lmbda_n, reg, mu)
                for i in range(W.shape[1]):
                    WT[i, j] = W[j, i]
        # layer 1: dW_1^T[c, :] = sum_r x_rc delta_r over the rows with x_rc != 0, in row order;
        # each row c met for the first time joins ``touched`` (branch-free: always written, so
        # ``touched`` has one entry of room past n_0)
        WT0, V0, D = WTs[0], Vw[0], Ds[0]
        n1 = D.shape[1]
        n_touched = 0
        for r in range(k):
            for t in range(nnz[r]):
                c, v = idx[r, t], val[r, t]
                touched[n_touched] = c
                n_touched += seen[c] == 0
                seen[c] = 1
                for j in range(n1):
                    NW[c, j] += D[r, j] * v
        if sparse:
            if decay != 1.0:
                WT0 *= decay
            for q in range(n_touched):
                c = touched[q]
                for j in range(n1):
                    WT0[c, j] -= step * NW[c, j]
                    NW[c, j] = 0.0
                seen[c] = 0
        else:
            for c in range(WT0.shape[0]):
                for j in range(WT0.shape[1]):
                    WT0[c, j], V0[c, j] = _new_weight(WT0[c, j], NW[c, j], V0[c, j], step, eta,
                                                      lmbda_n, reg, mu)
                    NW[c, j] = 0.0
                seen[c] = 0
        for l in range(L):  # biases: b <- b + mu v - (eta / m) db  (mu = 0: the book's)
            b, db, Vbl = bs[l], dbs[l], Vb[l]
            for j in range(b.shape[0]):
                if mu != 0.0:
                    Vbl[j] = mu * Vbl[j] - step * db[j]
                    b[j] += Vbl[j]
                else:
                    b[j] = b[j] - step * db[j]
# --8<-- [end:sgd_epoch]


@njit(cache=True, fastmath=False)
def _predict_rows(X, WTs, bs, act, out_act, idx, val, Zs, As, out):
    for s in range(X.shape[0]):
        forward_row(X[s], WTs, bs, act, out_act, idx, val, Zs, As, 0)
        out[s, :] = As[len(As) - 1][0]


def _check(X: np.ndarray, weights: list[np.ndarray], biases: list[np.ndarray],
           fn: str) -> list[int]:
    sizes = [weights[0].shape[1]] + [b.size for b in biases]   # widths from the biases
    if X.ndim != 2 or X.shape[1] != sizes[0]:
        raise ValueError(f"{fn}: X must be (N, {sizes[0]}) for layer sizes {sizes}, got {X.shape}")
    for l, (w, b) in enumerate(zip(weights, biases, strict=True)):
        if w.shape != (sizes[l + 1], sizes[l]) or b.size != sizes[l + 1]:
            raise ValueError(f"{fn}: layer {l} needs weights ({sizes[l + 1]}, {sizes[l]}) and "
                             f"{sizes[l + 1]} biases, got {w.shape} and {b.shape}")
    return sizes


def _rows(sizes: list[int], m: int, dtype) -> tuple[tuple[np.ndarray, ...], ...]:
    """Per-layer (m, n_l) buffers for Z, A and delta."""
    return tuple(tuple(np.empty((m, s), dtype) for s in sizes[1:]) for _ in range(3))


def predict(X: np.ndarray, weights: list[np.ndarray], biases: list[np.ndarray], act: int,
            out_act: int) -> np.ndarray:
    """Output activations ``(N, n_L)`` for rows ``X`` ``(N, n_0)``; weights (n_l, n_{l-1})."""
    sizes = _check(X, weights, biases, "predict")
    dtype = weights[0].dtype
    WTs = tuple(np.ascontiguousarray(w.T) for w in weights)             # (n_{l-1}, n_l)
    bs = tuple(np.ascontiguousarray(b, dtype=dtype).reshape(-1) for b in biases)
    Zs, As, _ = _rows(sizes, 1, dtype)
    out = np.empty((len(X), sizes[-1]), dtype)                           # (N, n_L)
    _predict_rows(X, WTs, bs, int(act), int(out_act), np.empty(sizes[0], np.int64), np.empty(sizes[0], dtype),
                  Zs, As, out)
    return out


def train_epoch(X: np.ndarray, Y: np.ndarray, order: np.ndarray, mini_batch_size: int, eta: float,
                lmbda: float, n: int, weights: list[np.ndarray], biases: list[np.ndarray],
                act: int = SIGMOID, out_act: int = SIGMOID, cost: int = CROSS_ENTROPY,
                reg: int = L2, mu: float = 0.0, velocities: tuple | None = None) -> None:
    """One epoch of :func:`sgd_epoch`; updates ``weights`` (n_l, n_{l-1}) and ``biases`` in place.

    ``X`` (N, n_0) may be float32 (the book's pixels, read exactly); weights, biases and ``Y``
    (N, n_L) are C-contiguous float64 (or all float32). ``velocities`` = (weight-shaped,
    bias-shaped) tuples of momentum buffers, updated in place.
    """
    sizes = _check(X, weights, biases, "train_epoch")
    X = np.ascontiguousarray(X)                      # rows are prefetched as contiguous blocks
    dtype, m, n0 = weights[0].dtype, mini_batch_size, sizes[0]
    if int(m) != m or m < 1:
        raise ValueError("train_epoch: mini_batch_size must be a positive int, "
                         f"got {mini_batch_size!r}")
    if not (np.isfinite(eta) and np.isfinite(lmbda) and np.isfinite(mu)):
        raise ValueError(f"train_epoch: eta, lmbda and mu must be finite, got {eta}, {lmbda}, {mu}")
    if Y.shape != (len(X), sizes[-1]):
        raise ValueError(f"train_epoch: targets Y must be ({len(X)}, {sizes[-1]}), got {Y.shape}")
    if len(order) and (order.min() < 0 or order.max() >= len(X)):
        raise ValueError(f"train_epoch: order must index the {len(X)} rows of X, "
                         f"got {order.min()}..{order.max()}")
    for w in weights:
        if not (w.flags.c_contiguous and w.dtype == dtype):
            raise ValueError(f"train_epoch: weights must be C-contiguous {dtype}, got {w.dtype}")
    WTs = tuple(np.ascontiguousarray(w.T) for w in weights)             # (n_{l-1}, n_l)
    bs = tuple(b.reshape(-1) for b in biases)                            # views: updated in place
    Zs, As, Ds = _rows(sizes, m, dtype)
    dWs, dbs = tuple(np.empty_like(w) for w in weights), tuple(np.empty_like(b) for b in bs)
    if velocities is None:
        Vw = tuple(np.zeros_like(w) for w in WTs[:1] + tuple(weights[1:]))
        Vb = tuple(np.zeros_like(b) for b in bs)
    else:  # layer 1's velocity transposed like its weights
        Vw = (np.ascontiguousarray(velocities[0][0].T),) + tuple(velocities[0][1:])
        Vb = velocities[1]
    if Vw[0].shape != WTs[0].shape:
        raise ValueError(f"train_epoch: layer 0 velocity must be {weights[0].shape}, "
                         f"got {Vw[0].T.shape}")
    sgd_epoch(X, Y, order, m, float(eta), float(lmbda), float(n), tuple(weights), WTs, bs, int(act),
              int(out_act), int(cost), int(reg), float(mu), Vw, Vb, dWs, dbs, Zs, As, Ds,
              np.empty((m, n0), np.int64), np.empty((m, n0), dtype), np.empty(m, np.int64),
              np.zeros((n0, sizes[1]), dtype), np.zeros(n0, np.int64),
              np.empty(n0 + 1, np.int64))  # touched: room for the branch-free write past the last
    weights[0][:] = WTs[0].T                                             # (n_1, n_0)
    if velocities is not None:
        velocities[0][0][:] = Vw[0].T
