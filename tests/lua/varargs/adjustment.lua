-- Multiple results are adjusted to one, or expanded last.
local function f(...) return select('#', ...), ... end
print(f(1, nil, 3, nil))  -- expect: 4	1	nil	3	nil
local function two() return 1, 2 end
local t = {two(), two()}
print(#t, t[1], t[2], t[3])  -- expect: 3	1	1	2
print((two()))  -- expect: 1
print(two(), 10)  -- expect: 1	10
print(10, two())  -- expect: 10	1	2
local a, b, c = two()
print(a, b, c)  -- expect: 1	2	nil
local function pass(...) return ... end
local packed = table.pack(pass(1, nil, nil))
print(packed.n, #{pass(nil, nil)})  -- expect: 3	0
local function count(...) local n = select('#', ...) return n end
print(count(nil, nil), count(two()), count((two())))  -- expect: 2	2	1
print(string.format('%s %s', two()))  -- expect: 1 2
