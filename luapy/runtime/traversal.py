"""What ``next`` remembers about a table so that a call costs amortised O(1).

``next(t, k)`` must find the first live entry after ``k``.  Two things can
lie in between and make a naive walk cost O(n) per call, so that a loop of
``next`` calls is quadratic (``while true do next(t) end`` over a table
whose first million slots were cleared):

* holes of the array part (``t[i] = nil`` leaves ``None`` in place);
* cleared keys in the snapshot of the hash part that a traversal walks.

Each walk over such a stretch is recorded, so the next walk jumps it:

* ``ArrayGaps`` holds runs of the array part known to be all nil.  Every
  store that can fill a hole keeps it true: ``Table.set`` and the runtime's
  ``SETINDEX`` split the run they fill, and inline stores of generated code
  hand a store to ``SETINDEX`` while the table has gaps.  Operations that
  shift the array (``table.insert``/``remove``) or replace it drop them.
* ``HashWalk`` is the snapshot of the hash keys, in dict order, with skip
  pointers over stretches of cleared keys.  A cleared key never becomes
  live again in place: a key inserted anew is appended to the snapshot
  (its old slot becomes ``DEAD``), which also keeps the snapshot valid for
  the next traversal.  When the snapshot has grown to twice the live keys
  it is dropped and rebuilt on demand, which is what a rehash does in
  lua5.4 (and, as there, a traversal that had inserted keys may then meet
  "invalid key to 'next'").
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import compress, repeat
from operator import is_not

#: Runs shorter than this are not worth remembering.
MIN_GAP = 32

#: Memory a traversal's snapshot of the hash keys takes per key (a list
#: slot, and a skip now and then)...
SNAPSHOT_BYTES_PER_KEY = 16
#: ...and its map from key to slot, once built (a dict entry).
POSITION_BYTES_PER_KEY = 100

#: Marks the old slot of a key that was cleared and later inserted again.
DEAD = object()

#: A walk over cleared keys leaves a skip at every slot it passes that is a
#: multiple of this (and where it started): at most one skip per this many
#: slots of the snapshot.
SKIP_MARK = 64


class ArrayGaps:
    """Disjoint runs ``[start, end)`` of array indices (0-based) known nil."""

    __slots__ = ("starts", "ends")

    def __init__(self):
        self.starts: list[int] = []  # sorted
        self.ends: dict[int, int] = {}

    def covering(self, index: int):
        """The run ``(start, end)`` that contains ``index``, or ``None``."""
        starts = self.starts
        i = bisect_right(starts, index) - 1
        if i >= 0:
            start = starts[i]
            end = self.ends[start]
            if index < end:
                return start, end
        return None

    def next_start(self, index: int, limit: int) -> int:
        """The start of the first run after ``index``, or ``limit``."""
        starts = self.starts
        i = bisect_right(starts, index)
        return min(starts[i], limit) if i < len(starts) else limit

    def add(self, start: int, end: int) -> None:
        """Record ``[start, end)``, absorbing the runs it contains."""
        starts, ends = self.starts, self.ends
        i, j = bisect_left(starts, start), bisect_left(starts, end)
        for absorbed in starts[i:j]:
            del ends[absorbed]
        starts[i:j] = [start]
        ends[start] = end

    def fill(self, index: int) -> None:
        """``index`` is about to hold a value: split the run around it."""
        run = self.covering(index)
        if run is None:
            return
        start, end = run
        starts, ends = self.starts, self.ends
        i = bisect_left(starts, start)
        del starts[i]
        del ends[start]
        pieces = [(s, e) for s, e in ((start, index), (index + 1, end)) if e - s >= MIN_GAP]
        starts[i:i] = [s for s, _ in pieces]
        for s, e in pieces:
            ends[s] = e

    def truncate(self, length: int) -> None:
        """The array part shrank to ``length``: runs past it are gone.

        The last slot of the array is never nil, so no run straddles it.
        """
        starts = self.starts
        i = bisect_left(starts, length)
        for start in starts[i:]:
            del self.ends[start]
        del starts[i:]


def first_value_after_holes(arr: list, index: int, gaps: ArrayGaps | None):
    """Scan from ``index`` (a hole) to the first non-nil slot of ``arr``.

    Returns ``(found, run_start, scanned)``: the slot found (``len(arr)``
    when none), where the run of nils ending there starts (earlier than
    ``index`` when a recorded run covered it), and how many slots were
    looked at one by one (recorded runs are jumped).
    """
    n = len(arr)
    run_start = pos = index
    scanned = 0
    while pos < n and arr[pos] is None:
        run = gaps.covering(pos) if gaps is not None else None
        if run is not None:
            run_start = min(run_start, run[0])
            pos = run[1]
            continue
        limit = gaps.next_start(pos, n) if gaps is not None else n
        # C-level iterators: about 30 ns a slot.
        found = next(compress(range(pos, limit), map(is_not, map(arr.__getitem__, range(pos, limit)),
                                                     repeat(None))), limit)
        scanned += found - pos
        pos = found
    return pos, run_start, scanned


class HashWalk:
    """A snapshot of a table's hash keys for ``next``, with skip pointers."""

    __slots__ = ("keys", "positions", "skips", "dead")

    def __init__(self, hash: dict):
        self.keys: list = list(hash)
        self.positions: dict | None = None  # key -> slot, built when first needed
        self.skips: dict[int, int] = {}     # slot -> the slot to look at next
        #: ``id`` -> slot of the keys a collection let go of (``let_go``).
        self.dead: dict[int, int] | None = None

    def position_of(self, key):
        """The slot of ``key`` in the snapshot, or ``None``."""
        positions = self.positions
        if positions is None:
            positions = self.positions = {k: i for i, k in enumerate(self.keys)}
        found = positions.get(key)
        if found is None and self.dead is not None:
            found = self.dead.get(id(key))
        return found

    def let_go(self, is_collectable) -> dict:
        """Before a full collection: stop holding the snapshot's collectable
        keys, which would otherwise keep alive what the program cleared and
        what a weak table lets die.  Returns what ``take_back`` needs."""
        keys = self.keys
        slots = {}
        for slot, key in enumerate(keys):
            if key is not DEAD and is_collectable(key):
                slots[id(key)] = slot
                keys[slot] = DEAD
        self.positions = None
        return slots

    def take_back(self, hash: dict, slots: dict) -> None:
        """After the collection: the keys still in ``hash`` go back to their
        slots.  The others are dead keys, as lua5.4's collector makes them:
        gone, yet ``next`` still finds a dead key by identity, so a traversal
        that cleared a key can go on from it."""
        keys = self.keys
        for key in hash:
            slot = slots.pop(id(key), None)
            if slot is not None:
                keys[slot] = key
        if slots:
            if self.dead is None:
                self.dead = slots
            else:
                self.dead.update(slots)

    def inserted(self, key, live: int) -> bool:
        """``key`` was inserted into the hash; whether the snapshot is still
        worth keeping (``live`` is the number of keys in the hash)."""
        keys = self.keys
        if len(keys) >= 2 * live + 16:
            return False
        old = self.position_of(key)
        if old is not None:
            keys[old] = DEAD
        self.positions[key] = len(keys)
        keys.append(key)
        return True

    def first_live(self, hash: dict, start: int):
        """From slot ``start``: ``(slot, key, value)`` of the first live
        entry (``slot == len(keys)`` and ``key`` ``None`` at the end), and
        how many slots were looked at one by one."""
        keys, skips = self.keys, self.skips
        n = len(keys)
        pos = start
        scanned = 0
        # Slots of the run at multiples of ``SKIP_MARK`` also get a skip, so
        # that a walk starting inside a run already walked (``next`` from
        # each of its cleared keys in turn) meets one within ``SKIP_MARK``
        # slots: otherwise each of those calls walks the rest of the run.
        marks = []
        while pos < n:
            jump = skips.get(pos)
            if jump is not None and jump > pos:
                pos = jump
                continue
            key = keys[pos]
            if key is not DEAD:
                value = hash.get(key)
                if value is not None:
                    break
            if not pos % SKIP_MARK:
                marks.append(pos)
            pos += 1
            scanned += 1
        else:
            key = value = None
        if pos - start > 1:
            skips[start] = pos
        for mark in marks:
            skips[mark] = pos
        return pos, key, value, scanned
