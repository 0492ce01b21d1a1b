"""Tests for luapy.parser: tree shapes, literals, lua5.4's syntax errors,
nesting limits and source positions.

Expected error messages were taken from lua5.4 (lupa); ``test_errors_match_lua``
re-checks them against lupa live when it is installed.
"""

from __future__ import annotations

import json
import math
import time

import pytest

from luapy import ast
from luapy import parser as parser_module
from luapy.errors import LuaSyntaxError
from luapy.load import skip_file_header
from luapy.parser import MAX_TREE_DEPTH, parse


# ------------------------------------------------------------------ helpers


def body(src: str) -> list:
    return parse(src, "t").func.body.body


def expr(src: str):
    """The single expression of ``return <src>``."""
    (ret,) = body("return " + src)
    assert isinstance(ret, ast.Return) and len(ret.exprs) == 1
    return ret.exprs[0]


def sx(node):
    """A compact, readable rendering of an expression tree."""
    if isinstance(node, ast.Number):
        return repr(node.value)
    if isinstance(node, ast.String):
        return repr(node.value)
    if isinstance(node, ast.Name):
        return node.name
    if isinstance(node, ast.Nil):
        return "nil"
    if isinstance(node, ast.TrueExpr):
        return "true"
    if isinstance(node, ast.FalseExpr):
        return "false"
    if isinstance(node, ast.Vararg):
        return "..."
    if isinstance(node, ast.BinOp):
        return f"({sx(node.left)} {node.op} {sx(node.right)})"
    if isinstance(node, ast.UnOp):
        return f"({node.op} {sx(node.operand)})"
    if isinstance(node, ast.Concat):
        return "(.. " + " ".join(sx(o) for o in node.operands) + ")"
    if isinstance(node, ast.Paren):
        return f"[{sx(node.expr)}]"
    if isinstance(node, ast.Index):
        return f"{sx(node.obj)}[{sx(node.key)}]"
    if isinstance(node, ast.Call):
        return f"{sx(node.func)}(" + ", ".join(sx(a) for a in node.args) + ")"
    if isinstance(node, ast.MethodCall):
        return f"{sx(node.obj)}:{node.name}(" + ", ".join(sx(a) for a in node.args) + ")"
    if isinstance(node, ast.Table):
        return "{" + ", ".join(
            (f"{sx(f.key)}={sx(f.value)}" if f.key is not None else sx(f.value))
            for f in node.fields) + "}"
    if isinstance(node, ast.Function):
        return f"function({', '.join(node.params)}{', ...' if node.is_vararg else ''})"
    raise AssertionError(f"no rendering for {node!r}")


def syntax_error(src: str, chunkname: str = "t") -> str:
    with pytest.raises(LuaSyntaxError) as info:
        parse(src, chunkname)
    return str(info.value)


# ------------------------------------------------------------- precedence


@pytest.mark.parametrize("src, tree", [
    ("2^3^2", "(2 ^ (3 ^ 2))"),
    ("-x^2", "(- (x ^ 2))"),
    ("2^-3", "(2 ^ (- 3))"),
    ("2^-3^2", "(2 ^ (- (3 ^ 2)))"),
    ("-2^-2", "(- (2 ^ (- 2)))"),
    ("not a == b", "((not a) == b)"),
    ("#t + 1", "((# t) + 1)"),
    ("- - x", "(- (- x))"),
    ("1 .. 2 .. 3", "(.. 1 2 3)"),
    ("a .. b + c .. d", "(.. a (b + c) d)"),
    ("a .. (b .. c)", "(.. a (.. b c))"),
    ("(a .. b) .. c", "(.. (.. a b) c)"),
    ("a .. b == c .. d", "((.. a b) == (.. c d))"),
    ("a or b and c", "(a or (b and c))"),
    ("a and b or c and d", "((a and b) or (c and d))"),
    ("1 + 2 * 3 == 7", "((1 + (2 * 3)) == 7)"),
    ("1 - 2 - 3", "((1 - 2) - 3)"),
    ("8 // 3 % 2 / 1", "(((8 // 3) % 2) / 1)"),
    ("a < b == c", "((a < b) == c)"),
    ("a | b ~ c & d << e", "(a | (b ~ (c & (d << e))))"),
    ("a << b .. c", "(a << (.. b c))"),
    ("a & b == c", "((a & b) == c)"),
    ("~a ~ ~b", "((~ a) ~ (~ b))"),
    ("a >= b or c ~= d", "((a >= b) or (c ~= d))"),
    ("1 + -2", "(1 + (- 2))"),
    ("x.y.z", "x['y']['z']"),
    ("f(1)(2)", "f(1)(2)"),
    ("a:m(1):n()", "a:m(1):n()"),
    ('f"s"', "f('s')"),
    ("f{1, x = 2}", "f({1, 'x'=2})"),
    ("f[[long]]", "f('long')"),
    ("{[1] = a; b, c = d,}", "{1=a, b, 'c'=d}"),
])
def test_precedence_and_shapes(src, tree):
    assert sx(expr(src)) == tree


def test_concat_is_one_flat_node():
    node = expr(" .. ".join(f"x{i}" for i in range(150)))
    assert isinstance(node, ast.Concat)
    assert [o.name for o in node.operands] == [f"x{i}" for i in range(150)]


def test_parens_kept_where_they_matter():
    assert sx(expr("(f())")) == "[f()]"
    assert sx(expr("(...)")) == "[...]"
    assert sx(expr("(a)")) == "[a]"           # stays unassignable
    assert sx(expr("(a.b)")) == "[a['b']]"
    assert sx(expr("(1 + 2) * 3")) == "((1 + 2) * 3)"
    assert sx(expr("((f()))")) == "[f()]"
    assert sx(expr("(f)(x)")) == "[f](x)"


# -------------------------------------------------------------- statements


def test_local_with_attributes():
    (stat,) = body("local x <const>, y <close>, z = 1, 2")
    assert isinstance(stat, ast.Local)
    assert stat.names == ["x", "y", "z"]
    assert stat.attribs == ["const", "close", None]
    assert [sx(e) for e in stat.exprs] == ["1", "2"]
    (stat,) = body("local a")
    assert stat.names == ["a"] and stat.attribs == [None] and stat.exprs == []


def test_function_statements():
    method, plain, local, anon = body(
        "function a.b:c(x, ...) end\nfunction f() end\nlocal function g(a) end\nh = function() end")
    assert isinstance(method, ast.FunctionStat)
    assert sx(method.target) == "a['b']['c']"
    assert method.func.params == ["self", "x"] and method.func.is_vararg
    assert method.func.is_method and method.func.name == "a.b:c"
    assert isinstance(plain.target, ast.Name) and plain.target.name == "f"
    assert plain.func.name == "f" and not plain.func.is_method and plain.func.params == []
    assert isinstance(local, ast.LocalFunction) and local.name == "g"
    assert local.func.name == "g" and local.func.params == ["a"]
    assert anon.exprs[0].name is None
    dotted = body("function a.b.c() end")[0]
    assert dotted.func.name == "a.b.c" and sx(dotted.target) == "a['b']['c']"


def test_control_statements():
    stats = body("""
        do local x end
        while a do break end
        repeat local y until y
        if a then elseif b then else end
        if c then end
        for i = 1, 10 do end
        for i = 10, 1, -1 do end
        for k, v in pairs(t), nil do end
        goto done
        ::done::
        ;;
        f()
        a, b.c, d[1] = 1, 2
        return 1, 2;
    """)
    kinds = [type(s).__name__ for s in stats]
    assert kinds == ["Do", "While", "Repeat", "If", "If", "NumericFor", "NumericFor",
                     "GenericFor", "Goto", "Label", "CallStat", "Assign", "Return"]
    do, while_, repeat, if1, if2, for1, for2, gfor, goto, label, call, assign, ret = stats
    assert isinstance(do.body, ast.Block) and isinstance(do.body.body[0], ast.Local)
    assert isinstance(while_.body.body[0], ast.Break)
    assert sx(repeat.cond) == "y"
    assert [sx(c) for c, _ in if1.tests] == ["a", "b"] and if1.orelse is not None
    assert if2.orelse is None and len(if2.tests) == 1
    assert for1.var == "i" and for1.step is None and sx(for1.stop) == "10"
    assert sx(for2.step) == "(- 1)"
    assert gfor.names == ["k", "v"] and [sx(e) for e in gfor.exprs] == ["pairs(t)", "nil"]
    assert goto.label == "done" and label.name == "done"
    assert sx(call.call) == "f()"
    assert [sx(t) for t in assign.targets] == ["a", "b['c']", "d[1]"]
    assert [sx(e) for e in ret.exprs] == ["1", "2"]


def test_return_forms():
    assert body("return")[0].exprs == []
    assert body("return;")[0].exprs == []
    assert [sx(e) for e in body("do return f() end")[0].body.body[0].exprs] == ["f()"]


def test_call_on_next_line_continues_expression():
    (stat,) = body("local x = f\n(g)")
    assert sx(stat.exprs[0]) == "f(g)"
    stats = body("a = b\n(f)()")
    assert len(stats) == 1 and sx(stats[0].exprs[0]) == "b(f)()"


def test_hash_line_is_only_skipped_in_files():
    # luaL_loadfilex skips it; load() of a string does not (lua5.4).
    assert syntax_error("#!/usr/bin/env lua\nx = 1\n") == "t:1: unexpected symbol near '#'"
    source = skip_file_header("\xef\xbb\xbf#!/usr/bin/env lua\nx = \n")
    assert source == "\nx = \n"
    assert syntax_error(source) == "t:3: unexpected symbol near <eof>"
    assert skip_file_header("#[[ not a long comment\nx = 1") == "\nx = 1"
    assert skip_file_header("# only line") == ""


def test_main_chunk_function():
    chunk = parse("x = 1\ny = 2\n", "main.lua")
    assert chunk.chunkname == "main.lua"
    main = chunk.func
    assert main.name == "main chunk" and main.params == [] and main.is_vararg
    assert main.line == 0 and main.end_line == 3


# ----------------------------------------------------------------- literals


@pytest.mark.parametrize("src, value", [
    ("3", 3), ("0", 0), ("3.", 3.0), (".5", 0.5), ("1e-3", 0.001), ("2E+2", 200.0),
    ("0x10", 16), ("0XfF", 255), ("0xA.8p1", 21.0), ("0x.8", 0.5), ("0x1p-2", 0.25),
    ("0x1P+4", 16.0), ("9223372036854775807", 9223372036854775807),
    ("9223372036854775808", 9.223372036854775808e18),
    ("0xffffffffffffffff", -1), ("0x10000000000000000", 0),
    ("0x7fffffffffffffff", 9223372036854775807), ("1e400", math.inf),
])
def test_numbers(src, value):
    node = expr(src)
    assert isinstance(node, ast.Number)
    assert node.value == value and type(node.value) is type(value)


@pytest.mark.parametrize("src, value", [
    (r'"plain"', "plain"),
    (r"'single \"q\"'", 'single "q"'),
    (r'"\a\b\f\n\r\t\v\\\"\'"', "\a\b\f\n\r\t\v\\\"'"),
    ('"line\\\nbreak"', "line\nbreak"),
    ('"crlf\\\r\nbreak"', "crlf\nbreak"),
    ('"zap\\z   \n\t  end"', "zapend"),
    (r'"\x41\x7a\xff"', "Az\xff"),
    (r'"\65\066\0067\255\0"', "AB\x067\xff\x00"),
    (r'"\u{41}\u{e9}\u{20AC}"', "A\xc3\xa9\xe2\x82\xac"),
    (r'"\u{10FFFF}"', "\xf4\x8f\xbf\xbf"),
    (r'"\u{7FFFFFFF}"', "\xfd\xbf\xbf\xbf\xbf\xbf"),
    (r'"\u{3FFFFFF}"', "\xfb\xbf\xbf\xbf\xbf"),
    ("[[long]]", "long"),
    ("[[\nfirst newline dropped]]", "first newline dropped"),
    ("[[\r\nCRLF dropped]]", "CRLF dropped"),
    ("[==[a]]b]=]c]==]", "a]]b]=]c"),
    ("[[a\r\nb\n\rc\rd]]", "a\nb\nc\nd"),
    ("[=[\n\nkeeps second]=]", "\nkeeps second"),
    ('"\xe9\x00"', "\xe9\x00"),
])
def test_strings(src, value):
    node = expr(src)
    assert isinstance(node, ast.String) and node.value == value


def test_comments_are_skipped():
    stats = body("-- short\nx = 1 --[[ long\ncomment ]] y = 2\n--[==[\n]]\n]==] z = 3 --[ not long\n")
    assert [s.targets[0].name for s in stats] == ["x", "y", "z"]
    assert [s.line for s in stats] == [2, 3, 6]


def test_keyword_values():
    assert sx(expr("{nil, true, false, ...}")) == "{nil, true, false, ...}"


# ------------------------------------------------------------------- errors

ERROR_CASES = [
    ('x = "abc', 't:1: unfinished string near <eof>'),
    ('x = "abc\ny"', 't:1: unfinished string near \'"abc\''),
    ('x = "a\\tb\n', 't:1: unfinished string near \'"a\tb\''),
    ('x = "abc\\q"', 't:1: invalid escape sequence near \'"abc\\q\''),
    ('x = "\\xg1"', 't:1: hexadecimal digit expected near \'"\\xg\''),
    ('x = "\\x5', 't:1: hexadecimal digit expected near \'"\\x5\''),
    ('x="\\256"', 't:1: decimal escape too large near \'"\\256"\''),
    ("x = '\\9999'", "t:1: decimal escape too large near ''\\9999'"),
    ('x = "\\u{110000000}"', 't:1: UTF-8 value too large near \'"\\u{110000000\''),
    ('x="\\u12"', 't:1: missing \'{\' near \'"\\u1\''),
    ('x="\\u{12"', 't:1: missing \'}\' near \'"\\u{12"\''),
    ("x = '\\u{}'", "t:1: hexadecimal digit expected near ''\\u{}'"),
    ('x = [[abc', 't:1: unfinished long string (starting at line 1) near <eof>'),
    ('--[==[ abc\n\n', 't:3: unfinished long comment (starting at line 1) near <eof>'),
    ('x = [=abc', "t:1: invalid long string delimiter near '[='"),
    ('x = [==[\n]=]', 't:2: unfinished long string (starting at line 1) near <eof>'),
    ('x = "a\\z  \n  b', 't:2: unfinished string near <eof>'),
    ("x = '\\", 't:1: unfinished string near <eof>'),
    ('x = 3x', "t:1: malformed number near '3x'"),
    ('x = 1..2', "t:1: malformed number near '1..2'"),
    ('x = 0x', "t:1: malformed number near '0x'"),
    ('x = 0x1p', "t:1: malformed number near '0x1p'"),
    ('x = 1e', "t:1: malformed number near '1e'"),
    ('x = 1e+', "t:1: malformed number near '1e+'"),
    ('x = 1.5.6', "t:1: malformed number near '1.5.6'"),
    ('x = 0xep', "t:1: malformed number near '0xep'"),
    ('x = @', "t:1: unexpected symbol near '@'"),
    ('\x01', "t:1: unexpected symbol near '<\\1>'"),
    ('x = \x80', "t:1: unexpected symbol near '<\\128>'"),
    ('do x = 1', "t:1: 'end' expected near <eof>"),
    ('do\n x = 1', "t:2: 'end' expected (to close 'do' at line 1) near <eof>"),
    ('x = 1 end', "t:1: <eof> expected near 'end'"),
    ('return 1 x', "t:1: <eof> expected near 'x'"),
    ('return 1;;', "t:1: <eof> expected near ';'"),
    ('return return', "t:1: unexpected symbol near 'return'"),
    ('do return end end', "t:1: <eof> expected near 'end'"),
    ('repeat x = 1 end', "t:1: 'until' expected near 'end'"),
    ('if x then else elseif end', "t:1: 'end' expected near 'elseif'"),
    ('while true do\n\nx = 1', "t:3: 'end' expected (to close 'while' at line 1) near <eof>"),
    ('for i = 1, 2 do\n', "t:2: 'end' expected (to close 'for' at line 1) near <eof>"),
    ('for k, v in pairs(t) do\n', "t:2: 'end' expected (to close 'for' at line 1) near <eof>"),
    ('if a then\n elseif b then\n x=1 until', "t:3: 'end' expected (to close 'if' at line 1) near 'until'"),
    ('repeat\n x = 1', "t:2: 'until' expected (to close 'repeat' at line 1) near <eof>"),
    ('x = function()\n return 1', "t:2: 'end' expected (to close 'function' at line 1) near <eof>"),
    ('function f()\n x = 1', "t:2: 'end' expected (to close 'function' at line 1) near <eof>"),
    ('local function f()\n\n', "t:3: 'end' expected (to close 'function' at line 1) near <eof>"),
    ('f(function() end 1)', "t:1: ')' expected near '1'"),
    ('x', 't:1: syntax error near <eof>'),
    ('x y', "t:1: syntax error near 'y'"),
    ('a.b.c', 't:1: syntax error near <eof>'),
    ('x = y z', 't:1: syntax error near <eof>'),
    ('f() = 1', "t:1: syntax error near '='"),
    ('f(), a = 1', "t:1: syntax error near ','"),
    ('f() 1', "t:1: unexpected symbol near '1'"),
    ('(a) = 1', "t:1: syntax error near '='"),
    ('a, (b) = 1, 2', "t:1: syntax error near '='"),
    ('a, b 1', "t:1: '=' expected near '1'"),
    ('x:y() 1', "t:1: unexpected symbol near '1'"),
    ('x.y.z 1', "t:1: syntax error near '1'"),
    ('local x <foo> = 1', "t:1: unknown attribute 'foo'"),
    ('local x < 1', "t:1: <name> expected near '1'"),
    ('local x <const', "t:1: '>' expected near <eof>"),
    ('local x <close>, y <close> = 1', 't:1: multiple to-be-closed variables in local list'),
    ('local 1', "t:1: <name> expected near '1'"),
    ('local function 1', "t:1: <name> expected near '1'"),
    ('local function f.x() end', "t:1: '(' expected near '.'"),
    ('goto 1', "t:1: <name> expected near '1'"),
    ('::a', "t:1: '::' expected near <eof>"),
    ('::a:: ::', 't:1: <name> expected near <eof>'),
    ('for i=1,2 x', "t:1: 'do' expected near 'x'"),
    ('for i=1 x', "t:1: ',' expected near 'x'"),
    ('for i x', "t:1: '=' or 'in' expected near 'x'"),
    ('for i, j x', "t:1: 'in' expected near 'x'"),
    ('for 1', "t:1: <name> expected near '1'"),
    ('if x y', "t:1: 'then' expected near 'y'"),
    ('while x y', "t:1: 'do' expected near 'y'"),
    ('function f(1) end', "t:1: <name> or '...' expected near '1'"),
    ('function f(a,) end', "t:1: <name> or '...' expected near ')'"),
    ('function f(a b)', "t:1: ')' expected near 'b'"),
    ('function f(... x', "t:1: ')' expected near 'x'"),
    ('function f x', "t:1: '(' expected near 'x'"),
    ('function a.b:c.d() end', "t:1: '(' expected near '.'"),
    ('a.b:c = 1', "t:1: function arguments expected near '='"),
    ('x = (1 2)', "t:1: ')' expected near '2'"),
    ('x = (1\n 2)', "t:2: ')' expected (to close '(' at line 1) near '2'"),
    ('f(1 2)', "t:1: ')' expected near '2'"),
    ('f(1\n 2)', "t:2: ')' expected (to close '(' at line 1) near '2'"),
    ('obj:m(1\n 2)', "t:2: ')' expected (to close '(' at line 1) near '2'"),
    ('{1 2}', "t:1: unexpected symbol near '{'"),
    ('x = {1\n 2}', "t:2: '}' expected (to close '{' at line 1) near '2'"),
    ('x = {[1] 2}', "t:1: '=' expected near '2'"),
    ('x = {a = }', "t:1: unexpected symbol near '}'"),
    ('x = {,}', "t:1: unexpected symbol near ','"),
    ('x = a[1 2]', "t:1: ']' expected near '2'"),
    ('x = a[]', "t:1: unexpected symbol near ']'"),
    ('x = a:b', 't:1: function arguments expected near <eof>'),
    ('x = function', "t:1: '(' expected near <eof>"),
    ('x = }', "t:1: unexpected symbol near '}'"),
    ('x = 1 +', 't:1: unexpected symbol near <eof>'),
    ('x = ~= 1', "t:1: unexpected symbol near '~='"),
    ('x = 1\n\n+ ', 't:3: unexpected symbol near <eof>'),
    ('x = a.1', "t:1: unexpected symbol near '.1'"),
    ('x = ...1', "t:1: unexpected symbol near '1'"),
    ('x = .e1', "t:1: unexpected symbol near '.'"),
    ('x = not', 't:1: unexpected symbol near <eof>'),
    ('x = a..', 't:1: unexpected symbol near <eof>'),
    ('f(', 't:1: unexpected symbol near <eof>'),
    ('f(1,', 't:1: unexpected symbol near <eof>'),
    ('x = {', 't:1: unexpected symbol near <eof>'),
    ('function f() return ... end', "t:1: cannot use '...' outside a vararg function near '...'"),
    ('x = (1 + 2)not', "t:1: unexpected symbol near 'not'"),
]


@pytest.mark.parametrize("src, message", ERROR_CASES)
def test_error_messages(src, message):
    assert syntax_error(src) == message


def test_errors_match_lua():
    lupa = pytest.importorskip("lupa")
    lua = lupa.lua54.LuaRuntime()
    load = lua.eval("function(s) local f, e = load(s, '=t') return e end")
    for src, message in ERROR_CASES:
        assert load(src.encode("latin-1")) == message, src


def test_chunkname_in_messages():
    assert syntax_error("x = = 1", '[string "x = = 1"]') == \
        """[string "x = = 1"]:1: unexpected symbol near '='"""


def test_string_token_quoted_as_source_in_messages():
    assert syntax_error('x = 1 "a\\tb"') == "t:1: unexpected symbol near '\"a\tb\"'"
    assert syntax_error("x = 1 [==[\nab]==]") == "t:2: unexpected symbol near '[==[ab]==]'"
    assert syntax_error("x = 1 0x1F") == "t:1: unexpected symbol near '0x1F'"


# ------------------------------------------------------------------ nesting

NESTING = {
    "parentheses": lambda n: "x = " + "(" * n + "1" + ")" * n,
    "tables": lambda n: "x = " + "{" * n + "}" * n,
    "do blocks": lambda n: "do " * n + "end " * n,
    "calls": lambda n: "x = " + "f(" * n + ")" * n,
    "unary minus": lambda n: "x = " + "- " * n + "1",
    "concat": lambda n: "x = " + "1 .. " * n + "1",
    "power": lambda n: "x = " + "2 ^ " * n + "1",
    "index": lambda n: "x = " + "a[" * n + "1" + "]" * n,
    "functions": lambda n: "x = " + "function() return " * n + "1" + " end" * n,
    "if": lambda n: "if x then " * n + "end " * n,
    "targets": lambda n: ",".join(f"a{i}" for i in range(n)) + " = 1",
}


def test_300_nested_parentheses_as_lua():
    # lua5.4 says just "C stack overflow" (its C stack guard knows no
    # position); luapy keeps that text and adds where it happened.
    assert syntax_error("x = " + "(" * 300 + "1" + ")" * 300) == "t:1: C stack overflow"
    assert syntax_error("x = {\n" * 300 + "}" * 300) == "t:301: C stack overflow"


@pytest.mark.parametrize("kind", sorted(NESTING))
def test_nesting_limit_matches_lua(kind):
    lupa = pytest.importorskip("lupa")
    lua = lupa.lua54.LuaRuntime()
    make = NESTING[kind]

    def lua_accepts(src):
        try:
            lua.compile(src)        # loaded from the host, as LuaRuntime.execute
            return True
        except lupa.lua54.LuaSyntaxError:
            return False

    def we_accept(src):
        try:
            parse(src, "t")
            return True
        except LuaSyntaxError as error:
            assert str(error) == "t:1: C stack overflow"
            return False

    for n in (50, 90, 97, 98, 99, 100, 101, 150, 195, 196, 197, 198, 199, 200, 201, 260):
        assert we_accept(make(n)) == lua_accepts(make(n)), (kind, n)


def test_nesting_limit_parameter():
    src = "x = " + "(" * 40 + "1" + ")" * 40
    parse(src, "t")
    with pytest.raises(LuaSyntaxError, match="C stack overflow"):
        parse(src, "t", nesting_limit=40)
    parse(src, "t", nesting_limit=43)


@pytest.mark.parametrize("kind", ["parentheses", "tables", "do blocks", "calls",
                                  "unary minus", "concat"])
def test_100k_nesting_is_a_clean_error(kind):
    start = time.perf_counter()
    assert syntax_error(NESTING[kind](100_000)) == "t:1: C stack overflow"
    assert time.perf_counter() - start < 10   # loose: the machine running the suite may be busy


@pytest.mark.parametrize("src", [
    "x = " + "1 + " * 100_000 + "1",
    "x = " + "a." * 100_000 + "b",
    "x = f" + "()" * 100_000,
    "x = a" + ":m()" * 100_000,
    "x = " + "1 or 2 and " * 2_000 + "1",
])
def test_deep_chains_are_too_complex(src):
    message = syntax_error(src)
    assert message.startswith(f"t:1: expression too complex (more than {MAX_TREE_DEPTH} levels) near ")


def test_long_flat_structures_are_fine():
    parse("x = " + "1 + " * 900 + "1", "t")
    parse("x = " + "a." * 900 + "b", "t")
    parse("local t = {" + "1, " * 50_000 + "}", "t")
    parse("x = 1\n" * 20_000, "t")
    parse("if a then " + "elseif a then " * 5_000 + "end", "t")


def tree_height(node) -> int:
    """Height of the tree under ``node`` (iterative, like the guard)."""
    best = 0
    stack = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        best = max(best, depth)
        if isinstance(item, (list, tuple)):
            stack.extend((child, depth) for child in item)
        elif isinstance(item, ast.Node):
            for cls in type(item).__mro__:
                for name in getattr(cls, "__slots__", ()):
                    child = getattr(item, name, None)
                    if isinstance(child, (ast.Node, list, tuple)) and name != "scope":
                        stack.append((child, depth + 1))
    return best


@pytest.mark.parametrize("src", [
    "x = " + "1 + " * 996 + "1",
    "x = a" + ".c" * 996,
    "x = " + "(" * 190 + "a" + ".b" * 500 + ")" * 190,
    "x = " + "function() return " * 95 + "1" + " end" * 95,
    "x = " + "{" * 150 + "1" + "}" * 150,
    "do " * 190 + "end " * 190,
])
def test_accepted_trees_stay_under_the_depth_cap(src):
    assert tree_height(parse(src, "t").func) <= MAX_TREE_DEPTH


def test_just_past_the_depth_cap():
    assert "expression too complex" in syntax_error("x = " + "1 + " * 1000 + "1")
    assert "expression too complex" in syntax_error("x = a" + ".c" * 1000)


# ---------------------------------------------------------------- positions


def test_node_lines():
    src = (
        "local a = 1\n"              # 1
        "local t = {\n"              # 2
        "  x = 1,\n"                 # 3
        "  [2] = f\n"                # 4
        "    (3),\n"                 # 5
        "}\n"                        # 6
        "function obj.m:meth(a, ...)\n"   # 7
        "  return a\n"               # 8
        "    + 1, ...\n"             # 9
        "end\n"                      # 10
        "while a do\n"               # 11
        "  a = nil\n"                # 12
        "end\n"                      # 13
        "local s = 'x' ..\n"         # 14
        "  y .. z\n"                 # 15
        "print(obj\n"                # 16
        "  .field\n"                 # 17
        "  :method())\n"             # 18
    )
    local_a, local_t, func, while_, local_s, call = body(src)
    assert [s.line for s in (local_a, local_t, func, while_, local_s, call)] == [1, 2, 7, 11, 14, 16]
    table = local_t.exprs[0]
    assert table.line == 2
    assert [f.line for f in table.fields] == [3, 4]
    assert table.fields[1].value.line == 5          # a call is dated by its '('
    f = func.func
    assert (f.line, f.end_line, f.body.line, f.body.end_line) == (7, 10, 7, 10)
    ret = f.body.body[0]
    assert ret.line == 8 and ret.exprs[0].line == 9  # operators carry their own line
    assert (while_.body.line, while_.body.end_line) == (11, 13)
    concat = local_s.exprs[0]
    assert isinstance(concat, ast.Concat) and concat.line == 15   # the last '..'
    method_call = call.call.args[0]
    assert isinstance(method_call, ast.MethodCall) and method_call.line == 18
    assert method_call.obj.line == 17                 # index dated by its key


def test_if_block_lines():
    (stat,) = body("if a then\n  x()\nelseif b then\n  y()\nelse\n  z()\nend")
    (c1, b1), (c2, b2) = stat.tests
    assert (b1.line, b1.end_line) == (1, 3)
    assert (b2.line, b2.end_line) == (3, 5)
    assert (stat.orelse.line, stat.orelse.end_line) == (5, 7)


def test_anonymous_function_lines_follow_lua():
    (stat,) = body("x = function\n(a)\nend")
    func = stat.exprs[0]
    # lua5.4 dates anonymous and local functions by their '(' (linedefined).
    assert (func.line, func.end_line) == (2, 3)


def test_multiline_string_token_line():
    (stat,) = body("x = [[\na\nb]]")
    assert stat.exprs[0].line == 3
    assert body("\n\nf 'x'")[0].line == 3


# ---------------------------------------------------------- table and cache


def test_grammar_found_in_checkout_and_wheel_layouts(tmp_path):
    from pathlib import Path

    repo_grammar = Path(parser_module._grammar_file())
    assert repo_grammar.name == "lua.lark" and repo_grammar.is_file()
    assert repo_grammar.parent.name == "grammar"
    package = tmp_path / "luapy"
    (package / "grammar").mkdir(parents=True)
    (package / "grammar" / "lua.lark").write_text("// wheel copy")
    assert Path(parser_module._grammar_file(package)) == package / "grammar" / "lua.lark"
    with pytest.raises(FileNotFoundError):
        parser_module._grammar_file(tmp_path / "elsewhere" / "luapy")


def parses_with_table(data, monkeypatch) -> bool:
    monkeypatch.setattr(parser_module, "_table", parser_module._Table(data))
    return sx(expr("1 + 2 * f(x)")) == "(1 + (2 * f(x)))"


def test_table_cache_written_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("LUAPY_CACHE_DIR", str(tmp_path))
    first = parser_module._load_table()
    (cached,) = tmp_path.glob("lua-lalr-*.json")
    assert json.loads(cached.read_text()) == first      # reloaded as written
    assert parser_module._load_table() == first
    assert parses_with_table(first, monkeypatch)
    cached.write_text("not json")                  # a damaged cache is rebuilt
    rebuilt = parser_module._load_table()
    assert len(rebuilt["states"]) == len(first["states"])
    assert parses_with_table(rebuilt, monkeypatch)


def test_unwritable_cache_falls_back(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("LUAPY_CACHE_DIR", str(blocker / "sub"))
    assert parses_with_table(parser_module._load_table(), monkeypatch)


# -------------------------------------------------------------- performance


def test_parses_a_module_quickly():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "bench" / "bench_parse.py"
    spec = importlib.util.spec_from_file_location("bench_parse", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    module = bench.make_module()
    parse(module, "m")
    start = time.perf_counter()
    chunk = parse(module, "m")
    elapsed = time.perf_counter() - start
    assert len(chunk.func.body.body) > 100
    assert elapsed < 2.0          # ~20-150 ms; loose: the machine running the suite may be busy


# ------------------------------------------------------ through the runtime


def test_load_reports_syntax_errors_like_lua():
    from luapy import LuaRuntime

    runtime = LuaRuntime()
    sources = ["x = = 1", "x = (1\n 2)", "for i x", "local s = 'abc", "return 1 x",
               "f() = 1", "x = 3x", "goto 1"]
    got = [runtime.execute("return select(2, load(...))", src) for src in sources]
    assert got[0] == """[string "x = = 1"]:1: unexpected symbol near '='"""
    lupa = pytest.importorskip("lupa")
    lua = lupa.lua54.LuaRuntime()
    expected = [lua.execute("return select(2, load(...))", src) for src in sources]
    assert got == expected


def test_parsed_programs_run():
    from luapy import LuaRuntime

    runtime = LuaRuntime()
    assert runtime.execute(r"""
        local t = {f = function(self, a) return a * 2 end}
        local s = "x" .. 1 .. 2 .. [[
y]]
        return t:f(21), #"\u{20AC}", 0xA.8p1, 0xffffffffffffffff, 2^-1, -2^2, s, 7 // 2 | 8
    """) == (42, 3, 21.0, -1, 0.5, -4.0, "x12y", 11)


# -- the fast path for constant fields --------------------------------------------
# Inside a table constructor, ``SEP constant SEP`` skips four reductions; it
# must build the same tree and leave every error worded as before.

@pytest.mark.parametrize("src", [
    "return {1, 2, 3 4}",
    "return {1, 2,",
    "return {1, 'a'; 'b' 'c'}",
    "return {1, 2 = 3}",
    "return {1, 2, 3, }}",
    "return {1, 2; x y}",
    "return {'a', 'b'",
    "return {1, 2, 3 .. }",
    "local t = {1, 2, 3,\n4, 5\n6}",
])
def test_constant_field_errors_match_lua(src):
    lupa = pytest.importorskip("lupa")
    check = lupa.lua54.LuaRuntime().eval(
        "function(s) local f, e = load(s, '=t') return f ~= nil, e end")
    loaded, message = check(src)
    assert not loaded
    assert syntax_error(src) == message


def test_constant_fields_build_the_same_tree_as_general_fields():
    fast = parse("return {1, 'a'; 2.5, 'b', 3}", "t")
    # The same items, each made an expression the fast path doesn't take.
    slow = parse("return {(1), ('a'); (2.5), ('b'), (3)}", "t")
    assert repr(fast.func.body.body[0]) == repr(slow.func.body.body[0])


def test_a_million_constant_fields_parse_in_linear_time():
    start = time.process_time()
    chunk = parse("return {" + "1, 'x', " * 500_000 + "}", "t")
    assert len(chunk.func.body.body[0].exprs[0].fields) == 1_000_000
    assert time.process_time() - start < 30     # loose: a bound on blowups, not a speed test


# -- nesting that never closes ------------------------------------------------------
# errors.lua's ``testrep``: 100 levels of each construct load; 500 levels
# that the source never closes overflow as lparser.c's levels do, before the
# parser would find the source incomplete.

TESTREP = [("local a; a", ",a", "= 1", ",1"), ("local a; a=", "{", "0", "}"),
           ("return ", "(", "2", ")"), ("local function a (x) return x end; return ", "a(", "2.2", ")"),
           ("", "do ", "", " end"), ("", "while a do ", "", " end"),
           ("local a; ", "if a then else ", "", " end"), ("", "function foo () ", "", " end"),
           ("local a = ''; return ", "a..", "'a'", ""), ("local a = 1; return ", "a^", "a", "")]


@pytest.mark.parametrize("init, rep, close, repc", TESTREP, ids=[case[1].strip() for case in TESTREP])
def test_a_hundred_levels_load_and_five_hundred_unclosed_overflow(init, rep, close, repc):
    from luapy import LuaRuntime

    lua = LuaRuntime()
    lua.execute(init + rep * 100 + close + repc * 100)    # loads (and runs)
    with pytest.raises(LuaSyntaxError, match=r"^\(execute\):1: (C stack overflow|.*too many)"):
        lua.execute(init + rep * 500)


def test_a_syntax_error_inside_deep_nesting_is_still_a_syntax_error():
    with pytest.raises(LuaSyntaxError, match=r"unexpected symbol near '\)'"):
        parse("local a; " + "if a then " * 150 + "x = )" + " end" * 150, "=deep")


# -- the lexer reads ahead ----------------------------------------------------------
# Tokens are read in batches ahead of the parser (``_token_batches``); a
# lexical error found ahead, and a progress report due, must still happen
# where the parser reaches them, exactly as when tokens came one at a time.

READ_AHEAD_ERRORS = [
    ('x = )\ny = "abc', "t:1: unexpected symbol near ')'"),
    ("x = 1\n" * 2000 + 'y = "abc', "t:2001: unfinished string near <eof>"),
    ("x = 1\n" * 2000 + 'y = = "abc', "t:2001: unexpected symbol near '='"),
    ('return {1, 2, 3 "abc\n', "t:1: unfinished string near '\"abc'"),
    ("return {" + "1, " * 1500 + "3x}", "t:1: malformed number near '3x'"),
    ("return {" + "1, " * 1500 + "'a\\q'}", "t:1: invalid escape sequence near ''a\\q'"),
    ("y = {" + "1," * 1023 + "\n 1 1}", "t:2: '}' expected (to close '{' at line 1) near '1'"),
    ("y = {" + "1," * 1023 + "\n 'a\\x' }", "t:2: hexadecimal digit expected near ''a\\x''"),
    ("x = 1 --[[ abc", "t:1: unfinished long comment (starting at line 1) near <eof>"),
]


@pytest.mark.parametrize("src, message", READ_AHEAD_ERRORS,
                         ids=[str(i) for i in range(len(READ_AHEAD_ERRORS))])
def test_errors_read_ahead_are_raised_where_the_parser_reaches_them(src, message):
    assert syntax_error(src) == message


@pytest.mark.parametrize("src, reports", [
    ("x = 1\n" * 2000, [4094, 4096, 3810]),            # every 2048 tokens, then the end
    ("x = 1\n" * 2000 + "y = = 1", [4094, 4096]),        # an error before the end's report
    ("x = = 1\n" + "x = 1\n" * 2000, []),                # an error before any report
    ("y = {" + "1," * 1023 + "\n 1 1}", [2049]),
])
def test_progress_is_reported_before_the_token_that_completes_a_stretch(src, reports):
    heard = []
    try:
        parse(src, "t", progress=heard.append)
    except LuaSyntaxError:
        pass
    assert heard == reports


def test_the_lexer_reads_a_bounded_way_ahead_even_on_one_long_line():
    # A megabyte on one line must not be read in one go before the parser
    # (which charges the budgets as it goes) gets its first tokens.
    source = "x = {" + "1, a.b, " * 100_000 + "}"
    batches = parser_module._token_batches(source, 0, parser_module._Lexer(source, "t"))
    sizes = [len(batch) for batch in batches]
    assert len(sizes) > 100
    assert max(sizes) <= 2 * parser_module.BATCH_TOKENS
    assert sum(sizes) - (len(sizes) - 1) == 6 * 100_000 + 5      # the tokens, one $MORE a batch but the last
