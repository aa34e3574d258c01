"""``scratchnet viz``: each picture from short runs of both backends, one GIF frame per snapshot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scratchnet import cli
from scratchnet.train import TrainConfig, Trainer
from scratchnet.train.snapshots import Snapshots, load_snapshots, stratified
from scratchnet.viz import draw
from scratchnet.viz.snapshots import ellipse


def images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    X = rng.random((n, 1, 28, 28)).astype(np.float32) * 0.2
    for i, c in enumerate(y):  # a bright block per class, so there is something to learn
        X[i, 0, c * 2:c * 2 + 4, :] = 0.9
    return X, y


def run(tmp_path: Path, model: str, backend: str, every: int | None = None, **kw) -> Path:
    data = {"train": images(60, 0), "validation": images(20, 1), "test": images(30, 2)}
    config = TrainConfig(model=model, backend=backend, epochs=2, batch_size=20, seed=1, device="cpu", **kw).resolved()
    if backend == "torch":
        from torchnet.train import make_backend

        backend_obj = make_backend(config)
    else:
        backend_obj = None
    out = tmp_path / f"{model}-{backend}"
    from scratchnet.train.callbacks import MetricsLogger

    Trainer(config, data, out, [MetricsLogger(), Snapshots(every)], backend=backend_obj).fit()
    return out


def frames(path: Path) -> int:
    with Image.open(path) as im:
        return im.n_frames


@pytest.mark.parametrize("backend", ["scratch", "torch"])
def test_latents_gif_has_one_frame_per_snapshot(tmp_path: Path, backend: str):
    out = run(tmp_path, "vae", backend, every=2)
    snaps = load_snapshots(out)
    assert len(snaps) == 1 + 2 * (1 + 1)    # before training; per epoch (3 batches) one at batch 2, one at the end
    assert int(snaps[0]["epoch"]) == 0 and int(snaps[-1]["epoch"]) == 2
    assert snaps[0]["latent_mu"].shape == (30, 2) and list(snaps[0]["labels"]) == sorted(np.arange(30) % 10)
    assert frames(draw("latents", out)) == len(snaps)
    assert draw("curves", out).stat().st_size > 1000


@pytest.mark.parametrize("backend", ["scratch", "torch"])
def test_masks_and_hidden3_gifs(tmp_path: Path, backend: str):
    masks_run = run(tmp_path, "linear_mask", backend)
    assert load_snapshots(masks_run)[0]["weights"].shape == (10, 784)
    assert frames(draw("masks", masks_run)) == 3       # before training, after each of 2 epochs
    hidden_run = run(tmp_path, "latent3", backend)
    H = load_snapshots(hidden_run)[-1]["hidden"]
    assert H.shape == (30, 3) and (H > 0).all() and (H < 1).all()   # sigmoid units
    assert frames(draw("hidden3", hidden_run)) == 3


def test_the_two_backends_snapshot_the_same_arrays(tmp_path: Path):
    a, b = (load_snapshots(run(tmp_path, "vae", backend)) for backend in ("scratch", "torch"))
    assert [sorted(s) for s in a] == [sorted(s) for s in b]


def test_a_picture_names_what_it_needs(tmp_path: Path):
    out = run(tmp_path, "linear_mask", "scratch")
    with pytest.raises(ValueError, match=r"hold no 'latent_mu'; this picture needs a vae run \(found \['weights'\]\)"):
        draw("latents", out)
    with pytest.raises(FileNotFoundError, match="no snapshots"):
        draw("masks", tmp_path)
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        draw("curves", tmp_path / "missing")


def test_stratified_takes_each_class_in_turn_and_the_ellipse_is_the_2_sigma_contour():
    y = np.array([3, 1, 3, 1, 1, 0])
    assert list(stratified(y, 2)) == [5, 1, 3, 0, 2]
    cov = np.array([[4.0, 0.0], [0.0, 1.0]])
    e = ellipse(np.array([1.0, -1.0]), cov)
    d = e - [1.0, -1.0]
    np.testing.assert_allclose(np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d), 4.0, rtol=1e-6)


def test_viz_on_the_command_line(fake_mnist: bytes, tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "vae", "--epochs", "1", "--batch-size", "10", "--snapshots", "--snapshot-every", "2",
                     "--out", str(out), "--no-progress"]) == 0
    assert cli.main(["viz", "latents", str(out)]) == 0
    assert f"wrote {out / 'latents.gif'}" in capsys.readouterr().out
    assert frames(out / "latents.gif") == len(load_snapshots(out))
    assert cli.main(["train", "vae", "--epochs", "1", "--snapshot-every", "2", "--out", str(tmp_path / "x")]) == 1
    assert "--snapshot-every needs --snapshots" in capsys.readouterr().err


def checkpointed_run(tmp_path: Path, model: str, backend: str, **kw) -> Path:
    from scratchnet.train import Checkpointer
    from scratchnet.train.callbacks import MetricsLogger

    data = {"train": images(60, 0), "validation": images(20, 1), "test": images(30, 2)}
    config = TrainConfig(model=model, backend=backend, epochs=1, batch_size=20, seed=1, device="cpu", **kw).resolved()
    backend_obj = None
    if backend == "torch":
        from torchnet.train import make_backend

        backend_obj = make_backend(config)
    out = tmp_path / f"{model}-{backend}-ckpt"
    Trainer(config, data, out, [MetricsLogger(), Checkpointer()], backend=backend_obj).fit()
    return out


@pytest.mark.parametrize("backend", ["scratch", "torch"])
def test_traverse_and_manifold_decode_the_runs_last_weights(tmp_path: Path, backend: str):
    """A torch run's folder is drawn by scratchnet alone: its checkpoint loads into the scratch VAE."""
    out = checkpointed_run(tmp_path, "vae", backend, latent_dim=2)
    assert frames(draw("traverse", out)) == 13 and (out / "traverse.png").stat().st_size > 1000
    with Image.open(draw("manifold", out)) as im:
        assert im.size[0] > 500
    three = checkpointed_run(tmp_path / "z3", "vae", backend, latent_dim=3)
    assert frames(draw("traverse", three)) == 13
    with pytest.raises(ValueError, match="manifold.png covers a 2-D latent space, this run's has 3"):
        draw("manifold", three)


def test_predictions_png_of_a_classifier_run(fake_mnist: bytes, tmp_path: Path):
    out = tmp_path / "run"
    assert cli.main(["train", "latent3", "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    with Image.open(draw("predictions", out)) as im:
        assert im.size[0] > 500
    vae_run = checkpointed_run(tmp_path, "vae", "scratch")
    with pytest.raises(ValueError, match="a vae makes none"):
        draw("predictions", vae_run)


def test_step_log_records_the_first_epoch_every_n_batches_and_curves_draws_it(tmp_path: Path):
    from scratchnet.train.callbacks import MetricsLogger
    from scratchnet.train.snapshots import StepLog

    data = {"train": images(60, 0), "validation": images(20, 1)}
    config = TrainConfig(model="vae", epochs=2, batch_size=10, seed=1).resolved()
    out = tmp_path / "steps"
    Trainer(config, data, out, [MetricsLogger(), StepLog(2)]).fit()
    import csv

    rows = list(csv.DictReader(open(out / "steps.csv")))
    assert [int(r["batch"]) for r in rows] == [2, 4, 6]             # 6 batches in epoch 1; none in epoch 2
    assert {"train_kl", "val_kl", "val_reconstruction"} <= set(rows[0])
    assert draw("curves", out).stat().st_size > 1000
    with pytest.raises(ValueError, match="every must be a positive number of batches, got 0"):
        StepLog(0)


def test_make_figures_on_a_subset(fake_mnist: bytes, tmp_path: Path):
    """The notes' pictures command, end to end on a small MNIST file: every picture it copies."""
    from scratchnet.viz import figures

    out = tmp_path / "figures"
    assert figures.main(["--out", str(out), "--runs", str(tmp_path / "runs"), "--epochs", "1", "--subset", "40"]) == 0
    expected = {target for _, _, _, pictures in figures.RUNS for _, _, target in pictures}
    assert {p.name for p in out.iterdir()} == expected
    assert all(p.stat().st_size < 1_000_000 for p in out.iterdir())


def test_per_class_accuracy_reaches_the_csv_and_curves_and_follow_stops_when_the_run_ends(
        fake_mnist: bytes, tmp_path: Path, capsys):
    import csv

    out = tmp_path / "run"
    assert cli.main(["train", "latent3", "--epochs", "2", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "val_acc_3" not in text                                  # the table stays narrow
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [f"val_acc_{c}" for c in range(10)] == [k for k in rows[0] if k.startswith("val_acc_")]
    values = [float(rows[-1][f"val_acc_{c}"]) for c in range(10)]
    assert all(0.0 <= v <= 1.0 or np.isnan(v) for v in values) and sum(not np.isnan(v) for v in values) >= 5
    assert cli.main(["viz", "curves", str(out), "--follow"]) == 0   # a finished run: one draw, then done
    assert capsys.readouterr().out.count("redrew") == 1
    assert cli.main(["viz", "masks", str(out), "--follow"]) == 1
    assert "--follow redraws curves.png; masks is drawn once" in capsys.readouterr().err


def test_follow_gives_up_after_its_timeout_on_a_run_that_never_finishes(tmp_path: Path):
    from scratchnet.viz.curves import follow

    (tmp_path / "metrics.csv").write_text("epoch,train_loss,val_loss\n1,2.0,2.1\n")
    (tmp_path / "metrics.json").write_text('{"summary": {}}')
    lines: list[str] = []
    follow(tmp_path, interval=0.01, timeout=0.05, out=lines.append)
    assert len(lines) == 1 and (tmp_path / "curves.png").is_file()
