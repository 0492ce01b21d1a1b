-- goto: continue, backward jumps, skipping code, leaving nested loops.
for i = 1, 3 do for j = 1, 3 do if j == 2 then goto continue end io.write(i, j, ' ') ::continue:: end end
print()  -- expect: 11 13 21 23 31 33 
local i = 1
::top::
i = i + 1
if i < 5 then goto top end
print(i)  -- expect: 5
goto skip
print('not printed')
::skip::
print('after skip')  -- expect: after skip
for a = 1, 3 do
  for b = 1, 3 do
    if b == 2 then goto next_a end
    io.write(a, '-', b, ' ')
  end
  ::next_a::
end
print()  -- expect: 1-1 2-1 3-1 
local found
for a = 1, 5 do
  while true do
    if a == 3 then found = a goto done end
    break
  end
end
::done::
print(found)  -- expect: 3
local w = 0
while w < 3 do
  w = w + 1
  if w == 2 then goto cont end
  io.write('w', w, ' ')
  ::cont::
end
print()  -- expect: w1 w3 
