"""The coroutine library: Lua threads on Python threads with a strict handoff.

Most tests run the same chunk on luapy and on real Lua 5.4 (lupa) under the
same chunk name, so messages and positions are compared byte for byte.
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


def same_as_lua(code):
    """Run ``code`` on both; scalars (and tuples of scalars) must be equal."""
    ours = run(code)
    theirs = lupa_run(code)
    assert ours == theirs
    return ours


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


# ----------------------------------------------------------- basic protocol


def test_resume_yield_passes_values_both_ways():
    assert same_as_lua("""
        local log = {}
        local co = coroutine.create(function(a, b)
          log[#log+1] = 'start ' .. a .. ' ' .. b
          local c, d = coroutine.yield(a + b, a * b)
          log[#log+1] = 'got ' .. c .. ' ' .. d
          return 'done', select('#', coroutine.yield())
        end)
        local r1 = table.pack(coroutine.resume(co, 3, 4))
        local s1 = coroutine.status(co)
        local r2 = table.pack(coroutine.resume(co, 'p', 'q'))
        local r3 = table.pack(coroutine.resume(co, nil, nil, nil))
        local r4 = table.pack(coroutine.resume(co))
        log[#log+1] = table.concat({tostring(r1[1]), r1[2], r1[3], s1}, ',')
        log[#log+1] = r2.n .. ' ' .. tostring(r2[1])
        log[#log+1] = table.concat({tostring(r3[1]), r3[2], r3[3], coroutine.status(co)}, ',')
        log[#log+1] = tostring(r4[1]) .. ' ' .. r4[2]
        return table.concat(log, '\\n')
    """) == ("start 3 4\ngot p q\ntrue,7,12,suspended\n1 true\ntrue,done,3,dead\n"
             "false cannot resume dead coroutine")


def test_generator_with_wrap():
    assert same_as_lua("""
        local function range(n)
          return coroutine.wrap(function() for i = 1, n do coroutine.yield(i) end end)
        end
        local sum, count = 0, 0
        for i in range(100) do sum = sum + i; count = count + 1 end
        return sum, count
    """) == (5050, 100)


def test_producer_consumer():
    assert same_as_lua("""
        local function producer()
          return coroutine.create(function()
            for _, word in ipairs({'alpha', 'beta', 'gamma'}) do coroutine.yield(word) end
            return nil
          end)
        end
        local function filter(source)
          return coroutine.create(function()
            while true do
              local ok, item = coroutine.resume(source)
              if not item then return nil end
              coroutine.yield(item:upper())
            end
          end)
        end
        local out = {}
        local pipe = filter(producer())
        while true do
          local ok, item = coroutine.resume(pipe)
          if not item then break end
          out[#out+1] = item
        end
        return table.concat(out, ' '), coroutine.status(pipe)
    """) == ("ALPHA BETA GAMMA", "dead")


def test_yield_across_pcall_metamethods_and_iterators():
    assert same_as_lua("""
        local mt = {
          __index = function(t, k) return coroutine.yield('index ' .. k) end,
          __add = function(a, b) return coroutine.yield('add') end,
          __lt = function(a, b) return coroutine.yield('lt') end,
          __concat = function(a, b) return coroutine.yield('concat') end,
        }
        local obj = setmetatable({}, mt)
        local function iter(_, i)
          if i < 3 then return i + 1, coroutine.yield('iter ' .. i) end
        end
        local co = coroutine.wrap(function()
          local results = {}
          local ok, v = pcall(function() return coroutine.yield('in pcall') end)
          results[#results+1] = tostring(ok) .. ':' .. v
          results[#results+1] = obj.field
          results[#results+1] = obj + 1
          results[#results+1] = tostring(obj < obj)
          results[#results+1] = obj .. 'x'
          for i, v in iter, nil, 0 do results[#results+1] = i .. '=' .. v end
          return table.concat(results, ',')
        end)
        local seen = {}
        local answer = {'P', 'F', 42, true, 'C', 'a', 'b', 'c'}
        local value = co()
        local i = 0
        while true do
          seen[#seen+1] = value
          i = i + 1
          value = co(answer[i])
          if i == #answer then break end
        end
        return table.concat(seen, ';') .. ' -> ' .. value
    """) == ("in pcall;index field;add;lt;concat;iter 0;iter 1;iter 2 -> "
             "true:P,F,42,true,C,1=a,2=b,3=c")


def test_yield_inside_nested_lua_calls_keeps_depth_balanced():
    # A yield from deep inside recursion, resumed many times: the depth of
    # the resumer and of the coroutine are each restored, never accumulated.
    assert run("""
        local function deep(n) if n == 0 then coroutine.yield(n) return 0 end return deep(n - 1) + 1 end
        local total = 0
        for round = 1, 300 do
          local co = coroutine.wrap(function() return deep(150) end)
          co()
          total = total + co()
        end
        local function outer(n) if n == 0 then return 0 end return outer(n - 1) + 1 end
        return total, outer(190)
    """) == (300 * 150, 190)


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


def test_errors_come_back_as_values():
    assert same_as_lua("""
        local t = {}
        local co = coroutine.create(function() error(t) end)
        local ok, e = coroutine.resume(co)
        local co2 = coroutine.create(function() local x = nil; return x.y end)
        local ok2, e2 = coroutine.resume(co2)
        local co3 = coroutine.create(function() error('plain', 0) end)
        return ok, e == t, coroutine.status(co), ok2, e2, select(2, coroutine.resume(co3))
    """) == (False, True, "dead", False,
             '[string "<python>"]:5: attempt to index a nil value (local \'x\')', "plain")


def test_wrap_errors_get_the_callers_position_if_they_are_strings():
    assert same_as_lua("""
        local co = coroutine.wrap(function() error('boom') end)
        local ok, e = pcall(function()
          co()
        end)
        local t = {}
        local ok2, e2 = pcall(coroutine.wrap(function() error(t) end))
        local ok3, e3 = pcall(coroutine.wrap(function() error('bare', 0) end))
        local dead = coroutine.wrap(function() end)
        dead()
        local ok4, e4 = pcall(function()
          local x = dead()
          return x
        end)
        return e, e2 == t, e3, e4
    """) == ('[string "<python>"]:4: [string "<python>"]:2: boom', True, "bare",
             '[string "<python>"]:12: cannot resume dead coroutine')


def test_resume_and_close_of_active_coroutines():
    assert same_as_lua("""
        local main = coroutine.running()
        local r = {}
        r[#r+1] = select(2, coroutine.resume(main))
        r[#r+1] = select(2, pcall(coroutine.close, main))
        local outer
        outer = coroutine.create(function()
          r[#r+1] = select(2, coroutine.resume(outer))
          r[#r+1] = select(2, pcall(coroutine.close, outer))
          local inner = coroutine.create(function()
            r[#r+1] = coroutine.status(outer)
            r[#r+1] = select(2, coroutine.resume(outer))
            r[#r+1] = select(2, pcall(function() coroutine.close(outer) end))
          end)
          coroutine.resume(inner)
        end)
        coroutine.resume(outer)
        r[#r+1] = select(2, pcall(coroutine.yield, 1))
        r[#r+1] = select(2, pcall(function() coroutine.yield(1) end))
        return table.concat(r, '\\n')
    """) == "\n".join([
        "cannot resume non-suspended coroutine",
        "cannot close a running coroutine",
        "cannot resume non-suspended coroutine",
        "cannot close a running coroutine",
        "normal",
        "cannot resume non-suspended coroutine",
        '[string "<python>"]:13: cannot close a normal coroutine',
        "attempt to yield from outside a coroutine",
        "attempt to yield from outside a coroutine",
    ])


@pytest.mark.parametrize("call", [
    "coroutine.create()", "coroutine.create(1)", "coroutine.wrap({})", "coroutine.resume()",
    "coroutine.resume(print)", "coroutine.status()", "coroutine.status(1)", "coroutine.close()",
    "coroutine.isyieldable(1)",
])
def test_argument_errors(call):
    same_as_lua(f"return select(2, pcall(function() {call} end))")


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


# ------------------------------------------------------------ status, running


def test_status_running_and_isyieldable():
    assert same_as_lua("""
        local main, ismain = coroutine.running()
        local r = {type(main), tostring(ismain), coroutine.status(main), tostring(coroutine.isyieldable())}
        local co
        co = coroutine.create(function()
          local me, flag = coroutine.running()
          r[#r+1] = tostring(me == co) .. ' ' .. tostring(flag)
          r[#r+1] = coroutine.status(co) .. ' ' .. coroutine.status(main)
          r[#r+1] = tostring(coroutine.isyieldable()) .. ' ' .. tostring(coroutine.isyieldable(main))
          coroutine.yield()
        end)
        r[#r+1] = coroutine.status(co) .. ' ' .. tostring(coroutine.isyieldable(co))
        coroutine.resume(co)
        r[#r+1] = coroutine.status(co)
        coroutine.resume(co)
        r[#r+1] = coroutine.status(co)
        r[#r+1] = type(co) .. ' ' .. tostring(tostring(co):match('^thread: 0x%x+$') ~= nil)
        r[#r+1] = type(coroutine.wrap(print))
        return table.concat(r, ',')
    """) == ("thread,true,running,false,suspended true,true false,running normal,true false,"
             "suspended,dead,thread true,function")


# ----------------------------------------------------------------- closing


def test_close_runs_pending_close_variables():
    assert same_as_lua("""
        local log = {}
        local function closer(name, fail)
          return setmetatable({}, {__close = function(_, err)
            log[#log+1] = name .. ':' .. tostring(err)
            if fail then error(fail, 0) end
          end})
        end
        local co = coroutine.create(function()
          local a <close> = closer('a')
          local b <close> = closer('b', 'b failed')
          local c <close> = closer('c')
          coroutine.yield(1)
          log[#log+1] = 'not reached'
        end)
        coroutine.resume(co)
        local ok, err = coroutine.close(co)
        local again = coroutine.close(co)
        local fresh = coroutine.create(function() end)
        local r = {tostring(ok), err, tostring(again), coroutine.status(co),
                   tostring(coroutine.close(fresh)), coroutine.status(fresh),
                   select(2, coroutine.resume(fresh))}
        local clean = coroutine.create(function() local x <close> = closer('x') coroutine.yield() end)
        coroutine.resume(clean)
        r[#r+1] = tostring(coroutine.close(clean))
        return table.concat(log, ' ') .. ' | ' .. table.concat(r, ',')
    """) == ("c:nil b:nil a:b failed x:nil | false,b failed,true,dead,true,dead,"
             "cannot resume dead coroutine,true")


def test_close_reports_the_error_a_coroutine_died_with_once():
    assert same_as_lua("""
        local co = coroutine.create(function() error('x') end)
        coroutine.resume(co)
        local ok, e = coroutine.close(co)
        return ok, e, coroutine.close(co), coroutine.status(co)
    """) == (False, '[string "<python>"]:2: x', True, "dead")


def test_close_variables_see_errors_and_yield_inside_pcall_in_coroutines():
    assert same_as_lua("""
        local log = {}
        local co = coroutine.wrap(function()
          local ok, e = pcall(function()
            local v <close> = setmetatable({}, {__close = function(_, err) log[#log+1] = 'closed ' .. tostring(err) end})
            coroutine.yield('paused')
            error('fail', 0)
          end)
          log[#log+1] = tostring(ok) .. ' ' .. e
          return 'end'
        end)
        local first = co()
        log[#log+1] = first
        local second = co()
        log[#log+1] = second
        return table.concat(log, ';')
    """) == "paused;closed fail;false fail;end"


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
