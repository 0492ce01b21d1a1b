"""string.pack / packsize / unpack: exact bytes and errors, vs lupa."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from luapy.errors import LuaLimitError
from luapy.options import Options
from luapy.runtime.state import State
from luapy.stdlib import strlib
from tests.stdlib_support import outcome_caller

ST = State(Options())
LIB = strlib.open_library(ST)


call = outcome_caller(ST, LIB)


@pytest.mark.parametrize("args, expected", [
    (("<i4", 100), ("d\0\0\0",)),
    ((">i4", -2), ("\xff\xff\xff\xfe",)),
    (("<b B h H", -1, 255, -2, 65535), ("\xff\xff\xfe\xff\xff\xff",)),
    (("<j", -(2**63)), ("\0" * 7 + "\x80",)),
    (("<i16", -1), ("\xff" * 16,)),
    (("<I16", -1), ("\xff" * 8 + "\0" * 8,)),
    (("<i3", 2**23 - 1), ("\xff\xff\x7f",)),
    (("z s1 c5", "ab", "xy", "q"), ("ab\0\x02xyq\0\0\0\0",)),
    (("<d", 1.5), ("\0\0\0\0\0\0\xf8\x3f",)),
    (("<f", 1e300), ("\0\0\x80\x7f",)),
    (("!4 b i4", 1, 2), ("\x01\0\0\0\x02\0\0\0",)),
    (("! b Xd b", 1, 2), ("\x01" + "\0" * 7 + "\x02",)),
    (("b x b", 1, 2), ("\x01\0\x02",)),
    (("=I2", 1), ("\x01\0",)),
])
def test_pack_exact(args, expected):
    assert call("pack", *args) == ("ok", expected)


@pytest.mark.parametrize("args, expected", [
    (("<i4", "d\0\0\0"), (100, 5)),
    ((">i2 B", "\xff\xfe\x07"), (-2, 7, 4)),
    (("<I8", "\xff" * 8), (-1, 9)),
    (("<i16", "\xff" * 16), (-1, 17)),
    (("z z", "ab\0c\0"), ("ab", "c", 6)),
    (("s1", "\x03abc"), ("abc", 5)),
    (("c2", "abcd", 3), ("cd", 5)),
    (("b", "abc", -1), (99, 4)),
    (("<f", "\0\0\xc0\x3f"), (1.5, 5)),
    (("!4 b i4", "\x01\0\0\0\x02\0\0\0"), (1, 2, 9)),
    (("", "abc", 4), (4,)),
])
def test_unpack_exact(args, expected):
    assert call("unpack", *args) == ("ok", expected)


@pytest.mark.parametrize("fmt, expected", [
    ("i4 i8", 12), ("!8 b d", 16), ("c10", 10), ("", 0), ("<>=!  b", 1), ("j n T", 24),
])
def test_packsize(fmt, expected):
    assert call("packsize", fmt) == ("ok", (expected,))


@pytest.mark.parametrize("name, args, message", [
    ("pack", ("i17", 1), "integral size (17) out of limits [1,16]"),
    ("pack", ("i0", 1), "integral size (0) out of limits [1,16]"),
    ("pack", ("b", 200), "bad argument #2 to 'pack' (integer overflow)"),
    ("pack", ("B", 256), "bad argument #2 to 'pack' (unsigned overflow)"),
    ("pack", ("c2", "abc"), "bad argument #2 to 'pack' (string longer than given size)"),
    ("pack", ("s1", "x" * 256), "bad argument #2 to 'pack' (string length does not fit in given size)"),
    ("pack", ("z", "a\0b"), "bad argument #2 to 'pack' (string contains zeros)"),
    ("pack", ("c", "a"), "missing size for format option 'c'"),
    ("pack", ("y", 1), "invalid format option 'y'"),
    ("packsize", ("c2147483647",), "invalid format option '7'"),
    ("pack", ("i4",), "bad argument #2 to 'pack' (number expected, got nil)"),
    ("pack", ("X", 1), "bad argument #1 to 'pack' (invalid next option for option 'X')"),
    ("pack", ("Xc1", 1), "bad argument #1 to 'pack' (invalid next option for option 'X')"),
    ("pack", ("!3 i4", 1), "bad argument #1 to 'pack' (format asks for alignment not power of 2)"),
    ("pack", ("i4", 1.5), "bad argument #2 to 'pack' (number has no integer representation)"),
    ("packsize", ("s",), "bad argument #1 to 'packsize' (variable-length format)"),
    ("packsize", ("z",), "bad argument #1 to 'packsize' (variable-length format)"),
    ("packsize", ("c2000000000 c2000000000",), "bad argument #1 to 'packsize' (format result too large)"),
    ("unpack", ("i4", "abc"), "bad argument #2 to 'unpack' (data string too short)"),
    ("unpack", ("z", "abc"), "bad argument #2 to 'unpack' (unfinished string for format 'z')"),
    ("unpack", ("s1", "\x05ab"), "bad argument #2 to 'unpack' (data string too short)"),
    ("unpack", ("b", "a", 3), "bad argument #3 to 'unpack' (initial position out of string)"),
    ("unpack", ("<i9", "\0" * 8 + "\x01"), "9-byte integer does not fit into Lua Integer"),
])
def test_errors(name, args, message):
    assert call(name, *args) == ("err", message)


def test_huge_padding_is_charged_before_it_is_built():
    st = State(Options().with_limits(memory=1_000_000))
    lib = strlib.open_library(st)
    st.enter()
    try:
        with pytest.raises(LuaLimitError):
            lib.get("pack").call("c2000000000", "")
    finally:
        st.leave(True)


# -------------------------------------------------- differential vs lupa


@pytest.fixture(scope="module")
def lua(reference_bytes):
    runtime = reference_bytes
    runtime.execute("""
        function call_string(name, ...) return table.pack(pcall(string[name], ...)) end
    """)
    return runtime


def lua_call(lua, name, *args):
    r = lua.globals().call_string(name.encode(), *[a.encode("latin-1") if isinstance(a, str) else a
                                                   for a in args])
    values = tuple(v.decode("latin-1") if isinstance(v, bytes) else v
                   for v in (r[i] for i in range(1, r[b"n"] + 1)))
    if values[0]:
        return ("ok", values[1:])
    return ("err", values[1].replace(f"'string.{name}'", f"'{name}'"))


OPTIONS = ["b", "B", "h", "H", "i", "I", "i1", "I3", "i8", "I9", "i16", "l", "L", "j", "J", "T",
           "f", "d", "n", "s1", "s2", "z", "c3", "x", "Xi4", " ", "<", ">", "=", "!", "!2", "!8"]
SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
values = hs.one_of(
    hs.integers(min_value=-(2**63), max_value=2**63 - 1),
    hs.integers(min_value=-300, max_value=70000),
    hs.floats(allow_nan=False),
    hs.text(alphabet="ab\0\xff", max_size=5),
)


@SETTINGS
@given(options=hs.lists(hs.sampled_from(OPTIONS), max_size=5), args=hs.lists(values, max_size=5))
def test_pack_round_trip_agrees_with_lua(lua, options, args):
    fmt = "".join(options)
    packed = call("pack", fmt, *args)
    assert packed == lua_call(lua, "pack", fmt, *args), fmt
    assert call("packsize", fmt) == lua_call(lua, "packsize", fmt)
    if packed[0] == "ok":
        data = packed[1][0]
        assert comparable(call("unpack", fmt, data)) == comparable(lua_call(lua, "unpack", fmt, data))


def comparable(result):
    """NaN != NaN: compare NaNs by their sign instead."""
    kind, values = result
    if kind == "err":
        return result
    return kind, tuple(("nan", math.copysign(1, v)) if isinstance(v, float) and v != v else v
                       for v in values)


@SETTINGS
@given(options=hs.lists(hs.sampled_from(OPTIONS), min_size=1, max_size=4),
       data=hs.text(alphabet="\0\x01\x80\xffa", max_size=24), pos=hs.sampled_from([None, 1, 2, -3, 30]))
def test_unpack_of_arbitrary_data_agrees_with_lua(lua, options, data, pos):
    fmt = "".join(options)
    args = (fmt, data) if pos is None else (fmt, data, pos)
    assert comparable(call("unpack", *args)) == comparable(lua_call(lua, "unpack", *args)), args
