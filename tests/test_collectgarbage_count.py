"""What ``collectgarbage`` says without a memory budget: the official
suite's gc.lua measures ``count`` to the kilobyte around 4 MiB strings, a
stopped collector and collections asked for inside a finalizer."""

from __future__ import annotations

import pytest

from luapy import LuaRuntime
from luapy.options import Limits
from luapy.runtime import collector

#: collectgarbage() is charged to the time budget, and a full collection of
#: a test worker's heap can take a second on a loaded machine.  No memory
#: budget: with one, count is what the budget has charged.
COLLECTING = Limits(steps=None, time=60, memory=None)

needs_mallinfo = pytest.mark.skipif(
    collector._MALLINFO() is None,
    reason="the C library has no mallinfo2 (not glibc): count can't see large blocks")


def run(source: str):
    return LuaRuntime(profile="standard", limits=COLLECTING).execute(source)


@needs_mallinfo
def test_count_sees_a_long_string_and_its_release():
    grown, released = run("""
        collectgarbage(); collectgarbage()
        local m = collectgarbage("count")
        local s = string.rep("x", 2^22)
        local grown = collectgarbage("count") - m
        s = nil
        collectgarbage()
        return grown, collectgarbage("count") - m
    """)
    assert 4096 <= grown < 4096 + 64
    assert abs(released) < 64


@needs_mallinfo
def test_a_key_cleared_during_a_traversal_lets_its_string_go_at_a_collection():
    # The traversal's snapshot of the keys must not keep the key alive:
    # lua5.4 makes it a dead key, which only compares by identity.
    before, after, again = run("""
        collectgarbage(); collectgarbage()
        local m = collectgarbage("count")
        local a = setmetatable({}, {__mode = "k"})
        a[string.rep("a", 2^22)] = 1
        local k = next(a)
        assert(next(a, k) == nil)
        a[k] = nil; k = nil
        local before = collectgarbage("count") - m
        collectgarbage()
        return before, collectgarbage("count") - m, next(a)
    """)
    assert before >= 4096
    assert after < 64
    assert again is None


def test_a_traversal_goes_on_from_a_key_it_cleared_across_a_collection():
    seen = run("""
        local t = setmetatable({}, {__mode = "v"})
        local keep = {}
        for i = 1, 20 do t["k" .. i] = keep end
        local seen, k = 0, next(t)
        while k do
          t[k] = nil
          collectgarbage()
          seen = seen + 1
          k = next(t, k)
        end
        return seen
    """)
    assert seen == 20


def test_a_stopped_collector_counts_garbage_until_a_collection():
    grew, dropped, running = run("""
        collectgarbage()
        collectgarbage("stop")
        local x = collectgarbage("count")
        for i = 1, 2000 do local garbage = {} end
        local grew = collectgarbage("count") > x + 10
        collectgarbage()
        local dropped = collectgarbage("count") < x + 10
        collectgarbage("restart")
        return grew, dropped, collectgarbage("isrunning")
    """)
    assert (grew, dropped, running) == (True, True, True)


def test_collect_runs_a_cycle_without_weak_tables_or_finalizers(monkeypatch):
    # Only a cycle frees garbage in reference cycles, and count must see it
    # (gc.lua: "everything collected" to the kilobyte).  CPython's own
    # collector runs at its thresholds too, so the cycle itself is watched.
    cycles = []
    real = collector.charged_collect
    monkeypatch.setattr(collector, "charged_collect",
                        lambda generation=2: (cycles.append(generation), real(generation)))
    run("""
        local c = {}; c.self = c; c = nil
        collectgarbage(); collectgarbage()
        local keep = {} for i = 1, 100000 do keep[i] = {} end
        collectgarbage()""")
    # A full cycle first; then the young generations, as long as the heap
    # has not grown (a full cycle walks the host's whole heap too).
    assert cycles == [2, 1, 2]


@pytest.mark.parametrize("option", ["collect", "count", "step", "isrunning"])
def test_collectgarbage_fails_inside_a_finalizer(option):
    result = run(f"""
        local res = "not run"
        setmetatable({{}}, {{__gc = function () res = collectgarbage("{option}") end}})
        collectgarbage()
        return res
    """)
    assert result is None


def test_a_cleared_short_string_key_is_found_again_by_an_equal_string():
    # lua5.4 interns short strings: an equal string is the same dead key.
    found = run("""
        local t = setmetatable({}, {__mode = "v"})
        local v = {}
        t["a" .. "b"] = v; t["c" .. "d"] = v
        local k = next(t)
        t[k] = nil
        collectgarbage()
        local ok, nk = pcall(next, t, k:upper():lower())
        return ok and nk ~= k
    """)
    assert found is True


def test_the_sandbox_never_counts_the_process_memory():
    # Without a memory budget the sandbox counts what it charged, not what
    # the host process holds (which would let a plugin watch the host).
    runtime = LuaRuntime(limits=Limits(memory=None))
    measure = runtime.execute('return function() return collectgarbage("count") end')
    before = measure()
    host = bytearray(32 * 1024 * 1024)  # the host allocates 32 MiB between calls
    after = measure()
    del host
    assert abs(after - before) < 1024
