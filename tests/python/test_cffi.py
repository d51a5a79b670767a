"""The library through cffi's ABI mode, with cdefs derived from the header mechanically."""

import math

import pytest

cffi = pytest.importorskip("cffi")

import oxbridge

from _paths import HEADER

import cheader


@pytest.fixture(scope="module")
def ffi_lib():
    ffi = cffi.FFI()
    ffi.cdef(cheader.cdefs(HEADER.read_text()))
    return ffi, ffi.dlopen(str(oxbridge.library_path))


def test_version_and_abi(ffi_lib):
    ffi, lib = ffi_lib
    assert ffi.string(lib.oxb_version()).decode() == oxbridge.__version__
    assert lib.oxb_abi_version() == lib.OXB_ABI_VERSION


def test_seed_process_array_doubles_in_place(ffi_lib):
    ffi, lib = ffi_lib
    data = ffi.new("double[]", [1.5, -2.0, 0.0, 1e300])
    assert lib.process_array(data, 4) == 0
    assert list(data) == [3.0, -4.0, 0.0, 2e300]
    assert lib.process_array(ffi.NULL, 3) == -lib.OXB_NULL_POINTER
    assert b"data" in ffi.string(lib.oxb_last_error_message())
    assert lib.process_array(data, -1) == -lib.OXB_INVALID_ARGUMENT


def test_strided_view_with_scale_and_offset(ffi_lib):
    ffi, lib = ffi_lib
    data = ffi.new("int32_t[]", list(range(10)))
    view = ffi.new("oxb_view *", {"data": data + 9, "len": 5, "stride": -2, "dtype": lib.OXB_DTYPE_I32})
    assert lib.oxb_process_array(view, 3.0, 1.0) == lib.OXB_OK
    assert list(data) == [x * 3 + 1 if x % 2 else x for x in range(10)]


def test_accumulator_lifecycle(ffi_lib):
    ffi, lib = ffi_lib
    values = [1.0, 2.5, float("nan"), -4.0]
    data = ffi.new("double[]", values)
    view = ffi.new("oxb_view *", {"data": data, "len": 4, "stride": 1, "dtype": lib.OXB_DTYPE_F64})
    handle = ffi.new("oxb_accumulator *")
    assert lib.oxb_accumulator_create(handle) == lib.OXB_OK
    assert lib.oxb_accumulator_push(handle[0], view) == lib.OXB_OK
    stats = ffi.new("oxb_stats *")
    assert lib.oxb_accumulator_stats(handle[0], stats) == lib.OXB_OK
    numbers = [v for v in values if not math.isnan(v)]
    assert (stats.count, stats.nan_count) == (3, 1)
    assert stats.sum == math.fsum(numbers)
    assert (stats.min, stats.max) == (min(numbers), max(numbers))
    assert lib.oxb_accumulator_destroy(handle[0]) == lib.OXB_OK
    assert lib.oxb_accumulator_destroy(handle[0]) == lib.OXB_INVALID_HANDLE
    assert b"not live" in ffi.string(lib.oxb_last_error_message())
