-- pairs, ipairs, and clearing a table while traversing it.
local s = 0
for key, v in pairs({a = 1, b = 2, c = 3}) do s = s + v end
print(s)  -- expect: 6
local order = {}
for i, v in ipairs({10, 20, 30, nil, 50}) do order[#order + 1] = i .. '=' .. v end
print(table.concat(order, ' '))  -- expect: 1=10 2=20 3=30
local cleared = {a = 1, b = 2, c = 3}
for key in pairs(cleared) do cleared[key] = nil end
print(next(cleared))  -- expect: nil
