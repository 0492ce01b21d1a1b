"""The io library: unit tests on the builtins, cross-checked with lua5.4 (lupa)."""

from __future__ import annotations

import io
import sys

import pytest

from luapy.errors import LuaLimitError
from luapy.options import Options
from luapy.runtime.state import State
from luapy.runtime.values import Userdata
from luapy.stdlib import iolib
from tests.stdlib_support import error_of

CONTENT = "line1\n12 0x1F -3.5e2 nope\n\n  .5e  99999999999999999999 0x.8p1 --1\nlast\xe9"


class IO:
    """A fresh io library whose stdout is captured into ``self.out``."""

    def __init__(self, **limits):
        options = Options(profile="standard")
        if limits:
            options = options.with_limits(**limits)
        self.st = State(options)
        self.st.enter()
        self.out = []
        self.st.write_stdout = self.out.append
        self.lib = iolib.open_library(self.st)

    def __call__(self, name, *args):
        return self.lib.get(name).call(*args)

    def method(self, handle, name, *args):
        methods = handle.meta.get("__index")
        return methods.get(name).call(handle, *args)

    def meta(self, handle, event, *args):
        return handle.meta.get(event).call(handle, *args)


@pytest.fixture
def lib():
    return IO()


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.txt"
    path.write_bytes(CONTENT.encode("latin-1"))
    return str(path)


def decode(values):
    return tuple(v.decode("latin-1") if isinstance(v, bytes) else v for v in values)


def lua_read(reference_bytes, path, formats):
    """``f:read(formats...)`` in lua5.4, as a tuple."""
    fn = reference_bytes.eval("""function(path, ...)
        local f = io.open(path)
        local r = table.pack(f:read(...))
        f:close()
        return r.n, table.unpack(r, 1, r.n)
    end""")
    result = fn(path.encode(), *[f.encode() if isinstance(f, str) else f for f in formats])
    return decode(result[1:])


READ_CASES = [
    (),
    ("l",),
    ("L", "L", "L"),
    ("a",),
    ("a", "a"),
    ("l", "n", "n", "n", "n"),
    ("l", "n", "n", "n", "L"),
    ("l", "l", "l", "n", "n", "n", "n"),
    ("l", "l", "l", "l", "l", "l"),
    (3, 0, 100, 0),
    ("*l", "*n", "*a"),
    ("l", "l", "l", "l", "l", 0),
    (1000,),
]


@pytest.mark.parametrize("formats", READ_CASES, ids=[repr(f) for f in READ_CASES])
def test_read_formats_match_lua(lib, reference_bytes, data_file, formats):
    (handle,) = lib("open", data_file)
    assert lib.method(handle, "read", *formats) == lua_read(reference_bytes, data_file, formats)


def test_read_number_forms(lib, reference_bytes, tmp_path):
    for text in ("0x", "1e", "  -0x1p4", "+.5", "1..2", "0x1.8", "12abc", "1e+", "nan", "- 1",
                 "9" * 250, "0x" + "f" * 20, "  \n\t 42"):
        path = tmp_path / "num.txt"
        path.write_bytes(text.encode())
        (handle,) = lib("open", str(path))
        mine = lib.method(handle, "read", "n", "a")
        assert mine == lua_read(reference_bytes, str(path), ("n", "a")), text


def test_write_formats_numbers_like_lua(lib, reference_bytes, tmp_path):
    (handle,) = lib("open", str(tmp_path / "w.txt"), "w")
    values = (1, 1.0, -0.0, 2.0 ** 63, 1e100, 0.1, 1 / 3, float("inf"), -float("inf"), "s\xff")
    assert lib.method(handle, "write", *values) == (handle,)
    lib.method(handle, "close")
    mine = (tmp_path / "w.txt").read_bytes()
    reference_bytes.execute("""local path = ...
        local f = io.open(path, 'w')
        f:write(1, 1.0, -0.0, 2^63, 1e100, 0.1, 1/3, 1/0, -1/0, 's\\xff')
        f:close()""", str(tmp_path / "l.txt").encode())
    assert mine == (tmp_path / "l.txt").read_bytes()


def test_io_write_goes_through_write_stdout(lib):
    result = lib("write", "a", 1, 2.5, "\n")
    assert result == (lib.lib.get("stdout"),)
    assert "".join(lib.out) == "a12.5\n"
    stdout = lib.lib.get("stdout")
    assert lib.method(stdout, "write", "x") == (stdout,)
    assert "".join(lib.out) == "a12.5\nx"
    assert error_of(lib, "write", {}) == \
        "bad argument #1 to 'write' (string expected, got userdata)"
    assert error_of(lib.method, stdout, "write", "ok", None) == \
        "bad argument #2 to 'write' (string expected, got nil)"


def test_stderr_writes_bytes(lib, capfdbinary):
    stderr = lib.lib.get("stderr")
    lib.method(stderr, "write", "err\xff\n")
    assert capfdbinary.readouterr().err.endswith(b"err\xff\n")


def test_open_failures(lib, reference_bytes):
    assert lib("open", "/nonexistent/x") == \
        (None, "/nonexistent/x: No such file or directory", 2)
    assert decode(reference_bytes.execute("return io.open('/nonexistent/x')")) == \
        (None, "/nonexistent/x: No such file or directory", 2)
    for mode in ("rw", "x", "", "r+x", "+r"):
        assert error_of(lib, "open", "/tmp/x", mode) == "bad argument #2 to 'open' (invalid mode)"
    assert error_of(lib, "open") == "bad argument #1 to 'open' (string expected, got no value)"


def test_modes_and_wrong_direction(lib, tmp_path):
    path = str(tmp_path / "m.txt")
    (w,) = lib("open", path, "wb")
    assert lib.method(w, "read", "a") == (None, "Bad file descriptor", 9)
    lib.method(w, "write", "abc")
    lib.method(w, "close")
    (a,) = lib("open", path, "a")
    lib.method(a, "write", "def")
    lib.method(a, "close")
    (r,) = lib("open", path, "r")
    assert lib.method(r, "write", "x") == (None, "Bad file descriptor", 9)
    assert lib.method(r, "read", "a") == ("abcdef",)
    lib.method(r, "close")
    (rw,) = lib("open", path, "r+")
    assert lib.method(rw, "read", 2) == ("ab",)
    lib.method(rw, "seek", "set", 0)
    lib.method(rw, "write", "XY")
    lib.method(rw, "seek", "set")
    assert lib.method(rw, "read", "a") == ("XYcdef",)


def test_seek(lib, data_file, tmp_path):
    (handle,) = lib("open", data_file)
    assert lib.method(handle, "seek") == (0,)
    assert lib.method(handle, "seek", "set", 2) == (2,)
    assert lib.method(handle, "read", 3) == ("ne1",)
    assert lib.method(handle, "seek", "cur") == (5,)
    assert lib.method(handle, "seek", "end") == (len(CONTENT),)
    assert lib.method(handle, "seek", "cur", -4) == (len(CONTENT) - 4,)
    (w,) = lib("open", str(tmp_path / "s.txt"), "w")
    assert lib.method(w, "seek", "set", -1) == (None, "Invalid argument", 22)
    assert error_of(lib.method, handle, "seek", "bad") == \
        "bad argument #1 to 'seek' (invalid option 'bad')"
    assert error_of(lib.method, handle, "seek", "set", 1.5) == \
        "bad argument #2 to 'seek' (number has no integer representation)"
    assert lib.method(lib.lib.get("stdout"), "seek") == (None, "Illegal seek", 29)


def test_close_and_closed_files(lib, data_file):
    (handle,) = lib("open", data_file)
    assert lib.meta(handle, "__tostring")[0].startswith("file (0x")
    assert lib("type", handle) == ("file",)
    assert lib.method(handle, "close") == (True,)
    assert lib("type", handle) == ("closed file",)
    assert lib.meta(handle, "__tostring") == ("file (closed)",)
    assert error_of(lib.method, handle, "read") == "attempt to use a closed file"
    assert error_of(lib, "close", handle) == "attempt to use a closed file"
    assert lib("type", 42) == (None,)
    assert lib("type", {}) == (None,)
    assert error_of(lib, "type") == "bad argument #1 to 'type' (value expected)"
    assert lib("close") == (None, "cannot close standard file")
    assert lib.method(lib.lib.get("stdout"), "close") == (None, "cannot close standard file")
    assert handle.meta.get("__name") == "FILE*"


def test_close_metamethods_close_the_file(lib, data_file):
    (handle,) = lib("open", data_file)
    lib.meta(handle, "__close", None)
    assert lib("type", handle) == ("closed file",)
    (handle,) = lib("open", data_file)
    lib.meta(handle, "__gc")
    assert lib("type", handle) == ("closed file",)
    # Called by hand, __gc checks its argument as lua5.4's f_gc does.
    assert error_of(handle.meta.get("__gc").call) == \
        "bad argument #1 to '__gc' (FILE* expected, got no value)"


def test_lines(lib, reference_bytes, data_file):
    iterator, _, _, handle = lib("lines", data_file)
    lines = []
    while True:
        result = iterator.call()
        if not result:
            break
        lines.append(result[0])
    assert lines == CONTENT.split("\n")
    assert lib("type", handle) == ("closed file",)  # closed at EOF
    assert error_of(iterator.call) == "file is already closed"
    iterator, _, _, handle = lib("lines", data_file, "n")
    assert iterator.call() == ()  # "line1" is no number: the loop ends
    assert lib("type", handle) == ("closed file",)
    assert error_of(lib, "lines", "/nonexistent/x") == \
        "cannot open file '/nonexistent/x' (No such file or directory)"
    iterator = lib("lines", data_file, "x")[0]
    assert error_of(iterator.call) == "bad argument #2 to 'for iterator' (invalid format)"


def test_lines_with_formats_and_method(lib, data_file):
    (handle,) = lib("open", data_file)
    (iterator,) = lib.method(handle, "lines", 2, "l")
    assert iterator.call() == ("li", "ne1")
    assert iterator.call() == ("12", " 0x1F -3.5e2 nope")
    lib.method(handle, "close")
    assert error_of(iterator.call) == "file is already closed"


def test_default_input_and_output(lib, data_file, tmp_path):
    out_path = str(tmp_path / "out.txt")
    (out,) = lib("output", out_path)
    assert lib("output") == (out,)
    lib("write", "to file", 7)
    assert lib("close") == (True,)
    assert error_of(lib, "write", "x") == "default output file is closed"
    assert open(out_path, "rb").read() == b"to file7"
    (inp,) = lib("input", data_file)
    assert lib("read") == ("line1",)
    assert lib("read", "n") == (12,)
    (iterator,) = lib("lines")
    assert iterator.call() == (" 0x1F -3.5e2 nope",)
    assert error_of(lib, "input", {}) == "bad argument #1 to 'input' (FILE* expected, got userdata)"
    assert error_of(lib, "input", "/nonexistent/x") == \
        "cannot open file '/nonexistent/x' (No such file or directory)"
    lib("output", lib.lib.get("stdout"))
    lib("write", "back")
    assert lib.out == ["back"]


def test_read_from_stdin(lib, monkeypatch):
    fake = io.TextIOWrapper(io.BufferedReader(io.BytesIO(b"first\n42 rest\xff")))
    monkeypatch.setattr(sys, "stdin", fake)
    assert lib("read") == ("first",)
    assert lib("read", "n", "a") == (42, " rest\xff")
    assert lib("read") == (None,)


def test_tmpfile_and_setvbuf_flush(lib):
    (handle,) = lib("tmpfile")
    assert lib.method(handle, "setvbuf", "no") == (True,)
    assert lib.method(handle, "write", "abc") == (handle,)
    assert lib.method(handle, "flush") == (True,)  # luaL_fileresult, not the file
    lib.method(handle, "seek", "set")
    assert lib.method(handle, "read", "a") == ("abc",)
    assert error_of(lib.method, handle, "setvbuf", "bad") == \
        "bad argument #1 to 'setvbuf' (invalid option 'bad')"


def test_flush_matches_lua(lib, reference_bytes):
    program = """
        local f = io.tmpfile()
        local a, b, n = f:flush(), io.flush(), select("#", f:flush())
        f:close()
        return a, b, io.type(a), n, pcall(f.flush, f)
    """
    from luapy import LuaRuntime
    ours = LuaRuntime(profile="standard").execute(program)
    assert ours == (True, True, None, 1, False, "attempt to use a closed file")
    assert decode(reference_bytes.execute(program)) == ours


def test_io_flush_flushes_the_default_output(lib, tmp_path):
    path = tmp_path / "out.txt"
    lib("output", str(path))
    lib("write", "abc")
    assert lib("flush") == (True,)
    assert path.read_bytes() == b"abc"


def test_open_files_are_flushed_at_exit(tmp_path):
    """C's ``exit`` flushes every FILE; so does luapy's interpreter exit,
    whether the program just ends or calls ``os.exit``."""
    import subprocess
    programs = {
        "default.txt": "io.output('default.txt') io.write('x')",
        "kept.txt": "F = io.open('kept.txt', 'w') F:write('y')",
        "exit.txt": "F = io.open('exit.txt', 'w') F:write('z') os.exit(true)",
    }
    for name, program in programs.items():
        subprocess.run([sys.executable, "-m", "luapy", "-e", program], cwd=tmp_path,
                       check=True, timeout=60)
    assert {name: (tmp_path / name).read_bytes() for name in programs} == \
        {"default.txt": b"x", "kept.txt": b"y", "exit.txt": b"z"}


def test_flush_open_files_of_one_runtime(tmp_path):
    first, second = IO(), IO()
    first("output", str(tmp_path / "a"))
    second("output", str(tmp_path / "b"))
    first("write", "1")
    second("write", "2")
    iolib.flush_open_files(first.st)
    assert (tmp_path / "a").read_bytes() == b"1"
    assert (tmp_path / "b").read_bytes() == b""


def test_popen_is_not_supported(lib):
    assert error_of(lib, "popen", "ls") == "'popen' not supported"


def test_read_charges_memory(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 200_000)
    limited = IO(memory=50_000)
    (handle,) = limited("open", str(path))
    with pytest.raises(LuaLimitError):
        limited.method(handle, "read", "a")


def test_file_handles_are_userdata_with_shared_metatable(lib, data_file):
    (a,) = lib("open", data_file)
    (b,) = lib("open", data_file)
    assert type(a) is Userdata and a.meta is b.meta is lib.lib.get("stdin").meta
    other = IO()
    assert other.lib.get("stdin").meta is not a.meta  # per runtime


# ------------------------------------------------------ through the interpreter


def test_lua_level_io(tmp_path):
    from luapy import LuaRuntime
    rt = LuaRuntime(profile="standard")
    out = []
    rt.set_output(out.append)
    path = str(tmp_path / "f.txt")
    result = rt.execute("""
        local path = ...
        io.write('a', 1, ' ', 2.5, '\\n')
        local f = assert(io.open(path, 'w'))
        assert(f:write('one\\n', 2, '\\nthree') == f)
        f:close()
        local lines = {}
        for line in io.lines(path) do lines[#lines + 1] = line end
        local g <close> = io.open(path)
        local _, n = g:read('l', 'n')
        return table.concat(lines, '|'), n, io.type(f), tostring(f), io.type(g),
               tostring(io.stdout):match('^file %(0x%x+%)$') ~= nil
    """, path)
    assert "".join(out) == "a1 2.5\n"
    assert result == ("one|2|three", 2, "closed file", "file (closed)", "file", True)


def test_io_absent_from_sandbox():
    from luapy import LuaRuntime
    assert LuaRuntime().execute("return io") is None
