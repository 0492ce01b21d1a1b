-- Running and normal coroutines cannot be resumed or closed; the main one cannot yield.
local main = coroutine.running()
print(select(2, coroutine.resume(main)))  -- expect: cannot resume non-suspended coroutine
print(select(2, pcall(coroutine.close, main)))  -- expect: cannot close a running coroutine
local outer
outer = coroutine.create(function()
  print(select(2, coroutine.resume(outer)))
  print(select(2, pcall(coroutine.close, outer)))
  local inner = coroutine.create(function()
    print(coroutine.status(outer))
    print(select(2, coroutine.resume(outer)))
    print(select(2, pcall(function() coroutine.close(outer) end)))
  end)
  coroutine.resume(inner)
end)
coroutine.resume(outer)
-- expect: cannot resume non-suspended coroutine
-- expect: cannot close a running coroutine
-- expect: normal
-- expect: cannot resume non-suspended coroutine
-- expect: lib/coroutine/resume_and_close_active.lua:12: cannot close a normal coroutine
print(select(2, pcall(coroutine.yield, 1)))  -- expect: attempt to yield from outside a coroutine
print(select(2, pcall(function() coroutine.yield(1) end)))
-- expect: attempt to yield from outside a coroutine
