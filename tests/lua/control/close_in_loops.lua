-- <close> variables in loops are closed by break and goto.
print((function() local log = {} for i = 1, 3 do local c <close> = setmetatable({}, {__close = function() log[#log+1] = 'c' .. i end}) if i == 2 then break end log[#log+1] = i end return table.concat(log, ',') end)())
-- expect: 1,c1,c2
print((function() local log = {} for i = 1, 3 do local c <close> = setmetatable({}, {__close = function() log[#log+1] = 'c' .. i end}) if i == 2 then goto cont end log[#log+1] = i ::cont:: end return table.concat(log, ',') end)())
-- expect: 1,c1,c2,3,c3
