"""Locals whose type the compiled code relies on.

A numeric ``for`` counting with integer literals has an integer counter,
and a local only ever set by a table constructor holds a table: the
compiler leaves the type tests out of their fast paths.  ``debug.setlocal``
is the one way Lua code could break that; it is refused with a Lua error
rather than ending in a Python exception (a documented difference: lua5.4
allows any value).
"""

from __future__ import annotations

import pytest

from luapy import LuaError, LuaRuntime


@pytest.fixture
def lua():
    return LuaRuntime(profile="standard")


def test_a_loop_counter_takes_another_integer(lua):
    assert lua.execute("""
        for i = 1, 3 do
            debug.setlocal(1, 4, 10)
            return i + 1
        end""") == 11


@pytest.mark.parametrize("value", ['"x"', "1.5", "{}", "nil"])
def test_a_loop_counter_refuses_other_types(lua, value):
    with pytest.raises(LuaError, match=r"^chunk:3: cannot set local to a \w+ value: luapy compiled it "
                                       r"for integer values only"):
        lua.execute(f"""
            for i = 1, 3 do
                debug.setlocal(1, 4, {value})
                local j = i - 1
            end""", name="=chunk")


def test_a_constructed_table_local_takes_another_table_only(lua):
    assert lua.execute("""
        local t = {}
        debug.setlocal(1, 1, {1, 2})
        return #t, t[2]""") == (2, 2)
    with pytest.raises(LuaError, match="luapy compiled it for table values only"):
        lua.execute("""
            local t = {}
            debug.setlocal(1, 1, 5)
            return t.x""")


def test_other_locals_take_anything(lua):
    assert lua.execute("""
        local t = {} ; t = t
        local n = 1
        for i = 1.0, 2 do
            debug.setlocal(1, 1, "a table no more")
            debug.setlocal(1, 2, "one")
            debug.setlocal(1, 6, "i")
            return t, n, i
        end""") == ("a table no more", "one", "i")
