"""Where CPython's own limits meet Lua code the compiler must accept."""

from __future__ import annotations

import pytest

from luapy import LuaError, LuaRuntime, LuaSyntaxError


def nested_loops(count: int, loop: str) -> str:
    heads = "".join(loop.format(k=k) + "\n" for k in range(count))
    return f"local x = 0\n{heads}x = x + 1\n{'end ' * count}\nreturn x"


@pytest.mark.parametrize("loop", ["for i{k} = 1, 1 do", "while x < 1 do", "repeat"])
def test_nineteen_nested_loops_compile(loop):
    # CPython allows 20 nested blocks; numeric fors normally take two each
    # (iterations are charged by chunk), and a chunk too nested for that is
    # compiled again with one Python loop per Lua loop.
    source = nested_loops(19, loop)
    if loop == "repeat":
        source = source.replace("end ", "until true ")
    assert LuaRuntime().execute(source) == 1


def test_code_cpython_refuses_is_a_positioned_compile_error(monkeypatch):
    # Deep loops are hoisted (below); without that, CPython refuses 30.
    import luapy.compile.statements

    monkeypatch.setattr(luapy.compile.statements, "MAX_BLOCKS", 10_000)
    with pytest.raises(LuaSyntaxError) as failure:
        LuaRuntime().execute(nested_loops(30, "for i{k} = 1, 1 do"), name="=(deep)")
    message = str(failure.value)
    assert message.startswith("(deep):") and "chunk too complex to compile" in message
    assert int(message.split(":")[1]) > 1  # the line of a loop, not of the chunk


@pytest.mark.parametrize("source", ["return (1)()", "local n <const> = 5; return n(1)", "return (0x10)()"])
def test_calling_a_number_literal_in_tail_position_is_a_runtime_error(source):
    # The template's "f.raw" must not become "1.raw", which Python can't parse.
    with pytest.raises(LuaError, match=r"^\(execute\):1: attempt to call a number value"):
        LuaRuntime().execute(source)


# -- compact code ---------------------------------------------------------------
# A function with a lot of source compiles to helper calls instead of inline
# fast paths (``COMPACT_FUNCTION_SIZE``).  It must behave exactly the same:
# every script, and every error message, with everything compiled compact.

from tests import luascripts  # noqa: E402

SCRIPTS = luascripts.scripts()


@pytest.fixture
def everything_compact(monkeypatch):
    import luapy.compile.function

    monkeypatch.setattr(luapy.compile.function, "COMPACT_FUNCTION_SIZE", -1)


@pytest.mark.parametrize("path", SCRIPTS, ids=[path.stem for path in SCRIPTS])
def test_compact_code_behaves_the_same(path, everything_compact, monkeypatch):
    import luapy.api

    # Compact code is slower: only the time budget is lifted.
    unhurried = luapy.api.Options().with_limits(time=None)
    monkeypatch.setattr(luapy.api, "Options", lambda: unhurried)
    luascripts.check(path, luascripts.run_luapy)


def test_compact_code_is_smaller():
    import luapy.compile.function
    from luapy.parser import parse
    from luapy.resolve import resolve

    def size(source):
        tree = parse(source, "t")
        resolve(tree)
        return len(luapy.compile.generated_source(LuaRuntime()._state, tree))

    source = "a[b] = c x = -y .. #z f(a, b) t:m(1) q = a < b and a + 1 or a // 2\n"
    normal = size(source)
    # Past the threshold the same statements come out several times smaller.
    big = source * (luapy.compile.COMPACT_FUNCTION_SIZE // len(source) + 1)
    ratio = size(big) / len(big)
    assert ratio * 2.5 < normal / len(source)


# -- ifs nested deeper than CPython indents ---------------------------------------
# lua5.4 nests up to ~197 ``if``s; CPython refuses 100 levels of indentation.  Past
# ``FLAT_IF_INDENT`` an ``if`` is compiled without indenting (``guarded_if``).

def nested_ifs(count: int) -> str:
    """``count`` nested ifs, each with statements before and after the
    next, an ``elseif`` whose test needs a call, and an ``else``."""
    lines = ["local trail = {}", "local function id(v) return v end", "local x = 0"]
    for k in range(count):
        lines.append(f"if x == {k} then local here = {k} x = x + 1")
    for k in reversed(range(count)):
        lines.append(f"trail[#trail + 1] = here == {k} and {k} or -1")
        lines.append(f"elseif id(x) == -{k + 1} then trail[#trail + 1] = 'never'")
        lines.append(f"else trail[#trail + 1] = 'else {k}' end")
    lines.append("return x, #trail, table.concat(trail, ',', 1, 3), trail[#trail]")
    return "\n".join(lines)


@pytest.mark.parametrize("count", [100, 195])  # 196 is too deep for lua5.4 too
def test_ifs_nest_as_deep_as_in_lua54(count):
    assert LuaRuntime().execute(nested_ifs(count)) == (count, count, f"{count - 1},{count - 2},{count - 3}", 0)


def test_deep_ifs_keep_control_flow_and_errors():
    depth = 60
    source = ("local out = {}\nfor i = 1, 3 do\n" + "if i > 0 then\n" * depth
              + "if i == 2 then goto continue end\nif i == 3 then break end\nout[#out + 1] = i\n"
              + "end\n" * depth + "::continue::\nend\n"
              + "local function f(n)\n" + "if n then\n" * depth + "if n > 1 then return 'big' end\n"
              + "local bad = n + {}\n" + "end\n" * depth + "end\n"
              + "return out[1], #out, f(2), select(2, pcall(f, 1))")
    one, count, big, message = LuaRuntime().execute(source, name="=deep")
    assert (one, count, big) == (1, 1, "big")
    assert message == f"deep:{depth * 3 + 10}: attempt to perform arithmetic on a table value"


# -- loops nested deeper than CPython allows ---------------------------------------
# CPython allows 20 nested blocks in a function and 100 levels of indentation;
# lua5.4 nests ~195 loops.  A loop past those limits is compiled as a function
# of its own (``StatementCompiler.hoist``), sharing the body's variables.

#: How deep lua5.4 nests each loop: ``for`` loops stop at 200 locals, their
#: hidden ones included (4 a numeric for, 6 this generic for), the others
#: at the parser's C levels.
DEEPEST = {"for i{k} = 1, 1 do": 49, "for _, v{k} in ipairs({{1}}) do": 33,
           "while x < 1 do": 195, "repeat": 195}


@pytest.mark.parametrize("loop", DEEPEST)
def test_loops_nest_as_deep_as_in_lua54(loop):
    def source(count):
        text = nested_loops(count, loop)
        return text.replace("end ", "until true ") if loop == "repeat" else text

    lua = LuaRuntime()
    for count in (12, 30, DEEPEST[loop]):
        assert lua.execute(source(min(count, DEEPEST[loop]))) == 1
    if loop.startswith("for"):     # (luapy's parser allows one more while or repeat)
        with pytest.raises(LuaSyntaxError, match="too many local variables"):
            lua.execute(source(DEEPEST[loop] + 1))


def test_deep_loops_keep_locals_jumps_returns_and_errors():
    depth = 30      # 30 loops of 5 locals (3 of them lua5.4's hidden ones): under 200
    heads = "".join(f"for i{k} = 1, 2 do local here{k} = i{k}\n" for k in range(depth))
    ends = "end\n" * depth
    source = (
        "local count, seen, fns = 0, nil, {}\n"
        "local function deep(stop)\n"
        + heads
        + "count = count + 1\n"
        + f"seen = here0 + here{depth - 1}\n"
        + f"fns[#fns + 1] = function() return i{depth - 1} end\n"
        + f"if i{depth - 1} == 2 then goto next end\n"
        + "if count == stop then return 'stopped', count end\n"
        + "::next::\n"
        + ends
        + "return 'done', count\n"
        + "end\n"
        + "local a, n = deep(3)\n"
        + "local function erring()\n" + heads + "local boom = i0 + {}\n" + ends + "end\n"
        + "local ok, message = pcall(erring)\n"
        + "local co = coroutine.wrap(function()\n" + heads + f"coroutine.yield(i0 + i{depth - 1})\n" + ends
        + "end)\n"
        + "return a, n, seen, fns[1](), fns[2](), message, co(), co()\n")
    result = LuaRuntime().execute(source, name="=deep")
    error_line = 1 + 1 + depth + 6 + depth + 3 + 1 + depth + 1
    assert result == ("stopped", 3, 2, 1, 2,
                      f"deep:{error_line}: attempt to perform arithmetic on a table value", 2, 3)


# -- every script, with the deep-nesting forms everywhere ------------------------------
# Forms that only deep code gets must behave exactly as the usual ones: every
# script runs with every ``if`` guarded, and with every loop hoisted.

@pytest.mark.parametrize("limit, value", [("FLAT_IF_INDENT", 0), ("MAX_BLOCKS", 3)],
                         ids=["every if guarded", "every loop hoisted"])
@pytest.mark.parametrize("path", SCRIPTS, ids=[path.stem for path in SCRIPTS])
def test_deep_nesting_forms_behave_the_same(path, limit, value, monkeypatch):
    import luapy.compile.statements

    monkeypatch.setattr(luapy.compile.statements, limit, value)
    luascripts.check(path, luascripts.run_luapy)


def test_loops_whose_jumps_need_handlers_compile_on_the_conservative_retry():
    # Jumps out of inner loops give each loop a ``try`` as well: the first
    # estimate (two blocks a loop) is too low, and the retry hoists sooner.
    depth = 8
    inner = "".join(f"if x % {k + 2} == 0 then goto c{k} end\n" for k in range(depth))
    source = ("local x = 0\n" + "".join(f"for i{k} = 1, 2 do\n" for k in range(depth)) + "x = x + 1\n"
              + inner + "".join(f"::c{k}:: end\n" for k in reversed(range(depth))) + "return x")
    assert LuaRuntime().execute(source) == 4    # as lua5.4


# -- the single-result form of a self-recursive function ---------------------------

def _python_of(source: str) -> str:
    import luapy.compile
    from luapy.parser import parse
    from luapy.resolve import resolve
    tree = parse(source, "t")
    resolve(tree)
    return luapy.compile.generated_source(LuaRuntime()._state, tree)


def test_self_calls_for_one_value_go_to_the_single_result_form():
    python = _python_of("local function fib(n) if n < 2 then return n end "
                        "return fib(n - 1) + fib(n - 2) end local x = fib(3)")
    # Exact parameters (no ``*_``): CPython's fastest call path serves it.
    assert "def __s1(l2):" in python
    single = python[python.index("def __s1"):]
    # Two copies of the body: for an integer n, then for anything else.
    integer, plain = single.split("\n   try:\n", 1)[0], single.split("\n   try:\n", 1)[1]
    assert "if type(l2) is int:" in integer and "type(l2) is int" not in integer.split(":", 2)[2]
    assert "type(l2) is int" in plain
    assert single.count("__s1(_t") == 4       # both calls in each, no tuple to unpack
    assert "return l2\n" in single and "return (l2,)" not in single
    assert "return None" in single             # falling off the end: no value


def test_self_calls_fit_their_arguments_to_the_single_result_forms_parameters():
    python = _python_of("local g local function f(a, b) if not a then return 0 end "
                        "return f(a - 1) + f(a - 1, 1, 2) + f(a - 1, g()) end local x = f(3)")
    assert "def __s1(l2, l3):" in python
    assert "__s1(_t2, None)" in python and "__s1(_t5, 1)" in python   # nil for b; 2 dropped
    assert "__s1(_t8, *" not in python         # a multi-value tail goes the general way
    varargs = _python_of("local function h(...) local n = select('#', ...) if n > 3 then return n end "
                         "return h(1, ...) + 0 end local x = h()")
    assert "def __s1(*va):" in varargs and "__s1(1, *_r3)" in varargs


def test_self_calls_with_any_number_of_arguments_keep_lua_semantics():
    log = []
    rt = LuaRuntime()
    rt.globals()["note"] = lambda v: log.append(v)
    value = rt.execute("""
        local function g(x) note(x) return x end
        local function f(a, b)
          if a == nil then return 1000 end
          if a <= 0 then return (b or 0) + 1 end
          return f(a - 1) + 10 * f(a - 1, g(a), g(-a)) + 100 * f(a - 1, 3, g(7))
                 + f((g(a)) - a - 1, (g(9))) + f()
        end
        local function r(n, ...) if n == 0 then return select('#', ...) end return r(n - 1, n, ...) + 0 end
        return f(2, 5), r(4)
    """)
    # Checked against lua5.4: extra arguments are still evaluated, missing ones are nil.
    assert value == (159851, 4)
    assert log == [1, -1, 7, 1, 9, 2, -2, 1, -1, 7, 1, 9, 7, 1, -1, 7, 1, 9, 2, 9]


def test_a_function_with_loops_hoisted_gets_a_wrapper_as_its_single_result_form():
    deep = "while x do " * 30 + "x = f(1)" + " end" * 30
    python = _python_of(f"local function f(n) {deep} local y = f(n) return y end")
    # Named __w, so that tracebacks, hooks and levels don't count it.
    assert "def __w1(*args):" in python and "__s1 = __w1" in python
    assert "return (_v[0] if (_v := __f1(*args)) else None)" in python
    assert "def __s1(" not in python


def test_the_integer_copy_leaves_string_literals_alone():
    python = _python_of("local T = {} local function f(n) if n == 0 then return 'type(l2) is int' end "
                        "local s = f(n - 1) return T['type(l2) is int'] or s end")
    single = python[python.index("def __s1"):python.index("return __f1")]
    integer, plain = single.split("\n   try:\n", 1)
    assert "if type(l2) is int:" in integer
    assert integer.count("'type(l2) is int'") == plain.count("'type(l2) is int'") >= 2


def test_single_result_forms_take_a_bounded_share_of_a_chunks_output():
    from luapy.compile.function import SINGLE_FORM_CHARS_PER_SOURCE_CHAR
    # Functions of nothing but stores, each calling itself: past the
    # allowance their single-result forms are wrappers.
    body = "a[n] = n " * 20
    source = "".join(f"local function f{i}(n) {body} local x = f{i}(n - 1) return x end " for i in range(60))
    python = _python_of(source)
    plain = _python_of(source.replace("local x = f", "local x, y = f"))   # no single-result calls
    assert "def __s1(" in python and "__s60 = __w60" in python
    assert len(python) - len(plain) <= SINGLE_FORM_CHARS_PER_SOURCE_CHAR * len(source) * 1.05


def test_no_single_result_form_without_self_calls_for_one_value():
    python = _python_of("local function f(n) if n > 0 then local t = {f(n - 1)} end return n end")
    assert "__s1" not in python
