"""SIGINT / SIGTERM during ``scratchnet train`` and ``scratchnet book``: a clean stop, one line saying
where and how to resume, the last checkpoint complete, exit status 130 / 143, and a resume that works.

The end-to-end tests start the real command in a subprocess (``python -m scratchnet.cli``) on a tiny
MNIST written into a temporary data cache (``mnist_env``, conftest.py: the subprocess registers its
digest), wait until it has written something, and send the signal with ``os.kill``.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from datafiles import fake_mnist_pickle, subprocess_env

from scratchnet import cli
from scratchnet.train import (
    Callback,
    Checkpointer,
    Interrupted,
    MetricsLogger,
    TrainConfig,
    Trainer,
    TrainingInterrupted,
    load_checkpoint,
    stop_signals,
)
from scratchnet.train.interrupt import RETRY_SECONDS

START_TIMEOUT = 180  # a cold Numba cache compiles the kernels first
STOP_TIMEOUT = 20


# -- helpers --------------------------------------------------------------------------------------
def _default_sigint() -> None:  # a background pytest may hand SIGINT down ignored
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(args: list[str], cwd: Path, env: dict[str, str], name: str = "run") -> tuple[subprocess.Popen, Path, Path]:
    out, err = cwd / f"{name}.out", cwd / f"{name}.err"
    proc = subprocess.Popen([sys.executable, "-m", "scratchnet.cli", *args], cwd=cwd, env=env,
                            stdout=open(out, "w"), stderr=open(err, "w"), preexec_fn=_default_sigint)
    return proc, out, err


def wait_for(condition, proc: subprocess.Popen, err: Path, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the command ended (status {proc.returncode}) before it was interrupted:\n{err.read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"nothing written after {timeout} s:\n{err.read_text()}")
        time.sleep(0.05)


def csv_rows(path: Path) -> list[dict]:
    try:
        with open(path) as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        return []


def interrupt(proc: subprocess.Popen, signum: int) -> tuple[int, float]:
    sent = time.monotonic()
    os.kill(proc.pid, signum)
    try:
        code = proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"still running {STOP_TIMEOUT} s after {signal.Signals(signum).name}")
    return code, time.monotonic() - sent


def the_line(err: Path, start: str) -> str:
    text = err.read_text()
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.startswith(start)]
    assert len(lines) == 1, text
    return lines[0]


def command_after(line: str, marker: str) -> list[str]:
    argv = shlex.split(line.split(marker, 1)[1])
    assert argv[0] == "scratchnet"
    return argv[1:]


def with_option(argv: list[str], option: str, value: str) -> list[str]:
    argv = list(argv)
    argv[argv.index(option) + 1] = value
    return argv


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scratchnet.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=START_TIMEOUT)


# -- scratchnet train, end to end -----------------------------------------------------------------
@pytest.mark.parametrize(("backend", "signum"), [("scratch", signal.SIGINT), ("torch", signal.SIGTERM)])
def test_train_stops_on_a_signal_and_the_printed_command_resumes(backend: str, signum: int, mnist_env, tmp_path: Path):
    run_dir = tmp_path / "run"
    args = ["train", "book_mlp", "--backend", backend, "--epochs", "100000", "--no-progress", "--out", "run"]
    args += ["--device", "cpu"] if backend == "torch" else []
    proc, out, err = start(args, tmp_path, mnist_env)
    wait_for(lambda: len(csv_rows(run_dir / "metrics.csv")) >= 1, proc, err)
    code, seconds = interrupt(proc, signum)
    name = signal.Signals(signum).name
    assert code == 128 + signum and seconds < 5, (code, seconds)
    line = the_line(err, "scratchnet: interrupted")
    assert line.startswith(f"scratchnet: interrupted by {name} in epoch ") and "run folder run;" in line
    resume = command_after(line, "resume with: ")
    assert resume[-4:] == ["--out", "run", "--resume", "run/last.npz"]
    arrays, meta = load_checkpoint(run_dir / "last.npz")  # complete: it loads
    epoch = meta["epoch"]
    assert f"run/last.npz holds epoch {epoch};" in line and any(k.startswith("model/") for k in arrays)
    assert len(csv_rows(run_dir / "metrics.csv")) == epoch  # the cut-short epoch is in neither
    assert not list(run_dir.glob(".*.tmp"))

    done = run(with_option(resume, "--epochs", str(epoch + 1)), tmp_path, mnist_env)
    assert done.returncode == 0, done.stderr
    assert f"resumed from run/last.npz at epoch {epoch + 1}" in done.stdout
    assert f"done: {epoch + 1} epochs" in done.stdout
    assert [int(r["epoch"]) for r in csv_rows(run_dir / "metrics.csv")] == list(range(1, epoch + 2))
    doc = json.loads((run_dir / "config.json").read_text())
    assert doc["resumed_from"] == "run/last.npz" and doc["config"]["epochs"] == epoch + 1
    assert [i["resumed_from"] for i in doc["invocations"]] == [None, "run/last.npz"]


def test_train_folds_stops_on_sigint_and_the_printed_command_resumes_the_cross_validation(mnist_env, tmp_path: Path):
    run_dir = tmp_path / "cv"
    args = ["train", "book_mlp", "--folds", "2", "--epochs", "100000", "--no-progress", "--out", "cv"]
    proc, out, err = start(args, tmp_path, mnist_env)
    wait_for(lambda: len(csv_rows(run_dir / "fold-1" / "metrics.csv")) >= 1, proc, err)
    code, _ = interrupt(proc, signal.SIGINT)
    assert code == 130
    line = the_line(err, "scratchnet: interrupted")
    assert line.startswith("scratchnet: interrupted by SIGINT in fold 1/2, epoch ") and "folds done: 0" in line
    resume = command_after(line, "resume with: ")
    assert resume[-4:] == ["--out", "cv", "--resume", "cv"] and "--folds" in resume
    _, meta = load_checkpoint(run_dir / "fold-1" / "last.npz")
    epoch = meta["epoch"]
    assert f"cv/fold-1/last.npz holds epoch {epoch}" in line

    done = run(with_option(resume, "--epochs", str(epoch + 1)), tmp_path, mnist_env)
    assert done.returncode == 0, done.stderr
    assert f"fold 1: resumed from cv/fold-1/last.npz at epoch {epoch + 1}" in done.stdout
    cv = json.loads((run_dir / "cv.json").read_text())
    assert cv["complete"] and [f["fold"] for f in cv["folds"]] == [1, 2]
    assert [f["epochs_run"] for f in cv["folds"]] == [epoch + 1, epoch + 1]
    assert json.loads((run_dir / "config.json").read_text())["folds"] == 2


@pytest.fixture
def book_env(data_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """A fake MNIST large enough (500 training images) for ch6 --quick to take a while."""
    import dataclasses
    import gzip
    import hashlib

    from scratchnet.data import datasets
    from scratchnet.data.sources import FileSpec

    gz = fake_mnist_pickle((500, 50, 50))
    spec = FileSpec("mnist.pkl.gz", hashlib.sha256(gzip.decompress(gz)).hexdigest())
    monkeypatch.setitem(datasets.DATASETS, "mnist", dataclasses.replace(datasets.DATASETS["mnist"], files=(spec,)))
    (data_home / "mnist").mkdir(parents=True)
    (data_home / "mnist" / "mnist.pkl.gz").write_bytes(gz)
    return subprocess_env(data_home, ["mnist"], tmp_path)


@pytest.mark.parametrize(("backend", "signum"), [("scratch", signal.SIGINT), ("scratch", signal.SIGTERM),
                                                 ("torch", signal.SIGINT)])
def test_book_stops_on_a_signal_with_one_line(backend: str, signum: int, book_env, tmp_path: Path):
    args = ["book", "ch6", "--quick", "--out", "b"] + (["--backend", "torch"] if backend == "torch" else [])
    proc, out, err = start(args, tmp_path, book_env)
    wait_for(lambda: "fully connected, sigmoid" in out.read_text(), proc, err)
    code, seconds = interrupt(proc, signum)
    name = signal.Signals(signum).name
    assert code == 128 + signum and seconds < 5, (code, seconds)
    line = the_line(err, "scratchnet: book ch6")
    assert line == (f"scratchnet: book ch6 interrupted by {name} (the book's experiments keep no checkpoints); "
                    f"run it again with: {shlex.join(['scratchnet', *args])}")
    assert "such nets, majority vote" not in out.read_text()  # it stopped before the end


def test_a_second_signal_exits_at_once(tmp_path: Path):
    script = textwrap.dedent("""
        import os, signal, time
        from scratchnet.train import stop_signals
        with stop_signals() as stop:
            os.kill(os.getpid(), signal.SIGTERM)
            assert stop.signum == signal.SIGTERM   # the first one only sets the flag
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          preexec_fn=_default_sigint)
    assert proc.returncode == 143, proc.stderr
    assert "second SIGTERM: exiting at once" in proc.stderr and "Traceback" not in proc.stderr


# -- in-process: the handlers and the loop -----------------------------------------------------
@pytest.fixture(autouse=True)
def python_sigint():
    """Python's own SIGINT handler during each test (a background pytest inherits SIGINT ignored)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def tiny_data(n: int = 60, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return {"train": (X[:40], y[:40]), "validation": (X[40:50], y[40:50]), "test": (X[50:], y[50:])}


def small_config(**kw) -> TrainConfig:
    return TrainConfig(**{"model": "book_mlp", "epochs": 3, "batch_size": 10, "lr": 0.5, "dtype": "float64", **kw})


class SignalAt(Callback):
    """Sends ``signum`` to this process after batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch: int, batch: int, signum: int = signal.SIGINT) -> None:
        self.at, self.signum, self.epoch, self.batch = (epoch, batch), signum, 0, 0

    def on_epoch_start(self, trainer, epoch, num_batches):
        self.epoch, self.batch = epoch, 0

    def on_batch_end(self, trainer, metrics):
        self.batch += 1
        if (self.epoch, self.batch) == self.at:
            os.kill(os.getpid(), self.signum)


def test_fit_stops_between_batches_with_the_last_checkpoint_kept(tmp_path: Path):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    trainer = Trainer(small_config(), tiny_data(), tmp_path, [MetricsLogger(), Checkpointer(), SignalAt(2, 3)])
    with pytest.raises(TrainingInterrupted) as info:
        trainer.fit()
    exc = info.value
    assert isinstance(exc, KeyboardInterrupt) and exc.signum == signal.SIGINT and exc.exit_status == 130
    assert (exc.epoch, exc.epochs, exc.batches_done, exc.num_batches) == (2, 3, 3, 4)
    assert exc.checkpoint == tmp_path / "last.npz" and exc.checkpoint_epoch == 1
    assert exc.where() == "interrupted by SIGINT in epoch 2/3 after 3 of 4 batches"
    assert load_checkpoint(tmp_path / "last.npz")[1]["epoch"] == 1 and len(csv_rows(tmp_path / "metrics.csv")) == 1
    summary = json.loads((tmp_path / "metrics.json").read_text())["summary"]
    assert summary["interrupted"] and summary["stop_reason"] == exc.where()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before  # restored

    again = Trainer(small_config(), tiny_data(), tmp_path, [MetricsLogger(), Checkpointer()])
    again.resume(tmp_path / "last.npz")
    assert again.fit()["epochs_run"] == 3
    assert [int(r["epoch"]) for r in csv_rows(tmp_path / "metrics.csv")] == [1, 2, 3]


def test_fit_interrupted_in_its_first_epoch_has_no_checkpoint(tmp_path: Path):
    trainer = Trainer(small_config(), tiny_data(), tmp_path, [Checkpointer(), SignalAt(1, 1, signal.SIGTERM)])
    with pytest.raises(TrainingInterrupted) as info:
        trainer.fit()
    assert info.value.checkpoint is None and info.value.checkpoint_epoch is None and info.value.exit_status == 143


def test_a_signal_after_the_last_check_is_not_lost(tmp_path: Path):
    class SignalAtEnd(Callback):
        def on_fit_end(self, trainer):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # handled now: only the flag is set

    trainer = Trainer(small_config(epochs=1), tiny_data(), tmp_path, [SignalAtEnd()])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt) as info:  # sent again to Python's own handler once fit is done
        trainer.fit()
    assert not isinstance(info.value, TrainingInterrupted) and trainer.summary["epochs_run"] == 1


def test_checkpointer_keeps_the_best_epoch_across_a_resume(tmp_path: Path):
    trainer = Trainer(small_config(epochs=2), tiny_data(), tmp_path, [Checkpointer()])
    trainer.fit()
    resumed = Trainer(small_config(epochs=3), tiny_data(), tmp_path, [Checkpointer()])
    resumed.resume(tmp_path / "last.npz")
    resumed.history = [dict(r, val_acc=2.0) for r in resumed.history]  # a best no epoch can beat
    stamp = (tmp_path / "best.npz").stat().st_mtime_ns
    resumed.fit()
    assert (tmp_path / "best.npz").stat().st_mtime_ns == stamp


def test_stop_signals_sets_a_flag_nests_and_restores_the_handlers():
    before = signal.getsignal(signal.SIGINT)
    with stop_signals() as outer:
        assert signal.getsignal(signal.SIGINT) is not before and not outer.requested
        with stop_signals() as inner:
            assert inner is outer
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)  # the Python-level handler runs: no KeyboardInterrupt, a flag
        assert outer.signum == signal.SIGINT
        with pytest.raises(Interrupted, match="interrupted by SIGINT"):
            outer.check()
    assert signal.getsignal(signal.SIGINT) is before


def test_raise_when_safe_waits_until_it_is_outside_numba():
    """A signal landing in Numba's Python code (where a jitted caller would lose the exception) is
    raised again, once the interpreter is back in ordinary code."""
    numba_like: dict = {"__name__": "numba.core.serialize", "sys": sys}
    exec("def frame():\n    return sys._getframe()\n", numba_like)
    with stop_signals(raise_when_safe=True) as stop:
        stop._handle(signal.SIGINT, numba_like["frame"]())  # not raised there
        assert stop.signum == signal.SIGINT and not stop.delivered
        with pytest.raises(Interrupted):
            deadline = time.monotonic() + 100 * RETRY_SECONDS
            while time.monotonic() < deadline:
                time.sleep(0.001)
        assert stop.delivered


# -- messages and bad input ------------------------------------------------------------------------
def test_resume_command_replaces_out_and_resume_in_any_spelling():
    options = ["--out", "--resume", "--optimizer", "--epochs"]
    argv = ["train", "book_mlp", "--ou=old", "--epochs", "5", "--res", "x.npz", "--optimizer", "sgd"]
    assert cli.resume_command(argv, Path("run dir"), Path("run dir/last.npz"), options) == (
        "scratchnet train book_mlp --epochs 5 --optimizer sgd --out 'run dir' --resume 'run dir/last.npz'")
    assert cli.resume_command(["train", "m", "--resume", "a.npz"], Path("r"), None, options) == \
        "scratchnet train m --resume a.npz --out r"


def test_folds_resume_needs_the_cross_validation_folder(fake_mnist: bytes, tmp_path: Path, capsys):
    assert cli.main(["train", "book_mlp", "--folds", "2", "--resume", str(tmp_path / "nope")]) == 1
    assert "--resume takes the folder of an interrupted cross-validation" in capsys.readouterr().err
    (tmp_path / "cv").mkdir()
    assert cli.main(["train", "book_mlp", "--folds", "2", "--resume", str(tmp_path / "cv"),
                     "--out", str(tmp_path / "other")]) == 1
    err = capsys.readouterr().err
    assert "--out must be" in err and str(tmp_path / "other") in err


def test_folds_resume_refuses_another_run(fake_mnist: bytes, tmp_path: Path, capsys):
    cv = tmp_path / "cv"
    assert cli.main(["train", "book_mlp", "--folds", "2", "--epochs", "1", "--out", str(cv), "--no-progress"]) == 0
    assert json.loads((cv / "cv.json").read_text())["complete"]
    assert cli.main(["train", "book_mlp", "--folds", "3", "--epochs", "1", "--resume", str(cv), "--no-progress"]) == 1
    assert f"cannot resume the cross-validation in {cv}: it has 2 folds, --folds is 3" in capsys.readouterr().err
    assert cli.main(["train", "book_mlp", "--folds", "2", "--epochs", "1", "--split-seed", "4", "--resume", str(cv),
                     "--no-progress"]) == 1
    assert "its split_seed is 0, this run's is 4" in capsys.readouterr().err
