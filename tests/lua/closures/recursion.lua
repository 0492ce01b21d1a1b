-- Recursive local functions; deep tail calls run in constant space.
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print(fib(20))  -- expect: 6765
local function loop(n) if n == 0 then return 'done' end return loop(n - 1) end
print(loop(300000))  -- expect: done
local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end
print(fact(20), fact(21))  -- expect: 2432902008176640000	-4249290049419214848
