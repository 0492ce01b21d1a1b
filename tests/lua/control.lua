-- Loops, goto, break, numeric for edge cases.
local x = 0
for i = 1, 10 do x = x + i end
print(x)
x = 0
for i = 10, 1, -2 do x = x + i end
print(x)
x = 0
for i = 1.0, 2.0, 0.5 do x = x + i end
print(x)
local n = 0
for i = math.maxinteger - 2, math.maxinteger do n = n + 1 end
print(n)
n = 0
for i = 1, 0 do n = n + 1 end
print(n)
for i = 3, 1, -1 do io.write(i, ' ') end print()
for i = 1, 3 do for j = 1, 3 do if j == 2 then goto continue end io.write(i, j, ' ') ::continue:: end end
print()
local i = 1
::top::
i = i + 1
if i < 5 then goto top end
print(i)
do local k = 0 while true do k = k + 1 if k > 5 then break end end print(k) end
local r = 0
repeat local j = r; r = r + 1 until j >= 3
print(r)
goto skip
print('not printed')
::skip::
print('after skip')
for a = 1, 3 do
  for b = 1, 3 do
    if b == 2 then goto next_a end
    io.write(a, '-', b, ' ')
  end
  ::next_a::
end
print()
local found
for a = 1, 5 do
  while true do
    if a == 3 then found = a goto done end
    break
  end
end
::done::
print(found)
local w = 0
while w < 3 do
  w = w + 1
  if w == 2 then goto cont end
  io.write('w', w, ' ')
  ::cont::
end
print()
local f = 0
for i = 1, math.huge do f = f + 1 if f == 5 then break end end
print(f)

-- expect: 55
-- expect: 30
-- expect: 4.5
-- expect: 3
-- expect: 0
-- expect: 3 2 1 
-- expect: 11 13 21 23 31 33 
-- expect: 5
-- expect: 6
-- expect: 4
-- expect: after skip
-- expect: 1-1 2-1 3-1 
-- expect: 3
-- expect: w1 w3 
-- expect: 5
