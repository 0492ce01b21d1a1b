"""lua5.4's limits on a function, reported at load with lua5.4's words.

200 active locals (MAXVARS), 255 upvalues (MAXUPVAL) and 255 registers
(MAXREGS, which a call's arguments fill).  luapy's message is lua5.4's up
to its "near" token, which luapy gives only where the parser meets the
limit (a single ``local`` list longer than 200 names).  The upvalue limit
is found by the resolver after parsing, at the name that needs one; lua5.4
finds it at the token after that name, which may be on a later line.
"""

from __future__ import annotations

import pytest

from luapy import LuaRuntime, LuaSyntaxError

try:
    from lupa import lua54
except ImportError:  # pragma: no cover - lupa is a test-only oracle
    lua54 = None


def load_error(source: str) -> str | None:
    """The message ``load`` gives ``source`` in luapy, or None if it loads."""
    try:
        LuaRuntime().compile(source, name="=c")
    except LuaSyntaxError as error:
        return str(error)
    return None


def reference_error(source: str) -> str | None:
    if lua54 is None:
        pytest.skip("lupa (real Lua 5.4) is not installed: no reference to compare with")
    message = lua54.LuaRuntime(encoding=None).eval("function(s) local f, e = load(s, '=c') return e end")(
        source.encode())
    return None if message is None else message.decode()


def upvalue_heavy(count: int) -> str:
    """errors.lua's upvalue test: a function using ``2 * count + 2`` upvalues."""
    a = ", ".join(f"a{j}" for j in range(1, count + 1))
    b = ", ".join(f"b{j}" for j in range(1, count + 1))
    uses = "".join(f"+a{j}+b{j}" for j in range(1, count + 1))
    return (f"local function fooA ()\n  local {a}, b,c\nlocal function fooB ()\n  local {b}, b\n"
            f"function fooC () return b+c{uses}\nend  end end")


CASES = {
    "call arguments at the limit": "a = f(x" + ",x" * 252 + ")",
    "call arguments past the limit": "a = f(x" + ",x" * 253 + ")",
    "a method call's self counts": "a = o:m(x" + ",x" * 252 + ")",
    "locals take registers too": "local y; a = f(x" + ",x" * 252 + ")",
    "200 locals": "local " + ", ".join(f"a{j}" for j in range(200)),
    "201 locals in one list": "\nfunction foo ()\n  local " + ", ".join(f"a{j}" for j in range(300)) + ", b\n",
    "201 locals over several statements": "local " + ", ".join(f"a{j}" for j in range(150)) + "\n"
                                          "do local " + ", ".join(f"b{j}" for j in range(51)) + " end",
    "255 upvalues": upvalue_heavy(126).replace("+b126", ""),
    "256 upvalues": upvalue_heavy(127),
}


@pytest.mark.parametrize("source", CASES.values(), ids=CASES.keys())
def test_limits_as_lua54(source):
    mine, reference = load_error(source), reference_error(source)
    if reference is None:
        assert mine is None
        return
    assert mine is not None
    if "upvalues" in reference:
        mine, reference = mine.split(": ", 1)[1], reference.split(": ", 1)[1]
    assert reference.startswith(mine), (mine, reference)
