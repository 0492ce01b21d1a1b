"""How calls are charged: exact call depth, with lazy prologues.

A Lua function charges its call (a level of depth and a step) in a
prologue placed after the call-free statements its body starts with, so
``if k == 0 then return 0 end`` runs uncharged.  These tests pin what that
may and may not change: the depth limit stays exact for every kind of
frame, and Lua code reached from uncharged statements (through
metamethods) is still counted.
"""

from __future__ import annotations

import pytest

from luapy import Limits, LuaError, LuaLimitError, LuaRuntime

#: With a step or time budget the countdown guards the depth; without one,
#: each prologue compares it.  Depth tests run under both.  Neither has a
#: time budget: what these tests reach must depend on counted calls and
#: steps only, never on how fast the machine is (the default 1 s tripped
#: once under coverage).
BOTH_GUARDS = pytest.mark.parametrize("budgets", [{"time": None},
                                                  {"steps": None, "time": None}],
                                      ids=["countdown", "compare"])

#: The deepest ``n`` each kind of recursion reaches under pcall.  ``probe``
#: and the main chunk hold two levels; the pcall'd frames hold the rest.
PROBES = """
local function probe(f)
  local best = 0
  for n = 1, 400 do
    if not pcall(f, n) then break end
    best = n
  end
  return best
end
-- Starts with a call, so every frame, d(0) included, holds a level.
local function charged(k) local s = tostring(k) if k == 0 then return 0 end return 1 + charged(k - 1) end
-- d(0) returns from its call-free start and holds none.
local function guarded(k) if k == 0 then return 0 end return 1 + guarded(k - 1) end
-- Every level runs through __index from call-free code.
local t = setmetatable({}, {__index = function(t, k) if k == 0 then return 0 end return t[k - 1] end})
local function indexed(k) return t[k] end
return probe(charged), probe(guarded), probe(indexed)
"""


@BOTH_GUARDS
@pytest.mark.parametrize("limit", [4, 5, 17, 50, 200, 333])
def test_depth_limit_is_exact_for_every_kind_of_frame(limit, budgets):
    charged, guarded, indexed = LuaRuntime(limits=Limits(depth=limit, **budgets)).execute(PROBES)
    assert charged == limit - 3
    assert guarded == charged + 1  # only the frame that never got past its guard is free
    assert indexed == charged  # metamethods reached from call-free code are counted


@BOTH_GUARDS
@pytest.mark.parametrize("limit", [60, 100])
def test_depth_restored_by_a_resume_is_guarded_too(limit, budgets):
    # The second resume puts 21 suspended levels back at once, from Python,
    # after the main chunk re-armed the countdown at a shallow depth; the
    # recursion run under them must still stop at the limit exactly.
    code = """
        local deep = 0
        local function endless(n) deep = n local s = tostring(n) return 1 + endless(n + 1) end
        local co = coroutine.wrap(function()
          local function down(n)
            local s = tostring(n)
            if n == 0 then coroutine.yield() pcall(endless, 1) return deep end
            return down(n - 1) + 0
          end
          return down(20)
        end)
        co()
        local function shallow() local s = tostring(1) end
        for i = 1, 300 do shallow() end
        return co()
    """
    assert LuaRuntime(limits=Limits(depth=limit, **budgets)).execute(code) == limit - 21


@BOTH_GUARDS
def test_overflow_from_a_lazy_prologue_names_the_calling_line(budgets):
    lua = LuaRuntime(limits=Limits(**budgets))
    with pytest.raises(LuaError) as failure:
        lua.execute("local function f(n)\n  if n < 0 then return end\n  return 1 +\n f(n)\nend\nreturn f(1)",
                    name="=(t)")
    assert str(failure.value) == "(t):4: stack overflow"


def test_call_free_metamethod_recursion_is_a_catchable_stack_overflow():
    lua = LuaRuntime(limits=Limits(time=None))
    ok, message = lua.execute("""
        local mt = {}
        mt.__len = function(a) return #a + 1 end
        return pcall(function() return #setmetatable({}, mt) end)
    """, name="=(t)")
    assert ok is False and message.endswith("stack overflow")
    assert lua.eval("1 + 1") == 2


def test_leaf_calls_in_a_loop_are_bounded_by_the_loop():
    lua = LuaRuntime(limits=Limits(steps=50_000, time=None))
    with pytest.raises(LuaLimitError) as failure:
        lua.execute("local function leaf(x) return x end while true do leaf(1) end")
    assert failure.value.limit == "steps"


def test_a_budget_made_into_another_error_still_reaches_the_host():
    # A __close that raises turns the budget error into an ordinary one,
    # which pcall catches; the plugin then returns as if nothing happened.
    # The host gets the budget error all the same.
    rt = LuaRuntime(limits=Limits(steps=100_000, time=None, memory=None))
    with pytest.raises(LuaLimitError, match="step budget exhausted"):
        rt.execute("""
            local ok = pcall(function()
              local a <close> = setmetatable({}, {__close = error})
              local x = 0 for i = 1, 1e9 do x = x + i end
            end)
            return "finished normally", ok
        """)
    assert rt.execute("return 1 + 1") == 2   # the next call starts afresh


def test_a_generic_for_closing_value_left_early_writes_nothing_to_the_hosts_stderr(capfd):
    # Left by break, return or an error, the loop's generator is finalized
    # by Python: a __close error there used to be printed on stderr with a
    # Python traceback, as text the plugin chose (a log flood, in a loop).
    rt = LuaRuntime()
    rt.execute("""
        local function it(_, k) k = (k or 0) + 1 if k <= 3 then return k end end
        local mt = {__close = function() error(("fake log line\\n"):rep(100), 0) end}
        for i = 1, 50 do
          pcall(function() for k in it, nil, nil, setmetatable({}, mt) do break end end)
          pcall(function() for k in it, nil, nil, setmetatable({}, mt) do return 1 end end)
          pcall(function() for k in it, nil, nil, setmetatable({}, mt) do error("body") end end)
        end
    """)
    out, err = capfd.readouterr()
    assert "fake log line" not in err and "Traceback" not in err


def test_a_budget_tripped_then_made_into_another_error_still_reaches_the_host():
    rt = LuaRuntime(limits=Limits(steps=100_000, time=None, memory=None))
    with pytest.raises(LuaLimitError, match="step budget exhausted"):
        rt.execute("""
            -- The budget runs out in a __close run as the loop's generator
            -- is finalized, where no error can be raised to Lua.
            local function it(_, k) k = (k or 0) + 1 if k <= 3 then return k end end
            local spin = setmetatable({}, {__close = function() while true do end end})
            pcall(function() for k in it, nil, nil, spin do break end end)
            error("an ordinary error after the budget ran out")
        """)
