-- A __close removed (or replaced) after the declaration is an error when the variable closes.
local function closable() local mt = {__close = function() end}; return setmetatable({}, mt), mt end
print(pcall(function() local x <close>, mt = closable(); mt.__close = nil end))   -- expect: false	errors/close_metamethod_removed.lua:3: attempt to call a nil value (metamethod 'close')
print(pcall(function() local x <close>, mt = closable(); mt.__close = 1 end))     -- expect: false	errors/close_metamethod_removed.lua:4: attempt to call a number value (metamethod 'close')
print(pcall(function() local v, mt = closable(); for i in next, {1}, nil, v do mt.__close = nil end end))  -- expect: false	errors/close_metamethod_removed.lua:5: attempt to call a nil value (metamethod 'close')
-- Closing while an error unwinds: lua5.4 calls from outside any Lua frame.
print(pcall(function() local x <close>, mt = closable(); mt.__close = nil; error("boom") end))  -- expect: false	attempt to call a nil value
