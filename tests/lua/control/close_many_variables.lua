-- Any number of <close> variables in one block (CPython allows 20 nested
-- blocks; each variable used to be one), closed last first however the
-- block ends, an error in one __close handed to the next ones.
local log = {}
local function closer(tag, fail)
  return setmetatable({}, {__close = function(_, e)
    log[#log + 1] = tag .. ":" .. tostring(e and (type(e) == "string" and e:match("[^:]*$") or type(e)))
    if fail then error(fail, 0) end
  end})
end
local function many(n, fail_at)
  local a1 <close> = closer("a1") local a2 <close> = closer("a2") local a3 <close> = closer("a3")
  local a4 <close> = closer("a4") local a5 <close> = closer("a5") local a6 <close> = closer("a6")
  local a7 <close> = closer("a7", fail_at == 7 and "f7") local a8 <close> = closer("a8") local a9 <close> = closer("a9")
  local a10 <close> = closer("a10") local a11 <close> = nil local a12 <close> = false
  local a13 <close> = closer("a13", fail_at == 13 and "f13") local a14 <close> = closer("a14") local a15 <close> = closer("a15")
  local a16 <close> = closer("a16") local a17 <close> = closer("a17") local a18 <close> = closer("a18")
  local a19 <close> = closer("a19") local a20 <close> = closer("a20") local a21 <close> = closer("a21")
  local s = 0
  for i = 1, n do s = s + i end
  if n < 0 then error("neg", 0) end
  return s
end
print(pcall(many, 3))  -- expect: true	6
print(table.concat(log, " ")) log = {}
-- expect: a21:nil a20:nil a19:nil a18:nil a17:nil a16:nil a15:nil a14:nil a13:nil a10:nil a9:nil a8:nil a7:nil a6:nil a5:nil a4:nil a3:nil a2:nil a1:nil
print(pcall(many, -1))  -- expect: false	neg
print(table.concat(log, " ")) log = {}
-- expect: a21:neg a20:neg a19:neg a18:neg a17:neg a16:neg a15:neg a14:neg a13:neg a10:neg a9:neg a8:neg a7:neg a6:neg a5:neg a4:neg a3:neg a2:neg a1:neg
print(pcall(many, 3, 7))  -- expect: false	f7
print(table.concat(log, " ")) log = {}
-- expect: a21:nil a20:nil a19:nil a18:nil a17:nil a16:nil a15:nil a14:nil a13:nil a10:nil a9:nil a8:nil a7:nil a6:f7 a5:f7 a4:f7 a3:f7 a2:f7 a1:f7
print(pcall(many, -1, 13))  -- expect: false	f13
print(table.concat(log, " ")) log = {}
-- expect: a21:neg a20:neg a19:neg a18:neg a17:neg a16:neg a15:neg a14:neg a13:neg a10:f13 a9:f13 a8:f13 a7:f13 a6:f13 a5:f13 a4:f13 a3:f13 a2:f13 a1:f13
-- closes between statements, in loops with break and goto
local function loops()
  for i = 1, 3 do
    local x <close> = closer("x" .. i)
    local y = i * 2
    local z <close> = closer("z" .. i)
    if i == 2 then break end
  end
  do
    local k = 0
    ::again::
    local w <close> = closer("w" .. k)
    k = k + 1
    if k < 3 then goto again end
  end
  return "done"
end
print(loops())  -- expect: done
print(table.concat(log, " ")) log = {}  -- expect: z1:nil x1:nil z2:nil x2:nil w0:nil w1:nil w2:nil
-- repeat-until sees the locals of its body
local function rep()
  local n = 0
  repeat
    local c <close> = closer("r" .. n)
    local d <close> = closer("d" .. n)
    n = n + 1
  until n >= 2
  return n
end
print(rep())  -- expect: 2
print(table.concat(log, " ")) log = {}  -- expect: d0:nil r0:nil d1:nil r1:nil
-- in a coroutine, with yields in __close
local co = coroutine.wrap(function()
  local p <close> = setmetatable({}, {__close = function() log[#log + 1] = "p" coroutine.yield("in p") end})
  local q <close> = setmetatable({}, {__close = function() log[#log + 1] = "q" coroutine.yield("in q") end})
  return "body"
end)
print(co(), co(), co())  -- expect: in q	in p	body
print(table.concat(log, " ")) log = {}  -- expect: q p
-- tail call inside a close scope is not a tail call
local function tc() local c <close> = closer("tc") return tostring(1) end
print(tc())  -- expect: 1
print(table.concat(log, " ")) log = {}  -- expect: tc:nil
