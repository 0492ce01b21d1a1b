-- xpcall's handler sees the message, and an error in it is reported.
print(xpcall(function() error('a') end, function(m) return 'handled: ' .. m end))
-- expect: false	handled: errors/xpcall.lua:2: a
print(xpcall(function() error('a') end, function(m) error('b') end))
-- expect: false	error in error handling
