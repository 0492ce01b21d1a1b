-- A <close> variable needs a __close metamethod.
print(pcall(function() local x <close> = 42 end))
-- expect: false	errors/close_value.lua:2: variable 'x' got a non-closable value
