"""Lua pattern matching: exact results and errors, cross-checked with lupa."""

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from luapy.errors import LuaError, LuaLimitError
from luapy.options import Options
from luapy.runtime.state import State
from luapy.runtime.values import Table
from luapy.stdlib import lpattern, strlib
from tests.stdlib_support import outcome_caller


def make_lib(**limits):
    st = State(Options().with_limits(**limits) if limits else Options())
    lib = strlib.open_library(st)
    return st, lib


ST, LIB = make_lib()


call = outcome_caller(ST, LIB)


def drain_gmatch(*args):
    ST.enter()
    try:
        it = LIB.get("gmatch").call(*args)[0]
        out = []
        for _ in range(100):
            r = it.call()
            if r[0] is None:
                break
            out.append(tuple(r))
        return ("ok", out)
    except LuaError as e:
        return ("err", str(e.value))
    finally:
        ST.leave(True)


# ------------------------------------------------------------ exact cases


@pytest.mark.parametrize("args, expected", [
    (("hello world", "o w"), (5, 7)),
    (("hello", "l+"), (3, 4)),
    (("hello", "(h)(e)"), (1, 2, "h", "e")),
    (("hello", "()ll()"), (3, 4, 3, 5)),
    (("a.b", ".", 1, True), (2, 2)),
    (("a.b", "%."), (2, 2)),
    (("abc", "b", -1), (None,)),
    (("abc", "", 10), (None,)),
    (("abc", "", 4), (4, 3)),
    (("abc", "^b"), (None,)),
    (("a^b", "a^b"), (1, 3)),
    (("ab$", "b$c"), (None,)),
    (("b$c", "b$c"), (1, 3)),
    (("x(a(b)c)y", "%b()"), (2, 8)),
    (("THE (quick) fox", "%f[%a]%a+"), (1, 3)),
    (("hello  there", "%s+()"), (6, 7, 8)),
    (("abab", "(ab)%1"), (1, 4, "ab")),
    (("a\nb", "a.b"), (1, 3)),
    (("x\n", "x$"), (None,)),
    (("\0a", "%z"), (1, 1)),
    (("[]", "[]]"), (2, 2)),
    (("a-b", "[a-]+"), (1, 2)),
    (("a]", "[%]]"), (2, 2)),
    (("caf\xe9", "%a+"), (1, 3)),
    (("\xe9", "%W"), (1, 1)),
])
def test_find_exact(args, expected):
    assert call("find", *args) == ("ok", expected)


@pytest.mark.parametrize("args, message", [
    (("a", "%"), "malformed pattern (ends with '%')"),
    (("a", "[a"), "malformed pattern (missing ']')"),
    (("a", "a%b"), None),  # never reached: 'a' then %b with no args
    (("a", "%b"), "malformed pattern (missing arguments to '%b')"),
    (("a", "%f"), "missing '[' after '%f' in pattern"),
    (("a", "%fa"), "missing '[' after '%f' in pattern"),
    (("a", "(a)%2"), "invalid capture index %2"),
    (("a", "%1"), "invalid capture index %1"),
    (("a", "%0"), "invalid capture index %0"),
    (("a", "a)"), ("ok", (None,))),  # no specials: a plain search
    (("a", ".)"), "invalid pattern capture"),
    (("a", "(a"), "unfinished capture"),
    (("a", "(" * 33), "too many captures"),
    (("a", "b["), ("ok", (None,))),
])
def test_pattern_errors(args, message):
    result = call("find", *args)
    if message is None:
        assert result[0] == "err"
    elif isinstance(message, tuple):
        assert result == message
    else:
        assert result == ("err", message)


def test_pattern_too_complex_is_fast_and_not_recursionerror():
    start = time.perf_counter()
    assert call("find", "a" * 300, ".?" * 20000) == ("err", "pattern too complex")
    assert call("find", "a" * 30, ".?" * 20000) == ("ok", (1, 30))
    assert call("match", "x" * 300, "(" * 1 + "x?" * 250 + ")") == ("err", "pattern too complex")
    assert time.perf_counter() - start < 2


def test_catastrophic_pattern_hits_the_budget():
    st, lib = make_lib(steps=200_000, time=5.0)
    st.enter()
    start = time.perf_counter()
    try:
        with pytest.raises(LuaLimitError):
            lib.get("find").call("a" * 50000, ".-.-.-.-b")
    finally:
        st.leave(True)
    assert time.perf_counter() - start < 5


def test_time_budget_stops_matching():
    st, lib = make_lib(steps=None, time=0.3)
    st.enter()
    start = time.perf_counter()
    try:
        with pytest.raises(LuaLimitError) as info:
            lib.get("find").call("a" * 50000, ".-.-.-.-b")
    finally:
        st.leave(True)
    assert info.value.limit == "time"
    assert time.perf_counter() - start < 2


def test_regex_path_and_matcher_agree_and_regex_is_used():
    pattern = lpattern.Pattern("(%d+)-(%a*)$", True)
    assert pattern.regex is not None and pattern.use_regex(100)
    assert not pattern.use_regex(10**6)  # long subjects go to the matcher
    for name in ("find", "match"):
        short = call(name, "xx 12-ab", "(%d+)-(%a*)$")
        long_subject = "y" * 5000 + " 12-ab"
        long = call(name, long_subject, "(%d+)-(%a*)$")
        assert short[1][-2:] == long[1][-2:] == ("12", "ab")
    # patterns outside the safe subset are left to the matcher
    for source in ("%b()", "%f[%a]", "(a)%1", "(a", "a)", "[a", "%"):
        assert lpattern.Pattern(source, True).regex is None


@pytest.mark.parametrize("args, expected", [
    (("abc", "%w*", "-"), ("-", 1)),
    (("abxd", "x*", "-"), ("-a-b-d-", 4)),
    (("hello world", "o", "0", 1), ("hell0 world", 1)),
    (("hello", "", "-"), ("-h-e-l-l-o-", 6)),
    (("abc", "^a", "x"), ("xbc", 1)),
    (("abc", "^b", "x"), ("abc", 0)),
    (("hello world", "(%w+)", "<%1>"), ("<hello> <world>", 2)),
    (("hello", "l", "%%"), ("he%%o", 2)),
    (("hello", "l()", "%1"), ("he45o", 2)),
    (("abc", "%w", "%0%0"), ("aabbcc", 3)),
    (("abc", "b", 5), ("a5c", 1)),
    # replacements go through re.subn when the pattern cannot match empty:
    # Python's template escapes must not leak through
    (("a-b-c", "%-", "\\1\\g<0>\\"), ("a\\1\\g<0>\\b\\1\\g<0>\\c", 2)),
    (("a-b-c", "%-", "[%0%1]", 1), ("a[--]b-c", 1)),
    (("k=v k2=v2", "(%w+)=(%w+)", "%2=%1"), ("v=k v2=k2", 2)),
    (("abc", "(b)()", "%2"), ("a3c", 1)),
    (("abc", "x", "%9"), ("abc", 0)),
])
def test_gsub_string_replacement(args, expected):
    assert call("gsub", *args) == ("ok", expected)


def test_gsub_table_and_function_replacements():
    t = Table()
    t.set("a", "A")
    t.set("b", False)
    t.set("c", 7)
    assert call("gsub", "abcd", "%w", t) == ("ok", ("Ab7d", 4))
    from luapy.runtime.values import Function
    upper = Function(lambda *a: (a[0].upper(),), "f")
    assert call("gsub", "ab", "(%w)", upper) == ("ok", ("AB", 2))
    nothing = Function(lambda *a: (), "f")
    assert call("gsub", "ab", "%w", nothing) == ("ok", ("ab", 2))
    pair = Function(lambda *a: (f"{a[0]}{a[1]}",), "f")
    assert call("gsub", "k=v", "(%w)=(%w)", pair) == ("ok", ("kv", 1))
    bad = Table()
    bad.set("a", Table())
    assert call("gsub", "a", "a", bad) == ("err", "invalid replacement value (a table)")


@pytest.mark.parametrize("args, message", [
    (("a", "a", "%"), "invalid use of '%' in replacement string"),
    (("a", "a", "%x"), "invalid use of '%' in replacement string"),
    (("a", "a", "%2"), "invalid capture index %2"),
    (("a", "(a)", "%2"), "invalid capture index %2"),
    (("a", "a"), "bad argument #3 to 'gsub' (string/function/table expected, got no value)"),
    (("a", "a", True), "bad argument #3 to 'gsub' (string/function/table expected, got boolean)"),
    (("a", "a", "x", "y"), "bad argument #4 to 'gsub' (number expected, got string)"),
])
def test_gsub_errors(args, message):
    assert call("gsub", *args) == ("err", message)


def test_gsub_invalid_replacement_only_fails_when_used():
    assert call("gsub", "abc", "z", "%") == ("ok", ("abc", 0))


def test_gmatch():
    assert drain_gmatch("one two  three", "%a+") == ("ok", [("one",), ("two",), ("three",)])
    assert drain_gmatch("k1=v1, k2=v2", "(%w+)=(%w+)") == ("ok", [("k1", "v1"), ("k2", "v2")])
    assert drain_gmatch("abc", "") == ("ok", [("",)] * 4)
    assert drain_gmatch("^a^a", "^a") == ("ok", [("^a",), ("^a",)])
    assert drain_gmatch("abc", "%w*") == ("ok", [("abc",)])
    assert drain_gmatch("abcd", "%w", 3) == ("ok", [("c",), ("d",)])
    assert drain_gmatch("ab", "()") == ("ok", [(1,), (2,), (3,)])


# ------------------------------------------- differential tests vs lupa

ATOMS = ["a", "b", "x", ".", "%a", "%d", "%s", "%w", "%p", "[ab]", "[^a]", "[a-c]",
         "[%d.]", "(", ")", "()", "%1", "%2", "%b()", "%f[%w]", "%f[%s]", "*", "+",
         "-", "?", "^", "$", "%", "[", "]", " ", "1"]
SUBJECT_CHARS = "ab x1.()\n-"


@pytest.fixture(scope="module")
def lua(reference_bytes):
    runtime = reference_bytes
    runtime.execute("""
        function call_string(name, ...)
            local r = table.pack(pcall(string[name], ...))
            return r
        end
        function drain(...)
            local ok, it = pcall(string.gmatch, ...)
            if not ok then return {false, it} end
            local out = {true}
            local ok2, err = pcall(function()
                for i = 1, 100 do
                    local r = table.pack(it())
                    if r[1] == nil then break end
                    out[#out + 1] = r
                end
            end)
            if not ok2 then return {false, err} end
            return out
        end
    """)
    return runtime


def _from_lua(value):
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, float) and value.is_integer() is False:
        return value
    return value


def _to_lua(value):
    return value.encode("latin-1") if isinstance(value, str) else value


def lua_call(lua, name, *args):
    r = lua.globals().call_string(name.encode(), *[_to_lua(a) for a in args])
    n = r[b"n"]
    values = tuple(_from_lua(r[i]) for i in range(1, n + 1))
    if values[0]:
        return ("ok", values[1:])
    return ("err", values[1].replace(f"'string.{name}'", f"'{name}'"))


def lua_drain(lua, *args):
    r = lua.globals().drain(*[_to_lua(a) for a in args])
    if not r[1]:
        # the iterator ran from a Lua line, which lua5.4 prefixes
        return ("err", re.sub(r'^\[string "<python>"\]:\d+: ', "", _from_lua(r[2])))
    out = []
    for i in range(2, len(r) + 1):
        item = r[i]
        out.append(tuple(_from_lua(item[j]) for j in range(1, item[b"n"] + 1)))
    return ("ok", out)


patterns = hs.lists(hs.sampled_from(ATOMS), min_size=1, max_size=7).map("".join)
subjects = hs.text(alphabet=SUBJECT_CHARS, max_size=14)
FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(s=subjects, p=patterns, init=hs.sampled_from([None, 1, 2, -3, 0, 20]))
def test_find_and_match_agree_with_lua(lua, s, p, init):
    for name in ("find", "match"):
        args = (s, p) if init is None else (s, p, init)
        assert call(name, *args) == lua_call(lua, name, *args), (name, args)


@FAST
@given(s=subjects, p=patterns, repl=hs.sampled_from(["<%0>", "%1", "-", "%%", "%2%1", "[%1]", "\\1\\g<0>", "%3"]),
       n=hs.sampled_from([None, 0, 1, 2]))
def test_gsub_agrees_with_lua(lua, s, p, repl, n):
    args = (s, p, repl) if n is None else (s, p, repl, n)
    assert call("gsub", *args) == lua_call(lua, "gsub", *args), args


@FAST
@given(s=subjects, p=patterns)
def test_gmatch_agrees_with_lua(lua, s, p):
    assert drain_gmatch(s, p) == lua_drain(lua, s, p), (s, p)


@FAST
@given(s=hs.text(alphabet="ab1 -", min_size=0, max_size=3000),
       p=hs.sampled_from(["%d+", "^[%w-]+$", "(.-)-[^-]+$", "(%a+)%s*(%d*)", "b-a", "a?b?1",
                          "()(b+)()", "[^-]*$", "1.-1"]))
def test_regex_fast_path_agrees_with_lua_on_long_subjects(lua, s, p):
    assert call("find", s, p) == lua_call(lua, "find", s, p)
    assert call("gsub", s, p, "<%0>") == lua_call(lua, "gsub", s, p, "<%0>")


def test_expensive_regex_calls_cannot_outrun_the_time_budget():
    # Each call stays on the uninterruptible regex path (within its cost
    # bound) but is slow; the clock must be consulted after each one.
    st, lib = make_lib(steps=None, time=0.2)
    pattern = "(a*)(a*)c"
    subject = "a" * lpattern.Pattern(pattern, True).re_max_len
    find = lib.get("find")
    st.enter()
    start = time.perf_counter()
    try:
        with pytest.raises(LuaLimitError):
            for _ in range(1000):
                find.call(subject, pattern)
    finally:
        st.leave(True)
    assert time.perf_counter() - start < 1.0


def test_walking_a_long_string_is_charged_linearly():
    # 30,000 matches over 90,000 bytes: a charge per remaining length on
    # every step would be quadratic and exhaust this budget many times over.
    st, lib = make_lib(steps=300_000, time=10.0)
    subject = "ab " * 30000
    st.enter()
    try:
        it = lib.get("gmatch").call(subject, "%a+")[0]
        count = 0
        while it.call()[0] is not None:
            count += 1
        init, found = 1, 0
        find = lib.get("find")
        while found < 5000:
            start, end = find.call(subject, "%a+", init)[:2]
            init, found = end + 1, found + 1
    finally:
        st.leave(True)
    assert count == 30000
