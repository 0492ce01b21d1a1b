-- Closures capture variables by reference and share them.
local x = 10
local function bump() x = x + 1 return x end
bump() bump()
print(x)  -- expect: 12
local function counter()
  local n = 0
  return function() n = n + 1 return n end, function() return n end
end
local inc, get = counter()
inc() inc() inc()
print(get())  -- expect: 3
local function make(a)
  return function(b) return function(c) return a + b + c end end
end
print(make(1)(2)(3))  -- expect: 6
