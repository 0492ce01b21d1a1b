-- A __close that yields where the coroutine can't go on (coroutine.close, or
-- an error nothing in the coroutine catches) fails there with lua5.4's error,
-- and the variables left are closed with it.
local log = {}
local function closing(name, how)
  return setmetatable({}, {__close = function(_, e)
    log[#log + 1] = name .. ":" .. tostring(e)
    if how == "yield" then coroutine.yield("from " .. name)
    elseif how == "error" then error("E-" .. name, 0)
    elseif how == "pcall-yield" then log[#log + 1] = tostring(select(2, pcall(coroutine.yield, 1))) end
  end})
end
local function close_with(a, b, c)
  log = {}
  local co = coroutine.create(function()
    local x <close> = closing("a", a)
    local y <close> = closing("b", b)
    local z <close> = closing("c", c)
    coroutine.yield("first")
  end)
  coroutine.resume(co)
  print(coroutine.close(co))
  print(table.concat(log, " "), coroutine.status(co))
end
close_with(nil, "yield", nil)
-- expect: false	attempt to yield across a C-call boundary
-- expect: c:nil b:nil a:attempt to yield across a C-call boundary	dead
close_with("yield", "yield", "yield")
-- expect: false	attempt to yield across a C-call boundary
-- expect: c:nil b:attempt to yield across a C-call boundary a:attempt to yield across a C-call boundary	dead
close_with("error", "yield", nil)
-- expect: false	E-a
-- expect: c:nil b:nil a:attempt to yield across a C-call boundary	dead
close_with("yield", "error", nil)
-- expect: false	attempt to yield across a C-call boundary
-- expect: c:nil b:nil a:E-b	dead
-- A pcall made by the __close catches the failed yield.
close_with(nil, "pcall-yield", nil)
-- expect: true
-- expect: c:nil b:nil attempt to yield across a C-call boundary a:nil	dead

-- wrap: an error nothing in the coroutine catches.
log = {}
local co = coroutine.wrap(function()
  local w <close> = closing("w", "yield")
  error("boom")
end)
print(pcall(co))  -- expect: false	attempt to yield across a C-call boundary
print(log[1])  -- expect: w:lib/coroutine/close_yield_fails.lua:46: boom

-- Inside a pcall the coroutine goes on: the __close may yield.
log = {}
co = coroutine.wrap(function()
  local ok, e = pcall(function()
    local w <close> = closing("p", "yield")
    error("caught", 0)
  end)
  return "after", ok, e
end)
print(co())  -- expect: from p
print(co())  -- expect: after	false	caught

-- An xpcall made by a __close that coroutine.close runs handles its errors
-- as usual: its handler runs before the inner variables close.
co = coroutine.create(function()
  local x <close> = setmetatable({}, {__close = function()
    print(xpcall(function()
      local y <close> = setmetatable({}, {__close = function(_, e) print("inner close sees", e) end})
      error("E", 0)
    end, function(m) print("handler", m) return "H:" .. m end))
  end})
  coroutine.yield()
end)
coroutine.resume(co)
print(coroutine.close(co))
-- expect: handler	E
-- expect: inner close sees	H:E
-- expect: false	H:E
-- expect: true
-- One the coroutine was suspended in lets the error by, and its handler does not run.
co = coroutine.create(function()
  print(xpcall(function()
    local z <close> = setmetatable({}, {__close = function() error("from close", 0) end})
    coroutine.yield()
  end, function(m) print("handler2", m) return "H2" end))
  print("not reached")
end)
coroutine.resume(co)
print(coroutine.close(co))  -- expect: false	from close
