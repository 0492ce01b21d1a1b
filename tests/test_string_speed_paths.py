"""The string library's cached fast paths (issue #14), against real Lua 5.4.

``find``/``match`` keep a searcher per pattern, ``gsub`` a replacer per
(pattern, replacement) and ``format`` a ``fast_plan`` per format; each is
built by the first call and taken by the next ones.  So every differential
case here is run twice on the same runtime and both results must be
lua5.4's.  The rest checks what the fast paths must keep: budgets charged,
errors in lstrlib's order, and no uninterruptible backtracking.
"""

import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from luapy import LuaRuntime
from luapy.errors import LuaLimitError
from luapy.options import Options
from luapy.runtime.state import State
from luapy.stdlib import lpattern, strformat, strlib
from tests.stdlib_support import outcome_caller
from tests.test_lpattern import lua as lua_patterns  # noqa: F401 (a fixture)
from tests.test_lpattern import drain_gmatch, lua_call, lua_drain
from tests.test_strformat import lua_fmt

ST = State(Options())
LIB = strlib.open_library(ST)
call = outcome_caller(ST, LIB)


def twice(name, *args):
    """The outcome of ``string.name(...)``, checked to be the same when the
    call is repeated (the second one takes the cached fast path)."""
    first = call(name, *args)
    second = call(name, *args)
    assert first == second, (name, args)
    return first


def drain_twice(s, p):
    """gmatch's outcome (test_lpattern's runtime), the same when repeated."""
    first = drain_gmatch(s, p)
    assert drain_gmatch(s, p) == first, (s, p)
    return first


@pytest.fixture(scope="module")
def lua(lua_patterns):
    """lupa with test_lpattern's helpers, and test_strformat's ``fmt``."""
    lua_patterns.execute("function fmt(...) return table.pack(pcall(string.format, ...)) end")
    return lua_patterns


# ------------------------------------------------------- recognising paths


@pytest.mark.parametrize("body, text", [
    ("-", "-"), ("*a", "*a"), ("-%-", "--"), ("%-", "-"), ("a%.b", "a.b"), ("%%", "%"), ("%]x", "]x"), ("%^", "^"),
    ("%(%)", "()"), ("\xe9", "\xe9"), ("%\xe9", "\xe9"),
    # not one fixed string (or not diagnosed as such):
    ("", None), ("a*", None), ("a-", None), ("%a", None), ("%1", None), ("%", None),
    ("a$", None), ("(a)", None), ("a)", None), ("[a]", None), (".", None), ("%b()", None),
    ("%f[a]", None), ("a?", None), ("%-+", None), ("--", None), ("-*", None),
])
def test_literal_text(body, text):
    assert lpattern.literal_text(body) == text


def test_anchored_patterns_are_not_literal():
    assert lpattern.Pattern("^ab", True).literal is None
    assert lpattern.Pattern("^ab", False).literal is None  # gmatch: '^' is a character
    assert lpattern.Pattern("a%.b", True).literal == "a.b"


@pytest.mark.parametrize("fmt, fast", [
    ("item-%05d:%s:%.2f", True), ("%d%%", True), ("100%% %g %e %-8.3G", True), ("plain", True),
    ("%5s", False), ("%x", False), ("%.3d", False), ("%q", False), ("%c", False), ("%y", False),
    ("%a", False), ("%i %i %i %i %i %i %i", False),  # more arguments than planned for
])
def test_fast_plan_covers_exact_specs_only(fmt, fast):
    assert (strformat.fast_plan(strformat.parse_format(fmt)) is not None) == fast


def test_fast_paths_are_cached_per_runtime():
    st = State(Options())
    lib = strlib.open_library(st)
    strings = lib.get("find").call.__self__
    st.enter()
    try:
        lib.get("find").call("a-b", "%-")
        lib.get("match").call("a1", "%d")
        lib.get("gsub").call("a-b", "%-", "_")
    finally:
        st.leave(True)
    assert "%-" in strings.searchers[True] and "%d" in strings.searchers[False]
    assert strings.gsubs[("%-", "_")] is not None
    other = strlib.open_library(State(Options())).get("find").call.__self__
    assert not other.searchers[True] and not other.gsubs


# -------------------------------------------------------- exact behaviour


@pytest.mark.parametrize("name, args, expected", [
    ("find", ("a.b.c", "%."), (2, 2)),
    ("find", ("a.b.c", "%.", 3), (4, 4)),
    ("find", ("a.b.c", "%.", 5), (None,)),
    ("find", ("a)b", "a)"), (1, 2)),  # find: no specials, a plain search
    ("match", ("a)b", "a)"), "invalid pattern capture"),
    ("match", ("a.b", "%."), (".",)),
    ("match", ("ab", "%."), (None,)),
    ("find", ("abc", "", 4), (4, 3)),
    ("gsub", ("a-b-c", "%-", "_"), ("a_b_c", 2)),
    ("gsub", ("a-b-c", "%-", "_", 1), ("a_b-c", 1)),
    ("gsub", ("a-b-c", "%-", "_", 0), ("a-b-c", 0)),
    ("gsub", ("a-b-c", "%-", "_", -1), ("a-b-c", 0)),
    ("gsub", ("a-b-c", "%-", "[%0%1%%]"), ("a[--%]b[--%]c", 2)),
    ("gsub", ("a--b", "%-%-", "+"), ("a+b", 1)),
    ("gsub", ("aaa", "aa", "b"), ("ba", 1)),  # left to right, not overlapping
    ("gsub", ("xyz", "%-", "_"), ("xyz", 0)),
    ("gsub", ("a-b", "%-", "%2"), "invalid capture index %2"),
    ("gsub", ("a-b", "%-", "%x"), "invalid use of '%' in replacement string"),
    ("gsub", ("a", "%-", "%x"), ("a", 0)),  # a bad replacement fails only when used
])
def test_fast_paths_exact(name, args, expected):
    assert twice(name, *args) == (("err", expected) if isinstance(expected, str) else ("ok", expected))


@pytest.mark.parametrize("args, expected", [
    (("item-%05d:%s:%.2f", 42, "pod", 1.5), "item-00042:pod:1.50"),
    (("%d|%s", 3, "x", "extra"), "3|x"),
    (("%.1f", 2), "2.0"),  # an integer for a float spec: the general loop
    (("%d", 2.0), "2"),
    (("%5.1f", math.inf), "  inf"),
    (("%05.1f", math.inf), "  inf"),  # Python's % would zero-fill: '00inf'
    (("%05.1f", -math.inf), " -inf"),
    (("%s", 12), "12"),
    (("%d%%", 7), "7%"),
])
def test_format_fast_plan_exact(args, expected):
    assert twice("format", *args) == ("ok", (expected,))


@pytest.mark.parametrize("args, message", [
    (("%d:%s", 1), "bad argument #3 to 'format' (no value)"),
    (("%d", True), "bad argument #2 to 'format' (number expected, got boolean)"),
    (("%d", 1.5), "bad argument #2 to 'format' (number has no integer representation)"),
    (("%s%d", "a", "b"), "bad argument #3 to 'format' (number expected, got string)"),
])
def test_format_fast_plan_declines_to_the_checks(args, message):
    assert twice("format", *args) == ("err", message)


# ------------------------------------------------------- budgets and safety


def _limited(**limits):
    st = State(Options().with_limits(**limits))
    return st, strlib.open_library(st)


@pytest.mark.parametrize("name, args", [
    ("find", ("item_00042:pod:1.50", ":(%a+):")),
    ("find", ("item_00042:pod:1.50", "%.")),
    ("match", ("item_00042:pod:1.50", "%d+")),
    ("gsub", ("item-00042:pod:1.50", "%-", "_")),
    ("gsub", ("item-00042:pod:1.50", "%d", "<%0>")),
    ("format", ("item-%05d:%s:%.2f", 42, "pod", 1.5)),
])
def test_repeated_fast_calls_are_charged_steps(name, args):
    st, lib = _limited(steps=5_000, memory=None, time=5.0)
    fn = lib.get(name)
    st.enter()
    try:
        with pytest.raises(LuaLimitError) as info:
            for _ in range(20_000):
                fn.call(*args)
    finally:
        st.leave(True)
    assert info.value.limit == "steps"


@pytest.mark.parametrize("name, args, big", [
    # a literal replacement growing the subject 100-fold
    ("gsub", ("-", "%-", "x" * 100), ("-" * 5000, "%-", "x" * 100)),
    ("gsub", ("-", "-", "%0" * 100), ("-" * 5000, "-", "%0" * 100)),
    ("gsub", ("ab", "%a", "%0" * 100), ("ab" * 2500, "%a", "%0" * 100)),
    ("match", ("a", "a+"), ("a" * 50_000, "a+")),
    ("find", ("a", "(a+)"), ("a" * 50_000, "(a+)")),
    ("format", ("%s%s", "x", "y"), ("%s%s", "x" * 30_000, "y" * 30_000)),
])
def test_fast_results_are_charged_memory(name, args, big):
    st, lib = _limited(memory=40_000)
    fn = lib.get(name)
    st.enter()
    try:
        fn.call(*args)  # builds the fast path
        fn.call(*args)
        with pytest.raises(LuaLimitError) as info:
            fn.call(*big)
    finally:
        st.leave(True)
    assert info.value.limit == "memory"


def test_backtracking_patterns_stay_bounded_and_interruptible():
    # ('a'):rep(30)..'b' against patterns whose backtracking is polynomial in
    # the subject (a*a*...c): a short subject may take Python's re (its path
    # count is bounded by lpattern.RE_MAX_COST), a longer one or a pattern
    # with more loops goes to the matcher, which charges every step.
    hostile = "a" * 30 + "b"
    three = lpattern.Pattern("a*a*a*c", True)
    assert three.use_regex(len(hostile)) and not three.use_regex(3001)
    assert not lpattern.Pattern("a*a*a*a*a*a*c", True).use_regex(len(hostile))
    assert twice("find", hostile, "a*a*a*c") == ("ok", (None,))
    assert twice("gsub", hostile, "a*a*a*c", "x") == ("ok", (hostile, 0))
    st, lib = _limited(steps=200_000, time=5.0)
    start = time.perf_counter()
    for name, args in [("find", ("a" * 3000 + "b", "a*a*a*c")),
                       ("gsub", ("a" * 3000 + "b", "a*a*a*c", "x")),
                       ("match", ("a" * 3000 + "b", "a*a*a*c")),
                       ("find", (hostile, "a*a*a*a*a*a*c")),
                       ("gsub", (hostile, "a*a*a*a*a*a*c", "x"))]:
        st.enter()
        try:
            with pytest.raises(LuaLimitError):
                for _ in range(2):  # and again through the cached path
                    lib.get(name).call(*args)
        finally:
            st.leave(True)
    assert time.perf_counter() - start < 5


def test_time_budget_stops_a_loop_of_fast_calls():
    rt = LuaRuntime(Options(profile="standard").with_limits(steps=None, time=0.3))
    start = time.perf_counter()
    with pytest.raises(LuaLimitError):
        rt.execute("""
            while true do
                local s = string.format("item-%05d:%s:%.2f", 1, "pod", 1.5)
                local r = string.gsub(s, "%-", "_")
                local a, b, n = string.find(r, ":(%a+):")
            end
        """)
    assert time.perf_counter() - start < 3


# ------------------------------------------------- differential vs lupa

ATOMS = ["a", "b", "-", ".", "%.", "%-", "%%", "%a", "%d", "[ab]", "(", ")", "()", "*", "+",
         "?", "^", "$", "%", "%1", "]", " "]
SUBJECT_CHARS = "ab-.1% ]"
patterns = hs.lists(hs.sampled_from(ATOMS), min_size=1, max_size=6).map("".join)
literal_patterns = hs.lists(hs.sampled_from(["a", "b", "-", "%.", "%-", "%%", "%]", " "]),
                            min_size=1, max_size=4).map("".join)
subjects = hs.text(alphabet=SUBJECT_CHARS, max_size=16)
replacements = hs.sampled_from(["_", "%0", "%1", "<%0>", "%%", "%2", "x%", "", "\\1", "%1%0"])
DIFF = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _same(name, lua, args):
    assert twice(name, *args) == lua_call(lua, name, *args), (name, args)


@DIFF
@given(s=subjects, p=hs.one_of(patterns, literal_patterns),
       init=hs.sampled_from([None, 1, 3, -2, 40]))
def test_find_and_match_agree_with_lua(lua, s, p, init):
    for name in ("find", "match"):
        _same(name, lua, (s, p) if init is None else (s, p, init))
    _same("find", lua, (s, p, init or 1, True))


@DIFF
@given(s=subjects, p=hs.one_of(patterns, literal_patterns), repl=replacements,
       n=hs.sampled_from([None, 0, 1, 2, -1]))
def test_gsub_agrees_with_lua(lua, s, p, repl, n):
    _same("gsub", lua, (s, p, repl) if n is None else (s, p, repl, n))


@DIFF
@given(s=subjects, p=hs.one_of(patterns, literal_patterns))
def test_gmatch_agrees_with_lua(lua, s, p):
    assert drain_twice(s, p) == lua_drain(lua, s, p), (s, p)


SPECS = ["%d", "%5d", "%-3d", "%05d", "%+d", "%i", "%s", "%.2f", "%10.3e", "%g", "%-8.3G",
         "%#.0f", "% f", "%E", "%x", "%5s", "%%"]
format_strings = hs.lists(hs.one_of(hs.sampled_from(SPECS), hs.sampled_from(["-", ":", "ab", ""])),
                          min_size=1, max_size=5).map("".join)
values = hs.one_of(
    hs.integers(min_value=-(2**63), max_value=2**63 - 1),
    hs.floats(allow_nan=False, width=64),
    hs.sampled_from([0.0, -0.0, 1.5, math.inf, -math.inf, 2**53 + 0.0, "pod", "", "a\0b",
                     True, 12]),
    hs.text(alphabet="ab1 \xff", max_size=5),
)


@DIFF
@given(f=format_strings, args=hs.lists(values, max_size=5))
def test_format_agrees_with_lua(lua, f, args):
    expected = lua_fmt(lua, f, *args)
    outcome = twice("format", f, *args)
    assert (outcome[0], outcome[1][0] if outcome[0] == "ok" else outcome[1]) == expected, (f, args)


def test_find_and_match_keep_their_own_names_in_errors():
    # find and match are built by one factory; an argument error names the
    # builtin by its code object, so each needs its own.
    rt = LuaRuntime(profile="standard")
    for name in ("find", "match"):
        ok, message = rt.execute(f"return pcall(string.{name})")
        assert message == f"bad argument #1 to 'string.{name}' (string expected, got no value)"
        ok, message = rt.execute(f"return pcall(string.{name}, 'a', 'a', 'x')")
        assert message == f"bad argument #3 to 'string.{name}' (number expected, got string)"
