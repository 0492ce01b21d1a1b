-- table.sort with and without a comparator, and its errors.
do local t = {5, 3, 8, 1} table.sort(t, function(a, b) return a > b end) print(table.concat(t, ',')) end
-- expect: 8,5,3,1
do local t = {'b', 'a', 'C'} table.sort(t) print(table.concat(t, ' ')) end  -- expect: C a b
do local t = {} for i = 1, 50 do t[i] = (i * 37) % 50 end table.sort(t, function(a, b) return a > b end) print(table.concat(t, ',')) end
-- expect: 49,48,47,46,45,44,43,42,41,40,39,38,37,36,35,34,33,32,31,30,29,28,27,26,25,24,23,22,21,20,19,18,17,16,15,14,13,12,11,10,9,8,7,6,5,4,3,2,1,0
do local ok, e = pcall(table.sort, {3, 2, 1}, function(a, b) error('boom', 0) end) print(e) end
-- expect: boom
print(pcall(table.sort, {3, 'x', 1}))  -- expect: false	attempt to compare string with number
