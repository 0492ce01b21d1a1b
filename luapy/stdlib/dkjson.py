"""dkjson 2.8, implemented natively, indistinguishable from the Lua original.

DeepFlow ships David Kolf's dkjson 2.8 and its Lua plugins are written
against it, so ``require("dkjson")`` must behave exactly like that module:
same leniency when decoding (comments, BOM, optional commas, any value as an
object key, unknown escapes), same results, error messages and error
positions in the JSON text, same encoder rules (``isarray``, ``__tojson``,
``__jsonorder``, ``keyorder``, ``indent``, ``exception``, ``buffer``) and the
same string escaping.  (An error raised inside dkjson.lua itself, such as
``bad argument #1 to 'strfind'`` for ``decode(nil)``, carries the caller's
position here, there being no dkjson.lua line to point at.)

Decoding is most of the cost of a plugin call, so it has two paths:

* the **fast path** hands strict JSON to CPython's C decoder and builds the
  Lua tables in its ``object_hook``, so each object becomes a ``Table`` the
  moment it is parsed;
* the **lenient path** is a faithful, iterative port of dkjson's scanner.  It
  runs whenever the fast path cannot promise dkjson's exact result (a parse
  error, comments, a BOM, a top-level scalar, a metatable with
  ``__newindex``, non-UTF-8 text mixed with ``\\u`` escapes...), so errors and
  leniency always come from the port.

Lua strings are latin-1 ``str`` (one char per byte).  Strict JSON without
``\\u`` escapes can be parsed as that ``str`` directly: every byte, UTF-8 or
not, comes back as the same char.  Only ``\\u`` escapes make real code
points, which dkjson turns into UTF-8 bytes; those inputs are parsed as text
and their non-ASCII strings re-encoded.
"""

from __future__ import annotations

import json
from json.scanner import make_scanner as _make_scanner
from typing import TYPE_CHECKING
import math
import re
from sys import getrefcount

from ..errors import LuaError
from ..runtime import ops
from ..runtime.args import register, typename
from ..runtime.values import (
    MAXINT, MININT, Coroutine, Function, Table, Userdata, float_to_int,
    number_to_str, str_to_number, type_name,
)

if TYPE_CHECKING:
    from ..runtime.state import State

VERSION = "dkjson 2.8"

#: Accounting for a decode, charged up front, before anything is built:
#: bytes per input byte, plus per table and per string the input can make
#: (counted in C: every '{' or '[' and every pair of '"').  Measured with
#: tracemalloc, a decoded table costs about 210 bytes of Python objects
#: and a short string about 60, so an array of empty tables costs 70 bytes
#: per input byte, while Kubernetes pod metadata costs about 10; numbers
#: cost up to 12.3 (``-9,``: a 28-byte int outside CPython's small-int
#: cache and its 8-byte slot, for 3 bytes).  The estimate stays above each.
MEMORY_PER_INPUT_BYTE = 13
MEMORY_PER_TABLE = 256
MEMORY_PER_STRING = 64
#: A document of at most ``SMALL_DOCUMENT`` bytes (a pod's metadata is
#: about 0.5 to 5 KiB) has its strings charged by the byte instead of
#: counted: ``MEMORY_PER_SMALL_DOCUMENT_BYTE`` per input byte, above the
#: densest strings measured (about 17 bytes of Python objects per input
#: byte, for two-byte UTF-8 strings in an array; numbers cost up to 9), so
#: the charge still covers what is built.  Counting the quotes is a pass
#: over the text whose branch on every quote costs a small document more
#: than its whole budget arithmetic; a large one keeps the exact count,
#: where the flat rate would charge long strings three times what they cost.
SMALL_DOCUMENT = 64 * 1024
MEMORY_PER_SMALL_DOCUMENT_BYTE = 20
#: Bytes charged per value encoded: its pieces of the output until the join.
PART_COST = 64
#: One budget step per this many input bytes (scanning, tables, strings).
INPUT_BYTES_PER_STEP = 16

_SPACE_CHARS = " \t\n\v\f\r"  # C isspace(), Lua's %s

# ----------------------------------------------------------------- escaping

# quotestring escapes what Crockford's JSON-js "escapable" regexp names:
# control bytes, quote, backslash, DEL, and the UTF-8 encodings of U+0080-009F,
# U+00AD, U+0600-0604, U+070F, U+17B4-17B5, U+200C-200F, U+2028-202F,
# U+2060-206F, U+FEFF and U+FFF0-FFFF.  The multi-byte patterns never overlap
# one another or the single bytes (their continuation bytes are no lead bytes),
# so one alternation pass equals dkjson's sequence of gsub passes.
_ESCAPABLE = re.compile(
    '[\x00-\x1f"\\\\\x7f]'
    "|\xc2[\x80-\x9f\xad]"
    "|\xd8[\x80-\x84]"
    "|\xdc\x8f"
    "|\xe1\x9e[\xb4\xb5]"
    "|\xe2\x80[\x8c-\x8f\xa8-\xaf]"
    "|\xe2\x81[\xa0-\xaf]"
    "|\xef\xbb\xbf"
    "|\xef\xbf[\xb0-\xbf]"
)
#: Cheap pre-check: any byte that can start an escapable sequence.
_MAY_NEED_ESCAPE = re.compile('[\x00-\x1f"\\\\\x7f\xc2\xd8\xdc\xe1\xe2\xef]').search

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f",
                  "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_sequence(matched: str) -> str:
    """dkjson's ``escapeutf8`` for one matched byte sequence."""
    short = _SHORT_ESCAPES.get(matched)
    if short is not None:
        return short
    b = [ord(c) for c in matched]
    if len(b) == 1:
        code = b[0]
    elif len(b) == 2:
        code = (b[0] - 0xC0) * 0x40 + b[1] - 0x80
    else:
        code = ((b[0] - 0xE0) * 0x40 + b[1] - 0x80) * 0x40 + b[2] - 0x80
    return "\\u%.4x" % code


def _all_escapable() -> dict:
    """Every string ``_ESCAPABLE`` can match, mapped to its escape (~120)."""
    table = {}
    for lead, seconds in [("", [chr(c) for c in range(0x20)] + ['"', "\\", "\x7f"]),
                          ("\xc2", [chr(c) for c in range(0x80, 0xA0)] + ["\xad"]),
                          ("\xd8", [chr(c) for c in range(0x80, 0x85)]),
                          ("\xdc", ["\x8f"]),
                          ("\xe1\x9e", ["\xb4", "\xb5"]),
                          ("\xe2\x80", [chr(c) for c in list(range(0x8C, 0x90)) + list(range(0xA8, 0xB0))]),
                          ("\xe2\x81", [chr(c) for c in range(0xA0, 0xB0)]),
                          ("\xef\xbb", ["\xbf"]),
                          ("\xef\xbf", [chr(c) for c in range(0xB0, 0xC0)])]:
        for second in seconds:
            table[lead + second] = _escape_sequence(lead + second)
    return table


_ESCAPES = _all_escapable()
_escape_match = (lambda m, _get=_ESCAPES.__getitem__: _get(m.group()))
_escape_subn = _ESCAPABLE.subn


#: Bytes of a string ``quote_string`` escapes between two charges: each
#: escape is a Python call, so a long string is done in slices.
QUOTE_CHUNK = 65536
#: What one escape may cost: a "\u00XX" for one byte, and its piece.
ESCAPE_COST = 64


def quote_string(st: State, value: str) -> str:
    """``json.quotestring`` for a Lua string, charged as it goes."""
    ops.charge_string(st, len(value) + 2)
    if _MAY_NEED_ESCAPE(value) is None:
        return '"' + value + '"'
    pieces = ['"']
    start = 0
    n = len(value)
    while start < n:
        end = min(start + QUOTE_CHUNK, n)
        # Never split an escapable sequence (at most 3 bytes, a lead byte
        # then continuation bytes): back off continuation bytes, twice at most.
        for _ in range(2):
            if start < end < n and "\x80" <= value[end] <= "\xbf":
                end -= 1
        text, escapes = _escape_subn(_escape_match, value[start:end])
        st.charge(escapes)
        st.charge_memory(escapes * ESCAPE_COST)
        pieces.append(text)
        start = end
    pieces.append('"')
    return "".join(pieces)


def _strfind_subject(value) -> str:
    """dkjson hands its argument to ``string.find``: coerce like it does."""
    t = type(value)
    if t is str:
        return value
    if t is int or t is float:
        return number_to_str(value)
    raise LuaError(f"bad argument #1 to 'strfind' (string expected, got {typename(value)})")




# ----------------------------------------------------------------- decoding


class _DecodeFailure(Exception):
    """dkjson's ``return nil, pos, message`` (pos is 1-based)."""

    def __init__(self, pos: int, message: str):
        self.pos = pos
        self.message = message


def _loc(s: str, where: int) -> str:
    """dkjson's ``loc``: line and column of the 1-based position ``where``."""
    line = s.count("\n", 0, where - 1) + 1
    linepos = s.rfind("\n", 0, where - 1) + 1
    return f"line {line}, column {where - linepos}"


def _unterminated(s: str, what: str, where0: int) -> _DecodeFailure:
    return _DecodeFailure(len(s) + 1, f"unterminated {what} at {_loc(s, where0 + 1)}")


_nonspace = re.compile(r"[^ \t\n\v\f\r]").search
_line_end = re.compile(r"[\n\r]").search
_quote_or_backslash = re.compile(r'["\\]').search
_number_text = re.compile(r"-?[0-9.]+[eE]?[+\-]?[0-9]*").match
_name_text = re.compile(r"[A-Za-z][A-Za-z0-9]*").match
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}\Z").match
_HEX_DIGITS = "0123456789abcdefABCDEF"


def _scanwhite(s: str, pos: int) -> int:
    """Skip ``%s``, UTF-8 BOMs and comments from 0-based ``pos``; -1 at the end."""
    while True:
        m = _nonspace(s, pos)
        if m is None:
            return -1
        pos = m.start()
        c = s[pos]
        if c == "\xef" and s.startswith("\xbb\xbf", pos + 1):
            pos += 3
        elif c == "/" and s.startswith("/", pos + 1):
            m = _line_end(s, pos + 2)
            if m is None:
                return -1
            pos = m.start()
        elif c == "/" and s.startswith("*", pos + 1):
            end = s.find("*/", pos + 2)
            if end < 0:
                return -1
            pos = end + 2
        else:
            return pos


def _tonumber_hex(text: str):
    """``tonumber(text, 16)``: optional spaces and sign around ASCII hex digits."""
    if _HEX4(text):
        return int(text, 16)
    i, n = 0, len(text)
    while i < n and text[i] in _SPACE_CHARS:
        i += 1
    negative = False
    if i < n and text[i] in "+-":
        negative = text[i] == "-"
        i += 1
    start = i
    value = 0
    while i < n:
        c = text[i]
        if c in _HEX_DIGITS:
            value = value * 16 + int(c, 16)
        elif c.isascii() and c.isalpha():
            return None  # an alphanumeric that is no base-16 digit
        else:
            break
        i += 1
    if i == start:
        return None
    while i < n and text[i] in _SPACE_CHARS:
        i += 1
    if i != n:
        return None
    return -value if negative else value


def _unichar(value: int):
    """dkjson's ``unichar``: a code point as UTF-8 bytes (surrogates included)."""
    if value < 0:
        return None
    if value <= 0x7F:
        return chr(value)
    if value <= 0x7FF:
        return chr(0xC0 + (value >> 6)) + chr(0x80 + (value & 0x3F))
    if value <= 0xFFFF:
        return chr(0xE0 + (value >> 12)) + chr(0x80 + ((value >> 6) & 0x3F)) + chr(0x80 + (value & 0x3F))
    if value <= 0x10FFFF:
        return (chr(0xF0 + (value >> 18)) + chr(0x80 + ((value >> 12) & 0x3F))
                + chr(0x80 + ((value >> 6) & 0x3F)) + chr(0x80 + (value & 0x3F)))
    return None


_ESCAPE_CHARS = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f",
                 "n": "\n", "r": "\r", "t": "\t"}


#: Escapes ``_scanstring`` decodes between two charges (each is a turn of a
#: Python loop, charged a step and ``ESCAPE_COST``, as in ``quote_string``).
SCAN_ESCAPES_PER_CHARGE = 256


def _scanstring(st: State, s: str, pos: int):
    """Scan the string whose opening quote is at 0-based ``pos``."""
    lastpos = pos + 1
    chunks = []
    escapes = 0
    while True:
        m = _quote_or_backslash(s, lastpos)
        if m is None:
            raise _unterminated(s, "string", pos)
        nextpos = m.start()
        if nextpos > lastpos:
            chunks.append(s[lastpos:nextpos])
        if s[nextpos] == '"':
            lastpos = nextpos + 1
            break
        escapes += 1
        if escapes == SCAN_ESCAPES_PER_CHARGE:
            # Mid-string, so a string of millions of escapes meets the
            # budgets (the time budget included) as it goes.
            st.charge(escapes)
            st.charge_memory(escapes * ESCAPE_COST)
            escapes = 0
        escchar = s[nextpos + 1:nextpos + 2]
        value = None
        if escchar == "u":
            code = _tonumber_hex(s[nextpos + 2:nextpos + 6])
            if code is not None:
                paired = False
                if 0xD800 <= code <= 0xDBFF and s[nextpos + 6:nextpos + 8] == "\\u":
                    low = _tonumber_hex(s[nextpos + 8:nextpos + 12])
                    if low is not None and 0xDC00 <= low <= 0xDFFF:
                        code = (code - 0xD800) * 0x400 + (low - 0xDC00) + 0x10000
                        paired = True
                value = _unichar(code)
                if value is not None:
                    lastpos = nextpos + (12 if paired else 6)
        if value is None:
            value = _ESCAPE_CHARS.get(escchar, escchar)
            lastpos = nextpos + 2
        chunks.append(value)
    return "".join(chunks), lastpos


def _check_metatable(meta):
    if meta is not None and type(meta) is not Table:
        raise LuaError(f"bad argument #2 to 'setmetatable' (nil or table expected, got {typename(meta)})")


#: "No value scanned yet" in the lenient scanner (nil is a value there).
_ABSENT = object()
#: ``decode`` called without metatable arguments (not even nil ones).
_NO_METATABLES = object()


class _Frame:
    """One open object or array of the lenient scanner."""

    __slots__ = ("table", "what", "close", "start", "n", "key", "after_key")

    def __init__(self, table, what, close, start):
        self.table = table
        self.what = what
        self.close = close
        self.start = start
        self.n = 0
        self.key = None
        self.after_key = False


#: The deepest nesting the C scanner is given (``_nests_deeper``); deeper
#: documents take ``decode_lenient``, which uses no stack per level.
C_SCANNER_MAX_NESTING = 400
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def _nests_deeper(s: str, start: int, limit: int) -> bool:
    """Whether the JSON text from ``start`` nests more than ``limit`` deep
    (strings skipped; unbalanced text is the decoders' to reject)."""
    depth = 0
    for match in _STRUCTURE.finditer(s, start):
        char = match.group()[0]
        if char == "[" or char == "{":
            depth += 1
            if depth > limit:
                return True
        elif char != '"':
            depth -= 1
    return False


def decode_lenient(st: State, s: str, pos: int, nullval, objectmeta, arraymeta):
    """A port of dkjson's scanner, iterative so nesting depth costs no stack.

    ``pos`` is 0-based.  Returns ``(value, nextpos0)``; raises
    ``_DecodeFailure`` for dkjson's ``nil, pos, message`` results.
    """
    def assign(table, key, value):
        meta = table.meta
        if meta is not None and meta.hash.get("__newindex") is not None:
            ops.setindex(st, table, key, value)
        else:
            table.set(key, value)

    stack: list[_Frame] = []
    p = _scanwhite(s, pos)
    if p < 0:
        raise _DecodeFailure(len(s) + 1, "no valid JSON value (reached the end)")
    while True:
        # -- scan one value starting at p (a non-space position) -------------
        st.charge(1)
        c = s[p]
        if c == "{" or c == "[":
            table = Table()
            if c == "{":
                _check_metatable(objectmeta)
                table.meta = objectmeta
                stack.append(_Frame(table, "object", "}", p))
            else:
                _check_metatable(arraymeta)
                table.meta = arraymeta
                stack.append(_Frame(table, "array", "]", p))
            pos = p + 1
            value = _ABSENT  # nothing to deliver yet: go read the first item
        elif c == '"':
            value, pos = _scanstring(st, s, p)
        else:
            value = _ABSENT
            m = _number_text(s, p)
            if m is not None:
                number = str_to_number(m.group())
                if number is not None:
                    value, pos = number, m.end()
            if value is _ABSENT:
                m = _name_text(s, p)
                name = m.group() if m is not None else None
                if name == "true":
                    value, pos = True, m.end()
                elif name == "false":
                    value, pos = False, m.end()
                elif name == "null":
                    value, pos = nullval, m.end()
                else:
                    raise _DecodeFailure(p + 1, f"no valid JSON value at {_loc(s, p + 1)}")

        # -- hand the value to the enclosing table, or finish -----------------
        while True:
            if value is not _ABSENT:
                if not stack:
                    return value, pos
                frame = stack[-1]
                p = _scanwhite(s, pos)
                if p < 0:
                    raise _unterminated(s, frame.what, frame.start)
                if frame.after_key:
                    assign(frame.table, frame.key, value)
                    frame.after_key = False
                    frame.key = None
                elif s[p] == ":":
                    if value is None:
                        raise _DecodeFailure(p + 1, f"cannot use nil as table index (at {_loc(s, p + 1)})")
                    p = _scanwhite(s, p + 1)
                    if p < 0:
                        raise _unterminated(s, frame.what, frame.start)
                    frame.key = value
                    frame.after_key = True
                    break  # scan the item's value at p
                else:
                    frame.n += 1
                    assign(frame.table, frame.n, value)
                pos = p + 1 if s[p] == "," else p
            # -- at the start of an item (or the end) of the innermost table --
            frame = stack[-1]
            p = _scanwhite(s, pos)
            if p < 0:
                raise _unterminated(s, frame.what, frame.start)
            if s[p] == frame.close:
                stack.pop()
                value, pos = frame.table, p + 1
                continue
            break  # scan the item at p


def _lua_int(text: str):
    """``parse_int``: Lua's ``tonumber`` makes integers beyond 64 bits floats."""
    value = int(text)
    if MININT <= value <= MAXINT:
        return value
    return float(text)


def _reject_constant(name: str):
    # NaN/Infinity are not dkjson values: let the lenient path report them.
    raise ValueError(name)


#: A ``\u`` escape that may stand for a code point beyond ASCII (or follow
#: an escaped backslash: a false alarm only costs the slower path).
_WIDE_ESCAPE = re.compile(r"\\u(?!00[0-7])")


class _FastDecoder:
    """CPython's C JSON scanner, building Lua tables as it goes.

    Two per runtime: one for calls with dkjson's default metatables, one
    for calls that pass their own.  The C scanner builds each object's
    dict and hands it to ``object_hook``, which wraps it in a ``Table`` on
    the spot; arrays arrive as lists and are wrapped by the enclosing
    object's hook (or at the end, for the top level).  The hooks read the
    call's metatables and null value from ``context``, ``[objectmeta,
    arraymeta, nullval]``: for the default metatables that is the list
    ``_default_metas`` keeps them in, so a call sets nothing but a null
    value; other calls set it just before the parse (hooks run no Lua
    code, so decode calls cannot interleave) and clear it after.

    One difference from the lenient path is deliberate: an object with a
    duplicate key whose earlier value was ``null`` (``{"a":1,"a":null,
    "b":2,"a":3}``) gets the same keys and values, but ``"a"`` keeps its
    first place in the table's internal order, where replaying dkjson's
    assignments would move it last.  Lua leaves ``pairs`` order
    unspecified, and letting C build the dict saves a Python call per member.
    """

    def __init__(self, context: list | None = None):
        if context is None:
            context = [None, None, None]
        self.context = context
        of_parts = Table.of_parts
        new = object.__new__

        def array_with_nulls(items: list) -> Table:
            """A decoded array with nulls, as dkjson's ``tbl[n] = value`` leaves it."""
            nullval = context[2]
            if nullval is not None:
                return of_parts([nullval if v is None else v for v in items], {}, context[1])
            # tbl[n] = nil leaves a hole; later items land where set() puts them.
            table = of_parts([], {}, context[1])
            for i, v in enumerate(items, 1):
                if v is not None:
                    table.set(i, v)
            return table

        def array(items: list) -> Table:
            for v in items:
                if type(v) is list or v is None:
                    return array_fixed(items)
            # Table.of_parts(items, {}, context[1]), inlined.
            table = new(Table)
            table.arr = items
            table.hash = {}
            table.meta = context[1]
            table.gaps = None
            table.walk = None
            return table

        def array_fixed(items: list) -> Table:
            """An array holding arrays or nulls."""
            for i, v in enumerate(items):
                if type(v) is list:
                    items[i] = array(v)
            if None in items:
                return array_with_nulls(items)
            return of_parts(items, {}, context[1])

        def array_recoded(items: list) -> Table:
            for i, v in enumerate(items):
                cls = v.__class__
                if cls is list:
                    items[i] = array_recoded(v)
                elif cls is str and not v.isascii():
                    items[i] = _recode(v)
            if None in items:
                return array_with_nulls(items)
            return of_parts(items, {}, context[1])

        def fix_members(d: dict) -> None:
            """Arrays become tables; ``tbl[k] = nil`` (or ``nullval``) for
            the null members."""
            nulls = None
            for key, value in d.items():
                if type(value) is list:
                    d[key] = array(value)  # a new value for a key: same size
                elif value is None:
                    if nulls is None:
                        nulls = [key]
                    else:
                        nulls.append(key)
            if nulls is not None:
                nullval = context[2]
                for key in nulls:
                    if nullval is None:
                        del d[key]
                    else:
                        d[key] = nullval

        def object_hook(d: dict) -> Table:
            # Most objects hold neither: a bare pass over the values (with
            # ``type()``, which CPython runs fastest) finds out.
            for value in d.values():
                if type(value) is list or value is None:
                    fix_members(d)
                    break
            # Table.of_parts([], d, context[0]), inlined: one Python call
            # less per object.
            table = new(Table)
            table.arr = []
            table.hash = d
            table.meta = context[0]
            table.gaps = None
            table.walk = None
            return table

        def object_recoded(d: dict) -> Table:
            nullval = context[2]
            table = of_parts([], {}, context[0])
            for key, value in d.items():
                cls = value.__class__
                if cls is str:
                    value = _recode(value)
                elif cls is list:
                    value = array_recoded(value)
                elif value is None:
                    value = nullval
                table.set(_recode(key), value)
            return table

        self.array = array
        self.array_recoded = array_recoded
        # The scanners themselves (what ``raw_decode`` calls): ``(s, idx)``
        # to ``(value, end)``, StopIteration or ValueError on bad JSON.
        self.decode_bytes = _make_scanner(json.JSONDecoder(
            object_hook=object_hook, parse_int=_lua_int, parse_constant=_reject_constant))
        self.decode_text = _make_scanner(json.JSONDecoder(
            object_hook=object_recoded, parse_int=_lua_int, parse_constant=_reject_constant))

    def scan(self, s: str, start: int):
        """Parse the container at 0-based ``start`` with the metatables
        and null value in ``context``; None if not applicable.

        Returns ``(table, nextpos0)`` or None when the lenient path must
        decide (invalid or lenient-only JSON, undecodable text, nesting
        deeper than the C scanner allows...).
        """
        try:
            if "\\" not in s or _WIDE_ESCAPE.search(s, start) is None:
                # No \u escape beyond ASCII (Go-style JSON has \u003c for
                # "<" in every realistic pod): every char the scanner returns
                # is one byte, exactly the Lua string dkjson would build.
                value, end = self.decode_bytes(s, start)
                if value.__class__ is list:
                    value = self.array(value)
            else:
                # \u escapes produce code points: parse as text, then turn
                # every non-ASCII string back into UTF-8 bytes.
                if s.isascii():
                    value, end = self.decode_text(s, start)
                else:
                    text = s[start:].encode("latin-1").decode("utf-8")
                    value, end = self.decode_text(text, 0)
                    end = start + len(text[:end].encode("utf-8"))
                if value.__class__ is list:
                    value = self.array_recoded(value)
        except (StopIteration, ValueError, RecursionError):
            return None
        return value, end

    def decode(self, s: str, start: int, nullval, objectmeta, arraymeta):
        """``scan`` with these metatables and null value in ``context`` for
        the parse (and nothing kept alive after it)."""
        context = self.context
        context[0] = objectmeta
        context[1] = arraymeta
        context[2] = nullval
        try:
            return self.scan(s, start)
        finally:
            context[0] = context[1] = context[2] = None


#: The fields of dkjson's default metatables, ``{__jsontype = 'object'}``
#: and ``{__jsontype = 'array'}``.
_DEFAULT_META_FIELDS = ({"__jsontype": "object"}, {"__jsontype": "array"})


def _refs_of_a_spare() -> int:
    """What ``getrefcount`` says in ``_default_metas`` of a table that only
    its cache slot holds (the slot, the local and the argument)."""
    cache = [Table()]
    meta = cache[0]
    return getrefcount(meta)


_SPARE_REFS = _refs_of_a_spare()


def _default_metas(cache: list):
    """A fresh-looking pair of dkjson's default metatables for a call.

    dkjson makes a new pair per call.  Making them is a good part of
    decoding a small document, so the last pair made is kept in ``cache``
    and each is handed out again when nothing else refers to it (no table,
    no variable, no weak or strong entry anywhere: only its cache slot) and
    it still is exactly what dkjson makes.  Nothing can tell such a table
    from a new one: no Lua code can reach it any more.
    """
    for i in (0, 1):
        meta = cache[i]
        fields = _DEFAULT_META_FIELDS[i]
        if (getrefcount(meta) == _SPARE_REFS and meta.hash == fields
                and not (meta.arr or meta.meta or meta.__weakref__)):
            meta.gaps = meta.walk = None  # (what ``next`` remembers, reset)
        else:
            cache[i] = Table.of_parts([], dict(fields), None)
    return cache[0], cache[1]


def _recode(s: str) -> str:
    """A decoded Python string as a Lua string (UTF-8 bytes, surrogates too)."""
    if s.isascii():
        return s
    return s.encode("utf-8", "surrogatepass").decode("latin-1")


# ----------------------------------------------------------------- encoding


class _EncodeFailure(Exception):
    """dkjson's ``return nil, msg`` inside the encoder."""

    def __init__(self, value):
        self.value = value


def _identity_key(value):
    """A Python key under which ``value`` is the same as in a Lua table."""
    t = type(value)
    if t is Table or t is Function or t is Userdata or isinstance(value, Coroutine):
        return id(value)
    if t is float:
        as_int = float_to_int(value)
        if as_int is not None:
            return ("n", as_int)
        return ("n", value)
    if t is int:
        return ("n", value)
    return (type_name(value), value)


def _to_int_limit(n):
    """The last index of ``for i = 1, n`` (Lua floors a float limit)."""
    if type(n) is int:
        return n
    if n != n:
        return 0
    if n >= 9.2233720368547758e18:
        return MAXINT
    if n < -9.2233720368547758e18:
        return MININT
    return math.floor(n)


class _Encoder:
    """One ``json.encode`` call.

    Output goes to ``parts``, a Python list standing for the Lua buffer
    entries ``base+1 ..``.  Whenever Lua code can look at the buffer (a
    ``__tojson`` function, an exception handler, the caller's own buffer),
    the pending parts are written into the real Lua buffer table first and
    the table becomes the truth for everything up to ``state.bufferlen``.
    """

    def __init__(self, st: State, state, indent, keyorder, tables):
        self.st = st
        self.state = state          # the Lua state table; None until needed
        self.buffer = None          # the Lua buffer table; None until needed
        self.base = 0
        self.parts: list[str] = []
        self.indent = indent
        self.keyorder = keyorder
        self.user_tables = tables   # the caller's ``state.tables``, if any
        self.active: dict = {}
        self.lua_saw_buffer = False

    # -- the Lua-visible buffer -----------------------------------------

    def lua_state(self) -> Table:
        """The state table, made on first need as dkjson's ``state or {}``."""
        if self.state is None:
            self.state = Table()
        if self.buffer is None:
            self.buffer = Table()
            self.state.set("buffer", self.buffer)
        return self.state

    def flush(self) -> None:
        """Write pending parts into the Lua buffer table."""
        if not self.parts:
            return
        if self.buffer is None:
            self.lua_state()
        buffer = self.buffer
        base = self.base
        if type(buffer) is Table and (buffer.meta is None or buffer.meta.hash.get("__newindex") is None):
            for i, piece in enumerate(self.parts, base + 1):
                buffer.set(i, piece)
        else:
            for i, piece in enumerate(self.parts, base + 1):
                ops.setindex(self.st, buffer, i, piece, "local 'buffer'")
        self.base = base + len(self.parts)
        self.parts = []

    def before_lua(self) -> Table:
        """Bring state and buffer up to date for Lua code; return the state."""
        state = self.lua_state()
        self.flush()
        self.lua_saw_buffer = True
        ops.setindex(self.st, state, "bufferlen", self.base)
        return state

    def append_custom(self, result) -> None:
        """dkjson's ``appendcustom``: continue after ``state.bufferlen``."""
        st = self.st
        buflen = ops.index(st, self.state, "bufferlen")
        if type(result) is str:
            buflen = ops.arith(st, "+", buflen, 1)
            ops.setindex(st, self.buffer, buflen, result)
        self.base = _as_buflen(buflen)

    def exception(self, reason: str, value, default=None):
        """dkjson's ``exception``: ask ``state.exception`` or fail."""
        if default is None:
            default = reason
        st = self.st
        state = self.state
        handler = ops.index(st, state, "exception") if state is not None else None
        if handler is None or handler is False:
            raise _EncodeFailure(default)
        state = self.before_lua()
        results = ops.call(st, handler, (reason, value, state, default))
        ret = results[0] if results else None
        if ret is None or ret is False:
            msg = results[1] if len(results) > 1 else None
            raise _EncodeFailure(default if msg is None or msg is False else msg)
        self.append_custom(ret)

    # -- values ---------------------------------------------------------

    def encode(self, value, level) -> None:
        st = self.st
        st.charge(1)
        st.charge_memory(PART_COST)
        vt = type(value)
        if vt is Table or vt is Userdata:
            meta = value.meta
        elif vt is str:
            meta = st.string_meta
        else:
            meta = None
        if meta is not None:
            tojson = self.meta_field(meta, "__tojson")
            if tojson is not None and tojson is not False:
                return self.custom(value, tojson)
        if vt is str:
            self.parts.append(quote_string(st, value))
        elif vt is Table:
            self.table(value, meta, level)
        elif vt is int:
            self.parts.append(str(value))
        elif vt is float:
            if value != value or value >= math.inf or -value >= math.inf:
                self.parts.append("null")
            else:
                self.parts.append(number_to_str(value))
        elif vt is bool:
            self.parts.append("true" if value else "false")
        elif value is None:
            self.parts.append("null")
        else:
            self.exception("unsupported type", value,
                           f"type '{type_name(value)}' is not supported by JSON.")

    def meta_field(self, meta, name):
        if meta.meta is None:
            return meta.hash.get(name)
        return ops.index(self.st, meta, name)

    def enter(self, value) -> bool:
        """``if tables[value] then ... end; tables[value] = true``."""
        tables = self.user_tables
        if tables is None:
            key = _identity_key(value)
            if key in self.active:
                return False
            self.active[key] = True
            return True
        if ops.truthy(ops.index(self.st, tables, value)):
            return False
        ops.setindex(self.st, tables, value, True)
        return True

    def leave(self, value) -> None:
        tables = self.user_tables
        if tables is None:
            self.active.pop(_identity_key(value), None)
        else:
            ops.setindex(self.st, tables, value, None)

    def custom(self, value, tojson) -> None:
        if not self.enter(value):
            return self.exception("reference cycle", value)
        state = self.before_lua()
        results = ops.call(self.st, tojson, (value, state))
        ret = results[0] if results else None
        if ret is None or ret is False:
            msg = results[1] if len(results) > 1 else None
            return self.exception("custom encoder failed", value,
                                  None if msg is None or msg is False else msg)
        self.leave(value)
        self.append_custom(ret)

    def table(self, value: Table, meta, level) -> None:
        st = self.st
        if not self.enter(value):
            return self.exception("reference cycle", value)
        if type(level) is not int and type(level) is not float:
            raise LuaError(f"attempt to perform arithmetic on a {type_name(level)} value (local 'level')")
        level = level + 1
        is_array, n = self.isarray(value, meta)
        if n == 0 and meta is not None and self.meta_field(meta, "__jsontype") == "object":
            is_array = False
        parts = self.parts
        if is_array:
            parts.append("[")
            last = _to_int_limit(n)
            raw = meta is None or self.meta_field(meta, "__index") is None
            get = value.get
            i = 1
            while i <= last:
                item = get(i) if raw else ops.index(st, value, i)
                self.encode(item, level)
                parts = self.parts  # a Lua callback may have replaced the list
                if i < n:  # the unfloored n: {n=2.5, "a"} gives ["a",null,]
                    parts.append(",")
                i += 1
            parts.append("]")
        else:
            parts.append("{")
            order = self.meta_field(meta, "__jsonorder") if meta is not None else None
            if order is None or order is False:
                order = self.keyorder
            prev = False
            if order is not None and order is not False:
                used = Table()
                count = ops.length(st, order)
                if type(count) is not int and type(count) is not float:
                    raise LuaError("'for' limit must be a number")
                last = _to_int_limit(count)
                i = 1
                while i <= last:
                    k = ops.index(st, order, i)
                    v = ops.index(st, value, k)
                    if v is not None:
                        used.set(k, True)
                        self.pair(k, v, prev, level)
                        prev = True
                    i += 1
                for k, v in self.pairs(value, meta):
                    if used.get(k) is None:
                        self.pair(k, v, prev, level)
                        prev = True
            else:
                for k, v in self.pairs(value, meta):
                    self.pair(k, v, prev, level)
                    prev = True
            if self.indent:
                self.newline(level - 1)
            self.parts.append("}")
        self.leave(value)

    def pair(self, key, value, prev, level) -> None:
        kt = type(key)
        if kt is str:
            quoted = quote_string(self.st, key)
        elif kt is int or kt is float:
            quoted = '"' + number_to_str(key) + '"'
        else:
            raise _EncodeFailure(f"type '{type_name(key)}' is not supported as a key by JSON.")
        parts = self.parts
        if prev:
            parts.append(",")
        if self.indent:
            self.newline(level)
        self.parts.append(quoted)
        self.parts.append(":")
        self.encode(value, level)

    def newline(self, level) -> None:
        self.parts.append("\n")
        self.parts.append(_indentation(level))

    def pairs(self, table: Table, meta):
        """``pairs(table)``, honouring ``__pairs`` as Lua 5.4 does."""
        handler = meta.hash.get("__pairs") if meta is not None else None
        if handler is None:
            yield from table.iter_items()
            return
        st = self.st
        results = ops.call(st, handler, (table,))
        results = tuple(results) + (None, None, None)
        fn, state, control = results[0], results[1], results[2]
        while True:
            step = ops.call(st, fn, (state, control))
            key = step[0] if step else None
            if key is None:
                return
            control = key
            yield key, (step[1] if len(step) > 1 else None)

    def isarray(self, table: Table, meta):
        """dkjson's ``isarray``: (is it an array?, its length)."""
        if (meta is None or meta.hash.get("__pairs") is None) and not table.hash:
            arr = table.arr
            length = len(arr)  # arr[-1] is never nil, so max == len(arr)
            if length > 10:
                count = length - arr.count(None)
                if length > count * 2:
                    return False, None
            return True, length
        maximum, count, arraylen = 0, 0, 0
        for k, v in self.pairs(table, meta):
            if k == "n" and type(v) in (int, float):
                arraylen = v
                if v > maximum:
                    maximum = v
            else:
                kt = type(k)
                if kt is int:
                    if k < 1:
                        return False, None
                elif kt is not float or k < 1 or not (k.is_integer() or k == math.inf):
                    # (floor(inf) == inf in Lua, so inf counts as integral)
                    return False, None
                if k > maximum:
                    maximum = k
                count += 1
        if maximum > 10 and maximum > arraylen and maximum > count * 2:
            return False, None
        return True, maximum


def _as_buflen(buflen) -> int:
    """A buffer length taken from Lua (``state.bufferlen``) as an index."""
    if type(buflen) is float and float_to_int(buflen) is not None:
        return float_to_int(buflen)
    if type(buflen) is not int:
        # dkjson would carry on with it and fail at the next ``buflen + 1``;
        # fail now with the message it would give then.
        raise LuaError(f"attempt to perform arithmetic on a {type_name(buflen)} value (local 'buflen')")
    return buflen


def _indentation(level) -> str:
    """``strrep("  ", level)``."""
    if type(level) is str and str_to_number(level) is not None:
        level = str_to_number(level)
    if type(level) is not int:
        as_int = float_to_int(level) if type(level) is float else None
        if as_int is None:
            raise LuaError("bad argument #2 to 'strrep' (number has no integer representation)")
        level = as_int
    return "  " * level if level > 0 else ""


def _table_concat(st: State, buffer: Table) -> str:
    """``table.concat(buffer)`` over the Lua buffer."""
    pieces = []
    for i in range(1, buffer.length() + 1):
        piece = buffer.get(i)
        t = type(piece)
        if t is str:
            pieces.append(piece)
        elif t is int or t is float:
            pieces.append(number_to_str(piece))
        else:
            raise LuaError(f"invalid value (at index {i}) in table for 'concat'")
    st.charge(len(pieces) // 64 + 1)
    # A ``__tojson`` may put the same long string in many entries.
    ops.charge_string(st, sum(map(len, pieces)))
    return "".join(pieces)


# ------------------------------------------------------------------- module


def open_library(st: State) -> Table:
    """Build a fresh dkjson module table for the runtime ``st``."""
    module = Table()
    default_metas = _default_metas
    #: _default_metas's cache, and the null value of a call in progress:
    #: the context of the scanner for the default metatables.
    metas = [Table(), Table(), None]
    fast = _FastDecoder(metas)
    scan_bytes, array = fast.decode_bytes, fast.array
    spare_refs_of_two = 2 * _SPARE_REFS  # (each is at least _SPARE_REFS)
    object_fields, array_fields = _DEFAULT_META_FIELDS
    custom = _FastDecoder([None, None, None])  # for metatables of the caller's
    steps = st.steps_cell

    null_meta = Table()
    register(null_meta, "__tojson", lambda *args: ("null",))
    null = Table()
    null.meta = null_meta

    def decode(s=None, pos=None, nullval=None, objectmeta=_NO_METATABLES, arraymeta=None, *_):
        if type(s) is not str:
            s = _strfind_subject(s)
        length = len(s)
        if type(pos) is int and pos > 0:
            start = pos - 1
        elif pos is None or pos is False:
            start = 0
        else:
            start = _start_index(pos, length)
        if start >= length:
            return None, length + 1, "no valid JSON value (reached the end)"
        custom_metas = objectmeta is not _NO_METATABLES  # dkjson's ``select("#", ...) > 0``
        if custom_metas:
            fast_ok = _plain_meta(objectmeta) and _plain_meta(arraymeta)
        else:
            # dkjson's fresh pair: the cached one when nothing can reach it
            # and it is as made (``_default_metas``, its common case inlined).
            objectmeta = metas[0]
            arraymeta = metas[1]
            if (getrefcount(objectmeta) + getrefcount(arraymeta) == spare_refs_of_two
                    and objectmeta.hash == object_fields and arraymeta.hash == array_fields
                    and not (objectmeta.arr or arraymeta.arr or objectmeta.meta or arraymeta.meta
                             or objectmeta.__weakref__ or arraymeta.__weakref__)):
                # (What ``next`` remembers: nothing, in a table as made.)
                objectmeta.gaps = objectmeta.walk = arraymeta.gaps = arraymeta.walk = None
            else:
                objectmeta = arraymeta = None  # (their references would count)
                objectmeta, arraymeta = default_metas(metas)
            fast_ok = True
        # Budgets, charged up front (st.charge/charge_memory, inlined).
        size = length - start
        left = steps.cell_contents - (size // INPUT_BYTES_PER_STEP + 1)
        steps.cell_contents = left
        if left < 0:
            st.budget_check()
        if size <= SMALL_DOCUMENT:
            # Every '{' and '[' in one count: a copy with each '[' made a
            # '{' (made in memchr strides, and no copy without a '[') costs
            # a small document less than a second counting pass over it.
            containers = s.replace("[", "{").count("{", start)
            cost = size * MEMORY_PER_SMALL_DOCUMENT_BYTE + containers * MEMORY_PER_TABLE
        else:
            # (A large one isn't copied; arrays are rarer than objects:
            # their count starts at the first.)
            first_array = s.find("[", start)
            containers = s.count("{", start) + (s.count("[", first_array) if first_array >= 0 else 0)
            cost = (size * MEMORY_PER_INPUT_BYTE
                    + containers * MEMORY_PER_TABLE
                    + (s.count('"', start) >> 1) * MEMORY_PER_STRING)
        left = st.memory_left - cost
        if left < 0:
            st.charge_memory(cost)
        st.memory_left = left
        # CPython's C scanner recurses on the C stack, bounded only by the
        # process's recursion limit (which a deep-stack runtime raises to
        # millions) and not by the thread's stack: deep nesting would crash
        # the host.  It only sees documents that can't nest that deep.
        if fast_ok and (containers <= C_SCANNER_MAX_NESTING
                        or not _nests_deeper(s, start, C_SCANNER_MAX_NESTING)):
            first = start
            char = s[start]
            if char != "{" and char != "[":
                found = _nonspace(s, start)
                if found is not None:
                    first = found.start()
                    char = s[first]
            if char == "{" or char == "[":
                if custom_metas:
                    result = custom.decode(s, first, nullval, objectmeta, arraymeta)
                elif nullval is None and "\\" not in s:
                    # ``fast.scan``'s common case, inlined.
                    try:
                        value, end = scan_bytes(s, first)
                    except (StopIteration, ValueError, RecursionError):
                        result = None
                    else:
                        if value.__class__ is list:
                            value = array(value)
                        return value, end + 1
                elif nullval is None:
                    result = fast.scan(s, first)
                else:
                    metas[2] = nullval
                    try:
                        result = fast.scan(s, first)
                    finally:
                        metas[2] = None
                if result is not None:
                    return result[0], result[1] + 1
        try:
            value, end = decode_lenient(st, s, start, nullval, objectmeta, arraymeta)
        except _DecodeFailure as failure:
            return None, failure.pos, failure.message
        return value, end + 1

    def encode(*args):
        value = args[0] if args else None
        state = args[1] if len(args) > 1 else None
        if state is None or state is False:
            encoder = _Encoder(st, None, None, None, None)
            oldbuffer = None
            level = 0
        else:
            # The same field accesses, in the same order, as dkjson's encode.
            oldbuffer = ops.index(st, state, "buffer", "local 'state'")
            if oldbuffer is False:
                oldbuffer = None
            buffer = oldbuffer if oldbuffer is not None else Table()
            ops.setindex(st, state, "buffer", buffer)
            indent = ops.index(st, state, "indent")
            level = ops.index(st, state, "level")
            if level is None or level is False:
                level = 0
            elif type(level) is str and str_to_number(level) is not None:
                level = str_to_number(level)  # "2" + 1 is 3 in Lua
            bufferlen = ops.index(st, state, "bufferlen")
            tables = ops.index(st, state, "tables")
            keyorder = ops.index(st, state, "keyorder")
            encoder = _Encoder(st, state, ops.truthy(indent), keyorder,
                               tables if tables is not None and tables is not False else None)
            encoder.buffer = buffer
            if bufferlen is not None and bufferlen is not False:
                encoder.base = _as_buflen(bufferlen)
        try:
            encoder.encode(value, level)
        except _EncodeFailure as failure:
            if state is not None and state is not False:
                encoder.flush()  # dkjson leaves the partial output in state.buffer
            raise LuaError(failure.value) from None
        except RecursionError:
            raise LuaError("stack overflow") from None
        if oldbuffer is not None:
            encoder.flush()
            ops.setindex(st, state, "bufferlen", encoder.base)
            return (True,)
        if encoder.state is not None:
            ops.setindex(st, encoder.state, "bufferlen", None)
            ops.setindex(st, encoder.state, "buffer", None)
        if not encoder.lua_saw_buffer and encoder.base == 0:
            ops.charge_string(st, sum(map(len, encoder.parts)))
            return ("".join(encoder.parts),)
        # Lua code wrote into the buffer, or output starts past index 1:
        # the result is whatever table.concat makes of the buffer.
        encoder.flush()
        return (_table_concat(st, encoder.buffer),)

    def quotestring(*args):
        value = args[0] if args else None
        return (quote_string(st, _strfind_subject(value)),)

    def addnewline(*args):
        state = args[0] if args else None
        if ops.truthy(ops.index(st, state, "indent", "local 'state'")):
            level = ops.index(st, state, "level")
            if level is None or level is False:
                level = 0
            buffer = ops.index(st, state, "buffer")
            buflen = ops.index(st, state, "bufferlen")
            if buflen is None or buflen is False:
                buflen = ops.length(st, buffer)
            ops.setindex(st, buffer, ops.arith(st, "+", buflen, 1), "\n")
            ops.setindex(st, buffer, ops.arith(st, "+", buflen, 2), _indentation(level))
            ops.setindex(st, state, "bufferlen", ops.arith(st, "+", buflen, 2))
        return ()

    def encodeexception(*args):
        default = args[3] if len(args) > 3 else None
        message = ops.concat(st, "<", ops.concat(st, default, ">", "local 'defaultmessage'"))
        return (quote_string(st, message),)

    def use_lpeg(*args):
        # There is no LPeg here; this module already is as fast as it gets
        # and behaves the same, so hand it back as dkjson's LPeg module.
        return (module,)

    module.set("version", VERSION)
    module.set("null", null)
    register(module, "decode", decode)
    register(module, "encode", encode)
    register(module, "quotestring", quotestring)
    register(module, "addnewline", addnewline)
    register(module, "encodeexception", encodeexception)
    register(module, "use_lpeg", use_lpeg)
    return module


def _plain_meta(meta) -> bool:
    """Can decoded tables get this metatable without running Lua code?"""
    return meta is None or (type(meta) is Table and meta.hash.get("__newindex") is None)


def _start_index(pos, length: int) -> int:
    """0-based start for dkjson's ``pos`` (``string.find``'s init rules)."""
    t = type(pos)
    if t is float:
        as_int = float_to_int(pos)
        if as_int is None:
            raise LuaError("bad argument #3 to 'strfind' (number has no integer representation)")
        pos = as_int
    elif t is str:
        number = str_to_number(pos)
        if number is None:
            raise LuaError("bad argument #3 to 'strfind' (number expected, got string)")
        if type(number) is float:
            as_int = float_to_int(number)
            if as_int is None:
                raise LuaError("bad argument #3 to 'strfind' (number has no integer representation)")
            number = as_int
        pos = number
    elif t is not int:
        raise LuaError(f"bad argument #3 to 'strfind' (number expected, got {typename(pos)})")
    if pos > 0:
        return pos - 1
    if pos == 0 or pos < -length:
        return 0
    return length + pos
