"""``<close>`` variables, labels and xpcall's message handler: what the
script tests (``tests/lua/control/close_with_labels.lua``,
``tests/lua/errors/xpcall_handler_before_close.lua``) can't show, as the
sandbox's depth budget, a host function, or how often the stack is searched."""

import pytest

from luapy import LuaError, LuaRuntime
from luapy.stdlib import base


def test_a_return_call_above_a_labels_close_variable_is_a_tail_call():
    # The sandbox allows 200 levels: 1,000 recursive calls only fit as
    # tail calls, which they are before the block's <close> variable.
    lua = LuaRuntime()
    assert lua.execute("""
        local mt = {__close = function() end}
        local function loop(n)
          ::again::
          if n == 0 then return "done" end
          if n % 2 == 0 then return loop(n - 1) end
          local x <close> = setmetatable({}, mt); n = n - 1
          goto again
        end
        return loop(1000)
    """) == "done"


def test_a_return_call_below_a_labels_close_variable_is_not_a_tail_call():
    lua = LuaRuntime()
    with pytest.raises(LuaError, match="stack overflow"):
        lua.execute("""
            local mt = {__close = function() end}
            local function loop(n)
              local x <close> = setmetatable({}, mt)
              ::again::
              if n == 0 then return "done" end
              return loop(n - 1)
            end
            return loop(1000)
        """)


def test_the_message_handler_has_room_at_the_deepest_level():
    lua = LuaRuntime()
    ok, message, closed = lua.execute("""
        local n = 0
        local mt = {__close = function() n = n + 1 end}
        local function inf(k) local c <close> = setmetatable({}, mt); return (inf(k + 1)) end
        local ok, message = xpcall(inf, function(m) return "H:" .. tostring(m) end, 1)
        return ok, message, n
    """)
    assert (ok, message) == (False, "H:(execute):4: stack overflow")
    assert closed > 190


def test_an_error_a_host_function_catches_is_not_given_to_xpcalls_handler():
    lua = LuaRuntime()
    seen = []

    def safe_call(function):
        try:
            return function()
        except LuaError as error:
            seen.append(str(error))
            return "caught"
    lua.globals()["safe_call"] = safe_call
    result = lua.execute("""
        local handled = 0
        local ok, r = xpcall(function()
          return safe_call(function()
            local c <close> = setmetatable({}, {__close = function() end})
            error("boom", 0)
          end)
        end, function(m) handled = handled + 1 return "H" end)
        return ok, r, handled
    """)
    assert result == (True, "caught", 0)
    assert seen == ["boom"]


@pytest.mark.parametrize("protect", ["pcall(rec, 150)", "xpcall(rec, function(m) return m end, 150)"])
def test_unwinding_searches_for_the_handler_once_not_per_level(monkeypatch, protect):
    # Each level's __close raises a new error: each takes over what was
    # found for the one it replaces (a search per level was quadratic).
    searches = []
    real = base._message_handler_for
    monkeypatch.setattr(base, "_message_handler_for", lambda *args: searches.append(1) or real(*args))
    lua = LuaRuntime()
    ok, message = lua.execute(f"""
        local mt = {{__close = function(_, e) error("c", 0) end}}
        local function rec(n)
          local c <close> = setmetatable({{}}, mt)
          if n == 0 then error("bottom", 0) end
          rec(n - 1)
        end
        return {protect}
    """)
    assert (ok, message) == (False, "c")
    assert len(searches) <= 2


@pytest.mark.parametrize("closes", ["empty", "raising"])
def test_unwinding_a_coroutine_looks_for_the_catch_once_not_per_variable(monkeypatch, closes):
    # Inside a coroutine, a __close run by an error may yield only if a
    # pcall in the coroutine catches it; looking for that at every variable
    # walked the whole stack each time, and a plugin with 185 levels of 195
    # variables ran 20 s past a 1 s time budget (none of it charged).
    from luapy.runtime import generators

    searches = []
    real = generators.past_unwound
    monkeypatch.setattr(generators, "past_unwound", lambda frame: searches.append(1) or real(frame))
    body = "end" if closes == "empty" else 'error("c", 0) end'
    lua = LuaRuntime()
    ok, message = lua.execute(f"""
        local X = setmetatable({{}}, {{__close = function() {body}}})
        local function rec(n)
          local a <close> = X
          local b <close> = X
          local c <close> = X
          if n == 0 then error("bottom", 0) end
          rec(n - 1)
        end
        return coroutine.wrap(function() return pcall(rec, 150) end)()
    """)
    assert (ok, message) == (False, "bottom" if closes == "empty" else "c")
    assert len(searches) <= 2


def test_nested_message_handlers_share_one_extra_room():
    # Each handler running at the deepest frame, with an xpcall of its own
    # going as deep again: the extra levels are granted once, so the depth
    # budget (200) still bounds the frames alive at once (before: 20 more
    # per nested handler, 1,200 frames for 50 of them).
    lua = LuaRuntime()
    nested, frames = lua.execute("""
        local C = setmetatable({}, {__close = function() end})
        local frames, lvl = 0, 0
        local function deep() frames = frames + 1; local c <close> = C; return deep() + 0 end
        local function h(m)
          lvl = lvl + 1
          if lvl <= 50 then xpcall(deep, h) end
          return m
        end
        xpcall(deep, h)
        return lvl, frames
    """)
    assert frames < 260
