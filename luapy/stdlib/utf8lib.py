"""The ``utf8`` library (Lua 5.4 manual §6.5), ported from ``lutf8lib.c``.

Lua strings are byte strings (here: ``str`` with one char per byte), so
decoding walks ``ord()`` values.  Strict mode rejects surrogates and code
points above U+10FFFF; lax mode accepts the original 6-byte UTF-8 up to
2^31.  Overlong encodings are always rejected.

Strict mode accepts exactly what CPython's UTF-8 codec does, so ``len`` and
``codepoint`` decode long stretches in C (``_decode_prefix``) and walk byte
by byte in Python only where the codec stops: at an error, or at a
character cut by the end of the range.  Python walks are charged a step per
character, a batch at a time, so a long string still reaches the clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import LuaError
import re

from ..runtime import ops
from ..runtime.args import arg_error, check_int, check_str, opt_int, register
from ..runtime.values import Function, Table

if TYPE_CHECKING:
    from ..runtime.state import State

MAXUNICODE = 0x10FFFF
MAXUTF = 0x7FFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF
#: The smallest code point each sequence length may encode (no overlongs);
#: a lone continuation byte (length 0) is always invalid.
_LIMITS = (0xFFFFFFFF, 0x80, 0x800, 0x10000, 0x200000, 0x4000000)
#: ``LUAI_MAXSTACK`` bounds how many values ``codepoint`` may return.
_MAX_RESULTS = 999_990
CHARPATTERN = "[\x00-\x7F\xC2-\xFD][\x80-\xBF]*"
_MSG_INVALID = "invalid UTF-8 code"
#: Characters a Python walk decodes between two charges.
_BATCH = 256
_CONTINUATIONS = re.compile("[\x80-\xbf]*").match
_CONTINUATION_BYTES = "".join(map(chr, range(0x80, 0xC0)))


def _decode_prefix(st: State, s: str, i: int, j: int):
    """Strictly decode the longest valid prefix of ``s[i:j]`` in C.

    Returns the decoded text (one character per code point) and the
    position just after it.
    """
    ops.charge_work(st, 3 * (j - i))  # a slice, an encode and a decode
    data = s[i:j].encode("latin-1")
    try:
        return data.decode("utf-8"), j
    except UnicodeDecodeError as error:
        return data[:error.start].decode("utf-8"), i + error.start


def _skip_continuations(st: State, s: str, i: int) -> int:
    """The first position at or after ``i`` that is not a continuation byte."""
    end = max(_CONTINUATIONS(s, i).end(), i)
    ops.charge_work(st, end - i)
    return end


def _byte(s: str, i: int) -> int:
    """The byte at ``i``; past the end reads the C string's final NUL."""
    return ord(s[i]) if i < len(s) else 0


def _iscont(s: str, i: int) -> bool:
    return i < len(s) and (ord(s[i]) & 0xC0) == 0x80


def decode(s: str, i: int, strict: bool):
    """``utf8_decode`` at byte offset ``i``: ``(code, next_offset)`` or None."""
    c = _byte(s, i)
    if c < 0x80:
        code = c
    else:
        code = 0
        count = 0
        while c & 0x40:  # while it needs continuation bytes
            count += 1
            cc = _byte(s, i + count)
            if (cc & 0xC0) != 0x80:
                return None
            code = (code << 6) | (cc & 0x3F)
            c <<= 1
        if count > 5:
            return None
        code |= (c & 0x7F) << (count * 5)
        if code > MAXUTF or code < _LIMITS[count]:
            return None
        i += count
    if strict and (code > MAXUNICODE or 0xD800 <= code <= 0xDFFF):
        return None
    return code, i + 1


def encode(code: int) -> str:
    """``luaO_utf8esc``: up to six bytes, as a Lua string."""
    if code < 0x80:
        return chr(code)
    out = []
    mfb = 0x3F  # largest value that still fits in the first byte
    while True:
        out.append(chr(0x80 | (code & 0x3F)))
        code >>= 6
        mfb >>= 1
        if code <= mfb:
            break
    out.append(chr(((~mfb << 1) | code) & 0xFF))
    return "".join(reversed(out))


def _back_to_lead(st: State, s: str, i: int) -> int:
    """Step back from ``i`` over continuation bytes, to the start of the
    byte sequence holding ``i`` (or to 0), as lutf8lib's loop does."""
    if i <= 0 or not _iscont(s, i):
        return max(i, 0)
    # Find the run of continuation bytes ending at i in C, looking back
    # through windows growing fourfold (so the total work stays linear).
    window = 64
    while True:
        start = max(i + 1 - window, 0)
        chunk = s[start:i + 1]
        ops.charge_work(st, len(chunk))
        run_start = start + len(chunk.rstrip(_CONTINUATION_BYTES))
        if run_start > start or start == 0:
            break
        window *= 4
    return max(run_start - 1, 0) if run_start <= i else i


def _posrelat(pos: int, length: int) -> int:
    if pos >= 0:
        return pos
    if -pos > length:
        return 0
    return length + pos + 1


class Utf8Library:
    """The ``utf8`` functions of one runtime (``register`` stores the bound methods)."""

    __slots__ = ("st", "iter_strict", "iter_lax")

    def __init__(self, st: State):
        self.st = st
        self.iter_strict = Function(_make_iterator(st, True), "for iterator")
        self.iter_lax = Function(_make_iterator(st, False), "for iterator")

    def char(self, *args):
        st = self.st
        pieces = []
        for n in range(1, len(args) + 1):
            code = check_int(args, n, "char")
            if not (code & _MASK64) <= MAXUTF:
                arg_error(n, "char", "value out of range")
            pieces.append(encode(code))
            if not n % _BATCH:
                st.charge(_BATCH)
        ops.charge_string(st, 6 * len(pieces))
        return ("".join(pieces),)

    def codepoint(self, *args):
        st = self.st
        s = check_str(args, 1, "codepoint")
        length = len(s)
        posi = _posrelat(opt_int(args, 2, "codepoint", 1), length)
        pose = _posrelat(opt_int(args, 3, "codepoint", posi), length)
        lax = len(args) >= 4 and args[3] is not None and args[3] is not False
        if not posi >= 1:
            arg_error(2, "codepoint", "out of bounds")
        if not pose <= length:
            arg_error(3, "codepoint", "out of bounds")
        if posi > pose:
            return ()
        if pose - posi >= _MAX_RESULTS:
            raise LuaError("string slice too long")
        st.charge_memory(16 * (pose - posi + 1))
        codes = []
        i = posi - 1
        strict = not lax
        while i < pose:
            if strict:
                text, i = _decode_prefix(st, s, i, pose)
                codes.extend(map(ord, text))
                if i >= pose:
                    break
            decoded = decode(s, i, strict)
            if decoded is None:
                raise LuaError(_MSG_INVALID)
            code, i = decoded
            codes.append(code)
            if not len(codes) % _BATCH:
                st.charge(_BATCH)
        return tuple(codes)

    def len_(self, *args):
        st = self.st
        s = check_str(args, 1, "len")
        length = len(s)
        posi = _posrelat(opt_int(args, 2, "len", 1), length)
        posj = _posrelat(opt_int(args, 3, "len", -1), length)
        lax = len(args) >= 4 and args[3] is not None and args[3] is not False
        if not (1 <= posi and posi - 1 <= length):
            arg_error(2, "len", "initial position out of bounds")
        posi -= 1
        posj -= 1
        if not posj < length:
            arg_error(3, "len", "final position out of bounds")
        count = 0
        strict = not lax
        while posi <= posj:
            if strict:
                text, posi = _decode_prefix(st, s, posi, posj + 1)
                count += len(text)
                if posi > posj:
                    break
            decoded = decode(s, posi, strict)
            if decoded is None:
                return (None, posi + 1)
            posi = decoded[1]
            count += 1
            if not count % _BATCH:
                st.charge(_BATCH)
        return (count,)

    def offset(self, *args):
        st = self.st
        s = check_str(args, 1, "offset")
        n = check_int(args, 2, "offset")
        length = len(s)
        default = 1 if n >= 0 else length + 1
        posi = _posrelat(opt_int(args, 3, "offset", default), length)
        if not (1 <= posi and posi - 1 <= length):
            arg_error(3, "offset", "position out of bounds")
        posi -= 1
        if n == 0:
            # find the beginning of the current byte sequence
            posi = _back_to_lead(st, s, posi)
        else:
            if _iscont(s, posi):
                raise LuaError("initial position is a continuation byte")
            moved = 0
            if n < 0:
                while n < 0 and posi > 0:  # move back
                    posi = _back_to_lead(st, s, posi - 1)
                    n += 1
                    moved += 1
                    if not moved % _BATCH:
                        st.charge(_BATCH)
            else:
                n -= 1  # do not move for the first character
                while n > 0 and posi < length:
                    posi = _skip_continuations(st, s, posi + 1)
                    n -= 1
                    moved += 1
                    if not moved % _BATCH:
                        st.charge(_BATCH)
        if n == 0:
            return (posi + 1,)
        return (None,)

    def codes(self, *args):
        lax = len(args) >= 2 and args[1] is not None and args[1] is not False
        s = check_str(args, 1, "codes")
        if _iscont(s, 0):
            arg_error(1, "codes", _MSG_INVALID)
        return (self.iter_lax if lax else self.iter_strict, s, 0)


def _make_iterator(st: State, strict: bool):
    """The ``for`` iterator ``utf8.codes`` returns (``iter_aux``)."""

    def iterate(*args):
        s = check_str(args, 1, "for iterator")
        length = len(s)
        control = args[1] if len(args) >= 2 else None
        n = ops.tointeger(control) or 0
        n &= _MASK64  # lua_Unsigned: a negative control ends the loop
        if n < length:
            n = _skip_continuations(st, s, n)  # the current character's tail
        if n >= length:
            return ()
        decoded = decode(s, n, strict)
        if decoded is None or _iscont(s, decoded[1]):
            raise LuaError(_MSG_INVALID)
        st.charge(1)
        return (n + 1, decoded[0])

    return iterate


def open_library(st: State) -> Table:
    library = Utf8Library(st)
    lib = Table()
    register(lib, "char", library.char)
    register(lib, "codepoint", library.codepoint)
    register(lib, "codes", library.codes)
    register(lib, "len", library.len_)
    register(lib, "offset", library.offset)
    lib.set("charpattern", CHARPATTERN)
    return lib
