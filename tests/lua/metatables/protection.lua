-- __metatable protects a metatable; strings share one.
local protected = setmetatable({}, {__metatable = 'locked'})
print(getmetatable(protected), pcall(setmetatable, protected, {}))
-- expect: locked	false	cannot change a protected metatable
print(getmetatable('abc').__index == string)  -- expect: true
