"""lua5.4 finds a ``goto`` with no visible label, or a ``break`` outside a
loop, when the function ends: the error names the line of the token after
its ``end`` (the end of the source for the main chunk), then the jump's."""

from __future__ import annotations

import pytest

from luapy import LuaRuntime, LuaSyntaxError

CASES = [
    ("local x\nlocal function never()\nbreak\nend\n\nreturn 1", "s:6: break outside loop at line 3"),
    ("if x then\n break\nend\n\n", "s:5: break outside loop at line 2"),
    ("local x\nlocal function never()\ngoto nowhere\nend\nreturn 1",
     "s:5: no visible label 'nowhere' for <goto> at line 3"),
    ("goto nowhere\nlocal y = 1\n", "s:3: no visible label 'nowhere' for <goto> at line 1"),
    # The first jump still pending names the error, break or goto.
    ("local function f()\n  do goto a end\n  break\nend\nx = 1", "s:5: no visible label 'a' for <goto> at line 2"),
    ("local function f()\n  break\n  goto a\nend\nx = 1", "s:5: break outside loop at line 2"),
    ("for i = 1, 2 do\n  local function h()\n    if i then break end\n  end\nend",
     "s:5: break outside loop at line 3"),
    ("local f = function() do goto out end end\n\n\nlocal y", "s:4: no visible label 'out' for <goto> at line 1"),
]


@pytest.mark.parametrize("source, message", CASES)
def test_jumps_with_nowhere_to_go_are_found_where_the_function_ends(source, message):
    with pytest.raises(LuaSyntaxError) as failure:
        LuaRuntime().compile(source, name="=s")
    assert str(failure.value) == message


@pytest.mark.parametrize("source, message", CASES)
def test_the_same_as_lua54(source, message, reference):
    with pytest.raises(Exception) as failure:
        reference.execute(source)
    assert str(failure.value).split('"]')[1].split("\n")[0] == message[1:]
