-- Multiple assignment swaps.
local swap = {1, 2}
swap[1], swap[2] = swap[2], swap[1]
print(swap[1], swap[2])  -- expect: 2	1
local p, q = 1, 2
p, q = q, p
print(p, q)  -- expect: 2	1
