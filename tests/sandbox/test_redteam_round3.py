"""Red-team round 3 (issue 10): what a hostile plugin could still do, kept fixed.

The attacks on memory run under the default sandbox limits in a child
process with a hard timeout, which reports its outcome, its CPU time and
the child's peak resident memory: before its fix each one built hundreds of
megabytes (or gigabytes, with larger arguments) that the memory budget never
saw.  Work that went uncharged is shown with small budgets in process, and
the figures each fix was measured with are in the comments.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import pytest

from . import child_command

from luapy import Limits, LuaError, LuaLimitError, LuaRuntime

from .test_redteam import CHILD, run_child


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


# -- base: print and warn -------------------------------------------------------

QUIET_CHILD = CHILD.replace("runtime = LuaRuntime()\n", "runtime = LuaRuntime()\nruntime.set_output(len)\n")


def run_quiet_child(source: str, timeout: float = 120) -> dict:
    """``run_child`` with the runtime's output thrown away."""
    done = subprocess.run(child_command(QUIET_CHILD), input=source, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


# Joining the pieces of one line copied every argument: print or warn of 24
# references to one 16 MiB string made a 400 MB line (804 and 420 MiB
# resident; with 200 arguments, 3 GB).
JOINED_LINES = {
    "print": "print(table.unpack(t))",
    "warn-off": "warn(table.unpack(t))",
    "warn-on": "warn('@on') warn(table.unpack(t))",
}


@pytest.mark.parametrize("name", list(JOINED_LINES))
def test_lines_are_not_joined_uncharged(name):
    report = run_quiet_child(S16 + "local t = {} for i = 1, 24 do t[i] = s end " + JOINED_LINES[name])
    assert report["outcome"] in ("value", "limit:memory")
    assert report["peak_mib"] < PEAK_MIB


def test_a_long_print_line_is_written_piece_by_piece():
    lua = LuaRuntime()
    out = []
    lua.set_output(out.append)
    lua.execute("local s = ('x'):rep(2^17) print(s, 1, s)")
    assert "".join(out) == "x" * 2**17 + "\t1\t" + "x" * 2**17 + "\n"
    out.clear()
    lua.execute("print('a', 1, nil)")
    assert out == ["a\t1\tnil\n"]


def test_sandbox_warnings_go_to_the_runtime_output(capfd):
    # Straight to the host's stderr, a plugin could write hundreds of MB per
    # call there (warn('@on') then warn(s) in a loop), past every bound the
    # host puts on its output.
    lua = LuaRuntime()
    out = []
    lua.set_output(out.append)
    lua.execute('warn("hidden") warn("@on") warn("a", "b", "c") warn("@off") warn("gone")')
    assert out == ["Lua warning: abc\n"]
    assert capfd.readouterr().err == ""


def test_a_plugins_warnings_are_bounded_like_its_print_output(capfd):
    from resolver.plugins import MAX_OUTPUT_PER_CALL, LuaPlugin

    lines = []
    plugin = LuaPlugin("loud", 'warn("@on") local s = ("x"):rep(2^20) '
                               'function GetWorkloadTypeAndName(m) for i = 1, 50 do warn(s) end '
                               'return "deployment", "x" end',
                       on_output=lambda _name, line: lines.append(line))
    try:
        assert plugin.call("{}").status == "claim"
    finally:
        plugin.close()
    assert sum(map(len, lines)) < 2 * MAX_OUTPUT_PER_CALL
    assert capfd.readouterr().err == ""


# -- dkjson ---------------------------------------------------------------------

JSON = "local json = require('dkjson') "


def test_json_escapes_are_charged_as_they_are_decoded():
    # A top-level JSON string is scanned in Python, an escape per loop turn,
    # and was charged only for its size up front (a step per 16 bytes): one
    # decode of 3 million "\\n" ran 1.3 s of CPU (9 s of wall time on a
    # loaded machine) in one uninterruptible call, past the 1 s budget and
    # its 4 s wall backstop.
    decode = JSON + "local s = '\"' .. ('\\\\n'):rep(...) .. '\"' return #json.decode(s)"
    steps = LuaRuntime(limits=Limits(steps=500_000, time=None, memory=None))
    with pytest.raises(LuaLimitError) as caught:
        steps.execute(decode, 2**20)  # 2 MiB: 131,072 steps up front
    assert caught.value.limit == "steps"
    assert steps.execute(decode, 1000) == 1000
    timed = LuaRuntime(limits=Limits(steps=None, time=0.25, memory=None))
    cpu = time.process_time()
    with pytest.raises(LuaLimitError) as caught:
        timed.execute(decode, 8 * 2**20)  # seconds of work
    assert caught.value.limit == "time"
    assert time.process_time() - cpu < 1.0


def test_custom_json_pieces_are_charged_when_joined():
    # 24 __tojson results, each the same 16 MiB string, joined into a 400 MB
    # result (420 MiB resident) that the memory budget never saw.
    report = run_child(JSON + S16 + "local t = {} for i = 1, 24 do "
                       "t[i] = setmetatable({}, {__tojson = function() return s end}) end "
                       "for i = 1, 1e9 do local x = json.encode(t) end")
    assert report["outcome"] == "limit:memory"
    assert report["peak_mib"] < PEAK_MIB


def test_json_strings_still_decode():
    lua = LuaRuntime()
    assert lua.execute(JSON + "return (json.decode(...))", '"' + "a\\n\\u00e9\\ud83d\\ude00" * 300 + '"') == (
        "a\né\U0001F600" * 300)
    assert lua.execute(JSON + "return json.encode({setmetatable({}, {__tojson = function() "
                              "return '\"x\"' end}), 2})") == '["x",2]'


# -- resolver -------------------------------------------------------------------

@pytest.mark.parametrize("raise_it, message", [
    ("error({})", "(error object is a table value)"),
    ("error()", "(error object is a nil value)"),
    ("error(setmetatable({}, {__tostring = function() while true do end end}))",
     "(error object is a table value)"),
    ("error(42)", "42"),
    ("error('plain')", "plain"),
])
def test_a_plugin_error_that_is_not_a_string_is_positioned(raise_it, message):
    # Reported as "table: 0x7f...", "nil" or "42": no chunk:line, and an
    # address in the log.  __tostring is never run for it.
    from resolver.plugins import LuaPlugin, PluginError

    plugin = LuaPlugin("odd", f"function GetWorkloadTypeAndName(m)\n  {raise_it}\nend")
    try:
        assert plugin.call("{}").error.message == f"odd.lua:2: {message}"
    finally:
        plugin.close()
    with pytest.raises(PluginError) as caught:
        LuaPlugin("odd", f"local x\n{raise_it}")
    assert caught.value.message == f"odd.lua:2: {message}"


# -- error messages that copy a long __name ----------------------------------------

@pytest.mark.parametrize("fail", ["pcall(string.rep, u)", "pcall(math.floor, u)", "pcall(utf8.char, 65, u)"])
def test_argument_errors_naming_a_long_name_are_charged(fail):
    # "bad argument #1 to 'rep' (string expected, got NNNN...)" copied a
    # 16 MiB __name three times per error, uncharged: 2 GB resident within
    # the time budget, as caught errors wait in cycles for a collection.
    report = run_child("local u = setmetatable({}, {__name = ('N'):rep(2^24)}) "
                       f"for i = 1, 1e9 do {fail} end")
    assert report["outcome"] == "limit:memory"
    assert report["peak_mib"] < PEAK_MIB


# -- weak tables ----------------------------------------------------------------

def test_sweeping_weak_tables_stays_a_fraction_of_the_work(monkeypatch):
    # Every eighth budget check walked every entry of every weak table,
    # uncharged: with 950,000 entries, a loop of 2 million additions took
    # 19 s of CPU instead of 0.3 s (its budget was the only thing that
    # stopped it).  Now the walk waits in proportion to what it walks.
    from luapy.runtime.collector import Collector

    walked = []
    sweep = Collector.sweep

    def counting_sweep(self):
        walked.append(sum(len(t.arr) + len(t.hash) for t in self.weak_tables))
        sweep(self)
    monkeypatch.setattr(Collector, "sweep", counting_sweep)
    lua = LuaRuntime(limits=Limits(time=None))
    assert lua.execute("weak = setmetatable({}, {__mode = 'v'}) for i = 1, 100000 do weak[i] = i end "
                       "local x = 0 for i = 1, 2000000 do x = x + i end "
                       "weak[1] = {} for i = 1, 400000 do x = x + i end return weak[1]") is None
    assert walked  # weak entries are still dropped as the program runs
    assert sum(walked) < 2 * 2_400_000


# -- next ------------------------------------------------------------------------

def test_next_from_each_cleared_key_in_turn_is_not_quadratic():
    # A traversal's snapshot remembered a skip only where a walk started, so
    # next(t, k) from each cleared key of a run walked the rest of the run:
    # 20,000 keys took 10 million steps (5.9 s of CPU); now 0.15 s.
    lua = LuaRuntime(limits=Limits(steps=5_000_000, time=None))
    assert lua.execute("""
        local t, keys = {}, {}
        for i = 1, 20000 do keys[i] = 'k' .. i; t[keys[i]] = i end
        t.last = true
        next(t)  -- the snapshot of the keys is taken
        for i = 1, 20000 do t[keys[i]] = nil end
        local found = 0
        for i = 1, 20000 do
            if next(t, keys[i]) == 'last' then found = found + 1 end
        end
        return found
    """) == 20000


def test_skips_left_inside_a_run_find_the_right_entry():
    from luapy.runtime.traversal import HashWalk

    rng = random.Random(7)
    for _ in range(50):
        hash = {f"k{i}": i for i in range(rng.randint(1, 600))}
        walk = HashWalk(hash)
        for _ in range(30):
            for key in rng.sample(list(hash), min(len(hash), rng.randint(0, 80))):
                del hash[key]
            for start in sorted(rng.sample(range(len(walk.keys) + 1), min(len(walk.keys) + 1, 40))):
                pos, key, value, _ = walk.first_live(hash, start)
                live = [i for i in range(start, len(walk.keys)) if walk.keys[i] in hash]
                assert pos == (live[0] if live else len(walk.keys))
                assert key == (walk.keys[pos] if live else None)
                assert value == (hash[key] if live else None)


@pytest.mark.parametrize("call", ["f(table.unpack(t))",
                                  "coroutine.wrap(function() return f(table.unpack(t)) end)()"])
def test_a_budget_error_on_entry_to_a_tail_called_function_has_a_position(call):
    # The check on entry runs before the callee's own handler, and a tail
    # call's caller has already returned: the error named no place.  Every
    # step budget in the range trips somewhere else; one trips right there.
    # Inside a coroutine, the generator form runs the tail call.
    source = ("local t = {} for i = 1, 2000 do t[i] = i end "
              f"local function f(...) local n = select('#', ...) return n end return {call}")
    tripped = 0
    for steps in range(2000, 2400):
        try:
            assert LuaRuntime(limits=Limits(steps=steps, time=None)).execute(source) == 2000
        except LuaLimitError as error:
            tripped += 1
            assert str(error).startswith("(execute):1: step budget exhausted"), (steps, str(error))
    assert tripped > 50
