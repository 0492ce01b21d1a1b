"""Per-runtime state: globals, shared metatables and the budgets.

Budget accounting is designed around a cheap countdown.  Hot paths do
``st.steps_left -= 1`` and only when it goes negative call
``st.budget_check()``, which settles the real step count, looks at the clock
and re-arms the countdown.

The countdown also guards the call depth.  A call adds one level and takes
one step, and the countdown is never armed with more steps than there are
levels left (``_arm``), so a call can't go one level too deep without first
reaching ``budget_check``, which looks at the exact depth.  The prologue of
a call is then one increment and one countdown, with no compare of its own.
Whoever sets the depth from Python goes through the ``depth`` property,
which re-arms.  (A runtime with no step or time budget has nothing to
count: its prologues compare the depth instead, ``stack_overflow``.)

The call depth and the step countdown live in two closure cells rather than
attributes: every function the compiler generates for this runtime shares
them as ``nonlocal`` variables, which is several times cheaper per Lua call
than attribute updates.  Python code reaches them through the ``depth`` and
``steps_left`` properties.  Once a budget trips it stays tripped (the
countdown is parked far below zero) until the host starts a new call, so no
amount of ``pcall`` can keep a runaway plugin alive.
"""

from __future__ import annotations

import sys
import time
import types

from ..errors import LuaError, LuaLimitError
from ..options import Options
from .values import Table

#: How many steps run between two looks at the clock.  Small enough that
#: the countdown stays among CPython's cached small ints (no allocation).
CHECK_INTERVAL = 250
_UNLIMITED = 1 << 62
_PARKED = -(1 << 62)


class State:
    def __init__(self, options: Options):
        self.options = options
        self.limits = options.limits
        self.globals = Table()
        #: The metatable every string shares (``getmetatable("")``).
        self.string_meta: Table | None = None
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
        #: Shared with generated code as its ``_depth`` / ``_steps`` variables.
        self.depth_cell = types.CellType(0)
        #: Starts run out, so the first call settles and arms it.
        self.steps_cell = types.CellType(0)
        self.max_depth = options.limits.depth
        self.memory_left = _UNLIMITED
        self._steps_used = 0
        self._chunk = 0
        self._deadline = None
        self.tripped: LuaLimitError | None = None
        self._entries = 0
        #: Weak tables and finalizers (``luapy.runtime.collector``), set by
        #: the base library; called at budget checks, between operations.
        self.collector = None

    @property
    def depth(self) -> int:
        return self.depth_cell.cell_contents

    @depth.setter
    def depth(self, value: int) -> None:
        self.depth_cell.cell_contents = value
        if self.tripped is None:
            self._settle()
            self._arm()

    @property
    def steps_left(self) -> int:
        return self.steps_cell.cell_contents

    @steps_left.setter
    def steps_left(self, value: int) -> None:
        self.steps_cell.cell_contents = value

    # -- entering from Python ----------------------------------------------

    def enter(self) -> bool:
        """Arm fresh budgets if this is the outermost call from Python.

        Returns whether it was outermost, to pass back to ``leave``.
        """
        self._entries += 1
        if self._entries > 1:
            return False
        limits = self.limits
        self.tripped = None
        self.depth_cell.cell_contents = 0
        self._steps_used = 0
        self._deadline = (time.monotonic() + limits.time) if limits.time is not None else None
        self.memory_left = limits.memory if limits.memory is not None else _UNLIMITED
        self._arm()
        return True

    def leave(self, outermost: bool) -> None:
        self._entries -= 1
        if outermost:
            self.tripped = None
            self.depth_cell.cell_contents = 0

    def _arm(self) -> None:
        limits = self.limits
        chunk = min(CHECK_INTERVAL, max(self.max_depth - self.depth_cell.cell_contents, 0))
        if limits.steps is not None:
            chunk = min(chunk, max(limits.steps - self._steps_used, 0))
        self._chunk = chunk
        self.steps_left = chunk

    def _settle(self) -> None:
        self._steps_used += self._chunk - self.steps_left

    # -- the slow path of every budget -------------------------------------

    def budget_check(self, level: int = 1) -> None:
        """The countdown ran out: settle it, check every budget, re-arm.

        ``level`` positions a stack overflow: 2 when the caller's prologue
        runs inside its own error handler (a lazy prologue).
        """
        if self.tripped is not None:
            self.steps_left = _PARKED
            raise self._retrip()
        self._settle()
        depth_cell = self.depth_cell
        if depth_cell.cell_contents > self.max_depth:
            depth_cell.cell_contents -= 1  # the call that went too deep never ran
            self._arm()
            raise LuaError("stack overflow", level=level)
        limits = self.limits
        if limits.steps is not None and self._steps_used >= limits.steps:
            self.trip("steps", f"step budget exhausted ({limits.steps} steps)")
        if self._deadline is not None and time.monotonic() > self._deadline:
            self.trip("time", f"time budget exhausted ({limits.time:g} s)")
        self._arm()
        if self.collector is not None:
            self.collector.at_safe_point()

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
        raise LuaError("stack overflow", level=level)

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
        self.steps_left = _PARKED
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
