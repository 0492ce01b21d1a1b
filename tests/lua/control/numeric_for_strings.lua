-- A numeric for converts numeric strings as forprep does; its errors follow forprep's order and __name.
local function run(a, b, c)
  local seen = {}
  for i = a, b, c do seen[#seen + 1] = tostring(i) end
  return table.concat(seen, " ")
end
print(run("10", "1", "-2"))                  -- expect: 10.0 8.0 6.0 4.0 2.0
print(run(1, "3", 1))                        -- expect: 1 2 3
print(run(1, "3.5", 1))                      -- expect: 1 2 3
print(run("1", 3, 1))                        -- expect: 1.0 2.0 3.0
print(run(1, 3, "1"))                        -- expect: 1.0 2.0 3.0
print(run("0x10", 17, 1))                    -- expect: 16.0 17.0
print(run(" 2 ", 3, 1))                      -- expect: 2.0 3.0
print(pcall(run, "a", 2, 1))                 -- expect: false	control/numeric_for_strings.lua:4: bad 'for' initial value (number expected, got string)
print(pcall(run, 1, "x", 1))                 -- expect: false	control/numeric_for_strings.lua:4: bad 'for' limit (number expected, got string)
print(pcall(run, "a", {}, 1))                -- expect: false	control/numeric_for_strings.lua:4: bad 'for' limit (number expected, got table)
print(pcall(run, "a", 1, {}))                -- expect: false	control/numeric_for_strings.lua:4: bad 'for' step (number expected, got table)
print(pcall(run, 1, {}, 0))                  -- expect: false	control/numeric_for_strings.lua:4: 'for' step is zero
print(pcall(run, 1.0, {}, 0))                -- expect: false	control/numeric_for_strings.lua:4: bad 'for' limit (number expected, got table)
print(pcall(run, 1, 2, "0"))                 -- expect: false	control/numeric_for_strings.lua:4: 'for' step is zero
local named = setmetatable({}, {__name = "MyType"})
print(pcall(run, named, 1, 1))               -- expect: false	control/numeric_for_strings.lua:4: bad 'for' initial value (number expected, got MyType)
print(pcall(run, 1, 2, named))               -- expect: false	control/numeric_for_strings.lua:4: bad 'for' step (number expected, got MyType)
