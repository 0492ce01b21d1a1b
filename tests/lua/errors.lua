-- Runtime error messages name the variable and carry the position.
print(pcall(function() local t = nil; return t.x end))
print(pcall(function() return nil + 1 end))
print(pcall(function() local t = {} t.x.y = 1 end))
print(pcall(function() undefined_function() end))
print(pcall(function() local t = {} t:nomethod() end))
print(pcall(function() return ('x'):bad() end))
print(pcall(function() return 'abc' + 1 end))
print(pcall(function() return {} .. 'x' end))
print(pcall(function() local a = 'x' return -a end))
print(pcall(function() return #5 end))
print(pcall(function() return 1 < {} end))
print(pcall(function() return {} < {} end))
print(pcall(function() return 1 // 0 end))
print(pcall(function() return 1 % 0 end))
print(pcall(function() return 2^63 | 0 end))
print(pcall(function() return math.huge // 1 end))
print(pcall(function() local t = {} t[0/0] = 1 end))
print(pcall(function() local t = {} t[nil] = 1 end))
print(pcall(function() local up = nil; return (function() return up.field end)() end))
print(pcall(function() local t = {a = {}} return t.a.b.c end))
print(pcall(error, 'msg', 0))
print(pcall(error))
print(type(select(2, pcall(error, {code = 1}))))
print(pcall(function() error('boom') end))
print(select(2, pcall(function() local function g() error('deep', 2) end g() end)))
print(pcall(function()
  local t = {}
  return t.missing.field    -- the error names this line
end))
print(xpcall(function() error('a') end, function(m) return 'handled: ' .. m end))
print(xpcall(function() error('a') end, function(m) error('b') end))
local function overflow() return 1 + overflow() end
local ok, err = pcall(overflow)
print(ok, err)
print(pcall(setmetatable, 1, {}))
print(pcall(setmetatable, {}))
print(pcall(function() string.rep() end))
print(pcall(function() local t = setmetatable({}, {}) getmetatable(t).__index = t return t.x end))
print(pcall(function() for i = 1, 'x' do end end))
print(pcall(function() for i = 1, 10, 0 do end end))
print(pcall(function() local x <close> = 42 end))

-- expect: false	errors.lua:2: attempt to index a nil value (local 't')
-- expect: false	errors.lua:3: attempt to perform arithmetic on a nil value
-- expect: false	errors.lua:4: attempt to index a nil value (field 'x')
-- expect: false	errors.lua:5: attempt to call a nil value (global 'undefined_function')
-- expect: false	errors.lua:6: attempt to call a nil value (method 'nomethod')
-- expect: false	errors.lua:7: attempt to call a nil value (method 'bad')
-- expect: false	errors.lua:8: attempt to add a 'string' with a 'number'
-- expect: false	errors.lua:9: attempt to concatenate a table value
-- expect: false	errors.lua:10: attempt to unm a 'string' with a 'string'
-- expect: false	errors.lua:11: attempt to get length of a number value
-- expect: false	errors.lua:12: attempt to compare number with table
-- expect: false	errors.lua:13: attempt to compare two table values
-- expect: false	errors.lua:14: attempt to divide by zero
-- expect: false	errors.lua:15: attempt to perform 'n%0'
-- expect: false	errors.lua:16: number has no integer representation
-- expect: true	inf
-- expect: false	errors.lua:18: table index is NaN
-- expect: false	errors.lua:19: table index is nil
-- expect: false	errors.lua:20: attempt to index a nil value (upvalue 'up')
-- expect: false	errors.lua:21: attempt to index a nil value (field 'b')
-- expect: false	msg
-- expect: false	nil
-- expect: table
-- expect: false	errors.lua:25: boom
-- expect: errors.lua:26: deep
-- expect: false	errors.lua:29: attempt to index a nil value (field 'missing')
-- expect: false	handled: errors.lua:31: a
-- expect: false	error in error handling
-- expect: false	errors.lua:33: stack overflow
-- expect: false	bad argument #1 to 'setmetatable' (table expected, got number)
-- expect: false	bad argument #2 to 'setmetatable' (nil or table expected, got no value)
-- expect: false	errors.lua:38: bad argument #1 to 'rep' (string expected, got no value)
-- expect: false	errors.lua:39: '__index' chain too long; possible loop
-- expect: false	errors.lua:40: bad 'for' limit (number expected, got string)
-- expect: false	errors.lua:41: 'for' step is zero
-- expect: false	errors.lua:42: variable 'x' got a non-closable value
