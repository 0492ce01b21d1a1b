"""A global name's ``_ENV`` is looked up once per function (``FunctionScope.env``)
unless the function declares a local ``_ENV``; every way of shadowing it must
still bind each name where lua5.4 does."""

from __future__ import annotations

from tests.stdlib_support import run_both


def test_globals_follow_every_local_env():
    ours, reference = run_both("""\
g = "global"
local function f(a)
  local before = g                      -- the chunk's _ENV, through an upvalue
  local r = {}
  do
    local _ENV = {g = "block"}
    r[1] = g
    r[2] = (function() return g end)()  -- a closure sees the block's _ENV
  end
  r[3] = g                              -- the upvalue again
  local _ENV = {g = "local"}
  r[4] = g
  r[5] = (function(_ENV) return g end)({g = "param"})
  return before, r[1], r[2], r[3], r[4], r[5]
end
local function h()
  local x = g                           -- resolved before the local below
  local _ENV = setmetatable({}, {__index = function(_, k) return k .. "!" end})
  return x, g
end
local results = {f(1)}
local x, y = h()
results[#results + 1] = x
results[#results + 1] = y
local concat = table.concat
local _ENV = {g = "main local"}
local function late() return g end
results[#results + 1] = late()
return concat(results, " ")
""")
    assert ours == reference == "global block block global local param global g! main local"
