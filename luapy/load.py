"""The front door of the pipeline: source text to a callable Lua function.

    source --parse--> syntax tree --resolve--> slots and cells --compile--> closures

Everything that turns text into code (``load``, ``require``, ``dofile``,
``LuaRuntime.execute``) goes through ``load_chunk``.
"""

from __future__ import annotations


from .errors import LuaLimitError, LuaSyntaxError
from .runtime.stack import ensure_compile_headroom

#: LUA_IDSIZE: how long a chunk id may be, including the terminating NUL.
_ID_SIZE = 60


def chunk_display_name(chunkname: str) -> str:
    """``luaO_chunkid``: how a chunk is named in messages."""
    # The reference keeps chunk names as C strings: a NUL ends them.
    chunkname = chunkname.partition("\0")[0]
    if chunkname.startswith("="):
        return chunkname[1:_ID_SIZE]
    if chunkname.startswith("@"):
        name = chunkname[1:]
        if len(name) <= _ID_SIZE - 1:
            return name
        return "..." + name[-(_ID_SIZE - 4):]
    first_line, newline, _ = chunkname.partition("\n")
    # Room for the text once '[string "', '..."]' and the NUL are counted.
    limit = _ID_SIZE - len('[string "..."]') - 1
    if not newline and len(chunkname) < limit:
        return f'[string "{chunkname}"]'
    return f'[string "{first_line[:limit]}..."]'


def to_lua_source(source) -> str:
    """Lua sources are byte strings; we hold them as latin-1 ``str``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source).decode("latin-1")
    return source


def skip_file_header(source: str) -> str:
    """What ``luaL_loadfilex`` skips at the start of a *file*, not a string.

    A UTF-8 byte-order mark, then a first line starting with ``#`` (such as
    ``#!/usr/bin/lua``), whose newline is kept so line numbers stay right.
    """
    if source.startswith("\xef\xbb\xbf"):
        source = source[3:]
    if source.startswith("#"):
        newline = source.find("\n")
        source = "" if newline < 0 else source[newline:]
    return source


#: ``load_chunk``'s default ``env``: the runtime's globals.  (``None`` is a
#: value of its own: ``load(s, name, "t", nil)`` gives the chunk a nil _ENV.)
GLOBALS = object()


class LoadBudget:
    """Charges parsing and compiling to the budgets of the running call.

    Lua code can ``load`` text of its own making, so turning text into code
    must cost it like any other work: the step budget (which also brings
    the clock check) and the memory budget are charged as the lexer reads
    the source, per syntax-tree node compiled, and per character of
    generated Python, whose size bounds what CPython's own (uninterruptible)
    compile costs.  All of it is charged before that compile starts.
    """

    #: Per byte of source: steps, and bytes of tokens and tree.
    PARSE_STEPS = 1
    PARSE_MEMORY = 32
    #: Per syntax-tree node compiled.
    NODE_STEPS = 4
    #: Per character of generated Python: steps for generating and compiling
    #: it (CPython compiles a character in about the time six steps of Lua
    #: take, so the default budgets' ratio of 10 million steps to a second
    #: holds) and bytes (its compiler holds a hundred or more per character
    #: for a moment; charging a third of that keeps a process inside a
    #: small multiple of its memory budget).
    OUTPUT_STEPS = 6
    OUTPUT_MEMORY = 32
    #: CPU seconds CPython takes to compile a character of generated Python
    #: (0.3-0.45 us measured on a 2-core machine; the higher figure).
    COMPILE_SECONDS_PER_CHAR = 0.45e-6
    #: Generated characters are settled in batches of this many.
    OUTPUT_BATCH = 16384

    def __init__(self, st):
        self.st = st
        self.pending = 0

    def parsed(self, nbytes: int) -> None:
        self.st.charge_memory(nbytes * self.PARSE_MEMORY)
        self.st.charge(nbytes * self.PARSE_STEPS)

    def node(self) -> None:
        self.st.charge(self.NODE_STEPS)

    def nodes(self, count: int) -> None:
        """``count`` nodes examined at once (a constructor's fields)."""
        self.st.charge(self.NODE_STEPS * count)

    def emitted(self, nchars: int) -> None:
        self.pending += nchars
        if self.pending >= self.OUTPUT_BATCH:
            self.settle()

    def settle(self) -> None:
        pending = self.pending
        self.pending = 0
        self.st.charge_memory(pending * self.OUTPUT_MEMORY)
        self.st.charge(pending * self.OUTPUT_STEPS)

    def before_compile(self, nchars: int) -> None:
        """CPython is about to compile ``nchars`` of generated Python in one
        call that no check can interrupt (seconds for megabytes): it must
        fit the call's time left, or the call ends on its time budget now."""
        self.settle()
        self.st.reserve_time(nchars * self.COMPILE_SECONDS_PER_CHAR)


def load_chunk(st, source: str, chunkname: str, env=GLOBALS, *, charged: bool = False):
    """Compile ``source`` into a vararg ``Function`` whose ``_ENV`` is ``env``.

    ``env`` defaults to the runtime's globals.  ``charged``: the work is
    charged to the running call's budgets (``LoadBudget``), for code that
    Lua itself loads.  Raises ``LuaSyntaxError`` (with ``chunk:line:``),
    ``LuaLimitError("source")`` or, when charged, any budget's
    ``LuaLimitError``.
    """
    from .compile import compile_chunk
    from .parser import parse
    from .resolve import resolve

    display = chunk_display_name(chunkname)
    limit = st.limits.source_size
    if limit is not None and len(source) > limit:
        error = LuaLimitError("source", f"source too large ({len(source)} bytes; limit is {limit})")
        error.locate(f"{display}:1:")
        raise error
    if source.startswith("\x1b"):
        from .binchunk import undump
        return undump(st, source, chunkname, st.globals if env is GLOBALS else env, charged)
    budget = LoadBudget(st) if charged else None
    tree = parse(source, display, nesting_limit=st.limits.nesting,
                 progress=budget.parsed if budget else None)
    ensure_compile_headroom()
    resolve(tree)

    def reread():
        """The tree again, for the chunk's generator form (``luapy.compile``)."""
        again = parse(source, display, nesting_limit=st.limits.nesting)
        resolve(again)
        return again
    return compile_chunk(st, tree, st.globals if env is GLOBALS else env, budget, reread)


__all__ = ["LoadBudget", "LuaSyntaxError", "chunk_display_name", "load_chunk", "to_lua_source"]
