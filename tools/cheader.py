"""Reading include/oxbridge.h mechanically: cffi cdefs, a pycparser AST, the ABI hash.

cffi's ABI mode and pycparser cannot run the C preprocessor, so `cdefs()` evaluates the
header's few directives itself (as a C99 compiler would) and keeps only integer
`#define`s, which cffi accepts. Used by tools/gen_bindings.py and the tests.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "include" / "oxbridge.h"

# What a C99 compiler (not C++) would see; undefined names evaluate to 0 as in C.
_PREDEFINED = {"__STDC_VERSION__": "199901L"}
_INT_DEFINE = re.compile(r"#define\s+(\w+)\s+\(?\s*(-?\d+)\s*\)?\s*$")
# Only for parsing with pycparser; cffi knows these types already.
_PARSE_PRELUDE = """
typedef unsigned long size_t; typedef long ptrdiff_t;
typedef unsigned char uint8_t; typedef signed char int8_t;
typedef unsigned int uint32_t; typedef int int32_t;
typedef unsigned long long uint64_t; typedef long long int64_t;
typedef unsigned long uintptr_t; typedef long intptr_t; typedef _Bool bool;
"""


def strip_comments(text: str) -> str:
    """Replaces each comment by a space, scanning left to right like build.rs does."""
    out = []
    i = 0
    while i < len(text):
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            out.append(" ")
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            out.append(" ")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def header_hash(text: str) -> int:
    """FNV-1a 64 of the header's tokens without comments; must match build.rs."""
    h = 0xCBF29CE484222325
    for byte in " ".join(strip_comments(text).split()).encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _evaluate(condition: str, defined: dict[str, str]) -> bool:
    expr = re.sub(r"defined\s*\(\s*(\w+)\s*\)", lambda m: "1" if m.group(1) in defined else "0", condition)
    expr = re.sub(r"defined\s+(\w+)", lambda m: "1" if m.group(1) in defined else "0", expr)
    expr = re.sub(r"\b([A-Za-z_]\w*)\b", lambda m: defined.get(m.group(1), "0") or "1", expr)
    expr = re.sub(r"(\d+)[LlUu]+\b", r"\1", expr)
    expr = expr.replace("||", " or ").replace("&&", " and ")
    expr = re.sub(r"!(?!=)", " not ", expr)
    return bool(eval(expr, {"__builtins__": {}}))  # our own header's directives, no builtins


def cdefs(text: str | None = None) -> str:
    """The header as cffi `cdef` text: directives evaluated, integer #defines kept."""
    if text is None:
        text = HEADER.read_text()
    defined = dict(_PREDEFINED)
    stack: list[tuple[bool, bool]] = []  # (this branch active, some branch taken)
    active = True
    out = []
    for line in strip_comments(text).splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            if active and stripped:
                out.append(line)
            continue
        directive, _, rest = stripped[1:].strip().partition(" ")
        rest = rest.strip()
        if directive in ("if", "ifdef", "ifndef"):
            if directive == "ifdef":
                cond = rest in defined
            elif directive == "ifndef":
                cond = rest not in defined
            else:
                cond = _evaluate(rest, defined)
            stack.append((active, cond))
            active = active and cond
        elif directive in ("else", "elif"):
            outer, taken = stack[-1]
            cond = (not taken) and (directive == "else" or _evaluate(rest, defined))
            stack[-1] = (outer, taken or cond)
            active = outer and cond
        elif directive == "endif":
            active = stack.pop()[0]
        elif not active or directive == "include":
            continue
        elif directive == "define":
            name = rest.split("(")[0].split()[0]
            value = rest[len(name) :].strip()
            defined[name] = value
            if _INT_DEFINE.match(stripped.replace("# define", "#define")):
                out.append(f"#define {name} {_INT_DEFINE.match(stripped).group(2)}")
        else:
            raise ValueError(f"unexpected directive in header: {line!r}")
    return "\n".join(out) + "\n"


def parse(text: str | None = None):
    """A pycparser AST of the header's declarations (integer defines dropped)."""
    import pycparser

    body = "\n".join(line for line in cdefs(text).splitlines() if not line.startswith("#"))
    return pycparser.CParser().parse(_PARSE_PRELUDE + body, filename="oxbridge.h")


def int_defines(text: str | None = None) -> dict[str, int]:
    """The header's integer constants, from #defines and enums."""
    import pycparser.c_ast as ast

    values = {}
    for line in cdefs(text).splitlines():
        m = _INT_DEFINE.match(line)
        if m:
            values[m.group(1)] = int(m.group(2))
    for node in parse(text).ext:
        t = node.type if isinstance(node, ast.Decl) else None
        if isinstance(t, ast.Enum) and t.values:
            for e in t.values.enumerators:
                values[e.name] = int(e.value.value)
    return values
