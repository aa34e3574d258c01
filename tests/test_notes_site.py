"""The notes site works offline: built, served on localhost and loaded page by page in headless Chromium.

Every page must typeset its maths (no raw ``\\(``, ``\\[`` or ``\\begin`` left in the rendered text
outside code), make no request to another host and no request that fails, and log no console
error; the search box must find a word with no network. Chromium is driven through its DevTools
protocol over a pipe (``--remote-debugging-pipe``: commands on fd 3, events on fd 4, each JSON
message ended by a NUL byte), so the test needs no browser package from PyPI. Without Chromium
(Debian's ``chromium``, which ``.ci/run`` installs) the browser tests skip and say so; the static
check of the HTML runs everywhere.
"""

from __future__ import annotations

import fcntl
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE_TIMEOUT = 30.0
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian package chromium; .ci/run installs it)")


# Every page after the home page, in the order a reader meets them: the architecture, each chapter
# followed by its exercises and problems, the topics beyond the book, then how it is made fast.
READING_ORDER = ("architecture/",
                 "ch1-network/", "exercises-ch1/", "ch2-backprop/", "exercises-ch2/",
                 "ch3-improving/", "exercises-ch3/", "ch4-universality/", "exercises-ch4/",
                 "ch5-vanishing/", "exercises-ch5/", "ch6-convolution/", "exercises-ch6/",
                 "training/", "scaling/", "adam/", "vae/", "latent-space/",
                 "kernels-matmul/", "kernels-conv/", "kernels-book/", "kernels-elementwise/", "kernels-gpu/")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mkdocs build --strict`` of the notes into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    proc = subprocess.run([str(mkdocs), "build", "--strict", "--quiet", "--site-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def pages(site: Path) -> list[str]:
    """Every page of the site, as a path relative to its root (``ch1-network/``)."""
    found = sorted(p.parent.relative_to(site).as_posix() for p in site.rglob("index.html"))
    return ["" if p == "." else p + "/" for p in found]


def test_the_html_loads_nothing_from_another_host(site: Path) -> None:
    """No ``<script src>``, ``<link href>`` (stylesheets, fonts, preloads) or CSS ``url()`` / ``@import``
    points outside the site; the maths comes with it; the nav holds every page in the reading order."""
    outside = re.compile(r"""(<script[^>]+src=|<link[^>]+href=|url\(|@import\s)["']?(https?:)?//""", re.I)
    files = [*site.rglob("*.html"), *site.rglob("*.css")]
    offenders = {str(f.relative_to(site)): m.group(0) for f in files for m in [outside.search(f.read_text())] if m}
    assert not offenders, offenders
    assert (site / "javascripts" / "mathjax" / "tex-chtml.js").is_file()
    assert (site / "javascripts" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    assert json.loads((site / "search" / "search_index.json").read_text())["docs"]
    assert set(READING_ORDER) == set(pages(site)) - {""}, \
        f"pages not in READING_ORDER: {sorted(set(pages(site)) - set(READING_ORDER) - {''})}; " \
        f"in READING_ORDER but not built: {sorted(set(READING_ORDER) - set(pages(site)))}"
    home = (site / "index.html").read_text()
    order = [home.index(f'href="{page}"') for page in READING_ORDER]  # the first link to each is the nav's
    assert order == sorted(order), "the nav is not in READING_ORDER; its order: " + \
        ", ".join(page for _, page in sorted(zip(order, READING_ORDER, strict=True)))


def test_no_heading_holds_maths() -> None:
    """A heading's text is copied into the page's table of contents as plain text, where MathJax
    does not typeset it (the browser test above found ``\\(\\sigma'(z) ...\\)`` raw in two tables of
    contents): headings say their formula in words or Unicode, the body typesets it."""
    heading = re.compile(r"^#{1,6} .*(\$|\\\(|\\\[)")
    offenders = [f"{md.name}:{n}: {line}" for md in sorted((ROOT / "notes").glob("*.md"))
                 for n, line in enumerate(md.read_text().splitlines(), 1) if heading.match(line)]
    assert not offenders, "\n".join(offenders)


# -- a small DevTools client over Chromium's pipe ----------------------------------------------------
class Browser:
    """Headless Chromium and one page (tab), with every event of the page kept in :attr:`events`."""

    def __init__(self, profile: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def child_fds() -> None:  # the protocol's fds 3 (commands in) and 4 (events out)
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
             "--disable-component-update", "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=child_fds, pass_fds=(3, 4))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer, self._next_id, self.events, self._consumed = b"", 0, [], 0
        self.session: str | None = None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def _send(self, message: dict) -> None:
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, timeout: float = PAGE_TIMEOUT, **params) -> dict:
        """Send one command (to the page once attached) and return its result; events seen meanwhile
        go to :attr:`events`."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        self._send(message)
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, timeout: float = PAGE_TIMEOUT) -> dict:
        """The first event ``method`` after :meth:`mark` (already received or still to come)."""
        deadline = time.monotonic() + timeout
        while True:
            for i in range(self._consumed, len(self.events)):
                if self.events[i]["method"] == method:
                    self._consumed = i + 1
                    return self.events[i]
            self._consumed = len(self.events)
            event = self._receive(deadline)
            if "method" in event:
                self.events.append(event)

    def mark(self) -> int:
        """Start a new page: events from here on are its own; returns where they start."""
        self._consumed = len(self.events)
        return self._consumed

    def evaluate(self, expression: str, timeout: float = PAGE_TIMEOUT):
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", timeout=timeout, expression=expression, awaitPromise=True,
                           returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        os.close(self._to_chrome)
        os.close(self._from_chrome)


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The built site on http://127.0.0.1:PORT/, served by a thread."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


# The page's text once MathJax has finished, without code blocks (where a backslash is only code).
RENDERED_TEXT = """(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const body = document.body.cloneNode(true);
  body.querySelectorAll("pre, code, script, style, .highlight").forEach(e => e.remove());
  return {text: body.textContent,
          maths: document.querySelectorAll(".arithmatex").length,
          typeset: document.querySelectorAll(".arithmatex mjx-container").length};
})()"""


def problems(events: list[dict], origin: str) -> list[str]:
    """Requests to another host, failed requests, console errors and uncaught exceptions among ``events``."""
    out = []
    for e in events:
        method, p = e["method"], e.get("params", {})
        if method == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if not url.startswith((origin, "data:", "blob:", "about:")):
                out.append(f"request to another host: {url}")
        elif method == "Network.responseReceived" and p["response"]["status"] >= 400:
            out.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            out.append(f"failed request: {p.get('errorText')} ({p.get('type')})")
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
        elif method == "Runtime.exceptionThrown":
            out.append(f"uncaught exception: {p['exceptionDetails'].get('exception', {}).get('description')}")
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            out.append(f"log error: {p['entry'].get('text')} {p['entry'].get('url', '')}")
    return out


@needs_chromium
def test_every_page_typesets_its_maths_offline(site: Path, served: str, browser: Browser) -> None:
    failures: dict[str, list[str]] = {}
    maths_pages = 0
    for page in pages(site):
        start = browser.mark()
        browser.call("Page.navigate", url=served + page)
        browser.wait_for("Page.loadEventFired")
        seen = browser.evaluate(RENDERED_TEXT)
        found = problems(browser.events[start:], served)
        raw = [token for token in ("\\(", "\\[", "\\begin") if token in seen["text"]]
        if raw:
            at = seen["text"].index(raw[0])
            found.append(f"raw TeX {raw} left in the text: ...{seen['text'][max(0, at - 60):at + 60]!r}...")
        if seen["typeset"] != seen["maths"]:
            found.append(f"{seen['maths'] - seen['typeset']} of {seen['maths']} formulas not typeset")
        maths_pages += seen["maths"] > 0
        if found:
            failures[page or "/"] = found
    assert not failures, json.dumps(failures, indent=2)
    assert maths_pages >= 5  # the chapters' formulas were really there to typeset


@needs_chromium
def test_search_finds_a_word_offline(served: str, browser: Browser) -> None:
    start = browser.mark()
    browser.call("Page.navigate", url=served)
    browser.wait_for("Page.loadEventFired")
    hits = browser.evaluate("""(async () => {
      const input = document.querySelector("input.md-search__input");
      input.focus();
      input.value = "backpropagation";
      input.dispatchEvent(new Event("focus"));
      input.dispatchEvent(new Event("input", {bubbles: true}));
      input.dispatchEvent(new KeyboardEvent("keyup", {key: "n", bubbles: true}));
      for (let i = 0; i < 200; i++) {
        const items = document.querySelectorAll(".md-search-result__item");
        if (items.length) { return Array.from(items).map(e => e.textContent.slice(0, 80)); }
        await new Promise(r => setTimeout(r, 50));
      }
      return [];
    })()""")
    assert hits, "the search found nothing for 'backpropagation'"
    assert not problems(browser.events[start:], served)
