"""string.format: exact C printf output and lstrlib's checks, vs lupa."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from luapy.errors import LuaError, LuaLimitError
from luapy.options import Options
from luapy.runtime.state import State
from luapy.runtime.values import Function, Table
from luapy.stdlib import strlib

ST = State(Options())
LIB = strlib.open_library(ST)


def fmt(*args):
    ST.enter()
    try:
        return ("ok", LIB.get("format").call(*args)[0])
    except LuaError as e:
        return ("err", str(e.value))
    finally:
        ST.leave(True)


@pytest.mark.parametrize("args, expected", [
    (("item-%05d:%s:%.2f", 42, "bob", 3.14159), "item-00042:bob:3.14"),
    (("%5.2s|%-5s|%s", "abc", "x", None), "   ab|x    |nil"),
    (("%.3s|%5s|%-5s|%.0s", "abcdef", "ab", "ab", "abc"), "abc|   ab|ab   |"),
    (("%d %i %u", -7, 3.0, -1), "-7 3 18446744073709551615"),
    (("%x %X %o", -1, 255, 8), "ffffffffffffffff FF 10"),
    (("%.3d|%05.3d|%#o|%#x|%#X|%5.0d|%+.0d", 5, 5, 0, 0, 255, 0, 0), "005|  005|0|0|0XFF|     |+"),
    (("%+d % d %-4d| %04d", 3, 3, 3, -3), "+3  3 3   | -003"),
    (("%5c|%-3c|%c", 65, 66, 0), "    A|B  |\0"),
    (("%e %E %g %G", 12345.678, 12345.678, 1e20, 1e-10), "1.234568e+04 1.234568E+04 1e+20 1E-10"),
    (("%.3g %#g %10.4f|%-10.2e|", 1234567, 1.0, math.pi, -math.pi), "1.23e+06 1.00000     3.1416|-3.14e+00 |"),
    (("%f %e %g", math.inf, -math.inf, -math.nan), "inf -inf -nan"),
    (("%05f|%-6f|%06.2f", math.inf, -math.inf, -math.nan), "  inf|-inf  |  -nan"),
    (("%a %A %a %a", 1.0, 3.0, 0.1, -0.0), "0x1p+0 0X1.8P+1 0x1.999999999999ap-4 -0x0p+0"),
    (("%.1a|%.0a|%#.0a|%10a|%-10a|%010a|%+a", 1.96875, 1.5, 1.0, 1.0, 1.0, 1.0, 2.0),
     "0x2.0p+0|0x2p+0|0x1.p+0|    0x1p+0|0x1p+0    |0x00001p+0|+0x1p+1"),
    (("%a %.20a", 5e-324, 1.0), "0x0.0000000000001p-1022 0x1.00000000000000000000p+0"),
    (("%q", 'a\n\0' + '1\r\t"\\\x7f\x80x\0'), '"a\\\n\\0001\\13\\9\\"\\\\\\127\x80x\\0"'),
    (("%q %q %q %q", math.inf, -math.inf, math.nan, -(2**63)), "1e9999 -1e9999 (0/0) 0x8000000000000000"),
    (("%q %q %q %q %q", 1, 1.0, 0.5, None, True), "1 0x1p+0 0x1p-1 nil true"),
    (("%s %s %s", 1.0, -0.0, 10), "1.0 -0.0 10"),
    (("%d %x", "10", 3.0), "10 3"),
    (("100%% %s", "x"), "100% x"),
    (("%5s", "x" * 120), "x" * 120),
    (("%.2s", "x" * 120), "xx"),
    (("no specs",), "no specs"),
])
def test_format_exact(args, expected):
    assert fmt(*args) == ("ok", expected)


@pytest.mark.parametrize("args, message", [
    (("%123d", 1), "invalid conversion specification: '%123d'"),
    (("%99999d", 1), "invalid conversion specification: '%99999d'"),
    (("%y", 1), "invalid conversion '%y' to 'format'"),
    (("%F", 1.0), "invalid conversion '%F' to 'format'"),
    (("%5", 1), "invalid conversion '%5' to 'format'"),
    (("%", 1), "invalid conversion '%' to 'format'"),
    (("%d", 1.5), "bad argument #2 to 'format' (number has no integer representation)"),
    (("%d",), "bad argument #2 to 'format' (no value)"),
    (("%s %s", 1), "bad argument #3 to 'format' (no value)"),
    (("%d", "x"), "bad argument #2 to 'format' (number expected, got string)"),
    (("%d", {}), None),
    (("%05s", "a"), "invalid conversion specification: '%05s'"),
    (("%#d", 1), "invalid conversion specification: '%#d'"),
    (("%.3c", 65), "invalid conversion specification: '%.3c'"),
    (("%10.3q", 1), "specifier '%q' cannot have modifiers"),
    (("%q", Table()), "bad argument #2 to 'format' (value has no literal form)"),
    (("%10.3s", "a\0b"), "bad argument #2 to 'format' (string contains zeros)"),
    (("%c", 1.5), "bad argument #2 to 'format' (number has no integer representation)"),
    (("%123456789012345678901d", 1), "invalid format (too long)"),
    ((Table(),), "bad argument #1 to 'format' (string expected, got table)"),
])
def test_format_errors(args, message):
    if message is None:
        args = ("%d", Table())
        message = "bad argument #2 to 'format' (number expected, got table)"
    assert fmt(*args) == ("err", message)


def test_s_uses_tostring_metamethod():
    t = Table()
    meta = Table()
    meta.set("__tostring", Function(lambda *a: ("OBJ",), "ts"))
    t.meta = meta
    assert fmt("<%s|%5s>", t, t) == ("ok", "<OBJ|  OBJ>")
    named = Table()
    named.meta = Table()
    named.meta.set("__name", "MyType")
    assert fmt("%s", named)[1].startswith("MyType: ")


def test_p_of_non_pointer_is_null_and_of_table_is_its_address():
    t = Table()
    assert fmt("%p|%8p", 1, None) == ("ok", "(null)|  (null)")
    text = fmt("%p", t)[1]
    assert text.startswith("0x") and "table: " + text == fmt("%s", t)[1]


def test_p_of_strings_follows_interning():
    """strings.lua: equal short strings share an address (lua5.4 interns
    them); long strings are separate objects, even when equal."""
    from luapy import LuaRuntime
    assert LuaRuntime().execute("""
        local s1, s2 = string.rep("a", 10), string.rep("aa", 5)
        local l1, l2 = string.rep("a", 300), string.rep("a", 300)
        local p = function (v) return string.format("%p", v) end
        return p(s1) == p(s2), p("x") ~= p("y"), p(s1):match("^0x%x+$") ~= nil,
               p(l1) ~= p(l2), p(l1) == p(l1)
    """) == (True, True, True, True, True)


def test_p_of_a_concatenation_of_literals_is_a_new_long_string():
    """literals.lua: ``"a" .. "b"`` makes a string at run time, never the
    object of an equal literal (which CPython's constant folding would)."""
    from luapy import LuaRuntime
    assert LuaRuntime().execute("""
        local p = function (v) return string.format("%p", v) end
        local s1 <const> = "01234567890123456789012345678901234567890123456789"
        local function same() return "01234567890123456789012345678901234567890123456789" end
        local sd = "0123456789" .. "0123456789012345678901234567890123456789"
        return sd == s1, p(sd) ~= p(s1), p(same()) == p(s1)
    """) == (True, True, True)


def test_output_is_charged_against_memory():
    st = State(Options().with_limits(memory=10_000))
    lib = strlib.open_library(st)
    st.enter()
    try:
        with pytest.raises(LuaLimitError):
            lib.get("format").call("%s" * 50, *(["x" * 400] * 50))
    finally:
        st.leave(True)


# -------------------------------------------------- differential vs lupa


@pytest.fixture(scope="module")
def lua(reference_bytes):
    runtime = reference_bytes
    runtime.execute("function fmt(...) return table.pack(pcall(string.format, ...)) end")
    return runtime


def lua_fmt(lua, *args):
    r = lua.globals().fmt(*[a.encode("latin-1") if isinstance(a, str) else a for a in args])
    value = r[2]
    value = value.decode("latin-1") if isinstance(value, bytes) else value
    if r[1]:
        return ("ok", value)
    return ("err", value.replace("'string.format'", "'format'"))


SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
flags = hs.text(alphabet="-+ #0", max_size=3)
digits = hs.sampled_from(["", "1", "5", "10", "99", "0", "123"])
precisions = hs.sampled_from(["", ".", ".0", ".1", ".3", ".10", ".99", ".123"])
conversions = hs.sampled_from(list("diuoxXcaAeEfgGsq") + ["y"])
numbers = hs.one_of(
    hs.integers(min_value=-(2**63), max_value=2**63 - 1),
    hs.floats(allow_nan=False, width=64),
    hs.sampled_from([0, -1, 255, 0.0, -0.0, 1.5, 1e300, 5e-324, math.inf, -math.inf, 2**53 + 0.0]),
)


@SETTINGS
@given(f=flags, w=digits, p=precisions, c=conversions, value=numbers)
def test_numeric_specs_agree_with_lua(lua, f, w, p, c, value):
    spec = "%" + f + w + p + c
    if c == "c" and isinstance(value, int):
        value &= 0xFF
    assert fmt(spec, value) == lua_fmt(lua, spec, value), spec


@SETTINGS
@given(f=hs.text(alphabet="-0", max_size=2), w=digits, p=precisions,
       value=hs.text(alphabet="ab\0\n\r\"\\1\x01\x7f\xff", max_size=12))
def test_string_specs_agree_with_lua(lua, f, w, p, value):
    spec = "%" + f + w + p + "s"
    assert fmt(spec, value) == lua_fmt(lua, spec, value), spec
    assert fmt("%q", value) == lua_fmt(lua, "%q", value)


@SETTINGS
@given(value=hs.one_of(hs.floats(), hs.integers(min_value=-(2**63), max_value=2**63 - 1)))
def test_q_of_numbers_agrees_with_lua(lua, value):
    assert fmt("%q", value) == lua_fmt(lua, "%q", value)
