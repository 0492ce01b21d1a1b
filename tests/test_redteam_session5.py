"""Red-team findings of session 5 (deep nesting: hoisted loops).

Each test failed before its fix.
"""

from __future__ import annotations

import pytest

from luapy import LuaRuntime
from luapy.options import Limits


def _deep_loops(depth: int, body: str) -> str:
    """``body`` inside ``depth`` nested numeric loops (past 20 the loops are
    hoisted into functions of their own)."""
    return ("".join(f"for i{k} = 1, 1 do\n" for k in range(depth)) + body + "\n"
            + "end\n" * depth)


# -- the collector and hoisted loops ----------------------------------------------
# A collection clears the Python locals of Lua locals out of scope where a Lua
# frame is (``frames.dead_locals``).  A hoisted loop's locals are left out of
# the function's ``Proto.locvars`` and the body's frame sits at the call of
# the hoisted function: they were all taken for dead and set to nil, and a
# table local the compiler trusts to hold a table ended in a Python
# AttributeError that even pcall didn't catch.

def test_collectgarbage_in_a_hoisted_loop_keeps_its_locals():
    source = ("local function main()\n"
              + _deep_loops(30, "local t = {} local x = 5\ncollectgarbage()\nreturn x, t.a, i29, i3")
              + "end\nreturn pcall(main)")
    assert LuaRuntime(profile="standard").execute(source) == (True, 5, None, 1, 1)


def test_an_automatic_cycle_below_a_hoisted_loop_keeps_its_locals():
    # Sandbox profile: a finalizer makes allocation pace full cycles, and one
    # runs in alloc's frame while the hoisted loop waits for it.
    source = ("local keep, gcs = {}, 0\n"
              "local function alloc()\n"
              "  for k = 1, 100000 do keep[k] = {k}\n"
              "    if k % 1000 == 0 then setmetatable({}, {__gc = function() gcs = gcs + 1 end}) end\n"
              "  end\n"
              "end\n"
              "local function main()\n"
              + _deep_loops(30, "local t = {} local x = 5 local s = 'str'\nalloc()\n"
                                "return x, s, t.a, i29, i5, gcs > 0")
              + "end\nreturn pcall(main)")
    # 0.3-0.45 s alone; four workers on two cores stretched it past the
    # default 1 s budget, which this test is not about.
    roomy = Limits(time=10.0)
    assert LuaRuntime(limits=roomy).execute(source) == (True, 5, "str", None, 1, 1, True)


# -- positions of deeper levels ------------------------------------------------------

def test_an_error_of_level_2_names_the_line_in_a_hoisted_loop():
    source = ("local function g() error('g2', 2) end\n"
              "local function main()\n"
              + _deep_loops(30, "local x = 1\ng()\nx = x + 1")
              + "end\nreturn pcall(main)")
    assert LuaRuntime().execute(source, name="=deep") == (False, "deep:34: g2")


def test_pcall_of_error_level_2_names_the_line_in_a_hoisted_loop():
    source = _deep_loops(30, "local ok, e = pcall(error, 'x', 2)\nreturn e")
    assert LuaRuntime().execute(source, name="=deep") == "deep:31: x"


# -- numeric for limits past the integers (lvm.c's forlimit) -----------------------------
# An integer loop's float limit of -inf (step > 0 skips) or inf (step < 0
# skips) was floored or ceiled: a Python OverflowError that pcall didn't
# catch.  A NaN limit counts as below every integer (forlimit's "not above
# 0"), and a float loop with a NaN runs once (forprep's test is false).

@pytest.mark.parametrize("loop, expected", [
    ("for i = 0, 1/0, -1 do", 0),
    ("for i = 0, -1/0, 1 do", 0),
    ("for i = 0, 2^63, -1 do", 0),
    ("for i = 0, -2^64, 2 do", 0),
    ("for i = 1, 0/0 do", 0),
    ("for i = 0, 0/0, -1 do", 3),      # runs towards math.mininteger
    ("for i = 0, -1/0, -1 do", 3),
    ("for i = 0/0, 1 do", 1),
    ("for i = 1.0, 0/0 do", 1),
    ("for i = 1, 2, 0/0 do", 0),
    ("for i = 3, 2, 0/0 do", 1),
])
def test_numeric_for_limits_beyond_the_integers(loop, expected):
    source = f"local n = 0\n{loop} n = n + 1 if n == 3 then break end end\nreturn n"
    lua = LuaRuntime()
    assert lua.execute(f"return pcall(function()\n{source}\nend)") == (True, expected)
    # with the limit in a variable, not a constant the compiler sees
    variable = loop.replace("1/0", "inf").replace("0/0", "nan")
    assert lua.execute(f"local inf, nan, n = 1/0, 0/0, 0\n{variable}"
                       " n = n + 1 if n == 3 then break end end return n") == expected


# -- positions ----------------------------------------------------------------------------

def test_a_non_closable_value_is_reported_at_its_local_statement():
    # It was positioned at the statement before (the line the compiler was on).
    lua = LuaRuntime()
    source = ("local function f()\nlocal x = 1\nlocal q <close> = 5\nend\n"
              "local function g()\nlocal x = 1\nlocal a, q <close>, c =\n 1,\n 5, 3\nend\n"
              "return select(2, pcall(f)), select(2, pcall(g))")
    assert lua.execute(source, name="=c") == ("c:3: variable 'q' got a non-closable value",
                                              "c:9: variable 'q' got a non-closable value")
