-- Generic for over next and over gmatch.
print((function() local r = {} for k, v in next, {10, 20, 30} do r[#r + 1] = k .. '=' .. v end return table.concat(r, ' ') end)())
-- expect: 1=10 2=20 3=30
print((function() local s = '' for w, n in string.gmatch('a=1, b=2', '(%w+)=(%w+)') do s = s .. w .. n end return s end)())
-- expect: a1b2
