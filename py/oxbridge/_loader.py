"""Finding and loading the native library, and refusing one that does not match.

Places tried, in order: the file named by $OXBRIDGE_LIBRARY, the copy bundled in this
package, the cargo target folder of the checkout this package sits in. Never PATH or
LD_LIBRARY_PATH: a stray copy elsewhere must not be picked up by accident.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

from . import _bindings

LIBRARY_ENV = "OXBRIDGE_LIBRARY"
_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE_DIR.parent.parent


def library_filename() -> str:
    """The platform's file name for the shared library."""
    if sys.platform == "win32":
        return "oxbridge.dll"
    if sys.platform == "darwin":
        return "liboxbridge.dylib"
    return "liboxbridge.so"


def candidates() -> list[tuple[str, Path]]:
    """(where, path) pairs in the order they are tried."""
    name = library_filename()
    explicit = os.environ.get(LIBRARY_ENV)
    if explicit:
        # An explicit choice is never silently replaced by another copy.
        return [(f"${LIBRARY_ENV}", Path(explicit))]
    return [
        ("bundled with the package", _PACKAGE_DIR / name),
        ("checkout release build", _CHECKOUT / "target" / "release" / name),
        ("checkout debug build", _CHECKOUT / "target" / "debug" / name),
    ]


def _open(path: Path) -> ctypes.CDLL:
    if sys.platform == "win32":
        os.add_dll_directory(str(path.parent))
    return ctypes.CDLL(str(path))


def _check_abi(lib: ctypes.CDLL, path: Path) -> None:
    rebuild = (
        "Rebuild the library from the same checkout (`cargo build --release` or `make`), "
        "or reinstall the package, so that library and bindings match."
    )
    try:
        abi, header_hash = lib.oxb_abi_version, lib.oxb_header_hash
    except AttributeError:
        raise ImportError(f"{path} is not an oxbridge library (no oxb_abi_version). {rebuild}") from None
    abi.argtypes, abi.restype = [], ctypes.c_uint32
    header_hash.argtypes, header_hash.restype = [], ctypes.c_uint64
    if abi() != _bindings.OXB_ABI_VERSION:
        raise ImportError(
            f"{path} has ABI version {abi()}, but this oxbridge package needs ABI version "
            f"{_bindings.OXB_ABI_VERSION}. {rebuild}"
        )
    if header_hash() != _bindings.HEADER_HASH:
        raise ImportError(
            f"{path} was built from a different include/oxbridge.h (signature hash "
            f"{header_hash():#018x}) than this package's bindings ({_bindings.HEADER_HASH:#018x}). {rebuild}"
        )


def _check_cpu_path(lib: ctypes.CDLL) -> None:
    """$OXBRIDGE_CPU naming no instruction path, or a wider one than the CPU has, is
    refused here, with the library's message (it would take the CPU's own path)."""
    name = ctypes.c_char_p()
    if lib.oxb_cpu_path(ctypes.byref(name)) != 0:
        message = lib.oxb_last_error_message() or b"OXBRIDGE_CPU was refused"
        raise ImportError(message.decode("utf-8", "replace"))


def _declare(lib: ctypes.CDLL, path: Path) -> None:
    for name, (restype, argtypes) in _bindings.FUNCTIONS.items():
        try:
            function = getattr(lib, name)
        except AttributeError:
            raise ImportError(f"{path} lacks the function {name}: rebuild the library") from None
        function.restype = restype
        function.argtypes = argtypes


def load() -> tuple[ctypes.CDLL, Path]:
    """Loads, checks and declares the library; ImportError says where it looked."""
    looked = []
    for where, path in candidates():
        if not path.is_file():
            looked.append(f"  - {path} ({where}): not found")
            continue
        try:
            lib = _open(path)
        except OSError as e:
            looked.append(
                f"  - {path} ({where}): found but could not be loaded: {e} (a library it depends on may be missing)"
            )
            continue
        _check_abi(lib, path)
        _declare(lib, path)
        _check_cpu_path(lib)
        return lib, path
    raise ImportError(
        f"oxbridge could not load its native library {library_filename()}. Looked in:\n"
        + "\n".join(looked)
        + f"\nBuild it with `make` (or `cargo build --release`) in the oxbridge checkout, "
        f"reinstall the package, or set {LIBRARY_ENV} to the library's path."
    )


lib, path = load()
