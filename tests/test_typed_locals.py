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


def test_an_integer_parameter_of_a_self_recursive_function_refuses_other_types(lua):
    # Called with integers, ``fib``'s single-result form runs a copy of its
    # body without the parameter's type tests (``integer_parameters``).
    with pytest.raises(LuaError, match=r"^chunk:4: cannot set local to a string value"):
        lua.execute("""
            local function fib(n)
                if n < 2 then
                    if n == 0 then debug.setlocal(1, 1, "x") end
                    return n
                end
                return fib(n - 1) + fib(n - 2)
            end
            return fib(5)""", name="=chunk")


def test_an_integer_parameter_takes_another_integer(lua):
    assert lua.execute("""
        local function f(n)
            if n < 1 then debug.setlocal(1, 1, 40) return n + 2 end
            local r = f(n - 1)
            return r
        end
        return f(3)""") == 42
