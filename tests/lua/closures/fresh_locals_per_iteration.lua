-- Each loop iteration makes fresh locals for closures to capture.
local fs = {}
for i = 1, 3 do fs[i] = function() return i end end
print(fs[1](), fs[2](), fs[3]())  -- expect: 1	2	3
local gs = {}
local i = 1
while i <= 3 do local j = i gs[i] = function() j = j + 10 return j end i = i + 1 end
print(gs[1](), gs[1](), gs[3]())  -- expect: 11	21	13
local hs = {}
for _, name in ipairs({"a", "b"}) do hs[#hs + 1] = function() return name end end
print(hs[1](), hs[2]())  -- expect: a	b
local ks = {}
local k = 0
repeat local captured = k ks[#ks + 1] = function() return captured end k = k + 1 until captured >= 2
print(#ks, ks[1](), ks[3]())  -- expect: 3	0	2
