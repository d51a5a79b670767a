"""What several test modules share: threads started together, the hooks library, and the
one way to run a child process.

- `run_threads(count, work)`: `work(i)` on `count` threads released at once.
- `hooks_library`: the fixture (conftest.py makes it available everywhere) giving the
  library built with the test-only exports, or skipping without it.
- `run_child(command, timeout=...)` runs a command to its end; `started(command)` is for a
  child the test talks to (reads its output, sends it signals). Both start it in its own
  session and kill its whole process group when it outlives the test's patience, so a
  deadlock fails the test instead of hanging it. `python(...)` is the command line of this
  interpreter, `child_env(...)` the environment children get by default.

Only the standard library at the top: children of the reliability suite import this
module (through _reliability) and must start fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HOOKS_ENV = "OXBRIDGE_HOOKS_LIBRARY"


# ---- threads ------------------------------------------------------------------------------


def run_threads(count: int, work: Callable[[int], object], timeout: float = 60) -> None:
    """Runs work(i) on `count` threads started together; re-raises the first failure."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as e:  # noqa: BLE001 - re-raised below, on the caller's thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


# ---- the hooks library --------------------------------------------------------------------


def hooks_library() -> str:
    """The library with the test-only exports (`make test-hooks` builds it and names it in
    $OXBRIDGE_HOOKS_LIBRARY); skips the test without it. A module-scoped fixture through
    conftest.py."""
    import pytest

    path = os.environ.get(HOOKS_ENV)
    if not path:
        pytest.skip(f"${HOOKS_ENV} not set: `make test-hooks` builds the hooks library and runs this")
    assert os.path.isfile(path), f"${HOOKS_ENV}={path} does not exist: run `make test-hooks`"
    return path


# ---- child processes ------------------------------------------------------------------------


def python(*args: str) -> list[str]:
    """The command line that runs this interpreter with `args`, e.g. python("-c", code)."""
    return [sys.executable, *args]


def child_env(**changes: str | None) -> dict[str, str]:
    """This process's environment with tests/python first on PYTHONPATH (children import
    _reliability and _helpers) and `changes` made: a value sets a variable, None removes it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@dataclass
class Child:
    """How a child ended (`run_child`): its return code (None when it was killed for taking
    too long), its output, and how long it ran."""

    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool

    def json_lines(self) -> list[dict[str, Any]]:
        """The JSON objects the child printed, one a line."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    def describe(self) -> str:
        """For assertion messages: how it ended and the end of its output."""
        state = "timed out (killed)" if self.timed_out else f"returncode {self.returncode}"
        return f"child {state} after {self.seconds:.1f} s\n--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"


def kill_group(process: subprocess.Popen[Any]) -> None:
    """Kills the child and everything it forked (they share its session's process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def started(
    command: Sequence[str], *, env: dict[str, str] | None = None, cwd: Any = None, text: bool = True
) -> Iterator[subprocess.Popen[Any]]:
    """Starts `command` in its own session, stdout and stderr piped (`text` or bytes), stdin
    empty, in `env` (default: `child_env()`); when the block ends, kills its process group
    if the child is still running."""
    process = subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=text,
        env=child_env() if env is None else env,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            kill_group(process)
        process.communicate()


def run_child(
    command: Sequence[str], *, timeout: float | None, env: dict[str, str] | None = None, cwd: Any = None
) -> Child:
    """Runs `command` (as `started` does) until it ends or `timeout` seconds pass; then its
    whole process group is killed and the Child says `timed_out`."""
    begun = time.monotonic()
    with started(command, env=env, cwd=cwd) as process:
        try:
            out, err = process.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            kill_group(process)
            out, err = process.communicate()
            timed_out = True
    return Child(None if timed_out else process.returncode, out, err, time.monotonic() - begun, timed_out)


def json_form(value: Any) -> Any:
    """`value` as JSON carries it (what `Description.to_json` promises): NaN and
    infinities null, dict keys strings, tuples lists, dates ISO 8601 strings."""
    import datetime
    import math

    if isinstance(value, dict):
        return {str(k): json_form(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_form(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
