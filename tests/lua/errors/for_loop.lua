-- A numeric for needs numbers and a non-zero step.
print(pcall(function() for i = 1, 'x' do end end))
-- expect: false	errors/for_loop.lua:2: bad 'for' limit (number expected, got string)
print(pcall(function() for i = 1, 10, 0 do end end))
-- expect: false	errors/for_loop.lua:4: 'for' step is zero
