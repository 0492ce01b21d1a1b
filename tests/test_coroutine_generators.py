"""Coroutines as generator chains: what crosses a yield, what can't, and
what the generator form costs code that never runs in a coroutine.

Where lua5.4 has an answer, the same chunk runs in lupa and the results
must be equal.
"""

import pytest

from luapy import Limits, LuaError, LuaRuntime
from tests.test_coroutine import lupa_run, run


#: Drives a wrap'd coroutine that yields strings: the concatenated yields,
#: then what it returns.  Each resume answers with the yielded text upper-cased.
DRIVE = """
local function drive(body)
  local co = coroutine.wrap(body)
  local seen = {}
  local value = co()
  while value ~= 'end' do
    seen[#seen+1] = tostring(value)
    value = co(type(value) == 'string' and value:upper() or value)
  end
  return table.concat(seen, ' ')
end
"""


@pytest.mark.parametrize("name, body, expect", [
    ("pcall", "local ok, v = pcall(function(x) return coroutine.yield(x) end, 'p') coroutine.yield(v)",
     "p P"),
    ("xpcall", "local ok, v = xpcall(coroutine.yield, print, 'x') coroutine.yield(v)", "x X"),
    ("pcall error after yield", """
        local ok, e = pcall(function() coroutine.yield('a') error('boom') end)
        coroutine.yield(e)""", "a [string \"<python>\"]:13: boom"),
    ("__index", "local t = setmetatable({}, {__index = function(_, k) return coroutine.yield(k) end}) "
                "coroutine.yield(t.key)", "key KEY"),
    ("__newindex", "local got local t = setmetatable({}, {__newindex = function(_, k, v) got = coroutine.yield(v) end}) "
                   "t.x = 'nv' coroutine.yield(got)", "nv NV"),
    ("__call", "local c = setmetatable({}, {__call = function(_, a) return coroutine.yield(a) end}) "
               "coroutine.yield(c('call'))", "call CALL"),
    ("__eq and __le", """
        local mt = {__eq = function() return coroutine.yield('eq') end,
                    __le = function() return coroutine.yield('le') end}
        local a, b = setmetatable({}, mt), setmetatable({}, mt)
        coroutine.yield(tostring(a == b) .. tostring(a <= b))""", "eq le truetrue"),
    ("__len and __unm", """
        local t = setmetatable({}, {__len = function() return coroutine.yield('len') end,
                                    __unm = function() return coroutine.yield('unm') end})
        coroutine.yield(#t .. -t)""", "len unm LENUNM"),
    ("concat chain", """
        local t = setmetatable({}, {__concat = function(a, b)
          return coroutine.yield((type(a) == 'table' and 'T' or a) .. '+' .. (type(b) == 'table' and 'T' or b))
        end})
        coroutine.yield('a' .. t .. 'b')""", "T+b aT+B"),
    ("generic for", """
        local function iter(_, i) if i < 2 then return i + 1, coroutine.yield('i' .. i) end end
        local out = {}
        for i, v in iter, nil, 0 do out[#out+1] = v end
        coroutine.yield(table.concat(out))""", "i0 i1 I0I1"),
    ("__pairs", """
        local t = setmetatable({}, {__pairs = function(t)
          coroutine.yield('pairs')
          return function(_, k) if not k then return 1, 'one' end end, t, nil
        end})
        for k, v in pairs(t) do coroutine.yield(v) end""", "pairs one"),
    ("__close", """
        do local x <close> = setmetatable({}, {__close = function() coroutine.yield('closing') end}) end
        coroutine.yield('after')""", "closing after"),
    ("isyieldable after a failed yield inside sort", """
        local ok, e = pcall(table.sort, {1, 2, 3}, coroutine.yield)
        coroutine.yield(tostring(ok) .. ' ' .. tostring(coroutine.isyieldable()))""", "false true"),
    ("tail calls", """
        local function loop(n) if n == 0 then return coroutine.yield('bottom') end return loop(n - 1) end
        coroutine.yield(loop(100000))""", "bottom BOTTOM"),
])
def test_yields_cross(name, body, expect):
    code = DRIVE + f"return drive(function() {body} return 'end' end)"
    got = run(code)
    assert got == expect
    assert got == lupa_run(code)


@pytest.mark.parametrize("body", [
    # A builtin without a generator form is a C function: no yield crosses it.
    "return tostring(setmetatable({}, {__tostring = function() coroutine.yield() return 'x' end}))",
    "return select(2, load(function() coroutine.yield() end))",
    "return select(2, string.format('%s', setmetatable({}, {__tostring = function() return coroutine.yield() end})))",
    # lua5.4's sort calls its comparator (and ``__lt``) with lua_call, no
    # continuation: coroutine.lua:289 and errors.lua:374 of the official suite.
    "table.sort({1, 2, 3}, coroutine.yield)",
    "table.sort({3, 1, 2}, function(a, b) coroutine.yield('c') return a < b end)",
    "local mt = {__lt = function() return coroutine.yield() end} "
    "table.sort({setmetatable({}, mt), setmetatable({}, mt)})",
    # a ``__close`` is not a C boundary, but the sort it runs inside is
    "table.sort({1, 2}, function() local x <close> = setmetatable({}, {__close = coroutine.yield}) end)",
    # lua5.4's gsub calls its replacement function with lua_call too.
    "string.gsub('ab', '%a', coroutine.yield)",
    "string.gsub('ab', '%a', function(c) return coroutine.yield(c) end)",
])
def test_yield_across_a_builtin_without_generator_form_fails(body):
    code = f"return select(-1, coroutine.resume(coroutine.create(function() {body} end)))"
    message = run(code)
    assert "attempt to yield across a C-call boundary" in message
    assert message == lupa_run(code)


def test_isyieldable_and_running_as_the_manual_says():
    code = """
        local main, ismain = coroutine.running()
        local r = {coroutine.isyieldable(), ismain, coroutine.status(main)}
        local co
        co = coroutine.create(function()
          local me, inmain = coroutine.running()
          r[#r+1] = coroutine.isyieldable()
          r[#r+1] = inmain
          r[#r+1] = me == co
          r[#r+1] = coroutine.status(main)
          r[#r+1] = coroutine.status(me)
          -- inside a C function's callback nothing can yield
          r[#r+1] = tostring(setmetatable({}, {__tostring = function() return tostring(coroutine.isyieldable()) end}))
        end)
        coroutine.resume(co)
        r[#r+1] = coroutine.status(co)
        for i = 1, #r do r[i] = tostring(r[i]) end
        return table.concat(r, ' ')
    """
    assert run(code) == lupa_run(code) == "false true running true false true normal running false dead"


def test_errors_inside_coroutines_keep_positions_and_tracebacks():
    code = """
        local function inner() local t = nil; return t.x end
        local co = coroutine.create(function() coroutine.yield() inner() end)
        coroutine.resume(co)
        local ok, e = coroutine.resume(co)
        local w = coroutine.wrap(function() error('wrapped') end)
        local ok2, e2 = pcall(w)
        local ok3, e3 = pcall(coroutine.wrap(function() error({}) end))
        return e, e2, type(e3)
    """
    assert run(code) == lupa_run(code)
    lua = LuaRuntime()
    with pytest.raises(LuaError) as failure:
        lua.execute("""
            local function f() error('deep') end
            coroutine.wrap(function() coroutine.yield() end)()
            coroutine.wrap(function() f() end)()
        """, name="=tb")
    # wrap adds its caller's position to a string error, as luaB_auxwrap does
    assert str(failure.value) == "tb:4: tb:2: deep"
    assert failure.value.lua_traceback == ["tb:4: in main chunk"]


def test_generator_form_is_compiled_once_and_only_for_chunks_that_need_it():
    lua = LuaRuntime()
    plain = lua.eval("function(x) return x + 1 end")._value
    used = lua.eval("function(x) return coroutine.yield(x) end")._value
    assert plain.proto.gen_factory is None and used.proto.gen_factory is None
    assert lua.execute("return 2 + 3") == 5
    co = lua.globals().coroutine.wrap(lua.eval("function(f) return f(41) end"))
    assert co(lua.eval("function(x) return coroutine.yield(x) end")) == 41
    assert plain.proto.gen_factory is None      # its chunk never ran inside a coroutine
    assert used.gen is None                     # another closure, another chunk


def test_deep_recursion_inside_a_coroutine_on_a_deep_stack_runtime():
    lua = LuaRuntime(limits=Limits(depth=20_000, time=None))
    assert lua.execute("""
        local function down(n) if n == 0 then return coroutine.yield('bottom') end return 1 + down(n - 1) end
        local co = coroutine.wrap(function() return down(5000) end)
        local first = co()
        return first, co(0)
    """) == ("bottom", 5000)


def test_a_step_budget_ends_a_yielding_loop_and_the_next_call_is_fresh():
    lua = LuaRuntime(limits=Limits(steps=100_000, time=None))
    with pytest.raises(LuaError, match="step budget exhausted"):
        lua.execute("""
            local co = coroutine.wrap(function() while true do pcall(coroutine.yield) end end)
            while true do co() end
        """)
    assert lua.execute("return coroutine.isyieldable(), 1 + 1") == (False, 2)


def test_a_chunk_run_by_dofile_may_yield(tmp_path):
    # lua5.4's dofile calls its chunk with lua_callk: the chunk may yield.
    chunk = tmp_path / "yields.lua"
    chunk.write_text("local x, z = coroutine.yield(10)\nlocal y = coroutine.yield(20)\nreturn x + y * z\n")
    lua = LuaRuntime(profile="standard")
    assert lua.execute(f"""
        local f = coroutine.wrap(dofile)
        local a = f({str(chunk)!r})
        local b = f(100, 101)
        return a, b, f(200)""") == (10, 20, 100 + 200 * 101)


def test_closeg_lets_a_close_handler_yield_once_the_compiler_emits_it(monkeypatch):
    # The runtime half of yielding __close handlers (locals.lua:853-969):
    # CLOSEG, which the generator form calls once compile/generator.py
    # lists CLOSE among its _HELPERS (this test makes it so), on the way
    # out of a block and while an error unwinds one.
    import re

    from luapy.compile import generator
    helpers = (*generator._HELPERS, "CLOSE")
    monkeypatch.setattr(generator, "_TOKENS", re.compile(
        generator._TOKENS.pattern.replace("|".join(generator._HELPERS), "|".join(helpers))))
    monkeypatch.setattr(generator, "_HELPERS", helpers)
    code = DRIVE + """return drive(function()
      local function closer(name)
        return setmetatable({}, {__close = function(_, e)
          coroutine.yield(name .. ':' .. tostring(e))
        end})
      end
      do local x <close> = closer('x') end
      local ok, e = pcall(function()
        local y <close> = closer('y')
        error('boom', 0)
      end)
      coroutine.yield(tostring(ok) .. ' ' .. e)
      return 'end'
    end)"""
    assert run(code) == lupa_run(code) == "x:nil y:boom false boom"
