"""The coroutine library: Lua threads as chains of Python generators.

The protocol itself (resume and yield, wrap, status, errors as values,
close) is checked line by line against real Lua 5.4 by the scripts in
``tests/lua/lib/coroutine/``.  The tests here are about what only Python can
see or arrange: no threads, collection, budgets, host exceptions and
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


# ------------------------------------------------------------------ depth


#: ``probe()``: how deep Lua recursion may go from here (to ten levels).
DEPTH_PROBE = """
        local function depth(n) return n == 0 and 0 or 1 + depth(n - 1) end
        local function probe()
          local best = 0
          for n = 10, 400, 10 do
            if not pcall(depth, n) then break end
            best = n
          end
          return best
        end
"""


def test_recursion_inside_a_coroutine_goes_as_deep_as_outside():
    code = DEPTH_PROBE + """
        return probe(), coroutine.wrap(probe)()
    """
    outside, inside = run(code)
    assert outside == inside and outside > 150


# ------------------------------------------------------------------ errors


def test_budget_exhaustion_inside_a_coroutine_is_not_catchable():
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
    # A process started in the background inherits SIGINT ignored, and
    # Python then installs no handler: put the usual one in for the test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            lua.execute("coroutine.wrap(function() interrupt() while true do end end)()")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert lua.execute("return coroutine.isyieldable(), 1 + 1") == (False, 2)


# ------------------------------------------------------ no threads, collection


def test_coroutines_never_start_a_thread():
    lua = LuaRuntime(limits=Limits(coroutines=10_000, memory=None))
    before = threading.active_count()
    assert lua.execute("""
        held = {}
        for i = 1, 5000 do
          held[i] = coroutine.create(function(x) while true do x = coroutine.yield(x + 1) end end)
          assert(coroutine.resume(held[i], i))
        end
        local sum = 0
        for i = 1, 5000 do sum = sum + select(2, coroutine.resume(held[i], i)) end
        return sum
    """) == sum(range(2, 5002))
    assert threading.active_count() <= before + 1   # +1: the budget watchdog


def test_dropped_suspended_coroutines_are_collected_without_closing_variables():
    # As in lua5.4: only coroutine.close closes a suspended coroutine's
    # pending variables; a collected one just goes.
    lua = LuaRuntime(limits=Limits(coroutines=40))
    assert lua.execute("""
        closed = 0
        local function make()
          local co = coroutine.create(function()
            local guard <close> = setmetatable({}, {__close = function() closed = closed + 1 end})
            coroutine.yield()
          end)
          coroutine.resume(co)
          return co
        end
        local made = 0
        for i = 1, 400 do make() made = made + 1 end   -- ten times the cap
        local kept = make()
        coroutine.close(kept)
        return made, closed
    """) == (400, 1)


def test_collected_coroutines_give_back_their_depth():
    # A collected coroutine's frames unwind (Python closes the generators)
    # and must leave the depth exactly as it was.
    code = DEPTH_PROBE + """
        local before = probe()
        local function deep(n) if n == 0 then coroutine.yield() else deep(n - 1) end end
        for i = 1, 50 do
          local co = coroutine.create(deep)
          coroutine.resume(co, 100)
        end
        collectgarbage()
        return before, probe()
    """
    before, after = run(code)
    assert before == after > 150


def test_too_many_coroutines():
    # No time budget: the collection forced at the cap is charged to the
    # call, and under pytest the heap it walks is large.
    lua = LuaRuntime(limits=Limits(coroutines=40, time=None))
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


def test_memory_budget_bounds_suspended_coroutines():
    lua = LuaRuntime(limits=Limits(memory=2 * 1024 * 1024, time=None, coroutines=100_000))
    with pytest.raises(LuaLimitError, match="memory budget exhausted"):
        lua.execute("""
            held = {}
            for i = 1, 100000 do
              held[i] = coroutine.create(coroutine.yield)
              coroutine.resume(held[i])
            end
        """)
    suspended = lua.execute("return #held")
    assert 50 < suspended < 2 * 1024 * 1024 // (corolib.COROUTINE_COST + corolib.START_COST)


def test_deep_suspended_coroutines_are_charged_per_frame():
    lua = LuaRuntime(limits=Limits(memory=4 * 1024 * 1024, time=None, coroutines=100_000))
    with pytest.raises(LuaLimitError, match="memory budget exhausted"):
        lua.execute("""
            local function deep(n) if n == 0 then coroutine.yield() else deep(n - 1) end end
            held = {}
            for i = 1, 100000 do
              held[i] = coroutine.create(deep)
              coroutine.resume(held[i], 100)
            end
        """)
    assert lua.execute("return #held") < 4 * 1024 * 1024 // (100 * corolib.FRAME_COST) + 1


def test_two_hundred_thousand_suspended_coroutines():
    lua = LuaRuntime(profile="trusted")
    started = time.perf_counter()
    assert lua.execute("""
        held = {}
        for i = 1, 200000 do
          local co = coroutine.wrap(function(x) coroutine.yield(x) return x * 2 end)
          co(i)
          held[i] = co
        end
        return held[200000]()
    """) == 400000
    assert time.perf_counter() - started < 60


def test_close_runs_pending_variables_of_a_deep_chain_across_pcall():
    assert run("""
        local log = {}
        local function closer(name)
          return setmetatable({}, {__close = function(_, e) log[#log+1] = name end})
        end
        local co = coroutine.create(function()
          local a <close> = closer('a')
          pcall(function()
            local b <close> = closer('b')
            coroutine.yield()
          end)
          log[#log+1] = 'not reached'
        end)
        coroutine.resume(co)
        local ok = coroutine.close(co)
        return tostring(ok) .. ' ' .. table.concat(log, ' ') .. ' ' .. coroutine.status(co)
    """) == "true b a dead"


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


def test_a_coroutine_dead_from_an_error_keeps_its_frames_until_closed():
    # debug.traceback(co) reads the frames at the lines the error left them
    # on (base.ERROR_LINES, by frame id); closing frees the frames, so their
    # ids, which a new frame may take, must be forgotten then.
    import gc

    from luapy.stdlib.base import ERROR_LINES
    runtime = LuaRuntime(profile="standard")
    gc.collect()  # earlier tests' dead coroutines go now, not half-way
    before = len(ERROR_LINES)
    runtime.execute("""
        keep = {}
        for i = 1, 4 do
          local co = coroutine.create(function() error("e") end)
          coroutine.resume(co)
          keep[i] = co
        end""")
    kept = len(ERROR_LINES) - before
    assert kept > 0
    assert runtime.execute("""
        coroutine.close(keep[1]); coroutine.close(keep[2])
        return debug.traceback(keep[1]) == "stack traceback:" and debug.traceback(keep[3]) ~= "stack traceback:"
    """) is True
    assert len(ERROR_LINES) - before == kept // 2
    runtime.execute("keep = nil collectgarbage()")
    assert len(ERROR_LINES) == before
