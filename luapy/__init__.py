"""luapy: a Lua 5.4 interpreter in pure Python, safe for untrusted code.

    >>> from luapy import LuaRuntime
    >>> lua = LuaRuntime()
    >>> lua.eval("1 + 2")
    3
"""

from .api import (
    LuaFunction, LuaObject, LuaRuntime, LuaTable, LuaThread, as_attrgetter, as_itemgetter,
    lua_type, unpacks_lua_table, unpacks_lua_table_method,
)
from .errors import LuaError, LuaException, LuaLimitError, LuaMemoryError, LuaSyntaxError
from .options import TRUSTED_LIMITS, UNLIMITED, Limits, Options

__version__ = "0.1.0"

__all__ = [
    "Limits", "LuaError", "LuaException", "LuaFunction", "LuaLimitError", "LuaMemoryError",
    "LuaObject", "LuaRuntime", "LuaSyntaxError", "LuaTable", "LuaThread", "Options",
    "TRUSTED_LIMITS", "UNLIMITED", "__version__", "as_attrgetter", "as_itemgetter", "lua_type",
    "unpacks_lua_table", "unpacks_lua_table_method",
]
