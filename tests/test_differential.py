"""Generated programs, run by luapy and by real Lua 5.4 (lupa): same output.

Skipped when lupa is not installed.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from luapy import LuaRuntime

lupa = pytest.importorskip("lupa")
from lupa import lua54  # noqa: E402

NUMBERS = ["0", "1", "2", "3", "-1", "7", "10", "255", "1000000", "0.5", "1.5", "-2.25", "3.0",
           "1e300", "math.maxinteger", "math.mininteger", "math.huge", "-math.huge", "0x10",
           "9007199254740993", "2^53", "(0/0)"]
STRINGS = ["'abc'", "'10'", "' 5 '", "'0x1F'", "'1e2'", "''", "'a\\0b'", "'Z'"]
OTHERS = ["nil", "true", "false", "a", "b", "s", "t.x", "t[1]", "#t", "#s"]
BINARY = ["+", "-", "*", "/", "//", "%", "^", "..", "==", "~=", "<", "<=", ">", ">=",
          "and", "or", "&", "|", "~", "<<", ">>"]
UNARY = ["-", "not ", "#", "~"]

PRELUDE = "local a, b, s, t = 6, -4.5, 'hey', {x = 3, 10, 20, 30}\n"

atoms = st.sampled_from(NUMBERS + STRINGS + OTHERS)
expressions = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(BINARY), inner).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
        st.tuples(st.sampled_from(UNARY), inner).map(lambda p: f"({p[0]}{p[1]})"),
        inner.map(lambda e: f"tostring({e})"),
        inner.map(lambda e: f"math.type({e})"),
    ),
    max_leaves=6,
)


def _normalise(value: str) -> str:
    value = value.replace('[string "<python>"]', "chunk").replace('[string "chunk"]', "chunk")
    # Addresses differ, and luapy marks builtins ("function: builtin: 0x…").
    return re.sub(r"0x[0-9a-f]+", "0x…", value.replace("function: builtin: ", "function: "))


#: Runs a chunk under pcall and reports every result with tostring.
RUNNER = """function(src)
    local f, err = load(src, '=chunk')
    if not f then return 'compile error: ' .. err end
    local results = table.pack(pcall(f))
    for i = 1, results.n do results[i] = tostring(results[i]) end
    return table.concat(results, ' | ', 1, results.n)
end"""


def run_reference(source: str) -> str:
    runner = lua54.LuaRuntime(encoding=None).eval(RUNNER)
    return _normalise(runner(source.encode()).decode("latin-1"))


def run_luapy(source: str) -> str:
    runner = LuaRuntime(encoding=None).eval(RUNNER)
    return _normalise(runner(source.encode()).decode("latin-1"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_expressions_match_reference(expression):
    source = PRELUDE + f"return {expression}"
    assert run_luapy(source) == run_reference(source), source


statements = st.lists(
    st.sampled_from([
        "a = a + 1", "b = b * 2", "s = s .. a", "t[#t + 1] = a", "t.x = (t.x or 0) + 1",
        "if a > 3 then a = a - 5 else a = a + 2 end", "for i = 1, 3 do a = a + i end",
        "for k, v in ipairs(t) do b = b + v end", "local n = 0 while n < 3 do n = n + 1 a = a ~ n end",
        "repeat a = a // 2 until a < 10", "do local q = a a = b b = q end",
        "a, b = b, a", "s = s:upper()", "t = {t[1], t[2], a}", "a = #s + #t",
        "b = math.floor(b)", "a = a % 7", "s = string.rep('x', 3, ',')",
    ]),
    min_size=1, max_size=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statements)
def test_statement_sequences_match_reference(body):
    source = PRELUDE + "\n".join(body) + "\nreturn a, b, s, #t, t.x"
    assert run_luapy(source) == run_reference(source), source


RICH_PRELUDE = PRELUDE + """local mt = {__add = function(x, y) return 'add' end, __index = function(t, k) return k end, __call = function(self, v) return v end}
local o = setmetatable({}, mt)
local function va(...) return select('#', ...), ... end
local function mk(n) return function(d) n = n + (d or 1) return n end end
local cnt = mk(0)
"""
RICH_STATEMENTS = [
    "s = s:upper()", "s = s:rep(2, '-')", "s = s:sub(2, -2)", "s = (s:gsub('%w', '%0%0', 2))",
    "a = #s + (s:find('e', 1, true) or 0)", "s = string.format('%5.2f|%d|%s', b, a, s)",
    "s = tostring(a) .. tostring(b)", "a = select('#', va(a, nil, b))", "b = cnt(2)",
    "t[#t + 1] = o.key", "s = s .. (o + 1)", "a = o(a)", "t = {va(1, 2, 3)}",
    "do local ok, e = pcall(function() return a.b.c end) s = tostring(ok) .. s end",
    "do local ok, e = pcall(error, {code = a}) a = type(e) == 'table' and e.code or 0 end",
    "for i = #t, 1, -1 do if t[i] == nil then goto skip end a = a + 1 ::skip:: end",
    "a = math.floor(b * 3) // 2", "b = b ^ 0.5", "a = a % 7 - 3", "b = -b",
    "s = table.concat({a, b, s}, ',')", "a = (a < 10) and a * 2 or a - 10",
    "t = setmetatable({}, {__len = function() return 5 end}) a = #t",
    "do local r = {} for k, v in pairs({x = 1, y = 2}) do r[#r + 1] = k end table.sort(r) s = table.concat(r) end",
    "a = tonumber(tostring(a)) or -1", "s = s:reverse():lower()", "a = utf8.len('héllo') or 0",
    "local co = coroutine.wrap(function(x) local y = coroutine.yield(x + 1) return y * 2 end) a = co(a) + co(3)",
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(RICH_STATEMENTS), min_size=1, max_size=10))
def test_programs_with_libraries_and_metatables_match_reference(body):
    source = RICH_PRELUDE + "\n".join(body) + "\nreturn a, b, s, #t"
    assert run_luapy(source) == run_reference(source), source


# -- builtins called every way, with odd arguments ------------------------------

BUILTINS = ["string.rep", "string.sub", "string.byte", "string.char", "string.format", "string.upper",
            "string.find", "string.gsub", "string.match", "string.reverse", "string.pack", "string.unpack",
            "string.len", "table.insert", "table.concat", "table.unpack", "table.remove", "table.sort",
            "table.move", "table.pack", "math.floor", "math.max", "math.min", "math.tointeger", "math.fmod",
            "math.abs", "math.ult", "math.type", "math.sqrt", "math.log", "math.atan", "utf8.char", "utf8.len",
            "utf8.codepoint", "utf8.offset", "tostring", "tonumber", "select", "setmetatable", "getmetatable",
            "rawget", "rawset", "rawlen", "rawequal", "ipairs", "next", "type", "assert", "error", "load"]
ARGUMENTS = ["", "nil", "{}", "'x'", "1", "1, 2", "'x', {}", "{}, 'x'", "1.5", "'abc', 'b', {}", "true",
             "'%d', 'x'", "-1, nil", "{}, {}", "'a', 1, {}", "{1, 2, 3}, 'x'", "1, 'x'", "'x', 1, 2",
             "{}, 1, 2, 3", "'i4', 'x'", "-1", "0/0", "{}, nil, 1",
             "setmetatable({}, {__name = 'MyType'}), 1", "1, setmetatable({}, {__name = 'MyType'})",
             "setmetatable({}, {__index = function(t, k) return k end}), 2",
             "setmetatable({}, {__len = function() return 3 end, __lt = function() return true end}), {}",
             "function() end, 'x'"]
#: How the builtin is reached: each names it differently in argument errors.
CALL_STYLES = [
    "{f}({a})",                                        # field 'rep'
    "local g = {f}; g({a})",                           # local 'g'
    "local t = {{h = {f}}}; t.h({a})",                 # field 'h'
    "return {f}({a})",                                 # a tail call
    "local x = tostring({f}({a}))",                    # two calls on one line
    "local s = 'str'; s:{name}({a})",                  # a method: self not counted
    "return pcall({f}{comma}{a})",                     # no call site: package.loaded's name
]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(BUILTINS), st.sampled_from(ARGUMENTS), st.sampled_from(CALL_STYLES))
def test_builtin_calls_and_their_errors_match_reference(function, arguments, style):
    name = function.rsplit(".", 1)[-1]
    if "s:{name}" in style and not function.startswith("string."):
        style = CALL_STYLES[0]
    source = style.format(f=function, a=arguments, name=name, comma=", " if arguments else "")
    assert run_luapy(source) == run_reference(source), source


# -- errors raised from every kind of frame ------------------------------------

FAILING = ["nil + 1", "({}).x.y", "undefinedfn()", "#nil", "{} < {}", "1 < 'x'", "('x'):nomethod()", "-{}",
           "{} .. 'x'", "math.floor('x')", "string.rep()", "error('boom')", "error('lvl2', 2)", "error({})",
           "assert(false)", "assert(nil, 'msg')", "(1)()", "table.concat({{}})", "select(0)",
           "string.format('%d', 'x')", "1 // 0", "1 % 0", "math.tointeger()", "next({}, 1)",
           "rawset({}, nil, 1)", "setmetatable(1, {})",
           "setmetatable({}, {__index = function(t, k) return nil + k end}).q",
           "tostring(setmetatable({}, {__tostring = function() return {} end}))",
           "coroutine.wrap(function() error('in co') end)()"]
#: Where the failing expression runs: plain code, a Lua callee, a callback
#: of a builtin, a metamethod, a nested pcall, a coroutine.
FRAMES = ["return {e}",
          "local function f() return {e} end return f()",
          "local function f() local v = {e} return v end return f()",
          "local t = {3, 1, 2} table.sort(t, function(a, b) local v = {e} return a < b end)",
          "return (('ab'):gsub('.', function(c) local v = {e} return c end))",
          "local m = setmetatable({}, {__add = function() return {e} end}) return m + 1",
          "return select(2, pcall(function() return {e} end))",
          "return coroutine.wrap(function() local v = {e} return v end)()",
          "local t = setmetatable({}, {__index = function() local v = {e} return v end}) return t.k"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FAILING), st.sampled_from(FRAMES))
def test_errors_from_every_kind_of_frame_match_reference(expression, frame):
    source = "\n" + frame.replace("{e}", expression) + "\n"
    assert run_luapy(source) == run_reference(source), source
