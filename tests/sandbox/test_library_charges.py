"""Library work and memory are charged before they are done (issue 10,
classes 2 to 4).

Every standard-library function that does work or allocates memory in
proportion to its input charges the step budget (``ops.BYTES_PER_STEP``)
and the memory budget first.  The matrix below runs each expensive call,
forever, inside every kind of loop a plugin can build; each must end in a
``LuaLimitError`` naming a budget, or a Lua error, quickly, and leave the
runtime usable.  The focused tests after it check which budget trips, so
they fail if a charge goes missing, and that string-to-number conversion
is linear on adversarial megabyte inputs.
"""

from __future__ import annotations

import time

import pytest

from luapy import Limits, LuaError, LuaLimitError, LuaRuntime

MiB = 1024 * 1024

#: Inputs built once per case, before the loop (each is charged too).
SETUP = r"""
local json = require("dkjson")
local big = ("x"):rep(4 * 1024 * 1024)
local wide = ("\xc3\xa4"):rep(400000)
local conts = "\xc3" .. ("\x80"):rep(1000000)
local ctrl = ("\1"):rep(300000)
local digits = ("z"):rep(1000000)
local parens = ("("):rep(1000000)
local items = {} for i = 1, 200000 do items[i] = "ab" end
local holes = {} for i = 1, 300000 do holes[i] = i end
for i = 1, 299999 do holes[i] = nil end
local named = setmetatable({}, {__name = ("n"):rep(1000000)})
local objects = "[" .. ("{},"):rep(300000) .. "{}]"
local keep = {}
local k = 0
local function hold(v) k = k + 1 if k > 64 then k = 1 end keep[k] = v end
"""

#: One expensive library call each; ``hold`` keeps results alive for a while.
WORK = {
    "utf8.len": "hold(utf8.len(wide))",
    "utf8.len-lax": "hold(utf8.len(wide, 1, -1, true))",
    "utf8.offset": "hold(utf8.offset(wide, 399999))",
    "utf8.offset-back": "hold(utf8.offset(conts, -1))",
    "utf8.codepoint": "hold(select('#', utf8.codepoint(wide, 1, 100000)))",
    "utf8.codes-iterator": "hold(pcall(utf8.codes(wide), conts, 1))",
    "packsize": "hold(string.packsize(('i'):rep(200000)))",
    "tonumber-base": "hold(tonumber(digits, 36))",
    "tonumber-adversarial": "hold(tonumber(digits:sub(2) .. 'x'))",
    "os.date": "hold(os.date(('%c'):rep(100000)))",
    "string.sub": "hold(big:sub(2))",
    "string.rep-sep": "hold(('ab'):rep(100000, ','))",
    "string.upper": "hold(big:upper())",
    "string.reverse": "hold(big:reverse())",
    "string.byte": "hold(select('#', big:byte(1, 500000)))",
    "string.char": "hold(string.char(big:byte(1, 200000)))",
    "string.unpack-c": "hold(string.unpack('c3000000', big))",
    "string.format-q": "hold(string.format('%q', ctrl))",
    "string.format-s": "hold(string.format('%s%s', big, big))",
    "long-pattern": "hold(big:find(('%a'):rep(200) .. '%d'))",
    "backreference": "hold(big:sub(1, 100000):find('(.-)%1y'))",
    "balance": "hold(parens:find('%b()'))",
    "gsub-expand": "hold(big:sub(1, 1000000):gsub('x', '%0%0'))",
    "gsub-callback": "hold(big:sub(1, 200000):gsub('x', function(c) return c end))",
    "concat-op": "hold(big .. big)",
    "table.concat": "hold(table.concat(items, ','))",
    "table.unpack": "hold(select('#', table.unpack(items)))",
    "table.move": "hold(table.move(items, 1, #items, 1, {}))",
    "next-holes": "hold(next(holes))",
    "tostring-name": "hold(tostring(named))",
    "json.decode": "hold(json.decode(objects))",
    "json.encode": "hold(json.encode(items))",
}

#: Ways to run WORK forever.
LOOPS = {
    "while": "while true do {work} end",
    "repeat": "repeat {work} until false",
    "numeric-for": "for i = 1, math.maxinteger do {work} end",
    "goto": "::again:: {work} goto again",
    "recursion": "local function again() {work} return again() end again()",
    "callback": "table.sort({{3, 1, 2, 5, 4, 7, 6}}, function(a, b) while true do {work} end end)",
    "coroutine": "local co = coroutine.wrap(function() while true do {work} coroutine.yield() end end) "
                 "while true do co() end",
}

#: A short time budget keeps the matrix quick; steps and memory as shipped.
MATRIX_LIMITS = Limits(time=0.25)


def outcome(runtime: LuaRuntime, source: str):
    try:
        return ("value", runtime.execute(source, name="=(hostile)"))
    except LuaLimitError as failure:
        return ("limit", failure.limit)
    except LuaError as failure:
        return ("error", str(failure))


def assert_usable(runtime: LuaRuntime) -> None:
    assert runtime.eval("1 + 1") == 2
    assert runtime.execute("local t = {} for i = 1, 100 do t[i] = ('x'):rep(i) end return #t[100]") == 100


@pytest.mark.parametrize("loop", list(LOOPS))
@pytest.mark.parametrize("work", list(WORK))
def test_expensive_call_in_endless_loop_ends_on_a_budget(work, loop):
    runtime = LuaRuntime(limits=MATRIX_LIMITS)
    source = SETUP + LOOPS[loop].format(work=WORK[work])
    start = time.perf_counter()
    result = outcome(runtime, source)
    elapsed = time.perf_counter() - start
    assert result[0] in ("limit", "error"), result
    if result[0] == "limit":
        assert result[1] in ("steps", "time", "memory")
    assert elapsed < 10, f"{work} in {loop} ran {elapsed:.1f} s"
    assert_usable(runtime)


# ------------------------------------------------ which budget pays

#: Step-budget cases: with no time budget, only charged steps can stop them.
STEP_CHARGED = {
    "utf8.len": ("local s = ('\\xc3\\xa4'):rep(100000)", "utf8.len(s)"),
    "utf8.len-lax": ("local s = ('\\xc3\\xa4'):rep(100000)", "utf8.len(s, 1, -1, true)"),
    "utf8.offset": ("local s = ('\\xc3\\xa4'):rep(100000)", "utf8.offset(s, 99999)"),
    "utf8.codepoint": ("local s = ('\\xc3\\xa4'):rep(100000)", "utf8.codepoint(s, 1, 100000)"),
    "packsize": ("local f = ('i'):rep(100000)", "string.packsize(f)"),
    "tonumber-base": ("local s = ('7'):rep(100000)", "tonumber(s, 8)"),
    "os.date": ("local f = ('%Y'):rep(50000)", "os.date(f, 0)"),
    "long-pattern": ("local s = ('a'):rep(100000) local p = ('%a'):rep(300) .. '%d'", "s:find(p)"),
    "backreference": ("local s = ('a'):rep(20000)", "s:find('(.-)%1b')"),
    "balance": ("local s = ('('):rep(100000)", "s:find('%b()')"),
    "select": ("local t = {} for i = 1, 100000 do t[i] = i end", "select(2, table.unpack(t))"),
    "table.unpack-hash": ("local t = {}", "table.unpack(t, 1, 100000)"),
    "format-q": ("local s = ('\\1'):rep(100000)", "string.format('%q', s)"),
    "json.quotestring": ("local json = require('dkjson') local s = ('\\1'):rep(100000)", "json.quotestring(s)"),
}


@pytest.mark.parametrize("name", list(STEP_CHARGED))
def test_library_work_is_charged_to_the_step_budget(name):
    setup, call = STEP_CHARGED[name]
    # A loop of a few thousand iterations costs ~20k steps of Lua; the calls'
    # own charges must exhaust the budget well before the loop ends.
    runtime = LuaRuntime(limits=Limits(steps=500_000, time=30, memory=None))
    start = time.perf_counter()
    result = outcome(runtime, f"{setup} for i = 1, 5000 do local r = {call} end return 'finished'")
    assert result == ("limit", "steps"), result
    assert time.perf_counter() - start < 20
    assert_usable(runtime)


#: Memory-budget cases: each iteration keeps what the call made.
MEMORY_CHARGED = {
    "string.sub": ("local s = ('x'):rep(8 * 1024 * 1024)", "s:sub(i)"),
    "string.upper": ("local s = ('x'):rep(1024 * 1024)", "s:upper()"),
    "string.unpack-c": ("local s = ('x'):rep(8 * 1024 * 1024)", "string.unpack('c8000000', s)"),
    "tostring-name": ("local o = setmetatable({}, {__name = ('n'):rep(1024 * 1024)})", "tostring(o)"),
    "format-q": ("local s = ('\\1'):rep(100000)", "string.format('%q', s)"),
    "os.date": ("local f = ('%c'):rep(100000)", "os.date(f, 0)"),
    "match-capture": ("local s = ('x'):rep(8 * 1024 * 1024)", "s:match('(x+)')"),
    "gsub-pieces": ("local s = ('xy'):rep(1024 * 1024)", "s:gsub('x', 'z')"),
    "json.decode": ("local json = require('dkjson') local s = '[' .. ('{},'):rep(30000) .. '{}]'",
                    "json.decode(s)"),
    "concat-operator": ("local s = ('x'):rep(1024 * 1024)", "s .. i"),
}


@pytest.mark.parametrize("name", list(MEMORY_CHARGED))
def test_library_allocations_are_charged_to_the_memory_budget(name):
    setup, call = MEMORY_CHARGED[name]
    runtime = LuaRuntime(limits=Limits(steps=None, time=30))
    start = time.perf_counter()
    result = outcome(runtime, f"{setup} local keep = {{}} for i = 1, 2000 do keep[i] = {call} end "
                              "return 'finished'")
    assert result == ("limit", "memory"), result
    assert time.perf_counter() - start < 20
    assert_usable(runtime)


NEXT_SETUPS = {
    # 100k slots of the array part, all nil but the last (or the middle).
    "array holes": "local t = {} for i = 1, 100000 do t[i] = i end for i = 1, 99999 do t[i] = nil end",
    "two runs of holes": "local t = {} for i = 1, 100001 do t[i] = i end "
                         "for i = 1, 100000 do if i ~= 50000 then t[i] = nil end end",
    # 100k hash keys, all cleared but one.
    "cleared hash keys": "local t = {} for i = 1, 100000 do t['k' .. i] = i end "
                         "local keep = next(t) for k in pairs(t) do if k ~= keep then t[k] = nil end end "
                         "t.last = true",
}
NEXT_LOOPS = {
    "next(t)": "next(t)",
    "walk to the end": "local k = next(t) while k ~= nil do k = next(t, k) end",
    "fill and clear a hole first": "t[7] = 1 t[7] = nil next(t)",
    "insert and clear a key first": "t.x = 1 t.x = nil next(t)",
    "churn new keys first": "t['n' .. i] = 1 t['n' .. i] = nil next(t)",
}


@pytest.mark.parametrize("setup", list(NEXT_SETUPS))
@pytest.mark.parametrize("loop", list(NEXT_LOOPS))
def test_next_is_amortised_constant_however_it_is_repeated(setup, loop):
    # Each call walking the 100k nils again would cost about 12k steps,
    # 250M for the loop: it must fit in 2M, so the walks are remembered.
    runtime = LuaRuntime(limits=Limits(steps=2_000_000, time=60))
    assert runtime.execute(f"{NEXT_SETUPS[setup]} for i = 1, 20000 do {NEXT_LOOPS[loop]} end "
                           "return 'finished'") == "finished"


def test_next_remembering_holes_stays_exact():
    # Stores that fill remembered holes, in every way Lua code can make one,
    # and shifts of the array: each traversal sees exactly the live entries.
    lua = LuaRuntime(limits=Limits(steps=5_000_000, time=60))
    assert lua.execute("""
        local function keys(t)
          local out, k = {}, next(t)
          while k ~= nil do out[#out + 1] = k k = next(t, k) end
          table.sort(out) return table.concat(out, ",")
        end
        local t = {} for i = 1, 300 do t[i] = i end
        for i = 1, 299 do t[i] = nil end
        assert(keys(t) == "300")
        t[100] = "inline"                 -- the compiled store
        rawset(t, 200, "raw")             -- Table.set
        local k = 150 t[k] = "dynamic"    -- a key not known to be an integer
        assert(keys(t) == "100,150,200,300", keys(t))
        t[300] = nil                      -- shrinks the array part
        assert(keys(t) == "100,150,200", keys(t))
        table.insert(t, 1, "first")       -- shifts every index
        assert(keys(t) == "1,101,151,201", keys(t))
        table.remove(t, 1)
        assert(keys(t) == "100,150,200", keys(t))
        for i = 1, 250 do t[i] = i end
        assert(#t == 250 and select('#', keys(t)) == 1)
        local h = {} for i = 1, 100 do h["k" .. i] = i end
        for i = 2, 99 do h["k" .. i] = nil end
        local _ = next(h)
        h.k50 = "back"                    -- a cleared key inserted again
        local n = 0 for _ in pairs(h) do n = n + 1 end
        assert(n == 3, n)
        return "ok"
    """) == "ok"


# ------------------------------------------------ string -> number

ADVERSARIAL_NUMBERS = [
    ("1" * MiB) + "x",
    ("1" * MiB) + "e",
    ("1" * (MiB // 2)) + "." + ("1" * (MiB // 2)) + "e",
    "0x" + ("f" * MiB) + "x",
    "." + ("1" * MiB) + "x",
    "1e" + ("1" * MiB),
    "0x1p-" + ("9" * MiB),
    ("0" * MiB) + "1",
    (" " * MiB) + "1" + (" " * MiB) + "x",
    "0x" + ("0" * MiB) + "." + ("0" * MiB) + "1p" + ("1" * MiB),
]


@pytest.mark.parametrize("index", range(len(ADVERSARIAL_NUMBERS)))
def test_string_to_number_is_linear_on_megabyte_inputs(index):
    runtime = LuaRuntime()
    text = ADVERSARIAL_NUMBERS[index]
    convert = runtime.execute(
        "return function(s) local r = {tonumber(s), pcall(function() return s + 0 end), "
        "pcall(string.format, '%d', s), pcall(math.floor, s)} return r[1] end")
    start = time.perf_counter()
    convert(text)
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize("base", [2, 10, 16, 36])
def test_tonumber_in_a_base_is_linear_on_megabyte_inputs(base):
    runtime = LuaRuntime()
    tonumber = runtime.eval("tonumber")
    start = time.perf_counter()
    assert tonumber("1" * MiB, base) is not None
    assert tonumber("1" * MiB + "!", base) is None
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize("text", [
    "+5", "+0x10", "-0x10", "0x", "1e", "0x.p1", "0x1p", " 0x1P-2 ", "1 e5", "- 1", "--1",
    "9223372036854775808", "-9223372036854775808", "9223372036854775807", "+.5", "5.", ".",
    "0x1.", "1e+", "infinity", "0x-1", "0xffffffffffffffffff", "1e309", "0x1p-1074", "0xA.8p1",
    "-00000000000000000000000000009223372036854775808", "\t-0\n", "0x1e", "0xep1", "1.2.3",
    "nan", "inf", "1_0", "\x001", "1\x00", "0x" + "0" * 100 + "1p" + "9" * 100,
])
def test_string_to_number_agrees_with_lua(reference_bytes, text):
    mine = LuaRuntime(encoding=None).eval("tonumber")(text.encode("latin-1"))
    theirs = reference_bytes.globals().tonumber(text.encode("latin-1"))
    assert mine == theirs and type(mine) is type(theirs)


@pytest.mark.parametrize("text, base", [
    ("10", 16), ("  ff  ", 16), ("-ff", 16), ("+ff", 16), ("- ff", 16), ("zz", 36), ("Zz", 36),
    ("8", 8), ("1" * 100, 10), ("1" * 100, 7), ("-" + "f" * 40, 16), ("", 10), ("+", 10), ("1 1", 2),
])
def test_tonumber_in_a_base_agrees_with_lua(reference, text, base):
    mine = LuaRuntime().eval("tonumber")(text, base)
    theirs = reference.globals().tonumber(text, base)
    assert mine == theirs and type(mine) is type(theirs)


def test_traversal_snapshots_are_charged_to_the_memory_budget():
    # A traversal keeps a snapshot of the hash keys, and a key -> slot map
    # once a walk resumes from a key: about 16 and 100 bytes a key.
    setup = "local t = {} for i = 1, 200000 do t['k' .. i] = true end "
    roomy = LuaRuntime(limits=Limits(steps=None, time=60, memory=64 * MiB))
    assert roomy.execute(setup + "local k = next(t) next(t, k) return 'walked'") == "walked"
    tight = LuaRuntime(limits=Limits(steps=None, time=60, memory=28 * MiB))
    assert tight.execute(setup + "return 'built'") == "built"  # the table alone fits
    assert outcome(tight, setup + "local k = next(t) next(t, k) return 'walked'") == ("limit", "memory")


#: Spreading values copies each one; with a step budget alone (no time
#: budget to fall back on) each must end in the step budget, quickly.
SPREADS = {
    # Each call forwards one value more: quadratic work in linear calls.
    "growing-tail-call": "local function f(...) return f(1, ...) end return f()",
    "growing-in-a-coroutine": "local function f(...) return f(1, ...) end "
                              "return coroutine.wrap(function() return f() end)()",
    "select-in-a-loop": "local function g(...) while true do local n = select('#', ...) end end "
                        "return g(string.byte(('a'):rep(60000), 1, -1))",
    "return-list": "local function g(...) while true do local a, b = 1, ... end end "
                   "return g(string.byte(('a'):rep(60000), 1, -1))",
    "keyed-constructor": "local function g(...) local t = {} while true do t.x = {n = 1, ...} end end "
                         "return g(string.byte(('a'):rep(60000), 1, -1))",
    # Two of 60,000 values kept: a slice, not a copy of them all.
    "adjusted-to-two": "local function g(...) while true do local a, b = ... end end "
                       "return g(string.byte(('a'):rep(60000), 1, -1))",
}


@pytest.mark.parametrize("source", SPREADS.values(), ids=SPREADS.keys())
def test_spreading_values_is_charged_to_the_step_budget(source):
    # The time budget is only a backstop: without the charge the step
    # budget lets these run for minutes, and the time budget trips first.
    rt = LuaRuntime(limits=Limits(steps=300_000, time=20.0, memory=None))
    with pytest.raises(LuaLimitError, match="step budget exhausted"):
        rt.execute(source)


def test_a_growing_spread_stops_after_few_calls():
    # Charged a step per 16 values copied, a 300,000-step budget lets the
    # spread grow to about sqrt(2 * 16 * 300,000) = 3,100 values, not 150,000.
    rt = LuaRuntime(limits=Limits(steps=300_000, time=20.0, memory=None))
    with pytest.raises(LuaLimitError, match="step budget exhausted"):
        rt.execute("width = 0 local function f(...) width = select('#', ...) return f(1, ...) end f()")
    assert 2_000 < rt.globals()["width"] < 4_000
