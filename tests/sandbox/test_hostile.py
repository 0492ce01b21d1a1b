"""The hostile-plugin suite: untrusted Lua must not hang, crash or escape.

Every case asserts its exact outcome (a value, a Lua error message, or a
``LuaLimitError`` naming its limit), that it finished well within its
budget, and that the same runtime still works afterwards.  The test process
staying alive through all of them is the proof that nothing crashed;
``test_parser_bombs_in_a_subprocess`` double-checks the nastiest inputs in a
child process so a crash would show up as a failure, not a dead test run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest

from luapy import Limits, LuaError, LuaLimitError, LuaRuntime, LuaSyntaxError, lua_type

#: Fast budgets so limit cases end quickly.
STEPS = Limits(steps=2_000_000, time=None)
TIME = Limits(steps=None, time=0.5)
#: Only the memory budget can stop these (time is a generous safety net).
MEMORY = Limits(steps=None, time=20)
DEFAULT = Limits()


@dataclass
class Case:
    name: str
    source: str
    #: ("value", v) | ("error", message) | ("syntax", message prefix) | ("limit", name)
    expect: tuple
    limits: Limits = field(default_factory=lambda: DEFAULT)
    #: Generous: the machine running the tests may be loaded.
    max_seconds: float = 10.0


CASES = [
    # 1. Infinite loops ------------------------------------------------------
    Case("while-true", "while true do end", ("limit", "steps"), STEPS),
    Case("repeat-forever", "repeat until false", ("limit", "steps"), STEPS),
    Case("for-to-huge", "for i = 1, math.huge do end", ("limit", "steps"), STEPS),
    Case("for-to-1e18", "for i = 1, 1e18 do end", ("limit", "steps"), STEPS),
    Case("goto-loop", "::top:: goto top", ("limit", "steps"), STEPS),
    Case("while-true-timed", "local x = 0 while true do x = x + 1 end", ("limit", "time"), TIME),
    Case("pcall-cannot-catch-limit",
         "while true do pcall(function() while true do end end) end", ("limit", "steps"), STEPS),
    Case("xpcall-handler-loops",
         "xpcall(function() while true do end end, function() while true do end end)",
         ("limit", "steps"), STEPS),
    Case("limit-survives-error-handler",
         "local ok = pcall(function() for i = 1, math.huge do end end) return 'escaped'",
         ("limit", "steps"), STEPS),
    Case("tail-call-loop", "local function f() return f() end return f()", ("limit", "steps"), STEPS),
    # 2. Runaway recursion ----------------------------------------------------
    Case("plain-recursion", "local function f() return 1 + f() end return f()",
         ("error", "(hostile):1: stack overflow")),
    Case("recursion-is-catchable",
         "local function f() return 1 + f() end local ok, e = pcall(f) return ok, e",
         ("value", (False, "(hostile):1: stack overflow"))),
    Case("index-function-recursion",
         "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x",
         ("error", "(hostile):1: stack overflow")),
    # Call-free bodies run before their prologue; what they reach through
    # metamethods is still counted, in depth and in steps.
    Case("call-free-index-recursion",
         "local t = setmetatable({}, {__index = function(t, k) return t[k + 1] end}) return t[1]",
         ("error", "(hostile):1: stack overflow")),
    Case("call-free-exponential-index",
         "local t = setmetatable({}, {__index = function(t, k) if k < 2 then return k end "
         "return t[k - 1] + t[k - 2] end}) return t[80]",
         ("limit", "steps"), STEPS, max_seconds=30.0),
    Case("call-free-exponential-arith",
         "local mt = {} mt.__add = function(a, b) if b == 0 then return 0 end "
         "return (a + (b - 1)) + (a + (b - 1)) end local x = setmetatable({}, mt) return x + 80",
         # About 6 s alone; a full run on two busy cores has seen 35 s.
         ("limit", "steps"), STEPS, max_seconds=60.0),
    Case("exponential-recursion-with-base-case",
         "local function f(n) if n < 2 then return n end return f(n - 1) + f(n - 2) end return f(80)",
         ("limit", "steps"), STEPS),
    Case("gsub-callback-recursion",
         "local function f(s) return (s:gsub('.', f)) end return f('ab')",
         ("error", "(hostile):1: stack overflow")),
    Case("xpcall-f-f", "local function f() return f() + 1 end return xpcall(f, f)",
         ("value", (False, "error in error handling"))),
    # lua5.4 prefixes the position once per wrap level it unwinds through.
    Case("coroutine-wrap-recursion",
         "local function f() return coroutine.wrap(f)() end local ok, e = pcall(f) "
         "return ok, e:match('^%(hostile%):1: '), e:match('C stack overflow$')",
         ("value", (False, "(hostile):1: ", "C stack overflow"))),
    Case("index-table-loop",
         "local t = setmetatable({}, {}) getmetatable(t).__index = t return t.x",
         ("error", "(hostile):1: '__index' chain too long; possible loop")),
    Case("newindex-table-loop",
         "local t = setmetatable({}, {}) getmetatable(t).__newindex = t t.x = 1",
         ("error", "(hostile):1: '__newindex' chain too long; possible loop")),
    # 3. Memory bombs -----------------------------------------------------------
    Case("doubling-string", "local s = 'x' while true do s = s .. s end", ("limit", "memory"), MEMORY, max_seconds=20),
    Case("rep-1e9", "return string.rep('x', 1e9)", ("limit", "memory")),
    Case("rep-maxinteger", "return ('ab'):rep(math.maxinteger)",
         ("error", "(hostile):1: resulting string too large")),
    Case("concat-huge-parts",
         "local t = {} local s = ('x'):rep(1e6) for i = 1, 100 do t[i] = s end return #table.concat(t)",
         ("limit", "memory"), MEMORY, max_seconds=20),
    Case("growing-table", "local t = {} local i = 0 while true do i = i + 1 t[i] = i end",
         ("limit", "memory"), MEMORY, max_seconds=20),
    Case("growing-hash", "local t = {} local i = 0 while true do i = i + 1 t['k' .. i] = i end",
         ("limit", "memory"), MEMORY, max_seconds=20),
    Case("unpack-1e8", "return table.unpack({}, 1, 1e8)",
         ("error", "(hostile):1: too many results to unpack")),
    Case("format-width", "return string.format('%99999d', 1)",
         ("error", "(hostile):1: invalid conversion specification: '%99999d'")),
    Case("nested-tables-forever", "local t = {} while true do t = {t} end", ("limit", "memory"), MEMORY, max_seconds=20),
    # 4. Pathological patterns ------------------------------------------------
    Case("lazy-quantifiers", "return string.find(('a'):rep(50000), '.-.-.-.-b')", ("limit", "time"), TIME),
    Case("pattern-too-complex", "return string.find(('a'):rep(20000), ('.?'):rep(20000))",
         ("error", "(hostile):1: pattern too complex")),
    Case("gsub-steps", "return (('x'):rep(100000):gsub('x', function() return 'y' end))",
         ("value", "y" * 100000)),
    # 5. Parser bombs -----------------------------------------------------------
    Case("nested-parens", "return " + "(" * 100_000 + "1" + ")" * 100_000, ("syntax", "(hostile):1:")),
    Case("nested-tables", "return " + "{" * 100_000 + "}" * 100_000, ("syntax", "(hostile):1:")),
    Case("nested-blocks", "do " * 100_000 + "end " * 100_000, ("syntax", "(hostile):1:")),
    Case("nested-calls", "return " + "f(" * 100_000 + ")" * 100_000, ("syntax", "(hostile):1:")),
    Case("chained-plus", "return 1" + "+1" * 100_000, ("syntax", "(hostile):1:")),
    Case("chained-concat", "return 'a'" + "..'a'" * 100_000, ("syntax", "(hostile):1:")),
    Case("ten-megabytes", "x = 1\n" * (10 * 1024 * 1024 // 6), ("limit", "source")),
    Case("unterminated-long-string", "x = [==[ never closed", ("syntax", "(hostile):1: unfinished long string")),
    Case("unterminated-long-comment", "--[[ never closed", ("syntax", "(hostile):1: unfinished long comment")),
    # 6. Escape attempts ----------------------------------------------------------
    Case("dunder-on-function", "return print.__class__",
         ("error", "(hostile):1: attempt to index a function value (global 'print')")),
    Case("dunder-on-string", "return ('').__class__, ('').__dict__", ("value", (None, None))),
    Case("dunder-on-builtin", "return string.format.__self__",
         ("error", "(hostile):1: attempt to index a function value (field 'format')")),
    Case("dunder-on-table", "return ({}).__class__, _G.__builtins__, _G.__import__", ("value", (None, None, None))),
    Case("dunder-on-number", "local n = 1 return n.__class__",
         ("error", "(hostile):1: attempt to index a number value (local 'n')")),
    Case("string-dump", "return string.dump(print)", ("error", "(hostile):1: unable to dump given function")),
    Case("binary-chunk", "return load('\\27Lua\\84\\0')",
         ("value", (None, "binary string: bad binary format (truncated chunk)"))),
    Case("load-with-empty-env", "return load('return print', 'x', 't', {})()", ("value", None)),
    Case("setfenv-getfenv", "return setfenv, getfenv", ("value", (None, None))),
    Case("no-debug-io-execute", "return debug, io, os.execute, os.getenv, dofile, loadfile",
         ("value", (None, None, None, None, None, None))),
    Case("require-file-path", "return pcall(require, '/etc/passwd')",
         ("value", (False, "module '/etc/passwd' not found:\n\tno field package.preload['/etc/passwd']\n"
                           "\tno file '/usr/local/share/lua/5.4//etc/passwd.lua'\n"
                           "\tno file '/usr/local/share/lua/5.4//etc/passwd/init.lua'\n"
                           "\tno file '/usr/local/lib/lua/5.4//etc/passwd.lua'\n"
                           "\tno file '/usr/local/lib/lua/5.4//etc/passwd/init.lua'\n"
                           "\tno file './/etc/passwd.lua'\n"
                           "\tno file './/etc/passwd/init.lua'"))),
    Case("package-loadlib", "return package.loadlib", ("value", None)),
    Case("collectgarbage-other-options", "return pcall(collectgarbage, 'stop')",
         ("value", (False, "bad argument #1 to 'collectgarbage' (invalid option 'stop')"))),
    # 8. Python-specific traps ------------------------------------------------------
    Case("true-vs-one", "local t = {} t[true] = 'bool' t[1] = 'int' return t[true], t[1], #t",
         ("value", ("bool", "int", 1))),
    Case("nan-key", "local t = {} t[0/0] = 1", ("error", "(hostile):1: table index is NaN")),
    Case("nil-key", "local t = {} t[nil] = 1", ("error", "(hostile):1: table index is nil")),
    Case("add-keys-during-pairs",
         "local t = {a = 1, b = 2} local n = 0 for k in pairs(t) do t[k .. 'x'] = 1 n = n + 1 end return n",
         ("value", 2)),
    Case("sort-comparator-errors", "return pcall(table.sort, {3, 1, 2}, function(a, b) error('cmp', 0) end)",
         ("value", (False, "cmp"))),
    Case("sort-comparator-mutates",
         "local t = {5, 3, 1, 4, 2} local ok = pcall(table.sort, t, function(a, b) t[#t] = nil return (a or 0) < (b or 0) end) return ok",
         ("value", True)),
    Case("sort-inconsistent", "local t = {} for i = 1, 100 do t[i] = i % 7 end return pcall(table.sort, t, function() return true end)",
         ("value", (False, "invalid order function for sorting"))),
    Case("huge-number-tostring", "return tostring(2^1000), tostring(-2^1000)", ("value", ("1.0715086071863e+301", "-1.0715086071863e+301"))),
    Case("huge-number-format", "return string.format('%d', 2^63)",
         ("error", "(hostile):1: bad argument #2 to 'format' (number has no integer representation)")),
    Case("huge-digit-string", "return tonumber(('9'):rep(5000)), math.type(tonumber(('9'):rep(5000)))",
         ("value", (float("inf"), "float"))),
    Case("shift-huge", "return 1 << 100000, 1 >> -100000, math.maxinteger * math.maxinteger", ("value", (0, 0, 1))),
    Case("multiply-wraps", "local x = 3 for i = 1, 100 do x = x * x end return math.type(x)", ("value", "integer")),
    # 9. Hostile results ------------------------------------------------------------
    Case("error-object-tostring-errors",
         "error(setmetatable({}, {__tostring = function() error('nested') end}))",
         ("error-object", "table")),
    Case("return-ten-megabytes", "return ('x'):rep(10 * 1024 * 1024)", ("value", "x" * (10 * 1024 * 1024))),
]


def run(runtime: LuaRuntime, case: Case):
    try:
        result = runtime.execute(case.source, name="=(hostile)")
        return ("value", result)
    except LuaLimitError as failure:
        return ("limit", failure.limit)
    except LuaSyntaxError as failure:
        return ("syntax", str(failure))
    except LuaError as failure:
        if not isinstance(failure.value, str):
            return ("error-object", lua_type(failure.value), str(failure))
        return ("error", str(failure))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(case: Case):
    runtime = LuaRuntime(limits=case.limits)
    start = time.perf_counter()
    outcome = run(runtime, case)
    elapsed = time.perf_counter() - start
    if case.expect[0] == "syntax":
        assert outcome[0] == "syntax", outcome
        assert outcome[1].startswith(case.expect[1]), outcome
    elif case.expect[0] == "error-object":
        assert outcome[:2] == case.expect, outcome
        assert outcome[2].startswith("table: 0x")  # reported without running __tostring
    else:
        assert outcome == case.expect
    assert elapsed < case.max_seconds, f"{case.name} took {elapsed:.2f}s"
    # The same runtime keeps working.
    assert runtime.eval("1 + 1") == 2
    assert runtime.execute("local t = {} for i = 1, 100 do t[i] = i end return #t") == 100


def test_limit_error_names_chunk_and_line():
    runtime = LuaRuntime(limits=STEPS)
    with pytest.raises(LuaLimitError) as failure:
        runtime.execute("local x = 0\nwhile true do\n  x = x + 1\nend", name="@plugin.lua")
    assert failure.value.limit == "steps"
    assert failure.value.where is not None and failure.value.where.startswith("plugin.lua:")
    assert str(failure.value).startswith("plugin.lua:")


def test_runtimes_are_isolated():
    a, b = LuaRuntime(), LuaRuntime()
    a.execute("string.rep = function() return 'hacked' end; poisoned = true")
    a.execute("getmetatable('').__index = {upper = function() return 'pwned' end}")
    assert a.eval("('x'):upper()") == "pwned"
    assert b.eval("string.rep('ab', 2)") == "abab"
    assert b.eval("('x'):upper()") == "X"
    assert b.eval("poisoned") is None


def test_globals_returned_to_python_are_not_converted_eagerly():
    runtime = LuaRuntime()
    globals_table = runtime.eval("_G")
    assert globals_table["_G"] == globals_table
    with pytest.raises(ValueError):
        globals_table.to_python()  # contains functions: refused, not converted


def test_self_referencing_result_is_refused():
    runtime = LuaRuntime()
    result = runtime.execute("local t = {} t.me = t return t")
    with pytest.raises(ValueError, match="cycle"):
        result.to_python()


def test_result_with_erroring_metamethods_converts_raw():
    runtime = LuaRuntime()
    result = runtime.execute(
        "return setmetatable({a = 1}, {__index = function() error('x') end, __len = function() error('y') end})")
    assert result.to_python() == {"a": 1}
    assert len(result) == 0


BOMBS = [
    "return " + "(" * 100_000 + "1" + ")" * 100_000,
    "return " + "{" * 100_000 + "}" * 100_000,
    "do " * 100_000 + "end " * 100_000,
    "return " + "f(" * 100_000 + ")" * 100_000,
    "return 1" + "+1" * 100_000,
    "return 'a'" + "..'a'" * 100_000,
    "return " + "-" * 100_000 + "1",
    "return " + "not " * 100_000 + "nil",
    "local t = {} return t" + ".x" * 100_000,
    "return " + "function() return " * 5000 + "1" + " end" * 5000,
]


def test_parser_bombs_in_a_subprocess():
    program = (
        "import sys\n"
        "from luapy import LuaRuntime, LuaError\n"
        "for source in sys.stdin.read().split('\\x00'):\n"
        "    try:\n"
        "        LuaRuntime().execute(source)\n"
        "        print('result')\n"
        "    except LuaError as e:\n"
        "        print('error', type(e).__name__)\n"
    )
    completed = subprocess.run([sys.executable, "-c", program], input="\x00".join(BOMBS),
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.split("\n")[:-1]
    assert len(lines) == len(BOMBS)
    assert all(line in ("result", "error LuaSyntaxError", "error LuaError") for line in lines), lines


@pytest.mark.parametrize("source, expected", [
    ("local t = {x = {}} t.x.x = t.x return t" + ".x" * 990 + " == t.x", True),
    ("return 1" + "+1" * 990, 991),
    ("local function f() return f end return f" + "()" * 990 + " == f", True),
    ("local s = {} function s:m() return self end return s" + ":m()" * 990 + " == s", True),
])
def test_long_chains_just_under_the_depth_cap_run(source, expected):
    # The parser allows trees 1,000 levels deep; the compiler must too.
    assert LuaRuntime().execute(source) == expected
