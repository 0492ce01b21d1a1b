"""The run-time side of generated code.

``luapy.compile`` writes Python source that names no module: everything it
calls at run time is in the namespace built here for one runtime
(``runtime_namespace``): the slow paths of operators, table constructors,
loop drivers and budget ticks.  Also here are the signals generated code
raises or returns (``TailCall``, ``GotoJump``, ``BreakJump``), the
trampoline that runs tail calls, and ``error_fixer``, which positions errors
as they leave a Lua function.
"""

from __future__ import annotations

import itertools
import math
import sys
import types
import weakref

from ..errors import ArgumentError, LuaError, LuaException, LuaLimitError, OperationError
from . import ops
from .args import name_argument_error, to_number, typename
from .frames import UNWINDING, frames_outward, is_hoisted_code, is_lua_code, python_line
from .values import BUILTIN_CODES, MAXINT, MININT, Function, Table, _BoolKey, float_to_int, number_to_str

#: Loop iterations are charged to the step budget in batches of this many.
LOOP_BATCH = 64
#: Iterations a numeric for charges at a time.  Also how many iterations
#: run between two chances for the watchdog's forced check to land when the
#: body makes no counted step (only builtin calls), so kept as small as
#: ``LOOP_BATCH``: each such call may do a few milliseconds of work that is
#: cheap per byte and uncharged (comparing two long strings).
FOR_CHUNK = 64
#: The chunk of a runtime with neither a step nor a time budget: there its
#: checks only give the collector its safe points, and starting a chunk
#: costs about what 30 iterations of an empty body do.
UNBUDGETED_FOR_CHUNK = 1024


class TailCall:
    """``return f(args)``: returned by a body, run by the caller's loop."""

    __slots__ = ("fn", "args", "desc")

    def __init__(self, fn, args, desc):
        self.fn = fn
        self.args = args
        self.desc = desc


class GotoJump(Exception):
    """A ``goto`` that must cross Python loops to reach its label."""

    def __init__(self, target: int):
        self.target = target


class BreakJump(Exception):
    """A ``break`` that must cross a label block to reach its loop."""

    def __init__(self, target: int):
        self.target = target


class TableTemplate:
    """A table constructor whose every key and value is a constant.

    The compiler keeps it in the namespace instead of writing it out as
    source (a data table of any size is then one short line), and
    ``NEWCONST`` builds a fresh table from it each time the constructor
    runs.  ``array`` and ``pairs`` hold constants or nested templates;
    ``cost`` is what building the whole nest charges to the memory budget.
    """

    __slots__ = ("array", "pairs", "nested", "cost")

    def __init__(self, array: list, pairs: list):
        self.array = tuple(array)
        self.pairs = tuple(pairs)
        self.nested = any(type(v) is TableTemplate for v in array) or any(
            type(v) is TableTemplate for _, v in pairs)
        cost = ops.TABLE_COST + ops.SLOT_COST * (len(array) + len(pairs))
        for value in array:
            if type(value) is TableTemplate:
                cost += value.cost
        for _, value in pairs:
            if type(value) is TableTemplate:
                cost += value.cost
        self.cost = cost

    def build(self) -> Table:
        """A fresh table; the caller has charged ``cost``."""
        array = self.array
        if self.nested:
            array = [v.build() if type(v) is TableTemplate else v for v in array]
        if not self.pairs:
            return Table(list(array))
        table = Table()
        for key, value in self.pairs:      # positional items win, as in NEWTABLE
            table.set(key, value.build() if type(value) is TableTemplate else value)
        for i, value in enumerate(array, 1):
            table.set(i, value)
        return table


def tail_runner(st):
    """Run a chain of tail calls in a loop: tail calls use no stack."""
    call_described = ops.call_described

    def run_tail(tail):
        while True:
            fn = tail.fn
            if type(fn) is not Function:
                return call_described(st, fn, tail.args, tail.desc)
            raw = fn.raw
            if raw is None:
                return fn.call(*tail.args)
            try:
                result = raw(*tail.args)
            except LuaException as error:
                if error.level == 1:
                    locate_at_entry(error)
                raise
            if result.__class__ is not TailCall:
                return result
            tail = result
    return run_tail


def locate_at_entry(error: LuaException) -> None:
    """Position an error raised on entry to a tail-called function, before
    its own handler: the caller whose line it would name has already
    returned, so it names the callee's entry."""
    tb = error.__traceback__
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("<lua "):
        tb = tb.tb_next
    if tb is not None:
        error.locate(_position(tb.tb_frame.f_globals, tb.tb_lineno))


def _stripped(names: dict, python_line: int) -> bool:
    """Whether a generated frame's line has no Lua line (``string.dump``
    with ``strip``)."""
    lines = names["LINES"]
    return 0 <= python_line < len(lines) and lines[python_line] < 0


def _position(names: dict, python_line: int) -> str:
    """``"chunk:line:"`` of a generated frame at ``python_line``.

    Every generated module's globals hold its ``CHUNKNAME`` and ``LINES``
    (Python line -> Lua line).
    """
    lines = names["LINES"]
    lua_line = lines[python_line] if 0 <= python_line < len(lines) else 0
    return f"{names['CHUNKNAME']}:{lua_line}:"


def error_fixer(st):
    """``FIXERR``: position an error leaving a generated Lua function.

    What it needs of the chunk comes from the frame's module globals:
    ``LINES``, ``CHUNKNAME`` and ``CALL_SITES`` (how the calls on a Python
    line name their callee).
    """
    def fix(error: LuaException, function_name: str) -> None:
        tb = _raising_entry(error)
        where = _position(tb.tb_frame.f_globals, tb.tb_lineno)
        if error.level == 1:
            _locate_level_one(st, error, tb, where)
        elif error.level > 1:
            error.level -= 1
        if len(error.lua_traceback) < 22:
            error.lua_traceback.append(f"{where} in {function_name}")
    return fix


def _raising_entry(error: LuaException):
    """The traceback entry of the Lua frame an error is leaving."""
    tb = error.__traceback__
    names = tb.tb_frame.f_globals
    # A loop nested too deep runs in a function of its own (``hoist``):
    # the error happened where that function was.
    while (tb.tb_next is not None and is_hoisted_code(tb.tb_next.tb_frame.f_code)
           and tb.tb_next.tb_frame.f_globals is names):
        tb = tb.tb_next
    return tb


def _locate_level_one(st, error: LuaException, tb, where: str) -> None:
    """Position an error raised for the Lua frame of ``tb`` (level 1)."""
    names = tb.tb_frame.f_globals
    if type(error) is ArgumentError:
        sites = names["CALL_SITES"].get(tb.tb_lineno, ())
        positioned = name_argument_error(st, error, _callee_code(tb), sites)
    elif type(error) is OperationError:
        positioned = _callee_code(tb) not in BUILTIN_CODES
    else:
        # ``error``/``assert`` (luaL_where): no position where the
        # code has no lines (a stripped chunk); the operations of
        # luaG_runerror still say "?:-1:" there, as lua5.4 does.
        positioned = not _stripped(names, tb.tb_lineno)
    if positioned:
        if type(error.value) is str and st.tripped is None:
            # The positioned message is a copy: ``error(s)`` in a
            # loop would otherwise copy megabytes per step, free.
            # (Not a limit error's: its budget is already out.)
            ops.charge_string(st, len(where) + 1 + len(error.value))
        error.locate(where)
    else:
        error.level = 0  # failed inside a builtin: lua5.4 names no line


def unwinding_value(st, error: LuaException):
    """What a ``__close`` handler is given for the error unwinding its
    variable's frame: the error object, a message already positioned as it
    will read once out of the frame (``FIXERR`` then leaves it as it is).
    A budget error is the host's: the handler sees no error object."""
    if isinstance(error, LuaLimitError):
        return None
    # (Only an error leaving a Lua frame: one a ``__close`` raised was
    # raised for the frame of that function, or for none.)
    if error.level == 1 and error.__traceback__ is not None and "LINES" in error.__traceback__.tb_frame.f_globals:
        tb = _raising_entry(error)
        _locate_level_one(st, error, tb, _position(tb.tb_frame.f_globals, tb.tb_lineno))
    return error.value


def lua_where(level: int) -> str:
    """``luaL_where``: ``"chunk:line:"`` of the function ``level`` calls up.

    Called from a builtin, which is level 0.  Like lua5.4, every Lua
    function and every builtin is a level; a builtin, or a level past the
    stack, gives ``""``.  Errors of level 1 are positioned more cheaply as
    they unwind (``error_fixer``); this is for the rarer deeper levels.
    """
    return where_from(sys._getframe(1), level)


def where_from(frame, level: int) -> str:
    """``lua_where`` counting ``frame`` (a builtin's or a Lua function's,
    or a loop hoisted out of one) as level 0."""
    seen = 0
    running = None  # the innermost hoisted loop (``hoist``) the next Lua frame runs
    for frame in frames_outward(frame):
        code = frame.f_code
        is_lua = is_lua_code(code)
        if is_lua or code in BUILTIN_CODES:
            if seen == level:
                line = python_line(running or frame)
                if not is_lua or _stripped(frame.f_globals, line):
                    return ""
                return _position(frame.f_globals, line)
            seen += 1
            running = None
        elif running is None and is_hoisted_code(code):
            running = frame
    return ""


def _callee_code(tb):
    """The code a Lua frame's line called directly, through ``CALL`` if so
    (a builtin in tail position, or any callee that isn't a Function)."""
    callee = tb.tb_next
    while callee is not None and callee.tb_frame.f_code in _CALL_CODES:
        callee = callee.tb_next
    return callee.tb_frame.f_code if callee is not None else None


def runtime_namespace(st) -> dict:
    """The globals of generated code: helpers bound to one runtime."""
    index = ops.index
    setindex = ops.setindex
    arith = ops.arith
    call_described = ops.call_described
    slot_cost = ops.SLOT_COST
    table_cost = ops.TABLE_COST
    append_cost = 64 * slot_cost

    def INDEX(obj, key, desc):
        return index(st, obj, key, desc)

    # A global read in compact code (``luapy.compile``): the key is the
    # name, and _ENV is named as lua5.4 names it.
    def GLOBAL_U(env, name):
        return index(st, env, name, "upvalue '_ENV'")

    def GLOBAL_L(env, name):
        return index(st, env, name, "local '_ENV'")

    def SETFIELD(obj, key, value, desc):
        if type(obj) is Table and obj.meta is None:
            hash = obj.hash
            if key in hash:
                if value is None:
                    del hash[key]
                else:
                    hash[key] = value
            elif value is not None:
                left = st.memory_left - slot_cost
                st.memory_left = left
                if left < 0:
                    st.charge_memory(0)
                if obj.walk is not None:
                    obj.note_new_key(key, len(hash) + 1)
                hash[key] = value
            return
        setindex(st, obj, key, value, desc)

    def SETINDEX(obj, key, value, desc):
        if type(obj) is Table and obj.meta is None:
            cost = slot_cost if value is not None else 0
            if type(key) is int:
                arr = obj.arr
                n = len(arr)
                if 0 < key <= n:
                    if value is not None and (obj.gaps is None or arr[key - 1] is not None):
                        left = st.memory_left - cost
                        st.memory_left = left
                        if left < 0:
                            st.charge_memory(0)
                        arr[key - 1] = value
                        return
                elif key == n + 1 and value is not None:
                    # Charged as the inline append (``array_store``): the
                    # key that opens a block of 64 slots pays for them all.
                    cost = append_cost if not (key - 1) & 63 else 0
            left = st.memory_left - cost
            st.memory_left = left
            if left < 0:
                st.charge_memory(0)
            obj.set(key, value)
            return
        setindex(st, obj, key, value, desc)

    def ARITH(op, a, b, desc_a, desc_b):
        return arith(st, op, a, b, desc_a, desc_b)

    def CALL(fn, args, desc):
        return call_described(st, fn, args, desc)

    def EQ(a, b):
        return ops.equals(st, a, b)

    def LT(a, b):
        return ops.less_than(st, a, b)

    def LE(a, b):
        return ops.less_equal(st, a, b)

    def CHARGE(nbytes):
        left = st.memory_left - nbytes
        st.memory_left = left
        if left < 0:
            st.charge_memory(0)
        return True

    def CONCAT(values, descs):
        total = 0
        for v in values:
            tv = type(v)
            if tv is str:
                total += len(v)
            elif tv is int or tv is float:
                total += 24
            else:
                break
        else:
            st.charge_memory(ops.STRING_COST + total)
            return "".join([v if type(v) is str else number_to_str(v) for v in values])
        result = values[-1]
        last = len(values) - 1
        for i in range(last - 1, -1, -1):
            result = ops.concat(st, values[i], result, descs[i], descs[i + 1] if i + 1 == last else None)
        return result

    def NEG(value, desc):
        return ops.negate(st, value, desc)

    def BNOT(value, desc):
        return ops.bnot(st, value, desc)

    def LEN(value, desc):
        return ops.length(st, value, desc)

    def NEWTABLE(array=None, pairs=()):
        st.memory_left -= table_cost + slot_cost * (len(pairs) // 2 + (len(array) if array else 0))
        if st.memory_left < 0:
            st.charge_memory(0)
        # The positional items are stored last, as lua5.4's SETLIST does, so
        # they win over a keyed field for the same index, even with nil; they
        # go in at once (a spread ``{n = 1, ...}`` may bring thousands), and
        # keyed fields for their indices are left out.
        positional = len(array) if array else 0
        table = _constructed(array) if positional else Table()
        for i in range(0, len(pairs), 2):
            key = pairs[i]
            value = pairs[i + 1]
            if key is None:
                raise OperationError("table index is nil")
            if key != key:
                raise OperationError("table index is NaN")
            if positional:
                index = float_to_int(key) if type(key) is float else key
                if type(index) is int and 0 < index <= positional:
                    continue
            if value is not None or table.get(key) is not None:
                table.set(key, value)   # (a nil field takes back an earlier one)
        return table

    def NEWARRAY(array):
        st.memory_left -= table_cost + slot_cost * len(array)
        if st.memory_left < 0:
            st.charge_memory(0)
        return _constructed(array)

    def NEWCONST(template):
        st.memory_left -= template.cost
        if st.memory_left < 0:
            st.charge_memory(0)
        return template.build()

    def ADJUST(values, count):
        have = len(values)
        if have == count:
            return values
        if have > count:
            return values[:count]   # (a slice: not a copy of all of a long list)
        return (*values, *((None,) * (count - have)))

    def CHECK_CLOSABLE(value, name):
        if value is not None and value is not False and ops.metamethod(st, value, "__close") is None:
            raise LuaError(f"variable '{name}' got a non-closable value")

    def CLOSEALL(values, error):
        """Close a block's ``<close>`` values, the last declared first.  An
        error in one ``__close`` is the error the next ones get, and the one
        the block ends with, as if each variable had a scope of its own."""
        raised = None
        for value in reversed(values):
            if value is not None and value is not False:
                try:
                    _close(st, value, error)
                except LuaError as failure:
                    # A budget error is the host's: no __close replaces it.
                    if not isinstance(error, LuaLimitError):
                        error = raised = replacing(failure, error)
                except BaseException as other:   # (the next ones still close)
                    raised = other
        values.clear()  # the block is over: its values are no longer held here
        if raised is not None:
            raise raised

    def CUT(values, keep):
        """The values after the first ``keep``, taken off ``values``."""
        tail = values[keep:]
        del values[keep:]
        return tail

    def GENFOR(values, count, state):
        steps = _generic_for(st, values, count)
        # Where debug.getlocal finds the loop's "(for state)" values.
        state.append(weakref.ref(steps))
        return steps

    def TICK():
        st.charge(LOOP_BATCH)
        return LOOP_BATCH - 1

    # A numeric for charges each chunk a whole FOR_CHUNK as it starts it, in
    # the loop's own header (``stat_NumericFor``): ``(_steps := _steps -
    # FOR_CHUNK)``, and, when that runs the countdown out, ``CHARGED(_chunk)``.
    # A loop of one chunk is charged its iterations: FORCHUNKS gives back
    # the rest first, right before the header takes the whole chunk.
    limits = st.limits
    for_chunk = FOR_CHUNK if limits.steps is not None or limits.time is not None else UNBUDGETED_FOR_CHUNK
    # Code compiled without accounting uses chunks only for array loops and
    # charges none: what a short chunk would give back goes nowhere (into
    # the real countdown, it was steps for free: library work charges it).
    steps_cell = st.steps_cell if st.options.count_steps else types.CellType(0)

    def FORCHUNKS(start, stop, step):
        iterations = _for_range(start, stop, step)
        chunks = _for_chunks(iterations, for_chunk, steps_cell)
        if type(chunks) is tuple:
            steps_cell.cell_contents += for_chunk - len(iterations)
        return chunks

    def CHARGED(chunk):
        st.budget_check()
        return chunk

    def APPENDS(chunk):
        # The chunk of an array loop's copy (``compile.array_loops``) that
        # appends a value per iteration: the blocks of 64 slots it opens
        # (keys 1, 65, 129...), charged as the inline append charges them.
        opened = (chunk.stop - 2) // 64 - (chunk.start - 2) // 64
        if opened > 0:
            left = st.memory_left = st.memory_left - append_cost * opened
            if left < 0:
                st.charge_memory(0)

    namespace = {
        "__builtins__": {},
        "st": st, "Table": Table, "Function": Function, "TailCall": TailCall,
        "LuaException": LuaException, "LuaError": LuaError,
        "GotoJump": GotoJump, "BreakJump": BreakJump,
        "MININT": MININT, "MAXINT": MAXINT, "INF": math.inf, "NINF": -math.inf,
        "NAN": math.nan,
        "type": type, "len": len, "abs": abs, "int": int, "float": float, "str": str,
        "INDEX": INDEX, "GLOBAL_U": GLOBAL_U, "GLOBAL_L": GLOBAL_L, "SETFIELD": SETFIELD, "SETINDEX": SETINDEX, "ARITH": ARITH,
        "CALL": CALL, "EQ": EQ, "LT": LT, "LE": LE, "CHARGE": CHARGE,
        "CONCAT": CONCAT, "NEG": NEG, "BNOT": BNOT, "LEN": LEN,
        "NEWTABLE": NEWTABLE, "NEWARRAY": NEWARRAY, "NEWCONST": NEWCONST, "ADJUST": ADJUST,
        "CHECK_CLOSABLE": CHECK_CLOSABLE, "CLOSEALL": CLOSEALL, "CUT": CUT,
        "FORRANGE": _for_range, "GENFOR": GENFOR, "RecursionError": RecursionError,
        "TICK": TICK, "APPEND_COST": append_cost, "FORCHUNKS": FORCHUNKS, "CHARGED": CHARGED,
        "FOR_CHUNK": for_chunk, "APPENDS": APPENDS, "GETTRACE": sys.gettrace,
        "OVERFLOW": st.stack_overflow,
    }
    return namespace


def _for_number(value, what: str):
    """A numeric for's control value as ``forprep`` converts it: numbers,
    and strings that read as numbers."""
    number = to_number(value)
    if number is not None:
        return number
    raise LuaError(f"bad 'for' {what} (number expected, got {typename(value)})")


def _for_range(start, stop, step):
    """Lua 5.4's numeric for: an int ``range`` or a float sequence.

    The checks come in ``forprep``'s order: an integer loop checks its step,
    then its limit; any other converts limit, step, then initial value.
    """
    if type(start) is int and type(step) is int:
        if step == 0:
            raise LuaError("'for' step is zero")
        stop = _for_number(stop, "limit")
        if type(stop) is float:
            if stop != stop:  # NaN is no integer and not above 0: as -inf
                stop = -math.inf
            # lvm.c's forlimit: a float limit past the integers either
            # clips to them or (on the side the loop moves away from)
            # skips the loop; -inf and inf have no floor or ceiling.
            if stop >= 9.2233720368547758e18:
                if step < 0:
                    return ()
                stop = MAXINT
            elif stop < -9.2233720368547758e18:
                if step > 0:
                    return ()
                stop = MININT
            elif step > 0:
                stop = math.floor(stop)
            else:
                stop = math.ceil(stop)
        if step > 0:
            return range(start, min(stop, MAXINT) + 1, step)
        return range(start, max(stop, MININT) - 1, step)
    stop = float(_for_number(stop, "limit"))
    step = float(_for_number(step, "step"))
    start = float(_for_number(start, "initial value"))
    if step == 0:
        raise LuaError("'for' step is zero")
    return _float_range(start, stop, step)


def _for_chunks(iterations, size: int, steps_cell):
    """Split a numeric for's iterations into chunks of ``size``.

    The loop charges each chunk before running it, so a ``break`` may leave
    up to a chunk's worth charged but unused: the budget stays an upper
    bound on the work done.  An integer loop's chunks are ranges made in C
    (``map``), so a chunk costs no Python frame.
    """
    if type(iterations) is range:
        start, stop, step = iterations.start, iterations.stop, iterations.step
        span = size * step
        # Not ``len``: a loop over all 2^64 integers is longer than a ssize_t.
        if (stop - start - span) * step <= 0:
            return (iterations,)
        # Chunk k is range(start + k*span, end_k, step): end_k is the next
        # chunk's start, the last one's is ``stop``.
        return map(range, range(start, stop, span), itertools.chain(range(start + span, stop, span), (stop,)),
                   itertools.repeat(step))
    return _float_chunks(iterations, size, steps_cell)


def _float_chunks(values, size: int, steps_cell):
    """A float loop's chunks: the last, short one gives back the steps the
    loop's header will charge it beyond its length."""
    chunk = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        steps_cell.cell_contents += size - len(chunk)
        yield chunk


def _float_range(value: float, limit: float, step: float):
    """lvm.c's float loop: skipped only when ``forprep`` finds the limit
    on the wrong side, so a NaN runs it once (every comparison is false)."""
    if step > 0:
        if limit < value:
            return
        while True:
            yield value
            value += step
            if not value <= limit:
                return
    else:
        if value < limit:
            return
        while True:
            yield value
            value += step
            if not limit <= value:
                return


def _generic_for(st, values, count):
    """The values a generic ``for`` binds on each step.

    ``pairs``/``next`` and ``ipairs`` over plain tables walk the table
    directly instead of calling a Lua function per step.
    """
    iterator = values[0] if values else None
    state = values[1] if len(values) > 1 else None
    control = values[2] if len(values) > 2 else None
    closing = values[3] if len(values) > 3 else None
    if closing is not None and closing is not False:
        return _closing_for(st, iterator, state, control, closing, count)
    return _for_steps(st, iterator, state, control, count)


def _closing_for(st, iterator, state, control, closing, count):
    if ops.metamethod(st, closing, "__close") is None:
        raise LuaError("variable '(for state)' got a non-closable value")
    try:
        yield from _for_steps(st, iterator, state, control, count)
    except GeneratorExit:
        # The loop ended early (break, return, goto, an error) and Python
        # finalizes this generator: there is no caller to hand an error to,
        # and it may be after the call, outside every budget.  So the value
        # is closed only while a call runs, and an error of its __close is
        # dropped (lua5.4 raises it from the loop) rather than printed on
        # the host's stderr; a budget it runs out of stays tripped, and the
        # host's call raises it all the same (``LuaRuntime._call_here``).
        if st.entries:
            try:
                _close(st, closing, None)
            except LuaError:
                pass
        raise
    _close(st, closing, None)


def _constructed(items: list) -> Table:
    """A table of a constructor's positional ``items``, whose length ``#``
    finds as lua5.4's does: when the last item is nil, lua5.4's array part
    (sized for all the items) ends with a hole, and ``#`` is the border its
    binary search reaches (``luaH_getn``); the items past it go to the hash
    part, so luapy's ``#`` stops there too."""
    if not items or items[-1] is not None:
        return Table(items)
    low, high = 0, len(items)
    if high >= 2 and items[-2] is not None:
        low = high - 1                  # (luaH_getn's shortcut: no search)
    while high - low > 1:
        middle = (low + high) // 2
        if items[middle - 1] is None:
            high = middle
        else:
            low = middle
    table = Table(items[:low])
    # Keys from low + 2 on (items[low] is nil): none the array part could take.
    table.hash.update((index, value) for index, value in enumerate(items[low:], low + 1) if value is not None)
    return table


def replacing(failure: LuaError, error: LuaError | None) -> LuaError:
    """``failure``, raised by a ``__close`` that ``error`` (or a normal
    exit) ran, taking over what was found for ``error``: it unwinds the
    same frames to the same protected call, so its message handler (or
    that it has none) need not be looked for again at every frame."""
    if error is not None:
        if failure.caught_in_coroutine is None:
            failure.caught_in_coroutine = error.caught_in_coroutine
        if not failure.handled:
            failure.unhandled = error.unhandled
            if failure.handler is None:
                failure.handler = error.handler
    return failure


def unwinding_frame(st, error):
    """For ``_close`` and its generator form, as ``error`` is about to close
    a variable: the frame the variable is in (CLOSEALL's caller; gone for
    Lua while its ``__close`` runs), once xpcall's message handler has run
    on the error (``st.handle_unwinding``)."""
    frame = sys._getframe(3)
    if st.handle_unwinding is not None:
        st.handle_unwinding(error, frame)
    return frame


def _close(st, value, error) -> None:
    """Call ``value``'s ``__close`` as it is now (it may have been removed
    since the declaration, which is an error, as in lua5.4)."""
    handler = ops.metamethod(st, value, "__close")
    if error is None:
        ops.call_event(st, "__close", handler, value, None)
        return
    unwinding = id(unwinding_frame(st, error))
    ops.check_callable_from_c(st, handler)  # lua5.4 unwinds outside any Lua frame
    UNWINDING.add(unwinding)
    try:
        ops.call(st, handler, (value, unwinding_value(st, error)))
    finally:
        UNWINDING.discard(unwinding)


def _for_steps(st, iterator, state, control, count):
    if type(state) is Table and count <= 2:
        if iterator is st.next_function and control is None:
            yield from _pairs_steps(state, count)
            return
        if iterator is st.ipairs_iterator and state.meta is None and control == 0:
            yield from _ipairs_steps(state, count)
            return
    padding = (None,) * count
    while True:
        if type(iterator) is Function:
            results = iterator.call(state, control)
        else:
            results = ops.call_described(st, iterator, (state, control), "for iterator 'for iterator'")
        control = results[0] if results else None
        if control is None:
            return
        if count == 1:
            yield control
        elif len(results) == count:
            yield results
        else:
            yield (*results, *padding)[:count]


# ``control`` is the loop's control value, as ``debug.getlocal`` reads it.

def _pairs_steps(table: Table, count: int):
    arr = table.arr
    control = 0
    while control < len(arr):
        value = arr[control]
        control += 1
        if value is not None:
            yield control if count == 1 else (control, value)
    hash = table.hash
    for key in list(hash):
        value = hash.get(key)
        if value is not None:
            control = key.value if type(key) is _BoolKey else key
            yield control if count == 1 else (control, value)


def _ipairs_steps(table: Table, count: int):
    arr = table.arr
    control = 0
    while True:
        value = arr[control] if control < len(arr) else table.hash.get(control + 1)
        if value is None:
            return
        control += 1
        yield control if count == 1 else (control, value)


#: The frames a call goes through when generated code calls ``CALL``.
_CALL_CODES = set([ops.call_described.__code__] + [
    const for const in runtime_namespace.__code__.co_consts
    if isinstance(const, types.CodeType) and const.co_name == "CALL"])


def add_call_code(code) -> None:
    """Count ``code`` among the frames a call goes through (``CALLG``)."""
    _CALL_CODES.add(code)
