"""The ``os`` library (Lua 5.4 manual §6.9), ported from ``loslib.c``.

Every profile gets the side-effect-free part: ``time``, ``date``, ``clock``
and ``difftime``.  The ``standard`` profile adds what touches the process
and the file system: ``getenv``, ``exit``, ``remove``, ``rename``,
``tmpname``, ``execute`` and ``setlocale``.  Decisions there: ``execute``
runs the command through the shell and reports its status decoded as
lua5.4 built for Linux does (``true|nil, "exit"|"signal", code``);
``exit`` raises ``SystemExit`` for the host to honour; ``setlocale`` knows
only the C locale (queries and "C"/"POSIX"/"" succeed, others fail).

``os.date`` formats with its own C-locale ``strftime`` (below) rather than
the platform's, so results do not depend on the host's locale or libc, and
``!`` dates say "GMT" as glibc does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING

from ..errors import LuaError
from ..runtime import ops
from ..runtime.args import (
    arg_error, check_int, check_str, check_table, opt_int, opt_str, register,
)
from ..runtime.values import Table

if TYPE_CHECKING:
    from ..runtime.state import State

_INT_MAX = 0x7FFFFFFF
_INT_MIN = -0x80000000

#: ``LUA_STRFTIMEOPTIONS`` for C99: one-char conversions, then (after the
#: ``||`` separator) the two-char ``E``/``O`` modified ones.
_OPTIONS_1 = frozenset("aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%")
_OPTIONS_2 = frozenset(
    "Ec EC Ex EX Ey EY Od Oe OH OI Om OM OS Ou OU OV Ow OW Oy".split())

_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December")

#: The longest a conversion gets, per byte of its specifier ("%c" makes
#: 24 bytes), and the bytes each conversion's piece costs until the join:
#: what ``os.date`` charges before it expands a format.
_EXPANSION = 12
_PIECE_COST = 96
#: Conversions made between two charges of the step budget.
_BATCH = 256

_CANNOT_DATE = "date result cannot be represented in this installation"
_CANNOT_TIME = "time result cannot be represented in this installation"


class BrokenDownTime:
    """A C ``struct tm`` in Lua's units (month 1-12, wday 0=Sunday, yday 0-365)."""

    __slots__ = ("year", "month", "day", "hour", "min", "sec", "wday", "yday",
                 "isdst", "gmtoff", "zone")

    @classmethod
    def from_struct(cls, tm: time.struct_time, utc: bool) -> "BrokenDownTime":
        self = cls()
        self.year, self.month, self.day = tm.tm_year, tm.tm_mon, tm.tm_mday
        self.hour, self.min, self.sec = tm.tm_hour, tm.tm_min, tm.tm_sec
        self.wday = (tm.tm_wday + 1) % 7  # Python counts from Monday
        self.yday = tm.tm_yday - 1
        self.isdst = tm.tm_isdst > 0
        if utc:
            self.gmtoff, self.zone = 0, "GMT"  # what glibc's gmtime reports
        else:
            self.gmtoff = tm.tm_gmtoff or 0
            self.zone = tm.tm_zone or ""
        return self


def broken_down(t: int, utc: bool) -> BrokenDownTime:
    try:
        tm = time.gmtime(t) if utc else time.localtime(t)
    except (OverflowError, OSError, ValueError):
        raise LuaError(_CANNOT_DATE) from None
    return BrokenDownTime.from_struct(tm, utc)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _iso_week_days(yday: int, wday: int) -> int:
    """Days since the Monday starting the ISO week-numbering year (glibc)."""
    big_enough_multiple_of_7 = (366 // 7 + 2) * 7
    return yday - (yday - wday + 4 + big_enough_multiple_of_7) % 7 + 3


def _iso_year_week(tm: BrokenDownTime) -> tuple[int, int]:
    year = tm.year
    days = _iso_week_days(tm.yday, tm.wday)
    if days < 0:  # the week belongs to the previous year
        year -= 1
        days = _iso_week_days(tm.yday + 365 + _is_leap(year), tm.wday)
    else:
        following = _iso_week_days(tm.yday - (365 + _is_leap(year)), tm.wday)
        if following >= 0:  # the week belongs to the next year
            year += 1
            days = following
    return year, days // 7 + 1


def _conversion(spec: str, tm: BrokenDownTime) -> str:
    """One ``strftime`` conversion in the C locale (E/O modifiers are no-ops)."""
    c = spec[-1]
    if c == "a":
        return _DAYS[tm.wday][:3]
    if c == "A":
        return _DAYS[tm.wday]
    if c in "bh":
        return _MONTHS[tm.month - 1][:3]
    if c == "B":
        return _MONTHS[tm.month - 1]
    if c == "c":
        return (f"{_DAYS[tm.wday][:3]} {_MONTHS[tm.month - 1][:3]} {tm.day:2d} "
                f"{tm.hour:02d}:{tm.min:02d}:{tm.sec:02d} {tm.year}")
    if c == "C":
        return str(tm.year // 100)  # glibc: floored, unpadded ("9" for 999)
    if c == "d":
        return f"{tm.day:02d}"
    if c in "Dx":
        return f"{tm.month:02d}/{tm.day:02d}/{tm.year % 100:02d}"
    if c == "e":
        return f"{tm.day:2d}"
    if c == "F":
        return f"{tm.year}-{tm.month:02d}-{tm.day:02d}"
    if c == "g":
        return f"{_iso_year_week(tm)[0] % 100:02d}"
    if c == "G":
        return str(_iso_year_week(tm)[0])
    if c == "H":
        return f"{tm.hour:02d}"
    if c == "I":
        return f"{tm.hour % 12 or 12:02d}"
    if c == "j":
        return f"{tm.yday + 1:03d}"
    if c == "m":
        return f"{tm.month:02d}"
    if c == "M":
        return f"{tm.min:02d}"
    if c == "n":
        return "\n"
    if c == "p":
        return "AM" if tm.hour < 12 else "PM"
    if c == "r":
        return (f"{tm.hour % 12 or 12:02d}:{tm.min:02d}:{tm.sec:02d} "
                f"{'AM' if tm.hour < 12 else 'PM'}")
    if c == "R":
        return f"{tm.hour:02d}:{tm.min:02d}"
    if c == "S":
        return f"{tm.sec:02d}"
    if c == "t":
        return "\t"
    if c in "TX":
        return f"{tm.hour:02d}:{tm.min:02d}:{tm.sec:02d}"
    if c == "u":
        return str(tm.wday or 7)
    if c == "U":
        return f"{(tm.yday + 7 - tm.wday) // 7:02d}"
    if c == "V":
        return f"{_iso_year_week(tm)[1]:02d}"
    if c == "w":
        return str(tm.wday)
    if c == "W":
        return f"{(tm.yday + 7 - (tm.wday + 6) % 7) // 7:02d}"
    if c == "y":
        return f"{tm.year % 100:02d}"
    if c == "Y":
        return str(tm.year)
    if c == "z":
        offset = tm.gmtoff
        sign = "-" if offset < 0 else "+"
        offset = abs(offset) // 60
        return f"{sign}{offset // 60:02d}{offset % 60:02d}"
    if c == "Z":
        return tm.zone
    return "%"


def strftime(st: State, fmt: str, tm: BrokenDownTime) -> str:
    """``os.date``'s formatting loop, with lua5.4's specifier validation.

    Each conversion is a step, charged a batch at a time as the loop goes,
    so a huge format still looks at the clock."""
    out = []
    i = 0
    n = len(fmt)
    while i < n:
        ch = fmt[i]
        if ch != "%":
            j = fmt.find("%", i)
            j = n if j < 0 else j
            out.append(fmt[i:j])
            i = j
            continue
        i += 1
        if i < n and fmt[i] in _OPTIONS_1:
            spec = fmt[i]
        elif n - i >= 2 and fmt[i:i + 2] in _OPTIONS_2:
            spec = fmt[i:i + 2]
        else:
            rest = fmt[i:].split("\0", 1)[0]  # C prints up to the NUL
            arg_error(1, "date", f"invalid conversion specifier '%{rest}'")
        out.append(_conversion(spec, tm))
        i += len(spec)
        if not len(out) % _BATCH:
            st.charge(_BATCH)
    return "".join(out)


class OsLibrary:
    """The portable ``os`` functions of one runtime (``register`` stores the bound methods)."""

    __slots__ = ("st",)

    def __init__(self, st: State):
        self.st = st

    def setfield(self, t, key, value):
        st = self.st
        ops.setindex(st, t, key, value)

    def setallfields(self, t, tm: BrokenDownTime):
        self.setfield(t, "year", tm.year)
        self.setfield(t, "month", tm.month)
        self.setfield(t, "day", tm.day)
        self.setfield(t, "hour", tm.hour)
        self.setfield(t, "min", tm.min)
        self.setfield(t, "sec", tm.sec)
        self.setfield(t, "yday", tm.yday + 1)
        self.setfield(t, "wday", tm.wday + 1)
        self.setfield(t, "isdst", tm.isdst)

    def getfield(self, t, key, default, delta):
        st = self.st
        value = ops.index(st, t, key)
        as_int = ops.tointeger(value)  # lua_tointegerx: numeric strings count
        if as_int is None:
            if value is not None:
                raise LuaError(f"field '{key}' is not an integer")
            if default < 0:
                raise LuaError(f"field '{key}' missing in date table")
            return default
        if not (as_int - delta <= _INT_MAX if as_int >= 0 else _INT_MIN + delta <= as_int):
            raise LuaError(f"field '{key}' is out-of-bound")
        return as_int - delta

    def time_(self, *args):
        st = self.st
        if not args or args[0] is None:
            return (int(time.time()),)
        t = check_table(args, 1, "time")
        year = self.getfield(t, "year", -1, 1900) + 1900
        month = self.getfield(t, "month", -1, 1) + 1
        day = self.getfield(t, "day", -1, 0)
        hour = self.getfield(t, "hour", 12, 0)
        minute = self.getfield(t, "min", 0, 0)
        sec = self.getfield(t, "sec", 0, 0)
        isdst_value = ops.index(st, t, "isdst")
        isdst = -1 if isdst_value is None else int(ops.truthy(isdst_value))
        try:
            result = int(time.mktime((year, month, day, hour, minute, sec, 0, 0, isdst)))
            normalised = BrokenDownTime.from_struct(time.localtime(result), False)
        except (OverflowError, OSError, ValueError):
            raise LuaError(_CANNOT_TIME) from None
        if result == -1:  # mktime's error value, rejected by lua5.4 too
            raise LuaError(_CANNOT_TIME)
        self.setallfields(t, normalised)
        return (result,)

    def date(self, *args):
        st = self.st
        fmt = opt_str(args, 1, "date", "%c")
        if len(args) >= 2 and args[1] is not None:
            when = check_int(args, 2, "date")
        else:
            when = int(time.time())
        utc = fmt.startswith("!")
        if utc:
            fmt = fmt[1:]
        tm = broken_down(when, utc)
        if fmt == "*t":
            st.charge_memory(ops.TABLE_COST + 9 * ops.SLOT_COST)
            t = Table()
            self.setallfields(t, tm)
            return (t,)
        conversions = fmt.count("%")
        ops.charge_string(st, _EXPANSION * len(fmt))
        st.charge_memory(_PIECE_COST * conversions)
        return (strftime(st, fmt, tm),)

    def clock(self, *args):
        return (time.process_time(),)

    def difftime(self, *args):
        t1 = check_int(args, 1, "difftime")
        t2 = check_int(args, 2, "difftime")
        return (float(t1 - t2),)


def open_library(st: State) -> Table:
    library = OsLibrary(st)
    lib = Table()
    register(lib, "clock", library.clock)
    register(lib, "date", library.date)
    register(lib, "difftime", library.difftime)
    register(lib, "time", library.time_)
    if st.options.profile == "standard":
        _open_process_functions(st, lib)
    return lib


# ----------------------------------------------- standard profile only


def _to_bytes(s: str) -> bytes:
    return s.encode("latin-1")


def _from_bytes(b: bytes) -> str:
    return b.decode("latin-1")


def file_failure(error: OSError, filename: str | None = None) -> tuple:
    """``luaL_fileresult`` on failure: ``nil, "[name: ]message", errno``."""
    message = error.strerror or str(error)
    if filename is not None:
        message = f"{filename}: {message}"
    return (None, message, error.errno or 0)


def _open_process_functions(st: State, lib: Table) -> None:
    def getenv(*args):
        name = check_str(args, 1, "getenv")
        if "\0" in name:
            return (None,)
        environ = getattr(os, "environb", None)
        if environ is not None:
            value = environ.get(_to_bytes(name))
            return (None if value is None else _from_bytes(value),)
        value = os.environ.get(name)
        return (value,)

    def exit_(*args):
        status = args[0] if args else None
        if status is None or status is True:
            code = 0
        elif status is False:
            code = 1
        else:
            code = opt_int(args, 1, "exit", 0)
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        raise SystemExit(code)

    def remove(*args):
        filename = check_str(args, 1, "remove")
        path = _to_bytes(filename)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)  # C remove() deletes empty directories too
            else:
                os.remove(path)
        except OSError as error:
            return file_failure(error, filename)
        return (True,)

    def rename(*args):
        old = check_str(args, 1, "rename")
        new = check_str(args, 2, "rename")
        try:
            os.rename(_to_bytes(old), _to_bytes(new))
        except OSError as error:
            return file_failure(error)  # lua5.4 names no file here
        return (True,)

    def tmpname(*args):
        try:
            fd, name = tempfile.mkstemp(prefix="lua_")
            os.close(fd)
        except OSError:
            raise LuaError("unable to generate a unique filename") from None
        return (name,)

    def execute(*args):
        command = opt_str(args, 1, "execute", None)
        if command is None:
            return (True,)  # a shell is available
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        try:
            completed = subprocess.run(_to_bytes(command), shell=True)
        except OSError as error:
            return file_failure(error)
        # Decoded like lua5.4 built for Linux (l_inspectstat), not the raw
        # wait status a build without LUA_USE_POSIX returns.
        code = completed.returncode
        if code < 0:  # killed by a signal
            return (None, "signal", -code)
        return (True if code == 0 else None, "exit", code)

    categories = ("all", "collate", "ctype", "monetary", "numeric", "time")

    def setlocale(*args):
        locale = opt_str(args, 1, "setlocale", None)
        category = opt_str(args, 2, "setlocale", "all")
        if category not in categories:
            arg_error(2, "setlocale", f"invalid option '{category}'")
        # Only the C locale exists here: queries and requests for it
        # succeed, anything else fails as an unknown locale would.
        if locale is None or locale in ("C", "POSIX", ""):
            return ("C",)
        return (None,)

    register(lib, "execute", execute)
    register(lib, "exit", exit_)
    register(lib, "getenv", getenv)
    register(lib, "remove", remove)
    register(lib, "rename", rename)
    register(lib, "setlocale", setlocale)
    register(lib, "tmpname", tmpname)
