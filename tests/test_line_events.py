"""Line hooks see lua5.4's lines (issue 13: db.lua, coroutine.lua).

A line hook (``debug.sethook(f, "l")``) fires when lua5.4's next
instruction is on another line than the last one, or after a jump back.
luapy's compiled code runs as Python lines, each mapped to a Lua line
(``LINES``); the compiler splits and maps them so that the lines a hook
sees are those of lua5.4's code generation.  The rules, each shown by a
snippet below with the events lua5.4 gives:

* a function's bookkeeping (``nonlocal``, depth accounting, ``try``, the
  handlers, a statement's temporaries let go) is on no line;
* a function's implicit return is on its ``end`` line; the main chunk's on
  its last token's line (not the end of file's);
* a closure is made on the line of the function's ``end``: a ``local``
  or a global assignment of one stores it there too, a ``function``
  statement stores it on its first line;
* an ``if`` tests a value after reading ``then``, so on ``then``'s line (a
  local read is no instruction of its own; a call or a global is, on its
  own line); a comparison jumps on its own line;
* ``repeat`` has no code, nor has ``while true``: the jump back is to the
  body's first line; a generic ``for`` closes its closing value on its
  ``end`` line, however it ends;
* a numeric ``for``'s ``FORLOOP`` is at the end of the body and jumps
  back into it: a new line at the header only if the line changes, then
  the body's first line again, whatever its line (``frames.ForLine``);
* a binary operator's left operand, a table field, is read once the
  operator is read, on the operator's line; the store after it on the
  line where the expression ends.

Each case runs in luapy and is compared with the events written here,
which lua5.4 gave, and with lupa's lua5.4 when it is installed.
"""

from __future__ import annotations

import pytest

from luapy import UNLIMITED, LuaRuntime

#: Runs chunk ``...`` (named ``=s``) under a line hook; returns the lines
#: the hook saw in it, comma separated.
HARNESS = r"""
local source, mask, count = ...
local events = {}
local chunk = assert(load(source, "=s"))
debug.sethook(function(event, line)
  if event == "count" then
    events[#events + 1] = "c"
  elseif debug.getinfo(2, "S").short_src == "s" then
    events[#events + 1] = event == "line" and line or event
  end
end, mask, count)
chunk()
debug.sethook()
return table.concat(events, ",")
"""

#: ``(snippet, lines lua5.4 hooks)``.
CASES = [
    # db.lua:124: the test of an ``if`` is on its ``then``'s line.
    ("if\nmath.sin(1)\nthen\n  a=1\nelse\n  a=2\nend\n", "2,3,4,7"),
    # A local read has no instruction: only the test, on ``then``'s line.
    ("local a = 1\nif a then a = 2 end\nif not a\nthen a = 3 end\n", "1,2,4"),
    # A comparison jumps where it is.
    ("local a = 1\nif a\n< 2\nthen\n  a = 2\nend\n", "1,3,5,6"),
    ("local t = {}\nif\nt.x\nthen\nend\nif\nglobal\nthen\nend\n", "1,4,8,9"),
    ("local a = 1\nif a == 2 then\n  a = 2\nelseif a\nthen\n  a = 3\nend\n", "1,2,5,6,7"),
    ("--\nif nil then\n  a=1\nelse\n  a=2\nend\n", "2,5,6"),
    # db.lua:134: a closure on its ``end`` line, the implicit return too,
    # and no line for the function's header.
    ("local function foo()\nend\nfoo()\nA = 1\nA = 2\nA = 3\n", "2,3,2,4,5,6"),
    ("local function f(x)\n  return x\nend\nf(1)\n", "3,4,2"),
    ("local x = function()\nend\nx()\n", "2,3,2"),
    ("function foo()\nend\nfoo()\n", "2,1,3,2"),
    ("local t = {}\nfunction t.f()\nend\nt.f()\n", "1,3,2,4,3"),
    # The main chunk returns on its last token's line, comments after it
    # (found by the lexer) or not.
    ("local a = 1\na = 2 -- two\n-- trailing\n--[[ long\n]]\n", "1,2"),
    ("local a = 1\na = 2\n\n\n", "1,2"),
    ("local function f(...)\n  local a = ...\n  return a\nend\nf(1)\n", "4,5,2,3"),
    # db.lua:154: ``repeat`` has no code of its own.
    ("a=1\nrepeat\n  a=a+1\nuntil a==3\n", "1,3,4,3,4"),
    ("local a = 0\nrepeat a = a + 1 until a > 2\n", "1,2,2,2"),
    (" do\n  return\nend\n", "2"),
    ("local a\na=1\nwhile a<=3 do\n  a=a+1\nend\n", "1,2,3,4,3,4,3,4,3,5"),
    ("while math.sin(1) do\n  if math.sin(1)\n  then break\n  end\nend\na=1", "1,2,3,6"),
    # db.lua:177-185: numeric for loops.
    ("for i=1,3 do\n  a=i\nend\n", "1,2,1,2,1,2,1,3"),
    ("for i=1,4 do a=1 end", "1,1,1,1"),
    ("for i=1,3 do end", "1,1,1"),
    ("for i=1,2 do\nend", "1,1,2"),
    ("for i = 3, 1, -1 do a = i end\n", "1,1,1"),
    ("local t = {}\nfor i=1,2 do t[i] = function() return i end end", "1,2,2"),
    ("local t = {}\nfor i = 1, 2 do\n  local f = function() return i end\n  t[i] = f\nend\n",
     "1,2,3,4,2,3,4,2,5"),
    ("for i = 1, 2 do\n  for j = 1, 2 do\n    a = j\n  end\nend\n", "1,2,3,2,3,2,1,2,3,2,3,2,1,5"),
    # More iterations than a chunk of a charged-in-advance loop (64).
    ("local n = 0\nfor i = 1, 100 do n = n + 1 end\n", "1," + ",".join(["2"] * 100)),
    ("for i,v in pairs{'a','b'} do\n  a=tostring(i) .. v\nend\n", "1,2,1,2,1,3"),
    # A generic for closes its closing value on its ``end`` line, however
    # it ends.
    ("local t = {}\nfor i = 1, 3 do\n  for k, v in pairs({1}) do\n    if i == 2 then break end\n  end\n"
     "  t[i] = i\nend\n", "1,2,3,4,3,5,6,2,3,4,5,6,2,3,4,3,5,6,2,7"),
    # ``while true`` has no test: its jump back is to the body.
    ("local n = 0\nwhile true do\n  n = n + 1\n  if n == 2 then break end\nend\n", "1,3,4,3,4,5"),
    # db.lua:197: a table field on the left of an operator is read on the
    # operator's line, the store on the line where the expression ends.
    ("     local b = {10}\n     a = b[1] \n\n + \n b[1]\n     b = 4\n", "1,4,5,4,5,6"),
    ("     local b = {10}\n     a = b[1] \n + \n\n\n b[1]\n     b = 4\n", "1,3,6,3,6,7"),
    # A self-recursive function's single-result form (``__s``) sees the
    # same lines, its integer guard none.
    ("local function fib(n)\n  if n < 2 then\n    return n\n  end\n  return fib(n - 1) + fib(n - 2)\nend\n"
     "local x = fib(3)\n", "6,7,2,5,2,5,2,3,2,3,2,3"),
    # The main chunk returns on its last token's line.
    ("a = 1\n\n-- a comment\n--[[ and\nanother ]]\n", "1"),
]


def lua_lines(runtime_execute, source: str, mask: str = "l", count: int = 0) -> str:
    result = runtime_execute(HARNESS, source, mask, count)
    return result.decode() if isinstance(result, bytes) else result


def luapy_execute():
    return LuaRuntime(profile="standard", limits=UNLIMITED, encoding=None).execute


@pytest.mark.parametrize("source, expected", CASES)
def test_line_events_are_lua54s(source, expected):
    assert lua_lines(luapy_execute(), source) == expected


@pytest.mark.parametrize("source, expected", CASES)
def test_the_expected_lines_are_lua54s(source, expected):
    lua54 = pytest.importorskip("lupa.lua54")
    assert lua_lines(lua54.LuaRuntime().execute, source) == expected


CORO_TRACE = """
local co = coroutine.create(function ()
    coroutine.yield(10)
    return 20;
  end)
local trace = {}
debug.sethook(co, function (event) trace[#trace + 1] = event end, "clr")
repeat until not coroutine.resume(co)
return table.concat(trace, ",")
"""


def test_a_coroutine_sees_no_line_for_its_header_nor_after_its_return():
    # coroutine.lua:352.
    expected = "call,line,call,return,line,return"
    assert LuaRuntime(profile="standard").execute(CORO_TRACE) == expected
    lua54 = pytest.importorskip("lupa.lua54")
    assert lua54.LuaRuntime().execute(CORO_TRACE) == expected


@pytest.mark.parametrize("count, low, high", [(1, 1000, 1012), (4, 250, 255), (4000, -1, 1)])
def test_a_count_hook_counts_an_empty_loop_as_lua54_does(count, low, high):
    # db.lua:596: one count per iteration of a numeric for, a few more
    # around it.
    source = "a = 0; for i = 1, 1000 do end"
    counted = lua_lines(luapy_execute(), source, "", count).count("c")
    assert low < counted < high
    lua54 = pytest.importorskip("lupa.lua54")
    assert low < lua_lines(lua54.LuaRuntime().execute, source, "", count).count("c") < high


@pytest.mark.parametrize("source, expected", [
    # The left operand is read on the operator's line, in errors too.
    ("local t\nlocal x = t.a\n+\n1", "s:3: attempt to index a nil value (local 't')"),
    ("local t = {}\nlocal x = t.a\n+\n1", "s:3: attempt to perform arithmetic on a nil value (field 'a')"),
    ("for i = 1, {} do\nend", "s:1: bad 'for' limit (number expected, got table)"),
    # A condition that is a field is read after ``then``; a call is made
    # where it is.
    ("local x = nil\nif\nx.y\nthen\nend", "s:4: attempt to index a nil value (local 'x')"),
    ("local x = nil\nif\nx.y()\nthen\nend", "s:3: attempt to index a nil value (local 'x')"),
])
def test_errors_name_lua54s_lines(source, expected):
    harness = "return select(2, pcall(load(..., '=s')))"
    assert LuaRuntime(profile="standard").execute(harness, source) == expected
    lua54 = pytest.importorskip("lupa.lua54")
    assert lua54.LuaRuntime().execute(harness, source) == expected
