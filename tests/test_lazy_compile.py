"""A nested function is generated and compiled when its first closure is made.

Loading a chunk generates and compiles the Python of its main function (and
of any function CPython might refuse, judged from the tree); the rest is
generated, numbered and compiled on demand
(``luapy.compile.chunk.LazyFactories``).  Nothing Lua can observe may
change: errors found at load stay at load, line numbers, debug information,
``string.dump``, coroutines and budgets stay exact.
"""

from __future__ import annotations

import pytest

from luapy import Limits, LuaError, LuaLimitError, LuaRuntime, LuaSyntaxError
from luapy.load import load_chunk
from tests.stdlib_support import run_both

MODULE = """\
local M = {}
local function helper(x)
  local function inner(y)
    return y * 2
  end
  return inner(x) + 1
end
function M.used(x) return helper(x) end
function M.unused(x) return x .. "!" end
return M
"""


def compiled(function) -> dict:
    """Prototype name -> whether its factory is compiled, over its chunk."""
    return {proto.name: proto.factory is not None for proto in function.proto.chunk.protos}


def test_loading_compiles_only_the_main_function():
    st = LuaRuntime()._state
    main = load_chunk(st, MODULE, "=m")
    # ``inner`` is not even numbered: only generating ``helper`` finds it.
    assert compiled(main) == {"main chunk": True, "helper": False,
                              "M.used": False, "M.unused": False}
    assert sorted(node.name for node, _ in main.proto.chunk.factories.compiler.lazy.values()) == [
        "M.unused", "M.used", "helper"]


def test_a_factory_compiles_when_its_first_closure_is_made():
    runtime = LuaRuntime()
    main = load_chunk(runtime._state, MODULE, "=m")
    module = main.call()[0]
    # Running the main chunk made closures of its own functions, not of
    # ``inner``, whose closure only a call of ``helper`` makes.
    assert compiled(main) == {"main chunk": True, "inner": False, "helper": True,
                              "M.used": True, "M.unused": True}
    used = module.get("used")
    assert used.call(20) == (41,)
    assert compiled(main)["inner"] is True
    assert used.call(1) == (3,)


def test_lazily_compiled_functions_keep_their_lines():
    ours, reference = run_both("""\
local function outer()
  local t = {}
  local function fails(n)
    local a = n + 1

    return a .. {}
  end
  local ok, err = pcall(fails, 1)
  local info = debug.getinfo(fails, "SL")
  local lines = {}
  for line in pairs(info.activelines) do lines[#lines + 1] = line end
  table.sort(lines)
  return err:match(":(%d+):"), info.linedefined, info.lastlinedefined,
         table.concat(lines, ","), info.what
end
return outer()
""")
    assert ours == reference == ("6", 3, 7, "4,6,7", "Lua")


def test_lazily_compiled_functions_name_their_locals_and_tracebacks():
    ours, reference = run_both("""\
local function outer(p)
  local function inner(q)
    local r = q + 1
    local names = {}
    for i = 1, 3 do
      local name = debug.getlocal(1, i)
      names[#names + 1] = name
    end
    local trace = debug.traceback("x", 1)
    return table.concat(names, " "), trace:match("traceback:\\n%s*([^\\n]*)")
  end
  return inner(p)
end
return outer(1)
""")
    assert ours[0] == reference[0] == "q r names"
    # The innermost frame's line, and the line its function starts at.
    assert ours[1].split(":")[1::2] == reference[1].split(":")[1::2] == ["9", "2>"]


def test_errors_in_lazily_compiled_functions_are_positioned():
    source = "local function f()\n  local function g(x)\n\n    return x.y.z\n  end\n  return g({})\nend\nreturn f()"
    with pytest.raises(LuaError, match=r"^t:4: attempt to index a nil value \(field 'y'\)"):
        LuaRuntime().execute(source, name="=t")


def test_string_dump_of_a_lazily_compiled_function():
    ours, reference = run_both("""\
local function make(k)
  return function(x) return x * k + 1 end
end
local f = make(3)
local g = load(string.dump(f))
return f(2), debug.setupvalue(g, 1, 5), g(2)
""")
    assert ours == reference


def test_closures_first_made_inside_a_coroutine():
    # The generator form makes closures with the plain form's instantiator,
    # which compiles the factory then.
    ours, reference = run_both("""\
local co = coroutine.wrap(function(a)
  local function step(x)
    local function deeper(y) return coroutine.yield(y + 1) end
    return deeper(x) * 2
  end
  local b = step(a)
  return b + 100
end)
return co(1), co(10)
""")
    assert ours == reference == (2, 120)


# -- What CPython refuses is still found at load ----------------------------
#
# A factory that CPython might refuse (deep indentation, long or
# bracket-heavy lines: ``LAZY_MAX_INDENT``) compiles with the chunk, so the
# refusal stays the chunk's syntax error even in a function never called.
# The compiler keeps deep code within CPython's limits (loops past them are
# hoisted, deep ifs add no indentation), so the refusals are provoked with
# those protections off, as test_compile does.

def never_called(body: str) -> str:
    return "local x, f, a = 0, print, 1\nlocal function never()\n" + body + "\nend\nreturn 1"


@pytest.fixture
def unprotected(monkeypatch):
    import luapy.compile.statements as statements

    for name in ("MAX_BLOCKS", "HOIST_INDENT", "FLAT_IF_INDENT"):
        monkeypatch.setattr(statements, name, 10_000)


@pytest.mark.parametrize("body, line", [
    ("".join(f"for i{k} = 1, 1 do\n" for k in range(30)) + "x = x + 1\n" + "end\n" * 30, 22),
    ("while x < 1 do\n" * 25 + "x = x + 1\n" + "end\n" * 25, 22),
    ("repeat\n" * 25 + "until true\n" * 25, 22),
    ("do local y <close> = nil\n" * 15 + "end\n" * 15, 12),
    ("if x then\n" * 110 + "x = x + 1\n" + "end\n" * 110, 99),
])
def test_what_cpython_refuses_in_a_function_never_called_fails_the_load(body, line, unprotected):
    with pytest.raises(LuaSyntaxError, match=rf"^t:{line}: chunk too complex to compile"):
        LuaRuntime().compile(never_called(body), name="=t")


@pytest.mark.parametrize("body", [
    "".join(f"for i{k} = 1, 1 do\n" for k in range(19)) + "x = x + 1\n" + "end\n" * 19,
    "if x then\n" * 60 + "x = x + 1\n" + "end\n" * 60,
    "return " + "f(" * 150 + "1" + ")" * 150,
    "return " + "not " * 190 + "a",
    "return " + " .. ".join(["a"] * 180),
    "return " + "{" * 150 + "a" + "}" * 150,
    "return a" + "[a]" * 190,
])
def test_what_cpython_accepts_compiles_where_it_is_first_needed(body):
    function = LuaRuntime().compile(never_called(body).replace("return 1", "return never"), name="=t")
    never = function()
    assert never.__class__.__name__ == "LuaFunction"


def test_the_depth_rule_compiles_deep_functions_with_the_chunk():
    from luapy.compile.chunk import LAZY_MAX_INDENT

    st = LuaRuntime()._state
    shallow = load_chunk(st, never_called("if x then\n" * 3 + "end\n" * 3), "=t")
    deep = load_chunk(st, never_called("if x then\n" * LAZY_MAX_INDENT + "end\n" * LAZY_MAX_INDENT),
                      "=t")
    assert compiled(shallow)["never"] is False
    assert compiled(deep)["never"] is True


@pytest.mark.parametrize("limits", [{"LAZY_MAX_OPENERS": 8, "_SHORT_LINE": 8}, {"LAZY_MAX_LINE": 300}])
def test_long_or_bracket_heavy_lines_compile_with_the_chunk(monkeypatch, limits):
    # The compiler keeps lines short (operands go to temporaries), so the
    # rule is shown with lower thresholds: ``a[a[...]]`` is one line of
    # some 1,800 characters and a dozen brackets.
    import luapy.compile.chunk as chunk

    st = LuaRuntime()._state
    source = never_called("return a" + "[a" * 120 + "]" * 120)
    assert compiled(load_chunk(st, source, "=t"))["never"] is False
    for name, value in limits.items():
        monkeypatch.setattr(chunk, name, value)
    assert compiled(load_chunk(st, source, "=t"))["never"] is True


def test_a_deferred_compile_deep_in_the_stack_gets_headroom():
    # The first closure of ``g`` is made 150 Lua levels down.
    source = ("local function rec(n)\n  if n == 0 then\n"
              "    local function g(a) return " + " and ".join(["a"] * 190) + " end\n"
              "    return g(7)\n  end\n  return rec(n - 1)\nend\nreturn rec(150)")
    assert LuaRuntime().execute(source) == 7


# -- Budgets -------------------------------------------------------------------

def big_function(statements: int) -> str:
    body = "".join(f"  t[{i}] = t[{i}] or x + {i} * y\n" for i in range(statements))
    return f"local function big(t, x, y)\n{body}  return t\nend\nreturn big"


def test_a_deferred_compile_must_fit_the_time_budget_of_the_call_that_triggers_it():
    # Loaded from the host, uncharged: its function's compile is deferred to
    # the call that makes its closure, which it must fit before it starts.
    source = big_function(3000)
    lua = LuaRuntime(limits=Limits(time=0.01, steps=None))
    chunk = lua.compile(source, name="=big")
    with pytest.raises(LuaLimitError, match="compile of loaded code") as info:
        chunk()
    assert info.value.limit == "time"
    roomy = LuaRuntime(limits=Limits(time=60, steps=None))
    assert roomy.compile(source, name="=big")().__class__.__name__ == "LuaFunction"


def test_a_deferred_compile_of_code_lua_loaded_is_charged_to_the_call_that_triggers_it(monkeypatch):
    from luapy.load import LoadBudget
    from luapy.runtime.state import State

    reserved = []
    reserve_time = State.reserve_time

    def recording(self, seconds):
        reserved.append(round(seconds / LoadBudget.COMPILE_SECONDS_PER_CHAR))
        return reserve_time(self, seconds)
    monkeypatch.setattr(State, "reserve_time", recording)
    lua = LuaRuntime(limits=Limits(time=60, steps=None))
    lua.globals()["src"] = big_function(300)
    # ``load`` reserves the time of the main function's compile only...
    assert lua.execute("f = load(src) return type(f)") == "function"
    assert len(reserved) == 1 and reserved[0] < 1000
    # ...the call that makes the big closure that of its own.
    assert lua.execute("return type(f())") == "function"
    assert len(reserved) == 2 and reserved[1] > 300 * 50
    # Later closures compile nothing.
    assert lua.execute("return type(f())") == "function"
    assert len(reserved) == 2


@pytest.mark.parametrize("body, message", [
    ("x = = 1", "t:3: unexpected symbol near '='"),
    ("goto nowhere", "no visible label 'nowhere' for <goto> at line 3"),
    ("local c <const> = 1; c = 2", "t:3: attempt to assign to const variable 'c'"),
    ("for i = 1, 2 do end break", "break outside loop at line 3"),
])
def test_lua_errors_in_a_function_never_called_fail_the_load(body, message):
    # (Which line lua5.4 puts before a goto's or break's error is not at
    # issue here: that of the token after the function's ``end``.)
    with pytest.raises(LuaSyntaxError) as failure:
        LuaRuntime().compile(never_called(body), name="=t")
    assert message in str(failure.value)


def test_a_refusal_the_rules_missed_is_a_positioned_error_at_every_closure(monkeypatch, unprotected):
    # Were the depth rule too lax, CPython's refusal would surface where the
    # closure is made: as a positioned error, the same at every attempt.
    import luapy.compile.chunk as chunk

    monkeypatch.setattr(chunk, "LAZY_MAX_INDENT", 1000)
    loops = "".join(f"for i{k} = 1, 1 do\n" for k in range(30)) + "x = x + 1\n" + "end\n" * 30
    source = "local x, f, a = 0, print, 1\nreturn function()\n" + loops + "\nend"
    make = LuaRuntime().compile(source, name="=t")
    for _ in range(2):
        with pytest.raises(LuaError, match=r"^t:1[6-9]: chunk too complex to compile"):
            make()     # (on a line of the loops: this code has two Python loops a for)


def test_the_depth_rule_holds_for_the_code_generated_today():
    # ``LAZY_MAX_INDENT`` counts on every block of generated code being one
    # indentation level: only an ``except`` handler's body counts twice in
    # CPython's block stack, and generated handlers hold no blocks.  Should
    # that change, the rule must count blocks instead.
    import re
    from pathlib import Path

    from bench.bench_parse import make_module
    from luapy.compile import generated_source
    from luapy.parser import parse
    from luapy.resolve import resolve

    sources = [make_module()] + [path.read_text(encoding="latin-1")
                                 for path in sorted(Path(__file__).parent.glob("lua/**/*.lua"))]
    st = LuaRuntime()._state
    handlers = 0
    for source in sources:
        tree = parse(source, "t")
        resolve(tree)
        lines = generated_source(st, tree).split("\n")
        for number, line in enumerate(lines):
            if re.match(r"\s*except\b.*:$", line):
                handlers += 1
                depth = len(line) - len(line.lstrip())
                for inner in lines[number + 1:]:
                    if len(inner) - len(inner.lstrip()) <= depth:
                        break
                    assert not re.match(r"\s*(for|while|try|with)\b", inner), (line, inner)
    assert handlers > 100


# -- Generating a function's Python when its first closure is made -----------

def test_a_function_is_generated_once_when_its_first_closure_is_made(monkeypatch):
    from luapy.compile.chunk import LazyFactories

    generated = []
    generate = LazyFactories.generate

    def recording(self, index, proto):
        generated.append(proto.name)
        return generate(self, index, proto)
    monkeypatch.setattr(LazyFactories, "generate", recording)
    runtime = LuaRuntime()
    module = runtime.execute(MODULE)
    assert sorted(generated) == ["M.unused", "M.used", "helper"]
    for _ in range(3):
        assert module.used(20) == 41
    assert sorted(generated) == ["M.unused", "M.used", "helper", "inner"]
    # In a coroutine too (the generator form numbers as the plain one).
    assert runtime.execute("local m = ... return coroutine.wrap(function() return m.used(1) end)()",
                           module) == 3
    # (The anonymous function is the new chunk's.)
    assert sorted(map(str, generated)) == ["M.unused", "M.used", "None", "helper", "inner"]


def test_functions_generated_later_keep_lines_locals_and_upvalues_in_order():
    ours, reference = run_both("""\
local a, b = 1, 2
local function outer(x)
  local function middle(y)
    local function inner(z)
      local w = z + a
      return w + b + x + y, debug.getinfo(1, "l").currentline
    end
    return inner
  end
  return middle
end
local inner = outer(10)(20)
local names = {}
for i = 1, 4 do names[#names + 1] = (debug.getupvalue(inner, i)) end
local info = debug.getinfo(inner, "S")
local sum, line = inner(30)
local ok, err = pcall(inner, {})
return table.concat(names, " "), info.linedefined, info.lastlinedefined, sum, line,
       (err:gsub("^.-:(%d+):", "%1:"))
""")
    assert ours == reference


def test_stripped_chunks_strip_the_functions_generated_later():
    ours, reference = run_both("""\
local f = load(string.dump(function(a)
  local function g(b)
    local function h() return a + b end
    return h
  end
  return g
end, true))
local g = f(1)
local h = g(2)
local ok, err = pcall(function() return h() end)
return (debug.getupvalue(h, 1)), (debug.getupvalue(g, 1)), tostring(ok), err
""")
    assert ours == reference


def test_a_stripped_dump_of_a_function_generated_later_keeps_its_text():
    runtime = LuaRuntime(profile="standard")
    assert runtime.execute("""\
local function outer(k)
  return function(x) return function(y) return x * y + k end end
end
local f = load(string.dump(outer(3)(4), true))
debug.setupvalue(f, 1, 5)
debug.setupvalue(f, 2, 1)
return f(2)""") == 11


def test_generating_later_is_charged_to_the_call_that_makes_the_closure():
    # A chunk Lua loaded: the load is charged for the main function only,
    # the call that makes the big function's first closure for generating
    # it; past its budget it fails, and a later attempt generates it whole.
    lua = LuaRuntime(limits=Limits(steps=50_000_000, time=None))
    lua.globals()["src"] = big_function(3000)
    assert lua.execute("f = load(src) return type(f)") == "function"
    tight = LuaRuntime(limits=Limits(steps=1_000_000, time=None))
    tight.globals()["src"] = big_function(3000)
    assert tight.execute("f = load(src) return type(f)") == "function"
    with pytest.raises(LuaLimitError) as info:
        tight.execute("return f()")
    assert info.value.limit == "steps"
    assert lua.execute("local big = f() local t = big({}, 1, 2) return #t, t[7]") == (2999, 15)


def test_the_load_of_code_lua_loaded_is_charged_less_when_generation_waits():
    from luapy.runtime.state import State

    def steps_of(source_setup: str, script: str) -> int:
        lua = LuaRuntime(limits=Limits(steps=10_000_000, time=None))
        lua.globals()["src"] = source_setup
        lua.execute(script)
        st = lua._state
        return st._steps_used + (st._chunk - st.steps_left) if isinstance(st, State) else 0
    eager = never_called("if x then\n" * 12 + "x = x + 1\n" + "end\n" * 12)
    module = big_function(300)
    assert steps_of(module, "f = load(src)") < steps_of(module, "f = load(src) f()") - 300 * 100
    # A function generated at load (too deep to wait) costs its call nothing more.
    assert steps_of(eager, "f = load(src) f()") - steps_of(eager, "f = load(src)") < 1000


# -- The rule that decides, from the tree, what is generated later ------------

def _functions(node):
    """Every ``ast.Function`` under ``node`` (itself included)."""
    from luapy import ast

    found = []
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, (list, tuple)):
            pending.extend(item)
        elif isinstance(item, ast.Node):
            if type(item) is ast.Function:
                found.append(item)
            for cls in type(item).__mro__:
                for name in getattr(cls, "__slots__", ()):
                    if name not in ("line", "binding", "bindings", "scope", "target", "text"):
                        pending.append(getattr(item, name, None))
    return found


def _corpus():
    from pathlib import Path

    from bench.bench_parse import make_module

    root = Path(__file__).parent
    paths = sorted(root.glob("lua/**/*.lua")) + sorted((root.parent.parent / "shared").glob("**/*.lua"))
    return [make_module()] + [path.read_text(encoding="latin-1") for path in paths]


def test_what_the_tree_lets_wait_is_far_from_what_cpython_refuses():
    # Over every script of the test suites: each function ``deferrable``
    # lets wait generates code the load-time rule would not compile eagerly
    # (indentation, brackets), so generating it later hides no refusal.
    import re
    from pathlib import Path

    from luapy.compile.analysis import deferrable
    from luapy.compile.chunk import ChunkCompiler, LAZY_MAX_INDENT, LAZY_MAX_OPENERS
    from luapy.compile.function import FunctionCompiler
    from luapy.errors import LuaSyntaxError
    from luapy.parser import parse
    from luapy.resolve import resolve

    st = LuaRuntime()._state
    checked = refused = 0
    for source in _corpus():
        try:
            tree = parse(source, "t")
            resolve(tree)
        except LuaSyntaxError:
            continue
        compiler = ChunkCompiler(st, "t")
        compiler.defers = False
        FunctionCompiler(compiler, tree.func).compile()
        memo = {}
        for node in _functions(tree.func)[1:]:
            index = compiler.indices[node.text.start]
            first, end, eager = compiler.spans[index]
            if not deferrable(node, memo):
                refused += 1
                continue
            checked += 1
            assert not eager or max(len(line) for line in compiler.source[first:end]) > 100
            for line in compiler.source[first:end]:
                assert len(line) - len(line.lstrip(" ")) <= LAZY_MAX_INDENT, line
                depth = deepest = 0
                for bracket in re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "", line):
                    if bracket in "([{":
                        depth += 1
                        deepest = max(deepest, depth)
                    elif bracket in ")]}":
                        depth -= 1
                assert deepest < LAZY_MAX_OPENERS // 2, line
    # About 500 functions in tests/lua and the bench module; over 1,000
    # more when the official suite is at ../shared.
    with_official_suite = (Path(__file__).parent.parent.parent / "shared" / "lua-5.4.8-tests").is_dir()
    assert checked > (1000 if with_official_suite else 400) and refused > 0


@pytest.mark.parametrize("body", [
    "if x then\n" * 11 + "x = 1\n" + "end\n" * 11,
    "while x do\n" * 4 + "x = 1\n" + "end\n" * 4,
    "do local y <close> = nil\n" * 11 + "end\n" * 11,
    "::a:: ::b:: do ::c:: do ::d:: do ::e:: x = 1 end end end goto a",
    "return " + "a and (" * 11 + "f()" + ")" * 11,
    "return " + "f(" * 21 + "1" + ")" * 21,
    "return " + "{" * 21 + "a" + "}" * 21,
    "local function g() " + "if x then\n" * 11 + "end\n" * 11 + " end",
])
def test_deep_code_is_generated_at_load(body):
    st = LuaRuntime()._state
    main = load_chunk(st, never_called(body), "=t")
    compiler = main.proto.chunk.factories.compiler
    assert not compiler.lazy and len(compiler.protos) >= 2
    shallow = load_chunk(st, never_called("x = 1"), "=t")
    assert [node.name for node, _ in shallow.proto.chunk.factories.compiler.lazy.values()] == ["never"]


def _elseifs(n: int) -> str:
    """An ``if`` whose ``elseif`` conditions need statements (each nests in
    the previous ``else``)."""
    return ("if f() then x = 1\n" + "".join(f"elseif f({k}) then x = {k}\n" for k in range(n)) + "end\n")


@pytest.mark.parametrize("body", [
    "if x then\n" * 10 + "x = f(x) + 1\n" + "end\n" * 10,
    "for i = 1, 2 do\n" * 3 + "if x then x = f(i) end\n" + "end\n" * 3,
    "while x do\n" + "repeat\n" + "for k, v in pairs(x) do\n" + "x = v\n" + "end\n"
    + "until x\n" + "end\n" + "x = 1",
    "do local y <close> = nil\n" * 10 + "x = f()\n" + "end\n" * 10,
    "::a:: do ::b:: do ::c:: x = 1 if x then goto a end end end",
    "if x then\n" + _elseifs(8) + "end\n",
    "return " + "a and (" * 10 + "f()" + ")" * 10,
    "local t = {" + "f(" * 9 + "{a = -#a .. a}" + ")" * 9 + "}",
    "if x then\n" * 2 + "for i = 1, 2 do\n" * 2 + "local z <close> = nil\n"
    + "x = a and f()\n" + "end\n" * 4,
])
def test_code_at_the_rules_edge_stays_within_what_may_wait(body):
    # Each body is as deep as ``deferrable`` lets wait (nesting 10, or an
    # expression 20 deep): what it generates must still be what the
    # load-time rule compiles lazily, far inside what CPython accepts.
    from luapy.compile.analysis import deferrable
    from luapy.compile.chunk import ChunkCompiler
    from luapy.compile.function import FunctionCompiler
    from luapy.parser import parse
    from luapy.resolve import resolve

    tree = parse(never_called(body).replace("local function never()",
                                            "local function never(...)"), "t")
    resolve(tree)
    never = _functions(tree.func)[1]
    assert deferrable(never, {})
    compiler = ChunkCompiler(LuaRuntime()._state, "t")
    compiler.defers = False
    FunctionCompiler(compiler, tree.func).compile()
    first, end, eager = compiler.spans[compiler.indices[never.text.start]]
    assert not eager        # (indentation levels past LAZY_MAX_INDENT, long lines, brackets)
    assert end - first > 10


def test_the_rule_counts_nesting_as_the_compiler_nests():
    from luapy.compile import analysis, statements

    assert analysis._MAX_NESTED_ELSE == statements.MAX_NESTED_ELSE
