"""The clock a time budget is measured with: the plugin's own time.

A time budget measured in wall-clock time charges a plugin for what the
host does: a full garbage collection of a large host heap, or a busy
machine that leaves the plugin's thread waiting for a core.  So a call is
charged the CPU time of the thread that runs its Lua (``thread_cpu``), less
the CPU time that thread spent in generation-2 collections, whoever
triggered them: a full collection walks the whole host heap, which is the
host's cost.  Younger generations are bounded by the allocations since the
last collection and stay charged, as do the collections Lua itself asks for
(``charged_collect``).

``State`` owns the accounting of a call (``luapy.runtime.state``); this
module only provides the clocks and the collection bookkeeping:

* ``charged()``: this thread's CPU time minus its generation-2 collections;
* ``gc_pauses()``: wall seconds spent in generation-2 collections so far, on
  any thread (a call charges wall time until it first reads its CPU clock,
  see ``State``, and is credited these pauses).

Where the platform has no per-thread CPU clock, ``thread_cpu`` is the wall
clock: the budget is then wall time minus full collections.
"""

from __future__ import annotations

import gc
import threading
import time

monotonic = time.monotonic


def _pick_thread_clock():
    try:
        time.thread_time()
    except (AttributeError, OSError):  # no per-thread CPU clock (some WASM builds)
        return monotonic
    return time.thread_time


#: CPU seconds used by the calling thread.
thread_cpu = _pick_thread_clock()


class _Collections:
    """What generation-2 collections cost, per thread and in total."""

    def __init__(self):
        #: Wall seconds spent in generation-2 collections, all threads.
        self.paused = 0.0
        #: Per thread: ``cpu`` seconds of its own generation-2 collections,
        #: the ``started`` readings of one in progress, and ``charging``
        #: while Lua itself asked for a collection.
        self.local = threading.local()
        self.installed = False
        self.lock = threading.Lock()

    def callback(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        local = self.local
        if phase == "start":
            local.started = (thread_cpu(), monotonic())
            return
        started = getattr(local, "started", None)
        if started is None:
            return
        local.started = None
        if getattr(local, "charging", False):
            return
        cpu, wall = started
        self.paused += monotonic() - wall
        local.cpu = getattr(local, "cpu", 0.0) + (thread_cpu() - cpu)


_collections = _Collections()


def install() -> None:
    """Start crediting collections (once per process; cheap to repeat).

    Registered only when a runtime with a time budget is made, so hosts
    without time budgets pay nothing per collection.
    """
    if _collections.installed:
        return
    with _collections.lock:
        if not _collections.installed:
            gc.callbacks.append(_collections.callback)
            _collections.installed = True


def charged() -> float:
    """This thread's CPU seconds, less its generation-2 collections."""
    return thread_cpu() - getattr(_collections.local, "cpu", 0.0)


def gc_pauses() -> float:
    """Wall seconds all threads have spent in generation-2 collections."""
    return _collections.paused


def charged_collect(generation: int = 2) -> None:
    """``gc.collect(generation)`` on behalf of Lua code: its time stays charged."""
    local = _collections.local
    local.charging = True
    try:
        gc.collect(generation)
    finally:
        local.charging = False
