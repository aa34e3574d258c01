"""Data-parallel training (``scratchnet train ... --backend torch --nproc 2``) on the CPU with gloo.

Each test starts the real command in a subprocess, which starts two workers through torchrun, on
small datasets the tests write; the references are one-process runs of the same command line
(without ``--nproc``) in this process; the launcher and its workers read the same small datasets
through ``mnist_env`` / ``fashion_env`` (conftest.py: every new Python registers their digests).
In float64 the two must end with the same parameters, optimizer state and BatchNorm statistics:
relative difference ``||ours - theirs|| / ||theirs||``
(2-norm over the tensor) at most 1e-10 per tensor. Per element the deviation can be larger where
Adam divides a tiny gradient by its tiny root mean square (which amplifies the summation order's
rounding), which the norm over the tensor does not let hide anything larger.

fashion_cnn has dropout (0.5, 0.4), whose masks differ by construction between one process and
two (each worker draws its own shard's): its parity test turns dropout off with ``--dropout 0``,
an option of both backends, so the comparison is of everything else (SyncBatchNorm, Adam, the
weighting of unequal shards). The batch sizes and subsets are chosen so that shards are unequal
(a global batch of 15: 8 and 7) and the last batch is partial (45 images in batches of 10: the
last 5 split 3 and 2).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_interrupt import command_after, csv_rows, interrupt, start, the_line, wait_for, with_option

from scratchnet import cli
from scratchnet.train import load_checkpoint

RTOL = 1e-10
LAUNCH_TIMEOUT = 300  # two workers each import torch and numba before the first batch


def relative_differences(ours: Path, theirs: Path, prefixes: tuple[str, ...] = ("model/", "optim/state/")) -> dict:
    """``||a - b|| / ||b||`` for every array of checkpoint ``theirs`` under ``prefixes``."""
    a, _ = load_checkpoint(ours)
    b, _ = load_checkpoint(theirs)
    keys = [k for k in b if k.startswith(prefixes)]
    assert keys and set(keys) <= set(a), sorted(set(keys) - set(a))
    out = {}
    for k in keys:
        x, y = np.asarray(a[k], np.float64), np.asarray(b[k], np.float64)
        out[k] = float(np.linalg.norm(x - y) / max(np.linalg.norm(y), np.finfo(np.float64).tiny))
    return out


def assert_same_state(ours: Path, theirs: Path, what: str, prefixes: tuple[str, ...] = ("model/", "optim/state/")):
    diffs = relative_differences(ours, theirs, prefixes)
    bad = {k: f"{d:.3g}" for k, d in diffs.items() if not d <= RTOL}
    assert not bad, f"{what}: relative difference above {RTOL:g} (max {max(diffs.values()):.3g}): {bad}"


def launch(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start ``scratchnet ARGS`` (a launch of workers); :func:`finished` waits for it. The tests
    run their one-process references meanwhile: the workers spend seconds importing torch."""
    return subprocess.Popen([sys.executable, "-m", "scratchnet.cli", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    """Wait for a :func:`launch`; it must have succeeded."""
    try:
        stdout, stderr = proc.communicate(timeout=LAUNCH_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0, stdout[-3000:] + stderr[-3000:]
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def one_process(args: list[str], cwd: Path, capsys) -> str:
    """The same command line in this process, one process; returns what it printed."""
    here = Path.cwd()
    os.chdir(cwd)
    try:
        assert cli.main(args) == 0, capsys.readouterr()
    finally:
        os.chdir(here)
    return capsys.readouterr().out


def assert_one_run_folder(done: subprocess.CompletedProcess, run_dir: Path, epochs: int) -> None:
    """The launch printed one configuration, one epoch table and one report, and rank 0 alone wrote
    the run folder: each epoch once in metrics.csv, config.json naming the two workers (and, for a
    resumed run, each invocation once)."""
    assert done.stdout.count("config (every option in") == 1, done.stdout
    assert done.stdout.count("val_loss") == 1 and done.stdout.count("test report") == 1, done.stdout
    assert done.stdout.count("done: ") == 1 and "2 workers" in done.stdout, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    assert {p.name for p in run_dir.iterdir()} == {"config.json", "metrics.csv", "metrics.json", "last.npz",
                                                   "best.npz", "report.json", "confusion.png"}
    assert [int(r["epoch"]) for r in csv_rows(run_dir / "metrics.csv")] == list(range(1, epochs + 1))
    doc = json.loads((run_dir / "config.json").read_text())
    assert doc["config"]["nproc"] == 2 and "--nproc" in doc["command"]
    assert len(doc["invocations"]) == 1 + bool(doc["resumed_from"])


def assert_same_metrics(ours: Path, theirs: Path) -> None:
    """The workers' metrics, reduced weighted by images, are the one process's (every epoch), and so
    is the test report's accuracy."""
    rows, ref = csv_rows(ours / "metrics.csv"), csv_rows(theirs / "metrics.csv")
    assert len(rows) == len(ref)
    for row, r in zip(rows, ref, strict=True):
        for k in ("train_loss", "val_loss", "val_acc"):
            assert float(row[k]) == pytest.approx(float(r[k]), rel=RTOL, abs=1e-15), (k, row[k], r[k])
    assert json.loads((ours / "report.json").read_text())["accuracy"] == \
        json.loads((theirs / "report.json").read_text())["accuracy"]


def test_fashion_cnn_adam_syncbatchnorm_on_two_workers_is_one_process(fashion_env, tmp_path: Path, capsys):
    """fashion_cnn, Adam, five BatchNorms made SyncBatchNorm, float64, 22 images in batches of 15
    (shards of 8 and 7, then 4 and 3); --dropout 0 in every run (see the module's docstring). The
    workers' checkpoint then goes on in scratchnet as the one-process checkpoint does in torch."""
    common = ["train", "fashion_cnn", "--backend", "torch", "--device", "cpu", "--dtype", "float64",
              "--subset", "22", "--batch-size", "15", "--dropout", "0", "--no-progress"]
    workers = launch([*common, "--epochs", "1", "--nproc", "2", "--out", "ddp"], tmp_path, fashion_env)
    one_process([*common, "--epochs", "1", "--out", "one"], tmp_path, capsys)
    one_process([*common, "--epochs", "2", "--out", "one2", "--resume", "one/last.npz"], tmp_path, capsys)
    assert_one_run_folder(finished(workers), tmp_path / "ddp", 1)
    assert_same_state(tmp_path / "ddp" / "last.npz", tmp_path / "one" / "last.npz", "2 workers vs 1 process")
    diffs = relative_differences(tmp_path / "ddp" / "last.npz", tmp_path / "one" / "last.npz")
    assert sum(k.endswith(("running_mean", "running_var")) for k in diffs) == 10  # every BatchNorm's statistics
    assert_same_metrics(tmp_path / "ddp", tmp_path / "one")

    scratch = [c if c != "torch" else "scratch" for c in common if c not in ("--device", "cpu")]
    one_process([*scratch, "--epochs", "2", "--out", "scratch", "--resume", "ddp/last.npz"], tmp_path, capsys)
    assert_same_state(tmp_path / "scratch" / "last.npz", tmp_path / "one2" / "last.npz", "resumed in scratchnet",
                      prefixes=("model/",))


def processes_naming(text: str) -> list[int]:
    """The ids of live processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            continue  # ended meanwhile
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="looks for the workers in /proc (Linux)")
def test_book_mlp_on_two_workers_is_one_process_stops_on_sigint_and_resumes_anywhere(mnist_env, tmp_path: Path,
                                                                                     capsys):
    """book_mlp, SGD, float64, 45 images in batches of 10 (the last, 5, split 3 and 2), on two workers:
    SIGINT after k epochs (wherever it lands) stops both with the last checkpoint complete; that
    checkpoint equals a one-process run's after k epochs, and goes on in one torch process, in
    scratchnet and on two workers again, each equal to the one-process run's epoch k + 1."""
    common = ["train", "book_mlp", "--backend", "torch", "--device", "cpu", "--dtype", "float64", "--subset", "45",
              "--no-progress"]
    run = f"ddp-{os.getpid()}-{time.monotonic_ns()}"  # the run folder's name also finds the workers in /proc
    proc, out, err = start([*common, "--epochs", "100000", "--nproc", "2", "--out", run], tmp_path, mnist_env)
    wait_for(lambda: (tmp_path / run / "last.npz").exists(), proc, err, timeout=LAUNCH_TIMEOUT)
    code, seconds = interrupt(proc, signal.SIGINT)
    assert code == 130 and seconds < 15, (code, seconds, err.read_text())
    assert processes_naming(run) == []  # no worker outlives the launcher
    line = the_line(err, "scratchnet: interrupted")
    assert line.startswith("scratchnet: interrupted by SIGINT in epoch ")
    _, meta = load_checkpoint(tmp_path / run / "last.npz")  # complete: it loads
    k = meta["epoch"]
    assert f"{run}/last.npz holds epoch {k};" in line and len(csv_rows(tmp_path / run / "metrics.csv")) == k
    resume = command_after(line, "resume with: ")
    assert resume[resume.index("--nproc") + 1] == "2" and resume[-2:] == ["--resume", f"{run}/last.npz"]
    shutil.copy(tmp_path / run / "last.npz", tmp_path / "ddp-k.npz")  # the resumed workers will replace it
    workers = launch(with_option(resume, "--epochs", str(k + 1)), tmp_path, mnist_env)

    # after k epochs: 2 workers == 1 process (parameters, SGD's state)
    one_process([*common, "--epochs", str(k), "--out", "one"], tmp_path, capsys)
    assert_same_state(tmp_path / "ddp-k.npz", tmp_path / "one" / "last.npz", f"2 workers vs 1, epoch {k}")
    # epoch k + 1 from the workers' checkpoint: in one torch process, in scratchnet, on two workers
    one_process([*common, "--epochs", str(k + 1), "--out", "one2"], tmp_path, capsys)
    out = one_process([*common, "--epochs", str(k + 1), "--out", "resumed", "--resume", "ddp-k.npz"], tmp_path,
                      capsys)
    assert f"resumed from ddp-k.npz at epoch {k + 1}" in out
    assert_same_state(tmp_path / "resumed" / "last.npz", tmp_path / "one2" / "last.npz", "resumed in one process")
    scratch = [c if c != "torch" else "scratch" for c in common if c not in ("--device", "cpu")]
    one_process([*scratch, "--epochs", str(k + 1), "--out", "scratch", "--resume", "ddp-k.npz"], tmp_path, capsys)
    assert_same_state(tmp_path / "scratch" / "last.npz", tmp_path / "one2" / "last.npz", "resumed in scratchnet",
                      prefixes=("model/",))
    done = finished(workers)
    assert f"resumed from {run}/last.npz at epoch {k + 1}" in done.stdout
    assert_one_run_folder(done, tmp_path / run, k + 1)
    assert_same_state(tmp_path / run / "last.npz", tmp_path / "one2" / "last.npz", "resumed on 2 workers")
    assert_same_metrics(tmp_path / run, tmp_path / "one2")  # every epoch's, 1 to k before the signal included
