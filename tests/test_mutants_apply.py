"""The mutation check cannot rot silently: every hand-written mutant still applies.

``make mutants`` is too slow for ``make test``, so this checks, in milliseconds, what would make
it test nothing: each mutant's snippet must occur exactly once in its file (a refactoring that
moves the code must move the mutant too), the mutation must change the text, and the tests it
names to run first must exist.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "mutation"))
from mutants import MUTANTS  # noqa: E402


def test_mutant_names_are_unique() -> None:
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names)), f"duplicate mutant names: {sorted(n for n in names if names.count(n) > 1)}"


@pytest.mark.parametrize("m", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_applies(m) -> None:
    path = ROOT / m.path
    assert path.is_file(), f"mutant {m.name}: {m.path} does not exist"
    text = path.read_text()
    assert text.count(m.old) == 1, (f"mutant {m.name}: its snippet occurs {text.count(m.old)} times in {m.path} "
                                    f"(expected exactly once); update mutation/mutants.py")
    assert m.old != m.new, f"mutant {m.name} changes nothing"
    for first in m.first:
        assert (ROOT / first.split("::")[0]).is_file(), f"mutant {m.name}: first test {first} does not exist"
