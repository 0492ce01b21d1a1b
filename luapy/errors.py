"""Exceptions that cross between Lua and Python.

Runtime errors are raised deep inside helpers that do not know where in the
source they are (``arith`` does not know its line).  They carry a pending
``level`` instead: the first generated Lua function that sees a level-1
error stamps it with the ``chunk:line:`` it was executing, and each Lua
function an error leaves lowers the level by one.  That reproduces ``error(msg, level)`` and
``luaL_where`` exactly, with no cost on the path where nothing fails.
"""

from __future__ import annotations


#: How a non-string error value is shown.  This module imports nothing from
#: the runtime; ``luapy.runtime.values`` installs Lua's ``tostring`` without
#: metamethods here when it is loaded.
describe_value = repr


class LuaException(Exception):
    """Base of everything the interpreter raises at a Lua program's behest."""

    #: xpcall's message handler has run on it: ``value`` is what it returned.
    handled = False
    #: No message handler will run on it: it ends in a pcall, a coroutine's
    #: start or the host (``base.handle_unwinding``).
    unhandled = False
    #: The message handler found for it, once looked for.
    handler = None
    #: Whether a protected call inside the running coroutine catches it,
    #: once looked for (so a ``__close`` it runs may yield): None, not yet.
    caught_in_coroutine = None

    def __init__(self, value=None, level: int = 1):
        super().__init__(value)
        #: The Lua error value (any Lua value; usually a message string).
        self.value = value
        #: 0 once positioned; otherwise how many function boundaries remain
        #: before the position is known.
        self.level = level
        #: Lua stack traceback lines, innermost first, filled while unwinding.
        self.lua_traceback: list[str] = []

    def locate(self, where: str) -> None:
        """Prefix ``where`` (``"chunk:line:"``) if the value is a message."""
        self.level = 0
        if isinstance(self.value, str):
            self.value = f"{where} {self.value}"

    def __str__(self) -> str:
        value = self.value
        if isinstance(value, str):
            return value
        value = getattr(value, "_value", value)  # the host's view (a LuaTable...)
        if value is None:
            return "nil"
        try:
            return describe_value(value)
        except Exception:  # a hostile value must never break reporting
            return "(error object is not a string)"

    # ``args[0]`` is the message as ``str()`` gives it, positioned: the
    # value is positioned (``locate``) long after the exception was made.
    @property
    def args(self):
        return (str(self),)

    @args.setter
    def args(self, value):
        self.value = value[0] if len(value) == 1 else value

    def __reduce__(self):
        return (_rebuild_error, (type(self), str(self)))


class LuaError(LuaException):
    """A Lua runtime error; ``value`` is the error object.  pcall catches these."""


class StackOverflow(LuaError):
    """The depth budget ran out: lua5.4's "stack overflow", which pcall
    catches.  A message handler that overflows while handling one is
    lua5.4's "error in error handling" (``base._run_handler``)."""


class OperationError(LuaError):
    """A Lua operation failed: a call, an index, arithmetic, a comparison.

    lua5.4 (``luaG_runerror``) positions these only when Lua code performed
    the operation; the same failure inside a builtin (``table.unpack(nil)``
    taking a length, ``math.max({}, 1)`` comparing) carries no position.
    """


class ArgumentError(LuaError):
    """``luaL_argerror``: a builtin refused argument ``arg``.

    lua5.4 words it after the call site: ``local r = string.rep; r()`` is
    "bad argument #1 to 'r'", and a method call leaves ``self`` out of the
    count.  The builtin can't know its call site, so the message starts out
    with the builtin's own name, and the calling Lua function's error
    handler renames it (``rename``) when the builtin it called directly
    (``raiser``, the code that checked the argument) raised it.
    """

    def __init__(self, arg: int, fname: str, detail: str, raiser=None):
        super().__init__(f"bad argument #{arg} to '{fname}' ({detail})")
        self.arg = arg
        self.fname = fname
        self.detail = detail
        self.raiser = raiser

    def rename(self, name: str, is_method: bool) -> None:
        arg = self.arg - 1 if is_method else self.arg
        if arg == 0:
            self.value = f"calling '{name}' on bad self ({self.detail})"
        else:
            self.value = f"bad argument #{arg} to '{name}' ({self.detail})"


class LuaSyntaxError(LuaError):
    """A compile-time error: ``chunk:line: message near 'token'``."""

    def __init__(self, message: str):
        super().__init__(message, level=0)


class LuaLimitError(LuaError):
    """A sandbox budget ran out.  Lua's pcall can never catch this.

    A ``LuaError`` for the host (``except LuaError`` sees it), but every
    place where Lua code catches errors (``pcall``, ``xpcall``, coroutines,
    ``<close>``) lets it through.  ``limit`` names the budget:
    ``"steps"``, ``"time"``, ``"memory"``, ``"depth"`` or ``"source"``.
    ``where`` is ``chunk:line`` when known.

    The memory budget is ``LuaMemoryError`` by the time it reaches the
    host (``LuaRuntime`` converts it on the way out).
    """

    def __init__(self, limit: str, message: str):
        super().__init__(message, level=1)
        self.limit = limit
        self.where: str | None = None

    def locate(self, where: str) -> None:
        self.level = 0
        self.where = where.rstrip(":")
        self.value = f"{where} {self.value}"

    def __reduce__(self):
        return (_rebuild_limit_error, (self.limit, str(self), self.where))


class LuaMemoryError(LuaLimitError, MemoryError):
    """The memory budget ran out (lupa's ``LuaMemoryError``): both a
    ``LuaError`` and a ``MemoryError``."""


def _rebuild_error(cls, message):
    return cls(message, 0) if cls not in (ArgumentError, LuaSyntaxError) else LuaError(message, 0)


def as_memory_error(error: LuaLimitError) -> LuaMemoryError:
    """The same budget error as a ``LuaMemoryError``."""
    memory_error = LuaMemoryError(error.limit, error.value)
    memory_error.where, memory_error.level = error.where, error.level
    memory_error.lua_traceback = error.lua_traceback
    return memory_error


def _rebuild_limit_error(limit, message, where):
    error = (LuaMemoryError if limit == "memory" else LuaLimitError)(limit, message)
    error.where = where
    error.level = 0
    return error
