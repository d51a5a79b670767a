"""oxbridge: fast data work for Python through a native library with a stable C ABI.

Arrays: `process_array`, `stats`, `histogram`, `quantile`, `sort`; fused math:
`evaluate`, `Expression`, `parallel_map`; streaming: `Accumulator`; files larger than
RAM: `Dataset`, `process_large_dataset`; beyond one machine: `Dataset.partitions`,
`Partition`, and `oxbridge.dask` (with dask installed). Errors derive from `OxbridgeError`.
`library_path` is the native library's file and `__version__` its version.

>>> import numpy as np, oxbridge
>>> a = np.arange(4.0)
>>> oxbridge.process_array(a)
array([0., 2., 4., 6.])
>>> oxbridge.library_path.is_file()
True
"""

from __future__ import annotations

import ctypes
from pathlib import Path

from ._accumulator import Accumulator
from ._dataset import Dataset, process_large_dataset
from ._description import BoolStats, Description, TemporalStats, TextStats
from ._errors import (
    CancelledError,
    ClosedError,
    DataFormatError,
    ExpressionError,
    InvalidArgumentError,
    InvalidHandleError,
    IoError,
    NullPointerError,
    OutOfMemoryError,
    OxbridgeError,
    PanicError,
    UnsupportedError,
    check as _check,
)
from ._expr import Expression, evaluate, parallel_map
from ._loader import lib as _lib, path as _library_path
from ._order import histogram, quantile, sort
from ._partition import FileChangedError, FileIdentity, Partition
from ._process import process_array
from ._stats import Stats, stats

__version__: str = _lib.oxb_version().decode()

library_path: Path = _library_path
"""The native library this package loaded: the file named by $OXBRIDGE_LIBRARY, else the
copy bundled in the package, else the build in the cargo target folder of its checkout."""

__all__ = [
    "Accumulator",
    "BoolStats",
    "CancelledError",
    "ClosedError",
    "DataFormatError",
    "Dataset",
    "Description",
    "Expression",
    "ExpressionError",
    "FileChangedError",
    "FileIdentity",
    "InvalidArgumentError",
    "InvalidHandleError",
    "IoError",
    "NullPointerError",
    "OutOfMemoryError",
    "OxbridgeError",
    "PanicError",
    "Partition",
    "Stats",
    "TemporalStats",
    "TextStats",
    "UnsupportedError",
    "cpu_path",
    "evaluate",
    "get_num_threads",
    "histogram",
    "library_path",
    "parallel_map",
    "process_array",
    "process_large_dataset",
    "quantile",
    "set_num_threads",
    "sort",
    "stats",
]


def set_num_threads(threads: int) -> None:
    """Sets how many worker threads parallel work uses; 0 restores the default
    ($OXBRIDGE_NUM_THREADS, else one per core). Affects every later call, from any
    thread. Raises `ValueError` for a negative count or one above the library's limit.

    Examples
    --------
    >>> import oxbridge
    >>> oxbridge.set_num_threads(2); oxbridge.get_num_threads()
    2
    >>> oxbridge.set_num_threads(0)
    """
    if threads < 0:
        raise ValueError(f"threads must be 0 or more, got {threads}")
    if threads >= 1 << (8 * ctypes.sizeof(ctypes.c_size_t)):  # ctypes would wrap it around
        raise ValueError(f"threads must fit in a size_t, got {threads}")
    _check(_lib.oxb_set_num_threads(threads))


def cpu_path() -> str:
    """The instruction path the native kernels take: "avx512", "avx2" or "scalar", the
    CPU's widest unless $OXBRIDGE_CPU forces a narrower one (for tests, or a CPU that
    misbehaves; asking for a wider one than the CPU has fails at import).

    Examples
    --------
    >>> import oxbridge
    >>> oxbridge.cpu_path() in ("avx512", "avx2", "scalar")
    True
    """
    name = ctypes.c_char_p()
    _check(_lib.oxb_cpu_path(ctypes.byref(name)))
    return (name.value or b"").decode()


def get_num_threads() -> int:
    """How many worker threads parallel work uses (see `set_num_threads`).

    Examples
    --------
    >>> import oxbridge
    >>> oxbridge.get_num_threads() >= 1
    True
    """
    out = ctypes.c_size_t()
    _check(_lib.oxb_num_threads(ctypes.byref(out)))
    return out.value
