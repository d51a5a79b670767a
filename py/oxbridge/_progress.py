"""Progress reports and Ctrl-C for long native calls.

Every long call gets a native progress callback, even without a progress bar: it runs on
the calling thread a few times a second, which is where Python delivers Ctrl-C. The
callback never lets an exception escape into C (ctypes would print and drop it): it
stores the exception and asks the native side to stop; the call then re-raises it.
"""

from __future__ import annotations

import sys
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
        self.native = b.oxb_progress_fn(self._report)

    def _report(self, done: int, total: int, _user: Any) -> int:
        try:
            if self.user is not None:
                self.user(done, total)
            return 0
        except BaseException as error:  # KeyboardInterrupt too: re-raised after the call
            self.error = error
            return 1

    def finish(self, status: int) -> None:
        """Raises what the call ended with: the callback's exception (e.g. Ctrl-C) first."""
        if self.bar is not None:
            self.bar.close()
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        if status:
            raise error_for(status)
