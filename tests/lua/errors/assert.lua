-- assert positions its message; a non-string message is kept as is.
print(pcall(function() assert(false, 'm') end))  -- expect: false	errors/assert.lua:2: m
print(pcall(function() assert(nil) end))  -- expect: false	errors/assert.lua:3: assertion failed!
print(type(select(2, pcall(function() assert(false, {}) end))))  -- expect: table
print(pcall(assert, false, 'n'))  -- expect: false	n
print(select(2, pcall(assert, false, 42)) == 42)  -- expect: true
