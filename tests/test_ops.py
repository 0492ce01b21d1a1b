"""``luapy.runtime.ops``, Lua's operators, called directly.

The number kernels (``ARITH``, ``BITWISE``, ``unm``) are run over every pair
of edge values and compared with real Lua 5.4 (lupa), results and error
messages alike.  Dispatch to metamethods, error naming and positions are
covered by the scripts in ``tests/lua/ops/``, which run through the
compiler as well; the tests here pin what ``ops`` does on its own: the
operand it names, chains it stops, conversions it refuses.
"""

from __future__ import annotations

import itertools
import math

import pytest

from luapy.errors import LuaError, OperationError
from luapy.options import Options
from luapy.runtime import ops
from luapy.runtime.state import State
from luapy.runtime.values import MAXINT, MININT, Table

INTEGERS = [0, 1, -1, 2, 3, -3, 7, -7, 2**53 + 1, MAXINT, MININT, MAXINT - 1, MININT + 1]
FLOATS = [0.0, -0.0, 0.5, -2.5, 3.0, 1e308, -1e308, 2.0**63, -(2.0**63),
          math.inf, -math.inf, math.nan]
NUMBERS = INTEGERS + FLOATS
SHIFTS = [-65, -64, -63, -1, 0, 1, 2, 62, 63, 64, 65]


def same_number(x, y) -> bool:
    """Equal in type and value, NaN to NaN and -0.0 apart from 0.0."""
    if type(x) is not type(y):
        return False
    if isinstance(x, float):
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return x == y and math.copysign(1.0, x) == math.copysign(1.0, y)
    return x == y


def luapy_outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except OperationError as error:
        return ("error", str(error.value))


def reference_outcome(reference, op, *args):
    code = f"local a, b = ... return a {op} b" if len(args) == 2 else f"local a = ... return {op}a"
    try:
        return ("ok", reference.execute(code, *args))
    except Exception as error:  # lupa's LuaError: '[string "..."]:1: message'
        message = str(error).split("\nstack traceback:")[0]
        return ("error", message.split(": ", 1)[1])


def disagreements(reference, op, fn, cases):
    found = []
    for args in cases:
        mine = luapy_outcome(fn, *args)
        theirs = reference_outcome(reference, op, *args)
        agree = mine[0] == theirs[0] and (
            same_number(mine[1], theirs[1]) if mine[0] == "ok" else mine[1] == theirs[1])
        if not agree:
            found.append((args, mine, theirs))
    return found


@pytest.mark.parametrize("op", sorted(ops.ARITH))
def test_arithmetic_kernels_agree_with_lua(reference, op):
    cases = list(itertools.product(NUMBERS, NUMBERS))
    assert disagreements(reference, op, ops.ARITH[op], cases) == []


@pytest.mark.parametrize("op", sorted(ops.BITWISE))
def test_bitwise_kernels_agree_with_lua(reference, op):
    operands = INTEGERS + SHIFTS
    cases = list(itertools.product(operands, operands))
    assert disagreements(reference, op, ops.BITWISE[op], cases) == []


def test_unary_minus_agrees_with_lua(reference):
    assert disagreements(reference, "-", ops.unm, [(x,) for x in NUMBERS]) == []


# ----------------------------------------------------- wrap-around, exactly


def test_integer_results_wrap_to_64_bits():
    assert ops.add(MAXINT, 1) == MININT
    assert ops.sub(MININT, 1) == MAXINT
    assert ops.mul(MAXINT, 2) == -2
    assert ops.mul(MININT, -1) == MININT
    assert ops.unm(MININT) == MININT
    assert ops.idiv(MININT, -1) == MININT
    assert ops.mod(MININT, -1) == 0
    assert ops.shl(1, 63) == MININT and ops.shl(1, 64) == 0
    assert ops.shr(-1, 1) == MAXINT and ops.shr(-1, 64) == 0
    for result in (ops.add(MAXINT, MAXINT), ops.mul(MININT, MININT), ops.shl(MAXINT, 1)):
        assert type(result) is int and MININT <= result <= MAXINT


def test_mixed_operands_give_floats():
    assert same_number(ops.add(1, 0.5), 1.5)
    assert same_number(ops.add(MAXINT, 1.0), 2.0**63)
    assert same_number(ops.div(1, 1), 1.0)
    assert same_number(ops.pow_(2, 2), 4.0)
    assert same_number(ops.idiv(7, 2.0), 3.0)
    assert same_number(ops.idiv(-0.0, 1), -0.0)
    assert same_number(ops.mod(-7, 3.0), 2.0)


def test_integer_division_and_modulo_by_zero_are_errors():
    assert luapy_outcome(ops.idiv, 1, 0) == ("error", "attempt to divide by zero")
    assert luapy_outcome(ops.mod, 1, 0) == ("error", "attempt to perform 'n%0'")
    assert same_number(ops.idiv(1, 0.0), math.inf)
    assert math.isnan(ops.mod(1, 0.0))


# ----------------------------------------------------------- conversions


@pytest.mark.parametrize("text, number", [
    ("10", 10), (" 10 ", 10), ("0x10", 16), ("1e2", 100.0), ("10.0", 10.0),
    ("-0x1", -1), ("0x1p4", 16.0), ("9223372036854775808", 2.0**63),
    ("abc", None), ("", None), ("1 2", None), ("0x", None), ("1e", None),
])
def test_tonumber_converts_strings_as_lua_does(text, number):
    result = ops.tonumber(text)
    assert result is None if number is None else same_number(result, number)


@pytest.mark.parametrize("value, integer", [
    (3, 3), (3.0, 3), (-0.0, 0), (2.0**53, 2**53), ("8", 8), ("8.0", 8),
    (3.5, None), (2.0**63, None), (math.inf, None), (math.nan, None), ("8.5", None),
    ("x", None), (True, None), (None, None),
])
def test_tointeger_needs_an_exact_integer(value, integer):
    assert ops.tointeger(value) == integer
    if integer is not None:
        assert type(ops.tointeger(value)) is int


def test_float_and_integer_equality_is_exact():
    assert ops.raw_equals(1, 1.0) and ops.raw_equals(-0.0, 0)
    assert not ops.raw_equals(2**53 + 1, 2.0**53)
    assert not ops.raw_equals(MAXINT, 2.0**63)
    assert not ops.raw_equals("1", 1)
    assert not ops.raw_equals(math.nan, math.nan)
    table = Table()
    assert ops.raw_equals(table, table) and not ops.raw_equals(table, Table())


# ------------------------------------------------- dispatch without metamethods


@pytest.fixture
def st():
    return State(Options())


def error_message(fn, *args) -> str:
    with pytest.raises(LuaError) as info:
        fn(*args)
    return str(info.value.value)


def test_arith_names_the_operand_that_is_not_a_number(st):
    assert error_message(ops.arith, st, "+", 1, None, "local 'a'", "local 'b'") == \
        "attempt to perform arithmetic on a nil value (local 'b')"
    assert error_message(ops.arith, st, "*", Table(), 1, "field 'x'", None) == \
        "attempt to perform arithmetic on a table value (field 'x')"
    assert error_message(ops.arith, st, "|", 1.5, 1, "local 'f'", "constant") == \
        "number (local 'f') has no integer representation"
    assert error_message(ops.arith, st, "&", 1, "3", None, "constant '3'") == \
        "attempt to perform bitwise operation on a string value (constant '3')"


def test_string_operands_convert_or_name_both_types(st):
    assert ops.arith(st, "+", "10", 1) == 11
    assert same_number(ops.arith(st, "/", "1", "2"), 0.5)
    assert error_message(ops.arith, st, "-", "x", 1) == \
        "attempt to sub a 'string' with a 'number'"
    assert error_message(ops.negate, st, "z") == "attempt to unm a 'string' with a 'string'"
    with pytest.raises(LuaError) as info:
        ops.arith(st, "//", "1", "0")
    assert info.value.level == 0  # raised "inside" the string metamethod: no position


def test_comparisons_refuse_mixed_types(st):
    assert ops.less_than(st, 1, 1.5) and ops.less_equal(st, "a", "b")
    assert not ops.less_than(st, 1, math.nan)
    assert error_message(ops.less_than, st, 1, "2") == "attempt to compare number with string"
    assert error_message(ops.less_equal, st, Table(), Table()) == \
        "attempt to compare two table values"
    assert ops.equals(st, 1, 1.0) and not ops.equals(st, "1", 1)
    assert not ops.equals(st, Table(), Table())


def test_concat_converts_numbers_and_names_the_bad_operand(st):
    assert ops.concat(st, 1, 2.0) == "12.0"
    assert ops.concat(st, "x", MININT) == "x-9223372036854775808"
    assert error_message(ops.concat, st, "a", None, "constant", "local 'b'") == \
        "attempt to concatenate a nil value (local 'b')"
    assert error_message(ops.concat, st, Table(), "a", "field 't'", None) == \
        "attempt to concatenate a table value (field 't')"


def test_index_names_the_value_and_stops_a_loop_of_tables(st):
    assert error_message(ops.index, st, 5, "x", "local 'n'") == \
        "attempt to index a number value (local 'n')"
    assert error_message(ops.setindex, st, None, "x", 1, "global 'g'") == \
        "attempt to index a nil value (global 'g')"
    loop = Table()
    loop.meta = Table(hash={"__index": loop, "__newindex": loop})
    assert error_message(ops.index, st, loop, "x") == "'__index' chain too long; possible loop"
    assert error_message(ops.setindex, st, loop, "x", 1) == \
        "'__newindex' chain too long; possible loop"


def test_index_follows_a_chain_of_tables(st):
    chain = [Table() for _ in range(50)]
    for child, parent in zip(chain, chain[1:]):
        child.meta = Table(hash={"__index": parent, "__newindex": parent})
    chain[-1].set("found", "yes")
    assert ops.index(st, chain[0], "found") == "yes"
    ops.setindex(st, chain[0], "new", 1)
    assert chain[-1].get("new") == 1 and chain[0].get("new") is None


def test_length_of_strings_tables_and_others(st):
    assert ops.length(st, "a\0b") == 3
    assert ops.length(st, Table([1, 2, 3])) == 3
    assert error_message(ops.length, st, 5, "local 'n'") == \
        "attempt to get length of a number value (local 'n')"
