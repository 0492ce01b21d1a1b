-- Tables: array and hash parts, key normalisation, length, traversal.
local t = {1, 2, 3, nil, 5}
print(#t, t[5])
local u = {[1] = 'a', 'b'}
print(u[1])
local k = {}
k[1.0] = 'a' k[2] = 'b'
print(k[1], #k, next({}), type(next))
local b = {}
b[true] = 1 b[1] = 2
print(b[true], b[1])
local big = {}
for i = 1, 100 do big[i] = i end
for i = 100, 51, -1 do big[i] = nil end
print(#big)
local s = 0
for key, v in pairs({a = 1, b = 2, c = 3}) do s = s + v end
print(s)
local order = {}
for i, v in ipairs({10, 20, 30, nil, 50}) do order[#order + 1] = i .. '=' .. v end
print(table.concat(order, ' '))
local nested = {x = {y = {z = 1}}}
print(nested.x.y.z, nested["x"]["y"].z)
local o = {n = 0}
function o:inc(step) self.n = self.n + (step or 1) return self end
o:inc():inc(5)
print(o.n)
local swap = {1, 2}
swap[1], swap[2] = swap[2], swap[1]
print(swap[1], swap[2])
local p, q = 1, 2
p, q = q, p
print(p, q)
local cleared = {a = 1, b = 2, c = 3}
for key in pairs(cleared) do cleared[key] = nil end
print(next(cleared))
local mixed = {n = 1, 'x', 'y', [10] = 'z'}
local count = 0
for _ in pairs(mixed) do count = count + 1 end
print(count, #mixed)
local floats = {}
floats[2^53] = 'big'
print(floats[2^53], floats[9007199254740992])

-- expect: 5	5
-- expect: b
-- expect: a	2	nil	function
-- expect: 1	2
-- expect: 50
-- expect: 6
-- expect: 1=10 2=20 3=30
-- expect: 1	1
-- expect: 6
-- expect: 2	1
-- expect: 2	1
-- expect: nil
-- expect: 4	2
-- expect: big	big
