"""lua5.4's limit on nested C calls (LUAI_MAXCCALLS), as protected calls
nest (calls.lua, cstack.lua)."""

from __future__ import annotations

import pytest

from luapy import LuaRuntime
from luapy.options import Limits

#: Room for 200 protected calls of a Lua function each (the default depth
#: budget, 200 levels, would end the recursion first).
DEEP = Limits(depth=2000)


def test_a_recursion_through_pcall_ends_in_c_stack_overflow():
    source = """
    local depth = 0
    local function loop()
      depth = depth + 1
      local ok, message = pcall(loop)
      if not ok then error(message, 0) end
    end
    local ok, message = pcall(loop)
    return ok, message, depth > 150 and depth <= 200
    """
    lupa = pytest.importorskip("lupa.lua54")
    ours = LuaRuntime(profile="standard", limits=DEEP).execute(source)
    assert ours == lupa.LuaRuntime().execute(source) == (False, "C stack overflow", True)


def test_an_overflow_while_handling_an_overflow_is_an_error_in_error_handling():
    # calls.lua:162, which used to recurse until 2 GiB were resident.
    source = """
    local function loop() assert(pcall(loop)) end
    local ok, message = xpcall(loop, loop)
    return ok, message:find("error") ~= nil
    """
    assert LuaRuntime(profile="standard", limits=DEEP).execute(source) == (False, True)


def test_protected_calls_in_sequence_do_not_add_up():
    source = """
    local n = 0
    for i = 1, 1000 do
      if pcall(function () return pcall(function () n = n + 1 end) end) then end
    end
    return n
    """
    assert LuaRuntime(profile="standard").execute(source) == 1000
