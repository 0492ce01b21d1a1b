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
changes with C-level comparisons over the recorded state (list and dict
equality, then an identity pass over the numbers and booleans, which ``==``
cannot tell apart), and puts back only what changed.  A run that changed
nothing costs a few microseconds for the standard library's tables, plus
some 50 to 100 ns per entry of the tables a program adds (0.9 ms for
20,000 numbers): the check is linear in the size of the recorded state.
"""

from __future__ import annotations

from operator import attrgetter, is_, itemgetter

from .runtime.values import Function, Table, Userdata

_SCALARS = (bool, int, float)
_meta_of = attrgetter("meta")
_cell_value = itemgetter(0)


class Snapshot:
    """The recorded state of one runtime; restore it with ``LuaRuntime.restore``.

    Holds the recorded tables and cells, so it keeps them alive: drop the
    snapshot (or the runtime) to let them go.
    """

    __slots__ = ("owner", "tables", "_hash_parts", "_array_parts", "_hashes", "_arrays", "_metas",
                 "_scalars", "_cells", "_cell_values")

    def __init__(self, owner, roots):
        #: The ``State`` this snapshot was taken of.
        self.owner = owner
        tables, cells = _reachable(roots)
        self.tables = tables
        # The live dicts and lists (a table keeps its own for life), and copies.
        self._hash_parts = [t.hash for t in tables]
        self._array_parts = [t.arr for t in tables]
        self._hashes = [dict(h) for h in self._hash_parts]
        self._arrays = [list(a) for a in self._array_parts]
        self._metas = list(map(_meta_of, tables))
        # ``==`` has True == 1 == 1.0 and 0.0 == -0.0; Lua has not.  So the
        # numbers and booleans of each table are also compared by identity,
        # fetched all at once by an itemgetter: (table, getter, part, values).
        self._scalars = []
        for table in tables:
            for part, entries in ((table.hash, table.hash.items()), (table.arr, enumerate(table.arr))):
                keys = [key for key, value in entries if type(value) in _SCALARS]
                if keys:
                    getter = itemgetter(*keys, keys[0])  # always a tuple, even for one key
                    self._scalars.append((table, getter, part, getter(part)))
        self._cells = cells
        self._cell_values = list(map(_cell_value, cells))

    def changed(self) -> bool:
        """Whether anything recorded differs from the snapshot."""
        if (self._hash_parts != self._hashes or self._array_parts != self._arrays
                or list(map(_meta_of, self.tables)) != self._metas):
            return True
        # The same keys, so every getter finds its keys.
        for _, getter, part, values in self._scalars:
            if not all(map(is_, getter(part), values)):
                return True
        return not all(map(is_, map(_cell_value, self._cells), self._cell_values))

    def restore(self) -> bool:
        """Put back every recorded table and cell that changed; returns
        whether anything had."""
        if not self.changed():
            return False
        changed = {id(table) for table, getter, part, values in self._scalars
                   if not _same(getter, part, values)}
        for table, hash_, arr, meta in zip(self.tables, self._hashes, self._arrays, self._metas):
            if id(table) in changed or table.hash != hash_ or table.arr != arr or table.meta is not meta:
                table.hash.clear()
                table.hash.update(hash_)
                table.arr[:] = arr
                table.meta = meta
                # What ``next`` remembers belongs to the old contents.
                table.forget_traversals()
        for cell, value in zip(self._cells, self._cell_values):
            cell[0] = value
        return True


def _same(getter, part, values) -> bool:
    """Whether ``part`` holds exactly ``values`` where the getter looks."""
    try:
        return all(map(is_, getter(part), values))
    except (KeyError, IndexError):
        return False


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
