-- The options that take numbers check them (luaL_optinteger), as lua5.4 does.
print(pcall(collectgarbage, "step", "x"))
-- expect: false	bad argument #2 to 'collectgarbage' (number expected, got string)
print(pcall(collectgarbage, "step", 1.5))
-- expect: false	bad argument #2 to 'collectgarbage' (number has no integer representation)
print(pcall(collectgarbage, "setpause", {}))
-- expect: false	bad argument #2 to 'collectgarbage' (number expected, got table)
print(pcall(collectgarbage, "incremental", 1, 2, "a"))
-- expect: false	bad argument #4 to 'collectgarbage' (number expected, got string)
print(select("#", collectgarbage("step", "10")))  -- expect: 1
print(collectgarbage("count", "ignored") > 0)  -- expect: true
