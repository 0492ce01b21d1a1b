-- Table keys: float keys normalise, border of #, array and hash parts.
local t = {1, 2, 3, nil, 5}
print(#t, t[5])  -- expect: 5	5
local u = {[1] = 'a', 'b'}
print(u[1])  -- expect: b
local k = {}
k[1.0] = 'a' k[2] = 'b'
print(k[1], #k, next({}), type(next))  -- expect: a	2	nil	function
local b = {}
b[true] = 1 b[1] = 2
print(b[true], b[1])  -- expect: 1	2
local big = {}
for i = 1, 100 do big[i] = i end
for i = 100, 51, -1 do big[i] = nil end
print(#big)  -- expect: 50
local mixed = {n = 1, 'x', 'y', [10] = 'z'}
local count = 0
for _ in pairs(mixed) do count = count + 1 end
print(count, #mixed)  -- expect: 4	2
local floats = {}
floats[2^53] = 'big'
print(floats[2^53], floats[9007199254740992])  -- expect: big	big
