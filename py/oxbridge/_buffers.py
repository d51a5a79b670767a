"""Turning a Python buffer into an `oxb_view` without copying.

Any object with the buffer protocol or `__array_interface__` works: numpy arrays,
`array.array`, `memoryview`, `bytearray` casts. Layouts the library cannot address
without a copy, unsupported dtypes, and read-only memory where writing is needed all
raise before any native call: nothing ever runs on a silent copy.
"""

from __future__ import annotations

import array
import ctypes
import operator
import sys
from typing import Any

from . import _bindings as b

_LITTLE = sys.byteorder == "little"
_SIGNED_INTS = frozenset("bhilq")
# Names users know from numpy, for error messages.
_FORMAT_NAMES = {
    "?": "bool",
    "b": "int8",
    "B": "uint8",
    "h": "int16",
    "H": "uint16",
    "i": "int32",
    "I": "uint32",
    "l": "int64",
    "L": "uint64",
    "q": "int64",
    "Q": "uint64",
    "e": "float16",
    "f": "float32",
    "d": "float64",
    "g": "longdouble",
    "Zf": "complex64",
    "Zd": "complex128",
    "O": "object",
}
_DTYPE_CODES = {("d", 8): b.OXB_DTYPE_F64, ("f", 4): b.OXB_DTYPE_F32}
SUPPORTED = "float64, float32, int64 or int32"


class _PyBuffer(ctypes.Structure):
    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.py_object),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


_PyBUF_RECORDS_RO = 0x001C  # PyBUF_STRIDES | PyBUF_FORMAT


def _buffer_address(view: memoryview) -> int:
    """Address of element 0 of any buffer: via the C-API on CPython, via the memoryview
    on PyPy (which has no `ctypes.pythonapi`; its buffers with an address do not move)."""
    api = getattr(ctypes, "pythonapi", None)
    if api is None:
        raw_address = getattr(view, "_pypy_raw_address", None)
        try:
            if raw_address is None:
                raise ValueError("no C-API access")
            return int(raw_address())
        except ValueError:
            raise TypeError(
                f"this Python cannot reach the memory of this {type(view.obj).__name__} without a "
                "copy; pass a numpy array, an array.array or a writable contiguous buffer"
            ) from None
    info = _PyBuffer()
    get, release = api.PyObject_GetBuffer, api.PyBuffer_Release
    get.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
    get.restype = ctypes.c_int
    release.argtypes = [ctypes.POINTER(_PyBuffer)]
    release.restype = None
    get(view, ctypes.byref(info), _PyBUF_RECORDS_RO)
    try:
        # The memoryview keeps the exporter alive, so the address outlives the release.
        return info.buf or 0
    finally:
        release(ctypes.byref(info))


def dtype_code(fmt: str, itemsize: int, argument: str) -> int:
    """The `OXB_DTYPE_*` code for a struct-module format, or TypeError naming the dtype."""
    order, char = (fmt[0], fmt[1:]) if fmt[:1] in "@=<>!" else ("@", fmt)
    if order in (">!" if _LITTLE else "<"):
        raise TypeError(
            f"{argument} has non-native byte order ({fmt!r}); convert it first, "
            "e.g. with numpy's a.astype(a.dtype.newbyteorder('='))"
        )
    code = _DTYPE_CODES.get((char, itemsize))
    if code is None and char in _SIGNED_INTS:
        code = {8: b.OXB_DTYPE_I64, 4: b.OXB_DTYPE_I32}.get(itemsize)
    if code is None:
        name = _FORMAT_NAMES.get(char, f"format {fmt!r}")
        raise TypeError(f"{argument} has dtype {name}; oxbridge supports {SUPPORTED}")
    return code


def as_integer(value: Any, argument: str, expected: str = "an integer") -> int:
    """`value` as a Python int (anything with `__index__`), or a TypeError naming `argument`."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{argument} must be {expected}, got {type(value).__name__}") from None


def as_numbers(obj: Any, function: str) -> Any:
    """`obj` itself when it is a buffer; Arrow data (pyarrow arrays, polars Series) as a
    view of its memory, or one copy with nulls as NaN; else its numbers copied into an
    array.array (int64 when they are all integers that fit, else float64). Only for
    read-only use."""
    from . import _arrow

    if _arrow.is_arrow(obj):
        return _arrow.values(obj, function)
    try:
        memoryview(obj)
        return obj
    except TypeError:
        pass
    if not hasattr(obj, "__iter__"):
        raise TypeError(
            f"{function}() expects a buffer of numbers (numpy array, array.array, memoryview) "
            f"or an iterable of numbers, got {type(obj).__name__}"
        )
    items = obj if hasattr(obj, "__len__") else list(obj)
    for typecode in ("q", "d"):
        try:
            return array.array(typecode, items)
        except (TypeError, OverflowError):
            continue
    bad = next((x for x in items if not isinstance(x, (int, float))), None)
    raise TypeError(f"{function}() expects numbers, got {type(obj).__name__} containing {bad!r}")


def _memoryview(obj: Any, argument: str, function: str) -> memoryview:
    try:
        return memoryview(obj)
    except TypeError:
        raise TypeError(
            f"{function}() expects a buffer of numbers for {argument} (a numpy array, "
            f"array.array or memoryview), got {type(obj).__name__}"
        ) from None


class Buffer:
    """A checked buffer: its memoryview, dtype code and the address of element 0.

    Holding it keeps the exporter's memory alive for the duration of a native call.
    """

    __slots__ = ("address", "argument", "code", "mv")

    def __init__(self, obj: Any, *, writable: bool, argument: str, function: str) -> None:
        mv = _memoryview(obj, argument, function)
        if mv.ndim == 0:
            raise ValueError(f"{argument} is a 0-d array (a scalar); pass an array")
        self.code = dtype_code(mv.format, mv.itemsize, argument)
        if writable and mv.readonly:
            raise ValueError(f"{argument} is read-only; {function}() works in place and never on a silent copy")
        for stride in mv.strides or ():  # typeshed allows None; a memoryview always has a tuple
            if stride % mv.itemsize:
                raise ValueError(
                    f"{argument} has a stride of {stride} bytes, not a multiple of its "
                    f"{mv.itemsize}-byte items; it cannot be viewed without a copy"
                )
        address = 0
        if mv.nbytes:
            interface = getattr(obj, "__array_interface__", None)
            if interface is not None and interface.get("data") is not None:
                address = interface["data"][0]
            elif not mv.readonly and mv.c_contiguous:
                address = ctypes.addressof(ctypes.c_char.from_buffer(mv))
            else:
                address = _buffer_address(mv)
            if address % mv.itemsize:
                raise ValueError(
                    f"{argument} is not aligned for its {mv.itemsize}-byte items (address "
                    f"{address:#x}); copy it to an aligned array first"
                )
        self.mv, self.address, self.argument = mv, address, argument

    @property
    def ndim(self) -> int:
        return self.mv.ndim

    def flat(self) -> b.oxb_view:
        """A 1-D view of every element: 1-D at any stride, N-D when contiguous."""
        mv = self.mv
        length = mv.nbytes // mv.itemsize
        if mv.ndim == 1:
            stride = (mv.strides or (0,))[0] // mv.itemsize
        elif mv.c_contiguous or mv.f_contiguous:
            stride = 1
        else:
            raise ValueError(
                f"{self.argument} is a non-contiguous {mv.ndim}-D array, which oxbridge cannot "
                "address without a copy; pass a contiguous array (e.g. numpy.ascontiguousarray)"
            )
        return b.oxb_view(self.address, length, stride, self.code)

    def matrix(self) -> b.oxb_view2d:
        """A 2-D view of a 2-D buffer, any layout."""
        mv = self.mv
        rows, cols = mv.shape or (0, 0)
        row_stride, col_stride = (s // mv.itemsize for s in mv.strides or (0, 0))
        return b.oxb_view2d(self.address, rows, cols, row_stride, col_stride, self.code)


def view_of(obj: Any, *, writable: bool, argument: str = "a", function: str = "oxbridge") -> tuple[b.oxb_view, Any]:
    """An `oxb_view` of `obj`'s memory, and the object that must stay alive during the call.

    N-D arrays are accepted when contiguous (C or Fortran order) and seen as flat.
    """
    buffer = Buffer(obj, writable=writable, argument=argument, function=function)
    return buffer.flat(), buffer
