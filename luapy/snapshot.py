"""Snapshots of a runtime's Lua-visible state (``LuaRuntime.snapshot``).

A host that runs untrusted code over and over, like the resolver calling one
plugin per pod, wants every run to start from the same state, as if the
runtime had just been set up, without paying for a new runtime each time.
``LuaRuntime.snapshot()`` records that state once; ``restore`` puts it back
after each run.

What is recorded.  Everything Lua code can reach and change from the roots:
the globals table, the string metatable and ``package.loaded``.  The walk
follows table keys, values and metatables, userdata metatables, and the
upvalue cells of Lua functions (so a ``local cache = {}`` that the entry
point closes over is restored like a global).  For each table it keeps a
copy of the array part, the hash part and the metatable; for each cell, its
value.

What restoring does.  Every recorded table whose contents or metatable
differ gets them back, and every cell its value.  Whatever a run created is
then unreachable from the roots and left to the garbage collector.  So a
run can add, remove or replace globals, library functions, metatables, the
entries of ``package.loaded`` or a module's tables, and the next run sees
none of it.

Not recorded (documented limits of "exactly as it was"):

* the inside of a coroutine: a suspended coroutine kept in the state stays
  where the last run left it (its stack is a thread's, not data);
* hidden state of library functions, such as ``math.random``'s generator;
* the host's side: registered Python functions, output, open files.

Cost.  The walk runs once, in ``snapshot``.  ``restore`` first checks for
changes with a few C-level comparisons over the recorded state (list and
dict equality, then an identity pass for the values ``==`` cannot tell
apart), so a run that changed nothing costs a fraction of a microsecond per
recorded table.  The check is linear in the size of the recorded state: a
plugin that keeps a million-entry table pays for comparing it on each call.
"""

from __future__ import annotations

import operator
from operator import attrgetter

from .runtime.values import Function, Table, Userdata

_SCALARS = (bool, int, float)
_meta_of = attrgetter("meta")


class Snapshot:
    """The recorded state of one runtime; restore it with ``LuaRuntime.restore``.

    Holds the recorded tables and cells, so it keeps them alive: drop the
    snapshot (or the runtime) to let them go.
    """

    __slots__ = ("owner", "tables", "_hashes", "_arrays", "_live_hashes", "_live_arrays",
                 "_metas", "_slots", "_slot_keys", "_slot_values")

    def __init__(self, owner, roots):
        #: The ``State`` this snapshot was taken of.
        self.owner = owner
        tables, cells = _reachable(roots)
        self.tables = tables
        self._live_hashes = [t.hash for t in tables]
        self._live_arrays = [t.arr for t in tables]
        self._hashes = [dict(h) for h in self._live_hashes]
        self._arrays = [list(a) for a in self._live_arrays]
        self._metas = list(map(_meta_of, tables))
        # Values that ``==`` can't check: numbers and booleans (Python has
        # True == 1 == 1.0 and 0.0 == -0.0; Lua does not), and every cell
        # (its one-element list holds any value).  Checked by identity as
        # (container, key, value) triples.
        slots, keys, values = [], [], []
        for table in tables:
            for key, value in table.hash.items():
                if type(value) in _SCALARS:
                    slots.append(table.hash), keys.append(key), values.append(value)
            for index, value in enumerate(table.arr):
                if type(value) in _SCALARS:
                    slots.append(table.arr), keys.append(index), values.append(value)
        for cell in cells:
            slots.append(cell), keys.append(0), values.append(cell[0])
        self._slots, self._slot_keys, self._slot_values = slots, keys, values

    def changed(self) -> bool:
        """Whether anything recorded differs from the snapshot."""
        return (self._live_hashes != self._hashes
                or self._live_arrays != self._arrays
                or list(map(_meta_of, self.tables)) != self._metas
                or not all(map(operator.is_, map(operator.getitem, self._slots, self._slot_keys),
                               self._slot_values)))

    def restore(self) -> bool:
        """Put back every recorded table and cell that changed; returns
        whether anything had."""
        if not self.changed():
            return False
        for table, hash_, arr, meta in zip(self.tables, self._hashes, self._arrays, self._metas):
            if table.hash != hash_ or table.arr != arr or table.meta is not meta:
                table.hash.clear()
                table.hash.update(hash_)
                table.arr[:] = arr
                table.meta = meta
                # A traversal cached by ``next`` belongs to the old contents.
                table._iter_keys = table._iter_pos = None
        for slot, key, value in zip(self._slots, self._slot_keys, self._slot_values):
            if slot[key] is not value:
                slot[key] = value
        return True


def _reachable(roots) -> tuple[list[Table], list[list]]:
    """Every table and upvalue cell reachable from ``roots``, each once."""
    tables: list[Table] = []
    cells: list[list] = []
    seen: set[int] = set()
    pending = list(roots)
    while pending:
        value = pending.pop()
        kind = type(value)
        if kind is Table:
            if id(value) in seen:
                continue
            seen.add(id(value))
            tables.append(value)
            pending.extend(value.hash.keys())
            pending.extend(value.hash.values())
            pending.extend(value.arr)
            if value.meta is not None:
                pending.append(value.meta)
        elif kind is Function:
            if value.upvals and id(value) not in seen:
                seen.add(id(value))
                for cell in value.upvals:
                    if id(cell) not in seen:
                        seen.add(id(cell))
                        cells.append(cell)
                        pending.append(cell[0])
        elif kind is Userdata and value.meta is not None:
            pending.append(value.meta)
    return tables, cells
