-- resume and yield pass values both ways; a dead coroutine cannot be resumed.
local co = coroutine.create(function(a, b)
  print('start', a, b)
  local c, d = coroutine.yield(a + b, a * b)
  print('got', c, d)
  return 'done', select('#', coroutine.yield())
end)
print(coroutine.resume(co, 3, 4))
-- expect: start	3	4
-- expect: true	7	12
print(coroutine.status(co))  -- expect: suspended
local r2 = table.pack(coroutine.resume(co, 'p', 'q'))  -- expect: got	p	q
print(r2.n, r2[1])  -- expect: 1	true
print(coroutine.resume(co, nil, nil, nil))  -- expect: true	done	3
print(coroutine.status(co))  -- expect: dead
print(coroutine.resume(co))  -- expect: false	cannot resume dead coroutine
