"""Hypothesis composes hostile programs; each must end inside its budgets.

Every generated program wraps an expensive or allocating body in a loop
shape (while, repeat, numeric for, goto, recursion, a metamethod, a
coroutine ping-pong, a sort comparator), optionally inside pcall so it
catches whatever it can.  Under the default sandbox limits each must end
(a budget error or a Lua error) within 2 s of its own CPU time, never as a
Python exception, and the child process running them must stay under
400 MiB resident.  The programs run in one child process, so a hang or a
blow-up can't take the test run with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from hypothesis import given, settings, strategies as st
from . import child_command

BODIES = [
    "pcall(error, 'x')",
    "local s = string.rep('x', 1e6) x = s:sub(2)",
    "x = tostring(setmetatable({}, {__name = string.rep('n', 1e5)}))",
    "x = utf8.len(string.rep('\\u{10FFFF}', 1e5))",
    "x = table.concat({string.rep('a', 1e5), string.rep('b', 1e5)}, string.rep(',', 1e4))",
    "x = load(string.rep('a = 1 ', 1e4))",
    "x = string.format('%99d|%-99s|%q', 1, 'x', string.rep('\\0', 1e4))",
    "x = tonumber(string.rep('1', 1e5) .. 'x')",
    "x = select('#', table.unpack({}, 1, 1e4))",
    "x = string.rep('a', 1e4):gsub('a', function(c) return c .. c end)",
    "x = string.find(string.rep('a', 1e4), '.-.-.-.-b')",
    "t = t or {} t[#t + 1] = {string.rep('k', 1e3)}",
    "x = coroutine.wrap(function() coroutine.yield(1) end)()",
    "x = os.date(string.rep('%c', 1e3))",
    "x = string.pack('s4', string.rep('p', 1e5))",
    "local f = function() end t = t or {} t[#t + 1] = f",
]

LOOPS = [
    "while true do {body} end",
    "repeat {body} until false",
    "for i = 1, math.maxinteger do {body} end",
    "::top:: {body} goto top",
    "local function r() {body} return r() end r()",
    "local function r() {body} r() end r()",
    "local m = setmetatable({{}}, {{__index = function(t, k) {body} return t[k + 1] end}}) x = m[1]",
    "local co = coroutine.wrap(function() while true do {body} coroutine.yield() end end) while true do co() end",
    "local a = {{}} for i = 1, 200 do a[i] = i end "
    "while true do table.sort(a, function(p, q) {body} return p < q end) end",
]

program = st.builds(
    lambda loop, body, protect: (f"pcall(function() {loop.format(body=body)} end) while true do end"
                                 if protect else loop.format(body=body)),
    st.sampled_from(LOOPS), st.sampled_from(BODIES), st.booleans())

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    from luapy import LuaRuntime, LuaError, LuaLimitError
    report = []
    for source in json.load(sys.stdin):
        lua = LuaRuntime()
        cpu, wall = time.thread_time(), time.monotonic()
        try:
            lua.execute(source)
            outcome = "returned"
        except LuaLimitError as error:
            outcome = "limit:" + error.limit
        except LuaError:
            outcome = "error"
        except BaseException as error:  # the defect this test looks for
            outcome = "python:" + type(error).__name__ + ": " + str(error)[:200]
        report.append([outcome, time.thread_time() - cpu, time.monotonic() - wall])
        lua.close()
    rss = peak_rss_kib() * 1024
    print(json.dumps({"runs": report, "rss": rss}))
""")


@settings(max_examples=3, deadline=None, derandomize=True)
@given(st.lists(program, min_size=6, max_size=6))
def test_generated_hostile_programs_end_within_their_budgets(programs):
    done = subprocess.run(child_command(CHILD), input=json.dumps(programs), capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    for source, (outcome, cpu, wall) in zip(programs, result["runs"]):
        assert not outcome.startswith("python:"), (source, outcome)
        # 1 s budget; the wall-clock backstop is 4x.  CPU is the plugin's own.
        assert cpu < 2.0, (source, outcome, cpu)
        assert wall < 4 * 1.0 + 2.0, (source, outcome, wall)
    assert result["rss"] < 400 * 1024 * 1024, result["rss"]
