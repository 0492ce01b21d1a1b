-- break out of while, and repeat's condition sees the body's locals.
do local k = 0 while true do k = k + 1 if k > 5 then break end end print(k) end  -- expect: 6
local r = 0
repeat local j = r; r = r + 1 until j >= 3
print(r)  -- expect: 4
