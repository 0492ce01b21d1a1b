"""Collection that programs can observe: weak tables, __gc, warn, collectgarbage."""

from __future__ import annotations

import time

import pytest

from luapy import LuaRuntime
from luapy.options import UNLIMITED, Limits

lupa = pytest.importorskip("lupa.lua54")


#: collectgarbage() is charged to the time budget, and a full collection of
#: a test worker's heap can take a second on a loaded machine.
COLLECTING = Limits(time=60)


def run_both(source: str):
    ours = LuaRuntime(profile="standard", limits=COLLECTING).execute(source)
    reference = lupa.LuaRuntime().execute(source)
    return ours, reference


@pytest.mark.parametrize("mode", ["k", "v", "kv"])
def test_weak_entries_go_at_a_collection(mode):
    source = f"""
    local t = setmetatable({{}}, {{__mode = "{mode}"}})
    local keep = {{}}
    t[keep] = keep; t[{{}}] = 1; t[1] = {{}}; t.s = "str"; t[2] = keep
    local c = {{}}; c.self = c; t.c = c; c = nil
    collectgarbage()
    local n = 0
    for k, v in pairs(t) do n = n + 1 end
    return n, t[keep] == keep, t.s, t[2] == keep
    """
    ours, reference = run_both(source)
    assert ours == reference


def test_weak_entry_goes_without_an_explicit_collection():
    # closure.lua's way of waiting for a collection.
    lua = LuaRuntime(profile="standard", limits=UNLIMITED)
    start = time.monotonic()
    assert lua.execute("""
    local x = setmetatable({[1] = {}}, {__mode = "kv"})
    local A = 0
    while x[1] do local a = A..A..A..A; A = A + 1 end
    return A > 0
    """) is True
    assert time.monotonic() - start < 30


def test_strong_tables_keep_everything():
    lua = LuaRuntime(profile="standard", limits=COLLECTING)
    assert lua.execute("""
    local t = {}
    t[1] = {}; t[{}] = 1
    collectgarbage()
    local n = 0 for _ in pairs(t) do n = n + 1 end
    return n
    """) == 2


def test_gc_finalizer_runs_and_errors_become_warnings(capfd):
    lua = LuaRuntime(profile="standard", limits=COLLECTING)
    assert lua.execute("""
    local log = {}
    setmetatable({}, {__gc = function(o) log[#log + 1] = type(o) end})
    collectgarbage()
    warn("@on")
    setmetatable({}, {__gc = function() error("boom") end})
    collectgarbage()
    return log[1]
    """) == "table"
    assert "Lua warning: error in __gc (" in capfd.readouterr().err


def test_warn_control_and_pieces(capfd):
    lua = LuaRuntime(profile="standard")
    lua.execute('warn("hidden"); warn("@on"); warn("a", "b", "c"); warn("@off"); warn("gone")')
    assert capfd.readouterr().err == "Lua warning: abc\n"
    with pytest.raises(Exception, match="bad argument #2 to 'warn'"):
        lua.execute('warn("x", {})')


def test_collectgarbage_options_match_lua():
    source = """
    return collectgarbage("isrunning"), collectgarbage("stop"), collectgarbage("isrunning"),
           collectgarbage("restart"), collectgarbage("isrunning"),
           collectgarbage("incremental"), collectgarbage("generational"), collectgarbage("incremental"),
           collectgarbage("step"), collectgarbage(), type(collectgarbage("count"))
    """
    ours, reference = run_both(source)
    assert ours == reference


def test_sandbox_collectgarbage_still_only_counts():
    lua = LuaRuntime()
    assert isinstance(lua.eval('collectgarbage("count")'), float)
    with pytest.raises(Exception, match="invalid option"):
        lua.execute('collectgarbage("stop")')
