-- Runtime error messages name the variable and carry the position.
print(pcall(function() local t = nil; return t.x end))
-- expect: false	errors/variable_names.lua:2: attempt to index a nil value (local 't')
print(pcall(function() return nil + 1 end))
-- expect: false	errors/variable_names.lua:4: attempt to perform arithmetic on a nil value
print(pcall(function() local t = {} t.x.y = 1 end))
-- expect: false	errors/variable_names.lua:6: attempt to index a nil value (field 'x')
print(pcall(function() undefined_function() end))
-- expect: false	errors/variable_names.lua:8: attempt to call a nil value (global 'undefined_function')
print(pcall(function() local t = {} t:nomethod() end))
-- expect: false	errors/variable_names.lua:10: attempt to call a nil value (method 'nomethod')
print(pcall(function() return ('x'):bad() end))
-- expect: false	errors/variable_names.lua:12: attempt to call a nil value (method 'bad')
print(pcall(function() local up = nil; return (function() return up.field end)() end))
-- expect: false	errors/variable_names.lua:14: attempt to index a nil value (upvalue 'up')
print(pcall(function() local t = {a = {}} return t.a.b.c end))
-- expect: false	errors/variable_names.lua:16: attempt to index a nil value (field 'b')
print(pcall(function()
  local t = {}
  return t.missing.field    -- the error names this line
end))  -- expect: false	errors/variable_names.lua:20: attempt to index a nil value (field 'missing')
