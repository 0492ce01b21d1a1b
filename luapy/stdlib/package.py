"""The package library and ``require``, as lua5.4's ``loadlib.c`` has them.

``package.searchers`` holds three builtin searchers, tried in order:

1. **preload**: ``package.preload[name]``;
2. **bundled**: modules the host registered with ``register_module``
   (``st.registered``: Lua source text or a table), then modules that ship
   with luapy (``dkjson``);
3. **Lua files**: ``package.path`` templates.  In the standard profile the
   files are really opened; in the sandbox profile this searcher never
   touches the file system and only reports the names it would have tried,
   so error messages keep lua5.4's format whatever the profile.

There are no C searchers (``package.cpath`` is ``""``): nothing native is
ever loaded.  ``require`` itself follows ``ll_require`` step by step, reading
``package.searchers`` and ``package.path`` when it runs, so a script that
replaces or extends them (``package.path = package.path .. ";/bin/?.lua"``)
gets what it would get under lua5.4.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING

from ..errors import LuaError, LuaSyntaxError
from ..load import skip_file_header
from ..runtime import ops
from ..runtime.args import check_str, opt_str, register
from ..runtime.values import Function, Table, number_to_str

if TYPE_CHECKING:
    from ..runtime.state import State

#: LUA_PATH_DEFAULT of a stock lua5.4 (LUA_ROOT "/usr/local/").
LUA_PATH_DEFAULT = (
    "/usr/local/share/lua/5.4/?.lua;/usr/local/share/lua/5.4/?/init.lua;"
    "/usr/local/lib/lua/5.4/?.lua;/usr/local/lib/lua/5.4/?/init.lua;"
    "./?.lua;./?/init.lua"
)
#: LUA_CPATH_DEFAULT of a stock lua5.4.
LUA_CPATH_DEFAULT = "/usr/local/lib/lua/5.4/?.so;/usr/local/lib/lua/5.4/loadall.so;./?.so"
#: LUA_DIRSEP, LUA_PATH_SEP, LUA_PATH_MARK, LUA_EXEC_DIR, LUA_IGMARK.
CONFIG = "/\n;\n?\n!\n-\n"
#: What lua5.4 built without dynamic-library support answers.
DLL_DISABLED = "dynamic libraries not enabled; check your Lua installation"

#: Modules shipped with luapy: ``require`` name -> ``luapy.stdlib`` module
#: whose ``open_library(st)`` builds a fresh module table for one runtime.
BUNDLED_MODULES = {"dkjson": "dkjson"}

#: Second value of ``require`` for the modules the bundled searcher finds.
BUNDLED_DATA = ":bundled:"
REGISTERED_DATA = ":registered:"


def initial_path(profile: str, variable: str = "LUA_PATH",
                 default: str = LUA_PATH_DEFAULT) -> str:
    """``package.path`` (or, given ``LUA_CPATH``, ``package.cpath``) at start:
    the default, or the environment's (standard profile only).

    Like lua5.4's ``setpath``: ``LUA_PATH_5_4`` wins over ``LUA_PATH``, and a
    ``;;`` in it stands for the default path.  The sandbox never looks at the
    host's environment.
    """
    if profile != "standard":
        return default
    path = os.environ.get(variable + "_5_4")
    if path is None:
        path = os.environ.get(variable)
    if path is None:
        return default
    path = path.encode("utf-8", "surrogateescape").decode("latin-1")
    mark = path.find(";;")
    if mark < 0:
        return path
    prefix, suffix = path[:mark], path[mark + 2:]
    return (prefix + ";" if prefix else "") + default + (";" + suffix if suffix else "")


#: Between two candidates of the "no file" message, in place of the ';'.
_NO_FILE_SEPARATOR = "'\n\tno file '"


def search_path(name: str, path: str, sep: str, dirsep: str, may_open: bool,
                st: State | None = None):
    """lua5.4's ``searchpath``: ``(filename, None)`` or ``(None, message)``.

    With ``may_open`` false no file is opened and every candidate is
    reported as missing.  Given ``st``, each string is charged before it is
    made: every '?' of the path becomes a copy of the name, so a long name
    and a path of many '?' would otherwise build gigabytes in one call.
    """
    if sep and sep[0] in name:
        if st is not None:
            ops.charge_string(st, len(name) + name.count(sep) * (len(dirsep) - len(sep)))
        name = name.replace(sep, dirsep)
    if st is not None:
        ops.charge_string(st, len(path) + path.count("?") * (len(name) - 1))
    candidates = path.replace("?", name)
    if may_open and candidates:
        for filename in candidates.split(";"):
            if _readable(filename):
                return filename, None
    if st is not None:
        ops.charge_string(st, len(candidates) + 10 + candidates.count(";") * (len(_NO_FILE_SEPARATOR) - 1))
    return None, "no file '" + candidates.replace(";", _NO_FILE_SEPARATOR) + "'"


def _readable(filename: str) -> bool:
    """``fopen(filename, "r") != NULL`` (so a directory counts, as in C)."""
    try:
        os.close(os.open(filename.encode("latin-1"), os.O_RDONLY))
        return True
    except (OSError, ValueError):
        return False


def _read_source(st: State, filename: str) -> str:
    """A Lua source file as ``luaL_loadfile`` sees it (BOM and ``#`` line skipped)."""
    try:
        fd = os.open(filename.encode("latin-1"), os.O_RDONLY)
    except OSError as error:
        raise _LoadFailure(f"cannot open {filename}: {error.strerror}") from None
    try:
        st.charge_memory(os.fstat(fd).st_size)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise _LoadFailure(f"cannot read {filename}: {error.strerror}") from None
    return skip_file_header(data.decode("latin-1"))


class _LoadFailure(Exception):
    """``luaL_loadfile`` could not read the file (message as lauxlib words it)."""


def _as_message(value):
    """What ``lua_isstring`` accepts, as the string ``luaL_addvalue`` adds."""
    t = type(value)
    if t is str:
        return value
    if t is int or t is float:
        return number_to_str(value)
    return None


class PackageLibrary:
    """``require``, the searchers and ``package``'s functions for one runtime
    (``register`` stores the bound methods).  ``package`` is the table Lua
    sees: the searchers read ``path``, ``cpath`` and ``searchers`` from it at
    each call, as loadlib.c does."""

    __slots__ = ("st", "package", "preload", "sandbox")

    def __init__(self, st: State):
        self.st = st
        self.package = Table()
        self.preload = Table()
        self.sandbox = st.options.profile == "sandbox"

    def searcher_preload(self, *args):
        st = self.st
        name = check_str(args, 1, "?")
        loader = ops.index(st, self.preload, name)
        if loader is None:
            return (f"no field package.preload['{name}']",)
        return (loader, ":preload:")

    def searcher_bundled(self, *args):
        st = self.st
        name = check_str(args, 1, "?")
        module = st.registered.get(name)
        if module is not None:
            return (self._registered_loader(name, module), REGISTERED_DATA)
        library = BUNDLED_MODULES.get(name)
        if library is not None:
            opener = import_module(f"{__package__}.{library}").open_library
            return (Function(lambda *args: (opener(st),), name), BUNDLED_DATA)
        return ()  # no message: lua5.4 then adds nothing to the error

    def _registered_loader(self, name: str, module) -> Function:
        st = self.st
        if type(module) is Table:
            return Function(lambda *args: (module,), name)
        try:
            return _load_chunk(st, module, "=" + name)
        except LuaSyntaxError as error:
            raise LuaError(f"error loading module '{name}' from registered source:\n\t{error.value}",
                           level=0) from None

    def searcher_lua(self, *args):
        st = self.st
        name = check_str(args, 1, "?")
        path = _as_message(ops.index(st, self.package, "path"))
        if path is None:
            # Raised by a searcher, which require called: no position (level 0).
            raise LuaError("'package.path' must be a string", level=0)
        filename, message = search_path(name, path, ".", "/", not self.sandbox, st)
        if filename is None:
            return (message,)
        try:
            chunk = _load_chunk(st, _read_source(st, filename), "@" + filename)
        except (LuaSyntaxError, _LoadFailure) as error:
            reason = error.value if isinstance(error, LuaSyntaxError) else str(error)
            raise LuaError(f"error loading module '{name}' from file '{filename}':\n\t{reason}",
                           level=0) from None
        return (chunk, filename)

    def search_c(self, name: str, lookup: str):
        """``searcher_C``/``searcher_Croot`` for a luapy without C modules:
        search ``package.cpath`` as lua5.4 does; a file found there can't be
        loaded, as in a lua5.4 built without dynamic libraries."""
        st = self.st
        cpath = _as_message(ops.index(st, self.package, "cpath"))
        if cpath is None:
            raise LuaError("'package.cpath' must be a string", level=0)
        filename, message = search_path(lookup, cpath, ".", "/", True, st)
        if filename is None:
            return (message,)
        raise LuaError(f"error loading module '{name}' from file '{filename}':\n\t{DLL_DISABLED}",
                       level=0)

    def searcher_c(self, *args):
        name = check_str(args, 1, "?")
        return self.search_c(name, name)

    def searcher_croot(self, *args):
        name = check_str(args, 1, "?")
        root, dot, _ = name.partition(".")
        if not dot:
            return ()  # lua5.4: a root name is the C searcher's business
        return self.search_c(name, root)

    def find_loader(self, name: str):
        """``findloader``: the first searcher's loader, or the full error."""
        st = self.st
        current = ops.index(st, self.package, "searchers")
        if type(current) is not Table:
            raise LuaError("'package.searchers' must be a table")
        messages = []
        i = 1
        while True:
            searcher = current.get(i)
            if searcher is None:
                # Searchers are Lua functions: each may return the same
                # long string, joined here once per searcher.
                ops.charge_string(st, sum(map(len, messages)) + 2 * len(messages))
                raise LuaError(f"module '{name}' not found:" + "".join("\n\t" + m for m in messages))
            results = ops.call(st, searcher, (name,))
            found = results[0] if results else None
            if type(found) is Function:
                return found, (results[1] if len(results) > 1 else None)
            message = _as_message(found)
            if message is not None:
                messages.append(message)
            i += 1

    def require(self, *args):
        st = self.st
        name = check_str(args, 1, "require")
        loaded = st.loaded
        module = ops.index(st, loaded, name)
        if module is not None and module is not False:
            return (module,)
        loader, data = self.find_loader(name)
        results = ops.call(st, loader, (name, data))
        result = results[0] if results else None
        if result is not None:
            ops.setindex(st, loaded, name, result)
        module = ops.index(st, loaded, name)
        if module is None:
            module = True
            ops.setindex(st, loaded, name, True)
        return (module, data)

    def searchpath(self, *args):
        # lua5.4 checks these as C call arguments, which gcc evaluates last
        # to first: pcall(package.searchpath) complains about #2.
        dirsep = opt_str(args, 4, "package.searchpath", "/")
        sep = opt_str(args, 3, "package.searchpath", ".")
        path = check_str(args, 2, "package.searchpath")
        name = check_str(args, 1, "package.searchpath")
        filename, message = search_path(name, path, sep, dirsep, not self.sandbox, self.st)
        if filename is not None:
            return (filename,)
        return (None, message)

    def loadlib(self, *args):
        check_str(args, 1, "package.loadlib")
        check_str(args, 2, "package.loadlib")
        return (None, DLL_DISABLED, "absent")




def _load_chunk(st: State, source: str, chunkname: str) -> Function:
    from ..load import load_chunk  # load imports the compiler, which needs the stdlib

    return load_chunk(st, source, chunkname)


def open_library(st: State) -> Table:
    """Build the ``package`` table and install ``require`` in ``_G``."""
    library = PackageLibrary(st)
    package = library.package
    sandbox = library.sandbox
    searchers = Table()
    all_searchers = [library.searcher_preload, library.searcher_bundled, library.searcher_lua]
    if not sandbox:  # the sandbox has no host files to look at
        all_searchers += [library.searcher_c, library.searcher_croot]
    for searcher in all_searchers:
        searchers.set(searchers.length() + 1, Function(searcher, "?"))

    package.set("config", CONFIG)
    package.set("path", initial_path(st.options.profile))
    package.set("cpath", "" if sandbox else initial_path(
        st.options.profile, "LUA_CPATH", LUA_CPATH_DEFAULT))
    package.set("loaded", st.loaded)
    package.set("preload", library.preload)
    package.set("searchers", searchers)
    register(package, "searchpath", library.searchpath, "package.searchpath")
    if not sandbox:
        register(package, "loadlib", library.loadlib, "package.loadlib")
    register(st.globals, "require", library.require)
    return package
