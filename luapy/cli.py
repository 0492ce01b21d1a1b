"""The ``luapy`` command: runs scripts the way ``lua5.4`` does.

    luapy [options] [script [args]]

    -e stat   execute string 'stat'
    -i        enter interactive mode after executing 'script'
    -l mod    require library 'mod' into global 'mod'
    -v        show version information
    -E        ignore environment variables (accepted for compatibility)
    -W        turn warnings on (accepted for compatibility)
    --        stop handling options
    -         stop handling options and execute stdin

The script runs in the "standard" profile with no budgets, on a thread with
a large stack so deep (non-tail) recursion behaves like the reference's.
"""

from __future__ import annotations

import os
import sys
import threading

from . import __version__
from .errors import LuaError, LuaException, LuaSyntaxError
from .load import load_chunk, skip_file_header
from .options import UNLIMITED, Options
from .runtime import ops
from .runtime.state import State
from .runtime.values import Table

PROGNAME = "luapy"
VERSION_TEXT = f"luapy {__version__} -- Lua 5.4 in pure Python"
#: Stack for the interpreter thread: deep Lua recursion needs deep Python
#: recursion, and Python < 3.11 uses the C stack for every Python call.
THREAD_STACK_BYTES = 1024 * 1024 * 1024
RECURSION_LIMIT = 2_000_000

USAGE = f"""usage: {PROGNAME} [options] [script [args]]
Available options are:
  -e stat   execute string 'stat'
  -i        enter interactive mode after executing 'script'
  -l mod    require library 'mod' into global 'mod'
  -v        show version information
  -E        ignore environment variables
  -W        turn warnings on
  --        stop handling options
  -         stop handling options and execute stdin
"""


class _Usage(Exception):
    pass


def _parse_args(argv: list[str]):
    """Split argv like lua.c's collectargs: (actions, flags, script index)."""
    actions: list[tuple[str, str]] = []
    interactive = version = False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            i += 1
            break
        if a == "-" or not a.startswith("-"):
            break
        if a == "-i":
            interactive = version = True
        elif a == "-v":
            version = True
        elif a in ("-E", "-W"):
            pass
        elif a.startswith("-e") or a.startswith("-l"):
            value = a[2:]
            if not value:
                i += 1
                if i >= len(argv):
                    raise _Usage(f"'{a}' needs argument")
                value = argv[i]
            actions.append((a[1], value))
        else:
            raise _Usage(f"unrecognized option '{a}'")
        i += 1
    return actions, interactive, version, i


class Interpreter:
    """One command-line session: a standard-profile runtime with stdio."""

    def __init__(self):
        options = Options(profile="standard", limits=UNLIMITED)
        self.st = State(options)
        out = sys.stdout.buffer

        def write_stdout(text: str) -> None:
            out.write(text.encode("latin-1"))
        self.st.write_stdout = write_stdout
        from .stdlib import open_libs
        open_libs(self.st)

    def run_chunk(self, source: str, chunkname: str, args=()) -> tuple:
        function = load_chunk(self.st, source, chunkname)
        return ops.call(self.st, function, args)

    def report(self, error: BaseException) -> None:
        sys.stdout.flush()
        message = _error_text(error)
        lines = [f"{PROGNAME}: {message}", "stack traceback:"]
        if isinstance(error, LuaException):
            for entry in error.lua_traceback[:20]:
                lines.append(f"\t{entry}")
        lines.append("\t[C]: in ?")
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()


def _error_text(error: BaseException) -> str:
    if isinstance(error, LuaException):
        value = error.value
        if isinstance(value, str):
            return value
        if value is None:
            return "nil"
        try:
            from .runtime.values import tostring_basic
            if isinstance(value, Table) and value.meta is not None and value.meta.get("__tostring") is not None:
                return str(error)
            return f"(error object is a {tostring_basic(value).split(':')[0]} value)"
        except Exception:
            return "(error object is not a string)"
    return str(error)


def _to_lua(text: str) -> str:
    return os.fsencode(text).decode("latin-1")


def _main(argv: list[str]) -> int:
    try:
        actions, interactive, show_version, script_index = _parse_args(argv)
    except _Usage as problem:
        sys.stderr.write(f"{PROGNAME}: {problem}\n{USAGE}")
        return 1
    session = Interpreter()
    st = session.st
    script = argv[script_index] if script_index < len(argv) else None
    script_args = [_to_lua(a) for a in argv[script_index + 1:]] if script is not None else []

    arg_table = Table()
    arg_table.set(-script_index - 1 if script is not None else -len(argv) - 1, PROGNAME)
    for position, value in enumerate(argv):
        arg_table.set(position - script_index, _to_lua(value))
    st.globals.set("arg", arg_table)

    if show_version:
        print(VERSION_TEXT, flush=True)
    try:
        for kind, value in actions:
            if kind == "e":
                session.run_chunk(_to_lua(value), "=(command line)")
            else:
                module = ops.call(st, st.globals.get("require"), (_to_lua(value),))
                st.globals.set(_to_lua(value), module[0] if module else None)
        if script is not None:
            if script == "-":
                source = sys.stdin.buffer.read().decode("latin-1")
                chunkname = "=stdin"
            else:
                try:
                    with open(script, "rb") as handle:
                        source = handle.read().decode("latin-1")
                except OSError:
                    sys.stderr.write(f"{PROGNAME}: cannot open {script}\n")
                    return 1
                chunkname = "@" + _to_lua(script)
            source = skip_file_header(source)
            session.run_chunk(source, chunkname, tuple(script_args))
        elif not actions and not show_version:
            if sys.stdin.isatty():
                interactive = True
                print(VERSION_TEXT, flush=True)
            else:
                source = sys.stdin.buffer.read().decode("latin-1")
                session.run_chunk(source, "=stdin")
    except (LuaError, LuaException) as error:
        session.report(error)
        return 1
    finally:
        sys.stdout.flush()
    if interactive:
        repl(session)
    return 0


def repl(session: Interpreter) -> None:
    """lua.c's interactive loop: expressions print their values."""
    st = session.st
    while True:
        try:
            line = input("> ")
        except EOFError:
            print()
            return
        except KeyboardInterrupt:
            print()
            continue
        source = _to_lua(line)
        while True:
            try:
                function = _compile_interactive(session, source)
                break
            except LuaSyntaxError as error:
                if str(error.value).endswith("<eof>"):
                    try:
                        more = input(">> ")
                    except EOFError:
                        print()
                        return
                    source += "\n" + _to_lua(more)
                    continue
                session.report(error)
                function = None
                break
        if function is None:
            continue
        try:
            results = ops.call(st, function, ())
        except LuaException as error:
            session.report(error)
            continue
        except KeyboardInterrupt:
            sys.stderr.write("interrupted!\n")
            continue
        if results:
            st.write_stdout("\t".join(ops.tostring(st, v) for v in results) + "\n")
        sys.stdout.flush()


def _compile_interactive(session: Interpreter, source: str):
    try:
        return load_chunk(session.st, "return " + source, "=stdin")
    except LuaSyntaxError:
        return load_chunk(session.st, source, "=stdin")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run ``_main`` on a big-stack thread and exit with its code."""
    argv = sys.argv[1:] if argv is None else argv
    outcome: list = [1]

    def target():
        try:
            outcome[0] = _main(argv)
        except SystemExit as exit_request:
            code = exit_request.code
            outcome[0] = code if isinstance(code, int) else (0 if code is None else 1)
        except RecursionError:
            sys.stderr.write(f"{PROGNAME}: stack overflow\n")
            outcome[0] = 1
        except KeyboardInterrupt:
            sys.stderr.write(f"{PROGNAME}: interrupted!\n")
            outcome[0] = 130

    previous_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(RECURSION_LIMIT)
    previous_stack = threading.stack_size()
    try:
        threading.stack_size(THREAD_STACK_BYTES)
    except (ValueError, RuntimeError):
        pass
    try:
        worker = threading.Thread(target=target, name="luapy-main")
        worker.start()
    finally:
        threading.stack_size(previous_stack)
    worker.join()
    sys.setrecursionlimit(previous_limit)
    try:
        sys.stdout.flush()
    except Exception:
        pass
    return outcome[0]


if __name__ == "__main__":
    sys.exit(main())
