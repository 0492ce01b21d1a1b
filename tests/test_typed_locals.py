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


# -- a parameter's lower bound past an early return ----------------------------

def test_past_an_early_return_the_parameter_has_no_underflow_tests():
    # ``if n < 2 then return n end``: in the integer copy of the
    # single-result form, n >= 2 after it, so ``n - 1`` and ``n - 2`` can't
    # pass math.mininteger and need no test; ``n - 3`` (n >= 2 only) still
    # can't, but ``n + 1`` keeps its overflow test.
    from tests.test_compile import _python_of
    source = _python_of("""
        local function f(n)
            if n < 2 then return n - 5 end
            return f(n - 1) + f(n - 2) + (n + 1)
        end
        return f(3)""")
    single = source[source.index("def __s1"):]
    copy = single[:single.index("\n   try:", single.index("if type(l2) is int:") + 1)]
    assert "l2 >= -9223372036854775807" not in copy and "l2 >= -9223372036854775806" not in copy
    assert "l2 <= 9223372036854775806" in copy
    assert "l2 - 5 if True and l2 >= -9223372036854775803" in copy  # the early return's own


@pytest.mark.parametrize("guard, bound", [("n < 2", 2), ("n <= 2", 3), ("2 > n", 2), ("2 >= n", 3)])
def test_the_bound_each_comparison_gives(guard, bound):
    from luapy.compile.function import early_return_bound
    from luapy.parser import parse
    from luapy.resolve import resolve
    tree = parse(f"local function f(n) if {guard} then return 0 end return f(n - 1) end", "t")
    resolve(tree)
    body = tree.func.body.body[0].func.body
    assert early_return_bound(body)[2] == bound


@pytest.mark.parametrize("guard", [
    "if n < 2 then return n else return 1 end",       # an else
    "if n < 2 then n = n + 1 end",                    # no return
    "if n < 2 then local x = 1; return n end",        # more than the return
    "if n < 2.5 then return n end",                   # not an integer literal
    "if n == 2 then return n end",
])
def test_other_first_statements_give_no_bound(guard):
    from luapy.compile.function import early_return_bound
    from luapy.parser import parse
    from luapy.resolve import resolve
    tree = parse(f"local function f(n) {guard} return f(n - 1) end", "t")
    resolve(tree)
    assert early_return_bound(tree.func.body.body[0].func.body) is None


def test_results_past_the_bound_match_lua(lua, reference):
    source = """
        local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
        local function down(n) if n <= math.mininteger + 2 then return n end return down(n - 1) end
        local function wrap(n) if 0 > n then return n end return wrap(n - 1) end
        local results = {fib(20), down(math.mininteger + 40), wrap(3)}
        local ok, err = pcall(fib, "7")
        results[#results + 1] = ok and err or "err"
        return table.unpack(results)
    """
    assert lua.execute(source) == reference.execute(source)


def test_a_bounded_parameter_refuses_a_smaller_integer(lua, reference):
    with pytest.raises(LuaError, match=r"^chunk:4: cannot set local to -9223372036854775808: luapy compiled "
                                       r"it for integers >= 2 only"):
        lua.execute("""
            local function fib(n)
                if n < 2 then return n end
                if n == 3 then debug.setlocal(1, 1, math.mininteger) end
                return fib(n - 1) + fib(n - 2)
            end
            return fib(5)""", name="=chunk")
    within = """
        local function fib(n)
            if n < 2 then return n end
            if n == 3 then debug.setlocal(1, 1, 2) end
            return fib(n - 1) + fib(n - 2)
        end
        return fib(5)"""
    assert lua.execute(within) == reference.execute(within) == 3
