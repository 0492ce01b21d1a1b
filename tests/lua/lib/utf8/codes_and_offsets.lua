-- utf8.codes, char, len, offset, codepoint and charpattern; invalid bytes fail.
do local out = {} for p, c in utf8.codes('h\u{E9}llo \u{4E2D}') do out[#out + 1] = p .. '=' .. c end print(table.concat(out, ' ')) end
-- expect: 1=104 2=233 4=108 5=108 6=111 7=32 8=20013
print(utf8.char(72, 0x4E2D, 0x10FFFF) == '\x48\xE4\xB8\xAD\xF4\x8F\xBF\xBF')  -- expect: true
print(utf8.len('\u{4E2D}\u{6587}') .. ' ' .. tostring(utf8.len('\xff')))  -- expect: 2 nil
print(pcall(function() for _ in utf8.codes('a\xff') do end end))
-- expect: false	lib/utf8/codes_and_offsets.lua:6: invalid UTF-8 code
print(utf8.offset('a\u{4E2D}b', 3) .. ' ' .. utf8.codepoint('a\u{4E2D}b', 2))  -- expect: 5 20013
do local n = 0 for _ in string.gmatch('a\u{4E2D}b', utf8.charpattern) do n = n + 1 end print(n) end
-- expect: 3
