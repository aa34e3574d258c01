"""The answers' index: every exercise and problem of chapters 1-6 is in the registry with the
book's count per chapter, has its section on its page, and names tests that exist; the notes'
home page names only files that exist."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from datafiles import needs_data

from scratchnet.book.exercises import ITEMS

ROOT = Path(__file__).resolve().parents[1]
# (exercises, problems) per chapter, counted in the book's chapters (an item of a list is one)
BOOK = {1: (8, 0), 2: (3, 2), 3: (13, 14), 4: (0, 3), 5: (1, 2), 6: (1, 11)}


def test_the_registry_has_every_item_of_the_book_numbered_in_order():
    counts = Counter((item.chapter, item.kind) for item in ITEMS)
    assert {c: (counts[c, "exercise"], counts[c, "problem"]) for c in BOOK} == BOOK
    assert sum(sum(v) for v in BOOK.values()) == len(ITEMS) == 58
    for chapter in BOOK:
        for kind in ("exercise", "problem"):
            numbers = [i.number for i in ITEMS if i.chapter == chapter and i.kind == kind]
            assert numbers == list(range(1, len(numbers) + 1)), (chapter, kind)
    assert all(item.answer in ("derivation", "code", "discussion", "research") for item in ITEMS)
    assert all(item.source in ("ours", "book") for item in ITEMS)
    assert all(item.tests for item in ITEMS if item.answer == "code")


def test_every_item_has_its_section_on_its_page():
    for item in ITEMS:
        page = (ROOT / item.page).read_text()
        title = f"## {item.kind.capitalize()} {item.number} — "
        assert re.search(rf"^{title}.* \{{#{item.anchor}\}}$", page, re.M), \
            f"{item.name}: no '{title}... {{#{item.anchor}}}' heading in {item.page}"


def test_the_pages_hold_measured_numbers_not_placeholders():
    for page in sorted(ROOT.glob("notes/exercises-ch*.md")) + [ROOT / "notes/ch4-universality.md"]:
        assert not re.search(r"\bCH\d_[A-Z]+\b|TODO", page.read_text()), page


def test_the_tests_named_exist():
    for item in ITEMS:
        for name in item.tests:
            path, _, function = name.partition("::")
            assert (ROOT / path).is_file(), f"{item.name}: {path} does not exist"
            if function:
                assert re.search(rf"^def {function}\(", (ROOT / path).read_text(), re.M), f"{item.name}: {name}"


def test_the_home_pages_formula_table_names_existing_files():
    text = (ROOT / "notes/index.md").read_text()
    table = text[text.index("## Where each formula lives"):text.index("## Code is embedded")]
    paths = re.findall(r"`((?:scratchnet|torchnet|parity_tests|tests)/[\w/]+\.py)`", table)
    assert len(paths) >= 60
    missing = sorted({p for p in paths if not (ROOT / p).is_file()})
    assert not missing, missing
    pages = re.findall(r"\]\(([\w-]+\.md)\)", text)
    assert pages and all((ROOT / "notes" / p).is_file() for p in pages)


@needs_data("mnist")
@pytest.mark.parametrize(("chapter", "lines"), [
    ("ch1", ["exercise 8: Network([784, 10])", "exercise 8: network2.Network([784, 10])", "exercise 6:"]),
    ("ch2", ["problem 2: one epoch of 1000 images"]),
    ("ch3", ["exercise 8:", "problem 9:", "problem 10:", "problem 13:"]),
    ("ch5", ["problem 1:", "problem 2:", "exercise 1:"]),
    ("ch6", ["(exercise 1)", "(problem 2)", "(problem 7)"]),
])
def test_the_runners_quick_versions_run_on_mnist(chapter, lines, capsys):
    """``python -m scratchnet.book.exercises chN --quick``: the experiments the notes quote, on a
    subset (the full runs' numbers are on the pages, with the command)."""
    from scratchnet.book.exercises.__main__ import main

    assert main([chapter, "--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"== exercises of {chapter} (quick); seed 12345678")
    assert all(line in out for line in lines), out
    assert "nan" not in out.lower()
