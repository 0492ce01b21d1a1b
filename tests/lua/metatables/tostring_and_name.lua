-- __tostring and __name.
local ts = setmetatable({}, {__tostring = function() return 'TT' end})
print(tostring(ts), ts)  -- expect: TT	TT
local named = setmetatable({}, {__name = 'MyType'})
print((tostring(named):gsub('0x%x+', 'ADDR')))  -- expect: MyType: ADDR
