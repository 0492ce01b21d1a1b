"""Lua values and their Python representation.

========== ==========================================================
Lua        Python
========== ==========================================================
nil        ``None``
boolean    ``True`` / ``False``
integer    ``int``, always kept inside the signed 64-bit range
float      ``float``
string     ``str`` whose characters are all < 256: one character per
           byte, so ``#s`` is ``len(s)`` and any byte round-trips
table      ``Table``
function   ``Function`` (Lua closures and host builtins alike)
thread     ``Coroutine``
userdata   ``Userdata`` (file handles of the command-line profile)
========== ==========================================================

Nothing here gives a Lua program a path to Python attributes: Lua code only
ever reaches values through ``Table`` storage and the runtime's operators.
"""

from __future__ import annotations

import math
import re

from .. import errors
from ..errors import OperationError
from .traversal import (MIN_GAP, POSITION_BYTES_PER_KEY, SNAPSHOT_BYTES_PER_KEY, ArrayGaps, HashWalk,
                        first_value_after_holes)

MAXINT = 0x7FFFFFFFFFFFFFFF
MININT = -0x8000000000000000
_TWO64 = 0x10000000000000000
_MASK64 = 0xFFFFFFFFFFFFFFFF


def wrap_int(value: int) -> int:
    """Reduce a Python int to Lua's two's-complement 64-bit integer."""
    return ((value + 0x8000000000000000) & _MASK64) - 0x8000000000000000


def float_to_int(value: float):
    """The integer equal to ``value``, or ``None`` if it has none in 64 bits."""
    if value.is_integer() and -9.2233720368547758e18 <= value < 9.2233720368547758e18:
        return int(value)
    return None


class _BoolKey:
    """Stands for ``true``/``false`` as a dict key.

    Python's ``True == 1`` would make ``t[true]`` and ``t[1]`` the same
    slot; Lua keeps them apart.
    """

    __slots__ = ("value",)

    def __init__(self, value: bool):
        self.value = value


#: What ``Table.next`` charges for work beyond O(1): a step per this many
#: holes skipped (a C-level scan, about 30 ns a hole) and per this many
#: hash keys copied into or indexed for a traversal snapshot.
HOLES_PER_STEP = 8
KEYS_PER_STEP = 4

_TRUE_KEY = _BoolKey(True)
_FALSE_KEY = _BoolKey(False)


class Table:
    """A Lua table: an array part for keys ``1..len(arr)`` plus a dict.

    Invariants that make ``#t`` O(1) and exact:
      * ``arr[-1]`` is never ``None`` (trailing nils are popped);
      * ``hash`` never holds the integer key ``len(arr) + 1``: appending
        migrates the following keys out of ``hash``.
    Keys in ``hash`` are normalised: floats with an integral value become
    ints, booleans become ``_BoolKey``.
    """

    #: ``gc_proxy`` is only ever set on tables with a ``__gc`` metamethod
    #: (``luapy.runtime.collector``); others never initialise it.
    #: ``gaps`` and ``walk`` are what ``next`` remembers (``traversal``).
    __slots__ = ("hash", "arr", "meta", "gaps", "walk", "gc_proxy", "__weakref__")

    def __init__(self, arr: list | None = None, hash: dict | None = None):
        self.arr = arr if arr is not None else []
        self.hash = hash if hash is not None else {}
        self.meta: Table | None = None
        self.gaps: ArrayGaps | None = None
        self.walk: HashWalk | None = None

    # -- raw access ---------------------------------------------------------

    def get(self, key):
        """``rawget``: never runs metamethods."""
        kt = type(key)
        if kt is int:
            arr = self.arr
            if 0 < key <= len(arr):
                return arr[key - 1]
            return self.hash.get(key)
        if kt is str:
            return self.hash.get(key)
        if kt is float:
            as_int = float_to_int(key) if key == key else None
            if as_int is not None:
                return self.get(as_int)
            return self.hash.get(key)
        if kt is bool:
            return self.hash.get(_TRUE_KEY if key else _FALSE_KEY)
        return self.hash.get(key)

    def set(self, key, value) -> None:
        """``rawset``.  Raises ``OperationError`` for nil and NaN keys."""
        kt = type(key)
        if kt is int:
            arr = self.arr
            n = len(arr)
            if 0 < key <= n:
                if value is None and key == n:
                    arr.pop()
                    while arr and arr[-1] is None:
                        arr.pop()
                    if self.gaps is not None:
                        self.gaps.truncate(len(arr))
                else:
                    if self.gaps is not None and value is not None and arr[key - 1] is None:
                        self.gaps.fill(key - 1)
                    arr[key - 1] = value
                return
            if key == n + 1:
                if value is not None:
                    arr.append(value)
                    hash = self.hash
                    if hash:
                        self._migrate(hash, key + 1)
                return
        elif kt is str:
            pass
        elif kt is float:
            if key != key:
                raise OperationError("table index is NaN")
            as_int = float_to_int(key)
            if as_int is not None:
                return self.set(as_int, value)
        elif kt is bool:
            key = _TRUE_KEY if key else _FALSE_KEY
        elif key is None:
            raise OperationError("table index is nil")
        hash = self.hash
        if value is None:
            hash.pop(key, None)
        else:
            if self.walk is not None and key not in hash:
                self.note_new_key(key, len(hash) + 1)
            hash[key] = value

    def note_new_key(self, key, live: int) -> None:
        """A key is being added to the hash part of a table ``next`` has walked."""
        if not self.walk.inserted(key, live):
            self.walk = None

    def forget_traversals(self) -> None:
        """The array was shifted or the contents replaced wholesale."""
        self.gaps = None
        self.walk = None

    def _migrate(self, hash: dict, key: int) -> None:
        arr = self.arr
        while key in hash:
            arr.append(hash.pop(key))
            key += 1

    def length(self) -> int:
        """The border ``#t`` (raw, no ``__len``)."""
        return len(self.arr)

    # -- traversal ----------------------------------------------------------

    def next(self, key, charge=None):
        """``next(t, key)``: returns ``(key, value)`` or ``None`` at the end.

        Hash keys are walked over a snapshot of the dict's keys, so fields
        may be cleared or assigned during traversal (as Lua allows) and even
        new keys only make the walk miss them, never fail.  Stretches of
        nils and cleared keys are remembered once walked (``traversal``),
        so a call costs amortised O(1) however it is repeated.

        ``charge(steps, memory=0)``, when given (``State.charge_work``), is
        charged for the work beyond O(1), and for the memory of snapshots:
        holes and cleared keys looked at, and snapshots of the hash keys.
        """
        arr = self.arr
        if key is None:
            index = 0
        else:
            kt = type(key)
            if kt is float:
                as_int = float_to_int(key) if key == key else None
                if as_int is not None:
                    key, kt = as_int, int
            if kt is int and 0 < key <= len(arr):
                index = key
            else:
                return self._next_in_hash(key, charge)
        n = len(arr)
        if index < n:
            value = arr[index]
            if value is None:
                gaps = self.gaps
                index, run_start, scanned = first_value_after_holes(arr, index, gaps)
                if charge is not None:
                    charge(1 + scanned // HOLES_PER_STEP)
                if index - run_start >= MIN_GAP:
                    if gaps is None:
                        gaps = self.gaps = ArrayGaps()
                    gaps.add(run_start, index)
                if index == n:
                    return self._next_in_hash(None, charge)
                value = arr[index]
            return index + 1, value
        return self._next_in_hash(None, charge)

    def _next_in_hash(self, key, charge=None):
        hash = self.hash
        walk = self.walk
        if key is None:
            if not hash:
                return None
            start = 0
        else:
            if type(key) is bool:
                key = _TRUE_KEY if key else _FALSE_KEY
            if walk is not None:
                if charge is not None and walk.positions is None:
                    charge(1 + len(walk.keys) // KEYS_PER_STEP,
                           len(walk.keys) * POSITION_BYTES_PER_KEY)
                start = walk.position_of(key)
            else:
                start = None
            if start is None:
                # Not in the snapshot (or none yet): a fresh one must have it.
                walk = None
            else:
                start += 1
        if walk is None:
            if charge is not None:
                charge(1 + len(hash) // KEYS_PER_STEP, len(hash) * SNAPSHOT_BYTES_PER_KEY)
            walk = self.walk = HashWalk(hash)
            if key is None:
                start = 0
            else:
                start = walk.position_of(key)
                if start is None:
                    raise OperationError("invalid key to 'next'")
                start += 1
        _, found, value, scanned = walk.first_live(hash, start)
        if charge is not None and scanned >= KEYS_PER_STEP:
            charge(scanned // KEYS_PER_STEP)
        if found is None:
            return None
        if type(found) is _BoolKey:
            found = found.value
        return found, value

    def iter_items(self):
        """Python-side traversal (arr part, then a snapshot of the hash)."""
        for i, value in enumerate(self.arr):
            if value is not None:
                yield i + 1, value
        hash = self.hash
        for k in list(hash):
            value = hash.get(k)
            if value is not None:
                yield (k.value if type(k) is _BoolKey else k), value

    # -- bulk construction (dkjson's decoder) ---------------------------------
    # Purely additive: builds a table from parts its caller already knows to
    # keep the invariants, without ``__init__``'s defaults and checks.

    @staticmethod
    def of_parts(arr: list, hash: dict, meta: "Table | None", _new=object.__new__) -> "Table":
        """A table owning ``arr`` and ``hash`` as they are, with ``meta``.

        The caller guarantees the class invariants: ``arr[-1]`` is not
        ``None``, ``hash`` holds no ``None`` value, no integer key in
        ``1..len(arr) + 1`` and only normalised keys (JSON object keys are
        strings, so a decoded object always qualifies).  About a quarter cheaper
        than ``Table(arr, hash)`` followed by ``t.meta = meta``.
        """
        table = _new(Table)
        table.arr = arr
        table.hash = hash
        table.meta = meta
        table.gaps = None
        table.walk = None
        return table


#: The code of every builtin's Python function: how ``args.arg_error`` tells
#: which builtin is checking its arguments.
BUILTIN_CODES: set = set()


class Function:
    """A callable Lua value.

    ``call(*args)`` runs it and returns a tuple (or list) of results.  For
    Lua closures ``proto`` is the compiled prototype, ``upvals`` its
    captured cells, and ``raw`` the compiled body, which may return a
    pending tail call instead of running it (``call`` never does); builtins
    have ``proto = raw = None`` and ``name`` is the name their argument
    errors use ("bad argument #1 to 'insert'").

    ``gen`` is the *generator form*, what code running inside a coroutine
    calls (``luapy.stdlib.corolib``): ``gen(*args)`` is a Python generator
    that yields where the coroutine yields and returns the results.  A Lua
    closure gets it the first time it is called inside a coroutine; a
    builtin has one only if it can call back into Lua code that may yield
    (``pcall``, ``coroutine.yield``); any other builtin is, as a C
    function is in lua5.4, a boundary no yield can cross.
    """

    __slots__ = ("call", "name", "proto", "upvals", "raw", "gen", "__weakref__")

    def __init__(self, call, name: str = "?", proto=None, upvals=None, raw=None):
        self.call = call
        self.name = name
        self.proto = proto
        self.upvals = upvals
        self.raw = raw
        self.gen = None
        if proto is None:
            code = getattr(call, "__code__", None)
            if code is not None:
                BUILTIN_CODES.add(code)

    def give_generator_form(self, gen) -> "Function":
        """Give a builtin its generator form (see the class docstring)."""
        self.gen = gen
        BUILTIN_CODES.add(gen.__code__)
        return self


class Coroutine:
    """A Lua thread; the machinery lives in ``luapy.stdlib.coroutine``."""

    __slots__ = ("__weakref__", "__dict__")


class Userdata:
    """An opaque host object with a metatable (e.g. an io file handle)."""

    __slots__ = ("payload", "meta", "__weakref__")

    def __init__(self, payload, meta: Table | None = None):
        self.payload = payload
        self.meta = meta


def type_name(value) -> str:
    """Lua's ``type(value)``."""
    t = type(value)
    if t is str:
        return "string"
    if t is int or t is float:
        return "number"
    if t is Table:
        return "table"
    if value is None:
        return "nil"
    if t is bool:
        return "boolean"
    if t is Function:
        return "function"
    if isinstance(value, Coroutine):
        return "thread"
    return "userdata"


def number_to_str(value) -> str:
    """``tostring`` for numbers: ``%.14g``, plus ``.0`` on integral floats."""
    if type(value) is int:
        return str(value)
    if value != value:
        # lua5.4 on Linux prints the sign of a NaN, and 0/0 is negative there.
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    if value == math.inf:
        return "inf"
    if value == -math.inf:
        return "-inf"
    text = "%.14g" % value
    if _LOOKS_INTEGRAL(text):
        text += ".0"
    return text


_LOOKS_INTEGRAL = re.compile(r"-?[0-9]+\Z").match


def address_of(value) -> str:
    return "0x%014x" % (id(value) & 0xFFFFFFFFFFFFFF)


def tostring_basic(value) -> str:
    """``tostring`` without metamethods (``__tostring``/``__name``)."""
    t = type(value)
    if t is str:
        return value
    if t is int or t is float:
        return number_to_str(value)
    if value is None:
        return "nil"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if t is Table:
        return "table: " + address_of(value)
    if t is Function:
        if value.proto is None:
            return "function: builtin: " + address_of(value)
        return "function: " + address_of(value)
    if isinstance(value, Coroutine):
        return "thread: " + address_of(value)
    return "userdata: " + address_of(value)


# -------------------------------------------------------- string -> number

_SPACE = " \f\n\r\t\v"
_DEC_DIGITS = "0123456789"
_HEX_DIGITS = "0123456789abcdefABCDEF"


def _digits_end(text: str, i: int, digits: str) -> int:
    """The index of the first character at or after ``i`` not in ``digits``.

    ``lstrip`` scans in C and never backtracks, so every conversion below is
    linear in the length of its input, whatever an attacker puts there.
    """
    return len(text) - len(text[i:].lstrip(digits))


def str_to_number(text: str):
    """Lua's string-to-number conversion (``lua_stringtonumber``).

    Returns an int, a float or ``None``.  Decimal integers that overflow
    64 bits become floats; hexadecimal integers wrap around.  Never builds
    an unbounded Python int (no digit-limit errors on huge inputs).  A
    hand-written scan rather than regexes: one pass, linear on any input.
    """
    text = text.strip(_SPACE)
    n = len(text)
    if not n or "\0" in text:
        return None
    i = 1 if text[0] in "+-" else 0
    negative = text[0] == "-"
    if text.startswith(("0x", "0X"), i):
        digits = _HEX_DIGITS
        i += 2
    else:
        digits = _DEC_DIGITS
    int_end = _digits_end(text, i, digits)
    if int_end == n:
        if int_end == i:
            return None
        if digits is _HEX_DIGITS:
            value = int(text[max(i, n - 16):], 16)  # wraps around, as lua does
            return wrap_int(-value if negative else value)
        significant = text[i:].lstrip("0")
        if len(significant) <= 19:
            value = int(significant or "0")
            value = -value if negative else value
            if MININT <= value <= MAXINT:
                return value
        return float(text)
    frac_start = frac_end = int_end
    if text[int_end] == ".":
        frac_start = int_end + 1
        frac_end = _digits_end(text, frac_start, digits)
    if int_end == i and frac_end == frac_start:
        return None  # no digit at all
    exponent = None
    end = frac_end
    marks = "pP" if digits is _HEX_DIGITS else "eE"
    if end < n and text[end] in marks:
        exp_start = end + 1
        if exp_start < n and text[exp_start] in "+-":
            exp_start += 1
        end = _digits_end(text, exp_start, _DEC_DIGITS)
        if end == exp_start:
            return None
        exponent = text[frac_end + 1:end]
    if end != n:
        return None
    if digits is _HEX_DIGITS:
        return _hex_float(negative, text[i:int_end], text[frac_start:frac_end], exponent)
    return float(text)  # already validated; CPython's strtod is linear


def _hex_float(negative: bool, int_part: str, frac_part: str, exponent: str | None) -> float:
    digits = (int_part + frac_part).lstrip("0") or "0"
    # Clamp the exponent before ``int``: a million-digit exponent would
    # otherwise build a huge integer (and hit Python's digit limit).
    exp = _clamped_exponent(exponent) if exponent else 0
    exp -= 4 * len(frac_part)
    # Keep only the significant digits a double can hold, so a pathological
    # literal never builds a huge integer.
    if len(digits) > 30:
        exp += 4 * (len(digits) - 30)
        digits = digits[:30]
    exp = max(min(exp, 100000), -100000)
    try:
        value = math.ldexp(float(int(digits, 16)), exp)
    except OverflowError:
        value = math.inf
    return -value if negative else value


def _clamped_exponent(text: str) -> int:
    """A decimal exponent, saturated far beyond any double's range."""
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 9:
        return sign * 10**9
    return sign * int(digits or "0")


# ``luapy.errors`` imports nothing from the runtime: it shows a non-string
# error value through this hook, Lua's ``tostring`` without metamethods.
errors.describe_value = tostring_basic
