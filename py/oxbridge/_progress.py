"""Progress reports and Ctrl-C for long native calls.

Every long call gets a native progress callback, even without a progress bar: it runs on
the calling thread a few times a second. No exception may escape into C (ctypes would
print and drop it), so during the call Ctrl-C only sets a flag (a temporary SIGINT
handler); the callback sees it and asks the native side to stop, and the call then
raises KeyboardInterrupt. Exceptions from a user's progress callable are stored and
re-raised the same way.

At interpreter exit, daemon threads may still be inside such calls. Their next callback
would enter an interpreter being finalized (ctypes then crashes the process, or ends the
thread by unwinding through native frames). So an atexit handler, which runs while other
threads can still take the GIL, asks every call in flight to stop and waits for them
(briefly); each ends its thread with a quiet SystemExit. Calls started after that get no
callback at all.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO, Union

from . import _bindings as b
from ._errors import error_for

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11+

# Union, not `|`: an alias is evaluated at run time, and Python 3.9 has no `X | Y` of types.
ProgressArg = Union[bool, Callable[[int, int], Any], None]


class ProgressBar:
    """A one-line progress bar for byte counts on a terminal stream (stderr)."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        width = 30
        fraction = min(done / total, 1.0) if total else 1.0
        filled = int(width * fraction)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 and total > done else 0.0
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(
            f"\r{self.label} [{bar}] {fraction:6.1%} {_size(done)}/{_size(total)} {_size(rate)}/s ETA {eta:4.1f}s "
        )
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover - the loop always returns


_active: set[Reporter] = set()  # calls in flight with a native callback into Python
_active_lock = threading.Lock()
_exiting = False
EXIT_WAIT = 2.0  # seconds atexit waits for calls in flight to stop


def _stop_calls_at_exit() -> None:
    global _exiting
    with _active_lock:
        _exiting = True
        reporters = list(_active)
    for reporter in reporters:
        reporter.abandoned = True
    deadline = time.monotonic() + EXIT_WAIT
    while time.monotonic() < deadline:
        with _active_lock:
            if not _active:
                return
        time.sleep(0.005)  # lets the threads in flight run their (last) callback


def _after_fork_in_child() -> None:
    global _active_lock
    _active_lock = threading.Lock()  # another thread of the parent may have held it
    _active.clear()  # the parent's calls in flight do not run here


atexit.register(_stop_calls_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Reporter:
    """Adapts `progress=` (True, a callable or None) to the native callback."""

    def __init__(self, progress: ProgressArg, label: str) -> None:
        if progress is True:
            self.bar: ProgressBar | None = ProgressBar(label)
            self.user: Callable[[int, int], Any] | None = self.bar
        elif progress is None or progress is False:
            self.bar, self.user = None, None
        elif callable(progress):
            self.bar, self.user = None, progress
        else:
            raise TypeError(f"progress must be True, False, None or a callable, got {type(progress).__name__}")
        self.error: BaseException | None = None
        self.interrupted = False
        self.abandoned = False  # the interpreter is exiting: stop
        self._previous: Any = None
        self.native: Any = b.oxb_progress_fn(self._report)

    def __enter__(self) -> Self:
        with _active_lock:
            if _exiting:
                self.native = b.oxb_progress_fn()  # NULL: no callback into an exiting interpreter
            else:
                _active.add(self)
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._on_sigint)
            except ValueError:  # not the main interpreter
                self._previous = None
        return self

    def __exit__(self, *exc_info: object) -> None:
        with _active_lock:
            _active.discard(self)
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            previous, self._previous = self._previous, None
            if self.interrupted and exc_info[0] is None:
                self.interrupted = False
                if callable(previous) and previous is not signal.default_int_handler:
                    previous(signal.SIGINT, None)
                else:
                    raise KeyboardInterrupt

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self.interrupted = True

    def _report(self, done: int, total: int, _user: Any) -> int:
        if self.interrupted or self.error is not None or self.abandoned:
            return 1
        try:
            if self.user is not None:
                self.user(done, total)
        except BaseException as error:  # noqa: BLE001 - nothing may escape into C; finish() raises it
            self.error = error
            return 1
        return 1 if self.interrupted else 0

    def finish(self, status: int) -> None:
        """Raises what the call ended with: the callback's exception first; Ctrl-C is
        raised when the `with` block ends."""
        if self.bar is not None:
            self.bar.close()
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        if self.interrupted and status == b.OXB_CANCELLED:
            return  # KeyboardInterrupt follows from __exit__
        if self.abandoned and status == b.OXB_CANCELLED:
            raise SystemExit  # stopped for interpreter exit: ends this daemon thread quietly
        if status:
            raise error_for(status)
