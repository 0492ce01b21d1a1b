"""The utf8 library: unit tests, plus differential tests against lua5.4 (lupa)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as hs

from luapy.errors import LuaError
from luapy.stdlib import utf8lib
from tests.stdlib_support import error_of, library_caller


@pytest.fixture(scope="module")
def u():
    return library_caller(utf8lib)


def outcome(fn, *args):
    """Results, or the error message, as comparable Python values."""
    try:
        return ("ok", tuple(fn(*args)))
    except LuaError as error:
        return ("error", error.value)


def lua_outcome(reference_bytes, fname, s: str, *args):
    """Call ``utf8.<fname>(s, *args)`` in lua5.4, bytes in and out."""
    runner = reference_bytes.eval("""function(f, ...)
        local r = table.pack(pcall(f, ...))
        if not r[1] then return 'error', r[2] end
        return 'ok', r.n - 1, table.unpack(r, 2, r.n)
    end""")
    fn = reference_bytes.eval(f"utf8.{fname}")
    result = runner(fn, s.encode("latin-1"), *args)
    status, *values = result
    if status == b"ok":
        values = values[1:]  # drop the count (it keeps lupa returning a tuple)
    values = [v.decode("latin-1") if isinstance(v, bytes) else v for v in values]
    if status == b"error":
        message = values[0].replace(f"'utf8.{fname}'", f"'{fname}'")
        return ("error", message)
    return ("ok", tuple(values))


def test_char(u):
    assert u("char", 72, 228, 8364, 0x10FFFF) == ("H\xc3\xa4\xe2\x82\xac\xf4\x8f\xbf\xbf",)
    assert u("char") == ("",)
    assert u("char", 0x7FFFFFFF) == ("\xfd\xbf\xbf\xbf\xbf\xbf",)
    assert error_of(u, "char", -1) == "bad argument #1 to 'char' (value out of range)"
    assert error_of(u, "char", 65, 0x80000000) == "bad argument #2 to 'char' (value out of range)"
    assert error_of(u, "char", "x") == "bad argument #1 to 'char' (number expected, got string)"


def test_charpattern(u):
    assert u.lib.get("charpattern") == "[\x00-\x7F\xC2-\xFD][\x80-\xBF]*"


def test_codepoint(u):
    s = "a\xe4\xb8\xadb"  # "a中b"
    assert u("codepoint", s) == (97,)
    assert u("codepoint", s, 1, -1) == (97, 0x4E2D, 98)
    assert u("codepoint", s, 3, 2) == ()
    assert error_of(u, "codepoint", s, 3) == "invalid UTF-8 code"
    assert error_of(u, "codepoint", s, 0) == "bad argument #2 to 'codepoint' (out of bounds)"
    assert error_of(u, "codepoint", s, 1, 6) == "bad argument #3 to 'codepoint' (out of bounds)"
    surrogate = "\xed\xa0\x80"
    assert error_of(u, "codepoint", surrogate) == "invalid UTF-8 code"
    assert u("codepoint", surrogate, 1, 1, True) == (0xD800,)
    assert error_of(u, "codepoint", "\xc0\x80") == "invalid UTF-8 code"  # overlong


def test_len(u):
    assert u("len", "a\xe4\xb8\xadb") == (3,)
    assert u("len", "") == (0,)
    assert u("len", "abc", 4) == (0,)
    assert u("len", "a\xffb") == (None, 2)
    assert u("len", "\xf4\x90\x80\x80") == (None, 1)  # above U+10FFFF
    assert u("len", "\xf4\x90\x80\x80", 1, -1, True) == (1,)
    assert error_of(u, "len", "abc", 5) == \
        "bad argument #2 to 'len' (initial position out of bounds)"
    assert error_of(u, "len", "abc", 1, 4) == \
        "bad argument #3 to 'len' (final position out of bounds)"


def test_offset(u):
    s = "a\xe4\xb8\xadb"
    assert u("offset", s, 1) == (1,)
    assert u("offset", s, 2) == (2,)
    assert u("offset", s, 3) == (5,)
    assert u("offset", s, 4) == (6,)
    assert u("offset", s, 5) == (None,)
    assert u("offset", s, -1) == (5,)
    assert u("offset", s, 0, 3) == (2,)
    assert error_of(u, "offset", s, 1, 3) == "initial position is a continuation byte"
    assert error_of(u, "offset", s, 1, 7) == "bad argument #3 to 'offset' (position out of bounds)"


def test_codes(u):
    iterator, s, control = u("codes", "ab\xe4\xb8\xad")
    found = []
    while True:
        result = iterator.call(s, control)
        if not result:
            break
        control, code = result
        found.append((control, code))
    assert found == [(1, 97), (2, 98), (3, 0x4E2D)]
    assert error_of(u, "codes", "\x80") == "bad argument #1 to 'codes' (invalid UTF-8 code)"
    iterator, s, control = u("codes", "a\x80")  # stray continuation after 'a'
    assert error_of(iterator.call, s, control) == "invalid UTF-8 code"
    iterator, s, control = u("codes", "\xed\xa0\x80", True)  # lax accepts surrogates
    assert iterator.call(s, 0) == (1, 0xD800)


def _iterate_codes(fn_codes, s, lax):
    """Drive a ``codes`` iterator to the end; returns codes or the error."""
    try:
        iterator, state, control = fn_codes(s, lax)
        out = []
        while True:
            result = iterator.call(state, control)
            if not result:
                return ("ok", tuple(out))
            control = result[0]
            out.append(result)
    except LuaError as error:
        return ("error", error.value)


# Byte strings biased towards UTF-8 structure: lead bytes, continuations, ASCII.
utf8ish = hs.lists(
    hs.one_of(hs.sampled_from([0x41, 0x80, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF,
                               0xF0, 0xF4, 0xF5, 0xF8, 0xFC, 0xFD, 0xFE, 0xFF]),
              hs.integers(0, 255)),
    max_size=12,
).map(lambda bs: "".join(map(chr, bs)))


@settings(max_examples=150, deadline=None)
@given(s=utf8ish, i=hs.integers(-14, 14), j=hs.integers(-14, 14), lax=hs.booleans())
def test_matches_lua_on_arbitrary_bytes(u, reference_bytes, s, i, j, lax):
    assert outcome(u, "len", s, i, j, lax) == lua_outcome(reference_bytes, "len", s, i, j, lax)
    assert outcome(u, "codepoint", s, i, j, lax) == lua_outcome(reference_bytes, "codepoint", s, i, j, lax)
    assert outcome(u, "offset", s, i, j) == lua_outcome(reference_bytes, "offset", s, i, j)
    theirs = reference_bytes.eval("""function(s, lax)
        local out = {}
        local ok, err = pcall(function()
            for p, c in utf8.codes(s, lax) do out[#out + 1] = p; out[#out + 1] = c end
        end)
        if not ok then return 'error', err end
        return 'ok', #out, table.unpack(out)
    end""")(s.encode("latin-1"), lax)
    status, *values = theirs
    if status == b"ok":
        values = values[1:]
    if status == b"error":
        message = values[0].decode("latin-1").replace("'utf8.codes'", "'codes'")
        expected = ("error", message.split(": ", 1)[-1] if message.startswith("[string") else message)
    else:
        expected = ("ok", tuple(zip(values[::2], values[1::2])))
    assert _iterate_codes(u.lib.get("codes").call, s, lax) == expected


@settings(max_examples=100, deadline=None)
@given(hs.lists(hs.integers(0, 0x7FFFFFFF), max_size=5))
def test_char_matches_lua(u, reference_bytes, codes):
    mine = u("char", *codes)[0]
    theirs = reference_bytes.eval("utf8.char")(*codes).decode("latin-1")
    assert mine == theirs


# Through the interpreter, compared with lua5.4 line by line: see
# tests/lua/lib/utf8/*.lua
