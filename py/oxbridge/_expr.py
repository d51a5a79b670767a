"""The expression engine: `evaluate`, `Expression`, `parallel_map`."""

from __future__ import annotations

import array
import ctypes
import functools
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, cast

from . import _bindings as b
from ._buffers import Buffer, as_numbers
from ._errors import ExpressionError, check, error_for
from ._handle import Handle
from ._loader import lib

_Order = Literal["C", "F"]  # the memory order of N-D operands, as numpy spells it


def _scalar(value: Any) -> float | None:
    """The value as a float if it is a number (Python or numpy scalar), else None."""
    if isinstance(value, (bool, int, float)):
        return float(value)
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return float(value)
    return None


class Expression(Handle):
    """An expression compiled once to native code, reusable and safe to call from several
    threads at once; a context manager (`close()` frees it, a finalizer otherwise).

    The language is numexpr's: arithmetic, comparisons, ``& | ~``, ``where(c, a, b)`` and
    the usual math functions (see the README). Attributes: `source` (the text),
    `variables` (the names it reads, in order of first appearance) and `is_bool` (True
    when the result is a comparison or logical value).

    Raises `ExpressionError` (a `ValueError`) when the text does not compile, and
    `TypeError` when it is not a string.

    Examples
    --------
    >>> import oxbridge
    >>> e = oxbridge.Expression("2*a + b**2 - 1")
    >>> e.variables
    ('a', 'b')
    >>> e([1.0, 2.0], [3.0, 4.0]).tolist()
    [10.0, 19.0]
    >>> oxbridge.Expression("x > 1").is_bool
    True
    """

    _kind = "expression"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as its text; compiled again where it is unpickled."""
        return (Expression, (self.source,))

    def __dask_tokenize__(self) -> object:
        return ("oxbridge.Expression", self.source)

    def __init__(self, source: str) -> None:
        if not isinstance(source, str):
            raise TypeError(f"an expression is a string, got {type(source).__name__}")
        if "\x00" in source:
            at = source.index("\x00")
            raise ExpressionError(f"invalid expression: a NUL character at position {at}", source)
        encoded = source.encode()

        def compile_(out: Any) -> int:
            status: int = lib.oxb_expression_compile(encoded, ctypes.byref(out))
            if status == b.OXB_INVALID_ARGUMENT:
                raise ExpressionError(error_for(status).args[0], source)
            return status

        super().__init__(compile_, lib.oxb_expression_destroy)
        self.source = source
        info = b.oxb_expression_info()
        self._call(lib.oxb_expression_inspect, ctypes.byref(info))
        names = []
        name = ctypes.c_char_p()
        for i in range(info.num_variables):
            self._call(lib.oxb_expression_variable, i, ctypes.byref(name))
            names.append((name.value or b"").decode())
        self.variables: tuple[str, ...] = tuple(names)
        self.is_bool = bool(info.is_bool)

    def __call__(self, *args: Any, out: Any = None, **kwargs: Any) -> Any:
        """Evaluates the expression elementwise, in parallel, without temporaries.

        Operands are given by position (in `variables` order) or by name: buffers of
        one length or shape (numpy arrays, `array.array`, memoryview, any stride; N-D
        ones in one memory order), sequences of numbers, or scalars.

        Returns a new float64 array (float32 when every array operand is float32; bool
        when `is_bool`), shaped like the operands: a numpy array, or an `array.array`
        without numpy. With only scalar operands the result is a scalar. With `out`, a
        writable float64/float32 buffer of the operands' shape (it may be one of them),
        the result is written there and `out` is returned.

        Raises `TypeError` for missing, unknown or repeated operands and `ValueError`
        for operands of different lengths.

        Examples
        --------
        >>> import array, oxbridge
        >>> e = oxbridge.Expression("x * y + 1")
        >>> e([1.0, 2.0], y=10.0).tolist()
        [11.0, 21.0]
        >>> float(e(2, 3))
        7.0
        >>> xs = array.array("d", [1.0, 2.0])
        >>> e(xs, xs, out=xs)
        array('d', [2.0, 5.0])
        """
        if len(args) > len(self.variables):
            raise TypeError(f"{self.source!r} takes {len(self.variables)} operands, got {len(args)}")
        values = dict(zip(self.variables, args))
        for name, value in kwargs.items():
            if name not in self.variables:
                raise TypeError(f"{self.source!r} has no variable {name!r}; its variables are {list(self.variables)}")
            if name in values:
                raise TypeError(f"operand {name!r} given twice")
            values[name] = value
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise TypeError(f"{self.source!r} needs operands {missing}")
        return self._evaluate([values[v] for v in self.variables], out)

    def _evaluate(self, operands: Sequence[Any], out: Any) -> Any:
        views = (b.oxb_view * max(len(operands), 1))()
        keep: list[Any] = []
        length: int | None = None
        shape: tuple[int, ...] | None = None
        order: _Order = "C"
        all_float32 = True
        any_array = False
        for i, (name, value) in enumerate(zip(self.variables, operands)):
            number = _scalar(value)
            if number is not None:
                holder = ctypes.c_double(number)
                keep.append(holder)
                views[i] = b.oxb_view(ctypes.addressof(holder), 1, 0, b.OXB_DTYPE_F64)
                continue
            buffer = Buffer(as_numbers(value, "evaluate"), writable=False, argument=name, function="evaluate")
            keep.append(buffer)
            shape, order = _same_layout(name, buffer, shape, order)
            view = buffer.flat()
            length = view.len
            any_array = True
            all_float32 = all_float32 and view.dtype == b.OXB_DTYPE_F32
            views[i] = view
        if out is None:
            dtype = "f" if any_array and all_float32 else "d"
            result, out_view, out_keep = _new_output(1 if length is None else length, dtype, shape, order)
        else:
            out_buffer = Buffer(out, writable=True, argument="out", function="evaluate")
            if not _is_native_float(out_buffer.mv.format):
                raise TypeError("out must be a float64 or float32 array")
            if shape is not None and len(shape) > 1 and not _has_order(out_buffer, order):
                # out in another memory order: compute in the operands' order, then copy.
                if tuple(out_buffer.mv.shape or ()) != shape:
                    _same_layout("out", out_buffer, shape, order)
                _copy_into(out, self._evaluate(operands, None), order)
                return out
            if shape is not None:
                _same_layout("out", out_buffer, shape, order)
            out_view = out_buffer.flat()
            if out_view.dtype not in (b.OXB_DTYPE_F64, b.OXB_DTYPE_F32):
                raise TypeError("out must be a float64 or float32 array")
            result, out_keep = out, out_buffer
        check(lib.oxb_expression_evaluate(self._h(), views, len(operands), ctypes.byref(out_view)))
        del keep, out_keep
        if out is not None:
            return result
        if self.is_bool and hasattr(result, "astype"):
            result = result.astype(bool)
        if length is None:  # every operand was a scalar: so is the result
            return result.reshape(())[()] if hasattr(result, "reshape") else result[0]
        return result

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def _same_layout(
    name: str, buffer: Buffer, shape: tuple[int, ...] | None, order: _Order
) -> tuple[tuple[int, ...], _Order]:
    """Checks that an operand has the shape of the earlier ones and, when it has more than
    one dimension, the same memory order, so that flat views match element for element.
    Returns the shape and order so far."""
    mv = buffer.mv
    here = tuple(mv.shape or ())
    if shape is not None and here != shape:
        if name == "out":
            what, others = "out", "the operands have"
        else:
            what, others = f"operand {name!r}", "an earlier operand has"
        if len(here) == 1 and len(shape) == 1:
            raise ValueError(f"{what} has length {here[0]}, but {others} length {shape[0]}")
        raise ValueError(f"{what} has shape {here}, but {others} shape {shape}")
    if len(here) <= 1:
        return here, order
    # A layout that is both C and F contiguous (e.g. one row) goes with either order.
    candidates: tuple[tuple[_Order, bool], ...] = (("C", mv.c_contiguous), ("F", mv.f_contiguous))
    orders: set[_Order] = {o for o, ok in candidates if ok}
    if not orders:
        raise ValueError(
            f"operand {name!r} is a {len(here)}-D array that is neither C- nor Fortran-contiguous; "
            "pass a contiguous array"
        )
    if shape is not None and order not in orders:
        raise ValueError(
            f"operand {name!r} is in {'/'.join(sorted(orders))} order but an earlier operand is in {order} "
            "order; make them the same (numpy.ascontiguousarray or numpy.asfortranarray)"
        )
    return here, order if order in orders else orders.pop()


def _is_native_float(fmt: str) -> bool:
    """Whether a buffer format is float64 or float32 in this machine's byte order."""
    native = "<" if sys.byteorder == "little" else ">"
    return fmt.lstrip("@=" + native) in ("d", "f")


def _has_order(buffer: Buffer, order: str) -> bool:
    return buffer.mv.c_contiguous if order == "C" else buffer.mv.f_contiguous


def _new_output(n: int, dtype: str, shape: tuple[int, ...] | None, order: _Order = "C") -> tuple[Any, Any, Any]:
    try:
        import numpy
    except ImportError:
        result: Any = array.array(dtype, bytes(n * (4 if dtype == "f" else 8)))
        buffer = Buffer(result, writable=True, argument="out", function="evaluate")
        return result, buffer.flat(), buffer
    result = numpy.empty(
        shape if shape is not None else (n,), dtype=numpy.float32 if dtype == "f" else numpy.float64, order=order
    )
    buffer = Buffer(result, writable=True, argument="out", function="evaluate")
    return result, buffer.flat(), buffer


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Expression:
    """The expression `evaluate`, `parallel_map` and `process_array` compile from a string:
    compiled once, kept for the 256 most recent texts. Never handed to the caller, so
    nobody closes it."""
    return Expression(source)


def _copy_into(out: Any, result: Any, order: str | None) -> None:
    """`out[...] = result` for an `out` in another memory order than the operands; a
    memoryview (or other plain buffer) cannot do that itself, numpy copies between them."""
    try:
        out[...] = result
        return
    except TypeError:
        pass
    try:
        import numpy as np
    except ImportError:
        raise TypeError(
            f"out is not in the operands' memory order ({'Fortran' if order == 'F' else 'C'}); without numpy "
            "oxbridge cannot copy between orders: pass out in the operands' order"
        ) from None
    np.asarray(out)[...] = result


def evaluate(
    expr: str | Expression, out: Any = None, local_dict: Mapping[str, Any] | None = None, **operands: Any
) -> Any:
    """Evaluates `expr` elementwise in one parallel pass without temporaries, like
    `numexpr.evaluate`.

    Parameters
    ----------
    expr
        The expression text (compiled once and cached) or an `Expression`.
    out
        Optional writable float64/float32 buffer for the result; it may be an operand.
    local_dict
        Operands by name, looked up after the keyword `operands`.
    **operands
        Operands by name. Names found in neither are taken from the caller's local,
        then global variables. Operands are buffers of one length (any stride) or
        scalars, as for `Expression.__call__`.

    Returns
    -------
    A new array (numpy, or `array.array` without numpy): float64, float32 when every
    array operand is float32, bool for comparisons; or `out` when given.

    Raises
    ------
    ExpressionError
        When `expr` does not compile or names a variable that is not defined.

    Examples
    --------
    >>> import oxbridge
    >>> oxbridge.evaluate("2*a + b", a=[1.0, 2.0], b=0.5).tolist()
    [2.5, 4.5]
    >>> import numpy as np
    >>> a = np.arange(4.0)
    >>> oxbridge.evaluate("where(a > 1, sqrt(a), -a)").tolist()
    [-0.0, -1.0, 1.4142135623730951, 1.7320508075688772]
    """
    expression = _compiled(expr) if isinstance(expr, str) else expr
    if not isinstance(expression, Expression):
        raise TypeError(f"an expression is a string or an Expression, got {type(expr).__name__}")
    frame = None
    values = []
    for name in expression.variables:
        if name in operands:
            values.append(operands[name])
        elif local_dict is not None and name in local_dict:
            values.append(local_dict[name])
        else:
            if frame is None:
                frame = sys._getframe(1)
            if name in frame.f_locals:
                values.append(frame.f_locals[name])
            elif name in frame.f_globals:
                values.append(frame.f_globals[name])
            else:
                known = sorted(set(operands) | set(local_dict or ()))
                raise ExpressionError(
                    f"name {name!r} in {expression.source!r} is not defined: pass it as a keyword or "
                    f"in local_dict (given: {', '.join(known) if known else 'none'})",
                    expression.source,
                )
    del frame
    return expression._evaluate(values, out)


def parallel_map(func: str | Expression | Callable[..., Any] | int, items: Any, out: Any = None) -> Any:
    """Applies `func` to every item and returns the results (a numpy array, or a list
    without numpy).

    `func` may be:
    1. an expression string or `Expression` of one variable: compiled once, run on every
       core outside the GIL;
    2. a native function `double f(double)`: a ctypes function from a C library, a numba
       `cfunc`, or an integer address; called from every worker thread at once (it must
       be thread-safe);
    3. any Python callable: called in order on this thread. Python code holds the GIL, so
       threads cannot run it in parallel; an exception propagates with the failing
       item's index in a note.

    Paths 1 and 2 are parallel because no Python runs per item. They can write into a
    float64/float32 `out` of the same length (which is then returned); path 3 raises
    `TypeError` when `out` is given.

    `items` is a buffer of numbers or any iterable (of numbers, for paths 1 and 2).

    Examples
    --------
    >>> import oxbridge
    >>> oxbridge.parallel_map("x * 10 + 1", [1.0, 2.0]).tolist()
    [11.0, 21.0]
    >>> oxbridge.parallel_map(lambda s: len(s), ["a", "bcd"]).tolist()
    [1, 3]
    """
    if isinstance(func, (str, Expression)):
        expression = _compiled(func) if isinstance(func, str) else func
        if len(expression.variables) != 1:
            raise ExpressionError(
                f"parallel_map needs an expression of one variable; {expression.source!r} has "
                f"{len(expression.variables)}: {list(expression.variables)}",
                expression.source,
            )
        return expression._evaluate([_as_items(items)], out)
    address = _native_address(func)
    if address is not None:
        source = _as_items(items)
        buffer = Buffer(source, writable=False, argument="items", function="parallel_map")
        view = buffer.flat()
        if out is None:
            result, out_view, out_keep = _new_output(view.len, "d", None)
        else:
            out_keep = Buffer(out, writable=True, argument="out", function="parallel_map")
            out_view, result = out_keep.flat(), out
        check(lib.oxb_parallel_map(b.oxb_map_fn(address), ctypes.byref(view), ctypes.byref(out_view)))
        del buffer, out_keep
        return result
    if not callable(func):
        raise TypeError(f"func must be an expression, a native function or a callable, got {type(func).__name__}")
    if out is not None:
        raise TypeError("out is for expressions and native functions; a Python function returns a new array")
    results = []
    for index, item in enumerate(_iterate(items)):
        try:
            results.append(func(item))
        except Exception as error:
            if hasattr(error, "add_note"):
                error.add_note(f"raised by parallel_map's func on item {index} ({item!r})")
            raise
    try:
        import numpy

        return numpy.asarray(results)
    except ImportError:
        return results


def _as_items(items: Any) -> Any:
    try:
        memoryview(items)
        return items
    except TypeError:
        return as_numbers(list(items) if not isinstance(items, (list, tuple)) else items, "parallel_map")


def _iterate(items: Any) -> Iterable[Any]:
    try:
        view = memoryview(items)
    except TypeError:
        return cast("Iterable[Any]", items)  # not iterable either: the caller's loop raises TypeError
    if view.ndim > 1:
        # Flattened; typeshed's cast() takes only literal formats, this one is known at run time.
        flat: memoryview = view.cast("B").cast(view.format)  # type: ignore[call-overload]
        return flat.tolist()
    return view.tolist()


def _native_address(func: Any) -> int | None:
    """The address of a native `double(double)` function, or None for Python callables."""
    if isinstance(func, bool):
        return None
    if isinstance(func, int):
        if func <= 0:
            raise ValueError(f"a function address must be positive, got {func}")
        return func
    if isinstance(func, ctypes._CFuncPtr):  # type: ignore[attr-defined]
        restype = getattr(func, "restype", None)
        argtypes = getattr(func, "argtypes", None)
        if restype is not ctypes.c_double or list(argtypes or []) != [ctypes.c_double]:
            raise TypeError(
                "a ctypes function for parallel_map must be double(double): set "
                "f.restype = ctypes.c_double and f.argtypes = [ctypes.c_double]"
            )
        return ctypes.cast(func, ctypes.c_void_p).value
    address = getattr(func, "address", None)  # numba cfunc
    if isinstance(address, int) and hasattr(func, "ctypes"):
        return address
    return None
