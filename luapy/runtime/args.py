"""Argument checking for builtins, with lauxlib's exact messages.

A builtin is a Python function taking the Lua arguments positionally
(``def sub(*args)``) and returning a tuple of results.  Argument numbers are
1-based, as Lua prints them.
"""

from __future__ import annotations

from ..errors import LuaError
from .values import Function, Table, float_to_int, number_to_str, str_to_number, type_name


def builtin(name: str, func) -> Function:
    """Wrap a Python function as a Lua builtin named ``name``."""
    return Function(func, name)


def register(table: Table, name: str, func, qualified: str | None = None) -> Function:
    """Store ``func`` as ``table[name]``; errors will say ``qualified or name``."""
    fn = Function(func, qualified or name)
    table.set(name, fn)
    return fn


def arg_error(n: int, fname: str, message: str):
    raise LuaError(f"bad argument #{n} to '{fname}' ({message})")


def typename(value) -> str:
    """``luaL_typename`` as argument errors use it: ``__name`` wins."""
    meta = getattr(value, "meta", None)
    if type(meta) is Table:
        name = meta.hash.get("__name")
        if type(name) is str:
            return name
    return type_name(value)


def typename_of_arg(args, n: int) -> str:
    if len(args) < n:
        return "no value"
    return typename(args[n - 1])


def type_error(args, n: int, fname: str, expected: str):
    arg_error(n, fname, f"{expected} expected, got {typename_of_arg(args, n)}")


def check_any(args, n: int, fname: str):
    if len(args) < n:
        arg_error(n, fname, "value expected")
    return args[n - 1]


def check_int(args, n: int, fname: str) -> int:
    value = args[n - 1] if len(args) >= n else None
    t = type(value)
    if t is int:
        return value
    if t is float:
        as_int = float_to_int(value)
        if as_int is None:
            arg_error(n, fname, "number has no integer representation")
        return as_int
    if t is str:
        number = str_to_number(value)
        if number is not None:
            if type(number) is int:
                return number
            as_int = float_to_int(number)
            if as_int is None:
                arg_error(n, fname, "number has no integer representation")
            return as_int
    type_error(args, n, fname, "number")


def opt_int(args, n: int, fname: str, default):
    if len(args) < n or args[n - 1] is None:
        return default
    return check_int(args, n, fname)


def check_num(args, n: int, fname: str):
    value = args[n - 1] if len(args) >= n else None
    t = type(value)
    if t is int or t is float:
        return value
    if t is str:
        number = str_to_number(value)
        if number is not None:
            return number
    type_error(args, n, fname, "number")


def opt_num(args, n: int, fname: str, default):
    if len(args) < n or args[n - 1] is None:
        return default
    return check_num(args, n, fname)


def check_str(args, n: int, fname: str) -> str:
    value = args[n - 1] if len(args) >= n else None
    t = type(value)
    if t is str:
        return value
    if t is int or t is float:
        return number_to_str(value)
    type_error(args, n, fname, "string")


def opt_str(args, n: int, fname: str, default):
    if len(args) < n or args[n - 1] is None:
        return default
    return check_str(args, n, fname)


def check_table(args, n: int, fname: str) -> Table:
    value = args[n - 1] if len(args) >= n else None
    if type(value) is not Table:
        type_error(args, n, fname, "table")
    return value


def check_function(args, n: int, fname: str) -> Function:
    value = args[n - 1] if len(args) >= n else None
    if type(value) is not Function:
        type_error(args, n, fname, "function")
    return value


def arg(args, n: int):
    """The n-th argument, or nil when absent."""
    return args[n - 1] if len(args) >= n else None
