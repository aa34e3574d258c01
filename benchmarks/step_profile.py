"""Where a training step's time goes: each layer's forward and backward, scratchnet beside torch.

    python benchmarks/step_profile.py fashion_cnn            # batch from benchmarks/test_cnn_step_bench.py
    python benchmarks/step_profile.py cifar_cnn --batch 128 --threads 2

The profile behind the "why" of the training-step rows of ``RESULTS.md``: the model's layers are
walked in order (the leaves of both ``Sequential`` trees, which ``models.build`` keeps in the same
order), each is fed the input the layer before it produced and a random output gradient, and each
library times, per layer, the forward alone and the forward followed by the backward (the
backward is the difference; the first layer computes no input gradient, as in a step). The loss
(forward and backward) and the optimizer's update are timed the same way, and so is the whole
step. Both libraries take turns seven times (``one_thread.interleaved``) and keep their best CPU
time of this thread (``time.thread_time``), one thread each; with ``--threads`` above 1, their best
wall-clock time (``time.perf_counter``: the other threads' work is not in this thread's CPU time).
A line is ``torch ÷ scratchnet`` (above 1 scratchnet is faster) and the layer's share of
scratchnet's step. The layers timed one by one add up to a little more than the step: each
forward runs twice in the forward-and-backward timing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if __name__ == "__main__":  # before NumPy, Numba or torch start their threads
    _threads = next((sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--threads"), "1")
    for _var in ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _threads

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from one_thread import interleaved as _interleaved  # noqa: E402
from test_cnn_step_bench import CASES  # noqa: E402  (the batch each model's step benchmark uses)


def scratch_leaves(module) -> list:
    """The modules with no children, in the order the model runs them."""
    children = list(module._children.values())
    return [module] if not children else [leaf for child in children for leaf in scratch_leaves(child)]


def profile(name: str, batch: int, seconds: float = 0.15, rounds: int = 7) -> list[tuple[str, float, float]]:
    """``(row, scratchnet seconds, torch seconds)`` for each layer's forward and backward, the loss,
    the optimizer's update and the whole step of ``name`` at ``batch``; each timing repeats a call
    for about ``seconds``, ``rounds`` turns each."""
    import torch

    from scratchnet import losses, models, optim
    from torchnet import models as tmodels

    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    torch.set_num_threads(threads)
    clock = time.thread_time if threads == 1 else time.perf_counter  # CPU time counts one thread only

    def interleaved(ours, theirs):
        return _interleaved(ours, theirs, seconds, rounds, clock)
    spec = models.SPECS[name]
    rng = np.random.default_rng(0)
    X = rng.random((batch, *spec.input_shape), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    model = models.build(name, rng=np.random.default_rng(0)).train()
    torch.manual_seed(0)
    tmodel = tmodels.build(name).train()
    tmodel.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    params = list(model.parameters())
    adam = spec.optimizer == "adam"
    opt = optim.Adam(params, lr=spec.lr) if adam else optim.SGD(params, lr=spec.lr, weight_decay=spec.weight_decay)
    topt = (torch.optim.Adam(tmodel.parameters(), lr=spec.lr) if adam
            else torch.optim.SGD(tmodel.parameters(), lr=spec.lr, weight_decay=spec.weight_decay))
    loss = losses.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    rows: list[tuple[str, float, float]] = []
    leaves = scratch_leaves(model)
    tleaves = [m for m in tmodel.modules() if not list(m.children())]
    x = X
    for i, (leaf, tleaf) in enumerate(zip(leaves, tleaves, strict=True)):
        out = leaf.forward(x)
        g = rng.standard_normal(out.shape).astype(out.dtype)
        xt = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_(i > 0)
        gt = torch.from_numpy(g)

        def s_fwd(leaf=leaf, x=x) -> None:
            leaf.forward(x)

        def s_both(leaf=leaf, x=x, g=g, first=i == 0) -> None:
            leaf.forward(x)
            leaf.backward(g, needs_input_grad=not first)

        def t_fwd(tleaf=tleaf, xt=xt) -> None:
            tleaf(xt)

        def t_both(tleaf=tleaf, xt=xt, gt=gt) -> None:
            tleaf(xt).backward(gt)

        sf, tf = interleaved(s_fwd, t_fwd)
        sb, tb = interleaved(s_both, t_both)
        label = f"{i:2d} {type(leaf).__name__}{tuple(out.shape[1:])}"
        rows.append((label + " forward", sf, tf))
        rows.append((label + " backward", max(sb - sf, 0.0), max(tb - tf, 0.0)))
        x = out

    logits = x
    tlogits = torch.from_numpy(np.ascontiguousarray(logits)).requires_grad_(True)

    def s_loss() -> None:
        loss(logits, y)
        loss.backward()

    def t_loss() -> None:
        torch.nn.functional.cross_entropy(tlogits, yt).backward()

    rows.append(("loss, forward and backward", *interleaved(s_loss, t_loss)))
    model.zero_grad()
    opt.zero_grad()
    loss(model(X), y)
    model.backward(loss.backward(), needs_input_grad=False)
    topt.zero_grad()
    torch.nn.functional.cross_entropy(tmodel(Xt), yt).backward()
    rows.append((f"optimizer ({'Adam' if adam else 'SGD'}) update", *interleaved(opt.step, topt.step)))

    def s_step() -> None:
        opt.zero_grad()
        loss(model(X), y)
        model.backward(loss.backward(), needs_input_grad=False)
        opt.step()

    def t_step() -> None:
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tmodel(Xt), yt).backward()
        topt.step()

    rows.append(("the whole step", *interleaved(s_step, t_step)))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(CASES))
    parser.add_argument("--batch", type=int, default=None, help="default: the step benchmark's batch")
    parser.add_argument("--threads", type=int, default=1, help="threads for each library (default 1)")
    args = parser.parse_args(argv)
    batch = args.batch or CASES[args.model]
    rows = profile(args.model, batch)
    step = rows[-1][1]
    kind = "CPU time" if args.threads == 1 else "wall-clock time"
    print(f"{args.model} batch {batch}, {args.threads} thread(s): best {kind} of 7 turns, milliseconds")
    print(f"{'':40s} {'scratchnet':>10s} {'torch':>9s} {'torch/scr':>9s} {'share':>6s}")
    for label, s, t in rows:
        ratio = f"{t / s:9.2f}" if s > 1e-6 else f"{'-':>9s}"
        share = f"{100 * s / step:5.1f}%" if label != "the whole step" else ""
        print(f"{label:40s} {1e3 * s:10.3f} {1e3 * t:9.3f} {ratio} {share:>6s}")


if __name__ == "__main__":
    main()
