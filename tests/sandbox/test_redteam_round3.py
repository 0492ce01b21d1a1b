"""Red-team round 3 (issue 10): what a hostile plugin could still do, kept fixed.

Each attack runs under the default sandbox limits in a child process with
a hard timeout, which reports its outcome, its CPU time and the child's
peak resident memory: before its fix each one built hundreds of megabytes
(or gigabytes, with larger arguments) that the memory budget never saw, or
ran far past its time budget in one call.
"""

from __future__ import annotations

import pytest

from luapy import LuaError, LuaRuntime

from .test_redteam import run_child


#: Resident memory a child may reach: a 64 MiB budget plus the interpreter,
#: well under what each attack reached before its fix.
PEAK_MIB = 300

S16 = "local s = ('x'):rep(2^24) "


# -- package: strings built from a path template --------------------------------

# Every '?' of the template becomes a copy of the name: 128 '?' and a 1 MiB
# name made 128 MiB per call (533 MiB resident in a loop); 4096 '?' would be 4 GiB.
PATH_BLOWUPS = {
    "searchpath": "local name = ('x'):rep(2^20) "
                  "for i = 1, 1e9 do local a, b = package.searchpath(name, ('?'):rep(128)) end",
    "searchpath-sep": "local name = ('.'):rep(2^20) "
                      "for i = 1, 1e9 do local a, b = package.searchpath(name, '?', '.', ('/'):rep(128)) end",
    "require-path": "package.path = ('?'):rep(128) local name = ('x'):rep(2^20) "
                    "for i = 1, 1e9 do pcall(require, name) end",
    # Each searcher's message is joined into require's error: 24 searchers
    # returning one 16 MiB string made a 402 MB message (804 MiB resident).
    "require-searchers": S16 + "for i = 1, 24 do package.searchers[i] = function() return s end end "
                         "for i = 1, 1e9 do pcall(require, 'x') end",
}


@pytest.mark.parametrize("name", list(PATH_BLOWUPS))
def test_package_search_strings_are_charged(name):
    report = run_child(PATH_BLOWUPS[name])
    assert report["outcome"] == "limit:memory"
    assert report["peak_mib"] < PEAK_MIB


def test_package_messages_keep_their_form():
    lua = LuaRuntime()
    assert lua.execute("return package.searchpath('a.b', 'x/?.lua;?.so')") == (
        None, "no file 'x/a/b.lua'\n\tno file 'a/b.so'")
    assert lua.execute("return package.searchpath('a.b', '?', '.', '::')") == (None, "no file 'a::b'")
    message = lua.execute("package.path = '?.lua' local ok, e = pcall(require, 'm') return e")
    assert message == "module 'm' not found:\n\tno field package.preload['m']\n\tno file 'm.lua'"
