"""Run every hand-written mutant against ``pytest parity_tests tests`` and print the score.

    python mutation/run.py [--only NAME ...] [--list] [--timeout S] [--json FILE]

For each mutant: a fresh copy of the working tree (tracked and untracked, not ignored, files,
modification times kept) in one fixed temporary folder, the one snippet replaced, then

    python -m pytest -x -q -p no:cacheprovider <mutant's first tests>     (the likely killers)
    python -m pytest -x -q -p no:cacheprovider parity_tests tests         (if those pass; without
                                                                          tests/test_mutants_apply.py)

with the copy first on ``PYTHONPATH``. The mutants share one Numba cache
(``NUMBA_CACHE_DIR``), so each compiles only what it changed: Numba re-compiles a file whose
source stamp changed, but it does not notice a changed *callee in another file*, so the cached
entries of every kernel module that imports the mutated one are deleted first (otherwise a
caller could run the unmutated kernel and report a false survivor).

A mutant is *killed* when pytest fails (exit 1) or runs
past ``--timeout`` (an endless loop is a detected bug too); it *survives* when the whole suite
passes. A collection error or a crash of the interpreter (exit 2, or a signal) also makes the
suite fail, so it counts as killed, with the last line printed. Any other exit (pytest's internal
or usage errors) is reported as *broken*: the mutant did not test anything, and the run exits
non-zero so that it is fixed.

Hypothesis runs its ``ci`` profile (derandomized), so a verdict is reproducible.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from mutants import MUTANTS, Mutant  # noqa: E402


def tree_files(root: Path) -> list[str]:
    """The working tree's files as git sees them: tracked plus untracked-but-not-ignored."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                         cwd=root, check=True, capture_output=True).stdout
    return [f for f in out.decode().split("\0") if f and (root / f).is_file()]


def copy_tree(root: Path, dest: Path, files: list[str]) -> None:
    """Copy ``files`` (relative to ``root``) into ``dest``."""
    for f in files:
        target = dest / f
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / f, target)


def apply(m: Mutant, tree: Path) -> None:
    """Write the mutant into ``tree``; refuse a snippet that is absent or ambiguous."""
    path = tree / m.path
    text = path.read_text()
    if m.name == "baseline":
        return
    count = text.count(m.old)
    if count != 1:
        raise SystemExit(f"mutant {m.name}: the snippet occurs {count} times in {m.path} (expected exactly 1):\n"
                         f"{m.old}\nUpdate mutation/mutants.py to the code as it is now.")
    path.write_text(text.replace(m.old, m.new))


def dependents(path: str, files: list[str]) -> list[str]:
    """Module stems of the package files beside ``path`` that import it (``from .stem import``)."""
    stem, folder = Path(path).stem, Path(path).parent
    return sorted(Path(f).stem for f in files
                  if Path(f).parent == folder and f != path and f.endswith(".py")
                  and f"from .{stem} import" in (ROOT / f).read_text())


def forget_cached(cache: Path, stems: list[str]) -> None:
    """Delete Numba's cached entries (``stem.func-line.pyXY.nbi/.nbc``) of these modules."""
    for stem in stems:
        for f in cache.rglob(f"{stem}.*.nb[ic]"):
            f.unlink()


def run_one(m: Mutant, files: list[str], timeout: float, work: Path) -> dict:
    """Copy, mutate, test; return the verdict with the first failing test's line."""
    tree, cache = work / "tree", work / "numba-cache"
    shutil.rmtree(tree, ignore_errors=True)
    copy_tree(ROOT, tree, files)
    apply(m, tree)
    forget_cached(cache, dependents(m.path, files))
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_CACHE_DIR=str(cache),
               HYPOTHESIS_PROFILE=os.environ.get("HYPOTHESIS_PROFILE", "ci"), PYTHONDONTWRITEBYTECODE="1")
    first = [t for t in m.first if (tree / t).exists()]
    pytest = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--benchmark-disable"]
    t0 = time.perf_counter()
    try:
        # pytest collects a file named before its folder in the folder's order, so the likely
        # killers run alone first; only if they pass does the whole suite decide
        proc = subprocess.run([*pytest, *first], cwd=tree, env=env, capture_output=True, text=True,
                              timeout=timeout) if first else None
        if proc is None or proc.returncode == 0:
            # tests/test_mutants_apply.py checks that each snippet is in the *unmutated* source: in a
            # mutated copy it always fails, and would count every survivor as killed
            proc = subprocess.run([*pytest, "parity_tests", "tests", "--ignore=tests/test_mutants_apply.py"],
                                  cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(name=m.name, verdict="killed", how=f"timed out after {timeout:.0f} s",
                    seconds=round(time.perf_counter() - t0, 1))
    seconds = round(time.perf_counter() - t0, 1)
    lines = proc.stdout.splitlines()
    if proc.returncode == 1:
        failed = next((ln for ln in lines if ln.startswith("FAILED")), "a test failed")
        return dict(name=m.name, verdict="killed", how=failed[:200], seconds=seconds)
    if proc.returncode == 2 or proc.returncode < 0:   # collection error, interrupted, or a crash
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or [""]
        return dict(name=m.name, verdict="killed", how=f"pytest exit {proc.returncode}: {tail[0][:160]}",
                    seconds=seconds)
    if proc.returncode == 0:
        return dict(name=m.name, verdict="survived", how=(lines[-1] if lines else ""), seconds=seconds)
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
    return dict(name=m.name, verdict="broken", how=f"pytest exit {proc.returncode}:\n{tail}", seconds=seconds)


def check_imports_from_copy(files: list[str]) -> None:
    """The copy, not the editable install, must be what the tests import."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp)
        copy_tree(ROOT, tree, [f for f in files if f.startswith("scratchnet/")])
        out = subprocess.run([sys.executable, "-c", "import scratchnet; print(scratchnet.__file__)"],
                             cwd=tree, env=dict(os.environ, PYTHONPATH=str(tree)), capture_output=True,
                             text=True, check=True).stdout.strip()
        if not out.startswith(str(tree)):
            raise SystemExit(f"the tests would import scratchnet from {out}, not from the mutated copy {tree}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help="run only these mutants (by name)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--timeout", type=float, default=1200.0, help="seconds per mutant (default 1200)")
    ap.add_argument("--json", type=Path, help="write the verdicts to this file")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the unmutated run (only when the suite is known to pass on this tree)")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.list:
        for m in chosen:
            print(f"{m.name:<40} {m.path}: {m.what}")
        return 0
    if args.only and len(chosen) != len(args.only):
        unknown = sorted(set(args.only) - {m.name for m in MUTANTS})
        raise SystemExit(f"unknown mutants: {unknown}; see --list")
    files = tree_files(ROOT)
    for m in chosen:                                   # every snippet must match before anything runs
        text = (ROOT / m.path).read_text()
        if text.count(m.old) != 1:
            raise SystemExit(f"mutant {m.name}: snippet found {text.count(m.old)} times in {m.path}")
    check_imports_from_copy(files)
    results = []
    work = Path(tempfile.mkdtemp(prefix="scratchnet-mutation-"))
    if not args.no_baseline:  # a kill means something only if the unmutated suite passes
        base = run_one(Mutant("baseline", chosen[0].path, "", "", "no change"), files, args.timeout, work)
        print(f"[ baseline] {base['verdict'].replace('survived', 'passes'):<8} {base['seconds']:>7.1f} s  "
              f"{base['how']}", flush=True)
        if base["verdict"] != "survived":
            raise SystemExit("the unmutated suite does not pass on this tree: no verdict would mean anything")
    for i, m in enumerate(chosen, 1):
        r = run_one(m, files, args.timeout, work)
        results.append(r)
        print(f"[{i:>2}/{len(chosen)}] {r['verdict']:<8} {m.name:<36} {r['seconds']:>7.1f} s  {r['how']}",
              flush=True)
    shutil.rmtree(work, ignore_errors=True)
    killed = sum(r["verdict"] == "killed" for r in results)
    survived = [r["name"] for r in results if r["verdict"] == "survived"]
    broken = [r["name"] for r in results if r["verdict"] == "broken"]
    score = killed / max(1, len(results))
    print(f"\nmutation score: {killed} killed / {len(results)} mutants = {100 * score:.1f} %")
    if survived:
        print("survived:", ", ".join(survived))
    if broken:
        print("broken (tested nothing; fix the mutant or the tree):", ", ".join(broken))
    if args.json:
        args.json.write_text(json.dumps(dict(killed=killed, total=len(results), results=results), indent=2))
    return 0 if score >= 0.95 and not broken else 1


if __name__ == "__main__":
    raise SystemExit(main())
