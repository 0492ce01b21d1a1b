-- coroutine.status, running and isyieldable from inside and outside.
local main, ismain = coroutine.running()
local r = {type(main), tostring(ismain), coroutine.status(main), tostring(coroutine.isyieldable())}
local co
co = coroutine.create(function()
  local me, flag = coroutine.running()
  r[#r+1] = tostring(me == co) .. ' ' .. tostring(flag)
  r[#r+1] = coroutine.status(co) .. ' ' .. coroutine.status(main)
  r[#r+1] = tostring(coroutine.isyieldable()) .. ' ' .. tostring(coroutine.isyieldable(main))
  coroutine.yield()
end)
r[#r+1] = coroutine.status(co) .. ' ' .. tostring(coroutine.isyieldable(co))
coroutine.resume(co)
r[#r+1] = coroutine.status(co)
coroutine.resume(co)
r[#r+1] = coroutine.status(co)
r[#r+1] = type(co) .. ' ' .. tostring(tostring(co):match('^thread: 0x%x+$') ~= nil)
r[#r+1] = type(coroutine.wrap(print))
print(table.concat(r, ','))
-- expect: thread,true,running,false,suspended true,true false,running normal,true false,suspended,dead,thread true,function
