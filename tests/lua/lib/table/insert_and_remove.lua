-- table.insert and table.remove shift the sequence; bad positions fail.
do local t = {1, 2, 3} table.insert(t, 2, 'x') table.insert(t, 'y') print(table.concat(t, ',')) end
-- expect: 1,x,2,3,y
do local t = {1, 2, 3} local v = table.remove(t, 1) print(v .. ':' .. table.concat(t, ',') .. ':' .. #t) end
-- expect: 1:2,3:2
print(pcall(function() table.insert(nil, 1) end))
-- expect: false	lib/table/insert_and_remove.lua:6: bad argument #1 to 'insert' (table expected, got nil)
print(pcall(function() table.insert({}, 5, 1) end))
-- expect: false	lib/table/insert_and_remove.lua:8: bad argument #2 to 'insert' (position out of bounds)
