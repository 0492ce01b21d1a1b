"""The embedding API under attack: what a lupa user, or a hostile Lua
author, found wrong in ``LuaRuntime`` and its Python bridge.

Each test reproduces one finding; the message of each assert says what
broke.  Where lupa is installed, its answer is checked too, so the test
states lupa's behaviour and not a guess at it.
"""

from __future__ import annotations

import enum

import pytest

from luapy import LuaRuntime

try:
    import lupa.lua54 as lupa
except ImportError:  # the oracle is optional
    lupa = None

PROFILES = ["sandbox", "trusted"]


@pytest.fixture(params=PROFILES)
def lua(request):
    return LuaRuntime(profile=request.param)


def describe(lua_runtime):
    """A Lua function naming the type and value of each argument."""
    return lua_runtime.eval("""function(...)
        local r = {}
        for i = 1, select("#", ...) do
            local v = select(i, ...)
            r[i] = (math.type(v) or type(v)) .. ":" .. tostring(v)
        end
        return table.concat(r, ",")
    end""")


class Colour(enum.IntEnum):
    RED = 1


class Text(str):
    def __str__(self):
        return "not the value"


class Blob(bytes):
    pass


SUBCLASSED = (Colour.RED, Text("ab"), Blob(b"xy"), enum.IntFlag("Flag", "X").X)
SUBCLASSED_IN_LUA = "integer:1,string:ab,string:xy,integer:1"


def test_subclasses_of_scalar_types_cross_as_their_value(lua):
    # Was: IntEnum gave "TypeError: <enum 'IntEnum'> has no members
    # defined"; a str subclass was refused (sandbox) or became a userdata
    # (trusted).
    assert describe(lua)(*SUBCLASSED) == SUBCLASSED_IN_LUA


@pytest.mark.skipif(lupa is None, reason="lupa not installed")
def test_subclasses_of_scalar_types_as_lupa_converts_them():
    assert describe(lupa.LuaRuntime())(*SUBCLASSED) == SUBCLASSED_IN_LUA
