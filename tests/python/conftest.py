"""The suite also runs under PyPy 3 (Python 3.9) without numpy (`make test-pypy`).

numpy (and pandas, numexpr, polars) are optional for oxbridge: a test module that imports
one of them at module level is reported as skipped, with the reason, when it is not
installed; test_without_numpy.py covers the API without them. On Python < 3.11 the
`tomli` backport stands in for `tomllib`.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

import _helpers

if sys.version_info < (3, 11) and "tomllib" not in sys.modules:
    try:
        import tomli

        sys.modules["tomllib"] = tomli
    except ImportError:
        pass

OPTIONAL = ("numpy", "pandas", "numexpr", "polars", "dask", "distributed")


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # hidden on purpose (test_without_numpy.py)
        return False


_missing = {name for name in OPTIONAL if not _installed(name)}


def _module_level_imports(path: Path) -> list[str]:
    """Top-level package names imported by the module's own top-level statements."""
    names = []
    for node in ast.parse(path.read_bytes(), str(path)).body:
        if isinstance(node, ast.Import):
            names += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module.split(".")[0])
            if node.module == "hypothesis.extra":  # from hypothesis.extra import numpy
                names += [alias.name for alias in node.names]
    return names


def _needs_missing(path: Path) -> str | None:
    if not _missing:
        return None
    needed = sorted(set(_module_level_imports(path)) & _missing)
    return ", ".join(needed) if needed else None


class _SkippedModule(pytest.Module):
    """A test module whose imports are not installed: collected as one skip."""

    def collect(self):  # type: ignore[override]
        pytest.skip(f"{self.path.name} needs {_needs_missing(self.path)}, not installed", allow_module_level=True)


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if _needs_missing(module_path):
        return _SkippedModule.from_parent(parent, path=module_path)
    return None


# Fixtures shared by several modules; their code is in _helpers.py.
hooks_library = pytest.fixture(scope="module")(_helpers.hooks_library)
