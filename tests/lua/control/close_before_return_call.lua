-- return f() with a variable to be closed in scope is no tail call: f runs first.
local log = {}
local function closer(name) return setmetatable({}, {__close = function() log[#log+1] = "close " .. name end}) end
local function f() log[#log+1] = "f runs"; return "r" end
local function g()
  local x <close> = closer("x")
  return f()
end
print(g(), table.concat(log, ", "))           -- expect: r	f runs, close x
log = {}
local function h()
  for i in next, {1}, nil, closer("for") do
    return f()
  end
end
print(h(), table.concat(log, ", "))           -- expect: r	f runs, close for
log = {}
local function k()
  do local y <close> = closer("y") end
  return f()
end
print(k(), table.concat(log, ", "))           -- expect: r	close y, f runs
