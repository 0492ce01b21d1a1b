"""The debug library: standard profile only, read off the Python stack."""

from __future__ import annotations

import subprocess
import sys

import pytest

from luapy import Limits, LuaRuntime

from tests.stdlib_support import run_both

pytest.importorskip("lupa.lua54")


def test_sandbox_has_no_debug_library():
    lua = LuaRuntime()
    assert lua.eval("debug") is None
    assert lua.eval("package.loaded.debug") is None


def test_getinfo_of_a_running_function_matches_lua():
    source = """
    local function foo(a, b, ...)
      local info = debug.getinfo(1, "Slu")
      return info.currentline, info.linedefined, info.lastlinedefined, info.what,
             info.nparams, info.isvararg, info.nups
    end
    return foo()
    """
    ours, reference = run_both(source)
    assert ours == reference


def test_getinfo_func_and_name_and_levels():
    source = """
    local function inner() local i = debug.getinfo(1, "nf"); return i.func, i.name, debug.getinfo(2, "S").what end
    local f, name, what = inner()
    return f == inner, name, what, debug.getinfo(100) == nil, debug.getinfo(print).what
    """
    ours, reference = run_both(source)
    assert ours == reference


def test_getlocal_values_and_setlocal_writes_the_frame():
    lua = LuaRuntime(profile="standard")
    assert lua.execute("""
    local function f(a, ...)
      local x = 10
      local _, first = debug.getlocal(1, 1)
      local _, second = debug.getlocal(1, 2)
      local vname, vvalue = debug.getlocal(1, -1)
      debug.setlocal(1, 2, 99)
      return first, second, vname, vvalue, x
    end
    return f(1, "va")
    """) == (1, 10, "(vararg)", "va", 99)


def test_upvalues_get_set_id_and_join():
    source = """
    local a, b = 1, 2
    local function fa() return a end
    local function fb() return b end
    local _, va = debug.getupvalue(fa, 1)
    debug.setupvalue(fa, 1, 5)
    local same = debug.upvalueid(fa, 1) == debug.upvalueid(fa, 1)
    local differ = debug.upvalueid(fa, 1) ~= debug.upvalueid(fb, 1)
    debug.upvaluejoin(fa, 1, fb, 1)
    return va, a, same, differ, fa(), debug.upvalueid(fa, 1) == debug.upvalueid(fb, 1)
    """
    ours, reference = run_both(source)
    assert ours == reference


def test_upvalues_are_named_and_numbered_in_order_of_first_mention():
    # lua5.4 numbers upvalues as its one-pass parser meets them: a before
    # b in a+b, the indexed object before its key, the callee before its
    # arguments, and _ENV where the first global is read.
    source = """
    local a, b, t, k = 1, 2, {}, 3
    local function names(f)
      local out = {}
      for i = 1, 10 do
        local name = debug.getupvalue(f, i)
        if not name then break end
        out[#out + 1] = name
      end
      return table.concat(out, " ")
    end
    local function f1() return a + b end
    local function f2() return b + a * k end
    local function f3() return t[k], print(a) end
    local function f4() local x = -(b - a); return x end
    return names(f1), names(f2), names(f3), names(f4), names(load("x = 1")),
           debug.getinfo(f2, "u").nups
    """
    ours, reference = run_both(source)
    assert ours == reference == ("a b", "b a k", "t k _ENV a", "b a", "_ENV", 3)


def test_upvalues_of_a_builtin_closure():
    source = """
    local it = string.gmatch("x", "x")
    local name, value = debug.getupvalue(it, 1)
    return name, value, debug.upvalueid(it, 1) ~= nil, debug.getinfo(it, "u").nups
    """
    ours, reference = run_both(source)
    assert ours == reference


def execute_in_child(source: str) -> str:
    """``repr`` of what ``source`` returns, run in a child process: hooks
    are sys.settrace, and under pytest-xdist's worker (execnet) tracing
    its frames never finished."""
    child = (
        "from luapy import LuaRuntime\n"
        "lua = LuaRuntime(profile='standard')\n"
        f"print(repr(lua.execute({source!r})))\n")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_hooks_line_call_count_and_off():
    assert execute_in_child(SOURCE_HOOKS) == repr((4, 5, None, True, True))


SOURCE_HOOKS = """
    local lines, calls, counts = {}, 0, 0
    debug.sethook(function(event, line) lines[#lines + 1] = line end, "l")
    local x = 1
    x = x + 1
    debug.sethook()
    local hook, mask = debug.gethook()
    debug.sethook(function(event) calls = calls + 1 end, "c")
    local function g() end
    g(); g()
    debug.sethook()
    debug.sethook(function() counts = counts + 1 end, "", 10)
    for i = 1, 100 do end
    debug.sethook()
    return lines[1], lines[2], hook, calls >= 2, counts > 0
"""


def test_traceback_names_levels():
    lua = LuaRuntime(profile="standard")
    text = lua.execute("""
    local function leaf() return debug.traceback("msg") end
    return leaf()
    """)
    assert text.startswith("msg\nstack traceback:\n")
    assert ":2: in " in text


def test_metatables_registry_and_cstacklimit():
    source = """
    local mt = {}
    debug.setmetatable(10, mt)
    local got = debug.getmetatable(20) == mt
    debug.setmetatable(10, nil)
    return got, debug.getmetatable(1), type(debug.getregistry()), debug.setcstacklimit(100),
           debug.getuservalue(1)
    """
    ours, reference = run_both(source)
    assert ours == reference


def test_metatables_of_basic_types_are_honoured_by_operators():
    source = """
    local mt = {__index = function (a, b) return a + b end,
                __len = function (x) return math.floor(x) end,
                __call = function (self, x) return self * x end,
                __concat = function (a, b) return "cat" end}
    debug.setmetatable(10, mt)
    local r = {(10)[3], #3.45, (6)(7), 1 .. {}, getmetatable(-2) == mt}
    debug.setmetatable(10, nil)
    debug.setmetatable(nil, {__add = function (a, b) return (a or 1) + (b or 2) end})
    r[#r + 1] = 10 + nil
    r[#r + 1] = nil + nil
    debug.setmetatable(nil, nil)
    debug.setmetatable(true, {__index = function (a, b) return a or b end})
    r[#r + 1] = (false)[7]
    debug.setmetatable(true, nil)
    r[#r + 1] = pcall(function () return (1)[1] end)
    return table.unpack(r)
    """
    ours, reference = run_both(source)
    assert ours == reference == (13, 3, 42, "cat", True, 12, 3, 7, False)


def test_getlocal_names_the_locals_in_scope_where_the_frame_is():
    # Values of a numeric for's hidden state are not kept (a Python range
    # is), and lua5.4's "(temporary)" stack slots have no counterpart.
    source = """
    local function locals(level)
      local t = {}
      for i = 1, 100 do
        local n, v = debug.getlocal(level + 1, i)
        if not n or n == "(temporary)" then break end
        if n == "(for state)" and (type(v) == "number" or v == nil) then v = "?" end
        t[#t + 1] = n .. "=" .. tostring(v):gsub(":.*", "")
      end
      return table.concat(t, " ")
    end
    local out = {}
    local function f(a, b, ...)
      local x = 1
      out[#out + 1] = locals(1)
      do local y = 2; out[#out + 1] = locals(1) end
      out[#out + 1] = locals(1)
      for i = 1, 2 do local z = i; if i == 2 then out[#out + 1] = locals(1) end end
      for k, v in pairs({10}) do out[#out + 1] = locals(1) end
      repeat local q = 5; out[#out + 1] = locals(1) until true
      local up = 3
      local function g() return up end
      out[#out + 1] = locals(1)
    end
    f(1, 2, 3)
    out[#out + 1] = table.concat({debug.getlocal(f, 1), debug.getlocal(f, 2),
                                  tostring(debug.getlocal(f, 3))}, " ")
    return table.concat(out, "\\n")
    """
    ours, reference = run_both(source)
    assert ours == reference
    assert "(for state)=function (for state)=table (for state)=? (for state)=? k=1 v=10" in ours


def test_getlocal_reads_a_generic_for_s_closing_value():
    # files.lua: the fourth "(for state)" of io.lines' loop is the file.
    source = """
    local closing = setmetatable({}, {__close = function () end})
    local function iter(_, i) if i < 2 then return i + 1 end end
    for i in iter, nil, 0, closing do
      local found = 0
      for n = 1, 10 do
        local name, value = debug.getlocal(1, n)
        if name == "(for state)" then found = found + 1 end
        if found == 4 then return value == closing, i end
      end
    end
    """
    ours, reference = run_both(source)
    assert ours == reference == (True, 1)


def test_close_handlers_run_by_an_error_see_the_protected_call_as_their_caller():
    # locals.lua: lua5.4 unwinds the erring function before closing its
    # variables, so level 2 of a handler is pcall.
    source = """
    local names = {}
    local function closing()
      return setmetatable({}, {__close = function ()
        names[#names + 1] = debug.getinfo(2, "n").name
      end})
    end
    local function foo()
      local x <close> = closing()
      local y <close> = closing()
      error("boom")
    end
    local ok = pcall(foo)
    return ok, names[1], names[2]
    """
    ours, reference = run_both(source)
    assert ours == reference == (False, "pcall", "pcall")


def test_a_metamethod_is_named_as_one():
    source = """
    local t = setmetatable({}, {__index = function (t, k)
      local info = debug.getinfo(1, "n")
      return info.namewhat .. " " .. info.name
    end})
    return t.x
    """
    ours, reference = run_both(source)
    assert ours == reference == "metamethod index"


def test_getinfo_names_a_function_as_its_call_site_does():
    # db.lua: "field", "local", "method", "upvalue" and "global" callers.
    source = """
    local function who()
      local info = debug.getinfo(2, "n")
      return (info.namewhat or "") .. " " .. (info.name or "?")
    end
    local t = {}
    function t.field() local r = who(); return r end
    function t:method() local r = who(); return r end
    local function loc() local r = who(); return r end
    local function up() local r = loc(); return r end
    function glob() local r = who(); return r end
    local r = {t.field(), t:method(), loc(), glob()}
    local f = function () local r = up(); return r end
    return table.concat(r, ","), f()
    """
    ours, reference = run_both(source)
    assert ours == reference == ("field field,method method,local loc,global glob", "upvalue loc")


SOURCE_HOOK_MID_LINE = (
    "local t = {}\n"
    "debug.sethook(function (e, l) t[#t + 1] = l end, 'l'); local x = 1; x = 2\n"
    "x = 3\n"
    "debug.sethook()\n"
    "return table.concat(t, ' ')\n")


def test_a_line_hook_starts_with_the_next_line():
    # db.lua: setting the hook mid-line reports nothing for that line.
    assert execute_in_child(SOURCE_HOOK_MID_LINE) == repr("3 4")


def test_a_message_handler_sees_the_levels_the_error_came_up_through():
    # lua5.4 runs xpcall's handler on top of the stack where the error was
    # raised (locals.lua:493); luapy has unwound it by then.
    source = """
    local function bar() local t = nil; return t.x end
    local function baz() error("deep") end
    local _, direct = xpcall(bar, debug.traceback)
    local _, lua_handler = xpcall(bar, function(m) return debug.traceback(m, 2) end)
    local _, nested = xpcall(function() baz() end, debug.traceback)
    local _, info = xpcall(baz, function(m)
      local i = debug.getinfo(3, "Sln")
      return i.currentline .. " " .. tostring(i.name) .. " " .. debug.getinfo(2, "S").what
    end)
    return direct, lua_handler, nested, info
    """
    ours, reference = run_both(source)
    assert ours == tuple(text.replace('[string "<python>"]', "(execute)") for text in reference)
    assert "in function 'error'" in ours[2]


def test_a_close_handler_that_raises_is_named_in_the_message_handler_s_traceback():
    source = """
    local function foo(...)
      local x <close> = setmetatable({}, {__close = function() error("@x123") end})
    end
    local _, msg = xpcall(foo, debug.traceback)
    return msg
    """
    ours = LuaRuntime(profile="standard").execute(source)
    assert ours.startswith("(execute):3: @x123\nstack traceback:\n"
                           "\t[C]: in function 'error'\n"
                           "\t(execute):3: in metamethod 'close'\n")
    assert "in function 'xpcall'" in ours


def test_the_return_of_sethook_and_of_the_builtins_below_it_is_hooked():
    # locals.lua:806: the hook set inside a __close sees sethook return.
    source = """
    local trace = {}
    local function hook(event) trace[#trace + 1] = event .. " " .. tostring(debug.getinfo(2).name) end
    local function foo(...)
      local x <close> = setmetatable({}, {__close = function() trace[#trace + 1] = "x" end})
      local y <close> = setmetatable({}, {__close = function() debug.sethook(hook, "r") end})
      return ...
    end
    local t = {foo(10, 20, 30)}
    debug.sethook()
    return table.concat(t, " ") .. " | " .. table.concat(trace, ", ")
    """
    ours, reference = run_both(source)
    assert ours == reference == "10 20 30 | return sethook, return close, x, return close, return foo"


@pytest.mark.parametrize("chunk", [
    "local i = 0 while i < 3 do i = i + 1 end",
    "local i = 0 repeat i = i + 1 until i == 3",
    "for k, v in pairs({1, 2, 3}) do local x = v end",
    "local i = 0 while i < 3 do i = i + 1 end\nlocal y = 1",
])
def test_a_loop_on_one_line_hooks_the_line_each_time_it_jumps_back(chunk):
    # lua5.4 fires a line event on every backward jump (``pc <= oldpc``),
    # even to the same line.
    source = """
    local lines = {}
    local f = load(...)
    debug.sethook(function(_, line) lines[#lines + 1] = line end, "l"); f(); debug.sethook()
    return table.concat(lines, ",")
    """
    ours = LuaRuntime(profile="standard").eval(f"function(...) {source} end")(chunk)
    lupa = pytest.importorskip("lupa.lua54")
    assert ours == lupa.LuaRuntime().eval(f"function(...) {source} end")(chunk)


HOOKED_COROUTINES = """
local trace = {}
local function hook(event) trace[#trace + 1] = event .. " " .. tostring(debug.getinfo(2, "n").name) end
local co = coroutine.create(function(a)
  local b = coroutine.yield(a + 1)
  local inner = coroutine.wrap(function() debug.sethook(hook, "r") coroutine.yield() end)
  inner()       -- its hook is its own: nothing of this coroutine's is hooked
  inner()
  return b * 2
end)
debug.sethook(co, hook, "cr")   -- coroutine.lua:352: a hook for another coroutine
local main_hook = debug.gethook()
local co_hook = debug.gethook(co) == hook
coroutine.resume(co, 1)
local mid = #trace
coroutine.resume(co, 5)
debug.sethook(co)
return table.concat(trace, ", "), mid, main_hook, co_hook, debug.gethook(co)
"""


def test_hooks_are_per_coroutine_and_a_yield_is_no_return():
    ours, reference = run_both(HOOKED_COROUTINES)
    assert ours == reference
    assert ours[0] == ("call nil, call yield, return yield, call wrap, return wrap, call inner, "
                       "return sethook, return inner, call inner, return yield, return nil, "
                       "return inner, return nil")


def test_the_levels_of_a_suspended_coroutine_are_seen():
    source = """
    local function g(x) coroutine.yield(x) end
    local co = coroutine.create(function(a)
      local y = 1
      g(a)
      return y
    end)
    coroutine.resume(co, 7)
    local info = debug.getinfo(co, 2, "Sl")
    local name, value = debug.getlocal(co, 1, 1)
    local lines = {}
    for line in debug.traceback(co):gmatch(":(%d+):") do lines[#lines + 1] = line end
    return info.currentline, info.linedefined, name, value, table.concat(lines, " "),
           debug.getinfo(co, 3) == nil
    """
    ours, reference = run_both(source)
    assert ours == reference == (5, 3, "x", 7, "2 5", True)


# -- what db.lua needs of the debug library (issue 13) -----------------------------

@pytest.mark.parametrize("source", [
    # db.lua:291: setlocal of a vararg.
    """local function f(...) assert(debug.setlocal(1, -2, "x") == "(vararg)") return ... end
       return f(1, 2, 3)""",
    # db.lua:402: a builtin's locals are its arguments.
    """local n1, v1 = debug.getlocal(0, 1) local n2, v2 = debug.getlocal(0, 2)
       return n1, v1, n2, v2, debug.getlocal(0, 3), debug.getlocal(0, 0)""",
    # db.lua:409: a value in use above the locals is a temporary, and can be set.
    """local function f() local n, v = debug.getlocal(2, 3) debug.setlocal(2, 3, 10)
       return n, v, debug.getlocal(2, 4) end
       local r1, r2, r3
       local function g(a, b) return (a + 1) + select(2, f()) end
       return g(0, 0)""",
    # db.lua:682: a local being declared is a temporary until its statement ends.
    """local seen = {}
       debug.sethook(function(e, l) seen[#seen + 1] = l .. ":" .. tostring(debug.getlocal(2, 1)) end, "l")
       load("local A = function ()\\n return x\\nend\\nreturn")()
       debug.sethook()
       return table.concat(seen, " ")""",
    # db.lua:307: a hook is named "hook" by getinfo and the traceback.
    """local name, line
       debug.sethook(function() local i = debug.getinfo(1, "n")
         name = i.namewhat .. " " .. i.name
         line = string.match(debug.traceback(), "\\n(.-)\\n") debug.sethook() end, "l")
       local x = 1
       return name, string.find(line, "in hook '%?'") ~= nil""",
    # db.lua:327: the hook table has weak keys.
    """debug.sethook(print, "l"); debug.sethook()
       return getmetatable(debug.getregistry()._HOOKKEY).__mode""",
    # db.lua:529: the values a call and a return transfer.
    """local on, out = false, {}
       debug.sethook(function(event)
         if not on then return end
         local ar = debug.getinfo(2, "r")
         for i = ar.ftransfer, ar.ftransfer + ar.ntransfer - 1 do
           out[#out + 1] = event .. "=" .. tostring(select(2, debug.getlocal(2, i)))
         end
       end, "cr")
       local function foo(a, ...) return ... end
       on = true; select(2, 10, 20, 30); foo(5, 6, 7); on = false
       debug.sethook()
       return table.concat(out, " ")""",
    # db.lua:612: tail calls: "tail call" events, no return of the frame
    # replaced, and istailcall.
    """local events = {}
       local function f(x) return debug.getinfo(1, "t").istailcall, debug.getinfo(2, "t").istailcall end
       local function g(x) return f(x) end
       local function h(x) local r1, r2 = g(x) return r1, r2 end
       debug.sethook(function(e) events[#events + 1] = e end, "cr")
       local a, b = h(1)
       debug.sethook()
       return a, b, table.concat(events, ",")""",
    # db.lua:894: a generic for's iterator is named so.
    """local function it() local i = debug.getinfo(1, "n") name = i.name .. "/" .. i.namewhat end
       for _ in it do end
       return name""",
    # db.lua:903: a finalizer is the __gc metamethod.
    """local name
       setmetatable({}, {__gc = function() local t = debug.getinfo(1, "n") name = t.namewhat .. " " .. t.name end})
       collectgarbage()
       return name""",
    # db.lua:730: the traceback of a suspended coroutine names its levels.
    """local function f(n) if n > 0 then f(n - 1) else coroutine.yield() end end
       local co = coroutine.create(function(n) f(n) end)
       coroutine.resume(co, 2)
       return debug.traceback(co), debug.traceback(co, nil, 2)""",
    # db.lua:919: a running coroutine's levels end where it was resumed.
    """return coroutine.wrap(function() return debug.traceback("m"), debug.getinfo(2) == nil end)()""",
    # db.lua:770: a coroutine's locals, read and written while it is suspended.
    """local co = coroutine.create(function(x)
         local a = 1
         coroutine.yield()
         return x, a
       end)
       coroutine.resume(co, 10)
       local n1, v1 = debug.getlocal(co, 1, 1)
       local n2, v2 = debug.getlocal(co, 1, 2)
       debug.setlocal(co, 1, 2, "hi")
       return n1, v1, n2, v2, select(2, coroutine.resume(co))""",
    # db.lua:1004: code without debug information calls a line hook with no
    # line, for its first instruction.
    """local function foo()
         local a = 1
         local b = 2
         return b
       end
       local s = load(string.dump(foo, true))
       local n, line = 0, true
       debug.sethook(function(e, l) n = n + 1 line = l end, "l")
       local r = s(); debug.sethook()
       return r, n, line""",
    # db.lua:1000: a chunk loaded without debug information has no local names.
    """local f = load(string.dump(load("local a = 12 return debug.getlocal(1, 1)"), true))
       return f()""",
])
def test_the_debug_library_as_db_lua_uses_it(source):
    lupa = pytest.importorskip("lupa.lua54")
    # Loaded under one name in both, for the tracebacks.  A collection is
    # charged to the time budget and walks the whole test worker's heap.
    program = f"return assert(load({source!r}, '=t'))()"
    ours = LuaRuntime(profile="standard", limits=Limits(time=60)).execute(program)
    assert ours == lupa.LuaRuntime().execute(program)


def test_activelines_include_the_end_after_a_return():
    # db.lua:776: lua5.4 ends every function with a return on its ``end``.
    source = """
    local function f(x)
      return x
    end
    local lines = {}
    for line in pairs(debug.getinfo(f, "L").activelines) do lines[#lines + 1] = line end
    table.sort(lines)
    return table.concat(lines, ",")
    """
    ours, reference = run_both(source)
    assert ours == reference == "3,4"


def test_a_collection_in_a_hook_keeps_captured_locals_and_parameters():
    # db.lua:334: a collection in a hook cleared the cells of captured locals
    # out of scope where a frame was (clearing the upvalue of the closures
    # sharing them), and the parameters of a frame hooked at its call.
    source = """
    local seen = 0
    local keep = "kept"
    debug.sethook(function(e) collectgarbage() seen = seen + 1 local _ = keep:upper() end, "cr")
    local function f(a, b) return a + b end
    local r = f(1, 2)
    debug.sethook()
    return r, keep
    """
    assert execute_in_child(source) == repr((3, "kept"))


def test_a_line_hook_set_in_a_call_hook_sees_the_called_functions_first_line():
    # db.lua:468.
    source = """
    local X
    local function collect() local t = {} local i = 1
      while debug.getlocal(3, i) do
        local name = debug.getlocal(3, i)
        if string.find(name, "^%w+$") then t[#t + 1] = name end
        i = i + 1
      end
      return table.concat(t, ",") end
    local obj = {}
    function obj:f(a, b, ...) local arg = {...}; local c = 13 end
    debug.sethook(function(e)
      debug.sethook(function(e, l) debug.sethook() X = collect() end, "l")
    end, "c")
    obj:f(1, 2, 3)
    return X
    """
    ours, reference = run_both(source)
    assert ours == reference == "self,a,b"


def test_coroutine_switches_stop_consulting_hooks_once_none_is_left():
    runtime = LuaRuntime(profile="standard")
    runtime.execute("""
        local co = coroutine.wrap(function() coroutine.yield() end)
        debug.sethook(function() end, "l"); debug.sethook()
        co()""")
    assert runtime._state.coroutines.on_switch is None
    runtime.execute("""
        co = coroutine.create(function() coroutine.yield() end)
        debug.sethook(co, function() end, "l")""")
    assert runtime._state.coroutines.on_switch is not None
