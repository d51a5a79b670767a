"""Finding the library, and refusing a missing or mismatched one with a useful ImportError."""

import shutil
import textwrap

import pytest

import oxbridge

from _helpers import child_env, python, run_child
from _paths import ROOT

PY_DIR = str(ROOT / "py")


def _import_in_subprocess(env_extra):
    """A fresh interpreter imports this checkout's package; only `env_extra` may name a library."""
    env = child_env(**{"OXBRIDGE_LIBRARY": None, "PYTHONPATH": PY_DIR, **env_extra})
    return run_child(python("-c", "import oxbridge; print(oxbridge.library_path)"), env=env, timeout=60)


def test_checkout_build_is_found_without_any_environment():
    result = _import_in_subprocess({})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(ROOT / "target" / "release" / "liboxbridge.so")


def test_environment_variable_wins(tmp_path):
    copy = tmp_path / "liboxbridge.so"
    shutil.copy(oxbridge.library_path, copy)
    result = _import_in_subprocess({"OXBRIDGE_LIBRARY": str(copy)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(copy)


def test_missing_library_lists_where_it_looked(tmp_path):
    missing = tmp_path / "nowhere" / "liboxbridge.so"
    result = _import_in_subprocess({"OXBRIDGE_LIBRARY": str(missing)})
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert str(missing) in result.stderr and "not found" in result.stderr


def test_unloadable_file_mentions_dependencies(tmp_path):
    bogus = tmp_path / "liboxbridge.so"
    bogus.write_text("not a shared library")
    result = _import_in_subprocess({"OXBRIDGE_LIBRARY": str(bogus)})
    assert "could not be loaded" in result.stderr
    assert "depends on" in result.stderr


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_library_with_other_abi_or_header_is_refused(tmp_path):
    source = tmp_path / "fake.c"
    fakes = {}
    for name, abi, hash_ in [("abi", 999, 0), ("hash", oxbridge._bindings.OXB_ABI_VERSION, 12345)]:
        source.write_text(
            textwrap.dedent(f"""
            #include <stdint.h>
            uint32_t oxb_abi_version(void) {{ return {abi}; }}
            uint64_t oxb_header_hash(void) {{ return {hash_}ull; }}
        """)
        )
        fakes[name] = tmp_path / f"lib{name}.so"
        compiled = run_child(["cc", "-shared", "-fPIC", "-o", str(fakes[name]), str(source)], timeout=120)
        assert compiled.returncode == 0, compiled.describe()
    result = _import_in_subprocess({"OXBRIDGE_LIBRARY": str(fakes["abi"])})
    assert "ABI version 999" in result.stderr and f"ABI version {oxbridge._bindings.OXB_ABI_VERSION}" in result.stderr
    assert "Rebuild" in result.stderr
    result = _import_in_subprocess({"OXBRIDGE_LIBRARY": str(fakes["hash"])})
    assert "0x0000000000003039" in result.stderr and f"{oxbridge._bindings.HEADER_HASH:#018x}" in result.stderr


def test_numpy_is_optional():
    code = textwrap.dedent("""
        import sys, array
        sys.modules['numpy'] = None  # any import of numpy now fails
        import oxbridge
        a = array.array('d', [1.0, 2.0])
        oxbridge.process_array(a)
        assert a.tolist() == [2.0, 4.0]
        assert oxbridge.Accumulator([1, 2, 3]).stats().mean == 2.0
        print("ok")
    """)
    result = run_child(python("-c", code), env=child_env(PYTHONPATH=PY_DIR), timeout=60)
    assert result.stdout.strip() == "ok", result.stderr
