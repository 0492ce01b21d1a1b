-- goto through label blocks, break across them, <close> in loops, evaluation order.
print((function() local out = {} for i = 1, 4 do ::again:: if i == 2 then i = i + 10 goto again end if i == 3 then break end out[#out+1] = i end return table.concat(out, ',') end)())
print((function() local out = {} local i = 0 repeat i = i + 1 ::x:: if i == 2 then out[#out+1] = 'two' end local j = i until j >= 3 return table.concat(out, ',') end)())
print((function() local n = 0 for i = 1, 3 do for j = 1, 3 do if j == 2 then goto next_i end n = n + 1 end ::next_i:: end return n end)())
print((function() local n = 0 while true do n = n + 1 do ::l1:: if n < 5 then n = n + 1 goto l1 end end break end return n end)())
print((function() local log = {} for i = 1, 3 do local c <close> = setmetatable({}, {__close = function() log[#log+1] = 'c' .. i end}) if i == 2 then break end log[#log+1] = i end return table.concat(log, ',') end)())
print((function() local log = {} for i = 1, 3 do local c <close> = setmetatable({}, {__close = function() log[#log+1] = 'c' .. i end}) if i == 2 then goto cont end log[#log+1] = i ::cont:: end return table.concat(log, ',') end)())
print((function() local function f() for i = 1, 10 do ::top:: if i > 5 then return i end i = i + 1 goto top end end return f() end)())
print((function() local t = {} for i = 1, 3 do t[i] = function() return i end if i == 2 then goto skip end ::skip:: end return t[1]() + t[2]() + t[3]() end)())
print((function() do goto a; local x; ::a:: end return 'ok' end)())
print((function() local k = 0 ::outer:: k = k + 1 for i = 1, 2 do while true do if k < 3 then goto outer end break end end return k end)())
print((function() local s = 0 for i = 1, 5 do if i % 2 == 0 then goto continue end for j = 1, 2 do if j == 2 then break end s = s + i * j end ::continue:: end return s end)())
print((function() local x = 0 local function inc() x = x + 1 return x end local t = {inc(), inc(), [inc()] = inc(), inc()} return t[1], t[2], t[3], t[4], x end)())
print((function() local a = {} local i = 1 i, a[i] = i + 1, 20 return i, a[1], a[2] end)())
print((function() local t = setmetatable({}, {__index = function(_, k) return k * 2 end}) local s = 0 for i = 1, 5 do s = s + t[i] end return s end)())
print((function() return select('#', table.unpack({1, nil, 3}, 1, 3)), (function(...) local a, b = ... return b end)(1, 2) end)())
print((function() local function v(...) local t = {..., 'end'} return #t, t[1] end return v(1, 2, 3) end)())
print((function() local r = {} for k, v in next, {10, 20, 30} do r[#r + 1] = k .. '=' .. v end return table.concat(r, ' ') end)())
print((function() local mt = {__call = function(self, a, b) return a + b end} local o = setmetatable({}, mt) local function tail() return o(1, 2) end return tail() end)())
print((function() local s = '' for w, n in string.gmatch('a=1, b=2', '(%w+)=(%w+)') do s = s .. w .. n end return s end)())
print((function() return (function(...) return select('#', ...) end)(nil, nil, nil), #{n = 1} end)())

-- expect: 1,12
-- expect: two
-- expect: 3
-- expect: 5
-- expect: 1,c1,c2
-- expect: 1,c1,c2,3,c3
-- expect: 6
-- expect: 6
-- expect: ok
-- expect: 3
-- expect: 9
-- expect: 1	2	5	nil	5
-- expect: 2	20	nil
-- expect: 30
-- expect: 3	2
-- expect: 2	1
-- expect: 1=10 2=20 3=30
-- expect: 3
-- expect: a1b2
-- expect: 3	0
