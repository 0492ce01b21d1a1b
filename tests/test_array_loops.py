"""Array loops: a numeric ``for`` whose body only reads and writes its tables
at the loop variable runs a copy of the body that trusts those tables for a
whole chunk (``luapy.compile.array_loops``).

Every test here breaks if the copy trusts a table it should not: a
metatable, a shorter array, another table in the local, a hook, or an
alias set half-way through a chunk by a metamethod the copy's own
operators ran.  Programs are checked against real Lua 5.4, in both
profiles and with every loop hoisted.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

import luapy.compile.statements
from luapy import LuaRuntime, Options
from luapy.options import UNLIMITED
from tests.test_compile import _python_of
from tests.test_debuglib import execute_in_child


def standard():
    return LuaRuntime(Options(profile="standard", limits=UNLIMITED))


def sandbox():
    return LuaRuntime()


def unchecked():
    """No accounting at all: loops get chunks only for their array copy."""
    return LuaRuntime(Options(profile="standard", limits=UNLIMITED, count_steps=False))


RUNTIMES = {"standard": standard, "sandbox": sandbox, "unchecked": unchecked}


@pytest.fixture(params=["inline", "hoisted"])
def form(request, monkeypatch):
    """Loops as usual, or every loop hoisted into a function of its own."""
    if request.param == "hoisted":
        monkeypatch.setattr(luapy.compile.statements, "MAX_BLOCKS", 3)
    return request.param


def has_copy(source: str) -> bool:
    return "_ok = True" in _python_of(source)


@pytest.mark.parametrize("body", [
    "t[i] = i",
    "sum = sum + t[i]",
    "t[i] = t[i] * 2 + 1",
    "local x = t[i]; u[i] = x .. 'a'",
    "t[i], sum = -i, sum - i",
    "if_ = t[i] == 3 and 1 or 2",
    "up = u[i]",
])
def test_plain_bodies_get_a_copy(body):
    source = f"local up; local t, u, sum, if_ = {{}}, {{}}, 0, 0\nfor i = 1, 10 do {body} end\nreturn function() return up end"
    assert has_copy(source)


def test_code_without_accounting_gets_the_copy_too():
    # It used to run every loop through a plain range, and the table loop
    # of bench_core was 40% slower without accounting than with it.
    from luapy.compile import generated_source
    from luapy.parser import parse
    from luapy.resolve import resolve
    tree = parse("local t = {} for i = 1, 10 do t[i] = i end return t", "t")
    resolve(tree)
    python = generated_source(unchecked()._state, tree)
    assert "_ok = True" in python and "_steps" not in python.split("def __f0", 1)[1]
    assert unchecked().execute("local t = {} for i = 1, 1000 do t[i] = i * 2 end return #t, t[1000]") == (1000, 2000)


def test_array_loops_without_accounting_give_no_steps_away():
    # Red team: each short array loop credited the countdown with the rest
    # of a chunk it never charged, so library work ran free of the budget.
    from luapy.options import Limits
    lua = LuaRuntime(Options(count_steps=False, limits=Limits(steps=100_000, time=None)))
    with pytest.raises(Exception, match="step budget exhausted"):
        lua.execute("local t = {} for k = 1, 200000 do for i = 1, 1 do t[i] = i end "
                    "local s = ('x'):rep(10) end return 'finished'")


@pytest.mark.parametrize("loop", [
    "for i = 1, 10 do t[i] = f(i) end",                  # a call
    "for i = 1, 10 do t[i] = g end",                      # a global
    "for i = 1, 10 do t[i + 1] = i end",                  # not at the loop variable
    "for i = 1, 10 do t.x = i end",                       # a field
    "for i = 0, 10 do t[i] = i end",                      # from 0
    "for i = 1, 10, 2 do t[i] = i end",                   # by two
    "for i = 1, 10 do t[i] = i / 2 end",                  # always the helper's
    "for i = 1, 10 do t[i] = #t end",                     # a length
    "for i = 1, 10 do t[i] = i; t = {} end",              # another table
    "for i = 1, 10 do local s = {}; s[i] = i end",        # the body's own table
    "for i = 1, 10 do if i then t[i] = i end end",        # not a straight line
    "for i = 1, 10 do t[i] = function() return t end end",
])
def test_other_bodies_get_none(loop):
    assert not has_copy(f"local t, f = {{}}, print\n{loop}")


def test_a_captured_table_gets_none():
    assert not has_copy("local t = {}\nfor i = 1, 10 do t[i] = i end\nreturn function() return t end")


PROGRAMS = {
    # Fill, sum, double in place: the copy all along, across many chunks.
    "fill and sum": """
        local t = {}
        for i = 1, 5000 do t[i] = i * 3 end
        local sum = 0
        for i = 1, #t do sum = sum + t[i] end
        for i = 1, #t do t[i] = t[i] - 1 end
        return #t, sum, t[1], t[5000]
    """,
    # A metamethod of a value the sum meets sets __index and __newindex
    # half-way through a chunk: the reads and stores after it see them.
    "metatable set by an operator": """
        local t, u, log = {}, {}, {}
        local holder = {u}      -- the copy's tables must be no closure's
        for i = 1, 3000 do t[i] = i end
        local mt = {__add = function(a, b)
          setmetatable(holder[1], {__newindex = function(tt, k, v) log[#log + 1] = k; rawset(tt, k, -v) end})
          return a
        end}
        t[700] = setmetatable({}, mt)
        local sum = 0
        for i = 1, 3000 do
          local v = t[i]
          sum = sum + v
          u[i] = i
        end
        return #u, #log, log[1], u[699], u[700], u[701], u[3000]
    """,
    # The operator shortens the array the copy reads: later reads are nil.
    "array shortened by an operator": """
        local t = {}
        local holder = {t}
        for i = 1, 2000 do t[i] = i end
        local mt = {__lt = function(a, b)
          for k = 2000, 900, -1 do holder[1][k] = nil end
          return true
        end}
        t[800] = setmetatable({}, mt)
        local n, cur = 0, nil
        for i = 1, 2000 do
          local v = t[i] or 1
          local small = v < 0
          cur = t[i]
          n = n + (cur == nil and 1 or 0)
        end
        return n, #t
    """,
    # The operator makes the local hold another table (debug.setlocal).
    "local rebound by an operator": """
        local other = {}
        local t = {}
        local mt = {__concat = function(a, b)
          local k = 1
          while true do
            local name = debug.getlocal(2, k)
            if name == nil then break end
            if name == "t" then debug.setlocal(2, k, other) end
            k = k + 1
          end
          return "x"
        end}
        local weird = setmetatable({}, mt)
        local original = t
        for i = 1, 300 do
          local s = (i == 200 and weird or "a") .. "b"
          t[i] = s
        end
        return #original, original[200], other[199], other[200], other[300], t == other
    """,
    # A nil stored half-way: the array ends there, later keys go to the hash.
    "nil stored": """
        local t = {}
        for i = 1, 1000 do t[i] = i ~= 500 and i or nil end
        local keys = 0
        for k in pairs(t) do keys = keys + 1 end
        return keys, t[499], t[500], t[501], t[1000]
    """,
    # One table under two names: the second store overwrites the first.
    "one table, two names": """
        local a = {}
        local b = a
        for i = 1, 300 do a[i] = i; b[i] = i * 2 end
        local c = {}
        for i = 1, 300 do c[i] = a[i] + 1; a[i] = c[i] end
        return #a, a[1], a[300], c[300]
    """,
    # Two stores into one table per iteration (a fuzzer's find: each
    # appended), and an error after them in the first iteration.
    "two stores per iteration": """
        local t, u = {}, {}
        for i = 1, 300 do t[i] = i; t[i] = -i end
        for i = 1, 300 do u[i], u[i] = i, 2 * i end
        local holder = {}
        local ok = pcall(function()
          local v = {}
          holder[1] = v
          for i = 1, 300 do v[i] = true; v[i] = i; local bad = '' // i end
        end)
        local w = holder[1]
        local count = 0
        for _ in pairs(t) do count = count + 1 end
        for _ in pairs(u) do count = count + 1 end
        for _ in pairs(w) do count = count + 1 end
        return count, #t, t[300], #u, u[1], u[300], ok, #w, w[1]
    """,
    # Tables whose chunk does not start where their array ends, or that
    # have a hash part: the ordinary body, same results.
    "not at the end": """
        local t = {1, 2, 3, x = 1}
        for i = 1, 100 do t[i] = -i end
        local u = {[5] = 5}
        for i = 1, 100 do u[i] = i end
        local w = {}
        for i = 10, 100 do w[i] = i end
        local r = {1, 2}
        for i = 3, 70 do r[i] = i end
        return #t, t.x, #u, w[10], #r
    """,
    # Integer wrap-around and floats in the copy's arithmetic.
    "wrap and floats": """
        local t = {}
        for i = 1, 100 do t[i] = math.maxinteger // 50 + i end
        local sum = 0
        for i = 1, #t do sum = sum + t[i] end
        t[30] = 0.5
        local mixed = 0
        for i = 1, #t do mixed = mixed + t[i] end
        return sum, mixed, math.type(mixed)
    """,
    # Upvalues read and written by the body; strings concatenated.
    "upvalues and strings": """
        local total = 0
        local parts = {}
        local function run()
          local t = {}
          for i = 1, 200 do t[i] = i end
          for i = 1, 200 do total = total + t[i]; parts[i] = nil end
          local s = {}
          for i = 1, 200 do s[i] = "k" .. t[i] end
          return s
        end
        local s = run()
        return total, #s, s[1], s[200]
    """,
}


def _results(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


@pytest.mark.parametrize("profile", RUNTIMES)
@pytest.mark.parametrize("name", PROGRAMS)
def test_array_loops_match_lua(name, profile, form, reference):
    if profile == "sandbox" and "debug." in PROGRAMS[name]:
        pytest.skip("the sandbox has no debug library")
    source = PROGRAMS[name]
    assert _results(RUNTIMES[profile]().execute(source)) == _results(reference.execute(source))


def test_known_answers():
    # Without the oracle too: the fill, the operator that rebinds.
    assert standard().execute(PROGRAMS["fill and sum"]) == (5000, 3 * 5000 * 5001 // 2, 2, 14999)
    assert standard().execute(PROGRAMS["local rebound by an operator"]) == (199, None, None, "x", "ab", True)


@pytest.mark.parametrize("start, count", [(1, 1), (1, 64), (1, 65), (1, 5000), (30, 1000), (65, 200)])
def test_the_copy_charges_memory_as_the_body_does(start, count):
    # The same fill, once as the copy and once as the ordinary body (a
    # global read keeps a body from being copied): the same charge.
    def charged(value: str) -> float:
        lua = sandbox()
        lua.execute("one = 1")
        return lua.execute(f"""
            local t = {{}}
            for i = 1, {start - 1} do t[i] = i end
            local before = collectgarbage("count")
            for i = {start}, {start + count - 1} do t[i] = {value} end
            return collectgarbage("count") - before, #t
        """)
    copied, plain = charged("i"), charged("i * one")
    assert has_copy("local t = {}\nfor i = 1, 9 do t[i] = i end")
    assert copied == plain
    assert copied[0] > 0 and copied[1] == start + count - 1


def test_the_copy_runs_out_of_memory():
    lua = LuaRuntime(Options(limits=dataclasses.replace(UNLIMITED, memory=4 << 20)))
    with pytest.raises(Exception) as caught:
        lua.execute("local t = {}\nfor i = 1, 1e8 do t[i] = i end")
    assert "not enough memory" in str(caught.value) or "memory" in str(caught.value)


def test_errors_in_the_copy_name_their_line():
    lua = standard()
    with pytest.raises(Exception) as caught:
        lua.execute("local t = {}\nfor i = 1, 100 do t[i] = i end\nt[77] = {}\nlocal s = 0\n"
                    "for i = 1, 100 do\n  s = s + t[i]\nend")
    assert str(caught.value).startswith("(execute):6: attempt to perform arithmetic on a table value (field '?')")


HOOKED_LOOPS = """
    local t, sum, hooked = {}, 0, 0
    debug.sethook(function() hooked = hooked + 1 end, "", 1)
    for i = 1, 300 do t[i] = i end
    for i = 1, 300 do sum = sum + t[i] end
    debug.sethook()
    return hooked
"""


def test_hooks_see_the_ordinary_body():
    # A count hook counts Python lines: under a hook, a loop the copy could
    # run counts what it counts when the compiler makes no copy at all.
    # (Hooks are sys.settrace, which pytest-xdist's workers can't have.)
    child = (
        "import sys\n"
        "from luapy import LuaRuntime\n"
        "import luapy.compile.statements as statements\n"
        "copied = LuaRuntime(profile='standard').execute(sys.argv[1])\n"
        "statements.plan_array_loop = lambda node: None\n"
        "print(copied, LuaRuntime(profile='standard').execute(sys.argv[1]))\n")
    done = subprocess.run([sys.executable, "-c", child, HOOKED_LOOPS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    copied, plain = map(int, done.stdout.split())
    assert copied == plain > 600


def test_a_hook_set_by_an_operator_sees_the_rest_of_the_chunk(reference):
    # The copy runs only without hooks; a hook set from inside it takes
    # effect at the next statement, as lua5.4's does.
    source = """
        local lines = {}
        local t = {}
        for i = 1, 10 do t[i] = i end
        t[4] = setmetatable({}, {__add = function(a, b)
          debug.sethook(function(_, line) lines[#lines + 1] = line end, "l")
          return a
        end})
        local sum = 0
        for i = 1, 10 do
          sum = sum + t[i]
          t[i] = 0
        end
        debug.sethook()
        return table.concat(lines, ",")
    """
    assert execute_in_child(source) == repr(reference.execute(source))


# -- random bodies against lua5.4 ----------------------------------------------

_OPERANDS = ["i", "s", "1", "2.5", "'7'", "nil", "t[i]", "u[i]", "(t[i] or 0)", "(u[i] or 1)", "-i",
             "s .. ''", "(t[i] == nil)", "(i < 5 and t[i] or u[i])", "k"]
_PREPARATIONS = ["", "for j = 1, N do t[j] = j end", "for j = 1, N do u[j] = j * 2 end",
                 "for j = 1, N // 2 do t[j] = j end", "t.x = 1", "u[N + 5] = 3",
                 "t[3] = setmetatable({}, mt)", "u[N // 3 + 1] = setmetatable({}, mt)", "t[2] = nil"]


def _random_program(rnd) -> str:
    """A loop of the copy's shape over two tables in some state, whose
    operands may have metamethods that change the tables."""
    def expr(depth=0):
        if depth > 1 or rnd.random() < 0.5:
            return rnd.choice(_OPERANDS)
        op = rnd.choice(["+", "-", "*", "//", "%", "..", "<", "==", "and", "or"])
        return f"({expr(depth + 1)} {op} {expr(depth + 1)})"

    def statement():
        return rnd.choice([f"t[i] = {expr()}", f"u[i] = {expr()}", f"s = {expr()}", f"local k = {expr()}",
                           f"t[i], u[i] = {expr()}, {expr()}", f"t[i] = {expr()}"])
    body = "; ".join(statement() for _ in range(rnd.randint(1, 4)))
    return f"""
        local N = {rnd.choice([3, 70, 1100, 2100])}
        local holder, mt = {{}}, {{}}
        mt.__add = function(a, b)
          if type(a) == 'table' then setmetatable(holder[2], {{__newindex = function(tt, k, v) rawset(tt, k, 'n') end}}) end
          return 1
        end
        mt.__concat = function(a, b) holder[1][N] = nil; return 'c' end
        mt.__lt = function(a, b) return true end
        mt.__eq = function(a, b) return true end
        mt.__sub, mt.__mul, mt.__idiv, mt.__mod = mt.__add, mt.__add, mt.__add, mt.__add
        local function run()
          local t, u, s, k = {{}}, {{}}, 0, 0
          holder[1], holder[2] = t, u
          {chr(10).join(rnd.sample(_PREPARATIONS, 3))}
          for i = {rnd.choice([1, 1, 2, 65])}, N do {body} end
          return t, u, s
        end
        local ok, t, u, s = pcall(run)
        local err
        if not ok then err = tostring(t):gsub('^.-:%d+: ', ''); t, u = holder[1], holder[2] end
        local ct, cu, sum = 0, 0, 0
        for key, v in pairs(t) do ct = ct + 1; if type(v) == 'number' and math.type(key) == 'integer' then sum = sum + v * key end end
        for key, v in pairs(u) do cu = cu + 1; if type(v) == 'number' and math.type(key) == 'integer' then sum = sum + v end end
        return ok, err, ct, cu, tostring(sum), type(s) == 'table' and 'table' or tostring(s)
    """


@pytest.mark.parametrize("seed", range(4))
def test_random_bodies_match_lua(seed, reference):
    import random
    rnd = random.Random(seed)
    copied = 0
    for _ in range(40):
        source = _random_program(rnd)
        copied += has_copy(source)
        for make in RUNTIMES.values():
            assert _results(make().execute(source)) == _results(reference.execute(source)), source
    assert copied > 30
