-- os.date and os.time: UTC formats, normalised fields, errors, number types.
print(os.date('!%Y-%m-%d %H:%M:%S', 86400 * 365))  -- expect: 1971-01-01 00:00:00
do local t = os.date('!*t', 1700000000) print(t.year .. '/' .. t.month .. '/' .. t.day .. ' ' .. t.yday) end
-- expect: 2023/11/14 318
do local t = {year = 2024, month = 2, day = 30} local r = os.time(t) print(r .. ' ' .. t.month .. ' ' .. t.day) end
-- expect: 1709294400 3 1
print(pcall(function() return os.date('%Ez') end))
-- expect: false	lib/os/date_and_time.lua:7: bad argument #1 to 'date' (invalid conversion specifier '%Ez')
print(pcall(function() return os.time({year = 2020}) end))
-- expect: false	lib/os/date_and_time.lua:9: field 'month' missing in date table
print(math.type(os.time()) .. ' ' .. math.type(os.clock()) .. ' ' .. os.difftime(10, 4))
-- expect: integer float 6.0
