-- Positional items are stored after the keyed fields (lua5.4's SETLIST),
-- so they win over a keyed field for the same index, even when nil.
local function dump(t)
  local ks = {}
  for k, v in pairs(t) do ks[#ks + 1] = tostring(k) .. "=" .. tostring(v) end
  table.sort(ks)
  return table.concat(ks, " ") .. " #" .. #t
end
local function three() return 1, nil, 3 end
local function none() end
print(dump({[1] = "a", "b"}))  -- expect: 1=b #1
print(dump({[2] = "a", "b", nil}))  -- expect: 1=b #1
print(dump({[2.0] = "a", "b", nil}))  -- expect: 1=b #1
print(dump({[3] = "k", "b", nil}))  -- expect: 1=b 3=k #1
print(dump({n = 1, three()}))  -- expect: 1=1 3=3 n=1 #3
print(dump({n = 1, none()}))  -- expect: n=1 #0
print(dump({[1] = "x", none()}))  -- expect: 1=x #1
print(dump({[1] = "x", [2] = "y", nil, three()}))  -- expect: 2=1 4=3 #4
print(dump({x = nil, [1.5] = 2, "p", "q"}))  -- expect: 1.5=2 1=p 2=q #2
print(dump({[true] = 1, [false] = 2, "z"}))  -- expect: 1=z false=2 true=1 #1
print(dump({[4] = 4, 1, 2, 3}))  -- expect: 1=1 2=2 3=3 4=4 #4
print(dump({[0] = 0, [-1] = -1, 1}))  -- expect: -1=-1 0=0 1=1 #1
print(dump({[2^53] = 1, 2}))  -- expect: 1=2 9007199254740992=1 #1
print(select(2, pcall(function() return {[nil] = 1, 2} end)):match("table index is %a+"))
-- expect: table index is nil
print(select(2, pcall(function() return {[0/0] = 1, 2} end)):match("table index is %a+"))
-- expect: table index is NaN
-- A spread of thousands of values lands in the array part.
local function many(n) local t = {} for i = 1, n do t[i] = i end return table.unpack(t) end
local big = {n = 5000, many(5000)}
print(#big, big[1], big[5000], big.n)  -- expect: 5000	1	5000	5000
-- Ending in nils, # finds the border lua5.4's binary search finds.
local function va(...) return ... end
print(#{n = 1, 1, nil, 2, nil, nil}, #{n = 1, 1, nil, 2, nil}, #{1, 2, 3, nil, 5, nil, nil, nil})
-- expect: 1	3	3
print(#{n = 1, va(1, nil, 2, nil, nil)}, #{va(nil, nil, 3, nil, nil)}, #{1, nil, 2, nil, nil})
-- expect: 1	0	1
-- A keyed nil takes back an earlier field; a NaN key is an error even with nil.
local dup = {y = "s", y = nil, [5] = true, [5] = nil}
print(dup.y, dup[5], next(dup))  -- expect: nil	nil	nil
print(select(2, pcall(function() return {[0/0] = nil, "p"} end)):match("table index is %a+"))
-- expect: table index is NaN
