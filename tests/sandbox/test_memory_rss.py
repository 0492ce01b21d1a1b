"""Real memory stays bounded: one sandboxed call under the default 64 MiB
memory budget never takes the process past 400 MiB resident (issue 10,
class 3).

Each program runs in a fresh child process, which reports its own peak
resident set (``ru_maxrss``) once the call has ended.  The programs keep
what uncharged copies would have made huge: before copies were charged,
keeping 200 ``s:sub(i)`` of an 8 MB string reached 1.6 GB.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from . import child_command

LIMIT_MIB = 400

CHILD = r"""
import json, resource, sys
from luapy import LuaError, LuaLimitError, LuaRuntime
source = sys.stdin.read()
try:
    LuaRuntime().execute(source)
    outcome = "value"
except LuaLimitError as failure:
    outcome = "limit:" + failure.limit
except LuaError:
    outcome = "error"
peak_kib = peak_rss_kib()
print(json.dumps({"outcome": outcome, "peak_mib": peak_kib / 1024}))
"""

KEEP = "local keep = {{}} for i = 1, 100000 do keep[i] = {} end"

PROGRAMS = {
    "sub-of-8MB": "local s = ('x'):rep(8 * 1024 * 1024) " + KEEP.format("s:sub(i)"),
    "unpack-c": "local s = ('x'):rep(8 * 1024 * 1024) " + KEEP.format("string.unpack('c8000000', s)"),
    "upper": "local s = ('x'):rep(8 * 1024 * 1024) " + KEEP.format("s:upper()"),
    "match-capture": "local s = ('x'):rep(8 * 1024 * 1024) " + KEEP.format("s:match('(x+)')"),
    "gsub-small-pieces": "local s = ('xy'):rep(4 * 1024 * 1024) " + KEEP.format("s:gsub('x', 'zz')"),
    "tostring-__name": "local o = setmetatable({}, {__name = ('n'):rep(8 * 1024 * 1024)}) "
                       + KEEP.format("tostring(o)"),
    "format-q": "local s = ('\\1'):rep(4 * 1024 * 1024) " + KEEP.format("string.format('%q', s)"),
    "os.date": "local f = ('%c'):rep(1024 * 1024) " + KEEP.format("os.date(f, 0)"),
    "dkjson-small-objects": "local json = require('dkjson') local s = '[' .. ('{},'):rep(2000000) .. '{}]' "
                            + KEEP.format("json.decode(s)"),
    "dkjson-encode": "local json = require('dkjson') local t = {} for i = 1, 1000000 do t[i] = i + 0.5 end "
                     + KEEP.format("json.encode(t)"),
    "concat": "local s = ('x'):rep(8 * 1024 * 1024) " + KEEP.format("s .. i"),
    "table.concat": "local t = {} for i = 1, 1000000 do t[i] = 'ab' .. i end " + KEEP.format("table.concat(t)"),
    "string.byte": "local s = ('x'):rep(500000) " + KEEP.format("{s:byte(1, -1)}"),
    "tables": "local keep = {} for i = 1, 10000000 do keep[i] = {i, i, i, i} end",
    "pattern-items": "local p = ('[^a]'):rep(100000) .. 'b' " + KEEP.format("('c'):rep(100001):find(p)"),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_one_call_stays_under_400_mib_resident(name):
    child = subprocess.run(child_command(CHILD), input=PROGRAMS[name], capture_output=True,
                           text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["outcome"].startswith(("limit:", "error")), report
    assert report["peak_mib"] < LIMIT_MIB, report
