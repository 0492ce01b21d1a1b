"""The coroutine library: Lua threads on Python threads with a strict handoff.

The protocol itself (resume and yield, wrap, status, errors as values,
close) is checked line by line against real Lua 5.4 by the scripts in
``tests/lua/lib/coroutine/``.  The tests here are about what only Python can
see or arrange: threads and their release, budgets, host exceptions and
signals, stack limits, isolation between runtimes.
"""

import gc
import os
import signal
import threading
import time

import pytest

from luapy import Limits, LuaError, LuaLimitError, LuaRuntime
from luapy.stdlib import corolib

CHUNK = '=[string "<python>"]'   # lupa's chunk name, so positions compare equal


@pytest.fixture
def lua():
    return LuaRuntime(profile="standard")


def run(code, runtime=None):
    runtime = runtime or LuaRuntime(profile="standard")
    return runtime.execute(code, name=CHUNK)


def lupa_run(code):
    lupa = pytest.importorskip("lupa")
    return lupa.lua54.LuaRuntime().execute(code)


def coroutine_threads():
    """Live coroutine threads, once retiring ones have had time to exit."""
    count, deadline = -1, time.monotonic() + 2
    while time.monotonic() < deadline:
        previous, count = count, sum(1 for t in threading.enumerate() if t.name == "luapy-coroutine")
        if count == previous:
            break
        time.sleep(0.02)
    return count


@pytest.fixture
def spare_threads():
    """Coroutine threads of other tests' runtimes, for counting ours."""
    gc.collect()
    return coroutine_threads()


# ------------------------------------------------------------------ depth


def test_recursion_inside_a_coroutine_goes_as_deep_as_outside():
    code = """
        local function depth(n) return n == 0 and 0 or 1 + depth(n - 1) end
        local function probe()
          local best = 0
          for n = 10, 400, 10 do
            if not pcall(depth, n) then break end
            best = n
          end
          return best
        end
        return probe(), coroutine.wrap(probe)()
    """
    outside, inside = run(code)
    assert outside == inside and outside > 150


# ------------------------------------------------------------------ errors


def test_budget_exhaustion_inside_a_coroutine_is_not_catchable(spare_threads):
    lua = LuaRuntime(limits=Limits(steps=20_000, time=None))
    with pytest.raises(LuaLimitError, match="step budget exhausted"):
        lua.execute("""
            co = coroutine.create(function()
              pcall(function() while true do end end)
              return 'escaped'
            end)
            return pcall(coroutine.resume, co)
        """)
    # The coroutine died with the budget; the next call has a fresh budget.
    assert lua.execute("return coroutine.status(co), coroutine.resume(co)") == (
        "dead", False, "cannot resume dead coroutine")
    assert coroutine_threads() <= spare_threads + corolib.MAX_IDLE_WORKERS


@pytest.mark.parametrize("call", ["local r = coroutine.wrap(f)() return r", "return coroutine.wrap(f)()"])
def test_wrap_recursion_hits_the_c_stack_limit(call):
    code = f"""
        local n = 0
        local function f() n = n + 1 {call} end
        local ok, e = pcall(f)
        return ok, n, e
    """
    ok, n, message = run(code)
    lua_ok, lua_n, lua_message = lupa_run(code)
    assert ok is lua_ok is False
    prefix = '[string "<python>"]:3: '
    # One position per wrap the error passes through, as in lua5.4 (whose
    # count differs by one: lupa runs the chunk one C call deeper).
    assert message == prefix * n + "C stack overflow"
    assert lua_message == prefix * lua_n + "C stack overflow"
    assert abs(n - lua_n) <= 1
    assert run("""
        local function f() local co = coroutine.create(f) return select(2, coroutine.resume(co)) end
        return f()
    """) == "C stack overflow"


def test_host_exceptions_propagate_through_coroutines(lua):
    def leave():
        raise SystemExit(7)
    lua.register_function("leave", leave)
    with pytest.raises(SystemExit) as info:
        lua.execute("coroutine.wrap(function() pcall(leave) end)()")
    assert info.value.code == 7
    assert lua.execute("return coroutine.running() ~= nil, coroutine.isyieldable()") == (True, False)


def test_interrupt_reaches_a_coroutine_stuck_in_a_loop():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals go to the main thread")
    # The time budget only ends the loop if the interrupt went astray.
    lua = LuaRuntime(limits=Limits(steps=None, time=20))
    lua.register_function("interrupt", lambda: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):
        lua.execute("coroutine.wrap(function() interrupt() while true do end end)()")
    assert lua.execute("return coroutine.isyieldable(), 1 + 1") == (False, 2)


# ------------------------------------------------- threads and their release


def test_no_thread_until_first_resume_and_none_after_death(spare_threads):
    lua = LuaRuntime()
    before = coroutine_threads()
    lua.execute("cos = {} for i = 1, 500 do cos[i] = coroutine.create(print) end")
    assert coroutine_threads() == before
    assert lua.execute("""
        local n = 0
        for i = 1, 50 do if coroutine.resume(cos[i], nil) then n = n + 1 end end
        return n
    """) == 50
    assert coroutine_threads() <= spare_threads + corolib.MAX_IDLE_WORKERS


def test_dropped_coroutines_release_their_threads_and_close_variables(spare_threads):
    lua = LuaRuntime(profile="standard")
    lua.execute("""
        closed = 0
        function make()
          local co = coroutine.create(function()
            local guard <close> = setmetatable({}, {__close = function(_, e) closed = closed + 1 end})
            coroutine.yield()
          end)
          coroutine.resume(co)
          return co
        end
        held = {}
        for i = 1, 20 do held[i] = make() end
    """)
    assert coroutine_threads() >= spare_threads + 20
    # Dropped while Lua runs: killed on the spot, like a __gc, except the
    # last MAX_DOOMED, left for the next new coroutine to unwind on its way.
    assert corolib.MAX_DOOMED == 1
    assert lua.execute("""
        local function drop_first() held[1] = nil end
        drop_first()
        local before = closed
        held = nil
        return before, closed
    """) == (0, 19)
    assert lua.execute("return coroutine.wrap(function() return closed end)()") == 20
    assert coroutine_threads() <= spare_threads + corolib.MAX_IDLE_WORKERS


def test_coroutines_dropped_from_another_python_thread_are_killed_later(spare_threads):
    lua = LuaRuntime(profile="standard")
    lua.execute("""
        closed = 0
        function make()
          local co = coroutine.create(function()
            local guard <close> = setmetatable({}, {__close = function() closed = closed + 1 end})
            coroutine.yield()
          end)
          coroutine.resume(co)
          return co
        end
    """)
    holder = [lua.execute("return make()") for _ in range(3)]
    dropper = threading.Thread(target=holder.clear)
    dropper.start()
    dropper.join()
    # Not on the thread that runs Lua: queued, never run concurrently...
    assert lua.execute("return closed") == 0
    # ...until the next coroutine call, which keeps at most MAX_DOOMED.
    assert lua.execute("coroutine.running() return closed") == 2
    assert lua.execute("coroutine.wrap(print)() return closed") == 3
    assert coroutine_threads() <= spare_threads + corolib.MAX_IDLE_WORKERS


def test_a_hundred_thousand_dropped_coroutines_use_few_threads(spare_threads):
    lua = LuaRuntime(limits=Limits(time=None, steps=None, memory=None))
    peak = [0]

    def sample():
        live = sum(1 for t in threading.enumerate() if t.name == "luapy-coroutine")
        peak[0] = max(peak[0], live)
    lua.register_function("sample", sample)
    started = time.perf_counter()
    count = lua.execute("""
        local count = 0
        for i = 1, 100000 do
          local co = coroutine.create(function(x) count = count + coroutine.yield(x) end)
          coroutine.resume(co, i)
          if i % 1000 == 0 then sample() end
        end
        return count
    """)
    elapsed = time.perf_counter() - started
    assert count == 0
    assert peak[0] <= spare_threads + 2
    assert elapsed < 25, f"{elapsed:.1f} s"


def test_too_many_coroutines(spare_threads):
    lua = LuaRuntime(limits=Limits(coroutines=40))
    message = "too many coroutines (at most 40 may be running or suspended)"
    assert lua.execute("""
        held = {}
        for i = 1, 40 do
          held[i] = coroutine.create(coroutine.yield)
          assert(coroutine.resume(held[i]))
        end
        local extra = coroutine.create(coroutine.yield)
        local ok, e = pcall(function()
          return coroutine.resume(extra)
        end)
        local wrapped = select(2, pcall(coroutine.wrap(coroutine.yield)))
        held[1] = nil
        return ok, e, wrapped, coroutine.status(extra), (coroutine.resume(coroutine.create(coroutine.yield)))
    """) == (False, f"(execute):9: {message}", message, "suspended", True)
    assert coroutine_threads() >= spare_threads + 40
    corolib.shutdown(lua._state)
    assert coroutine_threads() <= spare_threads


def test_memory_budget_bounds_suspended_coroutines(spare_threads):
    lua = LuaRuntime(limits=Limits(memory=2 * 1024 * 1024, time=None))
    with pytest.raises(LuaLimitError, match="memory budget exhausted"):
        lua.execute("""
            held = {}
            for i = 1, 10000 do
              held[i] = coroutine.create(coroutine.yield)
              coroutine.resume(held[i])
            end
        """)
    suspended = lua.execute("return #held")
    assert 50 < suspended < 2 * 1024 * 1024 // corolib.THREAD_COST
    corolib.shutdown(lua._state)
    assert coroutine_threads() <= spare_threads


def test_shutdown_releases_coroutines_the_runtime_still_holds():
    lua = LuaRuntime(profile="standard")
    lua.execute("""
        log = {}
        tasks = {}
        for i = 1, 5 do
          tasks[i] = coroutine.create(function()
            local v <close> = setmetatable({}, {__close = function() log[#log+1] = i end})
            coroutine.yield(tasks)
          end)
          coroutine.resume(tasks[i])
        end
    """)
    corolib.shutdown(lua._state)
    assert sorted(lua.eval("log").values()) == [1, 2, 3, 4, 5]
    assert lua.execute("return coroutine.status(tasks[1])") == "dead"


def test_budget_exhausted_while_unwinding_a_collected_coroutine():
    lua = LuaRuntime(limits=Limits(steps=50_000, time=None))
    with pytest.raises(LuaLimitError, match="step budget exhausted"):
        lua.execute("""
            local co = coroutine.create(function()
              local x <close> = setmetatable({}, {__close = function() while true do end end})
              coroutine.yield()
            end)
            coroutine.resume(co)
            co = nil
            -- The next new coroutine unwinds the collected one first.
            heir = coroutine.create(function() return 'ran' end)
            coroutine.resume(heir)
        """)
    assert lua.execute("return coroutine.status(heir), coroutine.resume(heir)") == (
        "dead", False, "cannot resume dead coroutine")


def test_close_handlers_of_collected_coroutines_see_a_running_thread():
    lua = LuaRuntime()
    assert lua.execute("""
        seen = nil
        local co = coroutine.create(function()
          local x <close> = setmetatable({}, {__close = function()
            local me, ismain = coroutine.running()
            seen = type(me) .. ' ' .. coroutine.status(me) .. ' ' .. tostring(ismain)
          end})
          coroutine.yield()
        end)
        coroutine.resume(co)
        co = nil
        coroutine.wrap(function() end)()
        return seen
    """) == "thread running false"


def test_host_callbacks_from_coroutines_of_deep_runtimes_do_not_deadlock():
    lua = LuaRuntime(profile="standard", limits=Limits(depth=5000, time=None))
    double = lua.eval("function(x) return 2 * x end")
    lua.register_function("host", lambda x: double(x))
    result = []
    caller = threading.Thread(
        target=lambda: result.append(lua.execute("return coroutine.wrap(function() return host(5) end)()")),
        daemon=True)
    caller.start()
    caller.join(3)
    assert result == [10]


def test_runtimes_are_isolated():
    a, b = LuaRuntime(), LuaRuntime()
    co = a.eval("coroutine.create(function() coroutine.yield(1) end)")._value
    a.register_function("mine", lambda: co, raw=True)
    b.register_function("foreign", lambda: co, raw=True)
    with pytest.raises(LuaError, match="coroutine of another runtime"):
        b.execute("return coroutine.resume(foreign())")
    assert a.execute("return coroutine.resume(mine())") == (True, 1)


def test_resume_yield_round_trip_is_fast():
    lua = LuaRuntime(limits=Limits(time=None))
    started = time.perf_counter()
    lua.execute("""
        local co = coroutine.wrap(function() while true do coroutine.yield() end end)
        for i = 1, 5000 do co() end
    """)
    per_round_trip = (time.perf_counter() - started) / 5000
    assert per_round_trip < 0.001
