"""How deep Lua may recurse, and the threads that give it room to.

Each Lua call is a few nested Python calls, so a Lua program's depth is
bounded by two things Python owns: the interpreter's recursion limit and
the C stack of the thread (on Python 3.10 every Python call takes C stack).
A runtime that allows deep recursion therefore runs its Lua code on a thread
started with a large stack, and raises the recursion limit to match.  Stack
memory is virtual: only the pages a program really touches cost anything.

Every such figure lives here, so the ``luapy`` command, ``LuaRuntime``, the
loader and the deep-stack thread agree on them.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
import weakref

#: Python frames one Lua call level may take (the generated function plus
#: call helpers, pcall, metamethods); the recursion limit is raised to fit.
FRAMES_PER_LEVEL = 8
#: Runtimes allowing deeper recursion than this run their calls on a thread
#: of their own with a large stack: the caller's thread may have only a few
#: megabytes.
DEEP_STACK_THRESHOLD = 1000
#: The stack of that thread: room for ``options.UNLIMITED``'s depth at the
#: ~5 KiB a Lua level measures.
DEEP_STACK_BYTES = 1024 * 1024 * 1024
#: The recursion limit on that thread: ``UNLIMITED.depth`` levels of
#: ``FRAMES_PER_LEVEL`` frames each, with room to spare.
DEEP_RECURSION_LIMIT = 2_000_000
#: The parser never builds a tree deeper than 1,000 levels; resolving and
#: compiling recurse a few Python frames per level.
COMPILE_FRAMES = 1000 * 6 + 2000

# threading.stack_size is process-wide: whoever starts a thread with a
# stack of its own sets it just for that start, under this lock.
_stack_size_lock = threading.Lock()


def raise_recursion_limit(needed: int) -> None:
    """Raise Python's recursion limit to at least ``needed`` (never lower it)."""
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


def recursion_limit_for(max_depth: int) -> int:
    """The recursion limit a runtime allowing ``max_depth`` Lua levels needs."""
    return max_depth * FRAMES_PER_LEVEL + 2000


def ensure_compile_headroom() -> None:
    """Make room above the current frame for compiling one chunk."""
    frames = 0
    frame = sys._getframe()
    while frame is not None:
        frames += 1
        frame = frame.f_back
    raise_recursion_limit(frames + COMPILE_FRAMES)


def start_thread(target, args=(), *, name: str, stack_bytes: int,
                 daemon: bool = True) -> threading.Thread:
    """Start a thread with a stack of ``stack_bytes`` (or the platform's
    default, where it refuses that size)."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=daemon)
    with _stack_size_lock:
        previous = threading.stack_size()
        try:
            threading.stack_size(stack_bytes)
        except (ValueError, RuntimeError):
            previous = None
        try:
            thread.start()
        finally:
            if previous is not None:
                threading.stack_size(previous)
    return thread


def raise_in_thread(ident: int | None, exception: type[BaseException] | None) -> bool:
    """Raise ``exception`` in thread ``ident`` at its next Python instruction
    (CPython only; False elsewhere).  ``None`` cancels a pending one."""
    if ident is None:
        return False
    try:
        import ctypes
    except ImportError:
        return False
    set_async_exc = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)
    if set_async_exc is None:
        return False
    exc = ctypes.py_object(exception) if exception is not None else None
    return set_async_exc(ctypes.c_ulong(ident), exc) == 1


#: Seconds between two deliveries of an interrupt not yet seen arrive: an
#: asynchronous exception that lands in a ``__del__``, a weakref or
#: collection callback is printed as "Exception ignored" and lost.
REDELIVER_EVERY = 0.25

#: Seconds between two looks at pending signals by a main thread waiting
#: for a call on the deep-stack thread (None: it sleeps until the call
#: ends, as it did before; only for tests).
SIGNAL_POLL = 0.05

#: Interrupts delivered and not yet seen caught: thread ident -> the
#: executor whose call it interrupts.
_undelivered: dict = {}
_undelivered_lock = threading.Lock()


def interrupt_caught(error: BaseException) -> None:
    """Lua code caught ``error`` (``pcall``, ``xpcall``, ``coroutine.resume``):
    if it is the interrupt of this thread's call, it has arrived and is
    delivered no more."""
    if _undelivered:
        executor = _undelivered.get(threading.get_ident())
        if executor is not None and isinstance(error, executor._interrupted):
            executor._arrived()


class DeepStackExecutor:
    """Runs calls, one at a time, on one long-lived thread with a deep stack.

    ``run(function, *args)`` returns what ``function`` returns there, or
    raises what it raised.  A call made from that thread itself (Lua called
    Python called Lua) runs right away.
    """

    def __init__(self):
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._busy = False
        self._interrupted: type[BaseException] = KeyboardInterrupt

    @property
    def thread(self) -> threading.Thread | None:
        """The thread, once the first call has started it."""
        return self._thread

    def interrupt(self, exception: type[BaseException]) -> bool:
        """Raise ``exception`` in the call running now, if there is one.

        It is raised again every ``REDELIVER_EVERY`` seconds until Lua code
        catches it (``interrupt_caught``) or the call ends: CPython loses an
        asynchronous exception that lands in a finalizer or a callback."""
        thread = self._thread
        with _undelivered_lock:
            if thread is None or not self._busy:
                return False
            self._interrupted = exception
            if not raise_in_thread(thread.ident, exception):
                return False
            first = thread.ident not in _undelivered
            _undelivered[thread.ident] = self
        if first:
            threading.Thread(target=self._redeliver, args=(thread.ident, exception),
                             name="luapy-interrupt", daemon=True).start()
        return True

    def _redeliver(self, ident: int, exception) -> None:
        while True:
            time.sleep(REDELIVER_EVERY)
            with _undelivered_lock:
                if _undelivered.get(ident) is not self or not self._busy:
                    return
                raise_in_thread(ident, exception)

    def _arrived(self) -> None:
        """The interrupt was caught (on the executor's thread): stop, and
        cancel a delivery not raised yet."""
        with _undelivered_lock:
            ident = threading.get_ident()
            if _undelivered.pop(ident, None) is not None:
                raise_in_thread(ident, None)

    def _call_ended(self) -> None:
        with _undelivered_lock:
            self._busy = False
            thread = self._thread
            if thread is not None and _undelivered.pop(thread.ident, None) is not None:
                raise_in_thread(thread.ident, None)

    def _start(self) -> threading.Thread:
        thread = start_thread(_serve, (self._requests,), name="luapy-deep-stack",
                              stack_bytes=DEEP_STACK_BYTES)
        weakref.finalize(self, self._requests.put, None)
        return thread

    def run(self, function, *args):
        if threading.current_thread() is self._thread:
            return function(*args)
        with self._lock:
            if self._thread is None:
                self._thread = self._start()
        done = threading.Event()
        outcome: list = []
        self._busy = True
        try:
            self._requests.put((function, args, outcome, done))
            if SIGNAL_POLL is not None and threading.current_thread() is threading.main_thread():
                # Python runs signal handlers on the main thread only, when
                # it runs bytecode.  A signal whose C handler ran on another
                # thread (the kernel may hand a process's signal to any of
                # them) never wakes a main thread blocked on a lock: Ctrl-C
                # waited for the call to end (the luapy command's Ctrl-C
                # test hung so, often under load).  So it looks now and then.
                while not done.wait(SIGNAL_POLL):
                    pass
            else:
                done.wait()
        finally:
            self._call_ended()
        if not outcome:  # the interrupt landed between the call and its answer
            raise self._interrupted()
        ok, value = outcome
        if ok:
            return value
        raise value


def _serve(requests: queue.SimpleQueue) -> None:
    raise_recursion_limit(DEEP_RECURSION_LIMIT)
    while True:
        try:
            request = requests.get()
            if request is None:
                return
            function, args, outcome, done = request
            try:
                try:
                    result = (True, function(*args))
                except BaseException as error:  # handed back to the calling thread
                    result = (False, error)
                outcome.extend(result)
            finally:
                # Let go before answering: an idle thread must not keep the
                # caller's runtime alive (the caller may collect it at once).
                request = function = args = outcome = result = None
                done.set()
        except BaseException:  # an interrupt that came as the call ended
            pass


__all__ = [
    "COMPILE_FRAMES", "DEEP_RECURSION_LIMIT", "DEEP_STACK_BYTES",
    "DEEP_STACK_THRESHOLD", "DeepStackExecutor", "FRAMES_PER_LEVEL",
    "ensure_compile_headroom", "interrupt_caught", "raise_in_thread", "raise_recursion_limit",
    "recursion_limit_for", "start_thread",
]
