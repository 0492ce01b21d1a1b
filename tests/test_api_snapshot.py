"""LuaRuntime.snapshot/restore: every run after a restore meets the state
the snapshot recorded, however deep the run changed it.  And the runtime's
lifetime: close, and nothing keeping a dropped runtime alive."""

import gc
import threading
import time
import weakref

import pytest

from luapy import LuaRuntime
from luapy.api import lua_type


@pytest.fixture
def lua():
    return LuaRuntime()


def run_twice(lua, setup: str, run: str):
    """Run ``setup``, snapshot, then run ``run`` twice with a restore between;
    returns both results and what each restore said."""
    lua.execute(setup)
    snapshot = lua.snapshot()
    first = lua.execute(run)
    changed_first = lua.restore(snapshot)
    second = lua.execute(run)
    changed_second = lua.restore(snapshot)
    return first, second, changed_first, changed_second


def test_globals_added_removed_and_replaced_come_back(lua):
    first, second, changed, _ = run_twice(
        lua, "kept = 'k'; gone = nil",
        "local was = tostring(kept) .. tostring(gone); kept = nil; gone = 'g'; return was")
    assert (first, second, changed) == ("knil", "knil", True)
    assert lua.globals()["kept"] == "k" and lua.globals()["gone"] is None


def test_a_run_that_changes_nothing_reports_no_change(lua):
    lua.execute("t = {1, 2, x = {y = 1}}")
    snapshot = lua.snapshot()
    lua.execute("local s = 0 for _, v in ipairs(t) do s = s + v end return s + t.x.y")
    assert lua.restore(snapshot) is False


def test_tables_any_depth_below_the_globals_are_restored(lua):
    first, second, *_ = run_twice(
        lua, "config = {a = {b = {c = {d = 'deep'}}}, list = {{1}, {2}}}",
        "local was = config.a.b.c.d .. #config.list[2]\n"
        "config.a.b.c.d = 'changed'; config.a.b.c.e = {}\n"
        "config.list[2][5] = 5; table.insert(config.list, 3)\n"
        "return was")
    assert first == second == "deep1"
    assert lua.eval("#config.list") == 2


def test_upvalues_of_global_functions_are_restored(lua):
    # A counter and a cache the entry point closes over are state as much
    # as globals are.
    first, second, *_ = run_twice(
        lua, "local count, cache = 0, {}\n"
             "function tick() count = count + 1; cache[#cache + 1] = count; return count, #cache end",
        "return tick()")
    assert first == second == (1, 1)


def test_library_functions_and_the_string_metatable_are_restored(lua):
    first, second, *_ = run_twice(
        lua, "",
        "local was = ('x'):upper() .. string.format('%d', 7)\n"
        "string.upper = nil; string.format = function() return 'hijacked' end\n"
        "getmetatable('').__index = {upper = function() return 'mine' end}\n"
        "getmetatable('').__call = function() return 'called' end\n"
        "table.insert = nil; math.pi = 3\n"
        "return was")
    assert first == second == "X7"
    assert lua.eval("math.pi") == pytest.approx(3.141592653589793)
    assert lua.eval("select('#', pcall(function() return ('a')() end))") == 2
    assert lua.eval("(pcall(function() return ('a')() end))") is False


def test_package_loaded_and_required_modules_are_restored(lua):
    lua.register_module("config", "return {mode = 'strict', limits = {n = 1}}")
    first, second, *_ = run_twice(
        lua, "local cfg = require('config')",
        "local cfg = require('config')\n"
        "local was = cfg.mode .. cfg.limits.n\n"
        "cfg.mode = 'loose'; cfg.limits.n = 2\n"
        "package.loaded.injected = {}; package.loaded.string = nil; package.path = ''\n"
        "return was")
    assert first == second == "strict1"
    assert lua.eval("package.loaded.injected") is None
    assert lua.eval("package.loaded.string == string") is True


def test_metatables_set_replaced_or_changed_are_restored(lua):
    first, second, *_ = run_twice(
        lua, "plain = {}; shaped = setmetatable({}, {__index = {kind = 'base'}})",
        "local was = tostring(rawequal(getmetatable(plain), nil)) .. shaped.kind\n"
        "setmetatable(plain, {__index = function() return 'trap' end})\n"
        "getmetatable(shaped).__index.kind = 'patched'\n"
        "return was")
    assert first == second == "truebase"


@pytest.mark.parametrize("before,after,probe", [
    ("true", "1", "math.type(v) or type(v)"),         # True == 1 in Python
    ("1", "1.0", "math.type(v)"),                       # 1 == 1.0 in Python
    ("0.0", "-0.0", "1 / v"),                           # 0.0 == -0.0 in Python
    ("false", "0", "math.type(v) or type(v)"),
])
@pytest.mark.parametrize("where", ["v", "arr[1]", "get()"])
def test_values_python_calls_equal_are_still_a_change(lua, before, after, probe, where):
    # In a global, in an array slot or in an upvalue, one at a time.
    lua.execute(f"v = {before}; arr = {{{before}}}; local u = {before}\n"
                "function get() return u end function set(x) u = x end")
    snapshot = lua.snapshot()
    expected = lua.execute(f"return {probe}")
    assignment = {"v": f"v = {after}", "arr[1]": f"arr[1] = {after}", "get()": f"set({after})"}[where]
    lua.execute(assignment)
    assert lua.execute(f"local v = {where}; return {probe}") != expected
    assert lua.restore(snapshot) is True
    assert lua.execute(f"local v = {where}; return {probe}") == expected


def test_next_after_a_restore_walks_the_restored_table(lua):
    # ``next`` caches a traversal's key order; a restore must drop it, or a
    # walk in the next run follows the keys of the last one.
    lua.execute("t = {a = 1, b = 2, c = 3}")
    snapshot = lua.snapshot()
    lua.execute("t.d = 4; local k = next(t) while k do k = next(t, k) end")
    lua.restore(snapshot)
    after_c = lua.execute("t.e = 5; local ks, k = {}, 'c'\n"
                          "repeat k = next(t, k); ks[#ks + 1] = k until k == nil\n"
                          "return table.concat(ks, ',')")
    assert after_c == "e"


def test_what_a_run_created_is_dropped(lua):
    lua.execute("holder = {}")
    snapshot = lua.snapshot()
    lua.execute("holder.big = {} for i = 1, 1000 do holder.big[i] = {} end new_global = holder.big")
    lua.restore(snapshot)
    assert lua.eval("holder.big") is None and lua.eval("new_global") is None


def test_cycles_and_very_deep_chains_are_walked_without_recursion(lua):
    lua.execute("a = {}; a.self = a; a.mt = setmetatable({}, {__index = a})\n"
                "local deep = {} chain = deep for i = 1, 50000 do deep.next = {}; deep = deep.next end\n"
                "deep.leaf = 'leaf'")
    snapshot = lua.snapshot()
    lua.execute("local d = chain while d.next do d = d.next end d.leaf = 'changed'; a.self = nil")
    assert lua.restore(snapshot) is True
    assert lua.execute("local d = chain while d.next do d = d.next end return d.leaf") == "leaf"
    assert lua.eval("a.self == a") is True


def test_a_snapshot_restores_only_its_own_runtime(lua):
    other = LuaRuntime()
    with pytest.raises(ValueError, match="another runtime"):
        other.restore(lua.snapshot())


def test_lua_type_names_converted_and_raw_values(lua):
    values = lua.execute("return {}, print, 1, 'x', true, coroutine.create(print)")
    assert [lua_type(v) for v in values] == ["table", "function", "number", "string", "boolean", "thread"]
    raw = lua.call_raw(lua.compile("return {}, print, nil"), [])
    assert [lua_type(v) for v in raw] == ["table", "function", "nil"]
    assert lua_type(b"bytes") == "string"


def test_compile_from_file_skips_a_bom_and_a_hash_line_but_keeps_line_numbers(lua):
    chunk = lua.compile(b"\xef\xbb\xbf#!/usr/bin/lua\nreturn debug_line()", name="@f.lua", from_file=True)
    lua.register_function("debug_line", lambda: None)
    assert chunk() is None
    with pytest.raises(Exception, match="f.lua:2:"):
        lua.compile(b"#!/usr/bin/lua\nerror('here')", name="@f.lua", from_file=True)()


def test_linedefined_names_where_a_function_starts(lua):
    lua.execute("\n\nfunction f()\nend")
    assert lua.globals()["f"].linedefined == 3
    assert lua.globals()["print"].linedefined is None


# -- lifetime ------------------------------------------------------------------------

SUSPEND_20 = ("cos = {} for i = 1, 20 do\n"
              "  local co = coroutine.wrap(function() coroutine.yield(add(1, 2)) end)\n"
              "  co(); cos[i] = co\nend")


def threads_back_to(baseline: int) -> bool:
    deadline = time.monotonic() + 10
    while threading.active_count() > baseline and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.05)
    return threading.active_count() <= baseline


def test_close_ends_suspended_coroutines_and_the_runtime_stays_usable():
    baseline = threading.active_count()
    lua = LuaRuntime()
    lua.register_function("add", lambda a, b: a + b)
    lua.execute(SUSPEND_20)
    assert threading.active_count() <= baseline + 1   # +1: the budget watchdog; coroutines make none
    lua.close()
    assert threads_back_to(baseline + 1)
    assert lua.eval("add(2, 3)") == 5


def test_a_dropped_runtime_with_registered_functions_and_suspended_coroutines_is_freed():
    # The coroutines hold the runtime's state; the registered function in
    # it must not hold the runtime.
    baseline = threading.active_count()
    lua = LuaRuntime()
    lua.register_function("add", lambda a, b: a + b)
    lua.execute(SUSPEND_20)
    runtime = weakref.ref(lua)
    del lua
    assert threads_back_to(baseline)
    assert runtime() is None
