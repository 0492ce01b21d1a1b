-- string.pack, unpack and packsize.
print(pcall(function() return string.unpack("<i4 z", string.pack("<i4 z", -5, "hi")) end))
-- expect: true	-5	hi	8
print(pcall(function() return string.packsize("i4 i8 !8 d") end))  -- expect: true	24
print(pcall(function() return string.pack("b", 200) end))
-- expect: false	lib/string/pack.lua:5: bad argument #2 to 'pack' (integer overflow)
