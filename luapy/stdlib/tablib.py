"""The ``table`` library (Lua 5.4 manual §6.6), ported from ``ltablib.c``.

Every element access goes through ``lua_geti``/``lua_seti`` semantics, so
``__index``/``__newindex``/``__len`` are honoured exactly as lua5.4 does; a
plain table (no metatable) takes a fast path straight into ``Table``
storage.  ``sort`` is a faithful port of the reference quicksort, so the
order produced for any comparator -- consistent or not -- and the
"invalid order function for sorting" error match lua5.4.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..errors import LuaError
from ..runtime import ops
from ..runtime.args import (
    arg_error, check_int, opt_int, opt_str, register, type_error,
)
from ..runtime.values import MAXINT, Function, Table, Userdata, number_to_str, type_name

if TYPE_CHECKING:
    from ..runtime.state import State

_MASK64 = 0xFFFFFFFFFFFFFFFF
#: ``INT_MAX`` in ltablib.c: the largest array ``sort`` accepts.
_INT_MAX = 0x7FFFFFFF
#: How many values ``unpack`` may return: lua5.4 fails when they would not
#: fit its 1,000,000-slot stack (999,990 measured at top level).
MAX_UNPACK = 999_990
#: Bytes charged per value ``unpack`` returns (one slot of a tuple).
_RESULT_COST = 16
#: Bytes charged per piece ``concat`` holds until the join: its list slot,
#: or the string a number is converted to.
_PIECE_COST = 56
#: Partitions smaller than this always use the middle element as pivot.
_RANLIMIT = 100

# Capabilities a non-table must offer (through its metatable) to be used.
_TAB_R, _TAB_W, _TAB_L = 1, 2, 4


class TableLibrary:
    """The ``table`` functions of one runtime (``register`` stores the bound
    methods), and the ``lua_geti``/``lua_seti``/``luaL_len`` helpers they share."""

    __slots__ = ("st",)

    def __init__(self, st: State):
        self.st = st

    def geti(self, t, i):
        """``lua_geti``: ``t[i]`` with ``__index``."""
        st = self.st
        if type(t) is Table and t.meta is None:
            return t.get(i)
        return ops.index(st, t, i)

    def seti(self, t, i, value):
        """``lua_seti``: ``t[i] = value`` with ``__newindex``, charging new slots."""
        st = self.st
        if type(t) is Table and t.meta is None:
            ops.rawset(st, t, i, value)
        else:
            ops.setindex(st, t, i, value)

    def checktab(self, args, n, fname, what):
        """A table, or a value whose metatable provides what is needed."""
        st = self.st
        value = args[n - 1] if len(args) >= n else None
        if type(value) is Table:
            return value
        mt = ops.metatable(st, value)
        if mt is not None and type(value) in (Userdata, str):
            raw = mt.hash
            if ((not what & _TAB_R or raw.get("__index") is not None)
                    and (not what & _TAB_W or raw.get("__newindex") is not None)
                    and (not what & _TAB_L or raw.get("__len") is not None)):
                return value
        type_error(args, n, fname, "table")

    def length_of(self, t):
        """``luaL_len``: ``#t`` honouring ``__len``; must be an integer."""
        st = self.st
        if type(t) is Table and t.meta is None:
            return len(t.arr)
        n = ops.tointeger(ops.length(st, t))  # lua_tointegerx: "3" counts
        if n is None:
            raise LuaError("object length is not an integer")
        return n

    def aux_getn(self, args, n, fname, what):
        return self.length_of(self.checktab(args, n, fname, what | _TAB_L))

    # -- insert / remove / move -------------------------------------------
    def insert(self, *args):
        st = self.st
        t = args[0] if args else None
        size = self.aux_getn(args, 1, "insert", _TAB_R | _TAB_W)
        first_empty = ops.add(size, 1)
        nargs = len(args)
        if nargs == 2:
            pos = first_empty
        elif nargs == 3:
            pos = check_int(args, 2, "insert")
            # pos must lie in [1, first_empty] (compared as unsigned, as C does)
            if not ((pos - 1) & _MASK64) < (first_empty & _MASK64):
                arg_error(2, "insert", "position out of bounds")
            value = args[2]
            if type(t) is Table and t.meta is None and value is not None:
                # Plain table: shift with one list insert instead of a loop.
                arr = t.arr
                st.charge(1 + ((first_empty - pos) >> 6))
                st.charge_memory(ops.SLOT_COST)
                if pos == first_empty:
                    t.set(pos, value)
                else:
                    arr.insert(pos - 1, value)
                    t.gaps = None  # every index moved
                    t.set(first_empty, arr.pop())  # re-append: migrates hash keys
                return ()
            i = first_empty
            while i > pos:  # shift t[pos..] up by one
                st.charge(1)
                self.seti(t, i, self.geti(t, i - 1))
                i -= 1
        else:
            raise LuaError("wrong number of arguments to 'insert'")
        self.seti(t, pos, args[-1])
        return ()

    def remove(self, *args):
        st = self.st
        t = args[0] if args else None
        size = self.aux_getn(args, 1, "remove", _TAB_R | _TAB_W)
        pos = opt_int(args, 2, "remove", size)
        if pos != size and not ((pos - 1) & _MASK64) <= (size & _MASK64):
            arg_error(2, "remove", "position out of bounds")
        if type(t) is Table and t.meta is None and 1 <= pos <= size:
            # Plain table: the shifting loop is one list deletion.
            arr = t.arr
            st.charge(1 + ((size - pos) >> 6))
            result = arr.pop(pos - 1)
            while arr and arr[-1] is None:  # keep arr free of trailing nils
                arr.pop()
            t.gaps = None  # every index moved
            return (result,)
        result = self.geti(t, pos)
        while pos < size:  # shift t[pos+1..] down by one
            st.charge(1)
            self.seti(t, pos, self.geti(t, pos + 1))
            pos += 1
        self.seti(t, pos, None)
        return (result,)

    def move(self, *args):
        st = self.st
        first = check_int(args, 2, "move")
        last = check_int(args, 3, "move")
        dest = check_int(args, 4, "move")
        has_target = len(args) >= 5 and args[4] is not None
        source = self.checktab(args, 1, "move", _TAB_R)
        target = self.checktab(args, 5, "move", _TAB_W) if has_target else source
        if last >= first:
            if not (first > 0 or last < MAXINT + first):
                arg_error(3, "move", "too many elements to move")
            count = last - first + 1
            if not dest <= MAXINT - count + 1:
                arg_error(4, "move", "destination wrap around")
            # Copy upwards unless the ranges overlap with the destination
            # inside the source range of the same table.
            if dest > last or dest <= first or (
                    has_target and not ops.equals(st, source, target)):
                for i in range(count):
                    st.charge(1)
                    self.seti(target, dest + i, self.geti(source, first + i))
            else:
                for i in range(count - 1, -1, -1):
                    st.charge(1)
                    self.seti(target, dest + i, self.geti(source, first + i))
        return (target,)

    # -- concat ------------------------------------------------------------
    def concat(self, *args):
        st = self.st
        t = args[0] if args else None
        last = self.aux_getn(args, 1, "concat", _TAB_R)
        sep = opt_str(args, 2, "concat", "")
        i = opt_int(args, 3, "concat", 1)
        last = opt_int(args, 4, "concat", last)
        pieces = []
        if i > last:
            return ("",)
        sep_len = len(sep)
        while True:
            value = self.geti(t, i)
            vt = type(value)
            if vt is str:
                piece = value
            elif vt is int or vt is float:
                piece = number_to_str(value)
            else:
                raise LuaError(
                    f"invalid value ({type_name(value)}) at index {i} in table for 'concat'")
            st.charge(1 + (len(piece) >> 6))
            st.charge_memory(len(piece) + sep_len + _PIECE_COST)
            pieces.append(piece)
            if i >= last:
                break
            i += 1
        return (sep.join(pieces),)

    # -- pack / unpack -----------------------------------------------------
    def pack(self, *args):
        st = self.st
        n = len(args)
        st.charge_memory(ops.TABLE_COST + ops.SLOT_COST * (n + 1))
        st.charge(1 + (n >> 6))
        arr = list(args)
        while arr and arr[-1] is None:  # Table keeps no trailing nils in arr
            arr.pop()
        t = Table(arr)
        t.set("n", n)
        return (t,)

    def unpack(self, *args):
        st = self.st
        t = args[0] if args else None
        i = opt_int(args, 2, "unpack", 1)
        if len(args) >= 3 and args[2] is not None:
            last = check_int(args, 3, "unpack")
        else:
            last = self.length_of_any(t)
        if i > last:
            return ()
        count = last - i + 1
        if count > MAX_UNPACK:
            raise LuaError("too many results to unpack")
        st.charge_memory(count * _RESULT_COST)
        if type(t) is Table and t.meta is None:
            arr = t.arr
            if 1 <= i and last <= len(arr):
                ops.charge_work(st, count)  # one slice, in C
                return tuple(arr[i - 1:last])
            st.charge(count)  # a Python call per value
            get = t.get
            return tuple([get(k) for k in range(i, last + 1)])
        st.charge(count)
        return tuple([ops.index(st, t, k) for k in range(i, last + 1)])

    def length_of_any(self, t):
        """``luaL_len`` on an unchecked value (``unpack`` takes anything)."""
        if type(t) is Table and t.meta is None:
            return len(t.arr)
        return self.length_of(t)

    # -- sort --------------------------------------------------------------
    def sort(self, *args):
        sorter = self._sorter(args)
        if sorter is not None:
            sorter.sort(sorter.n)
        return ()

    def _sorter(self, args):
        """The checked arguments' ``_Sorter``, or None when done already."""
        st = self.st
        t = args[0] if args else None
        n = self.aux_getn(args, 1, "sort", _TAB_R | _TAB_W)
        if n > 1:
            if not n < _INT_MAX:
                arg_error(1, "sort", "array too big")
            comp = args[1] if len(args) >= 2 else None
            if comp is not None and type(comp) is not Function:
                type_error(args, 2, "sort", "function")
            if comp is None and _sort_plain(st, t, n):
                return None
            return _Sorter(st, t, comp, self.geti, self.swap_set, n)
        return None

    def swap_set(self, t, i, value):
        """``lua_seti`` for sorting: swaps add no slots, so charge nothing."""
        st = self.st
        if type(t) is Table and t.meta is None:
            t.set(i, value)
        else:
            ops.setindex(st, t, i, value)


def open_library(st: State) -> Table:
    library = TableLibrary(st)
    lib = Table()
    register(lib, "concat", library.concat)
    register(lib, "insert", library.insert)
    register(lib, "move", library.move)
    register(lib, "pack", library.pack)
    register(lib, "remove", library.remove)
    # No generator form: as in lua5.4 (sort calls its comparator with
    # lua_call, no continuation), a yield inside the comparator or an
    # ``__lt`` it reaches fails with "attempt to yield across a C-call boundary".
    register(lib, "sort", library.sort)
    register(lib, "unpack", library.unpack)
    return lib


def _sort_plain(st: State, t, n: int) -> bool:
    """Sort with Python's ``sorted`` when nothing can tell the difference.

    That holds for a plain table whose ``1..n`` are all strings or all
    integers (or all floats other than NaN and zeros) under the default
    order: no metamethod can run, and elements that compare equal are
    identical, so every correct sort yields the same table.  Returns False
    (touching nothing) when the fast path does not apply.
    """
    if type(t) is not Table or t.meta is not None or len(t.arr) != n:
        return False
    values = t.arr
    kind = type(values[0])
    if kind is float:
        if any(type(v) is not float or v != v or v == 0.0 for v in values):
            return False
    elif kind is int or kind is str:
        if any(type(v) is not kind for v in values):
            return False
    else:
        return False
    st.charge(n * max(n.bit_length(), 1))
    values.sort()
    return True


def _randomize_pivot() -> int:
    """``l_randomizePivot``: mixes clock and time like the C code does."""
    clock = int(time.process_time() * 1_000_000) & 0xFFFFFFFFFFFFFFFF
    now = int(time.time()) & 0xFFFFFFFFFFFFFFFF
    rnd = 0
    for word in (clock, now):
        rnd += (word & 0xFFFFFFFF) + (word >> 32)
    return rnd & 0xFFFFFFFF


class _Sorter:
    """ltablib.c's quicksort over ``t[lo..up]``, value for value.

    The C code keeps values on the Lua stack; here they are locals, and
    each ``set2`` becomes the two ``seti`` calls it performs, in order.
    Comparisons are plain calls (``less``): no yield crosses ``sort``.
    """

    __slots__ = ("st", "t", "comp", "geti", "seti", "n")

    def __init__(self, st: State, t, comp, geti, seti, n: int):
        self.st = st
        self.n = n
        self.t = t
        self.comp = comp
        self.geti = geti
        self.seti = seti

    def sort(self, n: int) -> None:
        self.auxsort(1, n, 0)

    def less(self, a, b) -> bool:
        st = self.st
        st.charge(1)
        comp = self.comp
        if comp is None:
            return ops.less_than(st, a, b)
        results = comp.call(a, b)
        return bool(results) and results[0] is not None and results[0] is not False

    def partition(self, lo: int, up: int, pivot):
        t, geti, seti, less = self.t, self.geti, self.seti, self.less
        i = lo
        j = up - 1
        while True:
            # repeat ++i while a[i] < P
            i += 1
            a_i = geti(t, i)
            while less(a_i, pivot):
                if i == up - 1:  # a[i] < P but a[up - 1] == P ??
                    raise LuaError("invalid order function for sorting")
                i += 1
                a_i = geti(t, i)
            # repeat --j while P < a[j]
            j -= 1
            a_j = geti(t, j)
            while less(pivot, a_j):
                if j < i:  # j < i but a[j] > P ??
                    raise LuaError("invalid order function for sorting")
                j -= 1
                a_j = geti(t, j)
            if j < i:
                # swap pivot (a[up - 1]) with a[i]
                seti(t, up - 1, a_i)
                seti(t, i, pivot)
                return i
            seti(t, i, a_j)
            seti(t, j, a_i)

    def auxsort(self, lo: int, up: int, rnd: int):
        t, geti, seti, less = self.t, self.geti, self.seti, self.less
        while lo < up:
            # sort elements a[lo], a[p], a[up]
            a_lo = geti(t, lo)
            a_up = geti(t, up)
            if less(a_up, a_lo):
                seti(t, lo, a_up)
                seti(t, up, a_lo)
            if up - lo == 1:
                return
            if up - lo < _RANLIMIT or rnd == 0:
                p = (lo + up) // 2
            else:
                r4 = (up - lo) // 4
                p = rnd % (r4 * 2) + (lo + r4)
            a_p = geti(t, p)
            a_lo = geti(t, lo)
            if less(a_p, a_lo):
                seti(t, p, a_lo)
                seti(t, lo, a_p)
            else:
                a_up = geti(t, up)
                if less(a_up, a_p):
                    seti(t, p, a_up)
                    seti(t, up, a_p)
            if up - lo == 2:
                return
            pivot = geti(t, p)
            a_up1 = geti(t, up - 1)
            seti(t, p, a_up1)
            seti(t, up - 1, pivot)
            p = self.partition(lo, up, pivot)
            # recurse into the smaller half, loop on the larger one
            if p - lo < up - p:
                self.auxsort(lo, p - 1, rnd)
                smaller = p - lo
                lo = p + 1
            else:
                self.auxsort(p + 1, up, rnd)
                smaller = up - p
                up = p - 1
            if up > lo and (up - lo) // 128 > smaller:  # too imbalanced?
                rnd = _randomize_pivot()
