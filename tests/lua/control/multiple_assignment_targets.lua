-- A multiple assignment evaluates its targets' tables and keys before assigning any.
local t = {}
local a = 1; t[a], a = 10, 20
print(t[1], t[20], a)                       -- expect: 10	nil	20
local p = {}
local q = p
p.x, p = 1, 2
print(q.x, p)                               -- expect: 1	2
local i, u = 1, {}
i, u[i] = i + 1, 20
print(i, u[1], u[2])                        -- expect: 2	20	nil
local k, m = 1, {}
local old = m
m[k], k, m = "a", "b", {}
print(old[1], k, #m)                        -- expect: a	b	0
local c = {}
local function keep() return c end          -- c lives in a cell
c.y, c = 5, 6
print(keep(), c)                            -- expect: 6	6
local n = {}
local saved = n
local function assign() n.z, n = 7, 8 end   -- n is an upvalue here
assign()
print(saved.z, n)                           -- expect: 7	8
