"""The math library: unit tests on the builtins, cross-checked with lua5.4 (lupa)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as hs

from luapy.options import Options
from luapy.runtime.state import State
from luapy.runtime.values import MAXINT, MININT, number_to_str
from luapy.stdlib import mathlib
from tests.stdlib_support import error_of, library_caller


@pytest.fixture
def m():
    return library_caller(mathlib)


def typed(values):
    """Results with their Lua subtype, so 3 and 3.0 differ."""
    kinds = {int: "int", float: "float", str: "string", bool: "boolean", type(None): "nil"}
    return [(kinds[type(v)], number_to_str(v) if type(v) in (int, float) else
             ("nil" if v is None else str(v).lower() if type(v) is bool else v))
            for v in values]


def lua_typed(reference, expr):
    """Evaluate ``expr`` in lua5.4 and describe each result like ``typed``."""
    fn = reference.eval("""function(...)
        local out = {}
        for i = 1, select('#', ...) do
            local v = select(i, ...)
            local kind = math.type(v)
            out[i] = (kind == 'integer' and 'int' or kind == 'float' and 'float' or type(v))
                .. '|' .. tostring(v)
        end
        return table.concat(out, ';')
    end""")
    return reference.execute(f"local f = ...; return f({expr})", fn)


def my_typed(values):
    return ";".join(f"{kind}|{text}" for kind, text in typed(values))


# Expressions evaluated in both: (lua expression, (function, args)).
CASES = [
    ("math.floor(3.7)", ("floor", 3.7)),
    ("math.floor(-3.7)", ("floor", -3.7)),
    ("math.floor(2^70)", ("floor", 2.0 ** 70)),
    ("math.floor(-0.0)", ("floor", -0.0)),
    ("math.floor(5)", ("floor", 5)),
    ("math.floor('3.5')", ("floor", "3.5")),
    ("math.ceil(3.2)", ("ceil", 3.2)),
    ("math.ceil(-3.2)", ("ceil", -3.2)),
    ("math.ceil(-0.5)", ("ceil", -0.5)),
    ("math.ceil(1/0)", ("ceil", math.inf)),
    ("math.modf(3.7)", ("modf", 3.7)),
    ("math.modf(-3.7)", ("modf", -3.7)),
    ("math.modf(5)", ("modf", 5)),
    ("math.modf(1/0)", ("modf", math.inf)),
    ("math.modf(-1/0)", ("modf", -math.inf)),
    ("math.modf(2^63)", ("modf", 2.0 ** 63)),
    ("math.abs(-3)", ("abs", -3)),
    ("math.abs(-3.5)", ("abs", -3.5)),
    ("math.abs('-3')", ("abs", "-3")),
    ("math.abs(math.mininteger)", ("abs", MININT)),
    ("math.fmod(7, 3)", ("fmod", 7, 3)),
    ("math.fmod(-6, 4)", ("fmod", -6, 4)),
    ("math.fmod(6, -4)", ("fmod", 6, -4)),
    ("math.fmod(math.mininteger, -1)", ("fmod", MININT, -1)),
    ("math.fmod(7.5, 2)", ("fmod", 7.5, 2)),
    ("math.fmod(-7.5, 2)", ("fmod", -7.5, 2)),
    ("math.fmod(1, 0.0)", ("fmod", 1, 0.0)),
    ("math.fmod(1/0, 1)", ("fmod", math.inf, 1)),
    ("math.fmod(1, 1/0)", ("fmod", 1, math.inf)),
    ("math.sqrt(16)", ("sqrt", 16)),
    ("math.sqrt(-1)", ("sqrt", -1)),
    ("math.sqrt(-0.0)", ("sqrt", -0.0)),
    ("math.exp(1000)", ("exp", 1000)),
    ("math.exp(1)", ("exp", 1)),
    ("math.log(8, 2)", ("log", 8, 2)),
    ("math.log(100, 10)", ("log", 100, 10)),
    ("math.log(27, 3)", ("log", 27, 3)),
    ("math.log(0)", ("log", 0)),
    ("math.log(-1)", ("log", -1)),
    ("math.log(0, 2)", ("log", 0, 2)),
    ("math.log(2, 1)", ("log", 2, 1)),
    ("math.log(1)", ("log", 1)),
    ("math.sin(1/0)", ("sin", math.inf)),
    ("math.cos(0)", ("cos", 0)),
    ("math.tan(1)", ("tan", 1)),
    ("math.asin(2)", ("asin", 2)),
    ("math.acos(0.5)", ("acos", 0.5)),
    ("math.atan(1)", ("atan", 1)),
    ("math.atan(1, -1)", ("atan", 1, -1)),
    ("math.atan(-0.0, -1)", ("atan", -0.0, -1)),
    ("math.deg(math.pi)", ("deg", math.pi)),
    ("math.rad(180)", ("rad", 180)),
    ("math.max(2, 2.0)", ("max", 2, 2.0)),
    ("math.max(2.0, 2)", ("max", 2.0, 2)),
    ("math.max(1, 5, 3)", ("max", 1, 5, 3)),
    ("math.min(1, -5.5, 3)", ("min", 1, -5.5, 3)),
    ("math.max('a', 'b')", ("max", "a", "b")),
    ("math.tointeger(3.0)", ("tointeger", 3.0)),
    ("math.tointeger(3.5)", ("tointeger", 3.5)),
    ("math.tointeger('8')", ("tointeger", "8")),
    ("math.tointeger('x')", ("tointeger", "x")),
    ("math.tointeger(2^63)", ("tointeger", 2.0 ** 63)),
    ("math.type(1)", ("type", 1)),
    ("math.type(1.0)", ("type", 1.0)),
    ("math.type('1')", ("type", "1")),
    ("math.ult(1, -1)", ("ult", 1, -1)),
    ("math.ult(-1, 1)", ("ult", -1, 1)),
]


@pytest.mark.parametrize("expr,call", CASES, ids=[c[0] for c in CASES])
def test_matches_lua(m, reference, expr, call):
    assert my_typed(m(*call)) == lua_typed(reference, expr)


def test_constants(m):
    lib = m.lib
    assert lib.get("pi") == math.pi
    assert lib.get("huge") == math.inf
    assert lib.get("maxinteger") == MAXINT
    assert lib.get("mininteger") == MININT


ERRORS = [
    ("fmod", (1, 0), "bad argument #2 to 'fmod' (zero)"),
    ("floor", ("x",), "bad argument #1 to 'floor' (number expected, got string)"),
    ("floor", (), "bad argument #1 to 'floor' (number expected, got no value)"),
    ("max", (), "bad argument #1 to 'max' (value expected)"),
    ("min", (), "bad argument #1 to 'min' (value expected)"),
    ("max", (1, "x"), "attempt to compare number with string"),
    ("tointeger", (), "bad argument #1 to 'tointeger' (value expected)"),
    ("type", (), "bad argument #1 to 'type' (value expected)"),
    ("ult", (1.5, 1), "bad argument #1 to 'ult' (number has no integer representation)"),
    ("random", (1, 2, 3), "wrong number of arguments"),
    ("random", (3, 1), "bad argument #1 to 'random' (interval is empty)"),
    ("random", (1.5,), "bad argument #1 to 'random' (number has no integer representation)"),
    ("randomseed", (1.5,), "bad argument #1 to 'randomseed' (number has no integer representation)"),
    ("log", (1, "b"), "bad argument #2 to 'log' (number expected, got string)"),
]


@pytest.mark.parametrize("name,args,message", ERRORS, ids=[e[2] for e in ERRORS])
def test_errors(m, reference, name, args, message):
    assert error_of(m, name, *args) == message
    lua_args = "".join(", " + (repr(a) if isinstance(a, str) else str(a)) for a in args)
    got = reference.execute(f"return select(2, pcall(math.{name}{lua_args}))")
    assert got == message.replace(f"'{name}'", f"'math.{name}'")


def test_random_sequence_matches_lua(m, reference):
    lua_values = reference.execute("""
        local out = {math.randomseed(42)}
        for i = 1, 20 do out[#out + 1] = math.random(1, 100) end
        for i = 1, 5 do out[#out + 1] = math.random() end
        out[#out + 1] = math.random(0)
        out[#out + 1] = math.random(3)
        out[#out + 1] = math.random(-10, 10)
        out[#out + 1] = math.random(math.mininteger, math.maxinteger)
        out[#out + 1] = math.random(0, 2^40)
        out[#out + 1] = math.random(7, 7)
        return table.unpack(out)
    """)
    mine = list(m("randomseed", 42))
    mine += [m("random", 1, 100)[0] for _ in range(20)]
    mine += [m("random")[0] for _ in range(5)]
    mine += [m("random", 0)[0], m("random", 3)[0], m("random", -10, 10)[0],
             m("random", MININT, MAXINT)[0], m("random", 0, 2 ** 40)[0], m("random", 7, 7)[0]]
    assert mine == list(lua_values)


@settings(max_examples=40, deadline=None)
@given(seed=hs.integers(MININT, MAXINT), seed2=hs.integers(MININT, MAXINT),
       low=hs.integers(-10 ** 6, 10 ** 6), span=hs.integers(0, 10 ** 9))
def test_random_matches_lua_for_any_seed(reference, seed, seed2, low, span):
    st = State(Options())
    lib = mathlib.open_library(st)
    assert lib.get("randomseed").call(seed, seed2) == (seed, seed2)
    mine = [lib.get("random").call(low, low + span)[0] for _ in range(3)]
    mine.append(lib.get("random").call()[0])
    theirs = reference.execute(
        f"math.randomseed({seed}, {seed2}); local a, b = {low}, {low + span}; "
        "return math.random(a, b), math.random(a, b), math.random(a, b), math.random()")
    assert mine == list(theirs)


def test_random_range_and_float(m):
    m("randomseed", 7)
    for _ in range(200):
        assert 1 <= m("random", 6)[0] <= 6
        x = m("random")[0]
        assert type(x) is float and 0.0 <= x < 1.0


def test_randomseed_without_arguments_returns_the_seed(m):
    n1, n2 = m("randomseed")
    first = [m("random", 1000)[0] for _ in range(5)]
    m("randomseed", n1, n2)
    assert [m("random", 1000)[0] for _ in range(5)] == first


def test_runtimes_are_seeded_independently():
    a = mathlib.open_library(State(Options()))
    b = mathlib.open_library(State(Options()))
    seq_a = [a.get("random").call(0)[0] for _ in range(3)]
    seq_b = [b.get("random").call(0)[0] for _ in range(3)]
    assert seq_a != seq_b


@settings(max_examples=100, deadline=None)
@given(hs.floats(allow_nan=True, allow_infinity=True))
def test_floor_ceil_modf_match_lua_for_any_float(reference, x):
    st = State(Options())
    lib = mathlib.open_library(st)
    if x != x:  # lua's 0/0 is a negative NaN
        literal = "(0/0)" if math.copysign(1.0, x) < 0 else "(-(0/0))"
    else:
        literal = repr(x) if math.isfinite(x) else ("(1/0)" if x > 0 else "(-1/0)")
    for name in ("floor", "ceil", "modf", "abs", "sqrt", "exp", "log"):
        mine = my_typed(lib.get(name).call(x))
        assert mine == lua_typed(reference, f"math.{name}({literal})"), name


# Through the interpreter, compared with lua5.4 line by line: see
# tests/lua/lib/math/*.lua
