-- xpcall checks its message handler (argument 2) only; a bad function fails inside the call.
print(pcall(xpcall))  -- expect: false	bad argument #2 to 'xpcall' (function expected, got no value)
print(pcall(xpcall, print))
-- expect: false	bad argument #2 to 'xpcall' (function expected, got no value)
print(pcall(xpcall, print, 42))
-- expect: false	bad argument #2 to 'xpcall' (function expected, got number)
print(xpcall(nil, function(m) return "H:" .. m end))  -- expect: false	H:attempt to call a nil value
print(xpcall(print, print, 1, 2))
-- expect: 1	2
-- expect: true
print(coroutine.wrap(function() return pcall(xpcall, print, 42) end)())
-- expect: false	bad argument #2 to 'xpcall' (function expected, got number)
print(coroutine.wrap(function() return xpcall(nil, function(m) return "H2:" .. m end) end)())
-- expect: false	H2:attempt to call a nil value
