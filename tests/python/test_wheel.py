"""The package as a user installs it: `pip wheel ./py` makes one py3-none-<platform> wheel
that, installed in a fresh venv outside the checkout, loads its bundled library and runs
the console script; the sdist carries everything a build from source needs."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from _helpers import Child, python, run_child
from _paths import ROOT

PROJECT = ROOT / "py"


def _clean_env() -> dict[str, str]:
    # Nothing may point the installed package back at the checkout.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OXBRIDGE_LIBRARY", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(args: list[str], cwd: Path | None = None) -> Child:
    result = run_child(args, env=_clean_env(), cwd=cwd, timeout=None)  # pip wheel builds the crate: minutes
    assert result.returncode == 0, f"{args} failed:\n{result.describe()}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheelhouse")
    _run(python("-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(PROJECT)))
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    root = tmp_path_factory.mktemp("fresh") / "venv"
    _run(python("-m", "venv", "--without-pip", str(root)))
    venv_python = root / "bin" / "python"
    _run(python("-m", "pip", "--python", str(venv_python), "install", "--no-deps", "--quiet", str(wheel)))
    return root


def _pyproject_version() -> str:
    for line in (PROJECT / "pyproject.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split('"')[1]
    raise AssertionError("no version in py/pyproject.toml")


def test_wheel_is_tagged_for_any_python_on_this_platform(wheel: Path) -> None:
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    assert wheel.name == f"oxbridge-{_pyproject_version()}-py3-none-{platform}.whl"
    with zipfile.ZipFile(wheel) as z:
        info = z.read(f"oxbridge-{_pyproject_version()}.dist-info/WHEEL").decode()
    assert f"Tag: py3-none-{platform}" in info.splitlines()
    assert "Root-Is-Purelib: false" in info.splitlines()


def test_wheel_holds_the_package_the_library_and_a_true_record(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        modules = {f"oxbridge/{p.name}" for p in (PROJECT / "oxbridge").glob("*.py")}
        assert modules <= names
        assert {"oxbridge/py.typed", "oxbridge/liboxbridge.so"} <= names
        dist_info = f"oxbridge-{_pyproject_version()}.dist-info"
        assert "[console_scripts]\noxbridge = oxbridge._cli:main" in z.read(f"{dist_info}/entry_points.txt").decode()
        record = list(csv.reader(z.read(f"{dist_info}/RECORD").decode().splitlines()))
        assert {row[0] for row in record} == names
        for name, digest, size in record:
            if name.endswith("RECORD"):
                continue
            data = z.read(name)
            assert int(size) == len(data), name
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={expected}", name


def test_versions_agree() -> None:
    import oxbridge

    cargo = next(l for l in (ROOT / "Cargo.toml").read_text().splitlines() if l.startswith("version = "))
    assert cargo.split('"')[1] == _pyproject_version() == oxbridge.__version__


SMOKE = """
import array, json, sys
import oxbridge
site = sys.argv[1]
assert oxbridge.__file__.startswith(site), oxbridge.__file__
assert str(oxbridge.library_path).startswith(site), oxbridge.library_path
x = array.array("d", [1.0, 4.0, 9.0])
assert list(oxbridge.evaluate("sqrt(x) + 1", x=x)) == [2.0, 3.0, 4.0]
with oxbridge.Dataset.open(sys.argv[2]) as ds:
    d = ds.describe()
    assert d["b"].mean == 3.0 and d["b"].count == 2, d
print("smoke ok")
"""


def test_installed_wheel_works_outside_the_checkout(venv: Path, tmp_path: Path) -> None:
    data = tmp_path / "small.csv"
    data.write_text("a,b\n1,2\n3,4\n")
    venv_python = venv / "bin" / "python"
    site = _run([str(venv_python), "-c", "import sysconfig; print(sysconfig.get_path('platlib'))"]).stdout.strip()
    result = _run([str(venv_python), "-c", SMOKE, site, str(data)], cwd=tmp_path)
    assert result.stdout.strip() == "smoke ok"

    described = _run([str(venv / "bin" / "oxbridge"), "describe", str(data), "--json"], cwd=tmp_path)
    columns = json.loads(described.stdout)
    assert columns["a"]["mean"] == 2.0 and columns["b"]["max"] == 4.0

    failed = run_child(
        [str(venv / "bin" / "oxbridge"), "describe", str(tmp_path / "missing.csv")],
        env=_clean_env(),
        cwd=tmp_path,
        timeout=60,
    )
    assert failed.returncode == 1 and "missing.csv" in failed.stderr


def test_sdist_carries_the_crate_and_the_package(tmp_path: Path) -> None:
    code = "import sys, oxbridge_build; print(oxbridge_build.build_sdist(sys.argv[1]))"
    name = _run(python("-c", code, str(tmp_path)), cwd=PROJECT / "_build").stdout.strip()
    base = f"oxbridge-{_pyproject_version()}"
    assert name == f"{base}.tar.gz"
    with tarfile.open(tmp_path / name) as tar:
        names = set(tar.getnames())
    for needed in (
        "PKG-INFO",
        "pyproject.toml",
        "_build/oxbridge_build.py",
        "oxbridge/__init__.py",
        "oxbridge/py.typed",
        "native/Cargo.toml",
        "native/Cargo.lock",
        "native/build.rs",
        "native/src/lib.rs",
        "native/src/ffi/version.rs",
        "native/include/oxbridge.h",
    ):
        assert f"{base}/{needed}" in names, needed
    assert not any(n.endswith((".so", ".pyc")) or "__pycache__" in n or "/target/" in n for n in names)
