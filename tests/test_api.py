"""The embedding API: LuaRuntime, conversions, errors crossing to Python."""

import threading

import pytest

from luapy import (
    Limits, LuaError, LuaFunction, LuaLimitError, LuaRuntime, LuaSyntaxError, LuaTable, Options,
)


@pytest.fixture
def lua():
    return LuaRuntime()


def test_execute_returns_none_single_value_or_tuple(lua):
    assert lua.execute("x = 1") is None
    assert lua.execute("return 42") == 42
    assert lua.execute("return 1, 'two', nil") == (1, "two", None)


def test_eval_and_arguments(lua):
    assert lua.eval("1 + 2") == 3
    assert lua.execute("local a, b = ... return a * b", 6, 7) == 42


def test_numbers_keep_their_subtype(lua):
    assert type(lua.eval("1")) is int
    assert type(lua.eval("1.0")) is float
    assert lua.eval("10 / 2") == 5.0
    assert lua.eval("math.maxinteger + 1") == -2**63
    with pytest.raises(OverflowError):  # as in lupa: never a silent float
        lua.execute("return ...", 2**70)
    assert lua.execute("return ...", float(2**70)) == float(2**70)


def test_strings_are_bytes_inside_lua(lua):
    assert lua.eval("#'é'") == 2
    assert lua.execute("return #...", "é") == 2
    assert lua.execute("return ...", "héllo") == "héllo"
    assert lua.eval("'\\xff\\0'") == "\udcff\x00"  # undecodable byte kept as a surrogate escape
    raw = LuaRuntime(encoding=None)
    assert raw.eval("'\\xff\\0'") == b"\xff\x00"
    assert raw.execute("return ...", b"\xff") == b"\xff"


def test_tables_are_live_mappings(lua):
    table = lua.eval("{10, 20, x = 'y'}")
    assert isinstance(table, LuaTable)
    assert table[1] == 10 and table["x"] == "y"
    assert len(table) == 2
    assert sorted(table.keys(), key=str) == [1, 2, "x"]
    table["z"] = 5
    assert lua.execute("local t = ... return t.z", table) == 5
    del table["x"]
    assert "x" not in table


def test_table_constructors_and_to_python(lua):
    table = lua.table(1, 2, key="v")
    assert lua.execute("local t = ... return #t, t.key", table) == (2, "v")
    nested = lua.table_from({"a": [1, 2, {"b": True}]})
    assert nested.to_python() == {"a": [1, 2, {"b": True}]}
    assert lua.execute("local t = ... return t.a[3].b", nested) is True


def test_to_python_refuses_cycles_and_deep_values(lua):
    cyclic = lua.eval("(function() local t = {} t.self = t return t end)()")
    with pytest.raises(ValueError, match="cycle"):
        cyclic.to_python()
    deep = lua.eval("(function() local t = {} for i = 1, 200 do t = {t} end return t end)()")
    with pytest.raises(ValueError, match="deeper"):
        deep.to_python()


def test_to_python_does_not_run_metamethods(lua):
    table = lua.eval("setmetatable({1}, {__index = function() error('ran') end, __pairs = function() error('ran') end})")
    assert table.to_python() == [1]


def test_lua_functions_are_callable_from_python(lua):
    add = lua.eval("function(a, b) return a + b end")
    assert isinstance(add, LuaFunction)
    assert add(2, 3) == 5
    swap = lua.eval("function(a, b) return b, a end")
    assert swap(1, 2) == (2, 1)


def test_python_objects_only_callables_in_the_sandbox(lua):
    assert lua.execute("local f = ... return f('abc')", len) == 3  # wrapped as register_function does
    with pytest.raises(TypeError):
        lua.execute("return ...", object())
    lua.register_function("pylen", lambda s: len(s))
    assert lua.eval("pylen('abcd')") == 4
    lua.register_function("pair", lambda: (1, 2))
    assert lua.execute("local a, b = pair() return b") == 2


def test_lua_errors_reach_python_with_position(lua):
    with pytest.raises(LuaError) as failure:
        lua.execute("local t = nil\nreturn t.x", name="=demo")
    assert str(failure.value) == "demo:2: attempt to index a nil value (local 't')"
    with pytest.raises(LuaError) as failure:
        lua.execute("error({code = 7})")
    assert isinstance(failure.value.value, LuaTable) and failure.value.value["code"] == 7


def test_syntax_errors_are_a_subclass(lua):
    with pytest.raises(LuaSyntaxError) as failure:
        lua.execute("x = = 1", name="=bad")
    assert isinstance(failure.value, LuaError)
    assert str(failure.value).startswith("bad:1:")


def test_globals_are_per_runtime():
    a, b = LuaRuntime(), LuaRuntime()
    a.execute("shared = 1; string.custom = 'a'")
    assert b.eval("shared") is None
    assert b.eval("string.custom") is None
    assert a.globals()["shared"] == 1


def test_registered_module_source_and_table(lua):
    lua.register_module("greet", "return { hello = function(n) return 'hi ' .. n end }")
    assert lua.eval("require('greet').hello('bob')") == "hi bob"
    lua.register_module("consts", {"answer": 42})
    assert lua.eval("require('consts').answer") == 42


def test_print_output_can_be_captured(lua):
    captured = []
    lua.set_output(captured.append)
    lua.execute("print('a', 1, nil, true)")
    assert captured == ["a\t1\tnil\ttrue\n"]


def test_budgets_apply_per_call():
    lua = LuaRuntime(limits=Limits(steps=100_000))
    spin = lua.eval("function(n) local x = 0 for i = 1, n do x = x + 1 end return x end")
    assert spin(1000) == 1000
    with pytest.raises(LuaLimitError) as failure:
        spin(10**9)
    assert failure.value.limit == "steps"
    assert spin(1000) == 1000  # the runtime stays usable


def test_deep_recursion_when_configured():
    lua = LuaRuntime(limits=Limits(depth=20_000, steps=None, time=None))
    depth = lua.eval("function(n) local function d(k) if k == 0 then return 0 end return 1 + d(k - 1) end return d(n) end")
    assert depth(15_000) == 15_000
    with pytest.raises(LuaError, match="stack overflow"):
        depth(25_000)


def test_default_depth_is_the_plugin_limit(lua):
    with pytest.raises(LuaError, match="stack overflow"):
        lua.execute("local function d(k) return 1 + d(k + 1) end return d(0)")
    ok, message = lua.execute("return pcall(function() local function d(k) return 1 + d(k + 1) end return d(0) end)")
    assert ok is False and message.endswith("stack overflow")


def test_runtimes_work_from_several_threads():
    results = []

    def work(n):
        lua = LuaRuntime()
        results.append(lua.eval(f"(function() local s = 0 for i = 1, {n} do s = s + i end return s end)()"))

    threads = [threading.Thread(target=work, args=(100 * k,)) for k in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(sum(range(100 * k + 1)) for k in range(1, 5))


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError):
        LuaRuntime(Options(profile="nope"))


@pytest.mark.parametrize("change", [{"depth": None}, {"nesting": 0}, {"depth": 2.5}, {"steps": -1},
                                    {"time": "1s"}, {"memory": True}])
def test_malformed_limits_are_refused_when_configured(change):
    with pytest.raises(ValueError, match=f"Limits.{next(iter(change))} must be"):
        Limits(**change)


def test_coroutines_returned_to_python_can_be_passed_back(lua):
    co = lua.eval("coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end)")
    assert lua.execute("local co = ... return coroutine.resume(co, 1)", co) == (True, 2)
    assert lua.execute("local co = ... return coroutine.resume(co, 21)", co) == (True, 42)


def test_close_closes_suspended_coroutines():
    lua = LuaRuntime()
    lua.execute("""
        closed = false
        held = coroutine.create(function()
          local x <close> = setmetatable({}, {__close = function() closed = true end})
          coroutine.yield(1)
        end)
        coroutine.resume(held)
    """)
    lua.close()
    assert lua.execute("return closed, coroutine.status(held)") == (True, "dead")




def test_call_raw_raises_a_recursion_limit_the_host_lowered_between_calls():
    import sys

    lua = LuaRuntime()
    deep = lua.eval("function(n) local function down(k) if k == 0 then return 0 end "
                    "return 1 + down(k - 1) end return down(n) end")
    assert lua.call_raw(deep, [150]) == (150,)
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # too low for 150 Lua levels
    try:
        assert lua.call_raw(deep, [150]) == (150,)
        assert sys.getrecursionlimit() > 200
    finally:
        sys.setrecursionlimit(saved)


def test_call_raw_takes_raw_functions_and_refuses_another_runtimes():
    lua, other = LuaRuntime(), LuaRuntime()
    add = lua.eval("function(a, b) return a + b end")
    assert lua.call_raw(add, [1, 2]) == (3,)
    assert lua.call_raw(add._function, [1, 2]) == (3,)
    with pytest.raises(ValueError, match="another runtime"):
        other.call_raw(add, [1, 2])
    with pytest.raises(LuaError, match="attempt to call a number value"):
        lua.call_raw(42, [])
