"""Per-runtime state: globals, shared metatables and the budgets.

Budget accounting is designed around a cheap countdown.  Hot paths do
``st.steps_left -= 1`` and only when it goes negative call
``st.budget_check()``, which settles the real step count, checks every
budget and re-arms the countdown.

A check can't be skipped: only ``budget_check``, after checking, and
``enter``, starting a fresh call from Python, arm the countdown.  Every
other write may only lower it: charges, trips, the watchdog (``run_out``)
and setting the depth (``pcall`` restoring it after an error, a coroutine
switch), which lowers the countdown to the levels left when it must and
otherwise leaves it alone.  So any loop, whatever it catches or switches
between, reaches the check within ``CHECK_INTERVAL`` steps.

The countdown also guards the call depth.  A call adds one level and takes
one step, and the countdown is never armed with more steps than there are
levels left (``_arm``), so a call can't go one level too deep without first
reaching ``budget_check``, which looks at the exact depth.  The prologue of
a call is then one increment and one countdown, with no compare of its own.
(A runtime with no step or time budget has nothing to count: its prologues
compare the depth instead, ``stack_overflow``.)

The call depth and the step countdown live in two closure cells rather than
attributes: every function the compiler generates for this runtime shares
them as ``nonlocal`` variables, which is several times cheaper per Lua call
than attribute updates.  Python code reaches them through the ``depth`` and
``steps_left`` properties.  Once a budget trips it stays tripped (the
countdown is parked far below zero) until the host starts a new call, so no
amount of ``pcall`` can keep a runaway plugin alive.

Time.  The time budget counts the call's own time (``luapy.runtime.clock``):
the CPU time of the threads that run its Lua, less full garbage
collections, so neither a host pause nor a busy machine trips a healthy
plugin.  A wall-clock backstop, ``WALL_BACKSTOP`` times the budget, bounds
what the CPU clock can't see (a host function blocked on I/O).  A budget
check reads only the cheap wall clock, and measures the call's time when it
passes ``_due``, the earliest moment the budget could be out (time is
charged at most as fast as the wall clock runs); the watchdog
(``luapy.runtime.watchdog``) makes the countdown run out at ``_due``, so a
call whose steps come rarely still meets a check on time.  Reading a
thread's CPU clock is a system call, so a call reads it first at its first
budget check (most calls end before one): until then it is charged wall
time less the full collections meanwhile.  Coroutines run on the thread
that resumes them (``luapy.stdlib.corolib``), so their time is simply the
call's.
"""

from __future__ import annotations

import sys
import threading
import types

from ..errors import LuaError, LuaLimitError, StackOverflow
from ..options import Options
from . import clock, watchdog
from .values import Table

#: How many steps run between two looks at the clock.  Small enough that
#: the countdown stays among CPython's cached small ints (no allocation).
CHECK_INTERVAL = 250
_UNLIMITED = 1 << 62
_PARKED = -(1 << 62)
#: A call ends after this many times its time budget in wall-clock time,
#: however little of it was the call's own (see "Time" above).
WALL_BACKSTOP = 4.0

class _Running(threading.local):
    #: Which State's Lua this thread runs: set when a call from Python
    #: starts.  For the few helpers that do work in proportion to a value
    #: but are called without a State (``luapy.runtime.args`` converting a
    #: string argument).  (A class attribute, so a thread that never ran
    #: Lua reads None without ``getattr``'s default.)
    state = None


_running = _Running()


def running_state():
    """The State whose Lua runs on this thread, or None."""
    return _running.state


class State:
    # Slots: Lua code and every call from the host read and write these,
    # and an instance with this many attributes in a dict pays a lookup for
    # each.
    __slots__ = ("options", "limits", "globals", "string_meta", "protected_calls", "type_metas", "loaded",
                 "registered", "write_stdout", "next_function", "ipairs_iterator", "coroutines",
                 "defer_calls", "run_tail_gen", "handle_unwinding", "depth_cell", "steps_cell", "max_depth", "_time_budget",
                 "memory_left", "memory_at_entry", "_chunk_at_entry", "_steps_used", "_chunk", "tripped",
                 "entries", "_outer_running", "_due", "_watched", "_started", "_gc_at_start", "_cpu_base",
                 "collector", "_trip_message", "__weakref__")

    def __init__(self, options: Options):
        self.options = options
        self.limits = options.limits
        self.globals = Table()
        #: The metatable every string shares (``getmetatable("")``).
        self.string_meta: Table | None = None
        #: ``pcall``/``xpcall`` calls running inside one another.
        self.protected_calls = 0
        #: Metatables ``debug.setmetatable`` gave other basic types, by Lua
        #: type name ("number", "boolean", "nil", "function", "thread").
        self.type_metas: dict[str, Table] = {}
        #: ``package.loaded``.
        self.loaded = Table()
        #: Modules the host registered: name -> Lua source (str) or Table.
        self.registered: dict = {}
        #: Where ``print`` and ``io.write`` go: a callable taking ``str``.
        self.write_stdout = _default_stdout
        #: The ``next`` and ipairs-iterator builtins of this runtime, so the
        #: compiled generic ``for`` can walk tables without a call per step.
        self.next_function = None
        self.ipairs_iterator = None
        #: The coroutine scheduler (``luapy.stdlib.corolib``), set when opened.
        self.coroutines = None
        #: Set while an operator runs for code inside a coroutine: its Lua
        #: metamethod is handed back to run in generator form (``ops.defer``).
        self.defer_calls = False
        #: ``helpers.tail_runner`` for generator forms (``luapy.runtime.generators``).
        self.run_tail_gen = None
        #: Runs xpcall's message handler on an error before it closes a
        #: ``<close>`` variable (``base.open``); None without a base library.
        self.handle_unwinding = None
        #: Shared with generated code as its ``_depth`` / ``_steps`` variables.
        self.depth_cell = types.CellType(0)
        #: Starts run out, so the first call settles and arms it.
        self.steps_cell = types.CellType(0)
        self.max_depth = options.limits.depth
        self._time_budget = options.limits.time  # (Limits are frozen)
        self.memory_left = _UNLIMITED
        limits = options.limits
        self.memory_at_entry = limits.memory if limits.memory is not None else _UNLIMITED
        self._chunk_at_entry = self._countdown(0, 0)
        self._steps_used = 0
        self._chunk = 0
        self.tripped: LuaLimitError | None = None
        #: How many calls from Python are in progress, nested (a Python
        #: function that Lua called calling back into Lua nests one more).
        self.entries = 0
        self._outer_running = None
        # The time of the current call (see "Time" above).  ``_due`` is
        # None between calls; the watchdog reads it and ``_watched``.
        self._due: float | None = None
        self._watched = False
        self._started = 0.0
        self._gc_at_start = 0.0
        #: What ``clock.charged()`` read when the call's time was zero, once
        #: read; None before the first budget check.
        self._cpu_base: float | None = None
        if options.limits.time is not None:
            clock.install()
        #: Weak tables and finalizers (``luapy.runtime.collector``), set by
        #: the base library; called at budget checks, between operations.
        self.collector = None

    @property
    def depth(self) -> int:
        return self.depth_cell.cell_contents

    @depth.setter
    def depth(self, value: int) -> None:
        """Set the depth (pcall unwinding, a coroutine switch) and lower the
        countdown to the levels left if needed.  Never raises it: that is
        ``budget_check``'s alone."""
        self.depth_cell.cell_contents = value
        cell = self.steps_cell
        excess = cell.cell_contents - max(self.max_depth - value, 0)
        if excess > 0:
            self._chunk -= excess  # armed with fewer steps, none of them used
            cell.cell_contents -= excess

    @property
    def steps_left(self) -> int:
        return self.steps_cell.cell_contents

    # -- entering from Python ----------------------------------------------

    def enter(self) -> bool:
        """Arm fresh budgets if this is the outermost call from Python.

        Returns whether it was outermost, to pass back to ``leave``.  Every
        call from the host pays for this, so it reads and writes only what
        a fresh call needs.
        """
        if self.entries:
            self.entries += 1
            return False
        self.entries = 1
        running = _running
        self._outer_running = running.state
        running.state = self
        self.tripped = None
        self.depth_cell.cell_contents = 0
        self._steps_used = 0
        self.memory_left = self.memory_at_entry
        time_budget = self._time_budget
        if time_budget is not None:
            now = clock.monotonic()
            self._started = now
            self._gc_at_start = clock.gc_pauses()
            self._cpu_base = None
            self._due = now + time_budget
            if not self._watched:
                watchdog.watch(self)
        # ``_arm`` with nothing used yet, computed once: every call from
        # the host would pay for it.
        self._chunk = self.steps_cell.cell_contents = self._chunk_at_entry
        return True

    def leave(self, outermost: bool) -> None:
        self.entries -= 1
        if outermost:
            _running.state = self._outer_running
            self._outer_running = None
            self.tripped = None
            self.depth_cell.cell_contents = 0
            self._due = None

    def _arm(self) -> None:
        """Re-arm the countdown: only right after every budget was checked
        (``budget_check``) or at the start of a call (``enter``)."""
        chunk = self._countdown(self.depth_cell.cell_contents, self._steps_used)
        self._chunk = chunk
        self.steps_cell.cell_contents = chunk

    def _countdown(self, depth: int, steps_used: int) -> int:
        """What the countdown is armed with: never more steps than levels
        left, nor than steps left."""
        chunk = min(CHECK_INTERVAL, max(self.max_depth - depth, 0))
        if self.limits.steps is not None:
            chunk = min(chunk, max(self.limits.steps - steps_used, 0))
        return chunk

    def _settle(self) -> None:
        self._steps_used += self._chunk - self.steps_left

    # -- the slow path of every budget -------------------------------------

    def budget_check(self, level: int = 1) -> None:
        """The countdown ran out: settle it, check every budget, re-arm.

        ``level`` positions a stack overflow: 2 when the caller's prologue
        runs inside its own error handler (a lazy prologue).
        """
        if self.tripped is not None:
            self.steps_cell.cell_contents = _PARKED
            raise self._retrip()
        # _settle and _arm written out: in deep recursion (a sandbox's 200
        # levels) this runs every few hundred calls, and its own cost was a
        # third of what accounting costs fib.
        steps_cell = self.steps_cell
        used = self._steps_used + self._chunk - steps_cell.cell_contents
        self._steps_used = used
        step_limit = self.limits.steps
        if step_limit is not None and used >= step_limit:
            self.trip("steps", f"step budget exhausted ({step_limit} steps)")
        due = self._due
        if due is not None:
            if self._cpu_base is None:
                self._start_cpu_clock()
            if clock.monotonic() >= due:
                self._check_time()
        depth_cell = self.depth_cell
        depth = depth_cell.cell_contents
        if depth > self.max_depth:
            depth_cell.cell_contents -= 1  # the call that went too deep never ran
            self._arm()
            raise StackOverflow("stack overflow", level=level)
        self._chunk = steps_cell.cell_contents = self._countdown(depth, used)
        collector = self.collector
        if collector is not None:
            collector.at_safe_point()

    def run_out(self) -> None:
        """Make the countdown run out now (the watchdog, from its thread)."""
        cell = self.steps_cell
        left = cell.cell_contents
        if left >= 0:
            self._chunk -= left + 1  # the steps it had left were never used
            cell.cell_contents = -1

    # -- time ----------------------------------------------------------------

    def _check_time(self) -> None:
        """Trip the time budget if it is out, else say when to look again."""
        now = clock.monotonic()
        time_budget = self.limits.time
        used = self._time_used()
        if used >= time_budget:
            self.trip("time", f"time budget exhausted ({time_budget:g} s)")
        backstop = self._started + WALL_BACKSTOP * time_budget
        if now >= backstop:
            self.trip("time", f"time budget exhausted ({time_budget:g} s; "
                              f"{WALL_BACKSTOP * time_budget:g} s of wall-clock time)")
        self._due = min(now + (time_budget - used), backstop)

    def reserve_time(self, seconds: float) -> None:
        """Work of about ``seconds`` that can't be interrupted is about to
        run: end the call on its time budget now if it would not fit."""
        time_budget = self.limits.time
        if time_budget is None or self.entries == 0:
            return
        if self._time_used() + seconds > time_budget:
            self.trip("time", f"time budget exhausted ({time_budget:g} s; the compile of "
                              f"loaded code would take about {seconds:.1f} s more)")

    def _start_cpu_clock(self) -> None:
        """Switch the call from wall time to its thread's CPU time."""
        so_far = clock.monotonic() - self._started - (clock.gc_pauses() - self._gc_at_start)
        self._cpu_base = clock.charged() - max(so_far, 0.0)

    def _time_used(self) -> float:
        if self._cpu_base is None:
            self._start_cpu_clock()
        return clock.charged() - self._cpu_base

    def charge(self, steps: int) -> None:
        """Charge ``steps`` units of library work."""
        cell = self.steps_cell
        left = cell.cell_contents - steps
        cell.cell_contents = left
        if left < 0:
            self.budget_check()

    def stack_overflow(self, level: int) -> None:
        """A call found itself a level too deep (when there is no countdown
        to find it); the call never ran, so it gives its level back."""
        self.depth_cell.cell_contents -= 1
        raise StackOverflow("stack overflow", level=level)

    def charge_memory(self, nbytes: int) -> None:
        """Account an allocation; call *before* making something large."""
        left = self.memory_left - nbytes
        self.memory_left = left
        if left < 0:
            self.memory_left = 0
            self.trip("memory", f"memory budget exhausted ({self.limits.memory} bytes)")

    def trip(self, limit: str, message: str):
        error = LuaLimitError(limit, message)
        self.tripped = error
        self._trip_message = message
        self.steps_cell.cell_contents = _PARKED
        raise error

    def _retrip(self) -> LuaLimitError:
        return LuaLimitError(self.tripped.limit, self._trip_message)


def _default_stdout(text: str) -> None:
    """Lua strings are bytes: write them as bytes when stdout allows it."""
    stdout = sys.stdout
    buffer = getattr(stdout, "buffer", None)
    if buffer is None:
        stdout.write(text)
        return
    stdout.flush()
    buffer.write(text.encode("latin-1"))
