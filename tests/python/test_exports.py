"""The export audit: what the shared library exports is exactly the header's functions and
the checked-in list tests/exported_symbols.txt, and every export goes through the panic
guard. A new export therefore needs `make header` and a line in that list, and cannot
skip the guard by accident."""

from __future__ import annotations

import re
import shutil
import sys

import pytest

from oxbridge import _loader

from _helpers import run_child
from _paths import ROOT

import cheader

SYMBOL_LIST = ROOT / "tests" / "exported_symbols.txt"

# Exports allowed to run without the guard, each with the reason it cannot panic.
# Empty on purpose: even the constant getters (oxb_version, oxb_abi_version,
# oxb_header_hash) go through guard::value, which costs nanoseconds and spares everyone
# from re-proving "cannot panic" after each edit. An entry here must say why, e.g.
#   "oxb_abi_version": "returns a constant; no allocation, no indexing, no arithmetic",
UNGUARDED: dict[str, str] = {}

# Callbacks of the operating system's, not of a caller's: they run where the guard cannot
# (catch_unwind allocates, which a signal handler or a fork handler must not), so they are
# written not to panic at all.
UNGUARDED_CALLBACKS: dict[tuple[str, str], str] = {
    ("src/dataset/sigbus.rs", "on_sigbus"): "the SIGBUS handler: async-signal-safe calls only, no allocation",
    ("src/runtime/fork_lock.rs", "prepare"): "pthread_atfork's prepare: spins on atomics, no allocation",
    ("src/runtime/fork_lock.rs", "release"): "pthread_atfork's parent/child: stores to atomics, no allocation",
}

# Symbols some linkers define in every shared object; not part of any API.
LINKER_SYMBOLS = {"_init", "_fini", "_edata", "_end", "__bss_start"}


def _diff(what: str, actual: set[str], expected: set[str], fix: str) -> str:
    extra, missing = sorted(actual - expected), sorted(expected - actual)
    lines = [f"{what}:"]
    lines += [f"  + {name}  (exported, not expected)" for name in extra]
    lines += [f"  - {name}  (expected, not exported)" for name in missing]
    lines.append(fix)
    return "\n".join(lines)


@pytest.fixture(scope="module")
def dynamic_symbols() -> dict[str, str]:
    """name -> nm type letter of every defined symbol in the library's dynamic table."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the export audit reads ELF dynamic symbols (Linux)")
    nm = shutil.which("nm")
    if nm is None:
        pytest.fail("nm (binutils) not found; it comes with the C toolchain")
    child = run_child([nm, "-D", "--defined-only", str(_loader.path)], timeout=60)
    assert child.returncode == 0, child.describe()
    out = child.stdout
    symbols = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 2:
            name = fields[-1].split("@")[0]  # versioned symbols print as name@@VERSION
            symbols[name] = fields[-2]
    return symbols


def _text_symbols(symbols: dict[str, str]) -> set[str]:
    return {name for name, kind in symbols.items() if kind == "T"}


def _listed() -> set[str]:
    lines = SYMBOL_LIST.read_text().splitlines()
    names = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert names == sorted(set(names)), f"{SYMBOL_LIST.name} must be sorted, one name a line, no repeats"
    return set(names)


def _header_functions() -> set[str]:
    import pycparser.c_ast as ast

    return {
        node.name for node in cheader.parse().ext if isinstance(node, ast.Decl) and isinstance(node.type, ast.FuncDecl)
    }


def test_library_exports_exactly_the_checked_in_list(dynamic_symbols):
    assert _text_symbols(dynamic_symbols) == _listed(), _diff(
        f"{_loader.path} exports differ from tests/exported_symbols.txt",
        _text_symbols(dynamic_symbols),
        _listed(),
        "A new or removed export must be in include/oxbridge.h (`make header`) and in "
        "tests/exported_symbols.txt; anything else (a Rust std or rayon symbol, a test hook) "
        "must not be exported at all.",
    )


def test_header_declares_exactly_the_checked_in_list():
    assert _header_functions() == _listed(), _diff(
        "functions declared in include/oxbridge.h differ from tests/exported_symbols.txt",
        _header_functions(),
        _listed(),
        "Run `make header` after changing src/ffi, then update tests/exported_symbols.txt.",
    )


def test_library_exports_no_data_and_nothing_outside_the_c_namespace(dynamic_symbols):
    """No exported variables, no Rust std/rayon internals, only oxb_* (and the seed's
    process_array)."""
    others = {
        f"{name} ({kind})" for name, kind in dynamic_symbols.items() if kind != "T" and name not in LINKER_SYMBOLS
    }
    assert not others, f"{_loader.path} exports non-function symbols: {sorted(others)}"
    stray = {n for n in _text_symbols(dynamic_symbols) if not n.startswith("oxb_") and n != "process_array"}
    assert not stray, f"exports outside the oxb_ namespace: {sorted(stray)}"
    assert not any(n.startswith("oxb_test_") for n in dynamic_symbols), "test hooks in a default build"


# ---- every export goes through the guard (a static check of src/) ------------------

_CHAR = re.compile(r"b?'(?:\\u\{[0-9a-fA-F]+\}|\\.|[^\\'\n])'")
_RAW_STRING = re.compile(r'b?r(#*)"')


def _code_only(text: str) -> str:
    """Rust source with comments removed and string/char literals emptied, so braces and
    parentheses can be counted (lifetimes like 'a are left alone)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(" ")
        elif (m := _RAW_STRING.match(text, i)) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = text.find('"' + m.group(1), m.end())
            i = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""')
        elif text[i] == '"' or text.startswith('b"', i) and (i == 0 or not text[i - 1].isalnum()):
            i += 1 if text[i] == '"' else 2
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif (m := _CHAR.match(text, i)) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            i = m.end()
            out.append("' '")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _matching(code: str, start: int) -> int:
    """Index just past the bracket that closes the one at `start`."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    stack = []
    for i in range(start, len(code)):
        c = code[i]
        if c in pairs:
            stack.append(pairs[c])
        elif c in ")}]":
            assert stack and stack.pop() == c, f"unbalanced {c!r} at {i}"
            if not stack:
                return i + 1
    raise AssertionError("unclosed bracket")


_EXPORT_ATTR = re.compile(r"#\[\s*(?:unsafe\s*\(\s*)?(?:no_mangle|export_name\s*=)")
_FN = re.compile(r"\bfn\s+(\w+)")
_GUARD_START = re.compile(r"(?:let\s+\w+(?:\s*:\s*[\w:]+)?\s*=\s*)?guard::(?:call|value|callback)\s*\(")
# Every `extern "C" fn` with a body: exports, and the callbacks we hand to foreign code.
_EXTERN_FN = re.compile(r'\bextern\s+""\s+fn\s+(\w+)')
_CONST_ITEMS = re.compile(r"^(?:(?:static|const)\s+\w+\s*:[^;=]*=[^;]*;\s*)+")
# After the guard returns, the body may only convert its result: no calls, method calls,
# macros or indexing, which are what could panic outside the guard.
_MAY_PANIC = re.compile(r"[\w)\]>]\s*!?\s*[(\[]|\.\s*\w+\s*(?:::<[^>]*>)?\s*\(")


def _exports() -> list[tuple[str, str, str]]:
    """(file, function name, body) of every #[no_mangle]/#[export_name] item in src/."""
    found = []
    for path in sorted((ROOT / "src").rglob("*.rs")):
        code = _code_only(path.read_text())
        for attr in _EXPORT_ATTR.finditer(code):
            rel = path.relative_to(ROOT).as_posix()
            item = re.match(
                r"(?:\s*#\[[^\]]*\])*\s*(?:pub(?:\([\w:]+\))?\s+)?(\w+)", code[attr.end() :].split("]", 1)[1]
            )
            assert item and item.group(1) in ("unsafe", "extern", "fn"), (
                f"{rel}: an exported item that is not a function ({item.group(1) if item else '?'}): "
                "exported statics are not part of the C ABI"
            )
            fn = _FN.search(code, attr.end())
            brace = code.index("{", fn.end())
            found.append((rel, fn.group(1), code[brace + 1 : _matching(code, brace) - 1]))
    return found


def _guard_problem(body: str) -> str | None:
    """Why `body` does not run entirely inside the guard, or None if it does."""
    # `static`/`const` items are evaluated at compile time (a panic there is a build
    # error), so they may come first; they are not code that runs outside the guard.
    body = _CONST_ITEMS.sub("", body.strip(), count=1)
    start = _GUARD_START.match(body)
    if not start:
        return "does not start with guard::call(...) or guard::value(...)"
    rest = body[_matching(body, start.end() - 1) :]
    if _MAY_PANIC.search(rest):
        return f"does work after the guard returns: {' '.join(rest.split())!r}"
    return None


def _callbacks() -> list[tuple[str, str, str]]:
    """(file, name, body) of every `extern "C" fn` defined in src/ that is not exported:
    the callbacks handed to foreign code (Arrow's release and stream callbacks)."""
    exported = {(f, name) for f, name, _ in _exports()}
    found = []
    for path in sorted((ROOT / "src").rglob("*.rs")):
        code = _code_only(path.read_text())
        rel = path.relative_to(ROOT).as_posix()
        for fn in _EXTERN_FN.finditer(code):
            brace = code.find("{", fn.end())
            semicolon = code.find(";", fn.end())
            if brace < 0 or 0 <= semicolon < brace or (rel, fn.group(1)) in exported:
                continue  # a declaration (a type or a foreign function), or an export
            found.append((rel, fn.group(1), code[brace + 1 : _matching(code, brace) - 1]))
    return found


def test_every_callback_runs_inside_the_guard():
    """A callback we hand out (Arrow's release, get_next...) is called by foreign code:
    a panic unwinding out of it aborts the process, so it runs in guard::callback."""
    callbacks = _callbacks()
    names = {name for _, name, _ in callbacks}
    assert {"release_schema", "release_array", "release_stream", "get_next", "get_schema"} <= names, names
    problems = [
        f"  {f}: {name} {problem}"
        for f, name, body in callbacks
        if (f, name) not in UNGUARDED_CALLBACKS and (problem := _guard_problem(body))
    ]
    assert not problems, "every callback must run its whole body inside guard::callback:\n" + "\n".join(problems)


def test_exports_live_in_src_ffi_only():
    outside = [(f, name) for f, name, _ in _exports() if not f.startswith("src/ffi/")]
    assert not outside, f"exports outside src/ffi (the only place for the C ABI): {outside}"


def test_every_export_runs_inside_the_guard():
    exports = _exports()
    names = {name for _, name, _ in exports}
    assert _listed() <= names, f"listed exports not found in src/: {sorted(_listed() - names)}"
    problems = [
        f"  {f}: {name} {problem}"
        for f, name, body in exports
        if name not in UNGUARDED and (problem := _guard_problem(body))
    ]
    assert not problems, (
        "every export must run its whole body inside guard::call or guard::value (src/ffi/guard.rs), "
        "which turns a panic into OXB_PANIC instead of undefined behaviour:\n" + "\n".join(problems)
    )
    for name, reason in UNGUARDED.items():
        assert name in names, f"UNGUARDED lists {name}, which is not an export"
        assert reason.strip(), f"UNGUARDED[{name!r}] needs its reason"


def test_the_guard_check_sees_violations():
    """The static check is only worth something if it fails on the mistakes it targets."""
    assert _guard_problem("guard::call(|| { work()?; Ok(()) })") is None
    assert _guard_problem("let status = guard::call(|| Ok(()));\n -(status as c_int)") is None
    assert _guard_problem("let x = compute(); guard::call(|| Ok(()))") is not None
    assert _guard_problem("guard::value(0, || 1) + table[3]") is not None
    assert _guard_problem("let s = guard::call(|| Ok(())); s.to_string()") is not None
    assert _guard_problem("VERSION.as_ptr().cast()") is not None
    assert _guard_problem('static V: &str = "1\\0";\n const H: u64 = parse(env!("H")); guard::value(H, || H)') is None
    assert _guard_problem("static V: u8 = 0; let x = f(); guard::value(0, || 1)") is not None
    code = _code_only("let s = \"{ not a brace\"; let c = '{'; // }\nfn f<'a>(x: &'a str) {}")
    assert code.count("{") == code.count("}") == 1
