-- loadfile checks its mode, names unreadable files as lauxlib does, and reads its name as a C string.
local path = os.tmpname()
local function write(text)
  local file = assert(io.open(path, "wb")); file:write(text); file:close()
end
local function check(...) return (select("#", ...) == 1 and type(...)) or (select(2, ...):gsub(path, "PATH", 1)) end
write("return 1")
print(check(loadfile(path, "b")))                 -- expect: attempt to load a text chunk (mode is 'b')
print(check(loadfile(path, "t")))                 -- expect: function
print(check(loadfile(path, "bt")))                -- expect: function
print(check(loadfile(path, nil)))                 -- expect: function
print(check(loadfile(path, 1)))                   -- expect: attempt to load a text chunk (mode is '1')
print(pcall(loadfile, path, {}))                  -- expect: false	bad argument #2 to 'loadfile' (string expected, got table)
print(loadfile(path .. "\0ignored", "t", {})())   -- expect: 1
print(dofile(path .. "\0ignored"))                -- expect: 1
write("#!/usr/bin/lua\n\27Lua")
print(check(loadfile(path, "t")))                 -- expect: attempt to load a binary chunk (mode is 't')
os.remove(path)
print(check(loadfile(path)))                      -- expect: cannot open PATH: No such file or directory
print(pcall(dofile, "/nonexistent/x.lua"))        -- expect: false	cannot open /nonexistent/x.lua: No such file or directory
print(loadfile("/"))                              -- expect: nil	cannot read /: Is a directory
