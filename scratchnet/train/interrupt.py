"""Stopping cleanly on SIGINT (Ctrl-C) and SIGTERM: a flag, checked where stopping is safe.

A signal must never land inside a jitted kernel: Numba's compiled code calls back into Python
(``numba.core.serialize._numba_unpickle``) and ignores an exception raised there, so a plain
``KeyboardInterrupt`` comes out as ``SystemError: ... returned a result with an exception set``.
:func:`stop_signals` installs handlers that only *record* the first signal; the training loop
looks at :attr:`StopRequest.signum` between mini-batches and stops there, with the last
checkpoint complete. With ``raise_when_safe=True`` (``scratchnet book``, whose book-faithful
loops have no place to look at a flag) the handler raises :class:`Interrupted` at once unless
the interpreter is inside Numba's own Python code; then it tries again every
:data:`RETRY_SECONDS` until it lands in ordinary Python code. A second signal exits at once
(status 128 + signal number). The previous handlers come back when the block ends.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

#: The signals that ask a run to stop.
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
#: How often a deferred raise (``raise_when_safe``) is tried again.
RETRY_SECONDS = 0.05
#: Python packages whose frames are not safe places to raise in (their callers ignore errors).
UNSAFE_PACKAGES = frozenset({"numba", "llvmlite"})


def signal_name(signum: int) -> str:
    """``2`` -> ``"SIGINT"``; an unknown number -> ``"signal N"``."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_status(signum: int) -> int:
    """The shell's exit status of a program stopped by ``signum``: 128 + its number (SIGINT 130)."""
    return 128 + int(signum)


class Interrupted(KeyboardInterrupt):
    """A stop asked for by a signal, raised where it is safe. A ``KeyboardInterrupt``, so code
    that cleans up on Ctrl-C does so; ``signum`` is the signal, :attr:`exit_status` 128 + it."""

    def __init__(self, signum: int, message: str | None = None) -> None:
        self.signum = int(signum)
        super().__init__(message or f"interrupted by {signal_name(signum)}")

    @property
    def signal_name(self) -> str:
        """``"SIGINT"``, ``"SIGTERM"``, ..."""
        return signal_name(self.signum)

    @property
    def exit_status(self) -> int:
        """128 + the signal number: 130 for SIGINT, 143 for SIGTERM."""
        return exit_status(self.signum)


class StopRequest:
    """What :func:`stop_signals` yields: :attr:`signum` is the first stop signal received (None
    until one arrives). :meth:`check` raises :class:`Interrupted` when there is one."""

    def __init__(self, raise_when_safe: bool) -> None:
        self.signum: int | None = None
        self.raise_when_safe = raise_when_safe
        self.delivered = False           # an Interrupted was raised for it
        self.closed = False              # acknowledged: no more raising
        self._retry_pending = False
        self._retry_stop = threading.Event()
        self._retry_thread: threading.Thread | None = None

    @property
    def requested(self) -> bool:
        """True once a stop signal has arrived."""
        return self.signum is not None

    def check(self) -> None:
        """Raise :class:`Interrupted` if a stop signal has arrived (call it where stopping is safe)."""
        if self.signum is not None and not self.closed:
            self.delivered = True
            raise Interrupted(self.signum)

    def acknowledge(self) -> None:
        """The stop is being handled: raise nothing more, try nothing again."""
        self.closed = True
        self._retry_stop.set()

    # -- the handler ------------------------------------------------------------------------
    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.closed:
            return
        retry, self._retry_pending = self._retry_pending, False
        if self.signum is not None and not retry:  # a second signal: the user insists
            sys.stdout.flush()
            print(f"scratchnet: second {signal_name(signum)}: exiting at once (checkpoints are written to a "
                  "temporary file and renamed, so none is half-written)", file=sys.stderr, flush=True)
            os._exit(exit_status(signum))
        if self.signum is None:
            self.signum = signum
        if not self.raise_when_safe:
            return  # the loop looks at the flag between mini-batches
        if _safe_to_raise(frame):
            self.delivered = True
            raise Interrupted(self.signum)
        self._start_retrying()

    def _start_retrying(self) -> None:
        if self._retry_thread is not None:
            return

        def retry() -> None:
            while not self._retry_stop.wait(RETRY_SECONDS):
                if self.delivered:  # raised already: only a swallowed exception needs another go
                    if self._retry_stop.wait(1.0):
                        return
                    self.delivered = False
                self._retry_pending = True
                _thread.interrupt_main(self.signum)

        self._retry_thread = threading.Thread(target=retry, name="scratchnet-stop-retry", daemon=True)
        self._retry_thread.start()


def _safe_to_raise(frame: FrameType | None) -> bool:
    """False when the interpreter is running code of an :data:`UNSAFE_PACKAGES` package."""
    if frame is None:
        return True
    module = str(frame.f_globals.get("__name__", ""))
    return module.partition(".")[0] not in UNSAFE_PACKAGES


_active: list[StopRequest] = []


def active() -> StopRequest | None:
    """The :class:`StopRequest` of the innermost :func:`stop_signals` block, if any."""
    return _active[-1] if _active else None


@contextlib.contextmanager
def stop_signals(raise_when_safe: bool = False, redeliver: bool = False) -> Iterator[StopRequest]:
    """Within the block, SIGINT and SIGTERM set :attr:`StopRequest.signum` instead of killing.

    ``raise_when_safe``: also raise :class:`Interrupted` as soon as the interpreter is outside
    Numba's code (for loops that cannot look at the flag). Blocks nest: an inner block shares the
    outer one's request. Outside the main thread, and for a signal the process ignores (a
    background job's SIGINT), nothing is installed. The previous handlers are restored at the
    end; with ``redeliver``, a signal that arrived but was never raised as :class:`Interrupted`
    (it came after the last check) is then sent again, to the previous handler, so it is not lost.
    """
    if threading.current_thread() is not threading.main_thread():
        yield _active[-1] if _active else StopRequest(raise_when_safe)  # signals reach the main thread only
        return
    if _active:
        yield _active[-1]
        return
    request = StopRequest(raise_when_safe)
    previous: dict[int, object] = {}
    for sig in STOP_SIGNALS:
        old = signal.getsignal(sig)
        if old == signal.SIG_IGN:
            continue
        previous[sig] = old
        signal.signal(sig, request._handle)
    _active.append(request)
    clean_exit = False
    try:
        yield request
        clean_exit = True
    finally:
        request.acknowledge()
        _active.remove(request)
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        if redeliver and clean_exit and request.signum is not None and not request.delivered \
                and request.signum in previous:
            signal.raise_signal(request.signum)
