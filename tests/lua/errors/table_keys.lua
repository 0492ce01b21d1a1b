-- nil and NaN can't be table keys.
print(pcall(function() local t = {} t[0/0] = 1 end))
-- expect: false	errors/table_keys.lua:2: table index is NaN
print(pcall(function() local t = {} t[nil] = 1 end))
-- expect: false	errors/table_keys.lua:4: table index is nil
