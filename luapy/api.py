"""Embedding Lua in Python: ``LuaRuntime``, modeled on lupa's.

Conversion rules (both directions):

============================ =========================================
Python                        Lua
============================ =========================================
``None``                      nil
``bool``                      boolean
``int`` (64-bit range)        integer; larger ints are ``OverflowError``
``float``                     float
``str``                       string (encoded with ``encoding``)
``bytes``                     string (as is)
subclasses of these           the value (an ``IntEnum`` is an integer)
``dict`` / ``list`` / tuple   a new table (``table_from``), converted deeply
``LuaTable`` / ``LuaFunction`` the Lua value it wraps
a callable                    a Lua function (as ``register_function``)
any other object              trusted profile: a userdata reaching the
                              object (``luapy.pyobjects``); else
                              ``TypeError``
============================ =========================================

In the trusted profile containers are wrapped too (lupa's rule), unless
``table_from(..., recursive=True)`` converts them.

Lua strings come back as ``str`` decoded with ``encoding`` (undecodable
bytes are kept as surrogate escapes, so they round-trip), or as ``bytes``
when ``encoding`` is ``None``.  Tables come back as ``LuaTable`` views and
functions as ``LuaFunction`` callables; ``LuaTable.to_python()`` converts
deeply with raw access, caps and cycle detection.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from sys import getrecursionlimit

from .errors import LuaError, LuaLimitError, LuaMemoryError, LuaSyntaxError, StackOverflow, as_memory_error
from .load import load_chunk, skip_file_header, to_lua_source
from .options import TRUSTED_LIMITS, Limits, Options
from .pyobjects import (
    ProtocolWrapper, PythonObjects, as_attrgetter, as_itemgetter, host_function,
    unpacks_lua_table, unpacks_lua_table_method,
)
from .runtime.ops import call as lua_call
from .runtime.stack import (
    DEEP_STACK_THRESHOLD, DeepStackExecutor, raise_recursion_limit, recursion_limit_for,
)
from .runtime.state import State
from .runtime.values import (
    MAXINT, MININT, Coroutine, Function, Table, Userdata, tostring_basic, type_name,
)
from .snapshot import Snapshot
from .stdlib import corolib, iolib

#: How deep a converted result may nest, and how many values it may hold.
MAX_CONVERT_DEPTH = 100
MAX_CONVERT_ITEMS = 1_000_000
#: Calls from Python into a runtime that may be in progress at once, nested
#: (a Python function Lua called, calling Lua again): about 2.5 KB of C stack
#: each, so 100 fit a 512 KiB thread stack; one more is "C stack overflow",
#: as lua5.4 says at its own C-call limit.
HOST_REENTRY_LIMIT = 100
#: ``eval``/``execute`` keep this many compiled chunks, by text...
CHUNK_CACHE_SIZE = 128
#: ...of at most this many bytes each.
CHUNK_CACHE_MAX_SOURCE = 64 * 1024
#: lupa's constructor options that hand Lua code a way into Python.
_TRUSTED_ONLY = {
    "register_eval": "gives Lua code Python's eval() as python.eval",
    "register_builtins": "gives Lua code Python's builtins as python.builtins",
    "attribute_filter": "governs Python objects inside Lua",
    "attribute_handlers": "governs Python objects inside Lua",
}


class LuaRuntime:
    """One isolated Lua state: its own globals, metatables and modules.

    ``LuaRuntime()`` is the sandbox profile with the default budgets of
    ``luapy.Limits``.  Pass ``options=Options(...)`` or the keyword
    shortcuts ``profile=``, ``limits=``, ``lua51_compat=``, ``encoding=``.

    lupa's options, with lupa's meaning: ``unpack_returned_tuples``
    (default True: a tuple a Python function returns is several results),
    ``max_memory`` (the memory budget in bytes; 0 is none),
    ``source_encoding``, and, in ``profile="trusted"`` only,
    ``register_eval``, ``register_builtins`` (both default True there),
    ``attribute_filter`` and ``attribute_handlers``.  The trusted profile
    is the standard library plus lupa's ``python`` module, Python objects
    as userdata, and no budgets unless ``limits=`` sets them.

    Calls from several threads are serialised by a per-runtime lock.
    """

    def __init__(self, options: Options | None = None, *, profile: str | None = None,
                 limits: Limits | None = None, lua51_compat: bool | None = None,
                 encoding: str | None | type(...) = ..., source_encoding: str | None = None,
                 unpack_returned_tuples: bool = True, max_memory: int | None | type(...) = ...,
                 register_eval: bool | None = None, register_builtins: bool | None = None,
                 attribute_filter=None, attribute_handlers=None):
        explicit_limits = options is not None or limits is not None
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
            options = replace(options, **changes)
        if options.profile not in ("sandbox", "standard", "trusted"):
            raise ValueError(f"unknown profile {options.profile!r}")
        trusted = options.profile == "trusted"
        if trusted and not explicit_limits:
            options = replace(options, limits=TRUSTED_LIMITS)
        if max_memory is not ...:
            options = options.with_limits(memory=max_memory or None)
        lupa_options = {"register_eval": register_eval, "register_builtins": register_builtins,
                        "attribute_filter": attribute_filter, "attribute_handlers": attribute_handlers}
        if not trusted:
            for name, value in lupa_options.items():
                if value:  # asking for less (register_eval=False) is always fine
                    raise ValueError(
                        f"{name}= {_TRUSTED_ONLY[name]}, which only profile='trusted' allows; "
                        f"the {options.profile} profile never gives Lua code a way into Python")
        if attribute_filter is not None and not callable(attribute_filter):
            raise ValueError("attribute_filter must be callable")
        if attribute_handlers is not None:
            if (not isinstance(attribute_handlers, (tuple, list)) or len(attribute_handlers) != 2
                    or not all(h is None or callable(h) for h in attribute_handlers)):
                raise ValueError("attribute_handlers must be a sequence of two callables")
            if attribute_filter is not None:
                raise ValueError("attribute_filter and attribute_handlers are mutually exclusive")
        self.options = options
        self._encoding = options.encoding
        self._source_encoding = source_encoding or options.encoding or "utf-8"
        self._unpack_tuples = bool(unpack_returned_tuples)
        # The trusted profile's Lua side is the standard profile's: what it
        # adds lives here and in luapy.pythonlib, so the libraries never see it.
        self._state = State(replace(options, profile="standard") if trusted else options)
        self._executor = DeepStackExecutor() if options.limits.depth > DEEP_STACK_THRESHOLD else None
        #: Python's recursion limit a call needs for the depth limit.
        self._recursion_needed = recursion_limit_for(self._state.max_depth)
        self._lock = threading.RLock()
        self._chunks: OrderedDict = OrderedDict()
        #: Lua functions made for Python callables, to hand the callable back.
        self._callables: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._functions_made: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # id -> function
        self._python = PythonObjects(self, attribute_filter, attribute_handlers) if trusted else None
        from .stdlib import open_libs

        open_libs(self._state)
        coroutine = self._state.globals.get("coroutine")
        self._coroutine_create = coroutine.get("create")
        self._coroutine_resume = coroutine.get("resume")
        self._coroutine_status = coroutine.get("status")
        if trusted:
            from .pythonlib import open_python

            python = open_python(self, self._python, register_eval is not False, register_builtins is not False)
            self._state.globals.set("python", python)
            self._state.loaded.set("python", python)

    def __enter__(self) -> "LuaRuntime":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __reduce__(self):
        raise TypeError("a LuaRuntime can't be pickled: its state includes compiled code and "
                        "threads; pickle what to_python() returns instead")

    # -- the lock -------------------------------------------------------------

    def _acquire(self) -> bool:
        """Take the runtime's lock; whether the caller must ``_release`` it.

        The deep-stack thread, which runs on behalf of the call in progress,
        goes on without it: the thread that holds the lock is blocked
        waiting for it.  (Coroutines run on the thread that resumes them.)
        """
        lock = self._lock
        if not lock.acquire(False):
            executor = self._executor
            if executor is not None and threading.current_thread() is executor.thread:
                return False
            lock.acquire()
        return True

    def _release(self) -> None:
        self._lock.release()

    def close(self) -> None:
        """Close every suspended coroutine (their pending ``<close>``
        variables run) and flush the files the runtime opened.  The runtime
        stays usable.  (Dropping a runtime needs no ``close``: coroutines
        hold no thread.)
        """
        held = self._acquire()
        try:
            corolib.shutdown(self._state)
            iolib.flush_open_files(self._state)
        finally:
            if held:
                self._release()

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
        return self._locked(Snapshot, st, (st.globals, st.string_meta, st.loaded))

    def restore(self, snapshot: Snapshot) -> bool:
        """Put back what ``snapshot`` recorded; returns whether anything
        had changed.  Cheap when nothing did: call it after every run to
        give the next one a fresh start."""
        if snapshot.owner is not self._state:
            raise ValueError("the snapshot was taken of another runtime")
        return self._locked(snapshot.restore)

    def _locked(self, function, *args):
        """``function(*args)`` between the calls of other threads: a
        snapshot walks, and a restore rewrites, tables their Lua code uses."""
        held = self._acquire()
        try:
            return function(*args)
        finally:
            if held:
                self._release()

    def _on_executor(self) -> bool:
        return self._executor is not None

    # -- running code -------------------------------------------------------

    def execute(self, source, *args, name: str | None = None):
        """Run a chunk; returns None, its single result, or a tuple."""
        return self._run(self._load(source, name, cache=True), args)

    def eval(self, expression, *args, name: str | None = None):
        """Evaluate one Lua expression (``return <expression>``)."""
        source = self._source_text(expression)
        return self._run(self._load_text("return " + source, self._chunk_name(name, "=(eval)"), cache=True),
                         args)

    def compile(self, source, name: str | None = None, *, from_file: bool = False) -> "LuaFunction":
        """Compile without running; call the result to run it.

        ``from_file=True`` treats ``source`` as a file's contents, as
        ``loadfile`` does: a UTF-8 byte-order mark and a first line
        starting with ``#`` are skipped (line numbers are kept).
        """
        return LuaFunction(self, self._load(source, name, from_file=from_file))

    def require(self, name):
        """``require(name)`` in Lua: the module's value."""
        require = self._state.globals.get("require")
        if require is None:
            raise LuaError("require is not defined", level=0)
        results = self.call_raw(require, [self._to_lua(name)])
        return self._from_lua(results[0]) if results else None

    def _source_text(self, source) -> str:
        if isinstance(source, str):
            return source.encode(self._source_encoding, "surrogateescape").decode("latin-1")
        if not isinstance(source, (bytes, bytearray, memoryview)):
            raise TypeError(f"Lua source must be str or bytes, not {type(source).__name__}")
        return to_lua_source(source)

    def _load(self, source, name, from_file: bool = False, cache: bool = False):
        text = self._source_text(source)
        if from_file:
            text = skip_file_header(text)
        return self._load_text(text, self._chunk_name(name, "=(execute)"), cache)

    def _chunk_name(self, name, default: str) -> str:
        """A chunk name is a Lua string (``debug.getinfo``'s ``source``, the
        ``chunk:`` of messages): encoded as the host's strings are."""
        if not name:
            return default
        return to_lua_source(name) if isinstance(name, (bytes, bytearray)) else self._lua_text(name)

    def _load_text(self, text: str, chunkname: str, cache: bool = False):
        # A chunk is a function of its text: running the same one again is
        # what ``local f = load(s) f() f()`` does.  Only a chunk that names
        # _ENV could change its own upvalue, so only those are not kept.
        key = (text, chunkname)
        if cache:
            chunks = self._chunks
            function = chunks.get(key)
            if function is not None:
                chunks.move_to_end(key)
                return function
        held = self._acquire()
        try:
            if self._on_executor():
                function = self._executor.run(self._load_here, text, chunkname)
            else:
                function = self._load_here(text, chunkname)
        except LuaError as error:
            raise self._for_host(error) from error.__cause__
        finally:
            if held:
                self._release()
        if cache and len(text) <= CHUNK_CACHE_MAX_SOURCE and "_ENV" not in text:
            chunks[key] = function
            if len(chunks) > CHUNK_CACHE_SIZE:
                chunks.popitem(last=False)
        return function

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
        if type(function) is not Function and isinstance(function, LuaObject):
            if function._runtime is not self:
                raise ValueError("the function belongs to another runtime")
            function = function._value
        lock = self._lock
        held = lock.acquire(False) or self._acquire()  # (``_acquire``'s fast path first)
        try:
            if self._executor is not None:
                return self._executor.run(self._call_here, function, lua_args)
            return self._call_here(function, lua_args)
        except LuaError as error:
            raise self._for_host(error) from error.__cause__
        finally:
            if held:
                lock.release()

    def _call_here(self, function, lua_args) -> tuple:
        st = self._state
        outermost = st.enter()
        try:
            if outermost:
                # raise_recursion_limit's own test, inline: a call per pod saved.
                if getrecursionlimit() < self._recursion_needed:
                    raise_recursion_limit(self._recursion_needed)
            elif st.entries > HOST_REENTRY_LIMIT:
                # Each Lua -> Python -> Lua round trip takes C stack that
                # no budget sees: a thread with a small stack would crash.
                raise LuaError("C stack overflow")
            if type(function) is Function:  # ops.call's first case, without its frame
                results = function.call(*lua_args)
            else:
                results = lua_call(st, function, lua_args)
            if st.tripped is not None and outermost:
                # A budget ran out and Lua code made its error another (a
                # __close that raises): the budget is still the host's.
                raise st.tripped
            return results
        except LuaError as error:
            if outermost and st.tripped is not None and not isinstance(error, LuaLimitError):
                raise st.tripped from None   # (likewise, made into another error)
            raise
        except RecursionError:
            raise StackOverflow("stack overflow", level=0) from None
        except MemoryError:
            raise LuaLimitError("memory", "not enough memory") from None
        finally:
            st.leave(outermost)

    def _for_host(self, error: LuaError) -> LuaError:
        """An error leaving Lua for Python, given as the API gives values:
        its message decoded like every string, a table as a ``LuaTable``,
        and a memory budget error as a ``LuaMemoryError``.
        ``_error_into_lua`` turns it back on the way in."""
        if isinstance(error, LuaLimitError):
            error.value, error.where = self._host_text(error.value), self._host_text(error.where)
            if error.limit == "memory" and not isinstance(error, LuaMemoryError):
                return as_memory_error(error)
            return error
        value = error.value
        if type(value) is str:
            error.value = self._host_text(value)
        elif type(value) in _LUA_OBJECTS or isinstance(value, Coroutine):
            error.value = self._lua_object(value)
        return error

    def _error_into_lua(self, error: LuaError) -> None:
        """An error host code raised or let through, going back into Lua
        (``call_host``): ``_for_host`` in reverse.  A value with no Lua
        equivalent becomes a message naming it."""
        if isinstance(error, LuaLimitError):
            error.value, error.where = self._lua_text(error.value), self._lua_text(error.where)
            return
        value = error.value
        if type(value) is str:
            error.value = self._lua_text(value)
        elif type(value) not in _LUA_OBJECTS and not isinstance(value, Coroutine):
            try:
                error.value = self._to_lua(value)
            except (TypeError, ValueError, OverflowError):
                error.value = f"(error object is a Python {type(value).__name__} value)"

    def _host_text(self, text):
        """A Lua string in an error (its message, ``where``) as the host
        reads it.  With ``encoding=None`` messages stay ``str``, one
        character per byte (as lupa's)."""
        if type(text) is not str or self._encoding is None:
            return text
        try:
            data = text.encode("latin-1")
        except UnicodeEncodeError:
            return text  # already the host's text
        return data.decode(self._encoding, "surrogateescape")

    def _lua_text(self, text):
        """Host text for an error message in Lua: ``_host_text`` in reverse."""
        if type(text) is not str:
            return text
        if self._encoding is None:
            try:
                text.encode("latin-1")
                return text  # one character per byte already
            except UnicodeEncodeError:
                pass
        return self._to_lua(text)

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
        return self.table_from(items, fields)

    def table_from(self, *objects, recursive: bool = False) -> "LuaTable":
        """A new table from mappings (keys) and iterables (1..n, after one
        another; ``None`` leaves a hole).  Nested containers are converted
        as arguments are (in the trusted profile: wrapped, unless
        ``recursive=True``)."""
        table = Table()
        n = 0
        deep = recursive or self._python is None
        made: dict = {}  # one conversion: what the arguments share, the table shares

        def convert(value):
            return self._to_lua_deep(value, 0, made) if deep else self._to_lua(value)
        for obj in objects:
            made[id(obj)] = (obj, table)  # an argument inside itself is the table (lupa's)
            if isinstance(obj, Mapping):
                for key, value in obj.items():
                    table.set(convert(key), convert(value))
            else:
                for value in obj:
                    n += 1
                    table.set(n, convert(value))
        return LuaTable(self, table)

    def register_function(self, name: str, func, *, raw: bool = False) -> "LuaFunction":
        """Expose a Python callable to Lua as global ``name``.

        Arguments arrive converted to Python; the return value (a tuple
        means several results, unless ``unpack_returned_tuples=False``) is
        converted back.  With ``raw=True`` the callable receives and returns
        Lua values untouched.  A Python exception it raises is a Lua error
        (``pcall`` catches it); the host finds the exception as the
        ``LuaError``'s ``__cause__``.
        """
        fn = host_function(self, func, name, convert=not raw)
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
        self._write_output = write
        # The State reaches the callback only through a weak reference to
        # this runtime: a suspended coroutine's thread holds the State, and
        # a callback that leads back to the runtime (a bound method of its
        # owner) must not keep the runtime alive from there.
        runtime = weakref.ref(self)

        def write_stdout(text: str) -> None:
            owner = runtime()
            if owner is not None:
                owner._write_output(text.encode("latin-1").decode(encoding, "replace"))

        self._state.write_stdout = write_stdout

    # -- conversion ---------------------------------------------------------

    def _to_lua(self, value):
        t = type(value)
        if value is None or t is bool or t is float:
            return value
        if t is int:
            if MININT <= value <= MAXINT:
                return value
            raise OverflowError(f"int {value} does not fit a Lua integer (64 bits)")
        if t is str:
            encoding = self._encoding or "utf-8"
            return value.encode(encoding, "surrogateescape").decode("latin-1")
        if t is bytes or t is bytearray:
            return bytes(value).decode("latin-1")
        if isinstance(value, LuaObject):
            if value._runtime is not self:
                raise ValueError("cannot mix objects from different Lua runtimes")
            return value._value
        # Subclasses (IntEnum, a str subclass) are their base type's value,
        # as in lupa.  The base type's own slot takes the value: the
        # subclass's ``__int__``/``__str__`` may say anything.
        for base, exact in _SCALAR_BASES:
            if isinstance(value, base):
                return self._to_lua(exact(value))
        python = self._python
        if python is not None:  # the trusted profile: lupa's rules
            if t is ProtocolWrapper:
                return python.wrap(value.obj, value.as_items)
            return python.wrap(value)
        if callable(value) and not isinstance(value, (Mapping, list, tuple)):
            return self._lua_function_for(value)
        if not isinstance(value, (Mapping, list, tuple)):
            raise TypeError(f"cannot pass a {t.__name__} to Lua: in the {self.options.profile} profile only "
                            "data and callables cross; Python objects need profile='trusted'")
        return self._to_lua_deep(value)

    def _to_lua_deep(self, value, _depth: int = 0, _made: dict | None = None):
        """Containers become tables, deeply (holes stay holes).

        As ``copy.deepcopy`` does, each container is converted once:
        ``_made`` maps its id to ``(container, table)``.  A container met
        twice is one table met twice, and one that contains itself is a
        table that contains itself (lupa's answer); converting each
        occurrence again would cost 2**n for ``n`` levels of ``[x, x]``.
        """
        if not isinstance(value, (Mapping, list, tuple)):
            return self._to_lua(value)
        if _made is None:
            _made = {}
        made = _made.get(id(value))
        if made is not None:
            return made[1]
        if _depth > MAX_CONVERT_DEPTH:
            raise ValueError("value nests too deeply to convert to Lua")
        table = Table()
        _made[id(value)] = (value, table)  # the container too: its id stays its own
        if isinstance(value, Mapping):
            for key, item in value.items():
                table.set(self._to_lua_deep(key, _depth + 1, _made), self._to_lua_deep(item, _depth + 1, _made))
            return table
        items = [self._to_lua_deep(item, _depth + 1, _made) for item in value]
        while items and items[-1] is None:
            items.pop()
        table.arr.extend(items)
        return table

    def _lua_function_for(self, func) -> Function:
        """The Lua function for a Python callable: the same one each time
        it crosses, so Lua can compare it and use it as a key."""
        fn = self._functions_made.get(id(func))
        if fn is None:  # (while fn lives, its closure keeps func and so its id)
            fn = host_function(self, func, getattr(func, "__name__", "?"))
            self._callables[fn] = func
            self._functions_made[id(func)] = fn
        return fn

    def _from_lua(self, value):
        t = type(value)
        if t is str:
            if self._encoding is None:
                return value.encode("latin-1")
            return value.encode("latin-1").decode(self._encoding, "surrogateescape")
        if t is Function:
            func = self._callables.get(value)
            return func if func is not None else LuaFunction(self, value)
        if t is Userdata and self._python is not None:
            payload = self._python.unwrap(value)
            if payload is not None:
                return payload[0]
        if t in _LUA_OBJECTS or isinstance(value, Coroutine):
            return self._lua_object(value)
        return value

    def _lua_object(self, value) -> "LuaObject":
        """The API's view of a table, function, coroutine or userdata."""
        t = type(value)
        if t is Table:
            return LuaTable(self, value)
        if t is Function:
            return LuaFunction(self, value)
        if isinstance(value, Coroutine):
            return LuaThread(self, value)
        return LuaObject(self, value)

    def _pack(self, results):
        if not results:
            return None
        if len(results) == 1:
            return self._from_lua(results[0])
        return tuple(self._from_lua(r) for r in results)


_LUA_OBJECTS = (Table, Function, Userdata)
#: Python's scalar types, each with how a subclass's value is taken exactly.
_SCALAR_BASES = ((int, int.__int__), (float, float.__float__), (str, str.__str__),
                 ((bytes, bytearray), bytes))


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

    def __bool__(self) -> bool:
        return True  # every Lua value but nil and false is true

    def __reduce__(self):
        raise TypeError(f"a Lua {lua_type(self)} can't be pickled: it lives in its runtime; "
                        "pickle what to_python() returns instead")


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

    def coroutine(self, *args) -> "LuaThread":
        """A Lua coroutine running this function, as a Python generator:
        iterate it, or ``send`` values in; ``args`` start it."""
        runtime = self._runtime
        (thread,) = runtime.call_raw(runtime._coroutine_create, [self._value])
        return LuaThread(runtime, thread, args)


class LuaTable(LuaObject):
    """A live view of a Lua table as a Python mapping (raw access)."""

    __slots__ = ()

    @property
    def _table(self) -> Table:
        return self._value

    # ``t.name`` is ``t["name"]`` (as in lupa), for names that are not
    # this class's own (``keys``, ``items``...) and not dunders.
    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self[name]

    def __setattr__(self, name, value) -> None:
        if name in LuaObject.__slots__ or (name.startswith("__") and name.endswith("__")):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __delattr__(self, name) -> None:
        if name in LuaObject.__slots__ or (name.startswith("__") and name.endswith("__")):
            object.__delattr__(self, name)
        else:
            del self[name]

    def __getitem__(self, key):
        runtime = self._runtime
        return runtime._from_lua(self._value.get(runtime._to_lua(key)))

    def __setitem__(self, key, value) -> None:
        runtime = self._runtime
        self._store(runtime._to_lua(key), runtime._to_lua(value))

    def __delitem__(self, key) -> None:
        self._store(self._runtime._to_lua(key), None)

    def _store(self, key, value) -> None:
        # A write is several steps (the array part may absorb hash keys):
        # never in the middle of Lua code another thread is running.
        runtime = self._runtime
        held = runtime._acquire()
        try:
            self._value.set(key, value)
        finally:
            if held:
                runtime._release()

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


class LuaThread(LuaObject):
    """A Lua coroutine, as a Python generator (lupa's ``_LuaThread``).

    ``next()`` resumes it (the first time with the arguments it was made
    with) and gives what it yields: one value, or a tuple of several.
    ``send(value)`` resumes it with ``value`` (a tuple is several).  When
    the body returns values they come as a last item; then it stops.
    Calling a thread that has not started makes a new one on its body.
    """

    __slots__ = ("_arguments",)

    def __init__(self, runtime: LuaRuntime, value, arguments: tuple | None = None):
        super().__init__(runtime, value)
        self._arguments = arguments

    def __iter__(self):
        return self

    def __next__(self):
        args, self._arguments = self._arguments, None
        return self._resume(args or ())

    def send(self, value):
        if value is not None:
            if self._arguments is not None:
                raise TypeError("can't send non-None value to a just-started generator")
            args = value if isinstance(value, tuple) else (value,)
        else:
            args, self._arguments = self._arguments or (), None
        return self._resume(args)

    def __call__(self, *args) -> "LuaThread":
        body = getattr(self._value, "body", None)
        if self._status() != "suspended" or body is None:
            raise TypeError("only a coroutine that has not started can be called")
        return LuaFunction(self._runtime, body).coroutine(*args)

    def __bool__(self) -> bool:
        return self._status() != "dead"

    def _status(self) -> str:
        runtime = self._runtime
        return runtime._from_lua(runtime.call_raw(runtime._coroutine_status, [self._value])[0])

    def _resume(self, args: tuple):
        runtime = self._runtime
        if self._status() == "dead":
            raise StopIteration
        ok, *results = runtime.call_raw(runtime._coroutine_resume,
                                        [self._value, *(runtime._to_lua(a) for a in args)])
        if not ok:
            raise runtime._for_host(LuaError(results[0] if results else None, level=0))
        if not results and self._status() == "dead":
            raise StopIteration
        return runtime._pack(results)


def lua_type(value) -> str | None:
    """The Lua type name (``type(v)`` in Lua) of a Lua object the API
    returned (``LuaTable``, ``LuaFunction``...) or a raw Lua value from
    ``call_raw``; ``None`` for a Python object (as lupa's)."""
    if isinstance(value, LuaObject):
        value = value._value
    elif type(value) is bytes:
        return "string"
    elif value is not None and type(value) not in (bool, int, float, str) \
            and type(value) not in _LUA_OBJECTS and not isinstance(value, Coroutine):
        return None
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
    "LuaError", "LuaFunction", "LuaLimitError", "LuaMemoryError", "LuaObject", "LuaRuntime",
    "LuaSyntaxError", "LuaTable", "LuaThread", "Snapshot", "as_attrgetter", "as_itemgetter",
    "lua_type", "to_python", "unpacks_lua_table", "unpacks_lua_table_method",
]
