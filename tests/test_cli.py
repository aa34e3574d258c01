"""The ``scratchnet`` command: train and book, end to end on a small MNIST-format file."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from scratchnet import cli


def table(**rows) -> str:
    """Rows of the configuration table ``scratchnet train`` prints, one per line."""
    return "".join(f"  {name:<12}  {value}\n" for name, value in rows.items())


def test_train_scratch_then_resume(fake_mnist: bytes, tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "book_mlp", "--epochs", "2", "--out", str(out), "--no-progress", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert f"config (every option in {out / 'config.json'}):\n" + table(model="book_mlp", backend="scratch") in text
    assert table(epochs=2, batch_size=10, optimizer="sgd", lr=3) in text
    assert table(**{"run folder": out}) in text and "weight_decay" not in text  # only what is in use
    assert "epoch  train_loss" in text and "done: 2 epochs" in text and "samples/s (scratch)" in text
    assert len(list(csv.DictReader(open(out / "metrics.csv")))) == 2
    assert json.loads((out / "metrics.json").read_text())["summary"]["epochs_run"] == 2
    assert cli.main(["train", "book_mlp", "--epochs", "3", "--out", str(tmp_path / "r2"), "--no-progress",
                     "--resume", str(out / "last.npz")]) == 0
    assert "resumed from" in capsys.readouterr().out


def test_train_writes_config_json_and_resume_appends_an_invocation(fake_mnist: bytes, tmp_path: Path, capsys,
                                                                   monkeypatch: pytest.MonkeyPatch):
    import scratchnet

    out = tmp_path / "run"
    argv = ["train", "book_mlp", "--epochs", "1", "--out", str(out), "--no-progress", "--momentum", "0.5"]
    monkeypatch.setattr("sys.argv", ["/bin/scratchnet", *argv])
    assert cli.main() == 0
    doc = json.loads((out / "config.json").read_text())
    assert doc["config"] == {"model": "book_mlp", "backend": "scratch", "epochs": 1, "batch_size": 10, "lr": 3.0,
                             "optimizer": "sgd", "momentum": 0.5, "weight_decay": 0.0, "augment": False,
                             "dataset": "mnist", "seed": 0, "split_seed": 0, "subset": None, "patience": None,
                             "out_dir": str(out), "device": None, "dtype": "float32", "beta": 1.0, "latent_dim": 2,
                             "dropout": None, "nproc": 1, "amp": None, "channels_last": False, "compile": False}
    assert doc["argv"] == ["/bin/scratchnet", *argv] and doc["command"] == "scratchnet " + " ".join(argv)
    assert doc["backend"] == "scratch" and doc["versions"]["scratchnet"] == scratchnet.__version__
    assert doc["versions"]["kernels"] in ("reference", "fast", "cuda") and doc["resumed_from"] is None
    assert time.strptime(doc["started"], "%Y-%m-%dT%H:%M:%S%z") and len(doc["invocations"]) == 1
    assert table(momentum=0.5) in capsys.readouterr().out

    last = str(out / "last.npz")
    assert cli.main(["train", "book_mlp", "--epochs", "2", "--out", str(out), "--no-progress", "--resume", last]) == 0
    doc = json.loads((out / "config.json").read_text())  # rewritten for this invocation, the first one kept
    assert doc["config"]["epochs"] == 2 and doc["config"]["momentum"] == 0.0 and doc["resumed_from"] == last
    assert [i["resumed_from"] for i in doc["invocations"]] == [None, last]
    assert doc["invocations"][0]["argv"] == ["/bin/scratchnet", *argv]
    assert [int(r["epoch"]) for r in csv.DictReader(open(out / "metrics.csv"))] == [1, 2]

    assert cli.main(["train", "book_mlp", "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    doc = json.loads((out / "config.json").read_text())  # a fresh run in the folder starts it again
    assert len(doc["invocations"]) == 1 and doc["resumed_from"] is None
    assert len(list(csv.DictReader(open(out / "metrics.csv")))) == 1


def test_train_torch_backend(fake_mnist: bytes, tmp_path: Path, capsys):
    assert cli.main(["train", "latent3", "--backend", "torch", "--epochs", "1", "--device", "cpu",
                     "--out", str(tmp_path / "t"), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "samples/s (torch)" in text and table(device="cpu") in text
    doc = json.loads((tmp_path / "t" / "config.json").read_text())
    assert doc["backend"] == "torch" and doc["config"]["device"] == "cpu" and "torch" in doc["versions"]


def test_train_divergence_exits_2_with_message(fake_mnist: bytes, tmp_path: Path, capsys):
    code = cli.main(["train", "mlp_3b1b", "--lr", "1e300", "--epochs", "2", "--batch-size", "5",
                     "--out", str(tmp_path / "d"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "training stopped" in err and "Try a learning rate below 1e+300" in err


def test_train_bad_arguments(fake_mnist: bytes, tmp_path: Path, capsys):
    assert cli.main(["train", "book_mlp", "--lr", "-1", "--out", str(tmp_path / "x")]) == 1
    assert "lr must be a positive finite number, got -1.0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "no_such_model"])


@pytest.mark.parametrize("chapter", ["ch1", "ch3", "ch5", "ch6"])
def test_book_quick(fake_mnist: bytes, chapter: str, capsys):
    assert cli.main(["book", chapter, "--quick"]) == 0
    out = capsys.readouterr().out
    assert f"== {chapter}" in out
    if chapter == "ch1":
        assert "9129" in out and "95.42%" in out  # the book's figures printed beside ours
    if chapter == "ch5":
        assert "speed of learning" in out and "learns more slowly than the one after it" in out
    if chapter == "ch6":
        assert "first 50 training images (250 expanded), 20 validation and 20 test images" in out
        assert "[784, 100, 10] fully connected, sigmoid" in out and "97.80%" in out
        assert "ensemble of 3 such nets, majority vote" in out and "99.67%" in out


def test_book_ch6_torch_backend_prints_the_same_table(fake_mnist: bytes, capsys):
    def table(backend: str) -> list[str]:
        assert cli.main(["book", "ch6", "--quick", "--backend", backend]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == f"== ch6 ({backend}, quick; seed 12345678)"
        return [line.rsplit("%", 1)[0] for line in lines if "%" in line]  # without the times

    assert table("torch") == table("scratch")
    with pytest.raises(SystemExit):
        cli.main(["book", "ch2"])


def test_backend_for_builds_either_backend_from_an_unresolved_config():
    from scratchnet.train import ScratchBackend, TrainConfig
    from torchnet.train import TorchBackend

    scratch = cli.backend_for(TrainConfig("book_mlp"))
    torch_backend = cli.backend_for(TrainConfig("book_mlp", backend="torch", device="cpu"))
    assert type(scratch) is ScratchBackend and type(torch_backend) is TorchBackend  # the models' defaults filled in
    assert cli.book_library("scratch") is None
    assert cli.book_library("torch").network3.__name__ == "torchnet.book.network3"


def test_demo_trains_with_both_backends_through_the_public_entry_points(fake_mnist: bytes, capsys):
    from scratchnet import demo

    demo.main(epochs=1)
    out = capsys.readouterr().out
    assert out.startswith("mnist: ") and "sha256" in out  # cli.print_dataset_info's summary
    assert "== book_mlp with scratch" in out and "== book_mlp with torch" in out
    assert out.count("epoch  train_loss") == 2
    assert "test accuracy" in out and "training samples/s" in out and "as fast as torch eager" in out
