"""Argument checking for builtins, with lauxlib's exact messages.

A builtin is a Python function taking the Lua arguments positionally
(``def sub(*args)``) and returning a tuple of results.  Argument numbers are
1-based, as Lua prints them.
"""

from __future__ import annotations

import sys

from ..errors import ArgumentError
from .state import running_state
from .values import BUILTIN_CODES, Function, Table, float_to_int, number_to_str, type_name
from .values import str_to_number as _convert

#: Strings up to this long convert uncharged: the cost is the call's.
_FREE_CONVERSION = 256
#: Bytes converted per step charged (as ``ops.BYTES_PER_STEP`` for C work;
#: a conversion makes a few passes over its text).
_CONVERSION_BYTES_PER_STEP = 16


def str_to_number(text: str):
    """``values.str_to_number``, its work charged to the running call.

    A conversion is linear in the string's length, and a string can be tens
    of megabytes: uncharged, a loop converting one (``s + 1``,
    ``math.floor(s)``, ``tonumber(s)``) would do milliseconds of work per
    counted step, far past its time budget before a check.  Every coercion
    from a string (arguments, arithmetic, ``tonumber``) comes through here.
    """
    if len(text) > _FREE_CONVERSION:
        st = running_state()
        if st is not None:
            st.charge(1 + len(text) // _CONVERSION_BYTES_PER_STEP)
    return _convert(text)


#: How far up from ``arg_error`` a builtin's own frame may be (it may check
#: its arguments through helpers of its library).
_MAX_HELPER_FRAMES = 8


def register(table: Table, name: str, func, qualified: str | None = None) -> Function:
    """Store ``func`` as ``table[name]``; errors will say ``qualified or name``."""
    fn = Function(func, qualified or name)
    table.set(name, fn)
    return fn


def arg_error(n: int, fname: str, message: str):
    frame = _checking_builtin()
    error = ArgumentError(n, fname, message, frame.f_code if frame is not None else None)
    # ``table.sort(t, table.sort)``: the builtin the Lua line called is the
    # one that failed, yet the failing call came from C (sort's comparison),
    # so lua5.4 has no call-site name for it.
    error.called_by_builtin = frame is not None and _called_by_builtin(frame)
    raise error


def _checking_builtin():
    """The frame of the builtin whose arguments are being checked, if found."""
    frame = sys._getframe(2)
    for _ in range(_MAX_HELPER_FRAMES):
        if frame is None or frame.f_code.co_filename.startswith("<lua "):
            return None  # reached Lua code: not a builtin's check
        if frame.f_code in BUILTIN_CODES:
            return frame
        frame = frame.f_back
    return None


def _called_by_builtin(frame) -> bool:
    """Whether the builtin running in ``frame`` was called by another
    builtin (through its helpers) rather than by Lua code."""
    frame = frame.f_back
    for _ in range(_MAX_HELPER_FRAMES):
        if frame is None or frame.f_code.co_filename.startswith("<lua "):
            return False
        if frame.f_code in BUILTIN_CODES:
            return True
        frame = frame.f_back
    return False


def name_argument_error(st, error: ArgumentError, callee_code=None, sites: tuple = ()) -> bool:
    """Word a builtin's argument error as ``luaL_argerror`` does.

    lua5.4 names the builtin after its call site: ``callee_code`` is what
    the failing Lua line called directly and ``sites`` how that line's calls
    name their callees (``(name, is_method)``).  A builtin without a named
    call site (called through ``pcall`` or by ``table.sort``, or as
    ``(f or g)()``) is named by where ``package.loaded`` holds it
    (``pushglobalfuncname``): ``'string.rep'``, or ``'tostring'`` for ``_G``.

    Returns False when the line did not call the builtin itself (another
    builtin did): lua5.4 then gives the message no position.
    """
    raiser = error.raiser
    if raiser is None or error.level != 1:
        return True
    error.raiser = None  # worded once, by whoever sees it first
    if callee_code is raiser and not getattr(error, "called_by_builtin", False):
        named = [site for site in sites if len(sites) == 1 or site[0] == error.fname]
        if len(named) == 1:
            name, is_method, _ = named[0]
            error.rename(name, is_method)
            return True
    _name_from_loaded(st, error, raiser)
    if getattr(error, "called_by_builtin", False):
        return False
    return callee_code is raiser or callee_code is None


def _name_from_loaded(st, error: ArgumentError, raiser) -> None:
    # The standard libraries before _G, so string.rep is not named after a
    # global that happens to hold it too.
    modules = sorted(st.loaded.hash.items(), key=lambda item: item[0] == "_G")
    for module_name, module in modules:
        if type(module_name) is not str:
            continue
        if type(module) is Function and getattr(module.call, "__code__", None) is raiser:
            error.rename(module_name, False)
            return
        if type(module) is Table:
            for key, value in module.hash.items():
                if type(value) is Function and type(key) is str and getattr(value.call, "__code__", None) is raiser:
                    error.rename(key if module_name == "_G" else f"{module_name}.{key}", False)
                    return


#: A ``__name`` up to this long goes into error messages uncharged.
_FREE_NAME = 256
#: Copies of the name an error message makes: the message, the "bad
#: argument" text and its positioned or renamed form.
_NAME_COPIES = 3


def typename(value) -> str:
    """``luaL_typename`` as argument errors use it: ``__name`` wins.

    Only error messages ask, and each copies the name a few times: a long
    one is charged to the running call, or ``pcall(string.rep, u)`` in a
    loop, with a 16 MiB ``__name``, made 40 MB of uncharged messages per
    turn (2 GB resident within the time budget: caught errors wait in
    reference cycles for a collection).
    """
    meta = getattr(value, "meta", None)
    if type(meta) is Table:
        name = meta.hash.get("__name")
        if type(name) is str:
            if len(name) > _FREE_NAME:
                st = running_state()
                if st is not None:
                    st.charge_memory(_NAME_COPIES * len(name))
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


def to_number(value):
    """``lua_tonumber``: a number, a string that reads as one, else None."""
    t = type(value)
    if t is int or t is float:
        return value
    if t is str:
        return str_to_number(value)
    return None


def check_num(args, n: int, fname: str):
    number = to_number(args[n - 1] if len(args) >= n else None)
    if number is None:
        type_error(args, n, fname, "number")
    return number


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
