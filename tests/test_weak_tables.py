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


@pytest.mark.parametrize("call", ["return (w[1]())", "return w[1]()", "local g = w[1] return g()"])
def test_a_running_function_survives_collections_even_if_only_a_weak_table_holds_it(call):
    # Its call keeps it alive in lua5.4; in luapy the callee of ``(w[1]())``
    # sits in a scratch variable that a collection clears (and the second
    # collection can no longer find it there).
    source = f"""
    local w = setmetatable({{}}, {{__mode = "v"}})
    w[1] = function() collectgarbage() collectgarbage() return w[1] ~= nil end
    {call}
    """
    ours, reference = run_both(source)
    assert ours is reference is True


def test_a_blocks_closed_values_are_not_kept_alive_after_it():
    source = """
    local w = setmetatable({}, {__mode = "k"})
    local mt = {__close = function() end}
    local counts = {}
    local function count() collectgarbage() local n = 0 for _ in pairs(w) do n = n + 1 end return n end
    do local a <close> = setmetatable({}, mt) w[a] = true end
    counts[1] = count()
    for i = 1, 2 do local b <close> = setmetatable({}, mt) w[b] = true end
    counts[2] = count()
    local function f()
      do local c <close> = setmetatable({}, mt) local d <close> = setmetatable({}, mt) w[c] = true w[d] = true end
      return count()
    end
    counts[3] = f()
    return table.concat(counts, " ")
    """
    ours, reference = run_both(source)
    assert ours == reference == "0 0 0"


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


def test_locals_out_of_scope_hold_nothing_at_a_collection():
    # gc.lua: a loop's local keeps its last value in the Python frame after
    # the loop, where lua5.4 reuses the register; a collection lets go.
    source = """
    local a = setmetatable({}, {__mode = 'k'})
    for i = 1, 3 do local t = {}; a[t] = i end
    do local u = {}; a[u] = 10 end
    collectgarbage()
    local n = 0
    for _ in pairs(a) do n = n + 1 end
    return n
    """
    ours, reference = run_both(source)
    assert ours == reference == 0


def test_a_dropped_object_with_a_finalizer_is_collected_as_allocation_goes_on():
    # gc.lua's GC1: no collectgarbage() call; lua5.4's collector is paced
    # by allocation, and nothing but the dropped table's own cycle holds
    # it (not a temporary of the statement that made it).
    source = """
    local finish = false
    local u = setmetatable({}, {__gc = function () finish = true end})
    local n = 0
    repeat u = {}; n = n + 1 until finish or n > 2000000
    return finish
    """
    ours, reference = run_both(source)
    assert ours == reference is True


def test_a_dropped_file_is_closed_by_a_collection(tmp_path):
    # files.lua: the file io.output opened is held by nothing once the
    # program moves on, not even by the results of `assert(io.write(...))`.
    path = tmp_path / "out.txt"
    source = f"""
    io.output({str(path)!r})
    assert(io.write("alo", "\\n"))
    assert(io.output():seek("cur", -1) == 3)
    assert(io.write("\\n"))
    io.output(io.stdout)
    collectgarbage()
    local f = io.open({str(path)!r})
    local text = f:read("a")
    f:close()
    return text
    """
    assert LuaRuntime(profile="standard", limits=COLLECTING).execute(source) == "alo\n"


def test_weak_keys_are_ephemerons():
    # gc.lua: a value that refers to its own key (or to another entry's
    # key) does not keep the entry alive.
    source = """
    local a = setmetatable({}, {__mode = 'k'})
    local x
    for i = 1, 10 do local n = {}; a[n] = {k = {x}}; x = n end
    collectgarbage()
    local chained = 0
    local n = x
    while n do n = a[n].k[1]; chained = chained + 1 end
    x = nil
    collectgarbage()
    return chained, next(a) == nil
    """
    ours, reference = run_both(source)
    assert ours == reference == (10, True)


def test_an_automatic_cycle_clears_weak_tables_and_finalizes():
    # gc.lua's GC2: no collectgarbage(), only allocation.
    source = """
    local finish = false
    local u = {setmetatable({}, {__gc = function () finish = true end})}
    local n = 0
    repeat u = {{}}; n = n + 1 until finish or n > 2000000
    return finish
    """
    ours, reference = run_both(source)
    assert ours == reference is True


#: Allocates until a dropped table's finalizer runs: automatic cycles only
#: (gc.lua's GC1), no collectgarbage().
AUTOMATIC_CYCLE = """
local function automatic_cycle()
  local finish = false
  local u = setmetatable({}, {__gc = function () finish = true end})
  local n = 0
  repeat u = {}; n = n + 1 until finish or n > 2000000
  assert(finish)
end
"""


def test_an_automatic_cycle_clears_the_entries_of_weak_tables():
    # gc.lua:337: the chain of ephemerons goes at an automatic cycle.
    source = AUTOMATIC_CYCLE + """
    local a = setmetatable({}, {__mode = 'k'})
    local v = setmetatable({}, {__mode = 'v'})
    local x
    for i = 1, 100 do local n = {}; a[n] = {k = {x}}; x = n end
    v[1], v[2], v.keep = {}, {}, a
    x = nil
    automatic_cycle()
    return next(a) == nil, v[1] == nil and v[2] == nil and #v, v.keep == a
    """
    ours, reference = run_both(source)
    assert ours == reference == (True, 0, True)


def test_an_automatic_cycle_during_a_traversal_moves_no_key():
    # The survivors are put back where they were: a traversal under way
    # meets each key once, and the order is the one before the cycle.
    source = AUTOMATIC_CYCLE + """
    local keep, t = {}, setmetatable({}, {__mode = 'k'})
    for i = 1, 50 do local key = {} t[key] = i; if i % 2 == 0 then keep[#keep + 1] = key end end
    local before = {}
    for k, v in pairs(t) do before[#before + 1] = v end
    local seen, count = setmetatable({}, {__mode = 'k'}), 0
    for k, v in pairs(t) do
      if count == 10 then automatic_cycle() end
      count = count + 1
      assert(not seen[k]); seen[k] = true
    end
    local after = {}
    for k, v in pairs(t) do after[#after + 1] = v end
    return table.concat(before, " ") == table.concat(after, " "), count, #keep
    """
    # (The keys the traversal's snapshot holds survive it, unlike in lua5.4.)
    assert LuaRuntime(profile="standard", limits=COLLECTING).execute(source) == (True, 50, 25)
