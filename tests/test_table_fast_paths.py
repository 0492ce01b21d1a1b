"""The inline table fast paths of a numeric ``for`` (issue #14).

A loop such as ``for i = 1, n do t[i] = i end`` runs ``templates.array_store``
inline, its reads ``templates.index_read``, and its iterations come in
chunks (``helpers.FORCHUNKS``) charged by the loop's own header.  Each test
here breaks if a fast path skips what the slow one does: a metatable set
half-way (by a called function or a debug hook), the array/hash invariants,
the memory and step budgets, 64-bit bounds, error positions.  Programs are
checked against real Lua 5.4 where there is one answer, in both profiles,
in compact code and with every loop hoisted.
"""

from __future__ import annotations

import pytest

import luapy.compile.function
import luapy.compile.statements
from luapy import LuaError, LuaLimitError, LuaRuntime, Options
from luapy.options import UNLIMITED, Limits
from luapy.runtime import helpers
from tests.test_debuglib import execute_in_child


def standard():
    return LuaRuntime(Options(profile="standard", limits=UNLIMITED))


def sandbox():
    return LuaRuntime()


RUNTIMES = {"standard": standard, "sandbox": sandbox}


@pytest.fixture(params=["inline", "compact", "hoisted"])
def form(request, monkeypatch):
    """How loops compile: the usual fast paths, compact code (helpers only),
    or every loop hoisted into a function of its own."""
    if request.param == "compact":
        monkeypatch.setattr(luapy.compile.function, "COMPACT_FUNCTION_SIZE", -1)
    elif request.param == "hoisted":
        monkeypatch.setattr(luapy.compile.statements, "MAX_BLOCKS", 3)
    return request.param


PROGRAMS = {
    # A __newindex set half-way by a called function: every later append
    # (an absent key) goes to it.
    "newindex set by a call": """
        local t, log = {}, {}
        local function arm()
          setmetatable(t, {__newindex = function(tt, k, v) log[#log + 1] = k; rawset(tt, k, v * 10) end})
        end
        for i = 1, 300 do
          if i == 130 then arm() end
          t[i] = i
        end
        return #t, #log, log[1], t[129], t[130], t[300]
    """,
    # A __newindex only sees absent keys: overwriting a present one is raw.
    "overwrite under a metatable": """
        local t, calls = {}, 0
        for i = 1, 200 do t[i] = i end
        setmetatable(t, {__newindex = function(tt, k, v) calls = calls + 1; rawset(tt, k, v) end})
        for i = 1, 200 do t[i] = -i end
        t[100] = nil
        for i = 1, 201 do t[i] = i end
        return calls, #t, t[1], t[100], t[201]
    """,
    # __index set half-way through a read loop, reading holes.
    "index set by a call": """
        local t = {}
        for i = 1, 300 do t[i] = i end
        for i = 2, 300, 2 do t[i] = nil end
        local sum, hits = 0, 0
        for i = 1, 300 do
          if i == 150 then setmetatable(t, {__index = function(_, k) hits = hits + 1; return 0 end}) end
          local v = t[i]
          if v then sum = sum + v end
        end
        return sum, hits
    """,
    # Appending migrates the keys after the array out of the hash part.
    "append migrates hash keys": """
        local t = {[3] = "c", [4] = "d", [70] = "z"}
        for i = 1, 2 do t[i] = i end
        local n = #t
        for i = 5, 69 do t[i] = i end
        local keys = 0
        for k in pairs(t) do keys = keys + 1 end
        return n, #t, keys, t[70]
    """,
    # Keys outside 1..#t+1, nil values, float and string keys.
    "other keys and nil": """
        local t = {}
        for i = -70, 70 do t[i] = i end
        local a = #t
        for i = 70, 31, -1 do t[i] = nil end
        local b = #t
        for i = 1, 100 do t[i * 1.0] = i end
        local c = #t
        for i = 1, 3 do t[tostring(i)] = i end
        for i = 200, 300 do t[i] = i end
        return a, b, c, t[0], t[-70], t["2"], t[2], t[250], t[150]
    """,
    # Filling holes a traversal has stepped over (``next``'s gaps).
    "filling holes next remembers": """
        local t = {}
        for i = 1, 400 do t[i] = i end
        for i = 2, 399 do t[i] = nil end
        local seen, k = 0, next(t)
        while k do seen = seen + 1; k = next(t, k) end
        for i = 3, 399 do t[i] = i end
        local after = 0
        for k, v in pairs(t) do after = after + v end
        local k2 = next(t, 1)  -- from the hole at 2, which is no longer in a run of nils
        return seen, after, k2
    """,
    # Integer wrap-around: a sum that overflows wraps as in lua5.4.
    "sum wraps around": """
        local t = {}
        for i = 1, 100 do t[i] = math.maxinteger // 50 end
        local sum = 0
        for i = 1, #t do sum = sum + t[i] end
        local mixed = 0
        t[50] = 0.5
        for i = 1, #t do mixed = mixed + t[i] end
        return sum, math.type(sum), mixed
    """,
    # Loops at the ends of the integers, downwards, with big steps, floats.
    "loop bounds": """
        local n1, n2, n3, n4, n5, n6 = 0, 0, 0, 0, 0, 0
        for i = math.maxinteger - 200, math.maxinteger do n1 = n1 + 1 end
        for i = math.mininteger + 200, math.mininteger, -1 do n2 = n2 + 1 end
        for i = math.mininteger, math.maxinteger do n3 = n3 + 1; if n3 == 300 then break end end
        for i = 1, math.maxinteger, math.maxinteger // 5 do n4 = n4 + 1 end
        for i = 5000, 1, -7 do n5 = n5 + i end
        for x = 0.5, 150.5 do n6 = n6 + x end
        local last
        for i = 1, 2000 do last = i end
        return n1, n2, n3, n4, n5, n6, last
    """,
    # break and goto out of a chunked loop, and a loop variable captured.
    "jumps and closures": """
        local fs, n = {}, 0
        for i = 1, 1000 do
          if i > 200 then break end
          fs[i] = function() return i end
          n = n + 1
        end
        for i = 1, 1000 do
          if i == 500 then goto out end
          n = n + 1
        end
        ::out::
        return n, fs[1](), fs[65](), fs[200](), #fs
    """,
}


def _results(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


@pytest.mark.parametrize("profile", RUNTIMES)
@pytest.mark.parametrize("name", PROGRAMS)
def test_loops_over_tables_match_lua(name, profile, form, reference):
    source = PROGRAMS[name]
    assert _results(RUNTIMES[profile]().execute(source)) == _results(reference.execute(source))


# Hooks are sys.settrace, which pytest-xdist's workers can't have: these run
# in a child process (``test_debuglib.execute_in_child``).

def test_newindex_set_by_a_line_hook_sees_the_next_stores():
    # A hook may run between any two statements: the store after it must
    # see the metatable it set.
    first = execute_in_child("""
        local t, lines = {}, 0
        debug.sethook(function()
          lines = lines + 1
          if lines == 100 then
            setmetatable(t, {__newindex = function(tt, k, v) rawset(tt, k, -v) end})
          end
        end, "l")
        for i = 1, 300 do
          t[i] = i
        end
        debug.sethook()
        local first
        for i = 1, 300 do
          if t[i] ~= i then first = i break end
        end
        for i = first, 300 do assert(t[i] == -i, i) end
        return first
    """)
    assert 1 < int(first) < 300


def test_index_set_by_a_count_hook_sees_the_next_reads():
    first = execute_in_child("""
        local t, counts = {}, 0
        for i = 1, 300 do t[i] = i end
        for i = 1, 300, 2 do t[i] = nil end
        local got = {}
        debug.sethook(function()
          counts = counts + 1
          if counts == 200 then setmetatable(t, {__index = function(_, k) return -k end}) end
        end, "", 1)
        for i = 1, 300 do got[i] = t[i] or false end
        debug.sethook()
        local first
        for i = 1, 300, 2 do
          if got[i] then first = i break end
        end
        for i = first, 300 do assert(got[i] == (i % 2 == 1 and -i or i), i) end
        return first
    """)
    assert 1 < int(first) < 300


# -- budgets ----------------------------------------------------------------------

@pytest.mark.parametrize("count, trips", [(20_000, False), (40_000, True)])
def test_appends_are_charged_to_the_memory_budget(count, trips, form):
    # 64 bytes a slot (ops.SLOT_COST): 20,000 appends are 1.28 MB, 40,000
    # are 2.56 MB, against 2 MB.  Charging fewer would let both through.
    lua = LuaRuntime(limits=Limits(memory=2_000_000))
    source = f"local t = {{}} for i = 1, {count} do t[i] = i end return #t"
    if trips:
        with pytest.raises(LuaLimitError) as caught:
            lua.execute(source)
        assert caught.value.limit == "memory"
        assert str(caught.value).startswith("(execute):1: memory budget exhausted")
    else:
        assert lua.execute(source) == count


def test_small_tables_filled_by_appends_are_charged(form):
    # Tables that never reach 64 entries: a block of 64 slots is charged as
    # it is opened (key 1), so they are not free.  What is built stays
    # within the budget (it was 10 times the budget when the 64th append
    # paid for the block).
    import tracemalloc
    lua = LuaRuntime(limits=Limits(memory=4 << 20, time=None, steps=None))
    tracemalloc.start()
    try:
        with pytest.raises(LuaLimitError) as caught:
            lua.execute("T = {} for i = 1, 1e9 do local t = {} for j = 1, 63 do t[j] = -j end T[i] = t end")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.limit == "memory"
    assert peak < 6 << 20


def test_a_long_fill_stops_on_the_step_budget(form):
    lua = LuaRuntime(limits=Limits(steps=100_000, time=None))
    with pytest.raises(LuaLimitError) as caught:
        lua.execute("local t = {}\nfor i = 1, 1e9 do\n t[i] = i % 7\nend")
    assert caught.value.limit == "steps"
    assert str(caught.value).startswith("(execute):2: step budget exhausted")


def test_a_loop_is_charged_its_iterations_and_no_more_than_a_chunk_beyond():
    lua = LuaRuntime(limits=Limits(steps=10_000, time=None))
    # 9,000 iterations fit in 10,000 steps, 10,100 do not.
    assert lua.execute("local n = 0 for i = 1, 9000 do n = n + 1 end return n") == 9000
    with pytest.raises(LuaLimitError):
        lua.execute("local n = 0 for i = 1, 10100 do n = n + 1 end return n")
    # A loop that breaks early is charged at most the chunk it was in: 100
    # times 64 steps fit, 200 times do not.
    loops = "local n = 0 for k = 1, {} do for i = 1, 1e9 do n = n + 1 break end end return n"
    assert lua.execute(loops.format(100)) == 100
    with pytest.raises(LuaLimitError):
        lua.execute(loops.format(200))


@pytest.mark.parametrize("inner", ["for i = 1, 10 do end", "for x = 0.5, 10 do end",
                                   "for x = 0.5, 74 do end"])
def test_a_short_loop_or_last_float_chunk_is_charged_its_iterations(inner):
    # 500 outer iterations (8 chunks of 64) and 500 times 10 (or 74 = 64 + 10)
    # inner ones fit in 6,000 (or 38,000) steps; a whole chunk for each
    # short inner loop or float remainder would be 32,000 (or 64,000) more.
    budget = 38_000 if "74" in inner else 6_000
    lua = LuaRuntime(limits=Limits(steps=budget, time=None))
    assert lua.execute(f"local n = 0 for k = 1, 500 do {inner} n = n + 1 end return n") == 500


def test_chunks_cover_every_iteration_once():
    for start, stop, step in [(1, 100_000, 1), (5, 64, 1), (1, 64, 1), (1, 65, 1), (0, -1000, -3),
                              (2**63 - 5000, 2**63 - 1, 1), (-2**63, -2**63 + 3000, 7), (10, 10, 1),
                              (10, 9, 1), (1, 2**63 - 1, 2**61)]:
        iterations = range(start, stop + (1 if step > 0 else -1), step)
        for size in (helpers.FOR_CHUNK, helpers.UNBUDGETED_FOR_CHUNK):
            chunks = list(helpers._for_chunks(iterations, size, None))
            assert [i for chunk in chunks for i in chunk] == list(iterations)
            assert all(len(chunk) <= size for chunk in chunks)


def test_an_unbudgeted_runtime_uses_long_chunks_and_a_budgeted_one_short():
    # The watchdog's forced check must land within FOR_CHUNK iterations
    # whenever there is a time budget.
    assert helpers.FOR_CHUNK <= helpers.LOOP_BATCH
    seen = {}
    for name, make in RUNTIMES.items():
        lua = make()
        namespace = helpers.runtime_namespace(lua._state)
        seen[name] = len(next(iter(namespace["FORCHUNKS"](1, 10**6, 1))))
    assert seen == {"standard": helpers.UNBUDGETED_FOR_CHUNK, "sandbox": helpers.FOR_CHUNK}


# -- errors -------------------------------------------------------------------------

@pytest.mark.parametrize("profile", RUNTIMES)
def test_errors_in_the_fast_paths_are_positioned(profile, form):
    lua = RUNTIMES[profile]()
    with pytest.raises(LuaError) as caught:
        lua.execute("local t = setmetatable({}, {__newindex = function()\n error('boom')\nend})\n"
                    "for i = 1, 100 do\n t[i] = i\nend")
    assert str(caught.value).startswith("(execute):2: boom")
    with pytest.raises(LuaError) as caught:
        lua.execute("local t = {}\nfor i = 1, 100 do\n t[i] = i\n if i == 70 then t = nil end\nend")
    assert str(caught.value).startswith("(execute):3: attempt to index a nil value (local 't')")
    with pytest.raises(LuaError) as caught:
        lua.execute("local t = {}\nfor i = 1, 100 do t[i] = i end\nlocal s = 0\nfor i = 1, #t + 1 do\n"
                    " s = s + t[i]\nend")
    assert "(execute):5: attempt to perform arithmetic on a nil value (field '?')" in str(caught.value)


def test_a_yielding_newindex_in_a_coroutine_fill(form):
    lua = standard()
    assert lua.execute("""
        local t = {}
        local co = coroutine.wrap(function()
          for i = 1, 200 do
            if i == 100 then
              setmetatable(t, {__newindex = function(tt, k, v) coroutine.yield(k) rawset(tt, k, v) end})
            end
            t[i] = i
          end
          return "done"
        end)
        local yields = 0
        while co() ~= "done" do yields = yields + 1 end
        return yields, #t
    """) == (101, 200)
