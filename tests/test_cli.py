"""The ``luapy`` command, run as a real subprocess like ``lua5.4``."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def luapy(*args, stdin: str = "", cwd=None):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "luapy", *args], input=stdin.encode("latin-1"),
                          capture_output=True, timeout=60, cwd=cwd, env=env)


def test_script_gets_arg_and_varargs(tmp_path):
    script = tmp_path / "show.lua"
    script.write_text("print(arg[0], arg[1], arg[2], arg[-1] ~= nil)\nprint(select('#', ...), ...)\n")
    result = luapy(str(script), "a", "b c")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == f"{script}\ta\tb c\ttrue\n2\ta\tb c\n"


def test_execute_string_and_stdin():
    assert luapy("-e", "print(10 // 3, 10 / 2)").stdout == b"3\t5.0\n"
    assert luapy("-", stdin="print('from stdin')").stdout == b"from stdin\n"
    assert luapy("-e", "x = 1", "-e", "print(x + 1)").stdout == b"2\n"


def test_version():
    result = luapy("-v")
    assert result.returncode == 0
    assert b"Lua 5.4" in result.stdout


def test_uncaught_error_reports_position_and_traceback(tmp_path):
    (tmp_path / "boom.lua").write_text("local function explode()\n  error('kaboom')\nend\nexplode()\n")
    result = luapy("boom.lua", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert lines[0] == "luapy: boom.lua:2: kaboom"
    assert lines[1] == "stack traceback:"
    assert any("boom.lua:4:" in line for line in lines[2:])


def test_long_chunk_names_are_shortened_like_lua(tmp_path):
    deep = tmp_path / ("d" * 80)
    deep.mkdir()
    (deep / "x.lua").write_text("error('e')")
    message = luapy(str(deep / "x.lua")).stderr.decode().splitlines()[0]
    assert message.startswith("luapy: ...") and message.endswith("/x.lua:1: e")


def test_syntax_error_exits_1(tmp_path):
    (tmp_path / "bad.lua").write_text("x = = 1\n")
    result = luapy("bad.lua", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.decode().startswith("luapy: bad.lua:1: unexpected symbol near '='")


def test_missing_script():
    result = luapy("/nonexistent/script.lua")
    assert result.returncode == 1
    assert b"cannot open /nonexistent/script.lua" in result.stderr


@pytest.mark.parametrize("code, status", [("os.exit(3)", 3), ("os.exit(true)", 0), ("os.exit(false)", 1)])
def test_os_exit(code, status):
    assert luapy("-e", code).returncode == status


def test_deep_recursion_and_stack_overflow():
    result = luapy("-e", "local function d(n) if n == 0 then return 0 end return 1 + d(n - 1) end "
                         "print(d(10000)) print(pcall(function() local function f() return 1 + f() end return f() end))")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode().splitlines()
    assert out[0] == "10000"
    assert out[1].startswith("false\t") and out[1].endswith("stack overflow")


def test_standard_profile_has_io_and_files(tmp_path):
    data = tmp_path / "data.txt"
    data.write_bytes(b"one\ntwo\n")
    code = (f"local n = 0 for line in io.lines('{data}') do n = n + 1 end io.write(n, ' ', 1.0, '\\n') "
            f"print(type(io), type(dofile), type(os.getenv))")
    result = luapy("-e", code)
    # io.write formats numbers with %.14g, unlike tostring: 1.0 is written "1".
    assert result.stdout == b"2 1\ntable\tfunction\tfunction\n"


def test_bytes_pass_through_unchanged():
    result = luapy("-e", r"io.write('caf\195\169 \255\n') print(#'é')")
    assert result.stdout == "caf\u00e9 ".encode() + b"\xff\n2\n"


def test_interactive_prints_expression_values():
    result = luapy("-i", stdin="x = 6\nx * 7\nfor i = 1, 2 do\nprint(i)\nend\n")
    out = result.stdout.decode()
    assert "42" in out and "1\n2" in out


def test_require_searches_package_path(tmp_path):
    (tmp_path / "mymod.lua").write_text("return {answer = 42}")
    result = luapy("-e", "print(require('mymod').answer)", cwd=tmp_path)
    assert result.stdout == b"42\n", result.stderr
