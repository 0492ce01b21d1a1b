-- Varargs through calls, tables and tail calls.
local m = {f = function(...) return select('#', ...) end}
print(m.f(), m.f(nil), m.f(nil, nil))  -- expect: 0	1	2
local function va_table(...) local t = {...} return #t end
print(va_table(1, 2, 3))  -- expect: 3
local function tail(...) return select('#', ...) end
local function forward(...) return tail(...) end
print(forward(nil, nil, nil))  -- expect: 3
