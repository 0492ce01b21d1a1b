-- math.random after math.randomseed(123) gives lua5.4's sequence; bad ranges fail.
do math.randomseed(123) local t = {} for i = 1, 10 do t[i] = math.random(6) end print(table.concat(t, ',')) end
-- expect: 5,1,1,2,6,2,1,4,6,1
print(pcall(function() return math.random(2, 1) end))
-- expect: false	lib/math/random_seeded.lua:4: bad argument #1 to 'random' (interval is empty)
