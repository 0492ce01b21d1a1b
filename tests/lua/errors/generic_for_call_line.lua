-- A generic for calls its iterator on the line its expression list starts,
-- which may be after `for ... in` (errors.lua:404).
print(pcall(load("\n\n for k,v in \n 3 \n do \n print(k) \n end", "=c")))
-- expect: false	c:4: attempt to call a number value (for iterator 'for iterator')
print(pcall(load("\n local a \n for k,v in 3 \n do \n print(k) \n end", "=c")))
-- expect: false	c:3: attempt to call a number value (for iterator 'for iterator')
local co = coroutine.wrap(function()
  return pcall(load("for k in\n\n  nil do end", "=g"))
end)
print(co())  -- expect: false	g:3: attempt to call a nil value (for iterator 'for iterator')
