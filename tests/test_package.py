"""package / require: lua5.4's loadlib.c semantics, sandboxed and standard.

Expected messages were checked against lua5.4 (lupa); the ones whose text
depends on our searcher list (no C searchers, cpath "") are compared with
lupa after removing its ``.so`` lines.
"""

from __future__ import annotations


import pytest

from luapy import LuaError, LuaRuntime
from luapy.load import chunk_display_name
from luapy.stdlib.package import (
    LUA_CPATH_DEFAULT, LUA_PATH_DEFAULT, initial_path, search_path,
)

DEFAULT_TRIED = (
    "\n\tno file '/usr/local/share/lua/5.4/{0}.lua'"
    "\n\tno file '/usr/local/share/lua/5.4/{0}/init.lua'"
    "\n\tno file '/usr/local/lib/lua/5.4/{0}.lua'"
    "\n\tno file '/usr/local/lib/lua/5.4/{0}/init.lua'"
    "\n\tno file './{0}.lua'"
    "\n\tno file './{0}/init.lua'"
)


def chunk(directory, filename) -> str:
    """How lua5.4 names the file in messages (long paths start with "...")."""
    return chunk_display_name(f"@{directory}/{filename}")


def _drop_c_searchers(message: str) -> str:
    while message.startswith("module") and message.endswith("\n\tno file ''"):
        message = message[:-len("\n\tno file ''")]
    return message


def c_tried(lua, name: str) -> str:
    """The lines the C searchers add in the standard profile (default cpath)."""
    if lua is None or lua.options.profile != "standard":
        return ""
    lines = "".join(f"\n\tno file '{candidate}'"
                    for candidate in LUA_CPATH_DEFAULT.replace("?", name.replace(".", "/")).split(";"))
    if "." in name:  # Croot: the root name
        root = name.split(".")[0]
        lines += "".join(f"\n\tno file '{candidate}'"
                         for candidate in LUA_CPATH_DEFAULT.replace("?", root).split(";"))
    return lines


def not_found(name: str, lua=None, lua_extra: str = "") -> str:
    """require's message for a missing module under the default paths;
    ``lua_extra`` is what the Lua searcher tried beyond the default path."""
    return (f"module '{name}' not found:\n\tno field package.preload['{name}']"
            + DEFAULT_TRIED.format(name.replace(".", "/")) + lua_extra + c_tried(lua, name))


@pytest.fixture(autouse=True)
def no_lua_path_from_the_host(monkeypatch):
    # The standard profile honours LUA_PATH like lua5.4 does; keep the
    # machine's environment out of these tests.
    monkeypatch.delenv("LUA_PATH_5_4", raising=False)
    monkeypatch.delenv("LUA_PATH", raising=False)


@pytest.fixture(params=["sandbox", "standard"])
def lua(request):
    return LuaRuntime(profile=request.param)


@pytest.fixture
def sandbox():
    return LuaRuntime()


@pytest.fixture
def standard():
    return LuaRuntime(profile="standard")


# ---------------------------------------------------------------- the table

def test_package_fields(lua):
    assert lua.eval("package.path") == LUA_PATH_DEFAULT
    standard = lua.eval("package.cpath") != ""
    assert lua.eval("package.cpath") == (LUA_CPATH_DEFAULT if standard else "")
    assert lua.eval("package.config") == "/\n;\n?\n!\n-\n"
    assert lua.execute("return package.loaded.string == string and package.loaded._G == _G") is True
    assert lua.execute("return package.loaded.package == package") is True
    # preload, bundled, Lua, and in the standard profile C and Croot
    assert lua.execute("return type(package.preload), #package.searchers") == \
        ("table", 5 if standard else 3)
    assert lua.execute("return type(package.searchpath), type(require)") == ("function", "function")


def test_loadlib_only_in_standard(sandbox, standard):
    assert sandbox.eval("package.loadlib") is None
    assert standard.execute("return package.loadlib('a', 'b')") == (
        None, "dynamic libraries not enabled; check your Lua installation", "absent")
    with pytest.raises(LuaError, match=r"^\(execute\):1: bad argument #1 to 'loadlib' \(string expected, got no value\)"):
        standard.execute("package.loadlib()")


def test_path_can_be_extended(lua):
    lua.execute('package.path = package.path .. ";/bin/?.lua"')
    assert lua.eval("package.path") == LUA_PATH_DEFAULT + ";/bin/?.lua"
    message = lua.execute("return select(2, pcall(require, 'nope'))")
    assert message == not_found("nope", lua, "\n\tno file '/bin/nope.lua'")


# ---------------------------------------------------------------- require

def test_not_found_message(lua):
    assert lua.execute("return pcall(require, 'nope')") == (False, not_found("nope", lua))
    assert lua.execute("return select(2, pcall(require, 'a.b'))") == not_found("a.b", lua)


def test_not_found_message_has_callers_position(lua):
    message = lua.execute("""return select(2, pcall(function()
        local m = require("nope")
        return m
    end))""")
    assert message == "(execute):2: " + not_found("nope", lua)


def test_require_argument_errors(lua):
    assert lua.execute("return pcall(require)") == (
        False, "bad argument #1 to 'require' (string expected, got no value)")
    assert lua.execute("return select(2, pcall(require, 12))") == not_found("12", lua)


def test_preload_loader_gets_name_and_data(lua):
    result = lua.execute("""
        package.preload.mod = function(...) return {args = {...}} end
        local m, data = require("mod")
        local again = {require("mod")}
        return m.args[1], m.args[2], data, #again, again[1] == m, package.loaded.mod == m
    """)
    assert result == ("mod", ":preload:", ":preload:", 1, True, True)


def test_loader_returning_nothing_stores_true(lua):
    assert lua.execute("""
        package.preload.y = function() end
        local a, b = require("y")
        return a, b, package.loaded.y
    """) == (True, ":preload:", True)
    assert lua.execute("""
        package.preload.p = function() package.loaded.p = "set" end
        return require("p")
    """) == ("set", ":preload:")


def test_false_in_loaded_means_load_again(lua):
    assert lua.execute("""
        package.loaded.k = false
        package.preload.k = function() return 7 end
        return require("k")
    """) == (7, ":preload:")


def test_loader_errors_propagate(lua):
    assert lua.execute("""
        package.preload.e = function() error("boom") end
        return pcall(require, "e")
    """) == (False, "(execute):2: boom")


def test_non_function_preload_value_is_reported(lua):
    assert lua.execute("package.preload.w = 42; return select(2, pcall(require, 'w'))") == (
        "module 'w' not found:\n\t42" + DEFAULT_TRIED.format("w") + c_tried(lua, "w"))


def test_searchers_are_read_at_call_time(lua):
    assert lua.execute("""
        package.searchers = nil
        return select(2, pcall(function() local m = require("q"); return m end))
    """) == "(execute):3: 'package.searchers' must be a table"
    custom = LuaRuntime(profile=lua.options.profile)
    assert custom.execute("""
        table.insert(package.searchers, 1, function(name)
            if name == "magic" then return function(n, d) return n .. "/" .. d end, "data" end
            return "\\n\\tno magic for " .. name
        end)
        local found = {require("magic")}
        local ok, err = pcall(require, "other")
        return found[1], found[2], err
    """) == ("magic/data", "data", "module 'other' not found:\n\t\n\tno magic for other\n\t"
             + not_found("other", lua).split("\n\t", 1)[1])


def test_package_path_must_be_a_string(lua):
    assert lua.execute("package.path = {}; return select(2, pcall(require, 'w'))") == (
        "'package.path' must be a string")
    assert lua.execute("package.path = 5; return select(2, pcall(require, 'w'))") == (
        "module 'w' not found:\n\tno field package.preload['w']\n\tno file '5'" + c_tried(lua, "w"))


def test_searchers_directly(lua):
    assert lua.execute("return package.searchers[1]('x')") == "no field package.preload['x']"
    assert lua.execute("return select('#', package.searchers[2]('x'))") == 0
    assert lua.execute("return package.searchers[3]('x')") == DEFAULT_TRIED.format("x")[2:]
    assert lua.execute("return pcall(package.searchers[1])") == (
        False, "bad argument #1 to '?' (string expected, got no value)")


# -------------------------------------------------- bundled and registered

def test_dkjson_is_bundled(lua):
    assert lua.execute("""
        local a, data = require("dkjson")
        return a.version, data, require("dkjson") == a, package.loaded.dkjson == a
    """) == ("dkjson 2.8", ":bundled:", True, True)


def test_preload_wins_over_bundled(lua):
    assert lua.execute("""
        package.preload.dkjson = function() return "mine" end
        return require("dkjson")
    """) == ("mine", ":preload:")


def test_registered_source_module(lua):
    lua.register_module("greet", "local name = ...; return {hello = function() return 'hi from ' .. name end}")
    assert lua.execute("local g, d = require('greet'); return g.hello(), d") == ("hi from greet", ":registered:")
    assert lua.execute("return require('greet') == require('greet')") is True


def test_registered_table_module(lua):
    lua.register_module("consts", {"answer": 42})
    assert lua.execute("return require('consts').answer") == 42


def test_registered_module_syntax_error(lua):
    lua.register_module("broken", "return +")
    message = lua.execute("return select(2, pcall(require, 'broken'))")
    assert message.startswith("error loading module 'broken' from registered source:\n\tbroken:1:")


def test_registered_module_errors_at_run_time(lua):
    lua.register_module("fails", "error('at load')")
    assert lua.execute("return select(2, pcall(require, 'fails'))") == "fails:1: at load"


# ------------------------------------------------------------ file system

@pytest.fixture
def module_dir(tmp_path):
    (tmp_path / "mymod.lua").write_bytes(b"local n, f = ...\nreturn {name = n, file = f}\n")
    (tmp_path / "script.lua").write_bytes(b"#!/usr/bin/lua\n\nerror('line three')\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "init.lua").write_bytes(b"return 'pkg init'")
    (tmp_path / "pkg" / "sub.lua").write_bytes(b"\xef\xbb\xbfreturn 'sub \xe9'")
    (tmp_path / "bad.lua").write_bytes(b"local x = = 1\n")
    (tmp_path / "err.lua").write_bytes(b"\n\nerror('runtime')\n")
    return tmp_path


def test_standard_profile_loads_files(standard, module_dir):
    standard.execute(f'package.path = "{module_dir}/?.lua;{module_dir}/?/init.lua"')
    name, file = standard.execute("local m = require('mymod'); return m.name, m.file")
    assert (name, file) == ("mymod", f"{module_dir}/mymod.lua")
    assert standard.execute("return require('pkg')") == ("pkg init", f"{module_dir}/pkg/init.lua")
    # the BOM is skipped and bytes are kept as they are ("\xe9" is one byte)
    assert standard.execute("local s = require('pkg.sub'); return #s, s:byte(-1)") == (5, 0xE9)
    # a "#!" first line is skipped but still counts as a line
    assert standard.execute("return select(2, pcall(require, 'script'))") == f"{chunk(module_dir, 'script.lua')}:3: line three"


def test_standard_profile_file_errors(standard, module_dir):
    standard.execute(f'package.path = "{module_dir}/?.lua"')
    assert standard.execute("return select(2, pcall(require, 'bad'))") == (
        f"error loading module 'bad' from file '{module_dir}/bad.lua':\n"
        f"\t{chunk(module_dir, 'bad.lua')}:1: unexpected symbol near '='")
    assert standard.execute("return select(2, pcall(require, 'err'))") == f"{chunk(module_dir, 'err.lua')}:3: runtime"
    standard.execute(f'package.path = "{module_dir}/?"')
    assert standard.execute("return select(2, pcall(require, 'pkg'))") == (
        f"error loading module 'pkg' from file '{module_dir}/pkg':\n\tcannot read {module_dir}/pkg: Is a directory")


def test_sandbox_never_opens_files(sandbox, module_dir):
    sandbox.execute(f'package.path = "{module_dir}/?.lua"')
    assert sandbox.execute("return select(2, pcall(require, 'mymod'))") == (
        "module 'mymod' not found:\n\tno field package.preload['mymod']"
        f"\n\tno file '{module_dir}/mymod.lua'")
    assert sandbox.execute(f"return package.searchpath('mymod', '{module_dir}/?.lua')") == (
        None, f"no file '{module_dir}/mymod.lua'")


def test_searchpath_standard(standard, module_dir):
    assert standard.execute(f"return package.searchpath('pkg.sub', 'x/?.lua;{module_dir}/?.lua')") == \
        f"{module_dir}/pkg/sub.lua"
    assert standard.execute(f"return package.searchpath('pkg_sub', '{module_dir}/?.lua', '_')") == \
        f"{module_dir}/pkg/sub.lua"


def test_searchpath_messages(lua):
    assert lua.execute("return package.searchpath('a.b', 'x/?.lua;;?')") == (
        None, "no file 'x/a/b.lua'\n\tno file ''\n\tno file 'a/b'")
    assert lua.execute("return package.searchpath('a.b', '')") == (None, "no file ''")
    assert lua.execute("return package.searchpath('a.b', './?.z;', '')") == (
        None, "no file './a.b.z'\n\tno file ''")
    assert lua.execute("return package.searchpath('a.b', '?;x', '.', '')") == (None, "no file 'ab'\n\tno file 'x'")
    assert lua.execute("return pcall(package.searchpath, 'x')") == (
        False, "bad argument #2 to 'package.searchpath' (string expected, got no value)")


def test_search_path_helper_never_opens_when_told(tmp_path):
    (tmp_path / "m.lua").write_text("return 1")
    template = f"{tmp_path}/?.lua"
    assert search_path("m", template, ".", "/", True) == (f"{tmp_path}/m.lua", None)
    assert search_path("m", template, ".", "/", False) == (None, f"no file '{tmp_path}/m.lua'")


def test_lua_path_environment(monkeypatch):
    monkeypatch.setenv("LUA_PATH_5_4", "/mine/?.lua;;/last/?.lua")
    assert initial_path("standard") == "/mine/?.lua;" + LUA_PATH_DEFAULT + ";/last/?.lua"
    assert initial_path("sandbox") == LUA_PATH_DEFAULT
    monkeypatch.setenv("LUA_PATH_5_4", ";;")
    assert initial_path("standard") == LUA_PATH_DEFAULT
    monkeypatch.delenv("LUA_PATH_5_4")
    monkeypatch.setenv("LUA_PATH", "/only/?.lua")
    assert initial_path("standard") == "/only/?.lua"


def test_lua_cpath_environment(monkeypatch):
    monkeypatch.setenv("LUA_CPATH", "/c/?.so;;")
    assert LuaRuntime(profile="standard").eval("package.cpath") == "/c/?.so;" + LUA_CPATH_DEFAULT
    assert LuaRuntime().eval("package.cpath") == ""  # the sandbox ignores the host
    monkeypatch.setenv("LUA_CPATH_5_4", "/mine/?.so")
    assert LuaRuntime(profile="standard").eval("package.cpath") == "/mine/?.so"


C_SEARCHER_CHECKS = [
    # attrib.lua: the C searchers' lines end require's message
    'package.path = "?.lua;?/?"; package.cpath = "?.so;?/init"; return pcall(require, "XXX")',
    # Croot searches the root name of a dotted one
    'package.path = "?.lua"; package.cpath = "?.so;?/init"; return pcall(require, "a.b")',
    'package.cpath = {}; return pcall(require, "nothing.here")',
]


@pytest.mark.parametrize("source", C_SEARCHER_CHECKS)
def test_c_searchers_report_like_lua54(source, tmp_path, monkeypatch):
    lupa = pytest.importorskip("lupa")
    monkeypatch.chdir(tmp_path)
    ours = LuaRuntime(profile="standard").execute(source)
    assert ours == lupa.lua54.LuaRuntime().execute(source)
    assert "no file" in ours[1] or "must be a string" in ours[1]


def test_a_c_module_found_cannot_be_loaded(tmp_path, monkeypatch):
    """As in a lua5.4 built without dynamic libraries."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cmod.so").write_bytes(b"not really")
    ok, message = LuaRuntime(profile="standard").execute(
        'package.cpath = "./?.so"; return pcall(require, "cmod")')
    assert not ok
    assert message == ("error loading module 'cmod' from file './cmod.so':\n\t"
                       "dynamic libraries not enabled; check your Lua installation")


# ---------------------------------------------------------- against lua5.4

def test_messages_match_lua54():
    lupa = pytest.importorskip("lupa")
    checks = [
        "return pcall(require, 'nope')",
        "package.path = package.path .. ';/bin/?.lua'; return pcall(require, 'x.y')",
        "package.preload.w = 42; return pcall(require, 'w')",
        "package.preload.x = function(...) return ... end; return require('x')",
        "package.preload.y = function(...) end; return require('y')",
        "return package.searchpath('a.b', 'x/?.lua;;?')",
        "return pcall(package.searchpath)",
        "return pcall(require)",
        "package.path = {}; return pcall(require, 'w2')",
    ]
    for source in checks:
        real = lupa.lua54.LuaRuntime()
        real.execute("package.cpath = ''")
        theirs = real.execute(source)
        # lua5.4 still has its C searchers: with cpath "" they end the
        # message with "no file ''" lines; we have no C searchers at all
        if isinstance(theirs, tuple):
            theirs = tuple(_drop_c_searchers(t) if isinstance(t, str) else t for t in theirs)
        ours = LuaRuntime().execute(source)
        assert ours == theirs, source
