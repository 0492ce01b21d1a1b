"""The string library through the interpreter, compared with real Lua 5.4.

Fixed cases (one expression each, with its result or error) are the scripts
in ``tests/lua/lib/string/``; here are the generated ones and what only Python
can check: budgets and isolation between runtimes.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from luapy import LuaRuntime
from luapy.errors import LuaLimitError
from luapy.options import Limits, Options
from luapy.runtime.state import State
from luapy.stdlib import strlib


@pytest.fixture(scope="module")
def luapy_rt():
    return LuaRuntime(profile="standard", encoding=None)


@pytest.fixture(scope="module")
def lua(reference_bytes):
    return reference_bytes


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
indices = hs.one_of(hs.integers(min_value=-12, max_value=12),
                    hs.sampled_from([2**63 - 1, -(2**63)]))


@SETTINGS
@given(s=hs.text(alphabet="abc\0\xff", max_size=8), i=indices, j=indices)
def test_sub_and_byte_agree_with_lua(luapy_rt, lua, s, i, j):
    for fn in ("sub", "byte"):
        code = f"local s, i, j = ... return table.pack(pcall(string.{fn}, s, i, j))"
        data = s.encode("latin-1")
        mine = luapy_rt.execute(code, data, i, j)
        theirs = lua.execute(code, data, i, j)
        assert [mine[k] for k in range(1, mine[b"n"] + 1)] == \
            [theirs[k] for k in range(1, theirs[b"n"] + 1)], (fn, s, i, j)


def test_rep_of_empty_strings_is_instant():
    # lua5.4 itself spins through 2^40 empty copies here
    assert LuaRuntime().eval("#string.rep('', 2^40)") == 0


def test_runtimes_do_not_share_the_string_library():
    one = LuaRuntime()
    two = LuaRuntime()
    one.execute("string.upper = function() return 'hacked' end")
    assert two.eval("('x'):upper()") == "X"
    one.execute("getmetatable('').__index = {}")
    assert two.eval("('x'):upper()") == "X"


def test_rep_is_charged_before_it_is_built():
    rt = LuaRuntime(limits=Limits(memory=1_000_000))
    with pytest.raises(LuaLimitError):
        rt.execute("return string.rep('x', 10000000)")
    st = State(Options().with_limits(memory=1000))
    lib = strlib.open_library(st)
    st.enter()
    try:
        with pytest.raises(LuaLimitError):
            lib.get("rep").call("ab", 1000, "-")
    finally:
        st.leave(True)


def test_catastrophic_pattern_from_lua_is_stopped_by_budget():
    rt = LuaRuntime(limits=Limits(steps=300_000, time=5.0))
    with pytest.raises(LuaLimitError):
        rt.execute("return pcall(string.find, ('a'):rep(50000), '.-.-.-.-b')")
