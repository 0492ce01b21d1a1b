-- A block with labels keeps its <close> variables open across them: they
-- close when the block ends, or when a goto jumps back above them.
local function mk(name) return setmetatable({}, {__close = function(_, e) print("close", name, e) end}) end

-- a label after the variable is still inside its scope
do
  local x <close> = mk("x")
  print("before label")
  ::l::
  print("after label")
end
-- expect: before label
-- expect: after label
-- expect: close	x	nil

-- a goto back to a label below the variable stays in its scope
do
  local n = 0
  local x <close> = mk("loop")
  ::top::
  n = n + 1
  print("iter", n)
  if n < 3 then goto top end
end
-- expect: iter	1
-- expect: iter	2
-- expect: iter	3
-- expect: close	loop	nil

-- a goto back above the variable closes it each time
do
  local n = 0
  ::top::
  n = n + 1
  local x <close> = mk("x" .. n)
  print("body", n)
  if n < 3 then goto top end
  print("end of block")
end
-- expect: body	1
-- expect: close	x1	nil
-- expect: body	2
-- expect: close	x2	nil
-- expect: body	3
-- expect: end of block
-- expect: close	x3	nil

-- the same from inside a nested loop
do
  local n = 0
  ::again::
  n = n + 1
  local y <close> = mk("y" .. n)
  for i = 1, 2 do
    if i == 2 and n < 2 then goto again end
  end
  print("after loop", n)
end
-- expect: close	y1	nil
-- expect: after loop	2
-- expect: close	y2	nil

-- only the variables declared after the label close, the last first
do
  local n = 0
  local a <close> = mk("a")
  ::l1::
  n = n + 1
  local b <close> = mk("b" .. n)
  ::l2::
  local c <close> = mk("c" .. n)
  if n < 2 then goto l1 end
  print("done", n)
end
-- expect: close	c1	nil
-- expect: close	b1	nil
-- expect: done	2
-- expect: close	c2	nil
-- expect: close	b2	nil
-- expect: close	a	nil

-- a forward goto to the block's last label skips a declaration
do
  local z <close> = mk("z")
  goto fin
  local w <close> = mk("w")
  ::fin::
end  -- expect: close	z	nil

-- an error after a jump reaches the variable declared again
print(pcall(function()
  local n = 0
  ::t::
  local q <close> = mk("q")
  n = n + 1
  if n < 2 then goto t end
  error("E", 0)
end))
-- expect: close	q	nil
-- expect: close	q	E
-- expect: false	E

-- repeat-until: the condition sees the local, then it closes
local k = 0
repeat
  local r <close> = mk("r" .. k)
  ::mid::
  k = k + 1
until k >= 2
-- expect: close	r0	nil
-- expect: close	r1	nil

-- an error in a __close run by a goto goes to the variables left
print(pcall(function()
  local n = 0
  local outer <close> = mk("outer")
  ::t::
  n = n + 1
  local bad <close> = setmetatable({}, {__close = function() if n == 1 then error("in close", 0) end end})
  local good <close> = mk("good" .. n)
  if n < 2 then goto t end
end))
-- expect: close	good1	nil
-- expect: close	outer	in close
-- expect: false	in close

-- return from a segment after a label
local function f()
  local v <close> = mk("v")
  ::lab::
  do return "ret" end
end
print(f())
-- expect: close	v	nil
-- expect: ret

-- a __close that yields while a goto closes its variable
local co = coroutine.wrap(function()
  local n = 0
  ::t::
  n = n + 1
  local c <close> = setmetatable({}, {__close = function() coroutine.yield("closing " .. n) end})
  if n < 2 then goto t end
  return "finished"
end)
print(co())  -- expect: closing 1
print(co())  -- expect: closing 2
print(co())  -- expect: finished

-- a goto out of a nested block closes the inner variable first
do
  local i = 0
  ::retry::
  local conn <close> = mk("conn" .. i)
  i = i + 1
  if i < 2 then
    local tmp <close> = mk("tmp" .. i)
    goto retry
  end
end
-- expect: close	tmp1	nil
-- expect: close	conn0	nil
-- expect: close	conn1	nil
