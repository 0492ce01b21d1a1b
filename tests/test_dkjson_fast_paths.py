"""dkjson.decode, fast paths included, against the real dkjson 2.8 decoder.

``tests/data/dkjson_decode_2_8.lua`` is dkjson 2.8's decoder, unchanged; it
runs in real Lua 5.4 (lupa) as the oracle.  Every value, metatable
(``__jsontype``), next position and error message must match, for strict
JSON (the C scanner's path, Go-style ``\\u003c`` escapes included) and for
texts mutated into lenient or invalid JSON (the port's path).
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from luapy import LuaRuntime
from luapy.options import Limits
from luapy.runtime.values import Table

lua54 = pytest.importorskip("lupa.lua54")

REFERENCE = os.path.join(os.path.dirname(__file__), "data", "dkjson_decode_2_8.lua")


@pytest.fixture(scope="module")
def real():
    """``decode(...)`` of the original, as ``table.pack(pcall(...))``."""
    runtime = lua54.LuaRuntime(encoding=None)
    with open(REFERENCE, "rb") as handle:
        module = runtime.execute(handle.read())
    packed = runtime.eval(b"function(j) return function(...) return table.pack(pcall(j.decode, ...)) end end")
    lua_type, getmetatable = runtime.eval(b"type"), runtime.eval(b"getmetatable")

    def norm(v):
        if lua_type(v) == b"table":
            meta = getmetatable(v)
            kind = meta[b"__jsontype"] if meta is not None else None
            return ("T", kind, sorted((repr(norm(k)), norm(x)) for k, x in v.items()))
        return _scalar(v)

    decode = packed(module)

    def run(*args):
        result = decode(*args)
        return [norm(result[i]) for i in range(1, result[b"n"] + 1)]
    return run


@pytest.fixture(scope="module")
def ours():
    runtime = LuaRuntime()
    packed = runtime.eval("function(...) return table.pack(pcall(require('dkjson').decode, ...)) end")._function

    def norm(v):
        if type(v) is Table:
            kind = v.meta.get("__jsontype") if v.meta is not None else None
            return ("T", kind.encode("latin-1") if kind is not None else None,
                    sorted((repr(norm(k)), norm(x)) for k, x in v.iter_items()))
        if type(v) is str:
            return v.encode("latin-1")
        return _scalar(v)

    def run(*args):
        args = [a.decode("latin-1") if type(a) is bytes else a for a in args]
        result = runtime.call_raw(packed, args)[0]
        return [norm(result.get(i)) for i in range(1, result.get("n") + 1)]
    return run


def _scalar(v):
    if type(v) is float:
        return ("float", repr(v))
    if type(v) is int:
        return ("int", v)
    return v


json_values = hs.recursive(
    hs.none() | hs.booleans() | hs.integers(min_value=-2**70, max_value=2**70)
    | hs.floats(allow_nan=False) | hs.text(max_size=6)
    | hs.sampled_from(["\ud800", "\udfff", "\u2028", "\x7f", "<a&b>", "é€😀", "\\", "", "null"]),
    lambda children: hs.lists(children, max_size=4) | hs.dictionaries(hs.text(max_size=3), children, max_size=4),
    max_leaves=12,
)


@hs.composite
def json_texts(draw) -> bytes:
    """Strict JSON as encoders write it, Go's ``\\u003c`` style included."""
    value = draw(hs.one_of(hs.lists(json_values, max_size=4), hs.dictionaries(hs.text(max_size=3), json_values),
                           json_values))
    text = json.dumps(value, ensure_ascii=draw(hs.booleans()), indent=draw(hs.sampled_from([None, 0, 1])),
                      separators=draw(hs.sampled_from([None, (",", ":"), (" , ", " : ")])))
    if draw(hs.booleans()):
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("Infinity", "1e400")  # dumps' non-JSON floats as numbers dkjson reads
    return text.encode("utf-8", "surrogatepass")


TOKENS = [b",", b":", b"[", b"]", b"{", b"}", b'"', b"\\", b" ", b"\n", b"/*c*/", b"//c\n", b"null", b"nul",
          b"1e", b"-", b"\xef\xbb\xbf", b"\\u00e9", b"\\ud800", b"\\u12", b"\xc3", b"\x01", b"NaN", b"01"]


@hs.composite
def mutated_texts(draw) -> bytes:
    """Strict JSON with a few edits: lenient JSON, or no JSON at all."""
    text = draw(json_texts())
    for _ in range(draw(hs.integers(min_value=1, max_value=3))):
        at = draw(hs.integers(min_value=0, max_value=len(text)))
        if draw(hs.booleans()) and at < len(text):
            text = text[:at] + text[at + 1:]
        else:
            text = text[:at] + draw(hs.sampled_from(TOKENS)) + text[at:]
    return text


@settings(max_examples=400, deadline=None)
@given(text=json_texts(), nullval=hs.sampled_from([None, b"NULL"]))
def test_strict_json_decodes_as_dkjson_does(real, ours, text, nullval):
    assert ours(text, 1, nullval) == real(text, 1, nullval)


@settings(max_examples=400, deadline=None)
@given(text=mutated_texts(), pos=hs.sampled_from([None, 1, 2, -3]))
def test_lenient_and_invalid_json_decode_as_dkjson_does(real, ours, text, pos):
    assert ours(text, pos) == real(text, pos)


@pytest.mark.parametrize("text", [
    b'{"annotations":{},"labels":{"app":"x"},"name":"p","ownerReferences":[{"kind":"OpenGaussCluster",'
    b'"name":"og","controller":true}],"uid":"1"}',
    b'{"a":[],"b":[[],[1,[2]]],"c":null,"d":[null,1,null],"e":{"f":null}}',
    b'[{"a":null},[null],null,{"b":[{"c":[null]}]}]',
    b'{"a":1,"a":null,"b":2,"a":3}',
    b'{"x":"\\u003cb\\u003e","y":["\\u0026"],"z":"\\u00e9"}',
])
def test_documents_with_arrays_and_nulls(real, ours, text):
    for nullval in (None, b"NULL"):
        assert ours(text, 1, nullval) == real(text, 1, nullval)


# ---------------------------------------------- default metatables, reused


def test_each_decode_has_its_own_metatables():
    lua = LuaRuntime()
    assert lua.execute("""
        local json = require("dkjson")
        local a = json.decode('{"x":[1]}')
        local b = json.decode('{"x":[1]}')
        return getmetatable(a) ~= getmetatable(b), getmetatable(a.x) ~= getmetatable(b.x),
               getmetatable(a) ~= getmetatable(a.x)
    """) == (True, True, True)


def test_a_metatable_kept_alone_is_not_handed_out_again():
    lua = LuaRuntime()
    assert lua.execute("""
        local json = require("dkjson")
        local kept = getmetatable(json.decode('{}'))
        return kept ~= getmetatable(json.decode('{}'))
    """) is True


def test_a_changed_metatable_is_not_handed_out_again():
    # The table and its metatable are garbage by the second decode (nothing
    # refers to them), yet the change must not show in the new one.
    lua = LuaRuntime()
    assert lua.execute("""
        local json = require("dkjson")
        getmetatable(json.decode('{}')).__index = function() return "leaked" end
        getmetatable(json.decode('[]')).__jsontype = "object"
        local t, u = json.decode('{}'), json.decode('[]')
        return t.anything, getmetatable(u).__jsontype, getmetatable(t).__jsontype
    """) == (None, "array", "object")


def test_a_metatable_a_weak_table_still_holds_is_not_handed_out_again():
    lua = LuaRuntime()
    assert lua.execute("""
        local json = require("dkjson")
        local seen = setmetatable({}, {__mode = "k"})
        seen[getmetatable(json.decode('{}'))] = true
        return seen[getmetatable(json.decode('{}'))]
    """) is None


def test_metatables_are_those_dkjson_makes(real, ours):
    # No "{" (or "[") in the text: no table could get that metatable.
    for text in [b"[1,2]", b'{"a":1}', b'"x"', b"12", b"[[],{}]", b'["{"]']:
        assert ours(text) == real(text)


# ------------------------------------------------------------ deep nesting


@pytest.mark.parametrize("depth", [2000, 100_000])
def test_deep_nesting_is_a_clean_result_under_budgets(depth):
    # The C scanner gives up (RecursionError) and the iterative port decides;
    # the default budgets but time, which a loaded test machine may need.
    lua = LuaRuntime(limits=Limits(time=30))
    assert lua.execute(f"""
        local json = require("dkjson")
        local open = ("["):rep({depth})
        local v, pos, msg = json.decode(open)
        local t = json.decode(open .. ("]"):rep({depth}))
        local n = 0
        while t[1] do t, n = t[1], n + 1 end
        return v, pos, msg, n
    """) == (None, depth + 1, f"unterminated array at line 1, column {depth}", depth - 1)


def test_unreachable_metatables_are_reused():
    # The point of the cache: a plugin decoding one document per call makes
    # no new metatables once its previous results are garbage.
    lua = LuaRuntime()
    decode = lua.eval("function(s) local t = require('dkjson').decode(s) return t.a[1] end")._function
    metatables = set()
    for _ in range(5):
        assert lua.call_raw(decode, ['{"a":[7]}']) == (7,)
        state = lua.eval("require('dkjson').decode")._function.call
        cache = dict(zip(state.__code__.co_freevars, state.__closure__))["metas"].cell_contents
        metatables.add((id(cache[0]), id(cache[1])))
    assert len(metatables) == 1


def test_deep_nesting_never_reaches_the_c_scanner_even_with_a_raised_recursion_limit():
    # CPython's C scanner recurses on the C stack, bounded only by the
    # process's recursion limit, which a deep-stack runtime raises to
    # millions: 100,000 levels would crash the host (a segfault, found by
    # the red team).  Run in a child: a crash must not take the tests along.
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", """if True:
        from luapy import LuaRuntime
        from luapy.runtime import stack
        stack.raise_recursion_limit(stack.DEEP_RECURSION_LIMIT)
        lua = LuaRuntime()
        print(lua.execute('local t = require("dkjson").decode(("["):rep(100000) .. ("]"):rep(100000)) '
                          'local depth = 0 while type(t) == "table" do depth = depth + 1 t = t[1] end '
                          'return depth'))
        """], capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.split() == ["100000"]


def test_a_shallow_document_with_many_containers_decodes_the_same():
    from luapy.stdlib import dkjson

    text = "[" + ", ".join('{"a": [1, {"b": null}], "s": "[[{{"}' for _ in range(300)) + "]"
    assert not dkjson._nests_deeper(text, 0, dkjson.C_SCANNER_MAX_NESTING)
    assert dkjson._nests_deeper("[" * 401 + "]" * 401, 0, 400)
    assert not dkjson._nests_deeper('["' + "[" * 1000 + '"]', 0, 400)   # in a string
    lua = LuaRuntime()
    lua.globals()["text"] = text
    assert lua.execute('local t = require("dkjson").decode(text) return #t, t[300].a[2].b, t[1].s') == \
        (300, None, "[[{{")


# ------------------------------------------- one decode's arguments, not the next's


def test_a_null_value_given_to_one_decode_is_not_kept_for_the_next():
    # The scanner for the default metatables reads the null value from its
    # context only while the call that gave it runs.
    lua = LuaRuntime()
    assert lua.execute("""
        local json = require("dkjson")
        local a = json.decode('[null,1]', 1, json.null)
        local b = json.decode('[null,1]')
        local c = json.decode('{"k":null,"l":[null]}', 1, "N")
        local d = json.decode('{"k":null,"l":[null]}')
        return a[1] == json.null, b[1], b[2], c.k, c.l[1], d.k, d.l[1],
               getmetatable(a).__jsontype, getmetatable(d).__jsontype
    """) == (True, None, 1, "N", "N", None, None, "array", "object")


def test_metatable_arguments_count_even_when_nil(real, ours):
    # dkjson's optionalmetatables: select("#", ...) > 0 means the caller's
    # metatables, nil ones included (tables without a metatable).
    for text in [b'{"a":[1,{"b":null}]}', b"[[],{}]"]:
        for extra in [(), (None,), (None, None), (None, None, None)]:
            assert ours(text, 1, None, *extra) == real(text, 1, None, *extra), extra


# ------------------------------------------------------------ memory charges


def _charged(text: str, pos=None) -> int:
    from luapy.options import Options
    from luapy.runtime.state import State
    from luapy.stdlib import dkjson

    st = State(Options(limits=Limits(steps=None, time=None)))
    outermost = st.enter()
    try:
        decode = dkjson.open_library(st).get("decode").call
        before = st.memory_left
        result = decode(text, pos)
        assert result[0] is not None, result
        return before - st.memory_left
    finally:
        st.leave(outermost)


def test_a_small_document_is_charged_by_the_byte_and_the_table():
    from luapy.stdlib import dkjson

    text = '{"a":["x","y",{"b":"z"}],"c":{}}'
    assert _charged(text) == (len(text) * dkjson.MEMORY_PER_SMALL_DOCUMENT_BYTE
                              + 4 * dkjson.MEMORY_PER_TABLE)
    big = "[" + ",".join(['{"k":"v"}'] * 8000) + "]"
    assert len(big) > dkjson.SMALL_DOCUMENT
    assert _charged(big) == (len(big) * dkjson.MEMORY_PER_INPUT_BYTE + 8001 * dkjson.MEMORY_PER_TABLE
                             + 16000 * dkjson.MEMORY_PER_STRING)


def test_a_small_document_counts_its_tables_from_its_start():
    # Every '{' and '[' from the start position on (those in strings too),
    # none before it; a text without any '[' counts its objects alone.
    from luapy.stdlib import dkjson

    per_byte, per_table = dkjson.MEMORY_PER_SMALL_DOCUMENT_BYTE, dkjson.MEMORY_PER_TABLE
    text = '[[{ {"a":[{"s":"[{"}, [], {}]}'
    start = text.index('{"a"')
    assert _charged(text, start + 1) == (len(text) - start) * per_byte + 7 * per_table
    objects = '{"a":{"b":{}},"c":"{"}'
    assert _charged(objects) == len(objects) * per_byte + 4 * per_table
    shallow = "[" + ",".join(["[]"] * 500) + "]"  # 501 tables, nesting 2: the C scanner's
    assert _charged(shallow) == len(shallow) * per_byte + 501 * per_table


def _built_and_charged(text: str, memory) -> tuple[int, int]:
    """Bytes of Python objects decoding ``text`` builds (``tracemalloc``),
    and bytes the decode charged to the memory budget."""
    import gc
    import tracemalloc

    from luapy.options import Options
    from luapy.runtime.state import State
    from luapy.stdlib import dkjson

    st = State(Options(limits=Limits(steps=None, time=None, memory=memory)))
    st.enter()
    decode = dkjson.open_library(st).get("decode").call
    before = st.memory_left
    gc.collect()
    tracemalloc.start()
    try:
        result = decode(text)
        built = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert result[1] == len(text) + 1
    return built, before - st.memory_left


@pytest.mark.parametrize("item", ['"ab"', '"\xc3\xa9"', '"\xc3\xa9\xc3\xa9"', "1.5", "{}", "[]", "true",
                                  '{"\xc3\xa9":"\xc3\xa9"}'])
def test_what_a_small_document_builds_stays_within_its_charge(item):
    from luapy.stdlib import dkjson

    text = "[" + ",".join([item] * ((dkjson.SMALL_DOCUMENT - 2) // (len(item) + 1))) + "]"
    assert len(text) <= dkjson.SMALL_DOCUMENT
    built, charged = _built_and_charged(text, Limits().memory)
    assert built <= charged


@pytest.mark.parametrize("item", ["-9", "257", "1e5", "1.5", '"ab"', "{}", "[]", "true"])
def test_what_a_large_document_builds_stays_within_its_charge(item):
    # Past SMALL_DOCUMENT the charge is per byte, table and string: small
    # negative integers (no cached int object) are the densest per byte.
    from luapy.stdlib import dkjson

    text = "[" + ",".join([item] * (4 * dkjson.SMALL_DOCUMENT // (len(item) + 1))) + "]"
    built, charged = _built_and_charged(text, None)
    assert built <= charged
