"""`process_array`: in-place work on the caller's memory."""

from __future__ import annotations

import ctypes
from typing import TypeVar

from ._buffers import view_of
from ._errors import check, error_for
from ._loader import lib

_Buffer = TypeVar("_Buffer")
_seed = lib.process_array
_scale = lib.oxb_process_array
_char_at = ctypes.c_char.from_buffer
_addressof = ctypes.addressof
_INT_MAX = 2**31 - 1


def process_array(a: _Buffer, func: str | None = None) -> _Buffer:
    """Doubles every element of `a` in place, in parallel for large arrays, and returns `a`;
    with `func` (an expression in `x`, e.g. ``"x * 2 + 1"`` or ``"sqrt(abs(x))"``, or an
    `Expression` of one variable) replaces every `x` by its value instead (float arrays).

    `a` is any writable buffer of float64, float32, int64 or int32: a numpy array (any
    stride, C or Fortran order), `array.array`, or `memoryview`. The work happens on `a`'s
    own memory, never on a copy: read-only or unsupported input raises instead. Integer
    overflow raises ValueError and leaves `a` unchanged.

    Raises `ValueError` for read-only memory (or overflow), `TypeError` for another
    dtype (or an integer array with `func`), `ExpressionError` for a `func` that does
    not compile or uses a variable other than `x`.

    Examples
    --------
    >>> import array, oxbridge
    >>> oxbridge.process_array(array.array("d", [1.5, -2.0]))
    array('d', [3.0, -4.0])
    >>> oxbridge.process_array(array.array("f", [1.0, 4.0]), func="sqrt(x) + 1")
    array('f', [2.0, 3.0])
    """
    if func is not None:
        return _process_with(a, func)
    # Fast path for the common case (contiguous float64): a couple of attribute reads and
    # one foreign call, which keeps small arrays cheap.
    try:
        mv = memoryview(a)  # type: ignore[arg-type]
    except TypeError:
        mv = None
    if mv is not None and mv.format == "d" and mv.ndim and mv.c_contiguous and not mv.readonly:
        n = mv.nbytes >> 3
        if 0 < n <= _INT_MAX:
            status = _seed(_addressof(_char_at(mv)), n)
            if status:
                raise error_for(-status)
            return a
    view, keep = view_of(a, writable=True, function="process_array")
    check(_scale(ctypes.byref(view), 2.0, 0.0))
    del keep
    return a


def _process_with(a: _Buffer, func: object) -> _Buffer:
    from ._errors import ExpressionError
    from ._expr import Expression, _compiled

    expression = _compiled(func) if isinstance(func, str) else func
    if not isinstance(expression, Expression):
        raise TypeError(f"func must be an expression string or an Expression, got {type(func).__name__}")
    if len(expression.variables) > 1 or (expression.variables and expression.variables[0] != "x"):
        raise ExpressionError(
            f"process_array's func is an expression in x, got {expression.source!r} with variables "
            f"{list(expression.variables)}",
            expression.source,
        )
    try:
        mv = memoryview(a)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"process_array expects a writable float array, got {type(a).__name__}") from None
    if mv.readonly:
        raise ValueError("a is read-only; process_array works in place and never on a silent copy")
    fmt = mv.format
    if fmt not in ("d", "f", "<d", "<f", "=d", "=f"):
        raise TypeError(f"process_array(func=...) works in place on float64 or float32 arrays, got format {fmt!r}")
    # In place: the output is the input itself (the same view), which the engine allows.
    expression._evaluate([a] if expression.variables else [], a)
    return a
