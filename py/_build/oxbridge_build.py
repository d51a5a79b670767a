"""The PEP 517 build backend for oxbridge: cargo builds the library, this file packs it.

Why our own backend rather than setuptools-rust or maturin: the package is pure Python
around one C-ABI library, so the wheel is just the Python files, the library and the
metadata. Doing that here takes no build-time downloads (only `tomli` on Python < 3.11),
works offline, and tags the wheel `py3-none-<platform>` because nothing in it depends on
the interpreter's ABI: one wheel serves every CPython 3.9+ and PyPy.

Hooks: build_wheel, build_sdist, build_editable (PEP 660) and their requirement hooks.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

PACKAGE = "oxbridge"
_PROJECT_DIR = Path(__file__).resolve().parents[1]  # holds pyproject.toml and oxbridge/
# The crate is the checkout's root next to py/, or native/ inside an sdist.
_CRATE_CANDIDATES = (_PROJECT_DIR / "native", _PROJECT_DIR.parent)
# What an sdist needs of the crate to build the library.
_CRATE_FILES = ("Cargo.toml", "Cargo.lock", "build.rs", "cbindgen.toml", "src", "include")


# ---- requirement hooks -------------------------------------------------------------


def _toml_requirements() -> list[str]:
    return [] if sys.version_info >= (3, 11) else ["tomli>=1.1"]


def get_requires_for_build_wheel(config_settings: dict | None = None) -> list[str]:
    return _toml_requirements()


def get_requires_for_build_sdist(config_settings: dict | None = None) -> list[str]:
    return _toml_requirements()


def get_requires_for_build_editable(config_settings: dict | None = None) -> list[str]:
    return _toml_requirements()


# ---- metadata ----------------------------------------------------------------------


def _project() -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    with open(_PROJECT_DIR / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _metadata(project: dict) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project.get('description', '')}",
        f"Requires-Python: {project.get('requires-python', '>=3')}",
        f"License: {project.get('license', '')}",
    ]
    for extra, requirements in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {r}; extra == "{extra}"' for r in requirements]
    return "\n".join(lines) + "\n"


def _entry_points(project: dict) -> str:
    groups = {"console_scripts": project.get("scripts", {}), **project.get("entry-points", {})}
    return "".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items()) for group, points in groups.items() if points
    )


def _wheel_tag() -> str:
    # The library is native code, so the platform matters; the Python ABI does not.
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"py3-none-{platform}"


def _dist_name(project: dict) -> str:
    return f"{project['name'].replace('-', '_')}-{project['version']}"


# ---- the native library ------------------------------------------------------------


def _library_filename() -> str:
    if sys.platform == "win32":
        return "oxbridge.dll"
    if sys.platform == "darwin":
        return "liboxbridge.dylib"
    return "liboxbridge.so"


def _crate_dir() -> Path:
    for candidate in _CRATE_CANDIDATES:
        if (candidate / "Cargo.toml").is_file():
            return candidate
    raise RuntimeError(f"oxbridge: no Cargo.toml found in {' or '.join(map(str, _CRATE_CANDIDATES))}")


def _build_library() -> Path:
    """Runs `cargo build --release` and returns the built library's path."""
    crate = _crate_dir()
    cargo = os.environ.get("CARGO", "cargo")
    if shutil.which(cargo) is None:
        raise RuntimeError(
            "oxbridge builds its native library with Rust's cargo, which was not found on PATH. "
            "Install the Rust toolchain (https://rustup.rs) or set $CARGO, then retry."
        )
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", crate / "target"))
    command = [cargo, "build", "--release", "--lib", "--manifest-path", str(crate / "Cargo.toml")]
    # cargo's progress goes to stderr, which pip shows with -v; failures show it always.
    subprocess.run(command, check=True, stdout=sys.stderr)
    library = target_dir / "release" / _library_filename()
    if not library.is_file():
        raise RuntimeError(f"oxbridge: cargo finished but {library} is missing")
    return library


# ---- archive writing ---------------------------------------------------------------


class _WheelWriter:
    """A zip with the RECORD that PEP 427 requires, written last."""

    def __init__(self, path: Path, dist_info: str) -> None:
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self._dist_info = dist_info
        self._records: list[str] = []

    def add(self, name: str, data: bytes, executable: bool = False) -> None:
        info = zipfile.ZipInfo(name, date_time=_timestamp())
        info.external_attr = (0o755 if executable else 0o644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self._zip.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self._records.append(f"{name},sha256={digest},{len(data)}")

    def close(self) -> None:
        record = f"{self._dist_info}/RECORD"
        self._records.append(f"{record},,")
        self._zip.writestr(zipfile.ZipInfo(record, date_time=_timestamp()), "\n".join(self._records) + "\n")
        self._zip.close()


def _timestamp() -> tuple[int, int, int, int, int, int]:
    # Reproducible archives when SOURCE_DATE_EPOCH is set; zip cannot store before 1980.
    epoch = max(int(os.environ.get("SOURCE_DATE_EPOCH", time.time())), 315532800)
    return time.gmtime(epoch)[:6]


def _package_files() -> list[Path]:
    root = _PROJECT_DIR / PACKAGE
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def _write_dist_info(wheel: _WheelWriter, project: dict, dist_info: str) -> None:
    wheel.add(f"{dist_info}/METADATA", _metadata(project).encode())
    wheel.add(
        f"{dist_info}/WHEEL",
        f"Wheel-Version: 1.0\nGenerator: oxbridge_build\nRoot-Is-Purelib: false\nTag: {_wheel_tag()}\n".encode(),
    )
    entry_points = _entry_points(project)
    if entry_points:
        wheel.add(f"{dist_info}/entry_points.txt", entry_points.encode())


# ---- PEP 517 / 660 hooks -----------------------------------------------------------


def build_wheel(wheel_directory: str, config_settings: dict | None = None, metadata_directory: str | None = None) -> str:
    project = _project()
    library = _build_library()
    name = f"{_dist_name(project)}-{_wheel_tag()}.whl"
    dist_info = f"{_dist_name(project)}.dist-info"
    wheel = _WheelWriter(Path(wheel_directory) / name, dist_info)
    try:
        for path in _package_files():
            if path.name == _library_filename():
                continue  # a stale copy in the source tree never replaces the fresh build
            wheel.add(path.relative_to(_PROJECT_DIR).as_posix(), path.read_bytes())
        wheel.add(f"{PACKAGE}/{library.name}", library.read_bytes(), executable=True)
        _write_dist_info(wheel, project, dist_info)
    finally:
        wheel.close()
    return name


def build_editable(
    wheel_directory: str, config_settings: dict | None = None, metadata_directory: str | None = None
) -> str:
    """A wheel holding only a .pth that points at the source tree; the package then loads
    the library from the checkout's target/ folder, rebuilt with cargo as one edits."""
    project = _project()
    _build_library()
    name = f"{_dist_name(project)}-{_wheel_tag()}.whl"
    dist_info = f"{_dist_name(project)}.dist-info"
    wheel = _WheelWriter(Path(wheel_directory) / name, dist_info)
    try:
        wheel.add(f"__editable__.{_dist_name(project)}.pth", f"{_PROJECT_DIR}\n".encode())
        _write_dist_info(wheel, project, dist_info)
    finally:
        wheel.close()
    return name


def build_sdist(sdist_directory: str, config_settings: dict | None = None) -> str:
    """Python package and backend at the top, the crate under native/."""
    project = _project()
    base = _dist_name(project)
    crate = _crate_dir()
    name = f"{base}.tar.gz"

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        parts = Path(info.name).parts
        if "__pycache__" in parts or info.name.endswith((".pyc", ".so", ".dylib", ".dll")):
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(Path(sdist_directory) / name, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        pkg_info = _metadata(project).encode()
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size, info.mode, info.mtime = len(pkg_info), 0o644, int(time.time())
        tar.addfile(info, io.BytesIO(pkg_info))
        for item in ("pyproject.toml", "_build", PACKAGE):
            tar.add(_PROJECT_DIR / item, f"{base}/{item}", filter=keep)
        for item in _CRATE_FILES:
            if (crate / item).exists():
                tar.add(crate / item, f"{base}/native/{item}", filter=keep)
    return name
