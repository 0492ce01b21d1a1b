"""Parser benchmark: cold start and the parse time of a dkjson-sized module.

Run from the repository root:  python -m bench.bench_parse

It reports
* the time to ``import luapy.parser`` and parse a small chunk in a fresh
  process (target: under 0.3 s),
* the best-of-N time to parse a generated module of about 900 lines and
  23 KB, the size of dkjson.lua (target: 80 ms or less), next to real Lua's
  compile time for the same text when lupa is installed,
* the time to *load* it (``load_chunk``: parse, resolve, generate the
  Python of every function, and compile the main function's; the rest is
  compiled by CPython when a closure of it is first made),
* the time to load it and run its main chunk, which is what ``require``
  pays: running it makes a closure of each top-level function, so compiles
  those (in this module, all but one function in eight), and
* the time to load it and compile every function, which is the whole
  front end: what loading cost before compiles were deferred, and what a
  program that makes a closure of every function pays in all.

Both print MB/s of Lua source, the figure issue #14 sets a target for
(1 MB/s): the load line is what ``load``/``require``/``execute`` cost before
running anything now; the last line measures what the single "parse +
resolve + compile" line did before compiles were deferred.
"""

from __future__ import annotations

import subprocess
import sys

from bench.timing import best_of, interleaved_best

# One "section" of a realistic module: locals, string escapes, closures,
# methods, loops, table constructors, long strings and comments.  The module
# is this section repeated with fresh names, so every run parses the same text.
_SECTION = r'''
-- Section {n}: helpers for the {n}th part of the module.
local escapes_{n} = {{
  ["\""] = "\\\"", ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n",  ["\r"] = "\\r",  ["\t"] = "\\t",
}}

local function quote_{n} (value)
  value = string.gsub(value, "[%z\1-\031\"\\\127]", escapes_{n})
  if string.find(value, "[\194\216\220\225\226\239]") then
    value = string.gsub(value, "\194[\128-\159\173]", "?")
  end
  return "\"" .. value .. "\""
end

local Buffer_{n} = {{}}
Buffer_{n}.__index = Buffer_{n}

function Buffer_{n}.new (capacity)
  local self = setmetatable({{ items = {{}}, n = 0, capacity = capacity or 16 }}, Buffer_{n})
  return self
end

function Buffer_{n}:push (...)
  for i = 1, select("#", ...) do
    local item = select(i, ...)
    if item ~= nil and type(item) == "string" or type(item) == "number" then
      self.n = self.n + 1
      self.items[self.n] = tostring(item)
    elseif type(item) == 'table' then
      for k, v in pairs(item) do
        self:push(k, v)
      end
    end
  end
  return self
end

function Buffer_{n}:concat (sep)
  return table.concat(self.items, sep or "", 1, self.n)
end

local function isarray_{n} (tbl)
  local max, count, arraylen = 0, 0, 0
  for k, v in pairs(tbl) do
    if k == 'n' and type(v) == 'number' then
      arraylen = v
      if v > max then max = v end
    else
      if type(k) ~= 'number' or k < 1 or math.floor(k) ~= k then
        return false
      end
      if k > max then
        max = k
      end
      count = count + 1
    end
  end
  if max > 10 and max > arraylen and max > count * 2 then
    return false -- too many holes
  end
  return true, max
end

local function utf8char_{n} (value)
  if value < 0 then
    return nil
  elseif value <= 0x007f then
    return string.char(value)
  elseif value <= 0x07ff then
    return string.char(0xc0 + (value >> 6), 0x80 + (value & 0x3f))
  elseif value <= 0xffff then
    return string.char(0xe0 + (value >> 12), 0x80 + ((value >> 6) & 0x3f),
                       0x80 + (value & 0x3f))
  end
  return nil
end

local doc_{n} = [==[
  A long string with "quotes", ]] brackets and
  several lines, as module documentation often has.
]==]

local stats_{n} = {{ hits = 0, misses = 0.5e-3, ratio = 3 / 4, mask = ~0x0F | 1 << 4 }}

local function scan_{n} (str, pos)
  local lastpos = pos + 1
  local buffer, n = {{}}, 0
  while true do
    local nextpos = string.find(str, "[\"\\]", lastpos)
    if not nextpos then
      return nil, #str + 1, "unterminated string at " .. pos
    end
    if nextpos > lastpos then
      n = n + 1
      buffer[n] = str:sub(lastpos, nextpos - 1)
    end
    if str:sub(nextpos, nextpos) == "\"" then
      lastpos = nextpos + 1
      break
    else
      local esc = str:sub(nextpos + 1, nextpos + 1)
      n = n + 1
      buffer[n] = escapes_{n}[esc] or esc
      lastpos = nextpos + 2
    end
  end
  repeat stats_{n}.hits = stats_{n}.hits + 1 until stats_{n}.hits > 0
  return table.concat(buffer), lastpos, doc_{n}, function (...) return ... end
end
'''

_SMALL_CHUNK = "local t = {1, 2, 3} return t[1] + #t"


def make_module(target_bytes: int = 22_000) -> str:
    """A ~23 KB module (about 900 lines) built from repeated, renamed sections."""
    parts = ["local M = {}\n"]
    size = 0
    n = 0
    while size < target_bytes:
        n += 1
        section = _SECTION.format(n=n) + f"M.quote_{n}, M.scan_{n} = quote_{n}, scan_{n}\n"
        parts.append(section)
        size += len(section)
    parts.append("return M\n")
    return "".join(parts)


def cold_start_seconds() -> float:
    """Fresh interpreter: import the parser and parse one small chunk."""
    code = ("import time; t = time.perf_counter(); from luapy.parser import parse; "
            f"parse({_SMALL_CHUNK!r}, 'bench'); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip())


def main() -> None:
    from luapy.parser import parse

    cold = min(cold_start_seconds() for _ in range(3))
    print(f"import luapy.parser + first parse (fresh process): {cold * 1000:.1f} ms")

    module = make_module()
    lines = module.count("\n")
    parse(module, "module.lua")                       # warm up
    parsed = best_of(lambda: parse(module, "module.lua"), 7)
    print(f"parse {lines}-line, {len(module) / 1024:.1f} KB module: {parsed * 1000:.1f} ms"
          f" ({len(module) / parsed / 1e6:.2f} MB/s)")

    # The whole pipeline the issue budgets (150 ms): parse, resolve, compile.
    from luapy import LuaRuntime
    from luapy.load import load_chunk
    runtime = LuaRuntime()
    state = runtime._state

    def load():
        return load_chunk(state, module, "=module.lua")

    def load_and_compile_all():
        load().proto.chunk.compile_every_function()

    def load_and_run():
        runtime.compile(module, "=module.lua")()

    # In turn, so that a slow spell of a shared machine hits them all.
    best = interleaved_best(9, {"load": load, "run": load_and_run, "whole": load_and_compile_all})
    loaded, run, whole = best["load"], best["run"], best["whole"]
    print(f"load (parse + resolve + generate, compile the main function): {loaded * 1000:.1f} ms"
          f" ({len(module) / loaded / 1e6:.2f} MB/s)")
    print(f"load + run the main chunk (what require pays): {run * 1000:.1f} ms"
          f" ({len(module) / run / 1e6:.2f} MB/s)")
    print(f"load + compile every function (the whole front end): {whole * 1000:.1f} ms"
          f" ({len(module) / whole / 1e6:.2f} MB/s; target: under 150 ms)")

    try:                    # reference: real Lua 5.4 compiling the same text
        from lupa import lua54
    except ImportError:
        return
    lua = lua54.LuaRuntime()
    reference = best_of(lambda: lua.compile(module), 7)
    print(f"lua5.4 (lupa) compiles the same module in {reference * 1000:.2f} ms;"
          f" luapy's parse takes {parsed / reference:.0f}x that")


if __name__ == "__main__":
    main()
