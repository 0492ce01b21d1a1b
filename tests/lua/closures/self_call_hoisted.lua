-- A self-recursive function with loops nested past CPython's limits (hoisted
-- into functions of their own) gets a wrapper as its single-result form:
-- it must not show as a Lua level.
local function f(n)
  if n == 0 then error("deep", 2) end
  local r
  for i0 = 1, 1 do for i1 = 1, 1 do for i2 = 1, 1 do for i3 = 1, 1 do for i4 = 1, 1 do for i5 = 1, 1 do for i6 = 1, 1 do for i7 = 1, 1 do for i8 = 1, 1 do for i9 = 1, 1 do for i10 = 1, 1 do for i11 = 1, 1 do for i12 = 1, 1 do for i13 = 1, 1 do for i14 = 1, 1 do for i15 = 1, 1 do for i16 = 1, 1 do for i17 = 1, 1 do for i18 = 1, 1 do for i19 = 1, 1 do for i20 = 1, 1 do for i21 = 1, 1 do r = f(n - 1) end end end end end end end end end end end end end end end end end end end end end end 
  return r
end
print(pcall(f, 2))  -- expect: false	closures/self_call_hoisted.lua:7: deep
local function g(n)
  if n == 0 then return debug.traceback("tb", 1) end
  local r
  for i0 = 1, 1 do for i1 = 1, 1 do for i2 = 1, 1 do for i3 = 1, 1 do for i4 = 1, 1 do for i5 = 1, 1 do for i6 = 1, 1 do for i7 = 1, 1 do for i8 = 1, 1 do for i9 = 1, 1 do for i10 = 1, 1 do for i11 = 1, 1 do for i12 = 1, 1 do for i13 = 1, 1 do for i14 = 1, 1 do for i15 = 1, 1 do for i16 = 1, 1 do for i17 = 1, 1 do for i18 = 1, 1 do for i19 = 1, 1 do for i20 = 1, 1 do for i21 = 1, 1 do r = g(n - 1) end end end end end end end end end end end end end end end end end end end end end end 
  return r
end
print((g(2):match("^(.-main chunk)")))
-- expect: tb
-- expect: stack traceback:
-- expect: 	closures/self_call_hoisted.lua:12: in upvalue 'g'
-- expect: 	closures/self_call_hoisted.lua:14: in upvalue 'g'
-- expect: 	closures/self_call_hoisted.lua:14: in local 'g'
-- expect: 	closures/self_call_hoisted.lua:17: in main chunk
local calls = 0
debug.sethook(function() calls = calls + 1 end, "c")
pcall(f, 2)
debug.sethook()
print(calls)  -- expect: 6
