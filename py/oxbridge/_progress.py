"""Progress reports and Ctrl-C for long native calls.

Every long call gets a native progress callback, even without a progress bar: it runs on
the calling thread a few times a second. No exception may escape into C (ctypes would
print and drop it), so during the call Ctrl-C only sets a flag (a temporary SIGINT
handler); the callback sees it and asks the native side to stop, and the call then
raises KeyboardInterrupt. Exceptions from a user's progress callable are stored and
re-raised the same way.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any, Callable, Optional, TextIO, Union

from . import _bindings as b
from ._errors import error_for

ProgressArg = Union[bool, Callable[[int, int], Any], None]


class ProgressBar:
    """A one-line progress bar for byte counts on a terminal stream (stderr)."""

    def __init__(self, label: str, stream: Optional[TextIO] = None) -> None:
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
            f"\r{self.label} [{bar}] {fraction:6.1%} {_size(done)}/{_size(total)} "
            f"{_size(rate)}/s ETA {eta:4.1f}s "
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


class Reporter:
    """Adapts `progress=` (True, a callable or None) to the native callback."""

    def __init__(self, progress: ProgressArg, label: str) -> None:
        if progress is True:
            self.bar: Optional[ProgressBar] = ProgressBar(label)
            self.user: Optional[Callable[[int, int], Any]] = self.bar
        elif progress is None or progress is False:
            self.bar, self.user = None, None
        elif callable(progress):
            self.bar, self.user = None, progress
        else:
            raise TypeError(f"progress must be True, False, None or a callable, got {type(progress).__name__}")
        self.error: Optional[BaseException] = None
        self.interrupted = False
        self._previous: Any = None
        self.native = b.oxb_progress_fn(self._report)

    def __enter__(self) -> "Reporter":
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._on_sigint)
            except ValueError:  # not the main interpreter
                self._previous = None
        return self

    def __exit__(self, *exc_info: Any) -> None:
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
        if self.interrupted or self.error is not None:
            return 1
        try:
            if self.user is not None:
                self.user(done, total)
        except BaseException as error:
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
        if status:
            raise error_for(status)
