-- Calling a metamethod that isn't callable names it as lua5.4 does; __len gets its operand twice.
local function with(event, value) return setmetatable({}, {[event] = value}) end
print(pcall(function() return with("__add", 1) + 1 end))       -- expect: false	metatables/uncallable_metamethods.lua:3: attempt to call a number value (metamethod 'add')
print(pcall(function() return 1 & with("__band", true) end))   -- expect: false	metatables/uncallable_metamethods.lua:4: attempt to call a boolean value (metamethod 'band')
print(pcall(function() return ~with("__bnot", 1) end))         -- expect: false	metatables/uncallable_metamethods.lua:5: attempt to call a number value (metamethod 'bnot')
print(pcall(function() return -with("__unm", 1) end))          -- expect: false	metatables/uncallable_metamethods.lua:6: attempt to call a number value (metamethod 'unm')
print(pcall(function() return #with("__len", 1) end))          -- expect: false	metatables/uncallable_metamethods.lua:7: attempt to call a number value (metamethod 'len')
print(pcall(function() return with("__concat", 1) .. "a" end)) -- expect: false	metatables/uncallable_metamethods.lua:8: attempt to call a number value (metamethod 'concat')
print(pcall(function() return with("__lt", 1) < 1 end))        -- expect: false	metatables/uncallable_metamethods.lua:9: attempt to call a number value (metamethod 'lt')
print(pcall(function() return 1 <= with("__le", 1) end))       -- expect: false	metatables/uncallable_metamethods.lua:10: attempt to call a number value (metamethod 'le')
local mt = {__eq = 1}
print(pcall(function() return setmetatable({}, mt) == setmetatable({}, mt) end))  -- expect: false	metatables/uncallable_metamethods.lua:12: attempt to call a number value (metamethod 'eq')
-- The string metatable's arithmetic runs in C in lua5.4: no name, no position.
print(pcall(function() return "a" + with("__add", 1) end))     -- expect: false	attempt to call a number value
-- A __call that can't be called is named after the call site.
local x = with("__call", with("__call", 1))
print(pcall(function() return x() end))                        -- expect: false	metatables/uncallable_metamethods.lua:17: attempt to call a number value (upvalue 'x')
print(#with("__len", function(...) return select("#", ...) end))          -- expect: 2
print(#with("__len", function(a, b) return rawequal(a, b) end))           -- expect: true
