-- A function calling itself for one value goes to its single-result form
-- (FunctionCompiler.single_result_form): the same body returning a value,
-- not a tuple.  Everything a caller or the debug library sees must match.
local function f(n) if n == 0 then return 1, 2 end local a = f(n - 1); return a + 1, "x" end
print(f(3))  -- expect: 4	x
local function g(n) if n == 0 then return end local x = g(n - 1); return x end
print(g(2), select("#", g(2)))  -- expect: nil	1
local function h(n, ...) if n == 0 then return ... end return (h(n - 1, ...)) end
print(h(2, "a", "b"))  -- expect: a
local function both(n) if n == 0 then return "a", "b" end return "<" .. both(n - 1) .. ">", both(n - 1) end
print(both(2))  -- expect: <<a>>	<a>	a	b

-- The local rebound: its calls go to whatever it holds now.
local function k(n) if n == 0 then return "old" end return "k" .. k(n - 1) end
local keep = k
k = function() return "new" end
print(keep(2))  -- expect: knew

-- Errors, tracebacks, getinfo, getlocal and hooks inside the recursion.
local function e(n) if n == 0 then error("boom") end return 1 + e(n - 1) end
print(pcall(e, 3))  -- expect: false	closures/self_call_first_value.lua:20: boom
local function t(n) if n == 0 then return debug.traceback("tb", 1) end local s = t(n - 1) return s end
print((t(2):match("^(.-main chunk)")))
-- expect: tb
-- expect: stack traceback:
-- expect: 	closures/self_call_first_value.lua:22: in upvalue 't'
-- expect: 	closures/self_call_first_value.lua:22: in upvalue 't'
-- expect: 	closures/self_call_first_value.lua:22: in local 't'
-- expect: 	closures/self_call_first_value.lua:23: in main chunk
local function info(n)
  if n == 0 then
    local i = debug.getinfo(2, "nSlf")
    return i.currentline, i.name, i.linedefined, i.func == info
  end
  local r, name, defined, same = info(n - 1)
  return r, name, defined, same
end
print(info(2))  -- expect: 35	info	30	true
local function loc(n)
  local here = n * 10
  if n == 0 then return debug.getlocal(2, 2) end
  local name, value = loc(n - 1)
  return name, value
end
print(loc(1))  -- expect: here	10
local calls = 0
local function rec(n) if n == 0 then return 0 end local r = rec(n - 1) return r + 1 end
debug.sethook(function() calls = calls + 1 end, "c")
rec(5)
debug.sethook()
print(calls)  -- expect: 7

-- Integer parameters get a copy of the body without their type tests; any
-- other argument runs the plain copy, and integer wrap-around stays.
local function sub(n, k) if k == 0 then return n end local r = sub(n - 1, k - 1) return r end
print(sub(10, 3), sub(2.5, 2), sub("10", 2), math.type(sub(2^53, 1)))  -- expect: 7	0.5	8	float
print(sub(math.mininteger + 1, 2) == math.maxinteger, sub({}, 0) ~= nil)  -- expect: true	true
print(pcall(sub, {}, 1))
-- expect: false	closures/self_call_first_value.lua:55: attempt to perform arithmetic on a table value (local 'n')

-- The integer copy is made from the plain one's Python: Lua strings that
-- read like its type tests stay as they are.
local T = {["type(l2) is int"] = "found"}
local function lit(n)
  if n == 0 then return "type(l2) is int", T["type(l2) is int"] end
  local s = lit(n - 1)
  return s .. " " .. T["type(l2) is int"]
end
print(lit(1), lit(1.0))  -- expect: type(l2) is int found	type(l2) is int found
