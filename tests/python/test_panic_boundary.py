"""The panic boundary: a Rust panic never crosses into C or Python.

The exports that panic on purpose (src/ffi/test_hooks.rs) exist only in the library built
with the `test-hooks` feature, which `make test-hooks` builds into target/hooks and names
in $OXBRIDGE_HOOKS_LIBRARY. Each scenario runs in a fresh interpreter that loads that
library through $OXBRIDGE_LIBRARY, so the package's own checks (ABI version, header hash)
accept it exactly as they accept the release build: the hooks are not in the header.
Without $OXBRIDGE_HOOKS_LIBRARY (a plain `make test-python`) those scenarios are skipped;
the Cargo.toml checks always run.
"""

from __future__ import annotations

import textwrap

import pytest
import tomllib

from _helpers import HOOKS_ENV, child_env, python, run_child
from _paths import HEADER, ROOT

SITE = r"src/ffi/test_hooks\.rs:\d+"


def test_release_profile_keeps_panic_unwind():
    """The guard catches panics with catch_unwind; `panic = "abort"` would silently turn
    every caught panic into a process abort, so no profile may ask for it."""
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    profiles = cargo.get("profile", {})
    assert profiles["release"].get("panic") == "unwind", 'Cargo.toml [profile.release] must keep panic = "unwind"'
    for name, profile in profiles.items():
        assert profile.get("panic", "unwind") == "unwind", f'[profile.{name}] sets panic = "{profile["panic"]}"'
    hooks = profiles["hooks"]
    assert hooks["inherits"] == "release", "the hooks build must be the release build plus the hooks"
    assert "test-hooks" in cargo["features"] and "test-hooks" not in cargo["features"].get("default", [])
    for config in (ROOT / ".cargo" / "config.toml", ROOT / ".cargo" / "config"):
        if config.exists():
            assert "panic=abort" not in config.read_text().replace(" ", ""), f"{config} sets panic=abort"


def test_hooks_are_not_part_of_the_contract():
    assert "oxb_test_" not in HEADER.read_text()


def test_hooks_library_exports_the_release_list_plus_the_hooks(hooks_library):
    out = run_child(["nm", "-D", "--defined-only", hooks_library], timeout=60)
    assert out.returncode == 0, out.describe()
    exported = {line.split()[-1].split("@")[0] for line in out.stdout.splitlines() if line.split()[-2:-1] == ["T"]}
    listed = {
        line.strip()
        for line in (ROOT / "tests" / "exported_symbols.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert listed <= exported, f"missing from the hooks library: {sorted(listed - exported)}"
    hooks = exported - listed
    assert hooks and all(name.startswith("oxb_test_") for name in hooks), sorted(hooks)


# Shared by every scenario: load the hooks library through the package's own loader.
PRELUDE = r'''
import array, ctypes, os, re, sys, threading
import oxbridge
from oxbridge import _bindings
from oxbridge._loader import lib, path

assert str(path) == os.environ["OXBRIDGE_LIBRARY"], path
assert lib.oxb_header_hash() == _bindings.HEADER_HASH
OK, PANIC = _bindings.OXB_OK, _bindings.OXB_PANIC
SITE = r"src/ffi/test_hooks\.rs:\d+"
for name, restype, argtypes in [
    ("oxb_test_panic_on_caller", ctypes.c_uint32, []),
    ("oxb_test_panic_in_value", ctypes.c_uint64, []),
    ("oxb_test_panic_any", ctypes.c_uint32, []),
    ("oxb_test_panic_in_worker", ctypes.c_uint32, [ctypes.c_size_t, ctypes.c_uint32]),
    ("oxb_test_panic_in_job", ctypes.c_uint32, [ctypes.c_uint32]),
]:
    getattr(lib, name).restype, getattr(lib, name).argtypes = restype, argtypes

def message():
    return lib.oxb_last_error_message().decode()

def expect_panic(status, text):
    """The call returned OXB_PANIC, and the message has the panic's text and site."""
    assert status == PANIC, status
    m = message()
    assert re.fullmatch(r"internal error in oxbridge \(please report\): panic: " + text + " at " + SITE, m), m

BIG = 1 << 20  # well above the parallel threshold: the pool does the work

def ordinary_work(n=BIG):
    """Ordinary parallel calls succeed with the right answers."""
    a = array.array("d", range(n))
    oxbridge.process_array(a)
    assert a[0] == 0.0 and a[1] == 2.0 and a[n - 1] == 2.0 * (n - 1), (a[1], a[n - 1])
    s = oxbridge.stats(a)
    assert s.count == n and s.sum == float(n) * (n - 1) and s.max == 2.0 * (n - 1), s
    return s
'''


def run(library, code, *, allow_stderr=False):
    """Runs PRELUDE + code in a fresh interpreter on the hooks library; it must exit 0
    and, since the library never prints, write nothing to stderr."""
    env = child_env(OXBRIDGE_LIBRARY=library, OXBRIDGE_NUM_THREADS="2", **{HOOKS_ENV: None})
    proc = run_child(python("-c", PRELUDE + textwrap.dedent(code)), env=env, timeout=300)
    assert proc.returncode == 0, f"scenario failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    if not allow_stderr:
        assert proc.stderr == "", f"the library (or the scenario) printed to stderr:\n{proc.stderr}"
    return proc


def test_panic_on_the_calling_thread(hooks_library):
    run(
        hooks_library,
        r"""
        ordinary_work()
        expect_panic(lib.oxb_test_panic_on_caller(), "test hook: panic on the calling thread")
        panic_message = message()
        # The package turns it into PanicError (a RuntimeError) with the same message.
        try:
            oxbridge._check(lib.oxb_test_panic_on_caller())
        except oxbridge.PanicError as e:
            assert isinstance(e, RuntimeError) and str(e) == panic_message, e
        else:
            raise AssertionError("no PanicError")

        # The next ordinary call succeeds; the message is that of the last *failed* call
        # (documented), until the next failure replaces it.
        assert lib.oxb_set_num_threads(0) == OK
        ordinary_work()
        assert message() == panic_message
        assert lib.oxb_process_array(None, 2.0, 0.0) == _bindings.OXB_NULL_POINTER
        assert "panic" not in message() and "view" in message(), message()

        # The last error is per thread: a panic here leaves another thread's alone.
        lib.oxb_test_panic_on_caller()
        seen = []
        t = threading.Thread(target=lambda: seen.append(message()))
        t.start(); t.join()
        assert seen == [""], seen

        # A panic replaces the detail of an earlier I/O error (no stale path or errno).
        ds = _bindings.oxb_dataset()
        assert lib.oxb_dataset_open(b"/nonexistent/oxbridge.csv", None, ctypes.byref(ds)) == _bindings.OXB_IO
        detail = _bindings.oxb_error_detail()
        assert lib.oxb_last_error_detail(ctypes.byref(detail)) == OK and detail.os_code != 0
        lib.oxb_test_panic_on_caller()
        assert lib.oxb_last_error_detail(ctypes.byref(detail)) == OK
        assert detail.os_code == 0 and detail.path == b"" and detail.line == 0, (detail.os_code, detail.path)
        assert lib.oxb_live_handles() == 0
    """,
    )


def test_panic_in_a_value_export_and_a_non_string_payload(hooks_library):
    run(
        hooks_library,
        r"""
        assert lib.oxb_test_panic_in_value() == 2**64 - 1
        expect_panic(PANIC, r"test hook: panic in a value export \(42\)")
        expect_panic(lib.oxb_test_panic_any(), "unknown panic payload")
        ordinary_work()
    """,
    )


def test_panic_in_a_pool_worker(hooks_library):
    run(
        hooks_library,
        r"""
        threads = ctypes.c_size_t()
        assert lib.oxb_num_threads(ctypes.byref(threads)) == OK and threads.value == 2
        expect_panic(lib.oxb_test_panic_in_worker(BIG, 0), r"test hook: panic in worker thread oxbridge-worker-\d+")
        ordinary_work()
        # Again and again: rayon's workers survive their jobs' panics, none is lost.
        for i in range(50):
            expect_panic(lib.oxb_test_panic_in_worker(1 << 17, 0), r"test hook: panic in worker thread oxbridge-worker-\d+")
        ordinary_work()
        assert lib.oxb_num_threads(ctypes.byref(threads)) == OK and threads.value == 2
        # Below the parallel threshold the same code panics on the calling thread.
        expect_panic(lib.oxb_test_panic_in_worker(100, 0), "test hook: panic in worker thread (?:main|<unnamed>)")
    """,
    )


def test_panic_while_other_work_is_in_flight(hooks_library):
    """One call's worker panics while its other pieces are still running (they sleep
    20 ms) and while another thread's ordinary parallel calls share the pool: the other
    thread's results stay right, and parallel work afterwards is unaffected."""
    run(
        hooks_library,
        r"""
        stop = threading.Event()
        done, errors = [0], []

        def ordinary_loop():
            try:
                while not stop.is_set():
                    ordinary_work(1 << 18)
                    done[0] += 1
            except BaseException as e:  # reported by the main thread
                errors.append(repr(e))

        other = threading.Thread(target=ordinary_loop)
        other.start()
        try:
            for i in range(10):
                expect_panic(lib.oxb_test_panic_in_worker(1 << 19, 20), r"test hook: panic in worker thread oxbridge-worker-\d+")
        finally:
            stop.set()
            other.join()
        assert errors == [], errors
        assert done[0] > 0
        ordinary_work()
        with oxbridge.Accumulator() as acc:
            acc.push(array.array("d", [1.0, 2.0, 3.0]))
            assert acc.stats().sum == 6.0
    """,
    )


# Found by this suite: guard.rs kept the latest panic's message in one process-wide slot,
# so two threads panicking at once could swap messages or lose the site.
def test_panics_on_two_threads_at_once_keep_their_own_messages(hooks_library):
    """The message (and site) of each panic reaches the thread whose call panicked. The
    worker panics linger (their call waits 2 ms for the other pieces) while the other
    thread panics again and again on its own, so the two are always in flight together."""
    run(
        hooks_library,
        r"""
        stop = threading.Event()
        failures = []

        def caller_panics():
            try:
                while not stop.is_set():
                    expect_panic(lib.oxb_test_panic_on_caller(), "test hook: panic on the calling thread")
            except AssertionError as e:
                failures.append(f"caller thread got: {e}")

        def worker_panics():
            try:
                for _ in range(100):
                    expect_panic(lib.oxb_test_panic_in_worker(1 << 18, 2), r"test hook: panic in worker thread oxbridge-worker-\d+")
            except AssertionError as e:
                failures.append(f"worker-panicking thread got: {e}")
            finally:
                stop.set()

        threads = [threading.Thread(target=t) for t in (caller_panics, worker_panics)]
        for t in threads: t.start()
        for t in threads: t.join()
        assert not failures, failures
    """,
    )


# Found by this suite: job.rs's helper thread was unnamed, so a panic there was printed by
# the default hook and lost its site; it is now named like the pool's workers.
@pytest.mark.parametrize("on_pool", [1, 0], ids=["job-pool-worker", "job-helper-thread"])
def test_panic_in_a_long_call_with_progress(hooks_library, on_pool):
    """Long calls with a progress callback run their work on a helper thread that hands
    it to the pool (src/runtime/progress.rs); a panic on either is still caught, named and silent."""
    where = r"a job's pool worker oxbridge-worker-\d+" if on_pool else r"the job's helper thread \S+"
    run(
        hooks_library,
        rf"""
        expect_panic(lib.oxb_test_panic_in_job({on_pool}), r"test hook: panic in {where}")
        ordinary_work()
    """,
    )
