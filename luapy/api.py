"""Embedding Lua in Python: ``LuaRuntime``, modeled on lupa's.

Conversion rules (both directions):

============================ =========================================
Python                        Lua
============================ =========================================
``None``                      nil
``bool``                      boolean
``int`` (64-bit range)        integer; larger ints become floats
``float``                     float
``str``                       string (encoded with ``encoding``)
``bytes``                     string (as is)
``dict`` / ``list`` / tuple   a new table (``table_from``), converted deeply
``LuaTable`` / ``LuaFunction`` the Lua value it wraps
any other object              ``TypeError``; callables must be
                              registered explicitly (``register_function``)
============================ =========================================

Lua strings come back as ``str`` decoded with ``encoding`` (undecodable
bytes are kept as surrogate escapes, so they round-trip), or as ``bytes``
when ``encoding`` is ``None``.  Tables come back as ``LuaTable`` views and
functions as ``LuaFunction`` callables; ``LuaTable.to_python()`` converts
deeply with raw access, caps and cycle detection.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping

from .errors import LuaError, LuaLimitError, LuaSyntaxError
from .load import load_chunk, skip_file_header, to_lua_source
from .options import Limits, Options
from .runtime.ops import call as lua_call
from .runtime.stack import (
    DEEP_STACK_THRESHOLD, DeepStackExecutor, raise_recursion_limit, recursion_limit_for,
)
from .runtime.state import State
from .runtime.values import (
    MAXINT, MININT, Coroutine, Function, Table, Userdata, tostring_basic, type_name,
)
from .snapshot import Snapshot
from .stdlib import corolib

#: How deep a converted result may nest, and how many values it may hold.
MAX_CONVERT_DEPTH = 100
MAX_CONVERT_ITEMS = 1_000_000


class LuaRuntime:
    """One isolated Lua state: its own globals, metatables and modules.

    ``LuaRuntime()`` is the sandbox profile with the default budgets of
    ``luapy.Limits``.  Pass ``options=Options(...)`` or the keyword
    shortcuts ``profile=``, ``limits=``, ``lua51_compat=``, ``encoding=``.
    """

    def __init__(self, options: Options | None = None, *, profile: str | None = None,
                 limits: Limits | None = None, lua51_compat: bool | None = None,
                 encoding: str | None | type(...) = ...):
        options = options or Options()
        changes = {}
        if profile is not None:
            changes["profile"] = profile
        if limits is not None:
            changes["limits"] = limits
        if lua51_compat is not None:
            changes["lua51_compat"] = lua51_compat
        if encoding is not ...:
            changes["encoding"] = encoding
        if changes:
            from dataclasses import replace
            options = replace(options, **changes)
        if options.profile not in ("sandbox", "standard"):
            raise ValueError(f"unknown profile {options.profile!r}")
        self.options = options
        self._encoding = options.encoding
        self._state = State(options)
        self._executor = DeepStackExecutor() if options.limits.depth > DEEP_STACK_THRESHOLD else None
        from .stdlib import open_libs

        open_libs(self._state)
        # Suspended coroutines hold threads whose frames reference the State;
        # release them when the runtime goes away.
        self._finalizer = weakref.finalize(self, corolib.shutdown, self._state)

    def close(self) -> None:
        """Release the threads of suspended coroutines now (also done on GC).

        Each suspended coroutine is unwound (its pending ``__close``
        handlers run) and its thread ends.  The runtime stays usable.
        """
        self._finalizer()

    # -- snapshots ----------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Record the state Lua code can reach, for ``restore`` to put back.

        Recorded: every table reachable from the globals, the string
        metatable and ``package.loaded`` (through keys, values and
        metatables), and the upvalue cells of the Lua functions found on
        the way.  Not recorded: the inside of suspended coroutines and the
        hidden state of library functions (``math.random``'s generator).
        See ``luapy.snapshot`` for the details and the cost.
        """
        st = self._state
        return Snapshot(st, (st.globals, st.string_meta, st.loaded))

    def restore(self, snapshot: Snapshot) -> bool:
        """Put back what ``snapshot`` recorded; returns whether anything
        had changed.  Cheap when nothing did: call it after every run to
        give the next one a fresh start."""
        if snapshot.owner is not self._state:
            raise ValueError("the snapshot was taken of another runtime")
        return snapshot.restore()

    def _on_executor(self) -> bool:
        # A host function called from a running coroutine that calls back
        # into Lua must run right there: the executor thread is blocked
        # waiting for that coroutine.
        return self._executor is not None and not corolib.holds_control(self._state)

    # -- running code -------------------------------------------------------

    def execute(self, source, *args, name: str | None = None):
        """Run a chunk; returns None, its single result, or a tuple."""
        function = self._load(source, name)
        return self._run(function, args)

    def eval(self, expression, *args, name: str | None = None):
        """Evaluate one Lua expression (``return <expression>``)."""
        source = to_lua_source(self._to_lua(expression) if isinstance(expression, str) else expression)
        return self._run(self._load_text("return " + source, name or "=(eval)"), args)

    def compile(self, source, name: str | None = None, *, from_file: bool = False) -> "LuaFunction":
        """Compile without running; call the result to run it.

        ``from_file=True`` treats ``source`` as a file's contents, as
        ``loadfile`` does: a UTF-8 byte-order mark and a first line
        starting with ``#`` are skipped (line numbers are kept).
        """
        return LuaFunction(self, self._load(source, name, from_file))

    def _load(self, source, name, from_file: bool = False):
        text = self._to_lua(source) if isinstance(source, str) else to_lua_source(source)
        if from_file:
            text = skip_file_header(text)
        return self._load_text(text, name or "=(execute)")

    def _load_text(self, text: str, chunkname: str):
        if self._on_executor():
            return self._executor.run(self._load_here, text, chunkname)
        return self._load_here(text, chunkname)

    def _load_here(self, text: str, chunkname: str):
        st = self._state
        outermost = st.enter()
        try:
            return load_chunk(st, text, chunkname)
        finally:
            st.leave(outermost)

    def _run(self, function, args):
        results = self.call_raw(function, [self._to_lua(a) for a in args])
        return self._pack(results)

    def call_all(self, function, *args) -> tuple:
        """Call a Lua value and return all its results as a tuple.

        Unlike calling a ``LuaFunction`` it keeps the count: ``()`` for no
        result, ``(None,)`` for one nil (what a read-eval-print loop needs).
        """
        results = self.call_raw(self._to_lua(function), [self._to_lua(a) for a in args])
        return tuple(self._from_lua(r) for r in results)

    def call_raw(self, function, lua_args) -> tuple:
        """Call a Lua value with already-converted arguments, under budgets.

        ``function`` is a ``LuaFunction`` of this runtime (or a raw Lua
        value).  Returns the raw Lua results: strings as latin-1 ``str``
        (one character per byte), numbers, booleans, ``None``, and
        luapy's own objects for tables and functions (``lua_type`` names
        them).  The lowest-overhead way in; the resolver's plugin host
        uses it.
        """
        if type(function) is LuaFunction:
            if function._runtime is not self:
                raise ValueError("the function belongs to another runtime")
            function = function._value
        if self._on_executor():
            return self._executor.run(self._call_here, function, lua_args)
        return self._call_here(function, lua_args)

    def _call_here(self, function, lua_args) -> tuple:
        st = self._state
        outermost = st.enter()
        if outermost:
            raise_recursion_limit(recursion_limit_for(st.max_depth))
        try:
            return lua_call(st, function, lua_args)
        except (LuaError, LuaLimitError):
            raise
        except RecursionError:
            raise LuaError("stack overflow", level=0) from None
        except MemoryError:
            raise LuaLimitError("memory", "not enough memory") from None
        finally:
            st.leave(outermost)

    def interrupt(self, exception: type[BaseException] = KeyboardInterrupt) -> bool:
        """Raise ``exception`` in the Lua code this runtime is running now.

        For a signal handler or another thread (the ``luapy`` command's
        Ctrl-C).  Only runtimes whose calls run on their own deep-stack
        thread (depth above ``DEEP_STACK_THRESHOLD``) can be interrupted
        this way: False when there is none, or no call is running.  Code
        inside a coroutine sees the exception when the coroutine yields.
        """
        return self._executor is not None and self._executor.interrupt(exception)

    # -- globals, tables, functions -----------------------------------------

    def globals(self) -> "LuaTable":
        return LuaTable(self, self._state.globals)

    def table(self, *items, **fields) -> "LuaTable":
        """A new table with ``items`` at 1..n and ``fields`` as keys."""
        table = Table()
        for i, item in enumerate(items, 1):
            table.set(i, self._to_lua(item))
        for key, value in fields.items():
            table.set(self._to_lua(key), self._to_lua(value))
        return LuaTable(self, table)

    def table_from(self, *objects) -> "LuaTable":
        """A new table from mappings (keys) and iterables (1..n), deeply."""
        table = Table()
        for obj in objects:
            if isinstance(obj, Mapping):
                for key, value in obj.items():
                    table.set(self._to_lua(key), self._to_lua(value))
            else:
                for value in obj:
                    table.set(len(table.arr) + 1, self._to_lua(value))
        return LuaTable(self, table)

    def register_function(self, name: str, func, *, raw: bool = False) -> "LuaFunction":
        """Expose a Python callable to Lua as global ``name``.

        Arguments arrive converted to Python; the return value (a tuple
        means several results) is converted back.  With ``raw=True`` the
        callable receives and returns Lua values untouched.
        """
        if raw:
            fn = Function(lambda *args: tuple(_as_results(func(*args))), name)
        else:
            # A weak reference: the function lives in the runtime's state,
            # which a suspended coroutine's thread keeps alive, and a strong
            # one back to the runtime would keep it (and its threads) for ever.
            runtime = weakref.ref(self)

            def call(*args):
                lua = runtime()
                result = func(*[lua._from_lua(a) for a in args])
                return tuple(lua._to_lua(r) for r in _as_results(result))
            fn = Function(call, name)
        self._state.globals.set(self._to_lua(name), fn)
        return LuaFunction(self, fn)

    def register_module(self, name: str, module) -> None:
        """Make ``require(name)`` find ``module``: Lua source text or a table."""
        if isinstance(module, LuaTable):
            module = module._table
        elif isinstance(module, Mapping):
            module = self.table_from(module)._table
        elif isinstance(module, (str, bytes)):
            module = self._to_lua(module) if isinstance(module, str) else to_lua_source(module)
        else:
            raise TypeError("a module is Lua source (str/bytes) or a table")
        self._state.registered[name] = module

    def set_output(self, write) -> None:
        """Send ``print`` output to ``write(text: str)`` instead of stdout."""
        encoding = self._encoding or "utf-8"
        self._state.write_stdout = lambda text: write(text.encode("latin-1").decode(encoding, "replace"))

    # -- conversion ---------------------------------------------------------

    def _to_lua(self, value, _depth: int = 0):
        t = type(value)
        if value is None or t is bool or t is float:
            return value
        if t is int:
            return value if MININT <= value <= MAXINT else float(value)
        if t is str:
            encoding = self._encoding or "utf-8"
            return value.encode(encoding, "surrogateescape").decode("latin-1")
        if t is bytes or t is bytearray:
            return bytes(value).decode("latin-1")
        if isinstance(value, LuaObject):
            return value._value
        if isinstance(value, (bool, int, float)):
            return self._to_lua(t.__mro__[1](value) if t is not bool else bool(value))
        if _depth > MAX_CONVERT_DEPTH:
            raise ValueError("value nests too deeply to convert to Lua")
        if isinstance(value, Mapping):
            table = Table()
            for key, item in value.items():
                table.set(self._to_lua(key, _depth + 1), self._to_lua(item, _depth + 1))
            return table
        if isinstance(value, (list, tuple)):
            return Table([self._to_lua(item, _depth + 1) for item in value]) if None not in value else \
                self.table_from(value)._table
        raise TypeError(f"cannot pass a {t.__name__} to Lua; register callables explicitly")

    def _from_lua(self, value):
        t = type(value)
        if t is str:
            if self._encoding is None:
                return value.encode("latin-1")
            return value.encode("latin-1").decode(self._encoding, "surrogateescape")
        if t is Table:
            return LuaTable(self, value)
        if t is Function:
            return LuaFunction(self, value)
        if t is Userdata or isinstance(value, Coroutine):
            return LuaObject(self, value)
        return value

    def _pack(self, results):
        if not results:
            return None
        if len(results) == 1:
            return self._from_lua(results[0])
        return tuple(self._from_lua(r) for r in results)


def _as_results(result):
    if isinstance(result, tuple):
        return result
    return (result,)


class LuaObject:
    """A Lua value with no Python equivalent (a coroutine, a userdata)."""

    __slots__ = ("_runtime", "_value")

    def __init__(self, runtime: LuaRuntime, value):
        self._runtime = runtime
        self._value = value

    def __repr__(self) -> str:
        return f"<Lua {tostring_basic(self._value)}>"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other._value is self._value

    def __hash__(self) -> int:
        return id(self._value)


class LuaFunction(LuaObject):
    """A Lua function, callable from Python under the runtime's budgets."""

    __slots__ = ()

    @property
    def _function(self):
        return self._value

    @property
    def linedefined(self) -> int | None:
        """The line where this Lua function is defined (``debug.getinfo``'s
        ``linedefined``); ``None`` for a builtin."""
        proto = self._value.proto
        return getattr(proto, "line", None) if proto is not None else None

    def __call__(self, *args):
        runtime = self._runtime
        return runtime._pack(runtime.call_raw(self._value, [runtime._to_lua(a) for a in args]))


class LuaTable(LuaObject):
    """A live view of a Lua table as a Python mapping (raw access)."""

    __slots__ = ()

    @property
    def _table(self) -> Table:
        return self._value

    def __getitem__(self, key):
        runtime = self._runtime
        return runtime._from_lua(self._value.get(runtime._to_lua(key)))

    def __setitem__(self, key, value) -> None:
        runtime = self._runtime
        self._value.set(runtime._to_lua(key), runtime._to_lua(value))

    def __delitem__(self, key) -> None:
        self._value.set(self._runtime._to_lua(key), None)

    def __contains__(self, key) -> bool:
        return self._value.get(self._runtime._to_lua(key)) is not None

    def __len__(self) -> int:
        """``#t`` (raw)."""
        return self._value.length()

    def __iter__(self):
        return self.keys()

    def keys(self):
        from_lua = self._runtime._from_lua
        return (from_lua(k) for k, _ in self._value.iter_items())

    def values(self):
        from_lua = self._runtime._from_lua
        return (from_lua(v) for _, v in self._value.iter_items())

    def items(self):
        from_lua = self._runtime._from_lua
        return ((from_lua(k), from_lua(v)) for k, v in self._value.iter_items())

    def get(self, key, default=None):
        value = self[key]
        return default if value is None else value

    def to_python(self, max_depth: int = MAX_CONVERT_DEPTH, max_items: int = MAX_CONVERT_ITEMS):
        """Convert deeply: sequences to lists, other tables to dicts.

        Raw access only (no metamethods run); a cycle, more than
        ``max_depth`` levels or more than ``max_items`` values is a
        ``ValueError``; functions and coroutines are not convertible.
        """
        return to_python(self._runtime, self._value, max_depth, max_items)


def lua_type(value) -> str:
    """The Lua type name (``type(v)`` in Lua) of a value as the API returns
    it: converted (``LuaTable``, ``str``...) or raw from ``call_raw``."""
    if isinstance(value, LuaObject):
        value = value._value
    elif type(value) is bytes:
        return "string"
    return type_name(value)


def to_python(runtime: LuaRuntime, value, max_depth: int = MAX_CONVERT_DEPTH,
              max_items: int = MAX_CONVERT_ITEMS):
    budget = [max_items]
    active: set[int] = set()

    def convert(v, depth):
        budget[0] -= 1
        if budget[0] < 0:
            raise ValueError(f"value too large to convert (more than {max_items} items)")
        t = type(v)
        if t is str:
            return runtime._from_lua(v)
        if t is not Table:
            if t is Function or t is Userdata or isinstance(v, Coroutine):
                raise ValueError(f"cannot convert a {tostring_basic(v).split(':')[0]} to Python")
            return v
        if depth >= max_depth:
            raise ValueError(f"value nests deeper than {max_depth} levels")
        if id(v) in active:
            raise ValueError("cannot convert a table that contains itself (cycle)")
        active.add(id(v))
        try:
            if not v.hash:
                return [convert(item, depth + 1) for item in v.arr]
            return {convert(k, depth + 1): convert(item, depth + 1) for k, item in v.iter_items()}
        finally:
            active.discard(id(v))

    return convert(value, 0)


__all__ = [
    "LuaError", "LuaFunction", "LuaLimitError", "LuaObject", "LuaRuntime",
    "LuaSyntaxError", "LuaTable", "Snapshot", "lua_type", "to_python",
]
