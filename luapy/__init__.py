"""luapy: a Lua 5.4 interpreter in pure Python, safe for untrusted code.

    >>> from luapy import LuaRuntime
    >>> lua = LuaRuntime()
    >>> lua.eval("1 + 2")
    3
"""

from .api import LuaFunction, LuaObject, LuaRuntime, LuaTable
from .errors import LuaError, LuaException, LuaLimitError, LuaSyntaxError
from .options import UNLIMITED, Limits, Options

__version__ = "0.1.0"

__all__ = [
    "Limits", "LuaError", "LuaException", "LuaFunction", "LuaLimitError",
    "LuaObject", "LuaRuntime", "LuaSyntaxError", "LuaTable", "Options",
    "UNLIMITED", "__version__",
]
