"""What a Lua program can see of garbage collection: weak tables and ``__gc``.

Lua values are Python objects, so CPython's own collector decides what is
garbage; this module makes its verdicts visible the way Lua's are.

Weak tables.  A table whose metatable has ``__mode`` when ``setmetatable``
is called is *tracked* (``track``).  Its entries stay ordinary strong
entries, so no reader of ``Table`` (generated code reads ``hash`` and
``arr`` directly) changes and ordinary tables pay nothing.  At a collection
the weak parts are let go for real:

* a full cycle (``collectgarbage()``, and the automatic one that
  allocation paces while finalizers exist): every entry with a weak,
  collectable part (a table, function, userdata or thread; strings and
  numbers are values, never collected) is taken out and held by a
  ``weakref`` instead; ``gc.collect()`` runs; the entries whose objects
  survived go back where they were.  Exact, cycles included.
* ``sweep`` (automatic, every ``SWEEP_EVERY`` budget checks, at a point
  where generated code is between operations): an entry whose weak object
  has no reference but the table's own is dropped (a reference count, no
  collection).  Garbage in cycles waits for the next full cycle.

Finalizers.  A table whose metatable has ``__gc`` when it is set gets a
``_Finalizer`` in its ``gc_proxy`` slot: a small object that refers back to
the table, making a cycle only CPython's cyclic collector ends.  When it
does, the proxy's ``__del__`` queues the table (resurrecting it, as Lua
does) and the runtime calls ``__gc`` at its next safe point; an error
there becomes a warning, as in lua5.4.
"""

from __future__ import annotations

import sys
import weakref

from . import helpers
from .clock import charged_collect
from .frames import dead_locals, function_of_frame, is_lua_code, set_frame_local
from .state import CHECK_INTERVAL, State
from .values import Coroutine, Function, Table, Userdata

_CHARGE_CODE = State.charge.__code__
_HELPERS_FILE = helpers.__file__

#: Bytes of allocation (as charged to the memory account) between two
#: automatic cycles while objects with finalizers are alive.
CYCLE_BYTES = 4 * 1024 * 1024
#: ``collect`` runs a full cycle once the heap has grown by this factor
#: since the last one, else a cycle of the young generations.
FULL_CYCLE_GROWTH = 1.25
#: Budget checks between two automatic sweeps of the weak tables.
SWEEP_EVERY = 8
#: References an object in an array slot has during ``sweep`` when the
#: table holds the only one: the slot, ``getrefcount``'s argument and the
#: loop variable.
_ONLY_ARRAY_REFS = 3
#: ...and in a hash entry (the dict, a traversal snapshot may add one,
#: which only makes the sweep keep it): the entry, the items list's tuple,
#: ``getrefcount``'s argument and the loop variable.
_ONLY_HASH_REFS = 4


def heap_kilobytes() -> float:
    """The memory the process holds for objects, in KiB: what
    ``collectgarbage("count")`` says when no memory budget keeps an account.

    CPython's small-object allocator counts its blocks (``getallocatedblocks``,
    counted at ``_SMALL_BLOCK_BYTES`` each), but anything bigger, such as a long string, is
    one block of any size from the C library's ``malloc``.  Where that is
    glibc, ``mallinfo2`` gives the bytes ``malloc`` has handed out and not
    had back, so a 4 MiB string counts 4 MiB, and counts nothing once freed,
    as Lua programs (the official suite's gc.lua) expect.
    """
    blocks = sys.getallocatedblocks() * _SMALL_BLOCK_BYTES
    info = _MALLINFO()
    if info is not None:
        blocks += info.uordblks + info.hblkhd
    return blocks / 1024.0


#: What ``getallocatedblocks`` can't size is counted at this much apiece.
_SMALL_BLOCK_BYTES = 32


def _find_mallinfo():
    """glibc's ``mallinfo2`` as a function of no arguments, or a function
    giving None where there is none (musl, macOS, Windows, WebAssembly)."""
    try:
        import ctypes

        class MallInfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                "uordblks", "fordblks", "keepcost")]
        mallinfo2 = ctypes.CDLL(None).mallinfo2
        mallinfo2.restype = MallInfo2
        mallinfo2.argtypes = ()
        mallinfo2()
        return mallinfo2
    except (ImportError, OSError, AttributeError, TypeError):
        return lambda: None


_MALLINFO = _find_mallinfo()


def _long_string_or_collectable(value) -> bool:
    """A key a traversal's snapshot must not keep alive through a full
    cycle: long strings too, which lua5.4 collects when only a dead key
    refers to them (the official suite's gc.lua measures it).  A dead key
    is found again by identity; short strings are interned in lua5.4, so
    an equal one is the same string: those stay, found by equality."""
    return (type(value) is str and len(value) > LUAI_MAXSHORTLEN) or _collectable(value)


#: lua5.4's longest interned ("short") string.
LUAI_MAXSHORTLEN = 40


def _collectable(value) -> bool:
    t = type(value)
    return t is Table or t is Function or t is Userdata or isinstance(value, Coroutine)


def weak_mode(table: Table):
    """``(weak keys, weak values)`` of a tracked table, or None."""
    meta = table.meta
    if meta is None:
        return None
    mode = meta.hash.get("__mode")
    if type(mode) is not str:
        return None
    keys, values = "k" in mode, "v" in mode
    return (keys, values) if keys or values else None


class Collector:
    """One runtime's view of collection: its weak tables, pending
    finalizers, and the ``collectgarbage`` settings it reports."""

    def __init__(self, st):
        self.st = st
        self.weak_tables: weakref.WeakSet = weakref.WeakSet()
        self.pending: list = []
        #: Finalizer proxies not yet collected.
        self.finalizers = 0
        self.running = True
        #: ``sys.getallocatedblocks()`` after the last full cycle that
        #: ``collect`` ran without weak tables or finalizers (0: none yet).
        self.blocks_after_full_cycle = 0
        #: A finalizer is running: ``collectgarbage`` fails, as lua_gc does.
        self.finalizing = False
        #: While stopped: ``(KiB in use, st.memory_left)`` when it stopped.
        self.stopped_at: tuple | None = None
        self.mode = "incremental"
        self.checks = 0
        #: ``st.memory_left`` below which the next automatic cycle runs.
        self.next_cycle = 0
        #: Budget checks to wait before the next sweep: a sweep walks every
        #: entry of every weak table, uncharged, so the wait grows with what
        #: the last one walked (``sweep``), keeping sweeps a fraction of the
        #: program's own work.
        self.sweep_every = SWEEP_EVERY
        #: Warnings are off until ``warn("@on")``, as in lua5.4.
        self.warnings_on = False
        self.warning_parts: list[str] = []
        #: Where a warning goes (lua5.4: stderr); the sandbox sends it to
        #: the runtime's output instead (``luapy.stdlib.base``).
        self.write_warning = _write_stderr

    # -- tracking ------------------------------------------------------------

    def track(self, table: Table, meta) -> None:
        """``setmetatable(table, meta)`` just happened."""
        if meta is None:
            return
        fields = meta.hash
        if "__mode" in fields:
            self.weak_tables.add(table)
        if "__gc" in fields and getattr(table, "gc_proxy", None) is None:
            table.gc_proxy = _Finalizer(self, table)
            self.finalizers += 1

    def set_running(self, running: bool) -> None:
        """``collectgarbage("stop")`` / ``("restart")``."""
        if not running and self.stopped_at is None:
            self._count_from_now()
        elif running:
            self.stopped_at = None
        self.running = running

    def _count_from_now(self) -> None:
        """A stopped collector's count starts again from what is in use."""
        self.stopped_at = (heap_kilobytes(), self.st.memory_left)

    def kilobytes_in_use(self) -> float:
        """``collectgarbage("count")`` without a memory budget.

        Reference counting frees most garbage at once, where lua5.4 keeps
        it until a cycle; a stopped collector frees nothing there, so until
        the restart (or the next explicit cycle) every allocation charged
        since the stop counts, freed or not: gc.lua waits for a loop of
        garbage to double the count."""
        if self.stopped_at is None:
            return heap_kilobytes()
        heap, left = self.stopped_at
        return heap + (left - self.st.memory_left) / 1024.0

    # -- collecting ------------------------------------------------------------

    def collect(self) -> None:
        """A full cycle: weak entries of dead objects go, finalizers run.

        Without weak tables or finalizers only ``count`` can tell what was
        freed, and reference counting has already freed all but cycles."""
        if not self.weak_tables and not self.finalizers:
            # Only what is freed can be seen, in ``count`` and in a dropped
            # file's data reaching its file: let go of what Lua no longer
            # holds but the Python frames still do, and collect the cycles.
            # The young ones, that is, unless the heap has grown since the
            # last full cycle: a full one walks the host's heap too, which
            # a program collecting in a loop would pay for each time.
            released = _release_temporaries(sys._getframe(1), operands=False)
            blocks = sys.getallocatedblocks()
            full = blocks > self.blocks_after_full_cycle * FULL_CYCLE_GROWTH
            charged_collect(2 if full else 1)
            if full:
                self.blocks_after_full_cycle = sys.getallocatedblocks()
            _restore_temporaries(released)
        else:
            self._full_cycle(sys._getframe(1), operands=True)
            self.run_finalizers()
        if self.stopped_at is not None:  # what is in use is known again
            self._count_from_now()

    def _full_cycle(self, frame, operands: bool) -> None:
        """``gc.collect()`` with the weak parts of the weak tables let go of
        for it, and what survived put back where it was.

        The entries are taken out of the tables' own list and dict and put
        back in the same order, with no ``Table.set``: no key moves, so a
        traversal under way (``next`` and its snapshot) goes on as if the
        collector had only cleared the entries that died, which is all
        lua5.4's does.  No Lua code runs in between.
        """
        held = []
        walks = []
        for table in list(self.weak_tables):
            mode = weak_mode(table)
            if mode is not None:
                if table.walk is not None:
                    walks.append((table, table.walk, table.walk.let_go(_long_string_or_collectable)))
                held.append(_take_weak_entries(table, *mode))
        # A running function is alive, as its CallInfo keeps it in lua5.4,
        # even when a weak table is all that holds it otherwise: ``w[1]()``
        # leaves it in a scratch variable the release clears.
        running = _running_functions(frame)
        released = _release_temporaries(frame, operands)
        charged_collect()  # on Lua's behalf: its time is the call's
        _restore_temporaries(released)
        for table, array_refs, items in held:
            _put_back_survivors(table, array_refs, items)
        del running  # (only now: the put-back looks at what is alive)
        for table, walk, slots in walks:
            walk.take_back(table.hash, slots)

    def sweep(self) -> None:
        """Drop entries whose weak object only the table itself holds.

        Generated code keeps intermediate values in temporaries (``_t1``,
        ``_v``...) that outlive their use, where lua5.4 reuses the register;
        references from the temporaries of the running Lua frames don't
        count as holding an object.
        """
        temporaries = _temporary_references(sys._getframe(1))
        refs = sys.getrefcount

        def getrefcount(obj):
            return refs(obj) - temporaries.get(id(obj), 0) - 1
        walked = 0
        for table in list(self.weak_tables):
            mode = weak_mode(table)
            if mode is None:
                continue
            weak_keys, weak_values = mode
            walked += len(table.arr) + len(table.hash)
            if weak_values:
                arr = table.arr
                for index in range(len(arr) - 1, -1, -1):
                    value = arr[index]
                    if _collectable(value) and getrefcount(value) <= _ONLY_ARRAY_REFS:
                        table.set(index + 1, None)
                value = None
            dead = []
            for key, value in list(table.hash.items()):
                if ((weak_keys and _collectable(key) and getrefcount(key) <= _ONLY_HASH_REFS)
                        or (weak_values and _collectable(value) and getrefcount(value) <= _ONLY_HASH_REFS)):
                    dead.append(key)
            key = value = None
            for key in dead:
                table.hash.pop(key, None)
        # An entry costs about what a step does; a check comes every
        # ``CHECK_INTERVAL`` steps.
        self.sweep_every = max(SWEEP_EVERY, walked // CHECK_INTERVAL)

    def at_safe_point(self) -> None:
        """Called at every budget check (often, in deep recursion: so the
        common case is a few tests).  When generated code made it (not a
        library function charging its work halfway through), run a cycle
        when allocation has paced one, sweep now and then, and run the
        finalizers the collector queued."""
        cycle = self.finalizers and self.running and self._cycle_due()
        if not self.pending and not cycle:
            if not self.running or not self.weak_tables:
                return
            self.checks += 1
            if self.checks < self.sweep_every:
                return
            self.checks = 0
        caller = sys._getframe(2)
        # Loops charge their batches through ``State.charge`` and the loop
        # drivers of ``helpers``, which hold no table mid-change.
        while caller is not None and (caller.f_code is _CHARGE_CODE
                                      or caller.f_code.co_filename == _HELPERS_FILE):
            caller = caller.f_back
        if caller is None or not is_lua_code(caller.f_code):
            return
        if cycle:
            # A full cycle, weak tables included (gc.lua:337); the
            # operands of an expression under way stay held.
            self._full_cycle(caller, operands=False)
            self.next_cycle = self.st.memory_left - CYCLE_BYTES
        if self.pending:
            self.run_finalizers()
        if self.running and self.weak_tables:
            self.sweep()

    def _cycle_due(self) -> bool:
        """Whether ``CYCLE_BYTES`` were allocated since the last automatic
        cycle.  Lua's collector is paced by allocation; CPython's automatic
        collection counts allocations *minus* frees, so a loop that makes
        and drops objects (``repeat u = {} until finish``) never triggers
        it, and garbage with a finalizer, always a cycle here, would wait
        forever."""
        left = self.st.memory_left
        if left < self.next_cycle:
            return True
        if left > self.next_cycle + CYCLE_BYTES:  # the account was reset
            self.next_cycle = left - CYCLE_BYTES
        return False

    # -- finalizers --------------------------------------------------------------

    def run_finalizers(self) -> None:
        # Finalizers run plainly wherever the check came: an operator that
        # was about to hand its metamethod back (``ops.defer``) gets it back.
        deferring, self.st.defer_calls = self.st.defer_calls, False
        finalizing, self.finalizing = self.finalizing, True
        try:
            self._run_pending()
        finally:
            self.st.defer_calls = deferring
            self.finalizing = finalizing

    def _run_pending(self) -> None:
        from ..errors import LuaError, LuaLimitError
        from . import ops

        while self.pending:
            table = self.pending.pop(0)
            handler = table.meta.hash.get("__gc") if table.meta is not None else None
            if handler is None:
                continue
            try:
                ops.call(self.st, handler, (table,))
            except LuaLimitError:
                raise  # a budget is the host's: no finalizer turns it into a warning
            except LuaError as error:
                message = error.value if type(error.value) is str else "error object is not a string"
                self.warn(f"error in __gc ({message})")

    # -- warnings ----------------------------------------------------------------

    def warn(self, message: str, to_be_continued: bool = False) -> None:
        """lua5.4's warning function: ``Lua warning: `` then the message."""
        if not to_be_continued and not self.warning_parts and message.startswith("@"):
            if message == "@on":
                self.warnings_on = True
            elif message == "@off":
                self.warnings_on = False
            return
        self.warning_parts.append(message)
        if to_be_continued:
            return
        text, self.warning_parts = "".join(self.warning_parts), []
        if self.warnings_on:
            self.write_warning(f"Lua warning: {text}\n")


def _write_stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


_TEMPORARY_MARKS = ("t", "v", "f", "m", "r")


def _is_temporary(name: str) -> bool:
    return name[0] == "_" and name[1:2] in _TEMPORARY_MARKS


def _release_temporaries(frame, operands: bool = True) -> list:
    """Let go of what the temporaries of the running Lua frames hold, for
    one collection (see ``sweep``): a materialized operand (``_t<n>``) or a
    callee (``_f``, maybe running) may still be needed, so (with
    ``operands``) it becomes a weak reference, put back if its object
    survives; the other walrus scratch variables (``_v``...) and call
    results (``_r<n>``) are only read right after they are set, never
    across a call, so they are cleared (they often hold a stale results
    tuple), and so are locals out of scope (``frames.dead_locals``)."""
    released = []
    while frame is not None:
        if is_lua_code(frame.f_code):
            names = [name for name, value in frame.f_locals.items()
                     if _is_temporary(name) and value is not None]
            for name in names:
                value = frame.f_locals[name]
                if name[1] in "tf":
                    # (A callee in ``_f`` may be running: put back too.)
                    if not operands or not _collectable(value):
                        continue
                    released.append((frame, name, weakref.ref(value)))
                set_frame_local(frame, name, None)
            for name in dead_locals(frame):
                set_frame_local(frame, name, None)
            value = None
        frame = frame.f_back
    return released


def _running_functions(frame) -> list:
    """The functions the Lua frames from ``frame`` outwards run (those
    that can be found)."""
    running = []
    while frame is not None:
        if is_lua_code(frame.f_code):
            running.append(function_of_frame(frame))
        frame = frame.f_back
    return running


def _restore_temporaries(released: list) -> None:
    for frame, name, ref in released:
        set_frame_local(frame, name, ref())


def _temporary_references(frame) -> dict:
    """``id(object) -> count`` of the references the temporaries of Lua
    frames from ``frame`` outwards hold to it.

    Each is counted twice: reading ``f_locals`` (CPython < 3.13) leaves
    the frame a dict that mirrors its locals, the temporaries included.
    """
    counts: dict = {}
    per_temporary = 2 if sys.version_info < (3, 13) else 1
    while frame is not None:
        if is_lua_code(frame.f_code):
            for name, value in frame.f_locals.items():
                if _is_temporary(name) and _collectable(value):
                    counts[id(value)] = counts.get(id(value), 0) + per_temporary
        frame = frame.f_back
    return counts


def _take_weak_entries(table: Table, weak_keys: bool, weak_values: bool):
    """Take the entries of ``table`` with a weak, collectable part out for
    a collection: ``(table, {array index: weak reference}, hash items)``,
    the items None when none is weak.  The array keeps its length (a hole
    where a value was taken); the dict is emptied, its items kept in order,
    each weak part as a weak reference."""
    arr = table.arr
    array_refs = {}
    if weak_values:
        for index, value in enumerate(arr):
            if _collectable(value):
                array_refs[index] = weakref.ref(value)
                arr[index] = None
    items = []
    any_weak = False
    for key, value in table.hash.items():
        key_weak = weak_keys and _collectable(key)
        value_weak = weak_values and _collectable(value)
        if key_weak and not value_weak and type(key) is Table and \
                getattr(key, "gc_proxy", None) is None:
            # An ephemeron: the value is held by its key alone, so
            # a key reachable only through values dies with them.
            key.gc_proxy = _Ephemeron(value)
            value, value_weak = _EPHEMERON, False
        any_weak = any_weak or key_weak or value_weak
        items.append((weakref.ref(key) if key_weak else key, key_weak,
                      weakref.ref(value) if value_weak else value, value_weak))
    if any_weak:
        table.hash.clear()
    else:
        items = None
    return table, array_refs, items


def _put_back_survivors(table: Table, array_refs: dict, items) -> None:
    arr = table.arr
    for index, ref in array_refs.items():
        arr[index] = ref()
    if arr and arr[-1] is None:
        table.set(len(arr), None)  # trailing holes go, as the invariant wants
    if items is None:
        return
    hash = table.hash
    for key, key_weak, value, value_weak in items:
        if key_weak:
            key = key()
        if value_weak:
            value = value()
        if value is _EPHEMERON and key is not None:
            value = key.gc_proxy.value
            key.gc_proxy = None
        if key is not None and value is not None:
            hash[key] = value


#: Where an ephemeron's value is, during a collection: in its key.
_EPHEMERON = object()


class _Ephemeron:
    """A weak-keyed entry's value, kept by its key during a collection (in
    the key's ``gc_proxy`` slot, which a table without ``__gc`` leaves
    unused)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class _Finalizer:
    """The ``__gc`` hook of one table (see the module's docstring)."""

    __slots__ = ("collector", "table")

    def __init__(self, collector: Collector, table: Table):
        # Strong: CPython clears the weak references that are garbage
        # themselves before it calls ``__del__``.
        self.collector = collector
        self.table = table

    def __del__(self):
        collector = self.collector
        table = self.table
        table.gc_proxy = None  # a finalizer runs once, as in Lua
        collector.finalizers -= 1
        collector.pending.append(table)
