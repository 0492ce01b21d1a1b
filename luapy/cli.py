"""The ``luapy`` command: runs scripts the way ``lua`` 5.4.8 (``lua.c``) does.

    luapy [options] [script [args]]

Options, environment, the ``arg`` table, messages and exit statuses follow
``lua.c`` step by step; each function below is named after the one of
``lua.c`` it mirrors.  Everything runs in one ``LuaRuntime`` of the
"standard" profile with no budgets (``luapy.UNLIMITED``), whose calls run on
a deep-stack thread, so deep (non-tail) recursion behaves like lua5.4's.

The program name (in messages and at the bottom of ``arg``) is ``luapy``,
or the path of the console script when it was run by its path.  There are
no C modules (so no ``LUA_CPATH``).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from . import __version__
from .api import LuaRuntime, LuaTable
from .errors import LuaError, LuaException, LuaLimitError, LuaSyntaxError
from .options import UNLIMITED
from .runtime.values import Table, Userdata, number_to_str, type_name
from .stdlib.package import LUA_PATH_DEFAULT

PROGNAME = "luapy"
VERSION_TEXT = f"luapy {__version__} -- Lua 5.4 in pure Python"
#: lua.c's LUA_INIT_VAR, and the same name with the version suffix (tried first).
INIT_VARIABLES = ("LUA_INIT_5_4", "LUA_INIT")
PROMPT, PROMPT2 = "> ", ">> "
#: The end of a syntax error that more input could fix (lua.c's EOFMARK).
EOF_MARK = "<eof>"
#: lua.c's LUA_IGMARK: ``-l lib-v2`` stores ``require "lib-v2"`` in ``lib``.
IGNORE_MARK = b"-"

USAGE = """usage: {0} [options] [script [args]]
Available options are:
  -e stat   execute string 'stat'
  -i        enter interactive mode after executing 'script'
  -l mod    require library 'mod' into global 'mod'
  -l g=mod  require library 'mod' into global 'g'
  -v        show version information
  -E        ignore environment variables
  -W        turn warnings on
  --        stop handling options
  -         stop handling options and execute stdin
"""


@dataclass
class Arguments:
    """What ``collectargs`` finds in argv before any Lua code runs."""

    #: Index in argv of the script; 0 when there is none.
    script: int = 0
    #: The bad option, when argv has one (then nothing runs).
    bad_option: bytes | None = None
    interactive: bool = False
    version: bool = False
    execute: bool = False
    ignore_environment: bool = False
    #: Options that run in order before the script: ("e"|"l"|"W", value).
    actions: list = field(default_factory=list)


def collect_args(argv: list[bytes]) -> Arguments:
    """lua.c's ``collectargs``; ``argv[0]`` is the program name."""
    found = Arguments()
    i = 1
    while i < len(argv):
        option = argv[i]
        found.script = i
        if not option.startswith(b"-"):
            return found
        kind, extra = option[1:2], option[2:]
        if kind == b"-":
            if extra:
                return _bad(found, option)
            # Nothing after "--" is no script at all (lua.c 5.3's reading).
            found.script = i + 1 if i + 1 < len(argv) else 0
            return found
        if kind == b"":
            return found  # the script is "-": stdin
        if kind in (b"E", b"W", b"i", b"v"):
            if extra:
                return _bad(found, option)
            if kind == b"E":
                found.ignore_environment = True
            elif kind == b"W":
                found.actions.append(("W", None))
            else:
                found.interactive = found.interactive or kind == b"i"
                found.version = True  # -i implies -v
        elif kind in (b"e", b"l"):
            if not extra:
                i += 1
                if i >= len(argv) or argv[i].startswith(b"-"):
                    return _bad(found, option)
                extra = argv[i]
            found.execute = found.execute or kind == b"e"
            found.actions.append((kind.decode(), extra))
        else:
            return _bad(found, option)
        i += 1
    found.script = 0
    return found


def _bad(found: Arguments, option: bytes) -> Arguments:
    found.bad_option = option
    return found


class Interpreter:
    """One run of the command: a runtime and lua.c's ways of calling it."""

    def __init__(self, progname: str = PROGNAME):
        #: Prefix of error messages; None in interactive mode, as lua.c.
        self.progname: str | None = progname
        self.runtime = LuaRuntime(profile="standard", limits=UNLIMITED, encoding=None)
        self.globals: LuaTable = self.runtime.globals()
        # lua.c reaches these through the C API, so no script can replace
        # them: take them before any Lua code runs.
        self._loadfile = self.globals["loadfile"]
        self._tostring = self.globals["tostring"]
        self._warn = self.globals["warn"]

    def pmain(self, argv: list[bytes], args: Arguments) -> bool:
        """lua.c's ``pmain`` once the options are known to be valid."""
        if args.ignore_environment:
            self.ignore_environment()
        self.create_arg_table(argv, args.script)
        if not args.ignore_environment and not self.handle_luainit():
            return False
        if not self.run_args(args.actions):
            return False
        if args.script:
            if not self.handle_script(argv, args.script):
                return False
        if args.interactive:
            self.repl()
        elif not args.script and not (args.execute or args.version):
            if sys.stdin.isatty():
                print_version()
                self.repl()
            elif not self.dofile(None):
                return False
        return True

    def close(self) -> None:
        """``lua_close``, as far as luapy has one: suspended coroutines are
        closed and open files flushed."""
        self.runtime.close()

    # -- lua.c's report, msghandler, docall ---------------------------------

    def report(self, message: str) -> None:
        """``l_message``: the message, after the program name if any."""
        sys.stdout.flush()
        prefix = f"{self.progname}: " if self.progname else ""
        _write_stderr(prefix + message + "\n")

    def error_message(self, error: LuaException) -> str:
        """``msghandler``: the error as text, with a traceback."""
        value = getattr(error.value, "_value", error.value)  # a LuaTable... is given as the Lua value
        if isinstance(error, LuaLimitError):
            text = str(error)
        elif isinstance(value, str):
            text = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            text = number_to_str(value)
        else:
            handler = _metafield(value, "__tostring")
            if handler is not None:
                results = self.runtime.call_raw(handler, [value])
                if results and isinstance(results[0], str):
                    return results[0]  # lua.c adds no traceback to these
            text = f"(error object is a {type_name(value)} value)"
        return "\n".join([text, "stack traceback:",
                          *(f"\t{entry}" for entry in error.lua_traceback[:20]), "\t[C]: in ?"])

    def docall(self, function, *args) -> tuple | None:
        """Call in protected mode: the results, or None once reported."""
        try:
            with self._ctrl_c_interrupts():
                return self.runtime.call_all(function, *args)
        except LuaException as error:
            try:
                message = self.error_message(error)
            except LuaException as second:  # a failing __tostring
                message = f"error in error handling ({second})"
            self.report(message)
            return None

    @contextmanager
    def _ctrl_c_interrupts(self):
        """lua.c's ``laction`` while a chunk runs: the first Ctrl-C is the
        Lua error "interrupted!" (which pcall can catch), a second one ends
        the process."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, self._on_ctrl_c)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _on_ctrl_c(self, signum, frame) -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if not self.runtime.interrupt(Interrupted):
            raise KeyboardInterrupt

    # -- chunks ---------------------------------------------------------------

    def dostring(self, source: bytes, chunkname: str) -> bool:
        try:
            function = self.runtime.compile(source, name=chunkname)
        except LuaSyntaxError as error:
            self.report(str(error))
            return False
        return self.docall(function) is not None

    def loadfile(self, filename: bytes | None):
        """``luaL_loadfile`` (stdin for None): the function, or None once reported."""
        loaded = self.runtime.call_all(self._loadfile, filename)
        if loaded[0] is None:
            self.report(_text(loaded[1]))
            return None
        return loaded[0]

    def dofile(self, filename: bytes | None) -> bool:
        function = self.loadfile(filename)
        return function is not None and self.docall(function) is not None

    def dolibrary(self, spec: bytes) -> bool:
        """``-l g=mod`` or ``-l mod``: ``g = require(mod)``."""
        global_name, equals, module_name = spec.partition(b"=")
        if not equals:
            module_name = global_name
            global_name = global_name.split(IGNORE_MARK, 1)[0]
        results = self.docall(self.globals["require"], module_name)
        if results is None:
            return False
        self.globals[global_name] = results[0] if results else None
        return True

    # -- pmain's steps --------------------------------------------------------

    def create_arg_table(self, argv: list[bytes], script: int) -> None:
        """``arg``: the script at 0, its arguments above, the rest below."""
        table = self.runtime.table()
        for i, value in enumerate(argv):
            table[i - script] = value
        self.globals["arg"] = table

    def ignore_environment(self) -> None:
        """``-E``: the library paths as if no LUA_PATH were set."""
        self.globals["package"]["path"] = LUA_PATH_DEFAULT

    def handle_luainit(self) -> bool:
        for name in INIT_VARIABLES:
            init = _environ(name)
            if init is not None:
                if init.startswith(b"@"):
                    return self.dofile(init[1:])
                return self.dostring(init, "=" + name)
        return True

    def run_args(self, actions: list) -> bool:
        """``-e``, ``-l`` and ``-W``, in command-line order."""
        for kind, value in actions:
            if kind == "W":
                if self._warn is not None:
                    self.runtime.call_all(self._warn, b"@on")
            elif not (self.dostring(value, "=(command line)") if kind == "e"
                      else self.dolibrary(value)):
                return False
        return True

    def handle_script(self, argv: list[bytes], script: int) -> bool:
        filename = argv[script]
        if filename == b"-" and argv[script - 1] != b"--":
            filename = None  # stdin
        function = self.loadfile(filename)
        if function is None:
            return False
        args = self.push_args()
        return args is not None and self.docall(function, *args) is not None

    def push_args(self) -> list | None:
        """``pushargs``: ``arg[1..#arg]``, read when the script starts."""
        table = self.globals["arg"]
        if not isinstance(table, LuaTable):
            self.report("'arg' is not a table")
            return None
        return [table[i] for i in range(1, len(table) + 1)]

    # -- the read-eval-print loop ------------------------------------------------

    def repl(self) -> None:
        """``doREPL``: expressions print their values; errors don't stop it."""
        progname, self.progname = self.progname, None
        while True:
            function = self.load_line()
            if function is None:
                break
            if function is _NOTHING:
                continue
            results = self.docall(function)
            if results:
                self.print_results(results)
        sys.stdout.flush()
        _write_stdout("\n")
        self.progname = progname

    def load_line(self):
        """``loadline``: a compiled line, _NOTHING after an error, None at the end."""
        line = self.read_line(first=True)
        if line is None:
            return None
        try:  # lua.c's addreturn: an expression prints its values
            return self.runtime.compile(b"return " + line + b";", name="=stdin")
        except LuaSyntaxError:
            pass
        while True:  # lua.c's multiline
            try:
                return self.runtime.compile(line, name="=stdin")
            except LuaSyntaxError as error:
                incomplete = str(error).endswith(EOF_MARK)
                more = self.read_line(first=False) if incomplete else None
                if more is None:
                    self.report(str(error))
                    return _NOTHING
                line += b"\n" + more

    def read_line(self, first: bool) -> bytes | None:
        """``pushline``: show the prompt, read a line without its newline."""
        prompt = self.prompt(first)
        if sys.stdin.isatty():
            try:
                line = os.fsencode(input(prompt.decode("utf-8", "replace")))
            except EOFError:
                return None
        else:
            # As lua5.4 with readline shows piped input: prompt, then the line.
            _write_stdout(prompt.decode("latin-1"))
            line = sys.stdin.buffer.readline()
            if not line:
                return None
            line = line[:-1] if line.endswith(b"\n") else line
            _write_stdout(line.decode("latin-1") + "\n")
            sys.stdout.flush()
        if first and line.startswith(b"="):  # 5.2's "=expression"
            line = b"return " + line[1:]
        return line

    def prompt(self, first: bool) -> bytes:
        value = self.globals["_PROMPT" if first else "_PROMPT2"]
        if value is None:
            return (PROMPT if first else PROMPT2).encode()
        shown = self.docall(self._tostring, value)
        return shown[0] if shown and isinstance(shown[0], bytes) else b""

    def print_results(self, results: tuple) -> None:
        """``l_print``: through the global ``print``, whatever it is now."""
        try:
            self.runtime.call_all(self.globals["print"], *results)
        except LuaException as error:
            self.report(f"error calling 'print' ({error})")


class Interrupted(LuaError):
    """What Ctrl-C raises in the running chunk (lua.c's ``lstop``)."""

    def __init__(self):
        super().__init__("interrupted!")


#: load_line's answer for a line that failed to compile (already reported).
_NOTHING = object()


def _metafield(value, name: str):
    """``luaL_getmetafield`` (raw) for the values that have metatables."""
    meta = value.meta if isinstance(value, (Table, Userdata)) else None
    return meta.get(name) if meta is not None else None


def _environ(name: str) -> bytes | None:
    environ = getattr(os, "environb", None)
    if environ is not None:
        return environ.get(name.encode())
    value = os.environ.get(name)
    return None if value is None else os.fsencode(value)


def _text(value) -> str:
    """A Lua string handed back by the runtime (bytes) as lua.c prints it."""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _write_stdout(text: str) -> None:
    sys.stdout.buffer.write(text.encode("latin-1", "replace"))


def _write_stderr(text: str) -> None:
    sys.stdout.flush()
    sys.stderr.buffer.write(text.encode("latin-1", "replace"))
    sys.stderr.flush()


def print_usage(progname: str, bad_option: bytes) -> None:
    option = bad_option.decode("latin-1")
    if bad_option[1:2] in (b"e", b"l"):
        problem = f"'{option}' needs argument"
    else:
        problem = f"unrecognized option '{option}'"
    _write_stderr(f"{progname}: {problem}\n" + USAGE.format(progname))


def print_version() -> None:
    _write_stdout(VERSION_TEXT + "\n")
    sys.stdout.flush()


def run(argv: list[bytes], progname: str = PROGNAME) -> bool:
    """lua.c's ``pmain``: True when everything ran without an error."""
    args = collect_args(argv)
    if args.bad_option is not None:
        print_usage(progname, args.bad_option)
        return False
    if args.version:
        print_version()
    session = Interpreter(progname)
    try:
        return session.pmain(argv, args)
    finally:
        session.close()


def program_name() -> str:
    """What lua.c's ``argv[0]`` would be: how the command was invoked.

    ``python -m luapy`` is ``luapy``.  A console script gets its full path
    from the kernel even when it was found on PATH, where the user typed
    only its name: then the name is what ``lua.c`` would have seen.
    """
    invoked = sys.argv[0] if sys.argv else ""
    name = os.path.basename(invoked)
    if invoked in ("", "-c") or name == "__main__.py":
        return PROGNAME
    return name if shutil.which(name) == invoked else invoked


def main(argv: list[str] | None = None, progname: str | None = None) -> int:
    """Entry point of the ``luapy`` command: the process's exit status."""
    argv = sys.argv[1:] if argv is None else argv
    progname = progname or program_name()
    arguments = [os.fsencode(progname)] + [os.fsencode(a) for a in argv]
    try:
        return 0 if run(arguments, progname) else 1
    except KeyboardInterrupt:
        _write_stderr(f"{progname}: interrupted!\n")
        return 130
    except Exception as error:  # a bug in luapy: one line, never a Python traceback
        _write_stderr(f"{progname}: internal error: {type(error).__name__}: {error}\n")
        return 1
    finally:
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass


if __name__ == "__main__":
    sys.exit(main())
