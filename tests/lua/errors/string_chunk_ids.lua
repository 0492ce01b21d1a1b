-- luaO_chunkid with LUA_IDSIZE 60: how chunk names appear in messages.
local function where(name) return select(2, pcall(load("error('x')", name))) end
print(where(string.rep("a", 44)))            -- expect: [string "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]:1: x
print(where(string.rep("a", 45)))            -- expect: [string "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa..."]:1: x
print(where(string.rep("a", 100)))           -- expect: [string "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa..."]:1: x
print(where("ab\ncd"))                       -- expect: [string "ab..."]:1: x
print(where("=" .. string.rep("b", 70)))     -- expect: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb:1: x
print(where("@" .. string.rep("c", 59)))     -- expect: ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc:1: x
print(where("@" .. string.rep("c", 60)))     -- expect: ...cccccccccccccccccccccccccccccccccccccccccccccccccccccccc:1: x
