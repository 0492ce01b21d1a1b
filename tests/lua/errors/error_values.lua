-- error with level 0, no value, a table value; levels and positions.
print(pcall(error, 'msg', 0))  -- expect: false	msg
print(pcall(error))  -- expect: false	nil
print(type(select(2, pcall(error, {code = 1}))))  -- expect: table
print(pcall(function() error('boom') end))  -- expect: false	errors/error_values.lua:5: boom
print(select(2, pcall(function() local function g() error('deep', 2) end g() end)))
-- expect: errors/error_values.lua:6: deep
