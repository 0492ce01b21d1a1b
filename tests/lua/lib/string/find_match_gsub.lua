-- find, match, gmatch and gsub: captures, anchors, replacements and errors.
print(pcall(function() return string.find("hello world", "o w"), string.find("hello", "l+"), ("hello"):find("xyz") end))
-- expect: true	5	3	nil
print(pcall(function() return string.find("a.b", ".", 1, true), string.find("a+b", "+", 1, true) end))
-- expect: true	2	2	2
print(pcall(function() return string.find("hello", "(h)(e)"), string.find("hello", "()ll()") end))
-- expect: true	1	3	4	3	5
print(pcall(function() return string.match("key = value", "(%w+)%s*=%s*(%w+)") end))
-- expect: true	key	value
print(pcall(function() return string.match("2024-01-15", "(%d+)-(%d+)-(%d+)") end))
-- expect: true	2024	01	15
print(pcall(function() return string.match("  trim  ", "^%s*(.-)%s*$") end))  -- expect: true	trim
print(pcall(function() return string.match("hello", ".-"), string.match("hello", "()") end))
-- expect: true		1
print(pcall(function() return string.find("a", "%") end))
-- expect: false	lib/string/find_match_gsub.lua:15: malformed pattern (ends with '%')
print(pcall(function() return string.find("a", "[a") end))
-- expect: false	lib/string/find_match_gsub.lua:17: malformed pattern (missing ']')
print(pcall(function() return string.find(("a"):rep(300), (".?"):rep(20000)) end))
-- expect: false	lib/string/find_match_gsub.lua:19: pattern too complex
print(pcall(function() return string.gsub("hello world", "o", "0") end))
-- expect: true	hell0 w0rld	2
print(pcall(function() return string.gsub("hello world", "(%w+)", "<%1>") end))
-- expect: true	<hello> <world>	2
print(pcall(function() return string.gsub("abc", "%w*", "-"), string.gsub("abxd", "x*", "-") end))
-- expect: true	-	-a-b-d-	4
print(pcall(function() return string.gsub("hello", "", "-") end))  -- expect: true	-h-e-l-l-o-	6
print(pcall(function() return string.gsub("$name is $age", "%$(%w+)", {name="bob", age=42}) end))
-- expect: true	bob is 42	2
print(pcall(function() return string.gsub("abc", "%w", function(c) return c:upper() .. "." end) end))
-- expect: true	A.B.C.	3
print(pcall(function() return string.gsub("abc", "%w", function(c) if c == "b" then return false end return 1 end) end))
-- expect: true	1b1	3
print(pcall(function() return string.gsub("abc", "%w", {a = {}}) end))
-- expect: false	lib/string/find_match_gsub.lua:34: invalid replacement value (a table)
print(pcall(function() return string.gsub("abc", "b", "%2") end))
-- expect: false	lib/string/find_match_gsub.lua:36: invalid capture index %2
print(pcall(function() return string.gsub("abc", "b", "%") end))
-- expect: false	lib/string/find_match_gsub.lua:38: invalid use of '%' in replacement string
print(pcall(function() return string.gsub("abc", "b") end))
-- expect: false	lib/string/find_match_gsub.lua:40: bad argument #3 to 'gsub' (string/function/table expected, got no value)
print(pcall(function() return string.gsub("abc", "b", "x", 0), string.gsub("aaa", "a", "b", 2) end))
-- expect: true	abc	bba	2
print(pcall(function() return string.gsub("abc", "b", "x", 1.5) end))
-- expect: false	lib/string/find_match_gsub.lua:44: bad argument #4 to 'gsub' (number has no integer representation)
print(pcall(function() return select("#", string.gsub("a", "a", "b")) end))  -- expect: true	2
print(pcall(function() return (function() local t = {} for a, b in ("k1=v1;k2=v2"):gmatch("(%w+)=(%w+)") do t[#t+1] = a .. ":" .. b end return table.concat(t, " ") end)() end))
-- expect: true	k1:v1 k2:v2
print(pcall(function() return (function() local t = {} for w in string.gmatch("^a^a", "^a") do t[#t+1] = w end return #t end)() end))
-- expect: true	2
print(pcall(function() return (function() local t = {} for w in string.gmatch("one two", "%a+", 3) do t[#t+1] = w end return table.concat(t, ",") end)() end))
-- expect: true	e,two
