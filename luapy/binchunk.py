"""Binary chunks: what ``string.dump`` writes and ``load`` reads back.

luapy compiles Lua to Python, so it has no bytecode to save.  A luapy
binary chunk is lua5.4's header (signature, version, format, the
``LUAC_DATA`` check bytes, sizes, ``LUAC_INT`` and ``LUAC_NUM``: what
``lundump.c`` checks, so a corrupted header fails the same way) followed
by what rebuilding the function takes, every field length-prefixed so that
a cut anywhere is a "truncated chunk":

    byte      the number of upvalues (as lua5.4 has it after the header)
    bytes     "luapy" and the format's own version
    byte      flags: stripped, main chunk, method (``self`` added)
    size      the line the function's text starts on
    string    its chunk's source name, as ``load`` was given it ("" when
              stripped)
    string    its text: the whole chunk, or ``(params) body end``
    size      the number of upvalue names, then each name

Loading compiles that text again, so the function has the same prototype
(same code, upvalues numbered the same).  As in lua5.4 its upvalues start
fresh: the first is ``env`` and the others nil.  A stripped chunk keeps no
debug information: its source is ``=?``, its lines are -1 and its upvalues
have no names.
"""

from __future__ import annotations

import struct

from .errors import LuaSyntaxError

SIGNATURE = "\x1bLua"
#: lua5.4's header after the signature, exactly as ``lundump.c`` checks it.
_HEADER_FIELDS = (
    ("\x54", "version mismatch"),
    ("\x00", "format mismatch"),
    ("\x19\x93\r\n\x1a\n", "corrupted chunk"),
    ("\x04", "Instruction size mismatch"),
    ("\x08", "lua_Integer size mismatch"),
    ("\x08", "lua_Number size mismatch"),
    (struct.pack("<q", 0x5678).decode("latin-1"), "integer format mismatch"),
    (struct.pack("<d", 370.5).decode("latin-1"), "float format mismatch"),
)
HEADER = SIGNATURE + "".join(field for field, _ in _HEADER_FIELDS)
#: What follows the upvalue count: whose chunk this is, and its version.
_TAG = "luapy\x01"

_STRIPPED = 1
_MAIN = 2
_METHOD = 4
#: What ``debug.getupvalue`` names an upvalue of stripped code.
NO_NAME = "(no name)"


class NotDumpable(Exception):
    """The function has no Lua source to save (a builtin)."""


def dump(function, strip: bool) -> str:
    """The binary chunk of Lua function ``function`` (a latin-1 ``str``)."""
    proto = function.proto
    if proto is None or proto.text is None or function.raw is None:
        raise NotDumpable
    code = function.raw.__code__
    text = str(proto.text)
    main = proto.name == "main chunk"
    if proto.is_method:
        # The text's parameter list lacks the ``self`` the parser added.
        alone = code.co_argcount == 1 and not code.co_flags & _CO_VARARGS
        text = "(self" + ("" if alone else ", ") + text[1:]
    flags = (_STRIPPED if strip else 0) | (_MAIN if main else 0)
    names = proto.source_upvalue_names or proto.upvalue_names
    chunkname = "" if strip else function.raw.__globals__.get("SOURCE", "")
    parts = [HEADER, chr(min(len(function.upvals or ()), 255)), _TAG, chr(flags),
             _size(proto.text.line), _string(chunkname), _string(text), _size(len(names))]
    parts.extend(_string(name) for name in names)
    return "".join(parts)


def undump(st, data: str, chunkname: str, env, charged: bool = False):
    """The function a binary chunk holds, with its first upvalue ``env``.

    Raises ``LuaSyntaxError`` ("bad binary format", as ``lundump.c``
    words it) for anything else than a chunk ``dump`` wrote.
    """
    from .load import load_chunk
    from .runtime import ops

    reader = _Reader(data, _error_name(chunkname))
    reader.header()
    reader.byte()  # the upvalue count, which the names below give again
    reader.literal(_TAG, "not a luapy chunk")
    flags = reader.byte()
    line = reader.size()
    name = reader.string()
    text = reader.string()
    upvalue_names = [reader.string() for _ in range(reader.size())]
    stripped = bool(flags & _STRIPPED)
    source_name = "=?" if stripped else name
    if flags & _MAIN:
        function = load_chunk(st, text, source_name, env, charged=charged)
    else:
        # A chunk whose locals stand for the upvalues, in order, and that
        # returns the function made again on its own line.
        declare = f"local {', '.join(upvalue_names)}; " if upvalue_names else ""
        wrapper = "\n" * (line - 1) + declare + "return function" + text
        function = ops.call(st, load_chunk(st, wrapper, source_name, None, charged=charged), ())[0]
        if function.upvals:
            function.upvals[0][0] = env
    if stripped:
        _strip(function)
    return function


def _strip(function) -> None:
    """Take the debug information out of a freshly loaded chunk's code."""
    names = function.raw.__globals__
    lines = names["LINES"]
    lines[:] = [-1] * len(lines)
    index = 0
    while (instantiate := names.get(f"P{index}")) is not None:
        free = instantiate.__code__.co_freevars
        proto = instantiate.__closure__[free.index("proto")].cell_contents
        # ``string.dump`` still needs them: the text refers to them.
        proto.source_upvalue_names = proto.upvalue_names
        proto.upvalue_names = (NO_NAME,) * len(proto.upvalue_names)
        index += 1


_CO_VARARGS = 0x04


def _size(n: int) -> str:
    """``dumpSize``: 7 bits a byte, most significant first; the last byte
    has its high bit set."""
    groups = [n & 0x7F]
    n >>= 7
    while n:
        groups.append(n & 0x7F)
        n >>= 7
    groups[0] |= 0x80
    return "".join(chr(group) for group in reversed(groups))


def _string(text: str) -> str:
    return _size(len(text)) + text


def _error_name(chunkname: str) -> str:
    """How ``lundump.c`` names the chunk in its errors."""
    if chunkname[:1] in ("@", "="):
        return chunkname[1:]
    if chunkname.startswith(SIGNATURE[0]):
        return "binary string"
    return chunkname


class _Reader:
    __slots__ = ("data", "position", "name")

    def __init__(self, data: str, name: str):
        self.data = data
        self.position = 0
        self.name = name

    def error(self, why: str):
        raise LuaSyntaxError(f"{self.name}: bad binary format ({why})")

    def take(self, count: int) -> str:
        end = self.position + count
        if end > len(self.data):
            self.error("truncated chunk")
        piece = self.data[self.position:end]
        self.position = end
        return piece

    def literal(self, expected: str, why: str) -> None:
        if self.take(len(expected)) != expected:
            self.error(why)

    def header(self) -> None:
        self.literal(SIGNATURE, "not a binary chunk")
        for expected, why in _HEADER_FIELDS:
            self.literal(expected, why)

    def byte(self) -> int:
        return ord(self.take(1))

    def size(self) -> int:
        n = 0
        while True:
            if n >= 1 << 48:
                self.error("integer overflow")
            b = self.byte()
            n = (n << 7) | (b & 0x7F)
            if b & 0x80:
                return n

    def string(self) -> str:
        return self.take(self.size())
