"""The ``coroutine`` library: Lua threads run on Python threads.

The compiler turns Lua into Python closures that call each other on the
Python stack, so a suspended coroutine needs a stack of its own.  Each
running or suspended coroutine gets a Python thread, and control passes
between threads by a strict handoff: exactly one thread of a runtime runs
at any moment, the others are blocked on a lock.  ``resume`` releases the
coroutine's thread and blocks until it yields, returns or fails; ``yield``
releases the resumer and blocks until it is resumed again.  A yield is then
just a blocked thread, so it works across nested Lua calls, ``pcall``,
metamethods and iterators without any help from the compiler.

Threads are started lazily on the first resume (creating a coroutine costs
no thread) and come from a small per-runtime pool of parked workers, so a
program that churns through many short-lived coroutines reuses a handful of
threads.  A runtime holds at most ``Limits.coroutines`` of them: a thread
is started only when the pool is empty and fewer coroutines than that are
running or suspended, and a first resume beyond it is a Lua error ("too
many coroutines"), after one forced collection has freed what it could.
``LuaRuntime.close`` (or collecting the runtime) kills every suspended
coroutine and retires the pool.  A coroutine's thread is released when it
returns, fails, is closed, or when its Lua object is garbage collected.  A
weak reference on the Lua-visible object notices the collection; the
coroutine is then killed on the thread that holds control (never
concurrently with running Lua), by resuming it with a kill signal that
unwinds its stack as ``coroutine.close`` does, calling pending ``__close``
metamethods with a nil error.  The most
recently collected one is left for the next new coroutine, whose first
resume unwinds it on the way (one thread switch instead of three).  The
thread's frames reference only the internal ``_Thread`` record, never the
Lua object, so dropping the last Lua reference really does free the thread.

Budgets and depth: the runtime's ``State`` is shared by all its threads.
Whichever thread holds control counts steps on the same countdown, and at
each handoff the time used so far passes from one thread's CPU clock to the
next (``State.clock_out``/``clock_in``).  ``st.depth`` counts nested Lua
calls; a coroutine keeps its own depth relative to where it was resumed,
continuing on top of its resumer's depth, and the resumer's depth is
restored when control comes back.  Nested resumes are what lua5.4 limits
with its C stack (LUAI_MAXCCALLS): beyond ``MAX_NESTED_RESUMES``, or with
no depth left for the coroutine to make a call, ``resume`` fails with "C
stack overflow".  That also bounds how many threads one chain of resumes can
hold.
"""

from __future__ import annotations

import _thread
import threading
import weakref

from ..errors import LuaError, LuaException, LuaLimitError
from ..runtime.args import arg_error, check_function, register, type_error
from ..runtime.clock import charged as charged_clock, charged_collect
from ..runtime.values import Coroutine, Function, Table
from ..runtime import stack

#: lua5.4 (LUAI_MAXCCALLS = 200) lets ``lua`` nest 198 coroutines, counting
#: the C calls that run the main chunk.
MAX_NESTED_RESUMES = 198
#: Collected coroutines whose thread may wait for the next new coroutine to
#: unwind them (see ``_Scheduler._collected``).
MAX_DOOMED = 1
#: Parked worker threads a runtime keeps for its next coroutines...
MAX_IDLE_WORKERS = 4
#: ...and how long (seconds) an unused one waits before exiting.
IDLE_TIMEOUT = 30.0
#: Charged against the memory budget per coroutine (lua5.4's ``lua_State``
#: plus its initial stack come to about a kilobyte; our record is smaller)...
COROUTINE_COST = 256
#: ...and per thread started for coroutines (measured: a suspended coroutine
#: holds about 17 KiB of thread stack and state), so that the memory budget
#: also bounds how many coroutines a script can keep suspended.
THREAD_COST = 16 * 1024

SUSPENDED = "suspended"
RUNNING = "running"
NORMAL = "normal"
DEAD = "dead"

# How a coroutine handed control back (``_Thread.outcome``).
YIELDED = "yield"
RETURNED = "return"
FAILED = "error"        # a Lua error: resume returns false, value
CLOSED = "closed"       # unwound by a kill without error
OVER_BUDGET = "limit"   # LuaLimitError: re-raised in the resumer
ESCAPED = "exit"        # SystemExit, KeyboardInterrupt, interpreter bugs


class CoroutineKill(LuaException):
    """Unwinds a suspended coroutine that is being closed or collected.

    A ``LuaException`` with a nil value and no position: ``<close>``
    variables on the way are closed with a nil error, exactly as
    ``coroutine.close`` does in lua5.4, while ``pcall`` (which catches
    only ``LuaError``) lets it through.
    """

    def __init__(self):
        super().__init__(None, level=0)


_NO_ERROR = object()


class _Thread:
    """The machinery behind one Lua coroutine (never visible to Lua).

    The worker thread's frames reference this record, so it must not
    reference the Lua object strongly: ``ref`` is a weak reference whose
    callback queues the record for killing once the object is collected.
    """

    __slots__ = (
        "sched", "body", "status", "worker", "back", "transfer", "outcome",
        "depth", "base", "kill", "resumer_ident", "ref", "error", "__weakref__",
    )

    def __init__(self, sched, body):
        self.sched = sched
        self.body = body
        self.status = SUSPENDED
        #: The ``_Worker`` running it, from the first resume until it ends.
        self.worker = None
        #: Locked; the resumer blocks on it until control comes back.
        self.back = None
        #: Values in flight: resume arguments in, yield/return values or the
        #: error out.
        self.transfer = ()
        self.outcome = None
        #: Its own call depth above the depth of whoever resumes it...
        self.depth = 0
        #: ...which is this, during a resume.
        self.base = 0
        #: Set to make its next (or current) yield raise ``CoroutineKill``.
        self.kill = False
        self.resumer_ident = None
        self.ref = None
        #: The error it died with, until ``coroutine.close`` reports it.
        self.error = _NO_ERROR


class LuaCoroutine(Coroutine):
    """The Lua-visible thread value (``type`` is "thread")."""

    __slots__ = ("_core",)

    def __init__(self, core: _Thread):
        self._core = core


class _CoreRef(weakref.ref):
    """A weak reference to a ``LuaCoroutine`` that knows its ``_Thread``."""

    __slots__ = ("core",)

    def __new__(cls, obj, callback, core):
        self = super().__new__(cls, obj, callback)
        self.core = core
        return self

    def __init__(self, obj, callback, core):
        super().__init__(obj, callback)


# ------------------------------------------------------------ worker threads


class _Worker:
    """One Python thread that runs coroutines, one after another."""

    __slots__ = ("wake", "core", "heir", "ident", "thread", "clock_mark")

    def __init__(self):
        #: Locked while the worker waits; released to hand it control.
        self.wake = _thread.allocate_lock()
        self.wake.acquire()
        self.core = None
        #: A new coroutine to run as soon as ``core`` has been killed.
        self.heir = None
        self.ident = None
        self.thread = None
        #: Its CPU clock when it last handed control back (``State.clock_in``).
        self.clock_mark = None


class _WorkerPool:
    """The parked workers of one runtime.

    Holds no reference to the runtime, so parked threads never keep a
    dropped runtime alive; they exit after ``IDLE_TIMEOUT`` unused.
    """

    __slots__ = ("idle", "lock", "stack_size")

    def __init__(self, stack_size: int):
        self.idle: list[_Worker] = []
        self.lock = _thread.allocate_lock()
        self.stack_size = stack_size

    def take(self):
        with self.lock:
            while self.idle:
                worker = self.idle.pop()
                if worker.thread.is_alive():  # a stray interrupt may have ended it
                    return worker
            return None

    def park(self, worker: _Worker) -> bool:
        with self.lock:
            if len(self.idle) < MAX_IDLE_WORKERS:
                self.idle.append(worker)
                return True
            return False

    def withdraw(self, worker: _Worker) -> bool:
        """Remove an idle worker that wants to exit; False if just taken."""
        with self.lock:
            if worker in self.idle:
                self.idle.remove(worker)
                return True
            return False

    def retire_all(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for worker in idle:
            worker.core = None
            worker.wake.release()


_MAIN_THREAD_IDENT = threading.main_thread().ident
#: Seconds between two looks at pending signals while the main thread waits.
_SIGNAL_POLL = 0.1


def _start_worker(pool: _WorkerPool) -> _Worker:
    """A new worker thread, parked on its ``wake`` lock until given a job."""
    worker = _Worker()
    thread = stack.start_thread(_worker_main, (worker, pool), name="luapy-coroutine",
                                stack_bytes=pool.stack_size)
    worker.ident = thread.ident
    worker.thread = thread
    return worker


def _worker_main(worker: _Worker, pool: _WorkerPool) -> None:
    wake = worker.wake
    worker.clock_mark = charged_clock()
    while True:
        if not wake.acquire(timeout=IDLE_TIMEOUT):
            if pool.withdraw(worker):
                return
            wake.acquire()          # taken at the last moment: a job is coming
        core = worker.core
        if core is None:            # retired by shutdown
            return
        st = core.sched.st
        st.clock_in(worker.clock_mark)
        while True:
            _run_body(core)
            worker.core = None
            core.worker = None
            heir = worker.heir
            if heir is None:
                break
            # ``core`` was a collected coroutine, killed to free this thread
            # for ``heir``, which now runs here without a thread switch.
            worker.heir = None
            run_heir = core.sched.succeed(core, heir, worker)
            core = heir
            if not run_heir:
                break
        core.sched.active_ident = core.resumer_ident
        back = core.back
        del core
        parked = pool.park(worker)
        worker.clock_mark = st.clock_out()
        del st
        back.release()              # control goes back to the resumer
        del back
        if not parked:
            return


def _run_body(core: _Thread) -> None:
    """Run a coroutine's body to its end; record how it ended."""
    body, args = core.body, core.transfer
    core.body = None
    core.transfer = ()
    try:
        results = tuple(body.call(*args))
    except CoroutineKill:
        core.outcome, core.transfer = CLOSED, None
    except LuaLimitError as error:  # before LuaError, its base class
        core.outcome, core.transfer = OVER_BUDGET, error
    except LuaError as error:
        core.outcome, core.transfer = FAILED, error.value
    except RecursionError:
        core.outcome, core.transfer = FAILED, "stack overflow"
    except BaseException as error:  # SystemExit, KeyboardInterrupt, bugs
        core.outcome, core.transfer = ESCAPED, error
    else:
        core.outcome, core.transfer = RETURNED, results


# ---------------------------------------------------------- the scheduler


class _Scheduler:
    """All coroutine bookkeeping of one runtime."""

    def __init__(self, st):
        self.st = st
        self.pool = _WorkerPool(stack.coroutine_stack_bytes(st.max_depth))
        # Parked workers leave with the runtime (they would time out anyway).
        weakref.finalize(self, self.pool.retire_all).atexit = False
        #: The main "thread": what runs when no coroutine does.
        self.main = _Thread(self, None)
        self.main.status = RUNNING
        self.main_object = None
        self.current = self.main
        #: Resumes in progress (each holds a blocked thread).
        self.nested = 0
        #: Started coroutines that have not ended (each holds a thread)...
        self.live: set[_Thread] = set()
        #: ...at most this many (``Limits.coroutines``).
        self.max_live = st.options.coroutine_limit
        #: Threads started since the last collection forced by the cap.
        self.started_since_collect = 0
        #: Coroutines whose Lua object was collected, waiting to be killed.
        self.graveyard: list[_Thread] = []
        #: The Python thread that holds control.
        self.active_ident = None
        #: True while ``_switch`` updates the bookkeeping (not consistent).
        self.switching = False

    # -- creation -----------------------------------------------------------

    def create(self, body: Function) -> LuaCoroutine:
        self.st.charge_memory(COROUTINE_COST)
        core = _Thread(self, body)
        obj = LuaCoroutine(core)
        core.ref = _CoreRef(obj, self._collected, core)
        return obj

    def _collected(self, ref: _CoreRef) -> None:
        try:
            self._free_collected(ref.core)
        except BaseException:  # noqa: BLE001 - a GC callback has nobody to report to;
            pass               # a tripped budget stays tripped for the caller

    def _free_collected(self, core: _Thread) -> None:
        """A coroutine's Lua object was garbage collected: free its thread.

        A weakref callback runs wherever the last reference went away, so
        it only queues the coroutine (list.append is atomic).  Up to
        ``MAX_DOOMED`` wait there for the next new coroutine, whose first
        resume unwinds one of them on the way (saving a thread switch);
        beyond that they are killed at once if this is the thread that
        holds control and we are not mid-switch (a consistent point, like
        those where Lua runs ``__gc``), else at the next coroutine call.
        """
        if core.worker is None or core.status != SUSPENDED:
            return
        self.graveyard.append(core)
        if (len(self.graveyard) > MAX_DOOMED and not self.switching
                and self.active_ident == _thread.get_ident()):
            st = self.st
            outermost = st.enter()          # budgets apply even between host calls
            try:
                self.reap(MAX_DOOMED)
            finally:
                st.leave(outermost)

    def reap(self, keep: int = 0) -> None:
        """Kill collected coroutines until at most ``keep`` are left."""
        graveyard = self.graveyard
        while len(graveyard) > keep:
            core = graveyard.pop(0)
            if core.status == SUSPENDED and core.worker is not None:
                # Errors from __close handlers have nobody to go to; budget
                # errors and exits propagate (the budget stays tripped).
                self.kill(core)

    def _doomed(self):
        """A collected coroutine that still holds a thread, or None."""
        graveyard = self.graveyard
        while graveyard:
            core = graveyard.pop()
            if core.status == SUSPENDED and core.worker is not None:
                return core
        return None

    # -- switching ----------------------------------------------------------

    def resume(self, core: _Thread, args):
        """Run ``core`` until it yields or ends: ``(True, values)`` or
        ``(False, error value)``.  Raises what must not be caught."""
        if len(self.graveyard) > MAX_DOOMED:
            self.reap(MAX_DOOMED)
        status = core.status
        if status != SUSPENDED:
            if status == DEAD:
                return False, "cannot resume dead coroutine"
            return False, "cannot resume non-suspended coroutine"
        st = self.st
        if self.nested >= MAX_NESTED_RESUMES or st.depth + core.depth >= st.max_depth:
            return False, "C stack overflow"
        if core.worker is not None:
            outcome, value = self._switch(core, args)
        else:
            # First resume: find it a thread before touching any bookkeeping.
            if len(self.live) >= self.max_live:
                self._make_room()
            doomed = self._doomed()
            worker = None
            if doomed is None:
                worker = self.pool.take()
                if worker is None:
                    st.charge_memory(THREAD_COST)
                    self.started_since_collect += 1
                    try:
                        worker = _start_worker(self.pool)
                    except RuntimeError:  # the OS refuses another thread
                        return False, "cannot start a thread for the coroutine"
            outcome, value = self._switch(core, args, worker, doomed)
        if outcome == YIELDED or outcome == RETURNED:
            return True, value
        if outcome == FAILED:
            core.error = value
            return False, value
        raise value

    def _make_room(self) -> None:
        """At the cap: free the threads of unreachable coroutines, or fail.

        Collected coroutines wait in the graveyard; those in reference
        cycles are only found by a collection.  One is forced at most once
        per quarter of the cap's thread starts, so a script that keeps
        hitting the cap can't make the host collect its whole heap over and
        over (and the collection is charged to it).
        """
        self.reap()
        if len(self.live) >= self.max_live and self.started_since_collect > self.max_live // 4:
            self.started_since_collect = 0
            charged_collect()
            self.reap()
        if len(self.live) >= self.max_live:
            raise LuaError(f"too many coroutines (at most {self.max_live} may be running or suspended)")

    def kill(self, core: _Thread):
        """Unwind a started, suspended coroutine; ``(ok, error value)``."""
        core.kill = True
        outcome, value = self._switch(core, ())
        if outcome == FAILED:
            return False, value
        if outcome == OVER_BUDGET or outcome == ESCAPED:
            raise value
        return True, None

    def _switch(self, core: _Thread, args, worker=None, doomed=None):
        """Hand control to ``core`` and wait until it hands it back.

        A first resume brings the thread to run it on: an idle ``worker``,
        or the thread of a ``doomed`` (collected) coroutine to unwind first.
        """
        st = self.st
        self.switching = True
        previous = self.current
        resumer_depth = st.depth
        me = _thread.get_ident()
        core.resumer_ident = me
        core.transfer = args
        previous.status = NORMAL
        core.status = RUNNING
        self.current = core
        self.nested += 1
        core.base = resumer_depth
        st.depth = resumer_depth + core.depth
        if core.worker is not None:
            worker = core.worker
        else:
            core.back = _thread.allocate_lock()
            core.back.acquire()
            self.live.add(core)
            if doomed is not None:
                # Its thread first unwinds it (as the running coroutine),
                # then runs ``core``: see ``succeed``.
                worker = doomed.worker
                worker.heir = core
                doomed.kill = True
                doomed.status = RUNNING
                self.current = doomed
                st.depth = resumer_depth + doomed.depth
            else:
                core.worker = worker
                worker.core = core
        # Everything the coroutine may look at is set: let it run.
        self.active_ident = worker.ident
        self.switching = False
        mark = st.clock_out()
        worker.wake.release()
        self._wait(core.back)
        # Control is ours again.
        st.clock_in(mark)
        self.switching = True
        self.active_ident = me
        self.nested -= 1
        self.current = previous
        previous.status = RUNNING
        outcome, value = core.outcome, core.transfer
        core.transfer = ()
        if outcome == YIELDED:
            core.status = SUSPENDED
            core.depth = st.depth - resumer_depth
        else:
            core.status = DEAD
            self.live.discard(core)
        st.depth = resumer_depth
        self.switching = False
        return outcome, value

    def succeed(self, doomed: _Thread, heir: _Thread, worker: _Worker) -> bool:
        """On ``worker``'s thread, which holds control: ``doomed`` has been
        unwound; make ``heir`` the running coroutine.  False if ``heir``
        must not run because the unwinding ran out of budget or exited:
        the resumer then receives that outcome as ``heir``'s."""
        doomed.status = DEAD
        self.live.discard(doomed)
        if doomed.outcome == OVER_BUDGET or doomed.outcome == ESCAPED:
            heir.outcome, heir.transfer = doomed.outcome, doomed.transfer
            heir.body = None
            return False
        self.current = heir
        self.st.depth = heir.base + heir.depth
        heir.worker = worker
        worker.core = heir
        return True

    def _wait(self, lock) -> None:
        """Block until ``lock`` is released by the thread we handed control to.

        Only the main Python thread runs signal handlers (Ctrl-C).  It must
        not run on while the coroutine runs, so the interrupt is forwarded
        to the thread that holds control, which unwinds and hands the
        exception back through the normal path.  The main thread waits in
        slices: a signal delivered to another thread does not interrupt
        its wait, but is handled between two slices.
        """
        poll = _SIGNAL_POLL if _thread.get_ident() == _MAIN_THREAD_IDENT else -1
        forwarded_to = None
        while True:
            try:
                if lock.acquire(True, poll):
                    break
            except BaseException as interrupt:
                target = self.active_ident
                if target != _thread.get_ident():
                    forwarded_to = target
                    stack.raise_in_thread(target, type(interrupt))
        if forwarded_to is not None:
            # If it arrived after that thread stopped running Lua, it must
            # not go off later in the middle of our bookkeeping.
            stack.raise_in_thread(forwarded_to, None)

    def yield_(self, values):
        core = self.current
        if core is self.main:
            raise LuaError("attempt to yield from outside a coroutine", level=0)
        if core.kill:
            raise CoroutineKill()
        core.outcome = YIELDED
        core.transfer = values
        wake = core.worker.wake
        self.active_ident = core.resumer_ident
        st = self.st
        mark = st.clock_out()
        core.back.release()
        wake.acquire()
        # Resumed (the resumer did all the bookkeeping) or told to die.
        st.clock_in(mark)
        if core.kill:
            raise CoroutineKill()
        args = core.transfer
        core.transfer = ()
        return args

    # -- teardown -----------------------------------------------------------

    def shutdown(self) -> None:
        """Kill every suspended coroutine and retire idle workers."""
        st = self.st
        outermost = st.enter()
        try:
            self.graveyard.clear()
            for core in list(self.live):
                if core.status == SUSPENDED and core.worker is not None:
                    try:
                        self.kill(core)
                    except Exception:  # nothing is left to report to
                        pass
        finally:
            st.leave(outermost)
            self.pool.retire_all()

    # -- the main thread ----------------------------------------------------

    def object_of(self, core: _Thread):
        if core is self.main:
            if self.main_object is None:
                self.main_object = LuaCoroutine(self.main)
            return self.main_object
        obj = core.ref()
        if obj is None:
            # Only while a collected coroutine is being unwound (its __close
            # handlers may ask): a stand-in that is never suspended again.
            obj = LuaCoroutine(core)
        return obj


def holds_control(st) -> bool:
    """Whether the calling Python thread is the one running ``st``'s Lua now.

    True inside a coroutine's thread while it runs: a host function called
    from there that calls back into the runtime must run right there (any
    other thread of the runtime is blocked waiting for it).
    """
    sched = getattr(st, "coroutines", None)
    return sched is not None and sched.active_ident == _thread.get_ident()


def shutdown(st) -> None:
    """Release every thread a runtime's coroutines hold (runtime teardown)."""
    sched = getattr(st, "coroutines", None)
    if sched is not None:
        sched.shutdown()


# ------------------------------------------------------------ the library


def open(st) -> Table:
    sched = _Scheduler(st)
    st.coroutines = sched
    lib = Table()

    def check_coroutine(args, n: int, fname: str) -> _Thread:
        if len(sched.graveyard) > MAX_DOOMED:
            sched.reap(MAX_DOOMED)
        value = args[n - 1] if len(args) >= n else None
        if not isinstance(value, LuaCoroutine):
            type_error(args, n, fname, "thread")
        core = value._core
        if core.sched is not sched:
            arg_error(n, fname, "coroutine of another runtime")
        return core

    def create(*args):
        if len(sched.graveyard) > MAX_DOOMED:
            sched.reap(MAX_DOOMED)
        fn = check_function(args, 1, "create")
        return (sched.create(fn),)

    def resume(*args):
        core = check_coroutine(args, 1, "resume")
        ok, value = sched.resume(core, args[1:])
        if ok:
            return (True, *value)
        return (False, value)

    def lua_yield(*args):
        return sched.yield_(args)

    def wrap(*args):
        fn = check_function(args, 1, "wrap")
        co = sched.create(fn)
        core = co._core

        def call(*args):
            # ``co`` is referenced here so the coroutine lives as long as
            # the function; ``core`` alone would not keep it.
            ok, value = sched.resume(co._core, args)
            if ok:
                return value
            core.error = _NO_ERROR  # already reported: close() says true
            if type(value) is str:
                # luaB_auxwrap adds the caller's position to string errors.
                raise LuaError(value)
            raise LuaError(value, level=0)

        return (Function(call, "wrap"),)

    def status(*args):
        return (check_coroutine(args, 1, "status").status,)

    def running(*args):
        if len(sched.graveyard) > MAX_DOOMED:
            sched.reap(MAX_DOOMED)
        core = sched.current
        return (sched.object_of(core), core is sched.main)

    def isyieldable(*args):
        if args:
            core = check_coroutine(args, 1, "isyieldable")
        else:
            if len(sched.graveyard) > MAX_DOOMED:
                sched.reap(MAX_DOOMED)
            core = sched.current
        return (core is not sched.main,)

    def close(*args):
        core = check_coroutine(args, 1, "close")
        status = core.status
        if status == SUSPENDED:
            if core.worker is None:        # never started: nothing to unwind
                core.status = DEAD
                core.body = None
                return (True,)
            ok, error = sched.kill(core)
            return (True,) if ok else (False, error)
        if status == DEAD:
            error, core.error = core.error, _NO_ERROR
            if error is _NO_ERROR:
                return (True,)
            return (False, error)
        raise LuaError(f"cannot close a {status} coroutine")

    register(lib, "create", create)
    register(lib, "resume", resume)
    register(lib, "yield", lua_yield)
    register(lib, "wrap", wrap)
    register(lib, "status", status)
    register(lib, "running", running)
    register(lib, "isyieldable", isyieldable)
    register(lib, "close", close)
    return lib
