-- goto through label blocks and break across them.
print((function() local out = {} for i = 1, 4 do ::again:: if i == 2 then i = i + 10 goto again end if i == 3 then break end out[#out+1] = i end return table.concat(out, ',') end)())
-- expect: 1,12
print((function() local out = {} local i = 0 repeat i = i + 1 ::x:: if i == 2 then out[#out+1] = 'two' end local j = i until j >= 3 return table.concat(out, ',') end)())
-- expect: two
print((function() local n = 0 for i = 1, 3 do for j = 1, 3 do if j == 2 then goto next_i end n = n + 1 end ::next_i:: end return n end)())
-- expect: 3
print((function() local n = 0 while true do n = n + 1 do ::l1:: if n < 5 then n = n + 1 goto l1 end end break end return n end)())
-- expect: 5
print((function() local function f() for i = 1, 10 do ::top:: if i > 5 then return i end i = i + 1 goto top end end return f() end)())
-- expect: 6
print((function() local t = {} for i = 1, 3 do t[i] = function() return i end if i == 2 then goto skip end ::skip:: end return t[1]() + t[2]() + t[3]() end)())
-- expect: 6
print((function() do goto a; local x; ::a:: end return 'ok' end)())  -- expect: ok
print((function() local k = 0 ::outer:: k = k + 1 for i = 1, 2 do while true do if k < 3 then goto outer end break end end return k end)())
-- expect: 3
print((function() local s = 0 for i = 1, 5 do if i % 2 == 0 then goto continue end for j = 1, 2 do if j == 2 then break end s = s + i * j end ::continue:: end return s end)())
-- expect: 9
