-- xpcall's message handler runs where the error is raised, before any
-- <close> variable closes; the variables get what the handler returned.
local function mk(name) return setmetatable({}, {__close = function(_, e) print("close", name, e) end}) end
local function h(m) print("h", m) return "H(" .. tostring(m) .. ")" end

print(xpcall(function() local y <close> = mk("y"); error("boom", 0) end, h))
-- expect: h	boom
-- expect: close	y	H(boom)
-- expect: false	H(boom)

-- an error in a __close is handled again; the next variable gets that
print(xpcall(function()
  local y <close> = mk("y2")
  local z <close> = setmetatable({}, {__close = function(_, e) print("z sees", e); error("zerr", 0) end})
  error("boom2", 0)
end, h))
-- expect: h	boom2
-- expect: z sees	H(boom2)
-- expect: h	zerr
-- expect: close	y2	H(zerr)
-- expect: false	H(zerr)

-- a failing handler: "error in error handling"
print(xpcall(function() local y <close> = mk("y3"); error("boom3", 0) end, function() error("herr", 0) end))
-- expect: close	y3	error in error handling
-- expect: false	error in error handling

-- a level 2 error is positioned before the handler sees it
local function g() local c <close> = mk("g"); error("lvl2", 2) end
print(xpcall(function() local d <close> = mk("outer"); g() end, h))
-- expect: h	errors/xpcall_handler_before_close.lua:30: lvl2
-- expect: close	g	H(errors/xpcall_handler_before_close.lua:30: lvl2)
-- expect: close	outer	H(errors/xpcall_handler_before_close.lua:30: lvl2)
-- expect: false	H(errors/xpcall_handler_before_close.lua:30: lvl2)

-- pcall inside xpcall: errors pcall catches are not handled
print(xpcall(function()
  print(pcall(function() local c <close> = mk("inner"); error("in pcall", 0) end))
  local c2 <close> = mk("after")
  error("out", 0)
end, h))
-- expect: close	inner	in pcall
-- expect: false	in pcall
-- expect: h	out
-- expect: close	after	H(out)
-- expect: false	H(out)

-- a coroutine starts with no handler; wrap's error is raised again outside it
print(xpcall(function()
  local w = coroutine.wrap(function() local c <close> = mk("wrapped"); error("wrap err", 0) end)
  local c3 <close> = mk("c3")
  w()
end, h))
-- expect: close	wrapped	wrap err
-- expect: h	errors/xpcall_handler_before_close.lua:52: wrap err
-- expect: close	c3	H(errors/xpcall_handler_before_close.lua:52: wrap err)
-- expect: false	H(errors/xpcall_handler_before_close.lua:52: wrap err)

-- a __close raising on a normal exit
print(xpcall(function()
  local a <close> = mk("a")
  local b <close> = setmetatable({}, {__close = function() error("from b", 0) end})
  return "ok"
end, h))
-- expect: h	from b
-- expect: close	a	H(from b)
-- expect: false	H(from b)

-- the handler sees the stack of the error
print(xpcall(function()
  local a <close> = mk("tb")
  local function inner() error("deep") end
  inner()
end, function(m) return (debug.traceback(m, 1):match("[^\n]*\n[^\n]*\n[^\n]*")) end))
-- expect: close	tb	errors/xpcall_handler_before_close.lua:72: deep
-- expect: stack traceback:
-- expect: 	errors/xpcall_handler_before_close.lua:74: in function <errors/xpcall_handler_before_close.lua:74>
-- expect: false	errors/xpcall_handler_before_close.lua:72: deep
-- expect: stack traceback:
-- expect: 	errors/xpcall_handler_before_close.lua:74: in function <errors/xpcall_handler_before_close.lua:74>

-- an argument error
print(xpcall(function() local a <close> = mk("arg"); string.rep() end, h))
-- expect: h	errors/xpcall_handler_before_close.lua:83: bad argument #1 to 'rep' (string expected, got no value)
-- expect: close	arg	H(errors/xpcall_handler_before_close.lua:83: bad argument #1 to 'rep' (string expected, got no value))
-- expect: false	H(errors/xpcall_handler_before_close.lua:83: bad argument #1 to 'rep' (string expected, got no value))

-- across a yield
local co = coroutine.wrap(function()
  return xpcall(function()
    local a <close> = mk("yield-close")
    coroutine.yield("y1")
    error("after yield", 0)
  end, h)
end)
print(co())  -- expect: y1
print(co())
-- expect: h	after yield
-- expect: close	yield-close	H(after yield)
-- expect: false	H(after yield)

-- a finalizer runs with no handler
print(xpcall(function()
  setmetatable({}, {__gc = function() local c <close> = mk("gc"); error("gcerr", 0) end})
  collectgarbage()
  error("main", 0)
end, h))
-- expect: close	gc	gcerr
-- expect: h	main
-- expect: false	H(main)

-- the innermost xpcall's handler
print(xpcall(function()
  print(xpcall(function() local a <close> = mk("inner"); error("i", 0) end, function(m) return "inner:" .. m end))
  local b <close> = mk("outer")
  error("o", 0)
end, h))
-- expect: close	inner	inner:i
-- expect: false	inner:i
-- expect: h	o
-- expect: close	outer	H(o)
-- expect: false	H(o)

