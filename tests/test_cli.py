"""The ``luapy`` command, run as a real subprocess like ``lua5.4``."""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from luapy import cli

REPO = Path(__file__).resolve().parent.parent


def command_env(**variables) -> dict:
    """The test's environment without the variables lua reads, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LUA_INIT", "LUA_PATH"))}
    env.update(variables, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return env


def luapy(*args, stdin: str = "", cwd=None, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "luapy", *args], input=stdin.encode("latin-1"),
                          capture_output=True, timeout=60, cwd=cwd, env=command_env(**(env or {})))


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


# -- lua.c's command line ----------------------------------------------------

@pytest.mark.parametrize("argv, bad", [
    (["-h"], "-h"), (["---"], "---"), (["-Ex"], "-Ex"), (["-vv"], "-vv"), (["-iv"], "-iv"),
    (["-Wx"], "-Wx"), (["-e"], "-e"), (["-l"], "-l"), (["-e", "-v"], "-e"),
    (["-v", "-x", "script.lua"], "-x"),
])
def test_collect_args_finds_the_bad_option(argv, bad):
    found = cli.collect_args([b"luapy"] + [a.encode() for a in argv])
    assert found.bad_option == bad.encode()


def test_collect_args_stops_at_the_script():
    found = cli.collect_args([b"luapy", b"-E", b"-W", b"-e", b"x=1", b"-lm", b"s.lua", b"-v"])
    assert found.bad_option is None and found.script == 6
    assert found.ignore_environment and found.execute and not found.version
    assert found.actions == [("W", None), ("e", b"x=1"), ("l", b"m")]
    assert cli.collect_args([b"luapy", b"-i"]).version  # -i implies -v
    assert cli.collect_args([b"luapy", b"--", b"-v"]).script == 2
    assert cli.collect_args([b"luapy", b"--"]).script == 0
    assert cli.collect_args([b"luapy", b"-", b"x"]).script == 1
    assert cli.collect_args([b"luapy", b"-e", b"x"]).script == 0


@pytest.mark.parametrize("option, message", [
    ("-h", "unrecognized option '-h'"), ("-e", "'-e' needs argument"), ("-l", "'-l' needs argument"),
])
def test_bad_option_prints_usage_and_fails(option, message):
    result = luapy(option)
    assert result.returncode == 1 and result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert lines[0] == f"luapy: {message}"
    assert lines[1] == "usage: luapy [options] [script [args]]"
    assert "  -l g=mod  require library 'mod' into global 'g'" in lines


def test_arg_table_holds_the_whole_command_line(tmp_path):
    script = tmp_path / "args.lua"
    script.write_text("assert(#arg == 3 and arg[1] == 'a' and arg[2] == 'b' and arg[3] == 'c')\n"
                      "assert(arg[-1] == '--' and arg[-2] == '-e ' and arg[-3] == 'luapy')\n"
                      "assert(arg[4] == nil and arg[-4] == nil)\n"
                      "local a, b, c = ... assert(a == 'a' and b == 'b' and c == 'c')\n"
                      "print(select('#', ...))\n")
    result = luapy("-e ", "--", str(script), "a", "b", "c")  # "-e " runs an empty command
    assert result.stdout == b"3\n", result.stderr


def test_without_a_script_arg_is_based_on_the_program_name():
    assert luapy("-e", "print(arg[0], arg[1], arg[2], #arg)").stdout == b"luapy\t-e\tprint(arg[0], arg[1], arg[2], #arg)\t2\n"


def test_script_arguments_are_read_from_arg_when_the_script_starts():
    assert luapy("-e", "arg[1] = 100", "-", "x", stdin="print(...)").stdout == b"100\n"
    assert luapy("-", "-h", stdin="print(arg[1])").stdout == b"-h\n"
    result = luapy("-e", "arg = 1", "-", stdin="")
    assert result.returncode == 1 and result.stderr == b"luapy: 'arg' is not a table\n"


def test_lua_init_runs_first_and_sees_arg(tmp_path):
    script = tmp_path / "x.lua"
    script.write_text("print(X)")
    assert luapy(str(script), "3.2", env={"LUA_INIT": "X=tonumber(arg[1])"}).stdout == b"3.2\n"
    assert luapy(str(script), env={"LUA_INIT_5_4": "X=10", "LUA_INIT": "X=3"}).stdout == b"10\n"


def test_lua_init_file_and_error(tmp_path):
    script = tmp_path / "x.lua"
    script.write_text("x = x or 10; print(x); x = x + 1")
    assert luapy(str(script), env={"LUA_INIT": f"@{script}"}).stdout == b"10\n11\n"
    result = luapy("-e", "print 'not reached'", env={"LUA_INIT": "error('msg')"})
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().startswith("luapy: LUA_INIT:1: msg\nstack traceback:\n")
    result = luapy("-e", "", env={"LUA_INIT_5_4": "x ="})
    assert result.stderr == b"luapy: LUA_INIT_5_4:1: unexpected symbol near <eof>\n"


def test_dash_E_ignores_the_environment():
    env = {"LUA_INIT": "error(10)", "LUA_PATH": "xxx"}
    result = luapy("-E", "-e", "print(package.path)", env=env)
    assert result.returncode == 0, result.stderr
    assert b"xxx" not in result.stdout and b"./?.lua" in result.stdout
    assert luapy("-e", "print(package.path)", env={"LUA_PATH": "xxx"}).stdout == b"xxx\n"


def test_dash_l_requires_into_a_global(tmp_path):
    (tmp_path / "mod.lua").write_text("print('loading', ...) return {x = 15}")
    (tmp_path / "lib2-v2.lua").write_text("return {id = function() return true end}")
    env = {"LUA_PATH": "?.lua"}
    result = luapy("-l", "mod", "-lm=mod", "-l", "lib2-v2", "-lstring",
                       "-e", "print(mod.x, m.x, m == mod, lib2.id(), string.upper 'a')", env=env, cwd=tmp_path)
    assert result.stdout == b"loading\tmod\tmod.lua\n15\t15\ttrue\ttrue\tA\n", result.stderr
    result = luapy("-l", "nosuch", "-e", "print 'not reached'", env=env, cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.startswith(b"luapy: module 'nosuch' not found:")


def test_options_run_in_order_and_stop_at_the_first_error():
    assert luapy("-eprint(1)", "-ea=3", "-e", "print(a)").stdout == b"1\n3\n"
    result = luapy("-e", "print(1)", "-e", "error('two')", "-e", "print(3)")
    assert result.returncode == 1 and result.stdout == b"1\n"
    assert luapy("-W", "-e", "print(1)").stdout == b"1\n"


def test_version_line_comes_before_the_rest():
    result = luapy("-v", "-e", "print'hello'")
    assert result.stdout == (cli.VERSION_TEXT + "\nhello\n").encode()


@pytest.mark.parametrize("code, message", [
    ("error{}", "luapy: (error object is a table value)\nstack traceback:\n"),
    ("error(setmetatable({}, {__tostring = function() return 'custom' end}))", "luapy: custom\n"),
    ("error(42)", "luapy: 42\nstack traceback:\n"),
    ("error(nil)", "luapy: (error object is a nil value)\nstack traceback:\n"),
])
def test_error_objects_are_reported_like_lua_c(code, message):
    result = luapy("-e", code)
    assert result.returncode == 1
    assert result.stderr.decode().startswith(message)
    if "traceback" not in message:
        assert result.stderr.decode() == message  # a __tostring message has no traceback


def test_bom_and_first_line_comment_are_skipped(tmp_path):
    script = tmp_path / "bom.lua"
    script.write_bytes(b"\xef\xbb\xbf# comment\nprint(3)")
    assert luapy(str(script)).stdout == b"3\n"
    script.write_bytes(b"\xefprint(3)")
    assert b"unexpected symbol" in luapy(str(script)).stderr


def test_stdin_runs_as_a_file_when_there_is_nothing_else():
    assert luapy(stdin="print(10)\nprint(2)\n").stdout == b"10\n2\n"
    assert luapy("--", stdin="print(arg[0])").stdout == b"luapy\n"
    result = luapy(stdin="  print(\n1, a\n)\n")
    assert result.stdout == b"1\tnil\n"


# -- the read-eval-print loop --------------------------------------------------

def repl(stdin: str, *options: str) -> str:
    return luapy("-e", "_PROMPT='' _PROMPT2=''", *options, "-i", stdin=stdin).stdout.decode()


def test_repl_prints_expressions_and_joins_continuation_lines():
    out = repl("(6*2-6) -- ===\na =\n10\nprint(a)\na")
    # Piped input is echoed after the prompt, as lua5.4 with readline does.
    assert out.splitlines()[1:] == ["(6*2-6) -- ===", "6", "a =", "10", "print(a)", "10", "a", "10", ""]


def test_repl_equals_sign_and_multiple_results():
    assert "b\nc\n" in repl("a = [[b\nc]]\n=a")
    assert "\n1\tnil\t3\n" in repl("return 1, nil, 3")
    assert "\nnil\n" in repl("nil")


def test_repl_reports_errors_without_program_name_and_goes_on():
    result = luapy("-i", stdin="error('x')\n1 + 1\nx = = 1\nprint 'after'\n")
    err = result.stderr.decode()
    assert err.startswith("stdin:1: x\nstack traceback:\n")
    assert "stdin:1: unexpected symbol near '='\n" in err
    assert "2\n" in result.stdout.decode() and "after\n" in result.stdout.decode()
    assert result.returncode == 0


def test_repl_incomplete_input_at_end_is_reported():
    assert luapy("-i", stdin="a.\n").stderr.decode().endswith("near <eof>\n")


def test_repl_prompts_come_from_globals_through_tostring():
    code = "local C = 0; _PROMPT = setmetatable({}, {__tostring = function() C = C + 1; return C end})"
    assert "1 --\n2a = 2\n3\n" in luapy("-e", code, "-i", stdin=" --\na = 2\n").stdout.decode()
    assert luapy("-i", stdin="for i = 1, 2 do\nend\n").stdout.decode().endswith("> for i = 1, 2 do\n>> end\n> \n")


def test_repl_error_calling_print():
    result = luapy("-e", "print = nil", "-i", stdin="10\n")
    assert "error calling 'print' (attempt to call a nil value)" in result.stderr.decode()


# -- the program, signals ---------------------------------------------------------

def test_program_name_is_how_the_command_was_invoked(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", [str(REPO / "luapy" / "__main__.py")])
    assert cli.program_name() == "luapy"
    script = tmp_path / "mylua"
    script.write_text("")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(script)])
    assert cli.program_name() == str(script)  # run by its path: the path
    monkeypatch.setenv("PATH", str(tmp_path))
    assert cli.program_name() == "mylua"  # found on PATH: the name typed


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_ctrl_c_is_an_error_pcall_can_catch_and_a_second_one_ends_the_process():
    code = ("pcall(function() print(12) io.stdout:flush() while true do end end) "
            "print(42) io.stdout:flush() while true do end")
    process = subprocess.Popen([sys.executable, "-m", "luapy", "-e", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=command_env())
    watchdog = threading.Timer(60, process.kill)  # never hang the test run
    watchdog.start()
    try:
        assert process.stdout.readline() == b"12\n"
        process.send_signal(signal.SIGINT)
        assert process.stdout.readline() == b"42\n"  # pcall caught "interrupted!"
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        watchdog.cancel()
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGINT
