"""mkdocs hook: serve MathJax with the site, from the ``django-static-mathjax`` package, so that the
notes typeset their formulas with no network (issue 10). The package holds MathJax 3's built
files (``mathjax/static/mathjax/es5``); they are copied into ``site/javascripts/mathjax/`` after
each build, where ``mkdocs.yml``'s ``extra_javascript`` loads them (fonts included: MathJax finds
them beside its script)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

#: Where the MathJax files go, inside the built site.
TARGET = Path("javascripts") / "mathjax"
#: The parts of MathJax's es5 folder the notes use: the TeX-to-HTML component and what it loads.
NEEDED = ("tex-chtml.js", "input", "output", "ui", "a11y", "adaptors", "sre")


def mathjax_dir() -> Path:
    """The installed package's ``es5`` folder; a clear error when the package is missing."""
    spec = importlib.util.find_spec("mathjax")
    folder = Path(spec.origin).parent / "static" / "mathjax" / "es5" if spec and spec.origin else None
    if folder is None or not (folder / "tex-chtml.js").is_file():
        raise FileNotFoundError(
            "the notes need MathJax from the package django-static-mathjax (pip install -e '.[notes]'); "
            f"looked for tex-chtml.js in {folder or 'an importable mathjax package'}")
    return folder


def on_post_build(config, **kwargs) -> None:
    """Copy MathJax into the built site (``site_dir/javascripts/mathjax``)."""
    source, target = mathjax_dir(), Path(config["site_dir"]) / TARGET
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in NEEDED:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, target / name)
        elif path.is_file():
            shutil.copy2(path, target / name)
