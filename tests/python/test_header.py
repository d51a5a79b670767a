"""The header is the contract: it must be what cbindgen makes of src/ffi today, and the
Python declarations and exceptions must agree with it."""

import ctypes
import os
import shutil

import pytest

import oxbridge
from oxbridge import _bindings, _errors
from oxbridge._loader import lib

from _helpers import run_child
from _paths import HEADER, ROOT

import cheader
import gen_bindings


def _cbindgen():
    path = os.environ.get("CBINDGEN") or shutil.which("cbindgen")
    if not path or not os.path.exists(path):
        if os.environ.get("OXBRIDGE_REQUIRE_CBINDGEN"):
            pytest.fail("cbindgen not found; `make test` installs it into .tools")
        pytest.skip("cbindgen not installed (make test installs it)")
    return path


def test_checked_in_header_is_what_cbindgen_generates_now(tmp_path):
    fresh = tmp_path / "oxbridge.h"
    child = run_child(
        [_cbindgen(), "--config", "cbindgen.toml", "--crate", "oxbridge", "--quiet", "--output", str(fresh)],
        cwd=ROOT,
        timeout=600,
    )
    assert child.returncode == 0, child.describe()
    assert fresh.read_text() == HEADER.read_text(), "include/oxbridge.h is stale: run `make header`"


def test_python_bindings_are_generated_from_the_current_header():
    checked_in = (ROOT / "py" / "oxbridge" / "_bindings.py").read_text()
    assert checked_in == gen_bindings.generate(), "py/oxbridge/_bindings.py is stale: run `make header`"


def _header_functions():
    import pycparser.c_ast as ast

    return {
        node.name: node.type
        for node in cheader.parse().ext
        if isinstance(node, ast.Decl) and isinstance(node.type, ast.FuncDecl)
    }


def test_every_header_function_is_declared_in_python_with_the_same_types():
    functions = _header_functions()
    assert set(functions) == set(_bindings.FUNCTIONS), "declared functions differ from the header"
    for name, decl in functions.items():
        expected_args = [eval(t, {"ctypes": ctypes, **vars(_bindings)}) for t in gen_bindings.arguments(decl)]
        expected_res = eval(gen_bindings.ctype(decl.type), {"ctypes": ctypes, **vars(_bindings)})
        function = getattr(lib, name)
        assert function.argtypes == expected_args, f"{name}: argument types differ from the header"
        assert len(function.argtypes) == len(expected_args), f"{name}: arity differs"
        assert function.restype == expected_res, f"{name}: return type differs from the header"


def test_struct_layouts_match_the_header():
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(cheader.cdefs())
    for struct in ("oxb_view", "oxb_stats"):
        ours = getattr(_bindings, struct)
        assert ctypes.sizeof(ours) == ffi.sizeof(struct), struct
        for field, _ in ours._fields_:
            assert getattr(ours, field).offset == ffi.offsetof(struct, field), f"{struct}.{field}"


def test_library_hash_matches_the_header_and_the_bindings():
    expected = cheader.header_hash(HEADER.read_text())
    assert lib.oxb_header_hash() == expected == _bindings.HEADER_HASH


def test_version_is_the_crate_version_and_the_header_macros():
    import tomllib

    crate = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["version"]
    macros = f"{_bindings.OXB_VERSION_MAJOR}.{_bindings.OXB_VERSION_MINOR}.{_bindings.OXB_VERSION_PATCH}"
    assert oxbridge.__version__ == crate == macros
    assert lib.oxb_abi_version() == _bindings.OXB_ABI_VERSION


def test_every_error_status_has_its_exception_class():
    statuses = {
        name: value
        for name, value in cheader.int_defines().items()
        if name.startswith("OXB_")
        and name in vars(_bindings)
        and not any(other in name for other in ("DTYPE", "VERSION", "KIND", "ARROW"))
    }
    assert statuses["OXB_OK"] == 0
    for name, value in statuses.items():
        if value == 0:
            continue
        error = _errors.error_for(value)
        assert type(error) is not _errors.OxbridgeError, f"{name} has no exception class"
        assert isinstance(error, oxbridge.OxbridgeError)
        assert error.status == value


@pytest.mark.parametrize(
    "status, builtin",
    [
        ("OXB_INVALID_ARGUMENT", ValueError),
        ("OXB_NULL_POINTER", ValueError),
        ("OXB_IO", OSError),
        ("OXB_DATA_FORMAT", ValueError),
        ("OXB_OUT_OF_MEMORY", MemoryError),
        ("OXB_PANIC", RuntimeError),
        ("OXB_UNSUPPORTED", NotImplementedError),
    ],
)
def test_errors_are_also_the_matching_builtin(status, builtin):
    assert isinstance(_errors.error_for(getattr(_bindings, status)), builtin)


def test_closed_error_is_a_value_error():
    assert issubclass(oxbridge.ClosedError, ValueError)
    assert issubclass(oxbridge.ClosedError, oxbridge.OxbridgeError)
