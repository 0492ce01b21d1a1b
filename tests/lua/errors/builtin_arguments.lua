-- Builtins check their arguments.
print(pcall(setmetatable, 1, {}))
-- expect: false	bad argument #1 to 'setmetatable' (table expected, got number)
print(pcall(setmetatable, {}))
-- expect: false	bad argument #2 to 'setmetatable' (nil or table expected, got no value)
print(pcall(function() string.rep() end))
-- expect: false	errors/builtin_arguments.lua:6: bad argument #1 to 'rep' (string expected, got no value)
