"""The Lua 5.1 compatibility names (``lua51_compat``)."""

from __future__ import annotations

import math

import pytest

from luapy.options import Options
from luapy.runtime.state import State
from luapy.runtime.values import Function, Table
from luapy.stdlib import compat51, mathlib, tablib
from tests.stdlib_support import error_of


@pytest.fixture
def env():
    """A State with table, math and a recording ``load``, then compat51."""
    st = State(Options(lua51_compat=True))
    st.enter()
    g = st.globals
    g.set("table", tablib.open_library(st))
    g.set("math", mathlib.open_library(st))
    calls = []

    def load(*args):
        calls.append(args)
        return ("chunk",)
    g.set("load", Function(load, "load"))
    compat51.install(st)
    return st, g, calls


def call(g, path, *args):
    target = g
    for part in path.split("."):
        target = target.get(part)
    return target.call(*args)


def test_unpack_is_table_unpack(env):
    st, g, _ = env
    assert g.get("unpack") is g.get("table").get("unpack")
    assert call(g, "unpack", Table([1, 2, 3])) == (1, 2, 3)


def test_getn(env):
    st, g, _ = env
    assert call(g, "table.getn", Table([1, 2, 3])) == (3,)
    assert call(g, "table.getn", Table()) == (0,)
    assert error_of(call, g, "table.getn", "x") == \
        "bad argument #1 to 'getn' (table expected, got string)"


def test_maxn(env):
    st, g, _ = env
    t = Table([1, 2, 3])
    assert call(g, "table.maxn", t) == (3,)
    t.set(10, "x")
    t.set(7.5, "y")
    t.set(-20, "z")
    t.set("k", "v")
    assert call(g, "table.maxn", t) == (10,)
    t.set(12.5, "w")
    assert call(g, "table.maxn", t) == (12.5,)
    assert call(g, "table.maxn", Table()) == (0,)
    only_negative = Table()
    only_negative.set(-1, True)
    assert call(g, "table.maxn", only_negative) == (0,)
    assert error_of(call, g, "table.maxn", None) == \
        "bad argument #1 to 'maxn' (table expected, got nil)"


def test_pow_and_log10(env):
    st, g, _ = env
    assert call(g, "math.pow", 2, 10) == (1024.0,)
    assert type(call(g, "math.pow", 2, 10)[0]) is float
    assert call(g, "math.pow", "2", 0.5) == (math.sqrt(2),)
    assert call(g, "math.log10", 1000) == (3.0,)
    assert call(g, "math.log10", 0) == (-math.inf,)
    assert error_of(call, g, "math.pow", 2) == \
        "bad argument #2 to 'pow' (number expected, got no value)"
    assert error_of(call, g, "math.log10", "x") == \
        "bad argument #1 to 'log10' (number expected, got string)"


def test_loadstring_forwards_to_load(env):
    st, g, calls = env
    assert call(g, "loadstring", "return 1") == ("chunk",)
    assert calls[-1] == ("return 1", "return 1")  # 5.1: chunkname defaults to the source
    call(g, "loadstring", "return 2", "=name")
    assert calls[-1] == ("return 2", "=name")
    assert error_of(call, g, "loadstring", Table()) == \
        "bad argument #1 to 'loadstring' (string expected, got table)"


# ------------------------------------------------------ through the interpreter


def test_lua_level_compat_names():
    from luapy import LuaRuntime
    rt = LuaRuntime(lua51_compat=True)
    assert rt.execute("""
        local t = {1, 2, 3, [10] = 'x'}
        return unpack({1, 2}), loadstring('return 1 + 1')(), table.getn({1, 2, 3}),
               table.maxn(t), math.pow(2, 3), math.log10(100)
    """) == (1, 2, 3, 10, 8.0, 2.0)  # unpack is truncated to one value mid-list


def test_compat_names_absent_by_default():
    from luapy import LuaRuntime
    assert LuaRuntime().execute(
        "return unpack, loadstring, table.getn, table.maxn, math.pow, math.log10") == (None,) * 6
