"""The native dkjson 2.8: decode, encode, quotestring and friends.

Expected values were taken from the real dkjson 2.8 under lua5.4; when a
dkjson.lua and lupa are available (``DKJSON_LUA`` or the Debian path) the
``TestAgainstRealDkjson`` class re-checks them live.
"""

from __future__ import annotations

import json
import math
import os
import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as hs

from luapy import LuaError, LuaLimitError, LuaRuntime
from luapy.options import UNLIMITED, Limits, Options
from luapy.runtime.state import State
from luapy.runtime.values import Function, Table
from luapy.stdlib import dkjson


@pytest.fixture
def st():
    state = State(Options(limits=UNLIMITED))
    state.enter()
    return state


@pytest.fixture
def json_module(st):
    return dkjson.open_library(st)


def call(module, name, *args):
    return module.get(name).call(*args)


def plain(value):
    """A decoded Lua value as comparable Python data (strings as bytes)."""
    if type(value) is Table:
        return {plain(k): plain(v) for k, v in value.iter_items()}
    if type(value) is str:
        return value.encode("latin-1")
    return value


def jsontype(table):
    return None if table.meta is None else table.meta.get("__jsontype")


def decode(module, text: bytes, *args):
    args = tuple(a.decode("latin-1") if isinstance(a, bytes) else a for a in args)
    return call(module, "decode", text.decode("latin-1"), *args)


# ------------------------------------------------------------------ decode

#: (input, extra args) -> (value, nextpos[, error]) from dkjson 2.8 on lua5.4.
DECODE_CASES = [
    ((b'{"a":1}',), ({b"a": 1}, 8)),
    ((b"  [1, 2.0, -0, -0.0, 1e2, 1E400, -1e400, 12345678901234567890, "
      b"-9223372036854775808, 9223372036854775807]  rest",),
     ({1: 1, 2: 2.0, 3: 0, 4: -0.0, 5: 100.0, 6: math.inf, 7: -math.inf, 8: 1.2345678901234567e+19,
       9: -9223372036854775808, 10: 9223372036854775807}, 106)),
    ((b"[1,null,3]",), ({1: 1, 3: 3}, 11)),
    ((b"[1,null,3]", 1, b"NULL"), ({1: 1, 2: b"NULL", 3: 3}, 11)),
    ((b'{"a":null,"b":2}',), ({b"b": 2}, 17)),
    ((b'{"a":1,"a":null}',), ({}, 17)),
    ((b'/* lead */ {// line\n "a" : 1 , }',), ({b"a": 1}, 33)),
    ((b'\xef\xbb\xbf{"a":1}',), ({b"a": 1}, 11)),
    ((b"[1 2 3]",), ({1: 1, 2: 2, 3: 3}, 8)),
    ((b"[1,]",), ({1: 1}, 5)),
    ((b"[,1]",), (None, 2, b"no valid JSON value at line 1, column 2")),
    ((b"[1,,2]",), (None, 4, b"no valid JSON value at line 1, column 4")),
    ((b'{"a" "b"}',), ({1: b"a", 2: b"b"}, 10)),
    ((b"{null:1}",), (None, 6, b"cannot use nil as table index (at line 1, column 6)")),
    ((b'{"a":1',), (None, 7, b"unterminated object at line 1, column 1")),
    ((b"[1,\n2,\n",), (None, 8, b"unterminated array at line 1, column 1")),
    ((b'"abc',), (None, 5, b"unterminated string at line 1, column 1")),
    ((b'"a\\"',), (None, 5, b"unterminated string at line 1, column 1")),
    ((b'"\\',), (None, 3, b"unterminated string at line 1, column 1")),
    ((b"",), (None, 1, b"no valid JSON value (reached the end)")),
    ((b"   ",), (None, 4, b"no valid JSON value (reached the end)")),
    ((b"// only comment",), (None, 16, b"no valid JSON value (reached the end)")),
    ((b"/* open",), (None, 8, b"no valid JSON value (reached the end)")),
    ((b"nul",), (None, 1, b"no valid JSON value at line 1, column 1")),
    ((b"True",), (None, 1, b"no valid JSON value at line 1, column 1")),
    ((b"truex",), (None, 1, b"no valid JSON value at line 1, column 1")),
    ((b"NaN",), (None, 1, b"no valid JSON value at line 1, column 1")),
    ((b"[Infinity]",), (None, 2, b"no valid JSON value at line 1, column 2")),
    ((b"-",), (None, 1, b"no valid JSON value at line 1, column 1")),
    ((b"1.2.3",), (None, 1, b"no valid JSON value at line 1, column 1")),
    ((b"1e",), (None, 1, b"no valid JSON value at line 1, column 1")),
    ((b"1-2",), (None, 1, b"no valid JSON value at line 1, column 1")),
    ((b".5",), (0.5, 3)),
    ((b"5.",), (5.0, 3)),
    ((b"-.5e-3x",), (-0.0005, 7)),
    ((b"0x10",), (0, 2)),
    ((b'"\\u00e9\\u20ac\\ud83d\\ude00"',), (b"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 27)),
    ((b'"\\ud800"',), (b"\xed\xa0\x80", 9)),
    ((b'"\\udc00\\ud800x"',), (b"\xed\xb0\x80\xed\xa0\x80x", 16)),
    ((b'"\\ud800\\u0041"',), (b"\xed\xa0\x80A", 15)),
    ((b'"\\u12"',), (b"u12", 7)),
    ((b'"\\u 12 x"',), (b"\x12x", 10)),
    ((b'"\\u-12x"',), (b"u-12x", 9)),
    ((b'"\\u+041z"',), (b"Az", 10)),
    ((b'"\\uzzzz"',), (b"uzzzz", 9)),
    ((b'"\\x\\/\\b\\f\\n\\r\\t\\\\"',), (b"x/\b\f\n\r\t\\", 19)),
    ((b'"raw\x01\ttab\xff"',), (b"raw\x01\ttab\xff", 12)),
    ((b"\n\n  x",), (None, 5, b"no valid JSON value at line 3, column 3")),
    ((b"[1,\n  2,\n  @]",), (None, 12, b"no valid JSON value at line 3, column 3")),
    ((b'{"a":[1,2,{"b":nul}]}',), (None, 16, b"no valid JSON value at line 1, column 16")),
    ((b"[1,2]", 2), (1, 3)),
    ((b"[1,2]", 4), (2, 5)),
    ((b"[1,2]", 6), (None, 6, b"no valid JSON value (reached the end)")),
    ((b"[1,2]", 7), (None, 6, b"no valid JSON value (reached the end)")),
    ((b"[1,2]", -2), (2, 5)),
    ((b"[1,2]", -99), ({1: 1, 2: 2}, 6)),
    ((b"[1,2]", 0), ({1: 1, 2: 2}, 6)),
    ((b'"x" "y"', 4), (b"y", 8)),
    ((b"\x0b\x0c[1]",), ({1: 1}, 6)),
    ((b"[1]\x00",), ({1: 1}, 4)),
    ((b'{"a":1}}',), ({b"a": 1}, 8)),
    ((b'{"k":"caf\xc3\xa9","e":"\\u00e9"}',), ({b"k": b"caf\xc3\xa9", b"e": b"\xc3\xa9"}, 27)),
    ((b'{"big":123456789012345678901234567890}',), ({b"big": 1.2345678901234568e+29}, 39)),
]


@pytest.mark.parametrize("args, expected", DECODE_CASES, ids=[repr(c[0][0])[:40] for c in DECODE_CASES])
def test_decode_matches_dkjson(json_module, args, expected):
    result = decode(json_module, *args)
    assert tuple(plain(v) for v in result) == expected
    for got, want in zip(result, expected):
        # integer/float subtype matters in Lua 5.4 (1 vs 1.0)
        if not isinstance(want, dict):
            assert type(plain(got)) is type(want)


def test_decoded_number_subtypes(json_module):
    table, _ = decode(json_module, b"[1, 1.0, 1e2, -0, 12345678901234567890]")
    assert [type(v) for v in table.arr] == [int, float, float, int, float]


def test_any_value_can_be_an_object_key(json_module):
    table, pos = decode(json_module, b"{1:2, true:3, [1]:4}")
    assert pos == 21
    assert table.get(1) == 2 and table.get(True) == 3
    keys = [k for k, _ in table.iter_items() if type(k) is Table]
    assert len(keys) == 1 and keys[0].arr == [1] and table.get(keys[0]) == 4


def test_default_metatables_one_pair_per_call(json_module):
    first, _ = decode(json_module, b'{"a":{},"b":[[]]}')
    assert jsontype(first) == "object"
    assert first.get("a").meta is first.meta
    assert jsontype(first.get("b")) == "array"
    assert first.get("b").get(1).meta is first.get("b").meta
    second, _ = decode(json_module, b"{}")
    assert second.meta is not first.meta and jsontype(second) == "object"
    # the lenient path uses the same shared pair
    lenient, _ = decode(json_module, b'{"a":{}, "b":[[]],}')
    assert lenient.get("a").meta is lenient.meta
    assert lenient.get("b").get(1).meta is lenient.get("b").meta


def test_explicit_metatables_replace_defaults_even_nil(json_module):
    # dkjson's optionalmetatables returns `...`: giving objectmeta alone
    # leaves arraymeta nil as well
    objmeta = Table()
    table, _ = decode(json_module, b'{"a":[1]}', 1, None, objmeta)
    assert table.meta is objmeta and table.get("a").meta is None
    table, _ = decode(json_module, b'{"a":[1]}', 1, None, None, None)
    assert table.meta is None and table.get("a").meta is None
    objmeta, arrmeta = Table(), Table()
    table, _ = decode(json_module, b'{"a":[1]}', 1, None, objmeta, arrmeta)
    assert table.meta is objmeta and table.get("a").meta is arrmeta


def test_bad_metatable_is_setmetatables_error(json_module):
    with pytest.raises(LuaError, match=r"bad argument #2 to 'setmetatable' \(nil or table expected, got string\)"):
        decode(json_module, b"{}", 1, None, "oops")
    # no table decoded, no metatable set, no error
    assert plain(decode(json_module, b"5", 1, None, "oops")[0]) == 5


def test_decode_argument_errors(json_module):
    with pytest.raises(LuaError, match=r"bad argument #1 to 'strfind' \(string expected, got nil\)"):
        call(json_module, "decode")
    with pytest.raises(LuaError, match=r"bad argument #3 to 'strfind' \(number has no integer representation\)"):
        call(json_module, "decode", "[1]", 1.5)
    assert call(json_module, "decode", 123) == (123, 4)
    assert call(json_module, "decode", "[1]", "2") == (1, 3)


def test_nesting_depth_costs_no_stack(json_module):
    depth = 20000
    text = "[" * depth + "]" * depth
    table, pos = call(json_module, "decode", text)
    assert pos == 2 * depth + 1
    # trailing commas send it down the lenient path; the value ends before the last ","
    lenient, pos = call(json_module, "decode", "[" * depth + "]," * depth)
    assert pos == 3 * depth
    for _ in range(depth - 1):
        table, lenient = table.get(1), lenient.get(1)
    assert table.length() == 0 and lenient.length() == 0


# --------------------------------------------------- fast and lenient paths

def layout(value):
    """Everything observable about a decoded value, raw layout included."""
    if type(value) is Table:
        return ("table", id(value.meta) if value.meta is not None else None,
                [layout(v) for v in value.arr],
                [(layout(k), layout(v)) for k, v in value.hash.items()])
    if type(value) is float:
        return ("float", repr(value))
    return (type(value).__name__, value)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("latin-1").decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def both_paths(st, text: str, nullval=None):
    objmeta, arrmeta = Table(), Table()
    fast = dkjson._FastDecoder().decode(text, text.index(text.lstrip(" \t\n\r")[0]),
                                        nullval, objmeta, arrmeta)
    lenient = dkjson.decode_lenient(st, text, 0, nullval, objmeta, arrmeta)
    return fast, lenient


json_values = hs.recursive(
    hs.none() | hs.booleans() | hs.integers(min_value=-2**70, max_value=2**70)
    | hs.floats(allow_nan=False, allow_infinity=False)
    | hs.text() | hs.sampled_from(["\ud800", "\udfff", "\u2028", "\x7f", "null", "é"]),
    lambda children: hs.lists(children, max_size=5)
    | hs.dictionaries(hs.text(max_size=4), children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(value=hs.one_of(hs.lists(json_values), hs.dictionaries(hs.text(), json_values)),
       ascii_only=hs.booleans(), indent=hs.sampled_from([None, 0, 2]))
def test_fast_and_lenient_paths_agree(value, ascii_only, indent):
    st = State(Options(limits=UNLIMITED))
    st.enter()
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    text = text.encode("utf-8", "surrogatepass").decode("latin-1")
    fast, lenient = both_paths(st, text)
    if "\\u" not in text or _is_utf8(text):
        assert fast is not None, "strict JSON must take the fast path"
    else:
        # \u escapes beside bytes that are no UTF-8 (raw surrogates): the
        # fast path cannot tell escapes from bytes, so the port decides
        assume(fast is not None)
    assert layout(fast[0]) == layout(lenient[0])
    assert fast[1] == lenient[1] == len(text)


def test_fast_and_lenient_agree_on_duplicate_keys_and_nulls(st):
    for text in ['[null,1,null,[null,2],null]', '{"a":null,"b":[null]}', '[{"x":null,"x":[]}]',
                 '{"a":1,"a":2,"b":null}']:
        for nullval in (None, "NULL"):
            fast, lenient = both_paths(st, text, nullval)
            assert layout(fast[0]) == layout(lenient[0]), (text, nullval)


def test_duplicate_key_after_null_keeps_its_first_place_on_the_fast_path(st):
    # Same keys and values either way; only the (unspecified) pairs order
    # differs, as documented on _FastDecoder.
    text = '{"a":1,"a":null,"b":2,"a":3}'
    fast, lenient = both_paths(st, text)
    assert plain(fast[0]) == plain(lenient[0]) == {b"a": 3, b"b": 2}
    assert [k for k, _ in fast[0].iter_items()] == ["a", "b"]
    assert [k for k, _ in lenient[0].iter_items()] == ["b", "a"]


def test_lenient_inputs_fall_back(st):
    for text in ['[1,]', '{"a":1,}', '[1 2]', '{"a":"\x01"}', '[NaN]', '[1.]', '[01]',
                 '{"a":1} // c', '[\x0b1]', '["\\ud800\xc3"]']:
        fast = dkjson._FastDecoder().decode(text, 0, None, None, None)
        if fast is not None:  # only when the C decoder agrees exactly
            assert layout(fast[0]) == layout(dkjson.decode_lenient(st, text, 0, None, None, None)[0])
    assert dkjson._FastDecoder().decode("[1,]", 0, None, None, None) is None


# ------------------------------------------------------------------ encode

def lua_table(*items, **fields):
    table = Table()
    for i, item in enumerate(items, 1):
        table.set(i, item)
    for key, value in fields.items():
        table.set(key, value)
    return table


def encode(module, value, state=None):
    args = (value,) if state is None else (value, state)
    return call(module, "encode", *args)[0]


def test_encode_scalars(json_module):
    assert encode(json_module, None) == "null"
    assert encode(json_module, True) == "true"
    assert encode(json_module, 42) == "42"
    assert encode(json_module, -0.0) == "-0.0"
    assert encode(json_module, 2.0) == "2.0"
    assert encode(json_module, 1e100) == "1e+100"
    assert encode(json_module, 0.1) == "0.1"
    assert encode(json_module, math.inf) == "null"
    assert encode(json_module, -math.inf) == "null"
    assert encode(json_module, math.nan) == "null"
    assert encode(json_module, json_module.get("null")) == "null"


def test_encode_arrays_by_isarray_rule(json_module):
    assert encode(json_module, lua_table(1, "a", False)) == '[1,"a",false]'
    assert encode(json_module, Table()) == "[]"
    empty_object = Table()
    empty_object.meta = lua_table(__jsontype="object")
    assert encode(json_module, empty_object) == "{}"
    # a decoded object stays an object, a decoded array an array
    obj, _ = call(json_module, "decode", "{}")
    arr, _ = call(json_module, "decode", "[]")
    assert encode(json_module, obj) == "{}" and encode(json_module, arr) == "[]"
    holes = Table()
    holes.set(1, 1)
    holes.set(3, 3)
    assert encode(json_module, holes) == "[1,null,3]"
    sparse = Table()
    sparse.set(11, "x")
    assert encode(json_module, sparse) == '{"11":"x"}'  # too many holes
    with_n = Table()
    with_n.set(11, "x")
    with_n.set("n", 12)
    assert encode(json_module, with_n) == "[" + "null," * 10 + '"x",null]'
    assert encode(json_module, lua_table(n=3)) == "[null,null,null]"
    assert encode(json_module, lua_table(n=-3)) == "[]"
    # dkjson loops to floor(n) but writes "," while i < n
    assert encode(json_module, lua_table("a", n=2.5)) == '["a",null,]'
    mixed = lua_table(1, 2, x=1)
    assert encode(json_module, mixed) == '{"1":1,"2":2,"x":1}'
    float_key = Table()
    float_key.set(1.5, True)
    assert encode(json_module, float_key) == '{"1.5":true}'


def test_encode_escapes_like_quotestring(json_module):
    text = '"\\/\b\f\n\r\t\x00\x1f\x7f é \xc2\xad \xe2\x80\xa8 \xe2\x80\xa9 \xef\xbb\xbf \xef\xbf\xbf \xd8\x80 \xdc\x8f \xe1\x9e\xb4 \xe2\x81\xa0 \xc2\x9f \xff'
    expected = ('"\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\\u007f é \\u00ad \\u2028 \\u2029 \\ufeff \\uffff '
                '\\u0600 \\u070f \\u17b4 \\u2060 \\u009f \xff"')
    assert call(json_module, "quotestring", text) == (expected,)
    assert encode(json_module, text) == expected
    assert call(json_module, "quotestring", 12) == ('"12"',)
    with pytest.raises(LuaError, match=r"bad argument #1 to 'strfind' \(string expected, got table\)"):
        call(json_module, "quotestring", Table())


def test_encode_indent_and_keyorder(json_module):
    value = lua_table(b=lua_table(1, 2), a=lua_table(c=True), z=1)
    state = lua_table(indent=True, keyorder=lua_table("z", "a", "missing"))
    assert encode(json_module, value, state) == (
        '\n{\n  "z":1,\n  "a":{\n    "c":true\n  },\n  "b":[1,2]\n}'.lstrip("\n"))
    state = lua_table(indent=True, level=2)
    assert encode(json_module, lua_table(x=1), state) == '{\n      "x":1\n    }'
    ordered = lua_table(b=1, a=2)
    ordered.meta = lua_table(__jsonorder=lua_table("a", "b"))
    assert encode(json_module, ordered) == '{"a":2,"b":1}'


def test_encode_errors(json_module):
    cycle = Table()
    cycle.set("self", cycle)
    with pytest.raises(LuaError, match="^reference cycle$"):
        encode(json_module, cycle)
    with pytest.raises(LuaError, match=r"^type 'function' is not supported by JSON\.$"):
        encode(json_module, lua_table(Function(lambda *a: (), "f")))
    bad_key = Table()
    bad_key.set(True, 1)
    with pytest.raises(LuaError, match=r"^type 'boolean' is not supported as a key by JSON\.$"):
        encode(json_module, bad_key)
    # the same table twice, side by side, is no cycle
    shared = lua_table(1)
    assert encode(json_module, lua_table(shared, shared)) == "[[1],[1]]"


def test_encode_into_caller_buffer(json_module):
    buffer = lua_table("start")
    state = lua_table(buffer=buffer, bufferlen=1)
    assert call(json_module, "encode", lua_table(1, 2), state) == (True,)
    assert buffer.arr == ["start", "[", "1", ",", "2", "]"]
    assert state.get("bufferlen") == 6
    # without a buffer of its own the state is left clean
    state = lua_table(indent=False)
    assert encode(json_module, lua_table(x=1), state) == '{"x":1}'
    assert state.get("buffer") is None and state.get("bufferlen") is None


def test_addnewline_and_encodeexception(json_module):
    buffer = lua_table("x")
    state = lua_table(indent=True, level=2, buffer=buffer)
    assert call(json_module, "addnewline", state) == ()
    assert buffer.arr == ["x", "\n", "    "] and state.get("bufferlen") == 3
    assert call(json_module, "addnewline", lua_table(buffer=buffer)) == ()
    assert buffer.length() == 3
    assert call(json_module, "encodeexception", "reason", None, None, "a \"msg\"") == ('"<a \\"msg\\">"',)


def test_module_surface(json_module):
    assert json_module.get("version") == "dkjson 2.8"
    assert call(json_module, "use_lpeg") == (json_module,)
    null = json_module.get("null")
    assert type(null) is Table and type(null.meta.get("__tojson")) is Function
    names = {k for k, _ in json_module.iter_items()}
    assert names == {"version", "null", "decode", "encode", "quotestring", "addnewline",
                     "encodeexception", "use_lpeg"}


lua_leaves = (hs.booleans() | hs.integers(min_value=-2**63, max_value=2**63 - 1)
              | hs.floats(allow_nan=False, allow_infinity=False).filter(
                  lambda f: float("%.14g" % f) == f)
              | hs.binary(max_size=12).map(lambda b: b.decode("latin-1")))
lua_values = hs.recursive(
    lua_leaves,
    lambda children: hs.lists(children, min_size=1, max_size=5).map(lambda items: ("array", items))
    | hs.dictionaries(hs.text(min_size=1, max_size=5).filter(lambda k: k != "n"), children,
                      min_size=1, max_size=5).map(lambda d: ("object", d)),
    max_leaves=20,
)


def build(value):
    if isinstance(value, tuple):
        kind, content = value
        table = Table()
        if kind == "array":
            for i, item in enumerate(content, 1):
                table.set(i, build(item))
        else:
            for key, item in content.items():
                table.set(key.encode("utf-8").decode("latin-1"), build(item))
        return table
    return value


def unbuild(value):
    if type(value) is Table:
        return {unbuild(k): unbuild(v) for k, v in value.iter_items()}
    if type(value) is float:
        return ("float", value)
    return value


@settings(max_examples=300, deadline=None)
@given(value=lua_values)
def test_encode_decode_round_trip(value):
    st = State(Options(limits=UNLIMITED))
    st.enter()
    module = dkjson.open_library(st)
    lua_value = build(value)
    text = call(module, "encode", lua_value)[0]
    decoded, pos = call(module, "decode", text)
    assert pos == len(text) + 1
    assert unbuild(decoded) == unbuild(lua_value)


# ----------------------------------------------------------------- budgets

def test_huge_document_hits_the_memory_budget():
    st = State(Options())
    st.enter()
    module = dkjson.open_library(st)
    item = '{"k":"vvvvvvvvvv"}'
    text = "[" + ",".join([item] * (10_000_000 // (len(item) + 1))) + "]"
    assert len(text) <= 10_000_000
    with pytest.raises(LuaLimitError) as info:
        call(module, "decode", text)
    assert info.value.limit == "memory"
    # and through the runtime, as a sandboxed plugin would meet it
    lua = LuaRuntime()
    decode = lua.eval("require('dkjson').decode")
    with pytest.raises(LuaLimitError):
        decode(text)


def test_decode_charges_steps():
    st = State(Options(limits=Limits(steps=1000, time=None, memory=None)))
    st.enter()
    module = dkjson.open_library(st)
    with pytest.raises(LuaLimitError) as info:
        call(module, "decode", "[" + "1," * 50_000 + "1]")
    assert info.value.limit == "steps"
    st = State(Options(limits=Limits(steps=1000, time=None, memory=None)))
    st.enter()
    module = dkjson.open_library(st)
    with pytest.raises(LuaLimitError):
        call(module, "decode", "[" + "1 " * 50_000 + "]")  # the lenient path too


def test_encode_charges_steps():
    st = State(Options(limits=Limits(steps=1000, time=None, memory=None)))
    st.enter()
    module = dkjson.open_library(st)
    with pytest.raises(LuaLimitError):
        call(module, "encode", Table(list(range(5000))))


# ------------------------------------------------------- through the runtime

@pytest.fixture
def lua():
    return LuaRuntime()


def test_require_dkjson_once_per_runtime(lua):
    assert lua.execute("return require('dkjson') == require('dkjson')") is True
    assert lua.eval("require('dkjson').version") == "dkjson 2.8"
    other = LuaRuntime()
    assert lua.eval("require('dkjson')") != other.eval("require('dkjson')")
    lua.execute("require('dkjson').version = 'changed'")
    assert other.eval("require('dkjson').version") == "dkjson 2.8"


def test_decode_from_lua(lua):
    result = lua.execute("""
        local json = require("dkjson")
        local t, pos = json.decode('{"a":[1,2,{"b":null}],"c":"\\\\u00e9"}', 1, json.null)
        return #t.a, t.a[3].b == json.null, t.c, pos, getmetatable(t).__jsontype,
               getmetatable(t.a).__jsontype
    """)
    assert result == (3, True, "é", 36, "object", "array")


def test_encode_from_lua_with_tojson_and_exception(lua):
    result = lua.execute("""
        local json = require("dkjson")
        local point = setmetatable({x = 1}, {__tojson = function(self, state)
            return "<point " .. self.x .. " at " .. state.bufferlen .. ">"
        end})
        local a = json.encode({1, point, 3})
        local b = json.encode({print}, {exception = json.encodeexception})
        local c = json.encode({1, {2, setmetatable({}, {__tojson = function(self, state)
            state.buffer[state.bufferlen + 1] = "RAW"
            state.bufferlen = state.bufferlen + 1
            return true
        end})}})
        return a, b, c
    """)
    assert result == ("[1,<point 1 at 3>,3]",
                      '["<type \'function\' is not supported by JSON.>"]',
                      "[1,[2,RAW]]")


def test_encode_error_positions(lua):
    result = lua.execute("""
        local json = require("dkjson")
        local t = {}; t[1] = t
        local ok1, e1 = pcall(json.encode, t)
        local ok2, e2 = pcall(function()
            local s = json.encode({f = print})
            return s
        end)
        local ok3, e3 = pcall(function()
            local s = json.encode(setmetatable({}, {__tojson = function() return nil, "mine" end}))
            return s
        end)
        return e1, e2, e3
    """)
    assert result == ("reference cycle",
                      "(execute):6: type 'function' is not supported by JSON.",
                      "(execute):10: mine")


#: Lua snippets (with ``json = require "dkjson"``) and what lua5.4 running
#: the real dkjson 2.8 returns for them.
LUA_QUIRKS = [
    # a failed encode leaves its partial output in state.buffer, and the
    # next encode with that state then appends to it and returns true
    ('local st = {} pcall(json.encode, {1, print}, st) return type(st.buffer), '
     'table.concat(st.buffer, "|"), json.encode({2}, st), table.concat(st.buffer, "|")',
     ("table", "[|1|,", True, "[|2|]")),
    ("local tables = {} local t = {} tables[t] = true return pcall(json.encode, {t}, {tables = tables})",
     (False, "reference cycle")),
    ('return json.encode({a=1}, {indent = true, level = "2"})', '{\n      "a":1\n    }'),
    ('return json.encode({print, 2}, {exception = function(reason) return "\\"" .. reason .. "\\"" end})',
     '["unsupported type",2]'),
    ("return pcall(json.encode, {print}, {exception = function() return false end})",
     (False, "type 'function' is not supported by JSON.")),
    ("return pcall(json.encode, {print}, {exception = function() return nil, 'nope' end})", (False, "nope")),
    ("return json.encode(setmetatable({1,2}, {__pairs = function(t) "
     "return function(_, k) if not k then return 'z', 9 end end, t, nil end}))", '{"z":9}'),
    ("return json.encode(setmetatable({}, {__index = function(t, k) return k * 10 end, __pairs = function(t) "
     "local i = 0 return function() i = i + 1 if i <= 3 then return i, true end end end}))", "[10,20,30]"),
    ('return json.encode({setmetatable({}, {__tojson = function(self, state) json.addnewline(state) '
     'return "X" end})}, {indent=true})', "[\nX]"),
    ("return json.encode({setmetatable({}, {__tojson = function(self, state) return json.encode({1,2}, state) end})})",
     "[[1,2]]"),
    ("return json.encode(setmetatable({}, {__tojson = function() return 5 end}))", ""),
    ("local t = json.decode('{\"a\":1}', 1, nil, {__newindex = function(t, k, v) rawset(t, k .. '!', v) end}) "
     "return t['a!'], t.a", (1, None)),
    ('return select("#", json.decode("null")), json.decode("null", 1, "N")', (2, "N", 5)),
    ('local t = json.decode("{}") t[1] = 5 return json.encode(t)', "[5]"),
    ("local t = {} t[20] = 1 return json.encode(t)", '{"20":1}'),
    ("local t = {n=20} t[20] = 1 return json.encode(t)", "[" + "null," * 19 + "1]"),
    ("return json.encode({[1]=1,[2]=2,[4]=4})", "[1,2,null,4]"),
    ('return json.encode({n=2.5, "a"})', '["a",null,]'),
    ("return json.encode(0/0), json.encode(-0.0), json.encode(1e15), json.encode(2^63), json.encode(1/3)",
     ("null", "-0.0", "1e+15", "9.2233720368548e+18", "0.33333333333333")),
]


@pytest.mark.parametrize("source, expected", LUA_QUIRKS, ids=[q[0][:50] for q in LUA_QUIRKS])
def test_lua_level_quirks(source, expected):
    lua = LuaRuntime()
    lua.execute('json = require("dkjson")')
    assert lua.execute(source) == expected


def test_opengauss_plugin_runs_unchanged(lua):
    here = os.path.dirname(__file__)
    with open(os.path.join(here, "..", "examples", "plugins", "opengauss.lua"), encoding="utf-8") as f:
        lua.execute(f.read())
    get = lua.globals()["GetWorkloadTypeAndName"]
    owned = json.dumps({"name": "og-0", "ownerReferences": [{"kind": "OpenGaussCluster", "name": "og"}]})
    assert get(owned) == ("StatefulSet", "og")
    assert get(json.dumps({"name": "x", "ownerReferences": [{"kind": "ReplicaSet", "name": "r"}]})) == ("", "")
    assert get(json.dumps({"name": "bare"})) == ("", "")
    assert "/bin/?.lua" in lua.eval("package.path")


# ------------------------------------------------- against the real dkjson

def _reference_dkjson():
    for path in (os.environ.get("DKJSON_LUA"), "/usr/share/lua/5.4/dkjson.lua"):
        if path and os.path.isfile(path):
            return path
    return None


@pytest.fixture(scope="module")
def real(reference_bytes):
    """lua5.4 (lupa) with the original dkjson.lua loaded as global ``json``."""
    runtime = reference_bytes
    runtime.execute(b"local path = ...; json = dofile(path)", _reference_dkjson().encode())
    return runtime


@pytest.mark.skipif(_reference_dkjson() is None, reason="no dkjson.lua (set DKJSON_LUA)")
class TestAgainstRealDkjson:
    """Our dkjson next to the original running in real Lua 5.4 (lupa)."""

    def normalise_real(self, real, value):
        lua_type = real.eval(b"type")
        getmetatable = real.eval(b"getmetatable")

        def norm(v):
            if lua_type(v) == b"table":
                meta = getmetatable(v)
                kind = meta[b"__jsontype"] if meta is not None else None
                return ("T", kind, sorted((repr(norm(k)), norm(x)) for k, x in v.items()))
            return ("float", repr(v)) if isinstance(v, float) else v
        return norm(value)

    @staticmethod
    def normalise_ours(value):
        def norm(v):
            if type(v) is Table:
                kind = v.meta.get("__jsontype") if v.meta is not None else None
                return ("T", kind.encode() if kind else None,
                        sorted((repr(norm(k)), norm(x)) for k, x in v.iter_items()))
            if type(v) is str:
                return v.encode("latin-1")
            return ("float", repr(v)) if isinstance(v, float) else v
        return norm(value)

    def test_decode_cases(self, real, json_module):
        decode_real = real.eval(b"function(...) return table.pack(json.decode(...)) end")
        for args, _ in DECODE_CASES:
            packed = decode_real(*args)
            theirs = [self.normalise_real(real, packed[i]) for i in range(1, packed[b"n"] + 1)]
            ours = [self.normalise_ours(v) for v in decode(json_module, *args)]
            assert ours == theirs, args

    def test_fuzzed_fragments(self, real, json_module):
        decode_real = real.eval(b"function(...) return table.pack(json.decode(...)) end")
        tokens = [b"{", b"}", b"[", b"]", b",", b":", b" ", b"\n", b'"a"', b'"\\u00e9"', b'"\\ud800"',
                  b'"\\u12"', b'"\\x"', b'"\xc3\xa9"', b"1", b"-0", b"1.5e3", b"1e", b"true", b"null",
                  b"nul", b"/*c*/", b"//c\n", b"\xef\xbb\xbf", b'"', b"\\", b"12345678901234567890"]
        rng = random.Random(7)
        for _ in range(1500):
            text = b"".join(rng.choice(tokens) for _ in range(rng.randint(0, 10)))
            packed = decode_real(text)
            theirs = [self.normalise_real(real, packed[i]) for i in range(1, packed[b"n"] + 1)]
            ours = [self.normalise_ours(v) for v in decode(json_module, text)]
            assert ours == theirs, text

    def test_lua_quirks(self, real):
        for source, expected in LUA_QUIRKS:
            theirs = real.execute(source.encode())
            theirs = tuple(v.decode("latin-1") if isinstance(v, bytes) else v for v in theirs) \
                if isinstance(theirs, tuple) else (theirs.decode("latin-1") if isinstance(theirs, bytes) else theirs)
            assert theirs == expected, source

    def test_encode_single_key_values(self, real, json_module):
        encode_real = real.eval(b"function(s) return json.encode((json.decode(s))) end")
        for text in [b'[1,2.5,"x\\n",true,null,3]', b'{"a":[{}]}', b'["\\u2028\\u00ad\\ufeff\\u0000"]',
                     b'[1e300,-0.0,12345678901234567890]', b'{"k":{"n":[[[]]]}}']:
            ours = encode(json_module, call(json_module, "decode", text.decode("latin-1"))[0])
            assert ours.encode("latin-1") == encode_real(text)


def test_ascii_escapes_take_the_byte_path_and_decode_exactly(monkeypatch):
    # Go-style JSON escapes <, > and & as \u003c, \u003e, \u0026 in every
    # realistic pod: those are single bytes, so the C scanner's byte path
    # applies; escapes beyond ASCII still come back as UTF-8 bytes.
    lua = LuaRuntime()
    source = r"""
        local json = require("dkjson")
        local t = json.decode('{"a":"\\u003cb\\u003e","b":["\\u0026","\\u007f"],"c":{"d":"x\\u0000y"}}')
        local u = json.decode('{"a":"\\u003c","e":"\\u00e9\\u20ac"}')
        return t.a, t.b[1], #t.b[2], #t.c.d, u.a, u.e
    """
    calls = []
    real = dkjson._FastDecoder.__init__

    def spying_init(self, *args):
        real(self, *args)
        for name in ("decode_bytes", "decode_text"):
            inner = getattr(self, name)
            setattr(self, name, lambda *a, _inner=inner, _name=name: (calls.append(_name), _inner(*a))[1])

    monkeypatch.setattr(dkjson._FastDecoder, "__init__", spying_init)
    assert LuaRuntime().execute(source) == ("<b>", "&", 1, 3, "<", "é€")
    assert calls == ["decode_bytes", "decode_text"]
    assert lua.execute(source) == ("<b>", "&", 1, 3, "<", "é€")
