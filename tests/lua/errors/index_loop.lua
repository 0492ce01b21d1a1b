-- An __index chain that loops is an error.
print(pcall(function() local t = setmetatable({}, {}) getmetatable(t).__index = t return t.x end))
-- expect: false	errors/index_loop.lua:2: '__index' chain too long; possible loop
