-- Closures capture variables by reference; loops make fresh locals.
local fs = {}
for i = 1, 3 do fs[i] = function() return i end end
print(fs[1](), fs[2](), fs[3]())
local gs = {}
local i = 1
while i <= 3 do local j = i gs[i] = function() j = j + 10 return j end i = i + 1 end
print(gs[1](), gs[1](), gs[3]())
local x = 10
local function bump() x = x + 1 return x end
bump() bump()
print(x)
local function counter()
  local n = 0
  return function() n = n + 1 return n end, function() return n end
end
local inc, get = counter()
inc() inc() inc()
print(get())
local hs = {}
for _, name in ipairs({"a", "b"}) do hs[#hs + 1] = function() return name end end
print(hs[1](), hs[2]())
local ks = {}
local k = 0
repeat local captured = k ks[#ks + 1] = function() return captured end k = k + 1 until captured >= 2
print(#ks, ks[1](), ks[3]())
local function make(a)
  return function(b) return function(c) return a + b + c end end
end
print(make(1)(2)(3))
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print(fib(20))
local function loop(n) if n == 0 then return 'done' end return loop(n - 1) end
print(loop(300000))
local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end
print(fact(20), fact(21))

-- expect: 1	2	3
-- expect: 11	21	13
-- expect: 12
-- expect: 3
-- expect: a	b
-- expect: 3	0	2
-- expect: 6
-- expect: 6765
-- expect: done
-- expect: 2432902008176640000	-4249290049419214848
