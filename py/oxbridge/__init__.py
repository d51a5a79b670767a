"""oxbridge: fast data work for Python through a native library with a stable C ABI.

>>> import numpy as np, oxbridge
>>> a = np.arange(4.0)
>>> oxbridge.process_array(a)
array([0., 2., 4., 6.])
"""

from __future__ import annotations

import ctypes

from ._accumulator import Accumulator
from ._array import histogram, quantile, sort, stats
from ._dataset import Dataset, Description, TextStats, process_large_dataset
from ._expr import Expression, evaluate, parallel_map
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
from ._loader import lib as _lib
from ._loader import path as library_path
from ._process import process_array
from ._stats import Stats

__version__: str = _lib.oxb_version().decode()

__all__ = [
    "Accumulator",
    "CancelledError",
    "ClosedError",
    "DataFormatError",
    "Dataset",
    "Description",
    "Expression",
    "ExpressionError",
    "InvalidArgumentError",
    "InvalidHandleError",
    "IoError",
    "NullPointerError",
    "OutOfMemoryError",
    "OxbridgeError",
    "PanicError",
    "Stats",
    "TextStats",
    "UnsupportedError",
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
    ($OXBRIDGE_NUM_THREADS, else one per core).

    >>> import oxbridge
    >>> oxbridge.set_num_threads(2); oxbridge.get_num_threads()
    2
    >>> oxbridge.set_num_threads(0)
    """
    if threads < 0:
        raise ValueError(f"threads must be 0 or more, got {threads}")
    _check(_lib.oxb_set_num_threads(threads))


def get_num_threads() -> int:
    """How many worker threads parallel work uses.

    >>> import oxbridge
    >>> oxbridge.get_num_threads() >= 1
    True
    """
    out = ctypes.c_size_t()
    _check(_lib.oxb_num_threads(ctypes.byref(out)))
    return out.value
