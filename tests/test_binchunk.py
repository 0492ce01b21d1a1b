"""string.dump and binary chunks (``luapy.binchunk``), checked against lua5.4."""

from __future__ import annotations

from luapy import LuaRuntime

from tests.stdlib_support import run_both


def test_a_dumped_function_loads_and_runs_with_fresh_upvalues():
    source = """
    local a, b = 20, 30
    local f = load(string.dump(function (x)
      if x == "set" then a = 10 + b; b = b + 1 else return a end
    end), "", "b")
    local first = f()   -- a was set to the global table: the first upvalue gets env
    local names = {debug.setupvalue(f, 1, "hi"), debug.setupvalue(f, 2, 13),
                   debug.setupvalue(f, 3, 10)}
    local second = f()
    f("set")
    return first == _G, names[1], names[2], names[3], second, f()
    """
    ours, reference = run_both(source)
    assert ours == reference == (True, "a", "b", None, "hi", 23)


def test_env_is_the_first_upvalue_whatever_its_name():
    source = """
    local x; XX = 123
    local function h() local y = x; return XX end
    local f = load(string.dump(h), "", "b")
    local n1, v1 = debug.getupvalue(f, 1)
    local n2, v2 = debug.getupvalue(f, 2)
    debug.setupvalue(f, 2, _G)
    return n1, v1 == _G, n2, v2, f()
    """
    ours, reference = run_both(source)
    assert ours == reference == ("x", True, "_ENV", None, 123)


def test_main_chunks_methods_and_nested_functions_survive_a_dump():
    source = """
    local main = load("local n = ...; return function (y) return n + y end")
    local again = load(string.dump(main))
    local t = {}
    function t:m(a, ...) return self, a, select('#', ...) end
    local m = load(string.dump(t.m))
    return again(2)(3), m(1, 2, 3, 4)
    """
    ours, reference = run_both(source)
    assert ours == reference == (5, 1, 2, 2)


def test_stripped_code_has_no_lines_nor_names():
    source = """
    local f = load(string.dump(function (a) return a + 1 end, true))
    local ok, message = pcall(f, {})
    local name = debug.getupvalue(load(string.dump(load("x = 1"), true)), 1)
    return f(3), message:match("^[^:]*:[^:]*:"), name, #debug.getinfo(f, "L").activelines
    """
    ours = LuaRuntime(profile="standard").execute(source)
    assert ours == (4, "?:-1:", "(no name)", 0)


def test_binary_chunks_check_mode_header_and_truncation():
    source = """
    local c = string.dump(function () return 'x' end)
    local results = {}
    results[1] = select(2, load(c, "=c", "t"))
    results[2] = select(2, load("return 1", "=c", "b"))
    local corrupt = c:sub(1, 5) .. "\\1" .. c:sub(7)
    results[3] = select(2, load(corrupt))
    local truncated = 0
    for i = 1, #c - 1 do
      local f, message = load(c:sub(1, i))
      if not f and message:find("truncated") then truncated = truncated + 1 end
    end
    results[4] = truncated == #c - 1
    results[5] = pcall(string.dump, print)
    return table.unpack(results)
    """
    ours = LuaRuntime(profile="standard").execute(source)
    assert ours == ("attempt to load a binary chunk (mode is 't')",
                    "attempt to load a text chunk (mode is 'b')",
                    "binary string: bad binary format (format mismatch)",
                    True, False)


def test_the_header_is_lua54s():
    source = """
    local header = string.pack("c4BBc6BBB", "\\27Lua", 0x54, 0, "\\x19\\x93\\r\\n\\x1a\\n", 4,
                               string.packsize("j"), string.packsize("n"))
    local c = string.dump(function () end)
    local i, n = string.unpack("jn", c, #header + 1)
    return c:sub(1, #header) == header, i, n
    """
    ours, reference = run_both(source)
    assert ours == reference == (True, 0x5678, 370.5)


def test_binary_files_load_with_loadfile(tmp_path):
    path = tmp_path / "chunk.bin"
    lua = LuaRuntime(profile="standard")
    lua.execute(f"""
    local f = io.open({str(path)!r}, "wb")
    f:write("#a comment line\\0\\n", string.dump(function () return 20, '\\0\\0\\0' end))
    f:close()
    """)
    assert lua.execute(f"return loadfile({str(path)!r})()") == (20, "\0\0\0")
    assert lua.execute(f"return loadfile({str(path)!r}, 't')")[1] == \
        "attempt to load a binary chunk (mode is 't')"
