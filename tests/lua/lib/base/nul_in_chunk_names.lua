-- Chunk names are C strings in lua5.4: a NUL byte ends them (no Python ValueError).
print(select(2, load("x =", "a\0b")))             -- expect: [string "a"]:1: unexpected symbol near <eof>
print(pcall(load("error('e')", "=a\0b")))         -- expect: false	a:1: e
print(pcall(load("error('e')", "@file\0.lua")))   -- expect: false	file:1: e
print(load("return 1", "a\0b")())                 -- expect: 1
print(select(2, load("x = 1 +")))                 -- expect: [string "x = 1 +"]:1: unexpected symbol near <eof>
print(select(2, load("return 1\0")))              -- expect: [string "return 1"]:1: <eof> expected
print(select(2, load("x\0")))                     -- expect: [string "x"]:1: syntax error
