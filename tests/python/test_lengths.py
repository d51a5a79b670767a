"""Reliability: large lengths (more than 2**31 elements, 2**60-element headers).

1. Every length, size, count or index crossing the C ABI is 64-bit: the generated ctypes
   declarations (py/oxbridge/_bindings.py) are parsed and every parameter, struct field,
   callback argument and return value whose name says it is a length has type c_size_t,
   c_uint64 or c_int64 (c_ssize_t for strides), never c_int/c_uint/c_long. The one
   exception is the integration guide's seed `process_array(double *data, int length)`,
   kept as is (the package calls it only for arrays of at most INT_MAX elements).
2. More than 2^31 elements, for real. By default one cheap run: `stats` of a float32
   array of 2^31 + 5 elements made by np.zeros (lazily allocated: the untouched pages are
   the kernel's zero page, so it costs seconds, not 8 GiB), with the checked values placed
   past index 2^31. The `bigmem` tests (skipped unless `-m bigmem` or OXBRIDGE_BIGMEM=1;
   they need about 17 GiB free) touch 16 GiB: process_array (the seed path at exactly
   INT_MAX elements and the oxb_view path past it), evaluate in place, histogram, the
   Accumulator, int32 exact sums, and a raw file of 2^31 + 5 bytes described and chunked.

       .venv/bin/python -m pytest tests/python/test_lengths.py -m bigmem -q

3. Files whose header claims 2^60 elements (a forged .npy shape, a raw file opened with a
   huge `columns=`) give a clear error, never an allocation abort: each runs in a child
   process, which must exit normally.
"""

from __future__ import annotations

import ast
import ctypes
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

import oxbridge
from oxbridge import _bindings

import _reliability as R
from _helpers import python, run_child
from _paths import ROOT

import cheader

BINDINGS = ROOT / "py" / "oxbridge" / "_bindings.py"


@pytest.fixture(scope="module", autouse=True)
def _figures(request):
    yield
    R.flush(request.config, "lengths")


# Names that say "a length, a size, a count, an index or a position in elements".
LENGTH_NAME = re.compile(
    r"(^|_)(n|len|length|count|counts|size|rows|cols|columns|index|bins|threads|cursor|stride|"
    r"line|done|total|handles)($|_)|^num_"
)
SIXTY_FOUR = {"ctypes.c_size_t", "ctypes.c_uint64", "ctypes.c_int64"}
SIGNED_64 = {"ctypes.c_ssize_t", "ctypes.c_int64"}  # strides may be negative
C_LENGTH_TYPES = {"size_t", "uintptr_t", "uint64_t", "int64_t"}
C_STRIDE_TYPES = {"ptrdiff_t", "intptr_t", "int64_t"}
# (function, parameter) -> why it may stay narrow.
EXCEPTIONS = {
    ("process_array", "length"): "the integration guide's seed signature process_array(double *, int), kept "
    "as is; the package calls it only for at most INT_MAX elements",
}


def _source(node: ast.AST) -> str:
    return ast.unparse(node)


def _bindings_declarations():
    """From the generated file: functions {name: (restype, [argtypes])}, structs {name:
    [(field, type)]} and callback types {name: [argtypes]}, as source text."""
    tree = ast.parse(BINDINGS.read_text())
    functions, structs, callbacks = {}, {}, {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.Assign) and _source(item.targets[0]) == "_fields_":
                    structs[node.name] = [(elt.elts[0].value, _source(elt.elts[1])) for elt in item.value.elts]
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and _source(node.value.func) == "ctypes.CFUNCTYPE"
        ):
            callbacks[_source(node.targets[0])] = [_source(a) for a in node.value.args[1:]]
        elif isinstance(node, ast.Assign) and _source(node.targets[0]) == "FUNCTIONS":
            for key, value in zip(node.value.keys, node.value.values):
                restype, argtypes = value.elts
                functions[key.value] = (_source(restype), [_source(a) for a in argtypes.elts])
    return functions, structs, callbacks


def _header_declarations():
    """From include/oxbridge.h: functions {name: [(param, c type, is_pointer)]} and
    callback typedefs {name: [(param, c type)]}."""
    import pycparser.c_ast as c

    def type_name(node):
        pointer = isinstance(node, c.PtrDecl)
        while isinstance(node, (c.PtrDecl, c.TypeDecl)):
            node = node.type
        name = " ".join(node.names) if isinstance(node, c.IdentifierType) else getattr(node, "name", "?")
        return name, pointer

    def params(func):
        out = []
        for p in func.args.params if func.args else []:
            name, pointer = type_name(p.type)
            if name == "void" and not pointer:
                continue  # (void)
            out.append((p.name or "", name, pointer))
        return out

    functions, callbacks = {}, {}
    for node in cheader.parse().ext:
        if isinstance(node, c.Decl) and isinstance(node.type, c.FuncDecl):
            functions[node.name] = params(node.type)
        elif (
            isinstance(node, c.Typedef) and isinstance(node.type, c.PtrDecl) and isinstance(node.type.type, c.FuncDecl)
        ):
            callbacks[node.name] = params(node.type.type)
    return functions, callbacks


def test_the_parsers_see_every_declaration():
    functions, structs, callbacks = _bindings_declarations()
    assert set(functions) == set(_bindings.FUNCTIONS)
    assert {"oxb_view", "oxb_view2d", "oxb_stats", "oxb_open_options", "oxb_array_info"} <= set(structs)
    assert {"oxb_progress_fn", "oxb_map_fn"} <= set(callbacks)
    header, header_callbacks = _header_declarations()
    assert set(header) == set(functions)
    assert set(header_callbacks) == set(callbacks)


def test_every_length_argument_is_64_bit():
    functions, structs, callbacks = _bindings_declarations()
    header, header_callbacks = _header_declarations()
    checked, problems = [], []

    def check(where, name, bound, c_type, pointer):
        if not LENGTH_NAME.search(name):
            return
        checked.append(where)
        if where in EXCEPTIONS:
            return
        stride = "stride" in name
        if pointer:
            # Out-parameters and arrays of lengths: the pointee must be 64-bit.
            if c_type not in (C_STRIDE_TYPES if stride else C_LENGTH_TYPES):
                problems.append(f"{where}: points to {c_type}")
            return
        if c_type not in (C_STRIDE_TYPES if stride else C_LENGTH_TYPES):
            problems.append(f"{where}: {c_type} in the header")
        if bound not in (SIGNED_64 if stride else SIXTY_FOUR):
            problems.append(f"{where}: {bound} in _bindings.py")

    for fname, params in header.items():
        _, argtypes = functions[fname]
        assert len(argtypes) == len(params), fname
        for (pname, c_type, pointer), bound in zip(params, argtypes):
            check((fname, pname), pname, bound, c_type, pointer)
        if fname.startswith("oxb_num_") or fname.endswith(("_num_rows", "_num_columns")):
            out = [p for p in params if p[0] == "out"]
            assert out and out[0][1] in C_LENGTH_TYPES, f"{fname} writes its count as {out}"
            checked.append((fname, "*out"))
    # Return values that are counts.
    for fname, (restype, _) in functions.items():
        if restype not in ("oxb_status", "ctypes.c_char_p") and LENGTH_NAME.search(fname.replace("oxb_", "")):
            checked.append((fname, "return"))
            if restype not in SIXTY_FOUR:
                problems.append(f"{fname} returns {restype}")
    for sname, fields in structs.items():
        for fname, bound in fields:
            if LENGTH_NAME.search(fname):
                checked.append((sname, fname))
                if bound not in (SIGNED_64 if "stride" in fname else SIXTY_FOUR):
                    problems.append(f"{sname}.{fname}: {bound}")
    for cname, args in callbacks.items():
        for (pname, c_type, pointer), bound in zip(header_callbacks[cname], args):
            check((cname, pname), pname, bound, c_type, pointer)
    assert not problems, problems
    # The net is wide enough: these must all have been looked at.
    for must in [
        ("oxb_view", "len"),
        ("oxb_view", "stride"),
        ("oxb_view2d", "rows"),
        ("oxb_view2d", "col_stride"),
        ("oxb_stats", "count"),
        ("oxb_open_options", "columns"),
        ("oxb_open_options", "null_values_len"),
        ("oxb_array_info", "rows"),
        ("oxb_column_description", "max_len"),
        ("oxb_error_detail", "line"),
        ("oxb_expression_info", "num_variables"),
        ("oxb_dataset_describe", "columns_len"),
        ("oxb_dataset_read_rows", "max_rows"),
        ("oxb_dataset_read_rows", "rows_read"),
        ("oxb_dataset_read_rows", "cursor"),
        ("oxb_dataset_column_info", "index"),
        ("oxb_histogram", "bins"),
        ("oxb_histogram", "counts"),
        ("oxb_quantile", "q_len"),
        ("oxb_stats_axis", "out_len"),
        ("oxb_expression_evaluate", "inputs_len"),
        ("oxb_set_num_threads", "threads"),
        ("oxb_progress_fn", "done"),
        ("oxb_progress_fn", "total"),
        ("oxb_dataset_num_rows", "*out"),
        ("oxb_live_handles", "return"),
        ("process_array", "length"),
    ]:
        assert must in checked, f"{must} was not recognised as a length"
    R.record(
        "default",
        "lengths",
        "lengths.declarations_checked",
        len(checked),
        "declarations",
        narrow_exceptions=len(EXCEPTIONS),
    )


def test_the_only_narrow_length_is_the_seed_and_it_is_used_within_int_max():
    """The seed's int length: the package takes it only up to INT_MAX elements, and a
    negative length is refused, not taken as a huge size_t."""
    from oxbridge import _process

    assert _process._INT_MAX == 2**31 - 1
    assert lib_argtypes("process_array") == [ctypes.c_void_p, ctypes.c_int]
    a = np.ones(4)
    status = oxbridge._loader.lib.process_array(a.ctypes.data, -1)
    assert status == -_bindings.OXB_INVALID_ARGUMENT and (a == 1).all()
    assert b"negative" in oxbridge._loader.lib.oxb_last_error_message()


def lib_argtypes(name):
    return list(getattr(oxbridge._loader.lib, name).argtypes)


# ---------------------------------------------------------------------------------------
# More than 2^31 elements
# ---------------------------------------------------------------------------------------

BIG = 2**31 + 5  # elements
PAST = [2**31, 2**31 + 2, 2**31 + 4]  # where the checked values go


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _mem_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def test_stats_of_more_than_2_31_float32_elements_on_lazily_allocated_zeros():
    before = _rss()
    a = np.zeros(BIG, dtype=np.float32)  # 8 GiB of address space, nothing resident yet
    a[PAST[0]], a[PAST[1]], a[PAST[2]] = 3.0, 7.0, -2.0
    started = time.monotonic()
    s = oxbridge.stats(a)
    seconds = time.monotonic() - started
    assert (s.count, s.nan_count) == (BIG, 0)
    assert (s.min, s.max, s.sum) == (-2.0, 7.0, 8.0)
    assert s.mean == pytest.approx(8.0 / BIG, rel=1e-12)
    grew = _rss() - before
    del a
    assert grew < 256 << 20, f"reading zero pages made {grew >> 20} MiB resident"
    R.record(
        "default",
        "lengths",
        "lengths.stats_2_31_plus_5_float32",
        round(seconds, 3),
        "s",
        rss_growth_mib=round(grew / 2**20, 1),
    )


def _bigmem(request, gib: int) -> None:
    """Skips unless the bigmem tests were asked for and `gib` GiB are available."""
    selected = os.environ.get("OXBRIDGE_BIGMEM", "") not in ("", "0") or re.search(
        r"(?<!not )\bbigmem\b", request.config.getoption("markexpr", "") or ""
    )
    if not selected:
        pytest.skip(f"bigmem: run with -m bigmem or OXBRIDGE_BIGMEM=1 (needs ~{gib} GiB free)")
    free = _mem_available()
    if free < gib << 30:
        pytest.skip(f"bigmem: needs ~{gib} GiB available, this machine has {free / 2**30:.1f} GiB")


@pytest.mark.bigmem
def test_bigmem_float64_process_array_evaluate_and_stats_past_2_31(request):
    _bigmem(request, 17)
    a = np.zeros(BIG)  # 16 GiB
    a[PAST[0]], a[PAST[1]], a[PAST[2]] = 1.5, 4.0, -3.0
    a[2**31 - 2], a[2**31 - 1] = 10.0, 20.0  # the last element the seed path may touch, and the next
    # Exactly INT_MAX elements: the seed process_array(double *, int) fast path.
    head = a[: 2**31 - 1]
    assert oxbridge.process_array(head) is head
    assert (a[2**31 - 2], a[2**31 - 1], a[PAST[1]]) == (20.0, 20.0, 4.0)
    # More than INT_MAX: the oxb_view path (size_t length).
    oxbridge.process_array(a)
    assert (a[2**31 - 2], a[2**31 - 1]) == (40.0, 40.0)
    assert [a[i] for i in PAST] == [3.0, 8.0, -6.0] and a[PAST[0] + 1] == 0.0
    out = oxbridge.evaluate("2*x + 1", x=a, out=a)  # in place, no second 16 GiB
    assert out is a
    assert [a[i] for i in PAST] == [7.0, 17.0, -11.0] and a[PAST[0] + 1] == 1.0 and a[0] == 1.0
    s = oxbridge.stats(a)
    assert s.count == BIG and (s.min, s.max) == (-11.0, 81.0)
    assert s.sum == BIG + (81 - 1) * 2 + (7 - 1) + (17 - 1) + (-11 - 1)
    oxbridge.process_array(a, func="x - 1")  # the expression path in place
    assert a[PAST[1]] == 16.0 and a[PAST[0] + 1] == 0.0 and a[-1] == -12.0


@pytest.mark.bigmem
def test_bigmem_histogram_accumulator_and_int32_sums_past_2_31(request):
    _bigmem(request, 9)
    a = np.zeros(BIG, dtype=np.float32)
    a[PAST[1]], a[PAST[2]] = 7.0, -2.0
    counts, edges = oxbridge.histogram(a, bins=3, range=(-3, 9))
    assert counts.tolist() == [BIG - 1, 0, 1] and edges.tolist() == [-3.0, 1.0, 5.0, 9.0]
    with oxbridge.Accumulator() as acc:
        acc.push(a)
        acc.push(a[PAST[0] :])
        s = acc.stats()
    assert (s.count, s.sum) == (BIG + 5, 10.0)
    del a
    i = np.zeros(BIG, dtype=np.int32)
    i[PAST[1]], i[PAST[2]] = 2**31 - 1, -(2**31)
    i[: 2**20] = 2**31 - 1  # makes the exact sum need more than 52 bits
    s = oxbridge.stats(i)
    assert s.count == BIG and type(s.sum) is int
    assert s.sum == (2**20 + 1) * (2**31 - 1) - 2**31
    assert (s.min, s.max) == (-(2**31), 2**31 - 1)


@pytest.mark.bigmem
def test_bigmem_raw_file_of_more_than_2_31_bytes(request, tmp_path):
    _bigmem(request, 3)
    path = tmp_path / "big.u8"
    with open(path, "wb") as f:
        f.truncate(BIG)  # sparse: zeros
        for k, at in enumerate(PAST):
            f.seek(at)
            f.write(bytes([10 + k]))
    with oxbridge.Dataset.open(path, dtype="uint8") as ds:
        assert ds.num_rows == BIG
        d = ds.describe()["0"]
        assert (d.count, d.sum, d.min, d.max) == (BIG, 10 + 11 + 12, 0, 12)
        last = None
        for last in ds.iter_chunks(rows=2**30):
            pass
        assert last is not None and last.tolist() == [10, 0, 11, 0, 12]


# ---------------------------------------------------------------------------------------
# Headers that claim 2^60 elements
# ---------------------------------------------------------------------------------------


def _npy(path: Path, descr: str, shape: str, version: int = 1, data: bytes = b"\0" * 64) -> Path:
    """A small .npy file whose header says whatever it is told."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    prefix = 10 if version == 1 else 12
    header += b" " * ((-(prefix + len(header) + 1)) % 64) + b"\n"
    length = len(header).to_bytes(2 if version == 1 else 4, "little")
    path.write_bytes(b"\x93NUMPY" + bytes([version, 0]) + length + header + data)
    return path


_CHILD = r"""
import json, sys, oxbridge
path, options = sys.argv[1], json.loads(sys.argv[2])
try:
    with oxbridge.Dataset.open(path, **options) as ds:
        out = {"outcome": "opened", "columns": len(ds.columns), "rows": ds.num_rows}
except Exception as error:
    out = {"outcome": type(error).__name__, "message": str(error),
           "classes": [c.__name__ for c in type(error).__mro__]}
print(json.dumps(out))
"""

HUGE = 2**60


def _huge_cases(tmp: Path):
    """(name, path, options, expected class, words the message must hold)."""
    sparse = tmp / "sparse_wide.npy"
    _npy(sparse, "|u1", f"(1, {2**36})", data=b"")
    with open(sparse, "r+b") as f:
        f.truncate(os.path.getsize(sparse) + 2**36)  # 64 GiB, sparse: big enough for the claim
    empty = tmp / "empty.raw"
    empty.write_bytes(b"")
    small = tmp / "small.raw"
    small.write_bytes(bytes(64))
    return [
        (
            "npy 1-D 2^60 float64",
            _npy(tmp / "long.npy", "<f8", f"({HUGE},)"),
            {},
            "DataFormatError",
            ["truncated", str(HUGE)],
        ),
        (
            "npy 2^60 x 2^4 (bytes overflow 64 bits)",
            _npy(tmp / "overflow.npy", "<f8", f"({HUGE}, 16)"),
            {},
            "DataFormatError",
            ["more than any file can hold"],
        ),
        (
            "npy 2^31 x 2^31 uint8",
            _npy(tmp / "square.npy", "|u1", f"({2**31}, {2**31})"),
            {},
            "DataFormatError",
            ["truncated"],
        ),
        (
            "npy 2^32 x 2^32 uint8 (bytes overflow 64 bits)",
            _npy(tmp / "square64.npy", "|u1", f"({2**32}, {2**32})"),
            {},
            "DataFormatError",
            ["more than any file can hold"],
        ),
        ("npy 1-D 2^60 int8", _npy(tmp / "long8.npy", "|i1", f"({HUGE},)"), {}, "DataFormatError", ["truncated"]),
        (
            "npy 0 x 2^60 (no data, 2^60 columns)",
            _npy(tmp / "wide.npy", "<f8", f"(0, {HUGE})"),
            {},
            "DataFormatError",
            ["columns", "at most"],
        ),
        ("npy 1 x 2^36 uint8 on a 64 GiB sparse file", sparse, {}, "DataFormatError", ["columns", "at most"]),
        (
            "npy shape past 2^64",
            _npy(tmp / "past64.npy", "<f8", f"({2**64 + 1},)"),
            {},
            "DataFormatError",
            ["not a tuple of sizes"],
        ),
        ("npy v2 header length 2^32 - 1", _npy(tmp / "v2.npy", "<f8", "(3,)", version=2), {}, None, []),
        (
            "npy 3-D 2^20 cubed",
            _npy(tmp / "cube.npy", "<f8", f"({2**20}, {2**20}, {2**20})"),
            {},
            "UnsupportedError",
            ["3-D"],
        ),
        (
            "raw float64 columns=2^63",
            small,
            {"dtype": "float64", "columns": 2**63},
            "InvalidArgumentError",
            ["columns", "at most"],
        ),
        (
            "raw uint8 columns=2^64-1",
            small,
            {"dtype": "uint8", "columns": 2**64 - 1},
            "InvalidArgumentError",
            ["columns", "at most"],
        ),
        (
            "raw uint8 columns=2^40 on an empty file",
            empty,
            {"dtype": "uint8", "columns": 2**40},
            "InvalidArgumentError",
            ["columns", "at most"],
        ),
        (
            "raw uint8 columns=2^20 + 1",
            small,
            {"dtype": "uint8", "columns": 2**20 + 1},
            "InvalidArgumentError",
            ["at most 1048576"],
        ),
        (
            "raw int32 columns=32 (a row longer than the file)",
            small,
            {"dtype": "int32", "columns": 32},
            "DataFormatError",
            ["not a whole number of rows"],
        ),
        (
            "raw columns=2^64 (too big for the option)",
            small,
            {"dtype": "uint8", "columns": 2**64},
            "ValueError",
            ["2**64"],
        ),
    ]


def test_headers_claiming_2_60_elements_give_clear_errors_in_a_child(tmp_path):
    cases = _huge_cases(tmp_path)
    # The v2 header claims 2^32 - 1 header bytes: patch the length field after writing.
    v2 = next(c[1] for c in cases if c[0].startswith("npy v2"))
    raw = bytearray(v2.read_bytes())
    raw[8:12] = (2**32 - 1).to_bytes(4, "little")
    v2.write_bytes(bytes(raw))
    failures = []
    started = time.monotonic()
    for name, path, options, expected, words in cases:
        child = run_child(python("-c", _CHILD, str(path), json.dumps(options)), timeout=60)
        if child.returncode != 0:
            failures.append(f"{name}: the child died (returncode {child.returncode}): {child.stderr[-800:]}")
            continue
        out = json.loads(child.stdout.strip().splitlines()[-1])
        if name.startswith("npy v2"):
            expected, words = "DataFormatError", ["header claims 4294967295 bytes"]
        if out["outcome"] != expected:
            failures.append(f"{name}: {out}")
            continue
        if "ValueError" not in out["classes"] and expected != "UnsupportedError":
            failures.append(f"{name}: {expected} is not a ValueError")
        missing = [w for w in words if w not in out["message"]]
        if missing or (expected != "ValueError" and str(path) not in out["message"]):
            failures.append(f"{name}: the message lacks {missing or 'the path'}: {out['message']}")
    assert not failures, "\n".join(failures)
    assert time.monotonic() - started < 60
    R.record("default", "lengths", "lengths.huge_header_cases", len(cases), "cases", child_deaths=0)
