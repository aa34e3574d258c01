"""Imports in one direction: scratchnet never imports torch, torchvision or torchnet, except the
command line (``scratchnet/cli.py``, ``scratchnet/demo.py``), and there only inside a function.

Checked twice: statically (an AST walk of every module) and by running the command with those
packages made unimportable (a ``sitecustomize`` whose meta-path finder refuses them).
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from datafiles import fake_mnist_pickle

ROOT = Path(__file__).resolve().parents[1]
BLOCKED = ("torch", "torchvision", "torchnet")
#: The command line may import torchnet, lazily (inside the function handling ``--backend torch``).
COMMAND_LINE = {"scratchnet/cli.py", "scratchnet/demo.py"}


def torch_imports(path: Path) -> list[tuple[int, str, bool]]:
    """``(line, module, inside a function)`` for every import of torch / torchvision / torchnet."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                names = [child.module]
            elif (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute | ast.Name)
                  and getattr(child.func, "attr", getattr(child.func, "id", "")) in ("import_module", "__import__")
                  and child.args and isinstance(child.args[0], ast.Constant)):
                names = [str(child.args[0].value)]  # importlib.import_module("torch") counts too
            found.extend((child.lineno, n, in_function) for n in names if n.split(".")[0] in BLOCKED)
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(tree, False)
    return found


def test_the_ast_walk_sees_eager_and_lazy_imports(tmp_path: Path):
    """The checker itself: it finds every form of import, and tells module level from a function's."""
    f = tmp_path / "m.py"
    f.write_text("import torch.nn as nn\nfrom torchnet import models\nimport numpy\n"
                 "def g():\n    from torchvision.transforms import v2\n    import importlib\n"
                 "    return importlib.import_module('torchnet.train')\n"
                 "class C:\n    import torch\n")
    assert torch_imports(f) == [(1, "torch.nn", False), (2, "torchnet", False), (5, "torchvision.transforms", True),
                                (7, "torchnet.train", True), (9, "torch", False)]


def test_scratchnet_imports_torch_only_lazily_and_only_in_the_command_line():
    files = sorted((ROOT / "scratchnet").rglob("*.py"))
    assert len(files) > 20 and ROOT / "scratchnet" / "train" / "loop.py" in files
    eager, outside = [], []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        for line, module, lazy in torch_imports(path):
            if rel not in COMMAND_LINE:
                outside.append(f"{rel}:{line} imports {module}")
            elif not lazy:
                eager.append(f"{rel}:{line} imports {module} at module level")
    assert outside == [], "scratchnet must not import torch, torchvision or torchnet outside the command line"
    assert eager == [], "the command line imports torchnet only inside the function that needs it"
    assert any(torch_imports(ROOT / "scratchnet" / "cli.py"))  # the walk does see the CLI's lazy imports


# ----------------------------------------------------------------------------- torch unimportable

SITECUSTOMIZE = f'''
import sys

BLOCKED = {BLOCKED!r}


class RefuseTorch:
    """A meta-path finder that makes torch, torchvision and torchnet unimportable."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"No module named {{name!r}} (made unimportable by the test)")
        return None


sys.meta_path.insert(0, RefuseTorch())
'''

# Runs `scratchnet` commands (the console script's entry point, scratchnet.cli:main) one after the
# other in this interpreter, with the test's small mnist.pkl.gz registered under its digest.
RUNNER = '''
import dataclasses, sys
try:
    import torch  # noqa: F401
except ImportError:
    print("@@@ torch is unimportable")
from scratchnet.data import datasets
from scratchnet.data.sources import FileSpec
spec = datasets.DATASETS["mnist"]
datasets.DATASETS["mnist"] = dataclasses.replace(spec, files=(FileSpec("mnist.pkl.gz", sys.argv[1]),))
import importlib, pkgutil
import scratchnet
modules = [m.name for m in pkgutil.walk_packages(scratchnet.__path__, "scratchnet.")]
for name in modules:  # every module of the package imports without torch
    importlib.import_module(name)
print(f"@@@ imported {len(modules)} modules")
from scratchnet.cli import main
for command in " ".join(sys.argv[2:]).split(" ;; "):
    code = main(command.split())
    print(f"@@@ exit {code}: {command}", flush=True)
    print(f"@@@ exit {code}: {command}", file=sys.stderr, flush=True)
print("@@@ loaded: " + ",".join(sorted(m for m in sys.modules if m.split(".")[0] in {blocked!r})))
'''.replace("{blocked!r}", repr(BLOCKED))


def run_without_torch(tmp_path: Path, *commands: str) -> tuple[dict[str, str], dict[str, str]]:
    """Each command's stdout and stderr (keyed by the command), torch refused from the start."""
    gz = fake_mnist_pickle((50, 20, 20))
    (tmp_path / "cache" / "mnist").mkdir(parents=True)
    (tmp_path / "cache" / "mnist" / "mnist.pkl.gz").write_bytes(gz)
    (tmp_path / "block").mkdir()
    (tmp_path / "block" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    (tmp_path / "runner.py").write_text(RUNNER)
    env = {**os.environ, "SCRATCHNET_DATA": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(tmp_path / "block"), str(ROOT)])}
    proc = subprocess.run([sys.executable, str(tmp_path / "runner.py"), hashlib.sha256(gzip.decompress(gz)).hexdigest(),
                           " ;; ".join(commands)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("@@@ torch is unimportable\n"), proc.stdout[:500]  # the finder was in force
    assert proc.stdout.endswith("\n@@@ loaded: \n"), proc.stdout[-500:]  # and none of them got in
    imported = int(proc.stdout.split("@@@ imported ", 1)[1].split()[0])
    assert imported > 20  # scratchnet.demo, scratchnet.viz..., scratchnet.train.loop, ...

    def split(text: str) -> dict[str, str]:
        out, chunk = {}, []
        for line in text.splitlines():
            if line.startswith("@@@ exit "):
                out[line.split(": ", 1)[1]] = "\n".join(chunk) + "\n" + line
                chunk = []
            elif not line.startswith("@@@ "):
                chunk.append(line)
        return out

    return split(proc.stdout), split(proc.stderr)


@pytest.mark.slow
def test_the_scratch_command_line_works_with_torch_unimportable(tmp_path: Path):
    train = f"train book_mlp --backend scratch --epochs 2 --no-progress --out {tmp_path / 'run'}"
    book = "book ch1 --quick"
    torch_train = f"train book_mlp --backend torch --epochs 1 --no-progress --out {tmp_path / 'never'}"
    torch_book = "book ch1 --quick --backend torch"
    out, err = run_without_torch(tmp_path, train, book, torch_train, torch_book)
    # training on the scratch backend: the usual output and run folder
    assert out[train].endswith(f"@@@ exit 0: {train}"), err[train][-2000:]
    assert "\n  model         book_mlp\n  backend       scratch\n" in out[train]  # the configuration table
    assert "data: train 50, validation 20, test 20 images of mnist" in out[train]
    assert "epoch  train_loss" in out[train] and "done: 2 epochs" in out[train]
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"metrics.csv", "metrics.json", "last.npz", "best.npz",
                                                              "report.json", "confusion.png"}
    # the book's chapter 1, quick: three epochs on the 20 test images
    assert out[book].endswith(f"@@@ exit 0: {book}"), err[book][-2000:]
    assert "== ch1 (scratch, quick; seed 12345678)" in out[book]
    rows = [line.split() for line in out[book].splitlines() if line[:5].strip().isdigit()]
    assert [r[0] for r in rows] == ["0", "1", "2"] and all(0 <= int(r[1]) <= 20 for r in rows)
    # --backend torch: a clear error naming the extra, exit 1, nothing written
    for command in (torch_train, torch_book):
        assert out[command].endswith(f"@@@ exit 1: {command}")
        assert "scratchnet: error: --backend torch needs PyTorch" in err[command]
        assert "install the torch extra: pip install 'scratchnet[torch]'" in err[command]
    assert not (tmp_path / "never").exists()


def test_backend_torch_without_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch, capsys):
    """In-process as well: with torchnet unimportable, both commands say what to install."""
    from scratchnet import cli

    for name in ("torchnet", "torchnet.train", "torchnet.book"):
        monkeypatch.setitem(sys.modules, name, None)  # `import` of a None entry raises ImportError
    assert cli.main(["train", "book_mlp", "--backend", "torch", "--epochs", "1"]) == 1
    assert cli.main(["book", "ch1", "--quick", "--backend", "torch"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("scratchnet: error: --backend torch needs PyTorch") and
                                 line.endswith("install the torch extra: pip install 'scratchnet[torch]'")
                                 for line in err)
