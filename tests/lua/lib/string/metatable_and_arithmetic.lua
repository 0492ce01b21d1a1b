-- Strings index the string table and convert in arithmetic.
print(pcall(function() return getmetatable("").__index == string, ("x"):rep(3) end))
-- expect: true	true	xxx
print(pcall(function() return "10" + 1, "3" * "4", "2" ^ 2, -"2", "7" // 2, "7" % "4", "1e1" / 2 end))
-- expect: true	11	12	4.0	-2	3	3	5.0
print(pcall(function() return "abc" + 1 end))
-- expect: false	lib/string/metatable_and_arithmetic.lua:6: attempt to add a 'string' with a 'number'
print(pcall(function() return 1 + "abc" end))
-- expect: false	lib/string/metatable_and_arithmetic.lua:8: attempt to add a 'number' with a 'string'
print(pcall(function() return "1" + {} end))
-- expect: false	lib/string/metatable_and_arithmetic.lua:10: attempt to add a 'string' with a 'table'
print(pcall(function() return -"x" end))
-- expect: false	lib/string/metatable_and_arithmetic.lua:12: attempt to unm a 'string' with a 'string'
print(pcall(function() return "0x10" + 0, " 5 " * 2 end))  -- expect: true	16	10
