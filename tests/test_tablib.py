"""The table library: unit tests on the builtins, cross-checked with lua5.4 (lupa)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as hs

from luapy.errors import LuaError, LuaLimitError
from luapy.options import Options
from luapy.runtime.state import State
from luapy.runtime.values import Function, Table
from luapy.stdlib import tablib
from tests.stdlib_support import error_of


def new_lib(**limits):
    options = Options().with_limits(**limits) if limits else Options()
    st = State(options)
    st.enter()
    return st, tablib.open_library(st)


@pytest.fixture
def tab():
    st, lib = new_lib()

    def call(name, *args):
        return lib.get(name).call(*args)
    call.st = st
    return call


def seq(*values) -> Table:
    t = Table()
    for i, v in enumerate(values, 1):
        t.set(i, v)
    return t


def items(t: Table, n=None):
    n = len(t.arr) if n is None else n
    return [t.get(i) for i in range(1, n + 1)]


# ------------------------------------------------------------------ insert


def test_insert_appends_and_shifts(tab):
    t = seq(1, 2, 3)
    assert tab("insert", t, 4) == ()
    assert items(t) == [1, 2, 3, 4]
    tab("insert", t, 1, 0)
    assert items(t) == [0, 1, 2, 3, 4]
    tab("insert", t, 3, "x")
    assert items(t) == [0, 1, "x", 2, 3, 4]
    tab("insert", t, 7, "end")  # #t + 1 is allowed
    assert items(t) == [0, 1, "x", 2, 3, 4, "end"]


def test_insert_migrates_hash_keys_after_shift(tab):
    t = seq(1, 2)
    t.set(4, "four")  # lives in the hash part
    tab("insert", t, 1, 0)  # t[3] becomes 2, so t[4] joins the sequence
    assert items(t, 4) == [0, 1, 2, "four"]
    assert t.length() == 4


def test_insert_errors(tab, reference):
    t = seq(1, 2)
    assert error_of(tab, "insert", t, 4, "x") == \
        "bad argument #2 to 'insert' (position out of bounds)"
    assert error_of(tab, "insert", t, 0, "x") == \
        "bad argument #2 to 'insert' (position out of bounds)"
    assert error_of(tab, "insert", t, 1, 2, 3) == "wrong number of arguments to 'insert'"
    assert error_of(tab, "insert", t) == "wrong number of arguments to 'insert'"
    assert error_of(tab, "insert", None, 1) == \
        "bad argument #1 to 'insert' (table expected, got nil)"
    assert error_of(tab, "insert", t, 1.5, 1) == \
        "bad argument #2 to 'insert' (number has no integer representation)"
    # lupa names the function 'table.insert' because pcall hides the call
    # site; the message is otherwise identical.
    assert reference.execute("return select(2, pcall(table.insert, {1,2}, 4, 'x'))") == \
        "bad argument #2 to 'table.insert' (position out of bounds)"


def test_insert_nil_value_in_middle(tab, reference):
    t = seq(1, 2, 3)
    tab("insert", t, 2, None)
    assert items(t, 4) == [1, None, 2, 3]
    assert reference.execute("local t = {1,2,3}; table.insert(t, 2, nil); return t[1], t[2], t[3], t[4]") \
        == (1, None, 2, 3)


# ------------------------------------------------------------------ remove


def test_remove_edges(tab, reference):
    t = seq(1, 2, 3)
    assert tab("remove", t) == (3,)
    assert items(t) == [1, 2]
    assert tab("remove", t, 1) == (1,)
    assert items(t) == [2]
    assert tab("remove", t, 2) == (None,)  # #t + 1 is allowed
    assert tab("remove", Table()) == (None,)
    assert tab("remove", Table(), 0) == (None,)  # pos == size: not validated
    assert error_of(tab, "remove", Table(), 2) == \
        "bad argument #2 to 'remove' (position out of bounds)"
    assert error_of(tab, "remove", seq(1), -1) == \
        "bad argument #2 to 'remove' (position out of bounds)"
    assert reference.execute("return select(2, pcall(table.remove, {}, 2))") == \
        "bad argument #2 to 'table.remove' (position out of bounds)"
    assert reference.execute("local t = {1,2,3}; return table.remove(t, 4), #t") == (None, 3)


def test_remove_keeps_border_with_holes(tab):
    t = Table([1, None, 3])
    assert tab("remove", t, 3) == (3,)
    assert t.length() in (0, 1)
    assert t.get(1) == 1


# -------------------------------------------------------------------- move


def test_move_overlapping_and_other_table(tab, reference):
    t = seq(1, 2, 3, 4, 5)
    assert tab("move", t, 1, 3, 2) == (t,)
    assert items(t) == [1, 1, 2, 3, 5]
    t = seq(1, 2, 3, 4, 5)
    tab("move", t, 2, 5, 1)
    assert items(t) == [2, 3, 4, 5, 5]
    dest = Table()
    assert tab("move", seq("a", "b"), 1, 2, 3, dest) == (dest,)
    assert [dest.get(i) for i in range(1, 5)] == [None, None, "a", "b"]
    # same table passed as destination: must still copy backwards
    t = seq(1, 2, 3, 4, 5)
    tab("move", t, 1, 3, 2, t)
    assert items(t) == [1, 1, 2, 3, 5]
    assert reference.execute("local t = {1,2,3,4,5}; table.move(t, 1, 3, 2, t); return table.concat(t, ',')") \
        == "1,1,2,3,5"


def test_move_errors(tab):
    big = 0x7FFFFFFFFFFFFFFF
    assert error_of(tab, "move", Table(), -1, big, 1) == \
        "bad argument #3 to 'move' (too many elements to move)"
    assert error_of(tab, "move", Table(), 1, 10, big) == \
        "bad argument #4 to 'move' (destination wrap around)"
    assert error_of(tab, "move", Table(), 1, 2) == \
        "bad argument #4 to 'move' (number expected, got no value)"
    assert error_of(tab, "move", Table(), 1, 2, 3, 5) == \
        "bad argument #5 to 'move' (table expected, got number)"
    t = seq(1)
    assert tab("move", t, 3, 1, 1) == (t,)  # empty range: nothing moves
    assert items(t) == [1]


# ------------------------------------------------------------------ concat


def test_concat(tab, reference):
    assert tab("concat", seq("a", "b", "c")) == ("abc",)
    assert tab("concat", seq(1, 2.0, "x"), ", ") == ("1, 2.0, x",)
    assert tab("concat", seq("a", "b", "c"), "-", 2) == ("b-c",)
    assert tab("concat", seq("a", "b", "c"), "-", 2, 2) == ("b",)
    assert tab("concat", seq("a", "b", "c"), "-", 3, 2) == ("",)
    assert tab("concat", Table()) == ("",)
    assert reference.execute("return table.concat({1, 2.0, 'x'}, ', ')") == "1, 2.0, x"


def test_concat_errors(tab, reference):
    message = "invalid value (table) at index 2 in table for 'concat'"
    assert error_of(tab, "concat", seq(1, Table())) == message
    assert reference.execute("return select(2, pcall(table.concat, {1, {}}))") == message
    assert error_of(tab, "concat", seq("a"), "", 1, 2) == \
        "invalid value (nil) at index 2 in table for 'concat'"
    assert error_of(tab, "concat", seq("a"), {}) == \
        "bad argument #2 to 'concat' (string expected, got userdata)"


def test_concat_charges_memory_before_building():
    st, lib = new_lib(memory=10_000)
    piece = "x" * 1000
    t = Table([piece] * 100)
    with pytest.raises(LuaLimitError):
        lib.get("concat").call(t)


# ------------------------------------------------------------ pack/unpack


def test_pack(tab):
    (t,) = tab("pack", 1, None, 3, None)
    assert t.get("n") == 4
    assert [t.get(i) for i in range(1, 5)] == [1, None, 3, None]
    (t,) = tab("pack")
    assert t.get("n") == 0 and t.length() == 0


def test_unpack(tab, reference):
    assert tab("unpack", seq(1, 2, 3)) == (1, 2, 3)
    assert tab("unpack", seq(1, 2, 3), 2) == (2, 3)
    assert tab("unpack", seq(1, 2, 3), -1, 1) == (None, None, 1)
    assert reference.execute("return table.unpack({1,2,3}, -1, 1)") == (None, None, 1)
    assert tab("unpack", seq(1, 2, 3), 3, 2) == ()
    assert error_of(tab, "unpack", None) == "attempt to get length of a nil value"
    assert error_of(tab, "unpack", Table(), 1, 1e8) == "too many results to unpack"
    assert error_of(tab, "unpack", Table(), 1, tablib.MAX_UNPACK + 1) == \
        "too many results to unpack"
    assert error_of(tab, "unpack", Table(), -0x8000000000000000, 0x7FFFFFFFFFFFFFFF) == \
        "too many results to unpack"
    assert reference.execute("return select(2, pcall(table.unpack, {}, 1, 1e8))") == \
        "too many results to unpack"


def test_unpack_checks_memory_budget_before_allocating():
    st, lib = new_lib(memory=100_000)
    with pytest.raises(LuaLimitError):
        lib.get("unpack").call(Table(), 1, 900_000)


# --------------------------------------------------------- metamethods


def test_functions_honour_metamethods(tab):
    st = tab.st
    store = {}
    proxy = Table()
    meta = Table()

    def index(t, k):
        return (store.get(k),)

    def newindex(t, k, v):
        store[k] = v
        return ()
    meta.set("__index", Function(index))
    meta.set("__newindex", Function(newindex))
    meta.set("__len", Function(lambda t, _t: (len(store),)))
    proxy.meta = meta
    tab("insert", proxy, "a")
    tab("insert", proxy, "b")
    tab("insert", proxy, 1, "z")
    assert store == {1: "z", 2: "a", 3: "b"}
    assert tab("concat", proxy, ",") == ("z,a,b",)
    assert tab("unpack", proxy) == ("z", "a", "b")
    tab("sort", proxy)
    assert store == {1: "a", 2: "b", 3: "z"}
    assert tab("remove", proxy, 1) == ("a",)
    assert store == {1: "b", 2: "z", 3: None}
    assert st is not None


def test_non_integer_len_is_rejected(tab):
    t = Table()
    meta = Table()
    meta.set("__len", Function(lambda t, _t: ("x",)))
    t.meta = meta
    assert error_of(tab, "insert", t, 1) == "object length is not an integer"
    meta.set("__len", Function(lambda t, _t: (2.5,)))
    assert error_of(tab, "insert", t, 1) == "object length is not an integer"
    # lua_tointegerx accepts numeric strings and integral floats
    meta.set("__len", Function(lambda t, _t: ("2",)))
    meta.set("__index", Function(lambda t, k: (k * 10,)))
    assert tab("unpack", t) == (10, 20)
    meta.set("__len", Function(lambda t, _t: (3.0,)))
    assert tab("unpack", t) == (10, 20, 30)


# -------------------------------------------------------------------- sort


def test_sort_default_and_comparator(tab):
    t = seq(5, 2, 8, 1, 9, 3)
    tab("sort", t)
    assert items(t) == [1, 2, 3, 5, 8, 9]
    tab("sort", t, Function(lambda a, b: (a > b,)))
    assert items(t) == [9, 8, 5, 3, 2, 1]
    t = seq("b", "a", "c")
    tab("sort", t)
    assert items(t) == ["a", "b", "c"]


def test_sort_errors(tab, reference):
    assert error_of(tab, "sort", seq(1, "x")) == "attempt to compare string with number"
    assert error_of(tab, "sort", seq(1, 2), 5) == \
        "bad argument #2 to 'sort' (function expected, got number)"
    assert tab("sort", Table(), 5) == ()  # no check for fewer than 2 elements
    assert error_of(tab, "sort", Table([1, None, 3])) in (
        "attempt to compare nil with number", "attempt to compare number with nil")
    assert reference.execute("return select(2, pcall(table.sort, {1, 'x'}))") == \
        "attempt to compare string with number"


def test_sort_comparator_that_clears_the_table(tab):
    t = seq(*range(20, 0, -1))

    def clearing(a, b):
        t.arr.clear()
        return (True,)
    with pytest.raises(LuaError) as info:
        tab("sort", t, Function(clearing))
    assert info.value.value in ("invalid order function for sorting",
                                "attempt to compare nil with nil")


def test_sort_always_true_comparator_matches_lua(tab, reference):
    values = list(range(1, 11))
    t = seq(*values)
    got = error_of(tab, "sort", t, Function(lambda a, b: (True,)))
    expected = reference.execute(
        "local t = {1,2,3,4,5,6,7,8,9,10}; return select(2, pcall(table.sort, t, function() return true end))")
    assert got == expected == "invalid order function for sorting"


def _lua_sort(reference, values, answers):
    """Sort ``values`` in lua5.4 with a comparator replaying ``answers``."""
    code = """
    local values, answers = ...
    local t, seq = {}, {}
    for i = 1, #values do t[i] = values[i] end
    for i = 1, #answers do seq[i] = answers[i] end
    local k = 0
    local ok, err = pcall(table.sort, t, function(a, b)
        k = k + 1
        return seq[(k - 1) % #seq + 1]
    end)
    local out = {}
    for i = 1, #values do out[i] = t[i] end
    return ok, err, k, table.concat(out, ",")
    """
    fn = reference.eval("function(...) " + code + " end")
    return fn(reference.table_from(values), reference.table_from(answers))


@settings(max_examples=60, deadline=None)
@given(values=hs.lists(hs.integers(-50, 50), min_size=0, max_size=90),
       answers=hs.lists(hs.booleans(), min_size=1, max_size=12))
def test_sort_call_sequence_matches_lua_for_any_comparator(reference, values, answers):
    """Replaying the same answers must give lua5.4's order, count and error."""
    st, lib = new_lib()
    t = seq(*values)
    calls = [0]

    def comparator(a, b):
        calls[0] += 1
        return (answers[(calls[0] - 1) % len(answers)],)
    try:
        lib.get("sort").call(t, Function(comparator))
        ok, err = True, None
    except LuaError as error:
        ok, err = False, error.value
    mine = (ok, err, calls[0], ",".join(str(t.get(i)) for i in range(1, len(values) + 1)))
    assert mine == tuple(_lua_sort(reference, values, answers))


@settings(max_examples=40, deadline=None)
@given(hs.lists(hs.integers(-1000, 1000), max_size=400))
def test_sort_matches_sorted(values):
    st, lib = new_lib()
    t = seq(*values)
    lib.get("sort").call(t)
    assert items(t, len(values)) == sorted(values)


def test_sort_of_equal_but_distinct_values_matches_lua(tab, reference):
    """1 and 1.0 compare equal yet differ, so their final order is observable."""
    values = [1.0, 1, 2, 1.0, 1, 0.0, -0.0, 0, 3, 1, 1.0] * 3
    t = seq(*values)
    tab("sort", t)
    mine = ",".join(f"{'int' if type(v) is int else 'float'}:{v:.1f}" for v in items(t))
    theirs = reference.execute("""
        local t = {1.0, 1, 2, 1.0, 1, 0.0, -0.0, 0, 3, 1, 1.0}
        local all = {}
        for _ = 1, 3 do for _, v in ipairs(t) do all[#all + 1] = v end end
        table.sort(all)
        for i, v in ipairs(all) do
            all[i] = (math.type(v) == 'integer' and 'int:' or 'float:') .. string.format('%.1f', v)
        end
        return table.concat(all, ',')
    """)
    assert mine == theirs


def test_sort_charges_steps():
    st, lib = new_lib(steps=500)
    t = seq(*range(1000, 0, -1))
    with pytest.raises(LuaLimitError):
        lib.get("sort").call(t)


def test_insert_charges_memory_per_slot():
    st, lib = new_lib(memory=1000)
    t = Table()
    with pytest.raises(LuaLimitError):
        for i in range(100):
            lib.get("insert").call(t, i)


# ------------------------------------------------------ through the interpreter
# (Scripts compared with lua5.4 line by line: tests/lua/lib/table/*.lua.)

def test_memory_limit_escapes_pcall():
    from luapy import LuaRuntime
    from luapy.options import Limits
    rt = LuaRuntime(limits=Limits(memory=200_000))
    with pytest.raises(LuaLimitError):
        rt.execute("local t = {} for i = 1, 1000 do t[i] = ('x'):rep(100) end "
                   "return pcall(table.concat, t)")


# ------------------------------------- insert/remove/move sequences vs lua5.4

_operation = hs.one_of(
    hs.tuples(hs.just("insert"), hs.integers(0, 99)),
    hs.tuples(hs.just("insert_at"), hs.integers(-1, 12), hs.integers(0, 99)),
    hs.tuples(hs.just("remove")),
    hs.tuples(hs.just("remove_at"), hs.integers(-1, 12)),
    hs.tuples(hs.just("move"), hs.integers(-2, 8), hs.integers(-2, 8), hs.integers(-2, 10)),
)

_LUA_REPLAY = """function(ops)
    local t, log = {}, {}
    for _, op in ipairs(ops) do
        local kind = op[1]
        local ok, r
        if kind == 'insert' then ok, r = pcall(table.insert, t, op[2])
        elseif kind == 'insert_at' then ok, r = pcall(table.insert, t, op[2], op[3])
        elseif kind == 'remove' then ok, r = pcall(table.remove, t)
        elseif kind == 'remove_at' then ok, r = pcall(table.remove, t, op[2])
        else ok, r = pcall(table.move, t, op[2], op[3], op[4]); if ok then r = 'same' end end
        log[#log + 1] = tostring(ok) .. ':' .. tostring(r)
        local n = 0
        for _ in pairs(t) do n = n + 1 end
        for i = 1, n do if t[i] == nil then n = -1 break end end
        if n < 0 then log[#log + 1] = 'holes' break end
    end
    local cells = {}
    for i = -2, 14 do cells[#cells + 1] = tostring(t[i]) end
    return table.concat(log, ' ') .. ' | ' .. table.concat(cells, ',')
end"""


@settings(max_examples=80, deadline=None)
@given(hs.lists(_operation, max_size=14))
def test_insert_remove_move_sequences_match_lua(reference, operations):
    st, lib = new_lib()
    t = Table()
    log = []
    for op in operations:
        kind = op[0]
        name, args = {"insert": ("insert", op[1:]), "insert_at": ("insert", op[1:]),
                      "remove": ("remove", ()), "remove_at": ("remove", op[1:]),
                      "move": ("move", op[1:])}[kind]
        try:
            results = lib.get(name).call(t, *args)
            value = "same" if kind == "move" else (results[0] if results else None)
            log.append("true:" + ("nil" if value is None else str(value)))
        except LuaError as error:
            log.append("false:" + error.value.replace(f"'{name}'", f"'table.{name}'"))
        keys = sorted(k for k, _ in t.iter_items())
        if keys != list(range(1, len(keys) + 1)):
            # With holes, '#t' may be any border: lua5.4's choice depends on
            # its array sizing, so the sequences stop being comparable.
            log.append("holes")
            break
    cells = ",".join("nil" if t.get(i) is None else str(t.get(i)) for i in range(-2, 15))
    mine = " ".join(log) + " | " + cells
    theirs = reference.eval(_LUA_REPLAY)(reference.table_from([reference.table_from(list(op)) for op in operations]))
    assert mine == theirs


SORT_NAMING_CASES = [
    # errors.lua:356: the comparator call comes from C, so no call-site name
    "table.sort({1,2,3}, table.sort)",
    "table.sort({1,2,3}, table.insert)",
    # called from Lua: named after the call site, with a position
    "table.sort(1)",
    "local s = table.sort; s(1)",
]


@pytest.mark.parametrize("source", SORT_NAMING_CASES)
def test_a_builtin_called_by_sort_is_named_like_lua(reference, source):
    from luapy import LuaRuntime
    program = f"return pcall(load({source!r}))"
    ours = LuaRuntime().execute(program)
    assert ours == reference.execute(program)
    assert ours[0] is False and "bad argument #1 to '" in ours[1]
