"""The ``coroutine`` library: Lua threads as chains of Python generators.

A coroutine needs a stack of its own that can stop half-way and go on
later.  No thread is ever made for one: code inside a coroutine runs in
the *generator form* the compiler gives every Lua function
(``luapy.compile.generator``), where each call is ``yield from`` the
callee's generator form.  The chain of Lua frames from the coroutine's body
down to ``coroutine.yield`` is then a chain of Python generators:
``yield`` is a Python ``yield`` at its bottom, which suspends the whole
chain, and ``resume`` is a ``send`` at its top.  A suspended coroutine is
nothing but those generator objects, a few hundred bytes a frame.

Builtins that call Lua code back (``pcall``, ``xpcall``, the operators'
metamethods, ``table.sort``'s comparator, ``string.gsub``'s callback) have
generator forms too, so a yield crosses them.  Any other builtin behaves as
a C function does in lua5.4: Lua code it calls runs in the plain form, and
a yield there fails with "attempt to yield across a C-call boundary".

Budgets need no hand-over: everything runs on the caller's thread, and the
step countdown and the time are the call's.  ``st.depth`` counts nested Lua
calls; a coroutine keeps its own depth relative to where it was resumed,
continuing on top of its resumer's depth, and the resumer's depth is
restored when control comes back.  Nested resumes are what lua5.4 limits
with its C stack (LUAI_MAXCCALLS): beyond ``MAX_NESTED_RESUMES``, or with
no depth left for the coroutine to make a call, ``resume`` fails with "C
stack overflow".

A suspended coroutine that is garbage collected is dropped as in lua5.4:
its pending ``<close>`` variables are not closed (only ``coroutine.close``
and ``LuaRuntime.close`` close them).  ``Limits.coroutines`` bounds how many may be started and
not finished at once; each is charged to the memory budget for what its
record and its suspended frames hold.
"""

from __future__ import annotations

import weakref

from ..errors import LuaError, LuaException, LuaLimitError
from ..runtime.args import arg_error, check_function, register, type_error
from ..runtime.clock import charged_collect
from ..runtime.frames import COROUTINE_BASE_CODES
from ..runtime.generators import generator_form
from ..runtime.stack import interrupt_caught
from ..runtime.values import Coroutine, Function, Table
from .base import forget_error_lines, keep_error_lines

#: lua5.4 (LUAI_MAXCCALLS = 200) lets ``lua`` nest 198 coroutines, counting
#: the C calls that run the main chunk.
MAX_NESTED_RESUMES = 198
#: Charged against the memory budget per coroutine created (measured: the
#: record and its depth box come to about 200 bytes)...
COROUTINE_COST = 256
#: ...when it first suspends (its body's generator and ``yield``'s,
#: measured about 700 bytes for a small body; a coroutine that finishes
#: on its first resume holds nothing)...
START_COST = 768
#: ...and per Lua frame it holds suspended (a generator and its frame,
#: measured 400 to 600 bytes), charged as its deepest yield so far needs.
FRAME_COST = 512

SUSPENDED = "suspended"
RUNNING = "running"
NORMAL = "normal"
DEAD = "dead"


class CoroutineKill(LuaException):
    """Unwinds a suspended coroutine that ``coroutine.close`` closes.

    A ``LuaException`` with a nil value and no position: ``<close>``
    variables on the way are closed with a nil error, exactly as
    ``coroutine.close`` does in lua5.4, while ``pcall`` (which catches
    only ``LuaError``) lets it through.
    """

    def __init__(self):
        super().__init__(None, level=0)


_NO_ERROR = object()


def _keep_error_frames(co, tb) -> None:
    """Keep the frames of traceback ``tb`` (innermost first) for
    ``debug.traceback(co)``, each at the line the error left it on, for as
    long as ``co`` lives."""
    co.error_frames = frames = keep_error_lines(tb)
    # Forgotten when ``co`` goes, or when closing it frees the frames
    # first: once freed, their ids can be a new frame's.
    co.forget_error_frames = weakref.finalize(co, forget_error_lines, tuple(map(id, frames)))


class LuaCoroutine(Coroutine):
    """A Lua thread (``type`` is "thread"): its body's generator chain."""

    __slots__ = ("sched", "body", "status", "gen", "level", "base", "charged", "error", "error_frames",
                 "forget_error_frames", "closing")

    def __init__(self, sched, body):
        self.sched = sched
        #: The function to run, until the first resume starts it.
        self.body = body
        self.status = SUSPENDED
        #: Its body's generator form, from the first resume until it ends.
        self.gen = None
        #: ``[its own call depth]`` above whoever resumes it.  A list the
        #: suspended ``yield`` holds (not the coroutine), to give those
        #: levels back should the generators be dropped unfinished.
        self.level = [0]
        #: The depth of whoever resumed it last (``pcall`` inside it restores
        #: depths relative to this).
        #: A coroutine dead from an error keeps the frames it died in,
        #: innermost first, as lua5.4 keeps its stack (``debug.traceback``).
        self.error_frames = None
        self.forget_error_frames = None
        self.base = 0
        #: What its suspended frames were charged to the memory budget so far.
        self.charged = 0
        #: The error it died with, until ``coroutine.close`` reports it.
        self.error = _NO_ERROR
        #: ``coroutine.close`` is unwinding it: no ``pcall`` inside it may
        #: catch what a ``__close`` raises (lua5.4 unwinds the thread's
        #: stack outside all of them), or its code would run on.
        self.closing = False


def _plain_body(fn, args):
    """The generator form of a body that has none (a builtin)."""
    return fn.call(*args)
    yield  # noqa: a generator that never yields


class _Scheduler:
    """All coroutine bookkeeping of one runtime."""

    def __init__(self, st):
        self.st = st
        self.depth_cell = st.depth_cell
        self.steps_cell = st.steps_cell
        self.max_depth = st.max_depth
        #: The main "thread": what runs when no coroutine does.
        self.main = LuaCoroutine(self, None)
        self.main.status = RUNNING
        self.current = self.main
        #: Resumes in progress.
        self.nested = 0
        #: Started coroutines that have not ended nor been collected...
        self.live: weakref.WeakSet = weakref.WeakSet()
        #: ...at most this many (``Limits.coroutines``).
        self.max_live = st.options.coroutine_limit
        #: Coroutines started since the last collection forced by the cap.
        self.started_since_collect = 0
        #: Set by ``debug.sethook`` (``debuglib``): called at each switch
        #: with the coroutine that runs from now on.
        self.on_switch = None

    def create(self, body: Function) -> LuaCoroutine:
        self.st.charge_memory(COROUTINE_COST)
        return LuaCoroutine(self, body)

    def resume(self, co: LuaCoroutine, args):
        """Run ``co`` until it yields or ends: ``(True, values)`` or
        ``(False, error value)``.  Raises what must not be caught."""
        if co.status is not SUSPENDED:
            if co.status is DEAD:
                return False, "cannot resume dead coroutine"
            return False, "cannot resume non-suspended coroutine"
        depth_cell = self.depth_cell
        resumer_depth = depth_cell.cell_contents
        level = co.level
        depth = resumer_depth + level[0]
        if depth >= self.max_depth or self.nested >= MAX_NESTED_RESUMES:
            return False, "C stack overflow"
        gen = co.gen
        if gen is None:
            gen = self._start(co, args)
            args = None
        # The switch.  Control comes back at the yield (``send`` returns
        # what it yields) or when the body ends, one way or another.
        previous = self._enter(co, resumer_depth, depth)
        try:
            values = gen.send(args)
        except StopIteration as returned:
            return True, self._ended(co, previous, resumer_depth, returned.value)
        except CoroutineKill:
            self._ended(co, previous, resumer_depth, None)
            return True, ()
        except LuaLimitError:       # before LuaError, its base class
            self._ended(co, previous, resumer_depth, None)
            raise
        except LuaError as error:
            self._ended(co, previous, resumer_depth, None)
            interrupt_caught(error)
            co.error = error.value
            _keep_error_frames(co, error.__traceback__.tb_next)
            return False, error.value
        except RecursionError:
            self._ended(co, previous, resumer_depth, None)
            co.error = "stack overflow"
            return False, "stack overflow"
        except BaseException:       # SystemExit, KeyboardInterrupt, bugs
            self._ended(co, previous, resumer_depth, None)
            raise
        # Yielded.
        self.nested -= 1
        self.current = previous
        previous.status = RUNNING
        if self.on_switch is not None:
            self.on_switch(previous)
        co.status = SUSPENDED
        own = level[0] = depth_cell.cell_contents - resumer_depth
        depth_cell.cell_contents = resumer_depth
        held = START_COST + FRAME_COST * own
        if held > co.charged:
            self.st.charge_memory(held - co.charged)
            co.charged = held
        return True, values

    def _enter(self, co: LuaCoroutine, resumer_depth: int, depth: int) -> LuaCoroutine:
        """Make ``co`` the running coroutine, ``depth`` deep; returns the
        one that was running (now "normal")."""
        previous = self.current
        previous.status = NORMAL
        co.status = RUNNING
        self.current = co
        self.nested += 1
        if self.on_switch is not None:
            self.on_switch(co)
        co.base = resumer_depth
        self.depth_cell.cell_contents = depth
        if self.steps_cell.cell_contents > self.max_depth - depth:
            self.st.depth = depth       # lowers the countdown to the levels left
        return previous

    def _start(self, co: LuaCoroutine, args):
        """A first resume: the body's generator, started with ``args``."""
        if len(self.live) >= self.max_live:
            self._make_room()
        body = co.body  # kept while it runs, as lua5.4's stack keeps it (debug.getinfo's func)
        gen = body.gen
        if gen is None:
            gen = generator_form(self.st, body) if body.proto is not None else None
        gen = gen(*args) if gen is not None else _plain_body(body, args)
        co.gen = gen
        self.live.add(co)
        self.started_since_collect += 1
        return gen

    def _ended(self, co, previous, resumer_depth, results):
        """Bookkeeping once ``co``'s body has ended; passes ``results`` on."""
        self.nested -= 1
        self.current = previous
        previous.status = RUNNING
        if self.on_switch is not None:
            self.on_switch(previous)
        co.status = DEAD
        co.gen = co.body = None
        self.live.discard(co)
        self.st.depth_cell.cell_contents = resumer_depth
        return results

    def _make_room(self) -> None:
        """At the cap: collect unreachable coroutines, or fail.

        Those in reference cycles are only found by a collection.  One is
        forced at most once per quarter of the cap's starts, so a script
        that keeps hitting the cap can't make the host collect its whole
        heap over and over (and the collection is charged to it).
        """
        if self.started_since_collect > self.max_live // 4:
            self.started_since_collect = 0
            charged_collect()
        if len(self.live) >= self.max_live:
            raise LuaError(f"too many coroutines (at most {self.max_live} may be running or suspended)")

    def kill(self, co: LuaCoroutine):
        """Unwind a started, suspended coroutine; ``(ok, error value)``."""
        resumer_depth = self.depth_cell.cell_contents
        depth = resumer_depth + co.level[0]
        if depth >= self.max_depth or self.nested >= MAX_NESTED_RESUMES:
            # Closing nests like resuming (lua_closethread counts its C
            # calls on top of the closer's): cstack.lua:108.  The thread
            # is reset all the same, its variables left unclosed.
            co.status = DEAD
            gen, co.gen = co.gen, None
            self.live.discard(co)
            gen.close()
            return False, "C stack overflow"
        previous = self._enter(co, resumer_depth, depth)
        gen = co.gen
        co.closing = True
        try:
            gen.throw(CoroutineKill())
            while True:
                # A ``__close`` yielded: closing can't be resumed, so the
                # yield fails where it was made (lua5.4: from a C call), and
                # the variables left close with that error.
                gen.throw(LuaError("attempt to yield across a C-call boundary", level=0))
        except (StopIteration, CoroutineKill):
            self._ended(co, previous, resumer_depth, None)
            return True, None
        except LuaLimitError:
            self._ended(co, previous, resumer_depth, None)
            raise
        except LuaError as error:
            self._ended(co, previous, resumer_depth, None)
            return False, error.value
        except BaseException:
            self._ended(co, previous, resumer_depth, None)
            raise

    def yield_(self):
        """The plain form of ``coroutine.yield``: only for the errors."""
        if self.current is self.main:
            raise LuaError("attempt to yield from outside a coroutine", level=0)
        raise LuaError("attempt to yield across a C-call boundary", level=0)


def suspended_frame(co):
    """The innermost Python frame of a suspended coroutine, or None."""
    gen = getattr(co, "gen", None)
    frame = None
    while gen is not None and getattr(gen, "gi_frame", None) is not None:
        frame = gen.gi_frame
        gen = gen.gi_yieldfrom
    return frame


def shutdown(st) -> None:
    """``LuaRuntime.close``: close every suspended coroutine, as
    ``coroutine.close`` does (their pending ``<close>`` variables run)."""
    sched = getattr(st, "coroutines", None)
    if sched is None:
        return
    outermost = st.enter()
    try:
        for co in list(sched.live):
            if co.status is SUSPENDED:
                try:
                    sched.kill(co)
                except Exception:  # noqa: BLE001 - nothing is left to report to
                    pass
    finally:
        st.leave(outermost)


# An error unwinding a coroutine stops where it was resumed.
COROUTINE_BASE_CODES.update((_Scheduler.resume.__code__, _Scheduler.kill.__code__))


# ------------------------------------------------------------ the library


def open(st) -> Table:
    sched = _Scheduler(st)
    st.coroutines = sched
    lib = Table()

    def check_coroutine(args, n: int, fname: str) -> LuaCoroutine:
        value = args[n - 1] if len(args) >= n else None
        if type(value) is not LuaCoroutine:
            type_error(args, n, fname, "thread")
        if value.sched is not sched:
            arg_error(n, fname, "coroutine of another runtime")
        return value

    def create(*args):
        fn = check_function(args, 1, "create")
        return (sched.create(fn),)

    def resume(*args):
        co = args[0] if args else None
        if type(co) is not LuaCoroutine or co.sched is not sched:
            co = check_coroutine(args, 1, "resume")
        ok, value = sched.resume(co, args[1:])
        if ok:
            return (True, *value)
        return (False, value)

    def lua_yield(*args):
        sched.yield_()

    def yield_generator(*args):
        level = sched.current.level
        try:
            return (yield args)
        except GeneratorExit:
            # Dropped while suspended (collected): the frames unwinding
            # give back the levels they took, which the resumer already
            # took back; make that come out even.
            st.depth_cell.cell_contents += level[0]
            raise

    def wrap(*args):
        fn = check_function(args, 1, "wrap")
        co = sched.create(fn)

        def call(*args):
            ok, value = sched.resume(co, args)
            if ok:
                return value
            co.error = _NO_ERROR  # already reported: close() says true
            if type(value) is str:
                # luaB_auxwrap adds the caller's position to string errors.
                raise LuaError(value)
            raise LuaError(value, level=0)

        return (Function(call, "wrap"),)

    def status(*args):
        return (check_coroutine(args, 1, "status").status,)

    def running(*args):
        current = sched.current
        return (current, current is sched.main)

    def isyieldable(*args):
        if args:
            return (check_coroutine(args, 1, "isyieldable") is not sched.main,)
        # Called plainly: from the main thread, or from Lua code that a
        # builtin without a generator form called (no yield can cross it).
        return (False,)

    def isyieldable_generator(*args):
        if args:
            return (check_coroutine(args, 1, "isyieldable") is not sched.main,)
        return (True,)
        yield  # noqa: a generator that never yields

    def close(*args):
        co = check_coroutine(args, 1, "close")
        status = co.status
        if status == SUSPENDED:
            if co.gen is None:        # never started: nothing to unwind
                co.status = DEAD
                co.body = None
                return (True,)
            ok, error = sched.kill(co)
            return (True,) if ok else (False, error)
        if status == DEAD:
            error, co.error = co.error, _NO_ERROR
            if co.error_frames is not None:  # lua_closethread frees the stack it died in
                co.forget_error_frames()
                co.error_frames = None
            if error is _NO_ERROR:
                return (True,)
            return (False, error)
        raise LuaError(f"cannot close a {status} coroutine")

    register(lib, "create", create)
    register(lib, "resume", resume)
    register(lib, "yield", lua_yield).give_generator_form(yield_generator)
    register(lib, "wrap", wrap)
    register(lib, "status", status)
    register(lib, "running", running)
    register(lib, "isyieldable", isyieldable).give_generator_form(isyieldable_generator)
    register(lib, "close", close)
    return lib


__all__ = ["COROUTINE_COST", "CoroutineKill", "LuaCoroutine", "MAX_NESTED_RESUMES", "open", "shutdown",
           "suspended_frame"]
