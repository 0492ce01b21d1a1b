"""A time budget no Lua code can dodge: one thread that forces checks.

Budgets are checked cooperatively (``luapy.runtime.state``): the budget
check runs when a call's step countdown runs out.  A plugin that does a lot
of work per counted step (a slow host function called in a loop, a library
call whose work is under-charged) reaches the check rarely, and would
overrun its time budget by as much.  The watchdog enforces the deadline
from outside the Lua thread: when a call's time may be up it makes the
countdown run out (``State.run_out``), so the very next counted step runs
the budget check, which measures the call's time exactly and trips
``limit_time`` or says when to look again.

One daemon thread per process serves every runtime.  It keeps a heap of
``(when, order, weakref to State)``, at most one entry per runtime (two for
a moment during a race, harmlessly), and sleeps until the earliest.  The
State tells it when to look through two attributes:

* ``_due``: ``None`` between calls from Python; during one, the earliest
  wall-clock time (``time.monotonic``) at which the call's time budget
  could run out.  The call charges at most one second per second, so
  ``_due`` is a safe time to look; each check that finds time left moves
  it on.
* ``_watched``: whether the heap holds an entry for it (written under the
  watchdog's lock; read without it on the fast path of ``State.enter``).

An entry left by an earlier call is moved to the current call's ``_due``
when it comes up, and dropped if the runtime is between calls; the next
call re-registers it.  So a runtime called thousands of times a second
costs the watchdog one wake-up per time budget, and a process without time
budgets never starts the thread.  Once a call is overdue the countdown is
made to run out again every ``REPOKE`` seconds until the call ends, because
the write can be lost to a racing ``_steps -= 1`` in the Lua thread.

Where threads can't be started (Pyodide), ``watch`` does nothing and time
is enforced by the budget checks alone.  After ``os.fork`` the child starts
its own watchdog on demand.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import weakref

from .clock import monotonic

#: Seconds between two forced checks of a call that is overdue.
REPOKE = 0.005


class _Watchdog:
    def __init__(self):
        self._reset()

    def _reset(self) -> None:
        # Re-entrant: a collection while the lock is held may run a weakref
        # callback that starts a call (``corolib`` freeing a coroutine).
        self.lock = threading.RLock()
        self.wakeup = threading.Condition(self.lock)
        self.heap: list = []
        self.order = itertools.count()
        self.thread = None
        self.unavailable = False

    def watch(self, st) -> None:
        """Watch ``st``'s current call (``st._due`` is set)."""
        with self.lock:
            if st._watched or self.unavailable:
                return
            if self.thread is None and not self._start():
                return
            self._push(st._due, weakref.ref(st), st)

    def _push(self, when: float, ref, st) -> None:
        heapq.heappush(self.heap, (when, next(self.order), ref))
        st._watched = True
        if self.heap[0][2] is ref:
            self.wakeup.notify()

    def _start(self) -> bool:
        thread = threading.Thread(target=self._run, name="luapy-watchdog", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # no threads here: the budget checks alone
            self.unavailable = True
            return False
        self.thread = thread
        return True

    def _run(self) -> None:
        heap = self.heap
        with self.wakeup:
            while True:
                if not heap:
                    self.wakeup.wait()
                    continue
                now = monotonic()
                if heap[0][0] > now:
                    self.wakeup.wait(heap[0][0] - now)
                    continue
                self._poke(heapq.heappop(heap)[2], now)

    def _poke(self, ref, now: float) -> None:
        """Handle one due entry (its own frame: no State stays referenced
        from the watchdog's loop while it waits, which would keep a dropped
        runtime alive)."""
        st = ref()
        if st is None:
            return
        # Cleared before ``_due`` is read: a call starting now
        # either sees False and registers, or is seen here.
        st._watched = False
        due = st._due
        if due is None:
            return
        if due <= now:
            st.run_out()
            due = now + REPOKE
        self._push(due, ref, st)

    def after_fork(self) -> None:
        """In a forked child: the thread is gone, and maybe a held lock."""
        stale = self.heap
        self._reset()
        for _, _, ref in stale:
            st = ref()
            if st is not None:
                st._watched = False


_watchdog = _Watchdog()
watch = _watchdog.watch

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_watchdog.after_fork)
