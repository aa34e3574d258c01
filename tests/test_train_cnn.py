"""The CNNs end to end: the CLI on small dataset files, k-fold, augmentation, reports, resume.

Every test trains on a few dozen images for an epoch or two, so each takes seconds.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from scratchnet import cli
from scratchnet.data.datasets import DATASETS
from scratchnet.train import Checkpointer, ScratchBackend, TrainConfig, Trainer, load_checkpoint
from torchnet.train import make_backend


def table(**rows) -> str:
    """Rows of the configuration table ``scratchnet train`` prints, one per line."""
    return "".join(f"  {name:<12}  {value}\n" for name, value in rows.items())


PNG = b"\x89PNG\r\n\x1a\n"
CNN_DATA = {"book_conv": "fake_mnist", "fashion_cnn": "fake_fashion", "cifar_cnn": "fake_cifar"}


def tiny(shape: tuple[int, ...], n: int = 26, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    X, y = rng.random((n, *shape), dtype=np.float32), rng.integers(0, 10, n)
    return {"train": (X[:16], y[:16]), "validation": (X[16:22], y[16:22]), "test": (X[22:], y[22:])}


def run(cfg: TrainConfig, *args, **kw) -> Trainer:
    """A Trainer on the backend ``cfg`` names (scratchnet takes the torch one from torchnet)."""
    return Trainer(cfg, *args, backend=make_backend(cfg.resolved()), **kw)


def model_state(trainer: Trainer) -> dict[str, np.ndarray]:
    return {k: np.array(v) for k, v in trainer.backend.state().items() if not k.startswith("rng/")}


# ----------------------------------------------------------------------------- the CLI, each CNN


@pytest.mark.parametrize("backend", ["scratch", "torch"])
@pytest.mark.parametrize("model", sorted(CNN_DATA))
def test_cli_trains_each_cnn_one_epoch(model: str, backend: str, request, tmp_path: Path, capsys):
    request.getfixturevalue(CNN_DATA[model])
    out = tmp_path / "run"
    argv = ["train", model, "--backend", backend, "--epochs", "1", "--out", str(out), "--no-progress",
            "--batch-size", "16"]
    assert cli.main(argv + (["--device", "cpu"] if backend == "torch" else [])) == 0
    text = capsys.readouterr().out
    spec_dataset = {"book_conv": "mnist", "fashion_cnn": "fashion-mnist", "cifar_cnn": "cifar10"}[model]
    assert table(model=model, backend=backend, dataset=spec_dataset) in text
    assert table(epochs=1, batch_size=16) in text and table(seed=0) in text
    assert (table(augment="random crop and flip") in text) == (model == "cifar_cnn")
    sizes = {"book_conv": "train 50, validation 20, test 20", "fashion_cnn": "train 36, validation 4, test 10",
             "cifar_cnn": "train 40, validation 5, test 3"}[model]
    assert f"data: {sizes} images" in text
    assert "done: 1 epochs" in text and f"samples/s ({backend})" in text
    assert "test report" in text and "| Class | Precision | Recall | F1 | Support |" in text
    assert len(list(csv.DictReader(open(out / "metrics.csv")))) == 1
    report = json.loads((out / "report.json").read_text())
    classes = list(DATASETS[spec_dataset].classes)
    assert list(report["per_class"]) == report["class_names"] == classes
    assert report["split"] == "test" and report["backend"] == backend
    assert np.array(report["confusion_matrix"]).sum() == report["n"] == int(sizes.rsplit(" ", 1)[-1])
    assert {"precision", "recall", "f1"} <= set(report["macro"]) and set(report["weighted"]) == set(report["macro"])
    assert (out / "confusion.png").read_bytes()[:8] == PNG
    summary = json.loads((out / "metrics.json").read_text())["summary"]
    assert summary["report"]["accuracy"] == report["accuracy"] == pytest.approx(summary["test_acc"])
    arrays, meta = load_checkpoint(out / "last.npz")
    assert meta["config"]["dataset"] == spec_dataset
    if model != "book_conv":  # BatchNorm statistics and Adam's moments travel in the checkpoint
        assert arrays["model/conv_stack.1.num_batches_tracked"] == 3  # batches of 16, 16 and the rest
        assert {"model/conv_stack.1.running_mean", "optim/state/0/exp_avg", "optim/state/0/exp_avg_sq"} <= set(arrays)


def test_book_conv_defaults_to_the_books_sgd_and_l2(fake_mnist: bytes, tmp_path: Path, capsys):
    assert cli.main(["train", "book_conv", "--epochs", "1", "--subset", "20", "--out", str(tmp_path / "b"),
                     "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert table(batch_size=10, optimizer="sgd", lr=0.03, momentum=0, weight_decay=2e-05) in text
    assert table(dataset="mnist") in text and "augment" not in text


def test_wrong_image_shape_is_one_clear_error(fake_cifar, tmp_path: Path, capsys):
    assert cli.main(["train", "fashion_cnn", "--dataset", "cifar10", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert ("scratchnet: error: fashion_cnn expects images of shape (N, 1, 28, 28), got (40, 3, 32, 32) "
            "(the 'train' split of cifar10)") in err
    assert not (tmp_path / "x").exists()  # nothing written before the check


# ----------------------------------------------------------------------------- k-fold


def test_kfold_from_the_cli(fake_fashion, tmp_path: Path, capsys):
    out = tmp_path / "cv"
    assert cli.main(["train", "fashion_cnn", "--folds", "3", "--epochs", "1", "--batch-size", "16",
                     "--out", str(out), "--no-progress", "--backend", "torch", "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "data: train 40, test 10 images" in text  # the folds take the whole training set
    for k in (1, 2, 3):
        assert f"== fold {k}/3:" in text
        assert (out / f"fold-{k}" / "metrics.json").is_file() and (out / f"fold-{k}" / "report.json").is_file()
        assert (out / f"fold-{k}" / "confusion.png").read_bytes()[:8] == PNG
    cv = json.loads((out / "cv.json").read_text())
    assert [f["fold"] for f in cv["folds"]] == [1, 2, 3]
    assert [f["n_validation"] for f in cv["folds"]] == [14, 13, 13]  # 40 images, sizes differ by at most one
    assert all(f["n_train"] + f["n_validation"] == 40 for f in cv["folds"])
    accs = [f["final_val_acc"] for f in cv["folds"]]
    assert cv["final_val_acc_mean"] == pytest.approx(np.mean(accs))
    assert cv["final_val_acc_std"] == pytest.approx(np.std(accs))
    for f in cv["folds"]:
        fold_doc = json.loads((out / f"fold-{f['fold']}" / "metrics.json").read_text())
        assert fold_doc["summary"]["final_val_acc"] == f["final_val_acc"]
    assert f"validation accuracy {cv['final_val_acc_mean']:.2%} ± {cv['final_val_acc_std']:.2%}" in text


def test_folds_and_resume_do_not_combine(fake_fashion, tmp_path: Path, capsys):
    # with --folds, --resume continues an interrupted cross-validation: it takes its folder
    assert cli.main(["train", "fashion_cnn", "--folds", "3", "--resume", str(tmp_path / "x.npz")]) == 1
    assert ("with --folds, --resume takes the folder of an interrupted cross-validation (holding cv.json and "
            f"fold-K/), but {str(tmp_path / 'x.npz')!r} is not a folder") in capsys.readouterr().err


# ----------------------------------------------------------------------------- augmentation


@pytest.mark.parametrize("backend", ["scratch", "torch"])
def test_augmentation_is_seeded_and_a_shifted_or_mirrored_window(backend: str):
    cfg = TrainConfig("cifar_cnn", backend=backend, device="cpu").resolved()
    b = make_backend(cfg)
    X = np.random.default_rng(0).random((6, 3, 32, 32), dtype=np.float32)
    first, again = b.augment(X, np.random.default_rng(5)), b.augment(X, np.random.default_rng(5))
    np.testing.assert_array_equal(first, again)
    assert first.shape == X.shape and first.dtype == X.dtype
    assert not np.array_equal(first, b.augment(X, np.random.default_rng(6)))
    padded = np.pad(X, ((0, 0), (0, 0), (4, 4), (4, 4)))
    for n in range(len(X)):  # each output: one 32x32 window of the 4-padded image, maybe mirrored
        windows = [padded[n, :, dy:dy + 32, dx:dx + 32] for dy in range(9) for dx in range(9)]
        assert any(np.array_equal(first[n], w) or np.array_equal(first[n], w[:, :, ::-1]) for w in windows)


class CountingBackend(ScratchBackend):
    """A real backend that records which batches it augments."""

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.augmented: list[int] = []

    def augment(self, X, rng):
        self.augmented.append(len(X))
        return super().augment(X, rng)


@pytest.mark.parametrize("augment", [True, False])
def test_augmentation_touches_training_batches_only(augment: bool, tmp_path: Path):
    cfg = TrainConfig("fashion_cnn", epochs=2, batch_size=6, augment=augment, dtype="float64").resolved()
    backend = CountingBackend(cfg)
    Trainer(cfg, tiny((1, 28, 28)), tmp_path, backend=backend).fit()
    assert backend.augmented == ([6, 6, 4] * 2 if augment else [])  # never the validation or test images


@pytest.mark.parametrize("backend", ["scratch", "torch"])
def test_augmented_runs_repeat_exactly(backend: str, tmp_path: Path):
    cfg = dict(model="fashion_cnn", backend=backend, epochs=1, batch_size=8, dtype="float64", device="cpu", seed=3)
    runs = [run(TrainConfig(augment=a, **cfg), tiny((1, 28, 28)), tmp_path / str(i))
            for i, a in enumerate([True, True, False])]
    for r in runs:
        r.fit()
    first, again, plain = (model_state(r) for r in runs)
    for k, v in first.items():
        np.testing.assert_array_equal(again[k], v, err_msg=k)
    assert not np.array_equal(plain["model/conv_stack.0.weight"], first["model/conv_stack.0.weight"])


# ----------------------------------------------------------------------------- modes, resume


@pytest.mark.parametrize("backend", ["scratch", "torch"])
def test_train_step_uses_batch_statistics_and_evaluate_running_ones(backend: str):
    b = make_backend(TrainConfig("fashion_cnn", backend=backend, dtype="float64", device="cpu").resolved())
    X, y = tiny((1, 28, 28))["train"]
    before = model_state_of(b)
    first = b.evaluate(X, y, 5)
    assert b.evaluate(X, y, 16) == pytest.approx(first, rel=1e-12)  # no dropout, no batch statistics
    np.testing.assert_array_equal(b.predict(X, 7), b.predict(X, 16))
    for k, v in model_state_of(b).items():  # evaluation leaves running statistics and weights alone
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    b.train_step(X, y)
    after = model_state_of(b)
    assert after["model/conv_stack.1.num_batches_tracked"] == 1
    assert not np.array_equal(after["model/fc_stack.2.running_mean"], before["model/fc_stack.2.running_mean"])


def model_state_of(backend) -> dict[str, np.ndarray]:
    return {k: np.array(v) for k, v in backend.state().items() if k.startswith("model/")}


@pytest.mark.parametrize("backend", ["scratch", "torch"])
def test_fashion_cnn_resume_equals_an_uninterrupted_run(backend: str, tmp_path: Path):
    """BatchNorm running statistics, Adam's moments and step, dropout's generator: all resume."""
    cfg = dict(model="fashion_cnn", backend=backend, batch_size=6, dtype="float64", device="cpu", seed=11)
    data = tiny((1, 28, 28))
    straight = run(TrainConfig(epochs=3, **cfg), data, tmp_path / "a", [Checkpointer()])
    straight.fit()
    run(TrainConfig(epochs=1, **cfg), data, tmp_path / "b", [Checkpointer()]).fit()
    resumed = run(TrainConfig(epochs=3, **cfg), data, tmp_path / "c", [Checkpointer()])
    resumed.resume(tmp_path / "b" / "last.npz")
    assert resumed.start_epoch == 2
    resumed.fit()
    expected, got = model_state(straight), model_state(resumed)
    assert sorted(got) == sorted(expected)
    assert any(k.endswith("running_var") for k in got) and any(k.endswith("exp_avg_sq") for k in got)
    for k, v in expected.items():
        np.testing.assert_array_equal(got[k], v, err_msg=k)
    assert [r["val_loss"] for r in resumed.history] == [r["val_loss"] for r in straight.history]
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in straight.history]


def test_fashion_cnn_checkpoint_moves_from_scratch_to_torch(tmp_path: Path):
    cfg = dict(model="fashion_cnn", epochs=1, batch_size=8, dtype="float64", device="cpu")
    data = tiny((1, 28, 28))
    scratch = Trainer(TrainConfig(**cfg), data, tmp_path / "s", [Checkpointer()])
    scratch.fit()
    other = run(TrainConfig(backend="torch", **cfg), data, tmp_path / "t")
    other.resume(tmp_path / "s" / "last.npz")
    X, y = data["test"]
    theirs, ours = other.backend.evaluate(X, y, 4), scratch.backend.evaluate(X, y, 4)
    np.testing.assert_allclose([theirs["loss"], theirs["acc"]], [ours["loss"], ours["acc"]], rtol=1e-10)
    np.testing.assert_array_equal(other.backend.predict(X, 4), scratch.backend.predict(X, 4))


def test_a_last_batch_of_one_image_sits_out_the_epoch(tmp_path: Path):
    """BatchNorm cannot normalise a single sample: 17 images in batches of 8 train as 8 + 8."""
    data = tiny((1, 28, 28))
    X, y = data["train"]
    data["train"] = (np.concatenate([X, X[:1]]), np.concatenate([y, y[:1]]))
    cfg = TrainConfig("fashion_cnn", epochs=1, batch_size=8, dtype="float64")
    trainer = Trainer(cfg, data, tmp_path)
    trainer.fit()
    assert model_state(trainer)["model/fc_stack.2.num_batches_tracked"] == 2


def test_train_help_lists_the_cnns_and_their_options(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--help"])
    text = capsys.readouterr().out
    assert exc.value.code == 0
    for words in ("book_conv    mnist, sgd lr 0.03, batch 10, 60 epochs, weight decay 2e-05",
                  "fashion_cnn  fashion-mnist, adam lr 0.001, batch 64, 10 epochs",
                  "cifar_cnn    cifar10, adam lr 0.001, batch 64, 30 epochs, augmented",
                  "--augment, --no-augment", "--folds K", "--dataset", "6,500", "confusion.png"):
        assert words in text, words
