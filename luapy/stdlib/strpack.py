"""``string.pack``, ``string.packsize`` and ``string.unpack`` (manual §6.4.2).

A transcription of lstrlib.c's PACK/UNPACK section for the platform lua5.4
runs on here (x86-64 Linux): native little-endian, ``int`` 4 bytes,
``long``/``size_t``/``lua_Integer``/``lua_Number`` 8 bytes, native maximum
alignment 8 (used by a bare ``!``).
"""

from __future__ import annotations

import math
import struct
from typing import TYPE_CHECKING

from ..errors import LuaError
from ..runtime.args import arg_error, check_int, check_num, check_str, opt_int
from ..runtime.ops import charge_string, charge_work

if TYPE_CHECKING:
    from ..runtime.state import State

MAXINTSIZE = 16
SZINT = 8
NATIVE_ALIGN = 8
#: lstrlib's MAXSIZE (INT_MAX).
MAXSIZE = 0x7FFFFFFF
MAX_RESULTS = 1_000_000
#: Bytes charged per value ``unpack`` returns: a result slot and a number.
RESULT_COST = 40

# Option kinds.
K_INT, K_UINT, K_FLOAT, K_NUMBER, K_DOUBLE, K_CHAR, K_STRING, K_ZSTR, \
    K_PADDING, K_PADDALIGN, K_NOP = range(11)

_FIXED = {
    "b": (1, K_INT), "B": (1, K_UINT), "h": (2, K_INT), "H": (2, K_UINT),
    "l": (8, K_INT), "L": (8, K_UINT), "j": (8, K_INT), "J": (8, K_UINT),
    "T": (8, K_UINT), "f": (4, K_FLOAT), "n": (8, K_NUMBER), "d": (8, K_DOUBLE),
}


class _Reader:
    """A cursor over the format string plus the header state (endianness,
    maximum alignment)."""

    __slots__ = ("fmt", "pos", "little", "maxalign", "fname")

    def __init__(self, fmt: str, fname: str):
        self.fmt = fmt
        self.pos = 0
        self.little = True
        self.maxalign = 1
        self.fname = fname

    def more(self) -> bool:
        return self.pos < len(self.fmt)

    def _number(self, default: int) -> int:
        fmt = self.fmt
        pos = self.pos
        if pos >= len(fmt) or not "0" <= fmt[pos] <= "9":
            return default
        value = 0
        while True:
            value = value * 10 + ord(fmt[pos]) - 48
            pos += 1
            if not (pos < len(fmt) and "0" <= fmt[pos] <= "9" and value <= (MAXSIZE - 9) // 10):
                break
        self.pos = pos
        return value

    def _size_limit(self, default: int) -> int:
        size = self._number(default)
        if size > MAXINTSIZE or size <= 0:
            raise LuaError(f"integral size ({size}) out of limits [1,{MAXINTSIZE}]")
        return size

    def option(self):
        """lstrlib's ``getoption``: (kind, size)."""
        opt = self.fmt[self.pos]
        self.pos += 1
        fixed = _FIXED.get(opt)
        if fixed is not None:
            return fixed[1], fixed[0]
        if opt == "i":
            return K_INT, self._size_limit(4)
        if opt == "I":
            return K_UINT, self._size_limit(4)
        if opt == "s":
            return K_STRING, self._size_limit(8)
        if opt == "c":
            size = self._number(-1)
            if size == -1:
                raise LuaError("missing size for format option 'c'")
            return K_CHAR, size
        if opt == "z":
            return K_ZSTR, 0
        if opt == "x":
            return K_PADDING, 1
        if opt == "X":
            return K_PADDALIGN, 0
        if opt == " ":
            pass
        elif opt == "<" or opt == "=":
            self.little = True
        elif opt == ">":
            self.little = False
        elif opt == "!":
            self.maxalign = self._size_limit(NATIVE_ALIGN)
        else:
            raise LuaError(f"invalid format option '{opt}'")
        return K_NOP, 0

    def details(self, total: int):
        """lstrlib's ``getdetails``: (kind, size, padding to align)."""
        kind, size = self.option()
        align = size
        if kind == K_PADDALIGN:
            if not self.more():
                arg_error(1, self.fname, "invalid next option for option 'X'")
            next_kind, align = self.option()
            if next_kind == K_CHAR or align == 0:
                arg_error(1, self.fname, "invalid next option for option 'X'")
        if align <= 1 or kind == K_CHAR:
            return kind, size, 0
        if align > self.maxalign:
            align = self.maxalign
        if align & (align - 1):
            arg_error(1, self.fname, "format asks for alignment not power of 2")
        return kind, size, (align - (total & (align - 1))) & (align - 1)


def _pack_int(value: int, size: int, little: bool) -> bytes:
    """Two's complement in ``size`` bytes (sign-extended past 8 bytes)."""
    data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    return data if little else data[::-1]


def _unpack_int(data: bytes, little: bool, signed: bool, size: int) -> int:
    if not little:
        data = data[::-1]
    if size <= SZINT:
        value = int.from_bytes(data, "little")
        if signed and size < SZINT and value >= 1 << (8 * size - 1):
            value -= 1 << (8 * size)
    else:
        value = int.from_bytes(data[:SZINT], "little")
        negative = signed and value >= 1 << 63
        filler = 0xFF if negative else 0
        for byte in data[SZINT:]:
            if byte != filler:
                raise LuaError(f"{size}-byte integer does not fit into Lua Integer")
    if value >= 1 << 63:
        value -= 1 << 64
    return value


def _pack_float(value: float, little: bool, code: str) -> bytes:
    order = "<" if little else ">"
    try:
        return struct.pack(order + code, value)
    except OverflowError:  # C's double-to-float conversion gives infinity
        return struct.pack(order + code, math.copysign(math.inf, value))


def make_functions(st: State) -> dict:
    def pack(*args):
        fmt = check_str(args, 1, "pack")
        # lstrlib pushes a nil right after the arguments, so the first
        # missing one is reported as "got nil" (and every option fails on it).
        args = args + (None,)
        reader = _Reader(fmt, "pack")
        out = []
        arg = 1
        total = 0
        while reader.more():
            kind, size, padding = reader.details(total)
            total += padding + size
            st.charge_memory(padding + size)
            st.charge(1)
            if padding:
                out.append(b"\0" * padding)
            arg += 1
            if kind == K_INT:
                n = check_int(args, arg, "pack")
                if size < SZINT:
                    limit = 1 << (size * 8 - 1)
                    if not -limit <= n < limit:
                        arg_error(arg, "pack", "integer overflow")
                out.append(_pack_int(n, size, reader.little))
            elif kind == K_UINT:
                n = check_int(args, arg, "pack")
                if size < SZINT and not (n & 0xFFFFFFFFFFFFFFFF) < 1 << (size * 8):
                    arg_error(arg, "pack", "unsigned overflow")
                if n < 0 and size > SZINT:
                    n &= 0xFFFFFFFFFFFFFFFF  # no sign extension for unsigned
                out.append(_pack_int(n, size, reader.little))
            elif kind == K_FLOAT:
                out.append(_pack_float(float(check_num(args, arg, "pack")), reader.little, "f"))
            elif kind == K_NUMBER or kind == K_DOUBLE:
                out.append(_pack_float(float(check_num(args, arg, "pack")), reader.little, "d"))
            elif kind == K_CHAR:
                s = check_str(args, arg, "pack")
                if len(s) > size:
                    arg_error(arg, "pack", "string longer than given size")
                out.append(s.encode("latin-1") + b"\0" * (size - len(s)))
            elif kind == K_STRING:
                s = check_str(args, arg, "pack")
                if not (size >= 8 or len(s) < 1 << (size * 8)):
                    arg_error(arg, "pack", "string length does not fit in given size")
                st.charge_memory(len(s))
                out.append(_pack_int(len(s), size, reader.little))
                out.append(s.encode("latin-1"))
                total += len(s)
            elif kind == K_ZSTR:
                s = check_str(args, arg, "pack")
                if "\0" in s:
                    arg_error(arg, "pack", "string contains zeros")
                st.charge_memory(len(s) + 1)
                out.append(s.encode("latin-1") + b"\0")
                total += len(s) + 1
            else:
                if kind == K_PADDING:
                    out.append(b"\0")
                arg -= 1
        charge_string(st, total)  # the pieces above are joined, then decoded
        return (b"".join(out).decode("latin-1"),)

    def packsize(*args):
        fmt = check_str(args, 1, "packsize")
        reader = _Reader(fmt, "packsize")
        total = 0
        while reader.more():
            st.charge(1)  # each option is read in Python
            kind, size, padding = reader.details(total)
            if kind == K_STRING or kind == K_ZSTR:
                arg_error(1, "packsize", "variable-length format")
            size += padding
            if total > MAXSIZE - size:
                arg_error(1, "packsize", "format result too large")
            total += size
        return (total,)

    def unpack(*args):
        fmt = check_str(args, 1, "unpack")
        data = check_str(args, 2, "unpack")
        length = len(data)
        start = opt_int(args, 3, "unpack", 1)
        if start > 0:
            pos = start - 1
        elif start == 0 or start < -length:
            pos = 0
        else:
            pos = length + start
        if pos > length:
            arg_error(3, "unpack", "initial position out of string")
        reader = _Reader(fmt, "unpack")
        results = []
        while reader.more():
            kind, size, padding = reader.details(pos)
            if padding + size > length - pos:
                arg_error(2, "unpack", "data string too short")
            pos += padding
            st.charge(1)
            st.charge_memory(RESULT_COST)
            if len(results) >= MAX_RESULTS:
                raise LuaError("stack overflow (too many results)")
            if kind == K_INT or kind == K_UINT:
                chunk = data[pos:pos + size].encode("latin-1")
                results.append(_unpack_int(chunk, reader.little, kind == K_INT, size))
            elif kind == K_FLOAT:
                chunk = data[pos:pos + 4].encode("latin-1")
                results.append(struct.unpack("<f" if reader.little else ">f", chunk)[0])
            elif kind == K_NUMBER or kind == K_DOUBLE:
                chunk = data[pos:pos + 8].encode("latin-1")
                results.append(struct.unpack("<d" if reader.little else ">d", chunk)[0])
            elif kind == K_CHAR:
                charge_string(st, size)
                results.append(data[pos:pos + size])
            elif kind == K_STRING:
                chunk = data[pos:pos + size].encode("latin-1")
                n = _unpack_int(chunk, reader.little, False, size) & 0xFFFFFFFFFFFFFFFF
                if n > length - pos - size:
                    arg_error(2, "unpack", "data string too short")
                charge_string(st, n)
                results.append(data[pos + size:pos + size + n])
                pos += n
            elif kind == K_ZSTR:
                end = data.find("\0", pos)
                charge_work(st, (end if end >= 0 else length) - pos)
                if end < 0:
                    arg_error(2, "unpack", "unfinished string for format 'z'")
                charge_string(st, end - pos)
                results.append(data[pos:end])
                pos = end + 1
            pos += size
        results.append(pos + 1)
        return tuple(results)

    return {"pack": pack, "packsize": packsize, "unpack": unpack}
