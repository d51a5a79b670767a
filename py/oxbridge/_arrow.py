"""Arrow out of a Dataset: the Arrow C Stream Interface as PyCapsules, without a C extension
and without importing pyarrow, polars or duckdb (they are imported only by the methods
that return their objects).

The structs live on the library's heap (`oxb_arrow_new`), and each capsule's destructor is
a native function of the library (`oxb_arrow_capsule_free_*`): a destructor written in
Python would be called at interpreter shutdown, when Python code can no longer run. The
capsules are made with `ctypes.pythonapi`, which only CPython has; PyPy gets the same
data through integer addresses (`Dataset._export_to_c`, which pyarrow's `_import_from_c`
takes).
"""

from __future__ import annotations

import ctypes
import errno
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from . import _bindings as b
from ._errors import check
from ._loader import lib

SCHEMA, ARRAY, STREAM = b.OXB_ARROW_SCHEMA, b.OXB_ARROW_ARRAY, b.OXB_ARROW_STREAM
_STRUCT: dict[int, Any] = {SCHEMA: b.ArrowSchema, ARRAY: b.ArrowArray, STREAM: b.ArrowArrayStream}
# The capsule names must outlive every capsule: module-level buffers, never freed.
_NAME = {
    SCHEMA: ctypes.create_string_buffer(b"arrow_schema"),
    ARRAY: ctypes.create_string_buffer(b"arrow_array"),
    STREAM: ctypes.create_string_buffer(b"arrow_array_stream"),
}
_DESTRUCTOR = {
    SCHEMA: lib.oxb_arrow_capsule_free_schema,
    ARRAY: lib.oxb_arrow_capsule_free_array,
    STREAM: lib.oxb_arrow_capsule_free_stream,
}
_capsule_new: Any = None


def _pycapsule_new() -> Any:
    """CPython's PyCapsule_New, after giving the library PyCapsule_GetPointer (once)."""
    global _capsule_new
    if _capsule_new is None:
        api = getattr(ctypes, "pythonapi", None)
        if api is None or not hasattr(api, "PyCapsule_New"):
            raise NotImplementedError(
                "Arrow capsules need CPython's C API (ctypes.pythonapi), which this interpreter does not have; "
                "use Dataset.to_arrow(), which passes addresses instead"
            )
        check(lib.oxb_arrow_set_capsule_api(ctypes.cast(api.PyCapsule_GetPointer, ctypes.c_void_p)))
        new = api.PyCapsule_New
        new.restype = ctypes.py_object
        new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
        _capsule_new = new
    return _capsule_new


def new_struct(kind: int) -> int:
    """A released Arrow struct of `kind` on the library's heap; free it with `free_struct`."""
    address = lib.oxb_arrow_new(kind)
    if not address:
        raise MemoryError("could not allocate an Arrow struct")
    return int(address)


def free_struct(kind: int, address: int) -> None:
    """Releases (unless a consumer took it) and frees a struct of `new_struct`."""
    lib.oxb_arrow_free(kind, address)


def pointer(kind: int, address: int) -> Any:
    """A ctypes pointer to the struct at `address`."""
    return ctypes.cast(address, ctypes.POINTER(_STRUCT[kind]))


def capsule(kind: int, fill: Callable[[int], None]) -> Any:
    """A PyCapsule holding a struct of `kind` that `fill(address)` fills; the capsule's
    native destructor releases it unless a consumer moved it out, then frees it."""
    new = _pycapsule_new()
    address = new_struct(kind)
    try:
        fill(address)
        destructor = ctypes.cast(_DESTRUCTOR[kind], ctypes.c_void_p)
        return new(address, ctypes.cast(_NAME[kind], ctypes.c_char_p), destructor)
    except BaseException:
        free_struct(kind, address)
        raise


class TypesDidNotFit(Exception):
    """A value did not fit a CSV column type guessed from the first records
    (`OXB_ARROW_SAMPLED_TYPES`): read again with the whole file's types."""


def _stream_error(stream: Any, code: int) -> Exception:
    """The exception for a failed `get_next` or `get_schema` of a stream of ours: with the
    path, line and column the library left on this thread, when it is this error's."""
    message = stream.contents.get_last_error(stream)
    text = message.decode("utf-8", "replace") if message else f"error {code}"
    from ._errors import DataFormatError, error_for, last_error_message

    if code == errno.EAGAIN:
        return TypesDidNotFit(text)
    if code != errno.EIO:
        return OSError(code, text)
    if last_error_message() == text:
        detail = b.oxb_error_detail()
        lib.oxb_last_error_detail(ctypes.byref(detail))
        return error_for(b.OXB_IO if detail.os_code else b.OXB_DATA_FORMAT)
    return DataFormatError(text)


class ArrowBatch:
    """One record batch of a `Dataset.iter_batches` stream: `num_rows` rows of the chosen
    columns, which Arrow libraries take without a copy through `__arrow_c_array__`
    (`pyarrow.record_batch(batch)`, `polars.DataFrame(batch)`). A batch is handed over
    once: the consumer owns the data after that.

    Examples
    --------
    >>> import oxbridge, os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "t.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("a,b\\n1,x\\n2,y\\n3,z\\n")
    ...     with oxbridge.Dataset.open(path) as ds:
    ...         [b.num_rows for b in ds.iter_batches(rows=2)]
    [2, 1]
    """

    def __init__(self, schema: Callable[[int], None], array: int, rows: int) -> None:
        self._fill_schema = schema
        self._array: int | None = array
        # weakref.finalize, not __del__: it still runs at exit while the library is loaded.
        self._finalizer = weakref.finalize(self, free_struct, ARRAY, array)
        self.num_rows = rows

    def __arrow_c_schema__(self) -> Any:
        """The batch's schema as an "arrow_schema" PyCapsule."""
        return capsule(SCHEMA, self._fill_schema)

    def __arrow_c_array__(self, requested_schema: Any = None) -> tuple[Any, Any]:
        """The schema and the data as "arrow_schema" and "arrow_array" PyCapsules (the
        Arrow PyCapsule protocol); `requested_schema` is not used."""
        array = self._take()
        new = _pycapsule_new()
        try:
            schema = capsule(SCHEMA, self._fill_schema)
            destructor = ctypes.cast(_DESTRUCTOR[ARRAY], ctypes.c_void_p)
            data = new(array, ctypes.cast(_NAME[ARRAY], ctypes.c_char_p), destructor)
        except BaseException:
            free_struct(ARRAY, array)
            raise
        return schema, data

    def _export_to_c(self, out_array: int, out_schema: int | None = None) -> None:
        """Moves the batch into the `struct ArrowArray` at address `out_array` (and its
        schema into the `struct ArrowSchema` at `out_schema`): pyarrow's convention, for
        interpreters without capsules."""
        array = self._take()
        try:
            if out_schema is not None:
                self._fill_schema(out_schema)
            ctypes.memmove(out_array, array, ctypes.sizeof(b.ArrowArray))
            ctypes.memset(array, 0, ctypes.sizeof(b.ArrowArray))  # moved: released here
        finally:
            free_struct(ARRAY, array)

    def _take(self) -> int:
        if self._array is None:
            raise RuntimeError("this batch was handed over already; a batch's data has one owner")
        array, self._array = self._array, None
        self._finalizer.detach()
        return array

    def __repr__(self) -> str:
        state = "" if self._array is not None else ", handed over"
        return f"<oxbridge.ArrowBatch {self.num_rows} rows{state}>"


class _Stream:
    """A stream struct of ours, freed when neither its iterator nor a batch (whose schema
    it gives) needs it any more."""

    def __init__(self, fill_stream: Callable[[int], None]) -> None:
        self.address = new_struct(STREAM)
        self._finalizer = weakref.finalize(self, free_struct, STREAM, self.address)
        fill_stream(self.address)
        self.stream = pointer(STREAM, self.address)

    def fill_schema(self, out: int) -> None:
        code = self.stream.contents.get_schema(self.stream, pointer(SCHEMA, out))
        if code:
            raise _stream_error(self.stream, code)

    def next_array(self) -> int | None:
        """A struct of the next batch, or None at the end."""
        array = new_struct(ARRAY)
        code = self.stream.contents.get_next(self.stream, pointer(ARRAY, array))
        if code:
            free_struct(ARRAY, array)
            raise _stream_error(self.stream, code)
        if not pointer(ARRAY, array).contents.release:
            free_struct(ARRAY, array)
            return None
        return array


def iter_stream(fill_stream: Callable[[int], None]) -> Iterator[ArrowBatch]:
    """The batches of a stream that `fill_stream(address)` makes, each an `ArrowBatch`."""
    stream = _Stream(fill_stream)
    while (array := stream.next_array()) is not None:
        yield ArrowBatch(stream.fill_schema, array, int(pointer(ARRAY, array).contents.length))


def to_table(pa: Any, fill_stream: Callable[[int], None]) -> Any:
    """The `pyarrow.Table` of a stream that `fill_stream(address)` makes, imported batch by
    batch through addresses (so also where there are no capsules)."""
    stream = _Stream(fill_stream)
    address = new_struct(SCHEMA)
    try:
        stream.fill_schema(address)
        schema = pa.Schema._import_from_c(address)
    finally:
        free_struct(SCHEMA, address)
    batches = []
    while (array := stream.next_array()) is not None:
        try:
            batches.append(pa.RecordBatch._import_from_c(array, schema))
        finally:
            free_struct(ARRAY, array)
    return pa.Table.from_batches(batches, schema)


# ---------------------------------------------------------------------- Arrow in


def is_arrow(obj: object) -> bool:
    """Whether `obj` offers Arrow data (pyarrow arrays and chunked arrays, polars Series)
    and is not a buffer oxbridge reads directly."""
    return (hasattr(obj, "__arrow_c_array__") or hasattr(obj, "__arrow_c_stream__")) and not hasattr(
        obj, "__array_interface__"
    )


_capsule_get: Any = None


def _capsule_address(capsule: object, name: bytes) -> int:
    global _capsule_get
    if _capsule_get is None:
        # A function object of its own: the ctypes.pythonapi one is shared with others.
        get = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)
        _capsule_get = get(("PyCapsule_GetPointer", ctypes.pythonapi))
    address = _capsule_get(capsule, name)
    if not address:
        raise TypeError(f"expected an Arrow capsule named {name.decode()!r}")
    return int(address)


class _Held:
    """Keeps one imported array valid: the producer's capsules, or an array struct we
    took from its stream (released and freed with this object)."""

    def __init__(self, keep: object = None, array: int | None = None) -> None:
        self.keep = keep
        if array is not None:
            weakref.finalize(self, free_struct, ARRAY, array)


def arrays(obj: object) -> Iterator[tuple[int, int, _Held]]:
    """(schema address, array address, holder) of each array of `obj`
    (`__arrow_c_array__`, or the arrays of its `__arrow_c_stream__`): the array stays
    valid while its holder lives; the schema until the next array is asked for."""
    if getattr(ctypes, "pythonapi", None) is None:
        raise NotImplementedError("reading Arrow capsules needs CPython's C API (ctypes.pythonapi)")
    if hasattr(obj, "__arrow_c_array__"):
        schema_capsule, array_capsule = obj.__arrow_c_array__()
        schema = _capsule_address(schema_capsule, b"arrow_schema")
        yield schema, _capsule_address(array_capsule, b"arrow_array"), _Held((schema_capsule, array_capsule))
        return
    stream_capsule = obj.__arrow_c_stream__()  # type: ignore[attr-defined]
    stream = pointer(STREAM, _capsule_address(stream_capsule, b"arrow_array_stream"))
    schema = new_struct(SCHEMA)
    try:
        code = stream.contents.get_schema(stream, pointer(SCHEMA, schema))
        if code:
            raise _stream_error(stream, code)
        while True:
            array = new_struct(ARRAY)
            code = stream.contents.get_next(stream, pointer(ARRAY, array))
            if code:
                free_struct(ARRAY, array)
                raise _stream_error(stream, code)
            if not pointer(ARRAY, array).contents.release:
                free_struct(ARRAY, array)
                return
            yield schema, array, _Held(stream_capsule, array)
    finally:
        free_struct(SCHEMA, schema)


# The Arrow formats oxbridge reads: (ctypes type, array.array typecode).
_FORMATS: dict[bytes, tuple[Any, str]] = {
    b"g": (ctypes.c_double, "d"),
    b"f": (ctypes.c_float, "f"),
    b"l": (ctypes.c_int64, "q"),
    b"i": (ctypes.c_int32, "i"),
}


def _chunk(schema_address: int, array_address: int, held: _Held, function: str) -> tuple[Any, list[int] | None, str]:
    """(the values as a memoryview of the producer's buffer, which keeps `held`; the
    validity bits, None without nulls; the array.array typecode) of one primitive array,
    checked as `oxb_stats_arrow` checks it."""
    schema = pointer(SCHEMA, schema_address).contents
    array = pointer(ARRAY, array_address).contents
    fmt = schema.format or b""
    if fmt not in _FORMATS or schema.dictionary or array.dictionary:
        from ._errors import UnsupportedError

        raise UnsupportedError(
            f"{function}(): Arrow arrays of format {fmt.decode(errors='replace')!r} are not supported: "
            "float64 ('g'), float32 ('f'), int64 ('l') and int32 ('i') are"
        )
    if array.length < 0 or array.offset < 0 or array.n_buffers != 2 or array.n_children != 0 or not array.buffers:
        raise ValueError(f"{function}(): not a valid primitive Arrow array")
    ctype, code = _FORMATS[fmt]
    n, offset = int(array.length), int(array.offset)
    if n and not array.buffers[1]:
        raise ValueError(f"{function}(): the Arrow array's values buffer is NULL")
    data = (ctype * (offset + n)).from_address(array.buffers[1]) if n else (ctype * 0)()
    data._held = held  # the view below keeps `data`, `data` keeps the producer's array
    bits = None
    if array.null_count != 0 and n:
        if not array.buffers[0]:
            if array.null_count > 0:
                raise ValueError(f"{function}(): the Arrow array has nulls but no validity bitmap")
        else:
            raw = (ctypes.c_uint8 * ((offset + n + 7) // 8)).from_address(array.buffers[0])
            bits = [raw[(offset + i) // 8] >> ((offset + i) % 8) & 1 for i in range(n)]
            if all(bits):
                bits = None
    # ctypes exports "<d"-style formats; a cast gives the native ones ("d") everyone reads.
    return memoryview(data).cast("B").cast(code)[offset : offset + n], bits, code  # type: ignore[call-overload]


def values(obj: object, function: str) -> Any:
    """The numbers of Arrow data `obj` as a buffer for a read-only call: a view of the
    producer's memory (which it keeps valid) when it is one chunk without nulls; else one
    copy, nulls as NaN (integers with nulls become float64, as pandas makes them)."""
    import array as _array

    chunks = [_chunk(schema, array, held, function) for schema, array, held in arrays(obj)]
    if len(chunks) == 1 and chunks[0][1] is None:
        return chunks[0][0]
    code = "d" if any(bits is not None for _, bits, _ in chunks) else None
    codes = {c for _, _, c in chunks}
    code = code or (codes.pop() if len(codes) == 1 else "d")
    out = _array.array(code)
    nan = float("nan")
    for view, bits, _ in chunks:
        numbers = view.tolist()
        if bits is not None:
            numbers = [v if bit else nan for v, bit in zip(numbers, bits)]
        out.extend(_array.array(code, numbers))
    return out
