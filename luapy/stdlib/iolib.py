"""The ``io`` library (Lua 5.4 manual §6.8), ported from ``liolib.c``.

Only the ``standard`` profile opens it.  A file handle is a ``Userdata``
whose payload is a ``LuaFile`` and whose metatable (one per runtime) has
``__name = "FILE*"``, the method table as ``__index``, ``__tostring``,
``__close`` and ``__gc``.

Lua strings are bytes held in latin-1 ``str``; they are encoded to bytes
only at the file boundary.  ``io.stdout`` writes through
``st.write_stdout`` so a host (or a test) that redirects ``print`` also
captures ``io.write``.  ``io.popen`` raises "'popen' not supported", as a
lua5.4 built without popen does.
"""

from __future__ import annotations

import atexit
import errno
import io
import os
import sys
import tempfile
import weakref
from typing import TYPE_CHECKING

from ..errors import LuaError
from ..runtime import ops
from ..runtime.args import (
    arg_error, check_int, check_str, opt_int, opt_str, register, type_error,
)
from ..runtime.values import Function, Table, Userdata, address_of, number_to_str
from .oslib import file_failure

if TYPE_CHECKING:
    from ..runtime.state import State

#: How much a single read asks the OS for (and charges) at a time.
_CHUNK = 65536
#: ``L_MAXLENNUM``: the longest numeral ``read("n")`` accepts.
_MAX_NUMERAL = 200
#: ``MAXARGLINE``: how many formats ``lines`` may carry.
_MAX_LINE_FORMATS = 250
_SEEK_MODES = {"set": os.SEEK_SET, "cur": os.SEEK_CUR, "end": os.SEEK_END}
_BUFFER_MODES = ("no", "full", "line")


def _bad_descriptor() -> OSError:
    return OSError(errno.EBADF, os.strerror(errno.EBADF))


def _mode_is_valid(mode: str) -> bool:
    """``l_checkmode``: ``[rwa]%+?b*``."""
    if not mode or mode[0] not in "rwa":
        return False
    rest = mode[1:]
    if rest.startswith("+"):
        rest = rest[1:]
    return rest.strip("b") == ""


def _python_mode(mode: str) -> str:
    return mode[0] + ("+" if "+" in mode else "") + "b"


class LuaFile:
    """One open (or closed) Lua file: a binary stream plus Lua's bookkeeping."""

    __slots__ = ("stream", "closed", "standard", "buffering", "st", "__weakref__")

    def __init__(self, st: State, stream, standard: str | None = None):
        self.st = st
        #: A binary file object, or None for the standard streams, which are
        #: looked up on ``sys`` at each use (so redirection keeps working).
        self.stream = stream
        self.closed = False
        #: "stdin", "stdout", "stderr" or None.
        self.standard = standard
        self.buffering = "full"
        if stream is not None:
            _OPEN_FILES.add(self)

    # -- the underlying streams -------------------------------------------

    def reader(self):
        if self.standard == "stdin":
            return getattr(sys.stdin, "buffer", None) or _unreadable()
        if self.standard is not None:
            raise _bad_descriptor()
        return self.stream

    def write(self, data: str) -> None:
        if self.standard == "stdout":
            self.st.write_stdout(data)
            if self.buffering != "full":
                self.flush()
            return
        if self.standard == "stderr":
            err = sys.stderr
            target = getattr(err, "buffer", None)
            if target is not None:
                err.flush()
                target.write(data.encode("latin-1"))
                target.flush()
            else:
                err.write(data)
            return
        if self.standard == "stdin":
            raise _bad_descriptor()
        self.stream.write(data.encode("latin-1"))
        if self.buffering == "no" or (self.buffering == "line" and "\n" in data):
            self.stream.flush()

    def flush(self) -> None:
        if self.standard == "stdout":
            sys.stdout.flush()
        elif self.standard == "stderr":
            sys.stderr.flush()
        elif self.stream is not None:
            self.stream.flush()

    def seek(self, offset: int, whence: int) -> int:
        if self.standard is not None:
            raise OSError(errno.ESPIPE, os.strerror(errno.ESPIPE))
        return self.stream.seek(offset, whence)

    def close(self) -> None:
        self.closed = True
        if self.stream is not None:
            _OPEN_FILES.discard(self)
            self.stream.close()


#: Every open file of every runtime, held weakly.  A file dropped by its
#: program is flushed by its stream's own finalizer; these are flushed at
#: interpreter exit too, when finalizers may no longer run, as C's ``exit``
#: flushes every ``FILE``.  The standard streams are never in it (Python
#: owns them and flushes them itself).
_OPEN_FILES: weakref.WeakSet[LuaFile] = weakref.WeakSet()


def flush_open_files(st: State | None = None) -> None:
    """Flush the open files of ``st`` (of every runtime if None), as
    ``lua_close`` does for a closing runtime; errors are ignored there too."""
    for lua_file in list(_OPEN_FILES):
        if st is None or lua_file.st is st:
            try:
                lua_file.stream.flush()
            except (OSError, ValueError):
                pass


atexit.register(flush_open_files)


def _unreadable():
    raise _bad_descriptor()


# ------------------------------------------------------------ reading


def _peek_byte(fh) -> bytes:
    """The next byte without consuming it (``getc`` + ``ungetc``)."""
    peek = getattr(fh, "peek", None)
    if peek is not None:
        return peek(1)[:1]
    position = fh.tell()
    byte = fh.read(1)
    fh.seek(position)
    return byte


def _read_line(st: State, fh, keep_newline: bool):
    parts = []
    while True:
        chunk = fh.readline(_CHUNK)
        st.charge_memory(len(chunk))
        st.charge(1 + (len(chunk) >> 6))
        parts.append(chunk)
        if not chunk or chunk.endswith(b"\n") or len(chunk) < _CHUNK:
            break
    data = b"".join(parts)
    if not data:
        return None  # EOF: the read fails
    if not keep_newline and data.endswith(b"\n"):
        data = data[:-1]
    return data.decode("latin-1")


def _read_all(st: State, fh) -> str:
    parts = []
    while True:
        chunk = fh.read(_CHUNK)
        if not chunk:
            break
        st.charge_memory(len(chunk))
        st.charge(1 + (len(chunk) >> 6))
        parts.append(chunk)
    return b"".join(parts).decode("latin-1")


def _read_chars(st: State, fh, count: int):
    parts = []
    left = count
    while left > 0:
        chunk = fh.read(min(left, _CHUNK))
        if not chunk:
            break
        st.charge_memory(len(chunk))
        st.charge(1 + (len(chunk) >> 6))
        parts.append(chunk)
        left -= len(chunk)
    data = b"".join(parts)
    return data.decode("latin-1") if data else None


_SPACES = b" \t\n\v\f\r"
_DIGITS = b"0123456789"
_HEX_DIGITS = b"0123456789abcdefABCDEF"


class _NumeralScanner:
    """liolib.c's ``RN``: reads the longest numeral prefix, one byte ahead.

    ``current`` is the look-ahead byte (peeked, not yet consumed), so the
    C code's final ``ungetc`` is simply not consuming it.
    """

    def __init__(self, fh):
        self.fh = fh
        self.buffer = bytearray()
        self.valid = True
        self.current = _peek_byte(fh)

    def accept(self) -> bool:
        """``nextc``: keep the look-ahead byte and read the next one."""
        if len(self.buffer) >= _MAX_NUMERAL:  # too long: invalidate the numeral
            self.valid = False
            return False
        self.buffer.extend(self.current)
        self.fh.read(1)
        self.current = _peek_byte(self.fh)
        return True

    def accept_one_of(self, chars: bytes) -> bool:
        """``test2``."""
        if self.current and self.current in chars:
            return self.accept()
        return False

    def accept_digits(self, hex_digits: bool) -> int:
        """``readdigits``: how many digits were read."""
        allowed = _HEX_DIGITS if hex_digits else _DIGITS
        count = 0
        while self.current and self.current in allowed and self.accept():
            count += 1
        return count


def _read_number(fh):
    """``read_number``: a number, or None when the text is no numeral."""
    while True:  # skip whitespace
        byte = _peek_byte(fh)
        if not byte or byte not in _SPACES:
            break
        fh.read(1)
    scan = _NumeralScanner(fh)
    count = 0
    is_hex = False
    scan.accept_one_of(b"-+")
    if scan.accept_one_of(b"0"):
        if scan.accept_one_of(b"xX"):
            is_hex = True
        else:
            count = 1  # the initial '0' is a digit
    count += scan.accept_digits(is_hex)
    if scan.accept_one_of(b"."):
        count += scan.accept_digits(is_hex)
    if count > 0 and scan.accept_one_of(b"pP" if is_hex else b"eE"):
        scan.accept_one_of(b"-+")
        scan.accept_digits(False)
    if not scan.valid:
        return None
    return ops.tonumber(scan.buffer.decode("latin-1"))


def g_read(st: State, lua_file: LuaFile, args, first: int, fname: str, arg_offset: int):
    """Read with the formats ``args[first-1:]``; returns Lua's results."""
    try:
        fh = lua_file.reader()
        formats = args[first - 1:]
        if not formats:
            line = _read_line(st, fh, False)
            return (line,)
        results = []
        for index, fmt in enumerate(formats):
            n = first + index
            if type(fmt) is int or type(fmt) is float:
                count = check_int(args[arg_offset:], n - arg_offset, fname)
                if count < 0:  # C converts to size_t: "read everything"
                    count = 1 << 62
                if count == 0:  # test for end of file
                    value = "" if _peek_byte(fh) else None
                else:
                    value = _read_chars(st, fh, count)
            else:
                spec = _format_string(args, n, fname, arg_offset)
                if spec.startswith("*"):  # Lua 5.3 spelling ("*l")
                    spec = spec[1:]
                kind = spec[:1]
                if kind == "n":
                    value = _read_number(fh)
                elif kind == "l":
                    value = _read_line(st, fh, False)
                elif kind == "L":
                    value = _read_line(st, fh, True)
                elif kind == "a":
                    value = _read_all(st, fh)
                else:
                    arg_error(n - arg_offset, fname, "invalid format")
            results.append(value)
            if value is None:  # a failed read ends the list with nil
                break
        return tuple(results)
    except (OSError, ValueError) as error:
        return _io_failure(error)


def _format_string(args, n, fname, arg_offset) -> str:
    value = args[n - 1]
    if type(value) is str:
        return value
    type_error(args[arg_offset:], n - arg_offset, fname, "string")


def _io_failure(error: Exception) -> tuple:
    if isinstance(error, OSError) and error.errno is not None:
        return file_failure(error)
    # io.UnsupportedOperation (reading a write-only file, ...) and
    # operations on a closed Python stream are EBADF for C stdio.
    return file_failure(_bad_descriptor())


def g_write(st: State, lua_file: LuaFile, args, first: int, fname: str, arg_offset: int, handle):
    pieces = []
    for n in range(first, len(args) + 1):
        value = args[n - 1]
        vt = type(value)
        if vt is str:
            pieces.append(value)
        elif vt is int:
            pieces.append(str(value))
        elif vt is float:
            pieces.append(_format_float(value))
        else:
            type_error(args[arg_offset:], n - arg_offset, fname, "string")
    data = "".join(pieces)
    st.charge(1 + (len(data) >> 6))
    try:
        lua_file.write(data)
    except (OSError, ValueError) as error:
        return _io_failure(error)
    return (handle,)


def _format_float(value: float) -> str:
    """``LUA_NUMBER_FMT`` ("%.14g") as glibc prints it (no ".0" added)."""
    if value != value or value in (float("inf"), float("-inf")):
        return number_to_str(value)
    return "%.14g" % value


# ------------------------------------------------------------ the library


class IoLibrary:
    """The ``io`` functions and file methods of one runtime (``register``
    stores the bound methods), its ``FILE*`` metatable and its default
    input and output files."""

    __slots__ = ("st", "meta", "default")

    def __init__(self, st: State, methods: Table):
        self.st = st
        self.meta = Table()
        self.meta.set("__name", "FILE*")
        self.meta.set("__index", methods)
        #: "input"/"output" -> the current default file handle
        self.default: dict[str, Userdata] = {}

    def new_handle(self, lua_file: LuaFile) -> Userdata:
        st = self.st
        st.charge_memory(ops.TABLE_COST)
        return Userdata(lua_file, self.meta)

    def payload(self, value):
        if type(value) is Userdata and value.meta is self.meta:
            return value.payload
        return None

    def tofile(self, args, fname: str) -> LuaFile:
        """``tofile``: argument 1 must be an open file handle."""
        lua_file = self.payload(args[0] if args else None)
        if lua_file is None:
            type_error(args, 1, fname, "FILE*")
        if lua_file.closed:
            raise LuaError("attempt to use a closed file")
        return lua_file

    def open_file(self, filename: str, mode: str):
        """``fopen``: a handle, or raises OSError."""
        st = self.st
        stream = builtins_open(filename.encode("latin-1"), _python_mode(mode))
        return self.new_handle(LuaFile(st, stream))

    def open_checked(self, filename: str, mode: str):
        """``opencheckfile``: raise a Lua error when the file will not open."""
        try:
            return self.open_file(filename, mode)
        except OSError as error:
            raise LuaError(
                f"cannot open file '{filename}' ({error.strerror or error})") from None

    def close_file(self, lua_file: LuaFile):
        if lua_file.standard is not None:
            return (None, "cannot close standard file")
        try:
            lua_file.close()
        except OSError as error:
            return file_failure(error)
        return (True,)

    def flush(self, lua_file: LuaFile):
        """``f_flush``/``io_flush``: ``luaL_fileresult`` of ``fflush``."""
        try:
            lua_file.flush()
        except (OSError, ValueError) as error:
            return _io_failure(error)
        return (True,)

    def default_file(self, kind: str) -> LuaFile:
        lua_file = self.payload(self.default[kind])
        if lua_file.closed:
            raise LuaError(f"default {kind} file is closed")
        return lua_file

    def make_lines_iterator(self, handle, formats, close_at_eof: bool):
        st = self.st
        if len(formats) > _MAX_LINE_FORMATS:
            arg_error(_MAX_LINE_FORMATS + 2, "lines", "too many arguments")
        read_args = (handle, *formats)

        def iterate(*_):
            lua_file = self.payload(handle)
            if lua_file.closed:
                raise LuaError("file is already closed")
            results = g_read(st, lua_file, read_args, 2, "for iterator", 0)
            if results and ops.truthy(results[0]):
                return results
            if len(results) > 1 and type(results[1]) is str:
                raise LuaError(results[1])
            if close_at_eof:
                self.close_file(lua_file)
            return ()

        return Function(iterate, "for iterator")

    # -- io.* functions ----------------------------------------------------
    def io_open(self, *args):
        filename = check_str(args, 1, "open")
        mode = opt_str(args, 2, "open", "r")
        if not _mode_is_valid(mode):
            arg_error(2, "open", "invalid mode")
        try:
            return (self.open_file(filename, mode),)
        except OSError as error:
            return file_failure(error, filename)

    def io_close(self, *args):
        if not args or args[0] is None:
            return self.close_file(self.default_file("output"))
        return self.close_file(self.tofile(args, "close"))

    def io_type(self, *args):
        if not args:
            arg_error(1, "type", "value expected")
        lua_file = self.payload(args[0])
        if lua_file is None:
            return (None,)
        return ("closed file" if lua_file.closed else "file",)

    def io_file_setter(self, kind: str, mode: str):
        def select(*args):
            if args and args[0] is not None:
                value = args[0]
                if type(value) in (str, int, float):
                    self.default[kind] = self.open_checked(check_str(args, 1, kind), mode)
                else:
                    self.tofile(args, kind)
                    self.default[kind] = value
            return (self.default[kind],)
        return select

    def io_flush(self, *args):
        return self.flush(self.default_file("output"))

    def io_read(self, *args):
        st = self.st
        return g_read(st, self.default_file("input"), args, 1, "read", 0)

    def io_write(self, *args):
        st = self.st
        return g_write(st, self.default_file("output"), args, 1, "write", 0, self.default["output"])

    def io_lines(self, *args):
        if not args or args[0] is None:
            handle = self.default["input"]
            self.tofile((handle,), "lines")  # a closed default input is an error
            return (self.make_lines_iterator(handle, args[1:], False),)
        filename = check_str(args, 1, "lines")
        handle = self.open_checked(filename, "r")
        return (self.make_lines_iterator(handle, args[1:], True), None, None, handle)

    def io_tmpfile(self, *args):
        st = self.st
        try:
            stream = tempfile.TemporaryFile("w+b")
        except OSError as error:
            return file_failure(error)
        return (self.new_handle(LuaFile(st, stream)),)

    def io_popen(self, *args):
        check_str(args, 1, "popen")
        raise LuaError("'popen' not supported")

    # -- file methods (argument numbers as lua5.4 reports for f:m(...)) ----
    def f_close(self, *args):
        return self.close_file(self.tofile(args, "close"))

    def f_flush(self, *args):
        return self.flush(self.tofile(args, "flush"))

    def f_lines(self, *args):
        self.tofile(args, "lines")
        return (self.make_lines_iterator(args[0], args[1:], False),)

    def f_read(self, *args):
        st = self.st
        return g_read(st, self.tofile(args, "read"), args, 2, "read", 1)

    def f_write(self, *args):
        st = self.st
        return g_write(st, self.tofile(args, "write"), args, 2, "write", 1, args[0])

    def f_seek(self, *args):
        lua_file = self.tofile(args, "seek")
        whence_name = opt_str(args[1:], 1, "seek", "cur")
        if whence_name not in _SEEK_MODES:
            arg_error(1, "seek", f"invalid option '{whence_name}'")
        offset = opt_int(args[1:], 2, "seek", 0)
        try:
            return (lua_file.seek(offset, _SEEK_MODES[whence_name]),)
        except (OSError, ValueError, OverflowError) as error:
            if isinstance(error, OverflowError):
                error = OSError(errno.EINVAL, os.strerror(errno.EINVAL))
            return _io_failure(error)

    def f_setvbuf(self, *args):
        lua_file = self.tofile(args, "setvbuf")
        mode = check_str(args[1:], 1, "setvbuf")
        if mode not in _BUFFER_MODES:
            arg_error(1, "setvbuf", f"invalid option '{mode}'")
        lua_file.buffering = mode
        try:
            lua_file.flush()
        except (OSError, ValueError):
            pass
        return (True,)

    def m_gc(self, *args):
        lua_file = self.payload(args[0] if args else None)
        if lua_file is None:
            type_error(args, 1, "__gc", "FILE*")
        if not lua_file.closed and lua_file.standard is None:
            try:
                lua_file.close()
            except OSError:
                pass
        return ()

    def m_tostring(self, *args):
        lua_file = self.payload(args[0] if args else None)
        if lua_file is None:
            type_error(args, 1, "tostring", "FILE*")
        if lua_file.closed:
            return ("file (closed)",)
        return (f"file ({address_of(args[0])})",)




def open_library(st: State) -> Table:
    lib = Table()
    methods = Table()
    library = IoLibrary(st, methods)
    meta = library.meta
    register(methods, "close", library.f_close)
    register(methods, "flush", library.f_flush)
    register(methods, "lines", library.f_lines)
    register(methods, "read", library.f_read)
    register(methods, "seek", library.f_seek)
    register(methods, "setvbuf", library.f_setvbuf)
    register(methods, "write", library.f_write)
    register(meta, "__gc", library.m_gc)
    register(meta, "__close", library.m_gc)
    register(meta, "__tostring", library.m_tostring)

    stdin = library.new_handle(LuaFile(st, None, "stdin"))
    stdout = library.new_handle(LuaFile(st, None, "stdout"))
    stderr = library.new_handle(LuaFile(st, None, "stderr"))
    library.default["input"] = stdin
    library.default["output"] = stdout

    register(lib, "close", library.io_close)
    register(lib, "flush", library.io_flush)
    register(lib, "input", library.io_file_setter("input", "r"))
    register(lib, "lines", library.io_lines)
    register(lib, "open", library.io_open)
    register(lib, "output", library.io_file_setter("output", "w"))
    register(lib, "popen", library.io_popen)
    register(lib, "read", library.io_read)
    register(lib, "tmpfile", library.io_tmpfile)
    register(lib, "type", library.io_type)
    register(lib, "write", library.io_write)
    lib.set("stdin", stdin)
    lib.set("stdout", stdout)
    lib.set("stderr", stderr)
    return lib


builtins_open = io.open
