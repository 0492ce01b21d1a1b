"""Worker-process isolation for plugins (``resolver serve --isolation process``).

Each plugin runs in its own worker process.  luapy's budgets stop a plugin
from inside; the worker is the backstop for what they can't stop, such as
one long call into a library function:

* a watchdog in the parent: a call that runs past its deadline (the time
  budget plus ``DEADLINE_GRACE``) is killed with its worker, and answered
  as a ``limit`` error on ``time``, which counts towards disabling the
  plugin like any other budget error;
* OS limits in the worker: ``RLIMIT_AS`` caps its address space, and
  ``RLIMIT_CPU`` its CPU time per round trip, in case the parent is gone.

A worker that dies (a crash, an out-of-memory abort, the watchdog) fails
only the call in flight (``crash``, or ``limit_time`` for the watchdog and
SIGXCPU); a fresh worker is started, with the plugin loaded again, and the
other pods go on there.

Pods travel in batches (``call_many``): one pipe round trip carries up to
``BATCH_SIZE`` pods and their answers, so the process boundary costs a few
microseconds per pod rather than a round trip each (``bench/bench_isolation``
measures it).  They travel packed (``pods.pack_meta``: compressed bytes,
which pickle as they are), and are unpacked in the worker.  A plugin has up
to ``processes`` workers: the first starts with it, the others with the
first call too big for one round trip (a resolution pass), and each round
trip then sends every worker a slice, so a pass over 100,000 pods runs on
every CPU the service may use.  To keep a per-call deadline inside a batch, the worker posts
which pod it is on and since when in a small shared array (``progress``),
which the parent reads when a reply is late.  A batch stops early at a
budget error, so the caller sees it before spending more of the plugin's
time.

``WorkerPlugin`` has the interface the chain uses (``name``, ``stats``,
``call``, ``call_many``, ``close``), so the chain does not know where a
plugin runs.  Its counters and output are the parent's: a call is counted,
and its output handed on, when its answer is handed to the caller, in the
order of the pods, whichever worker ran it.
"""

from __future__ import annotations

import collections
import functools
import multiprocessing
import os
import queue
import signal
import threading
from math import ceil
from time import monotonic
from typing import Iterable, Iterator

from luapy import Limits

from .plugins import PLUGIN_LIMITS, CallResult, PluginError, PluginStats

try:
    import resource
except ImportError:  # WebAssembly (Pyodide) and Windows: no OS limits, so no worker mode
    resource = None

#: Default OS limits for a worker.
DEFAULT_ADDRESS_SPACE = 1024 * 1024 * 1024   # bytes
DEFAULT_CPU_SECONDS = 5                        # per call, on top of the time budget
#: How far past its time budget a call may run before its worker is killed.
DEADLINE_GRACE = 0.5
#: A plugin's top level (parse, compile, run) must finish within this many
#: seconds more than its time budget.
LOAD_GRACE = 10.0
#: Pods per round trip.  Past a few hundred the pipe's share of a pod's cost
#: stops shrinking (bench/bench_isolation.py); smaller batches keep a reply
#: small (a few hundred KB) and the work a killed worker loses short (a
#: few milliseconds, redone on its replacement).
BATCH_SIZE = 256
#: Batches sent to a worker ahead of the one it is answering: it starts the
#: next as soon as it has answered one, without waiting for this process.
PIPELINE_DEPTH = 2
#: The most worker processes one plugin gets (``default_processes``): a
#: pass's pods are shared among them, one batch each per round trip.
MAX_PROCESSES = 4
#: A worker hands back what it has once a batch has run this long: the
#: caller (the service's pass) holds its Lua lock per round trip, and an
#: ad-hoc request or a shutdown should not wait for 256 slow calls.
BATCH_SECONDS = 0.25

# Workers are forked from a fork server, single-threaded and warmed up by
# ``worker_preload`` (tens of milliseconds to start one), never from the
# service itself, whose threads make a plain fork unsafe.
# Built on first use: WebAssembly (Pyodide) has no _multiprocessing, and
# importing this module there must still work (``available()`` says no).
@functools.lru_cache(maxsize=None)
def _context():
    import multiprocessing.forkserver  # noqa: F401  (registers the start method)

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([f"{__package__}.worker_preload"])
    return context


# progress[0]: index in the batch of the pod being called; progress[1]: when
# its call started (time.monotonic, the same clock in both processes).
_POD, _STARTED = 0, 1


def _worker_main(conn, *args) -> None:
    """The worker: load one plugin, then answer batches until the pipe closes."""
    try:
        _serve(conn, *args)
    except (BrokenPipeError, ConnectionResetError):
        # The parent went away (it released the plugin, or it stopped)
        # while an answer was on its way: nobody is left to tell.
        pass


def _serve(conn, progress, name, source, chunkname, limits, address_space, cpu_seconds) -> None:
    if address_space:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    from .plugins import LuaPlugin

    output: list[str] = []
    try:
        plugin = LuaPlugin(name, source, chunkname=chunkname, limits=limits,
                           on_output=lambda _name, line: output.append(line))
    except PluginError as exc:
        conn.send(("load_failed", exc.kind, exc.message, exc.limit, output))
        return
    conn.send(("loaded", output[:]))
    output.clear()
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    call = plugin.call
    batches = _read_ahead(conn)
    while True:
        batch = batches.get()
        if batch is None:
            return
        if cpu_seconds:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            allowance = cpu_seconds + ceil(len(batch) * (limits.time or 0))
            soft = int(usage.ru_utime + usage.ru_stime) + 1 + allowance
            resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
        replies = []
        batch_started = monotonic()
        for index, meta_json in enumerate(batch):
            if index and monotonic() - batch_started > BATCH_SECONDS:
                break  # the rest go in the next round trip
            progress[_STARTED] = monotonic()   # written before the index: see _await
            progress[_POD] = index
            status, workload_type, workload_name, error, seconds = call(meta_json)
            # Each answer carries its own call's output, so the parent hands
            # it on call by call, as an in-process plugin would.
            lines = output[:]
            output.clear()
            if error is None:
                replies.append((status, workload_type, workload_name, None, seconds, lines))
            else:
                replies.append((status, workload_type, workload_name,
                                (error.kind, error.message, error.limit), seconds, lines))
                if error.kind == "limit":
                    break  # let the caller count it before spending more time
        conn.send(replies)


def _read_ahead(conn) -> queue.SimpleQueue:
    """The batches sent to a worker, read by a thread of their own as they
    arrive (``None`` once the pipe closes).

    The parent sends a worker its next batch while it runs one
    (``PIPELINE_DEPTH``); a batch is bigger than the pipe's buffer, so
    unless it is read at once the parent would wait in ``send`` for the
    batch before to end, and keep every other worker waiting too.
    """
    batches: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:
        while True:
            try:
                batches.put(conn.recv())
            except (EOFError, OSError):
                batches.put(None)
                return

    threading.Thread(target=read, name="batch-reader", daemon=True).start()
    return batches


class WorkerPlugin:
    """A plugin hosted in worker processes; the parent-side proxy.

    One worker is started with the plugin (it reports load errors); up to
    ``processes - 1`` more are started the first time a call brings more
    pods than one round trip carries (a resolution pass), and share the
    batches from then on.  Calls are independent (each starts from the
    plugin's state after loading), so which worker answers a pod changes
    nothing but the time a pass takes.

    ``deadline``: seconds one call may take before its worker is killed;
    by default the time budget of ``limits`` plus ``DEADLINE_GRACE``.
    """

    def __init__(self, name: str, source: bytes, *, chunkname: str | None = None,
                 limits: Limits = PLUGIN_LIMITS, stats: PluginStats | None = None, on_output=None,
                 address_space: int | None = DEFAULT_ADDRESS_SPACE,
                 cpu_seconds: int | None = DEFAULT_CPU_SECONDS,
                 deadline: float | None = None, batch_size: int = BATCH_SIZE,
                 processes: int | None = None):
        self.name = name
        self.stats = stats if stats is not None else PluginStats()
        self.on_output = on_output
        if deadline is None:
            budget = limits.time if limits.time is not None else cpu_seconds
            deadline = budget + DEADLINE_GRACE if budget else None
        self.deadline = deadline
        self.batch_size = batch_size
        self.processes = max(1, processes if processes is not None else default_processes())
        self._spec = (name, bytes(source), chunkname or f"@{name}.lua", limits, address_space, cpu_seconds)
        self._load_deadline = (limits.time or 0) + LOAD_GRACE
        first = _Worker(self, emit_load_output=True)
        first.spawn()
        first.wait_loaded()
        self._workers = [first]
        #: Helpers started but not loaded yet; ``None`` until a big call starts them.
        self._starting: list[_Worker] | None = None

    @property
    def pid(self) -> int | None:
        """The first worker's process id."""
        return self._workers[0].pid

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers answering now."""
        return [worker.pid for worker in self._workers if worker.pid is not None]

    @property
    def restarts(self) -> int:
        return sum(worker.restarts for worker in self._workers)

    def _emit(self, lines) -> None:
        if self.on_output is not None:
            for line in lines:
                self.on_output(self.name, line)

    def _ready_workers(self) -> list[_Worker]:
        """The workers that can take a batch now: helpers join as they finish loading."""
        if self._starting:
            still = []
            for worker in self._starting:
                state = worker.poll_loaded()
                if state == "loaded":
                    self._workers.append(worker)
                elif state == "loading":
                    still.append(worker)
            self._starting = still
        return self._workers

    def _start_helpers(self) -> None:
        """Start the other workers, without waiting: the first goes on meanwhile."""
        self._starting = []
        for _ in range(self.processes - 1):
            helper = _Worker(self, emit_load_output=False)
            try:
                helper.spawn()
            except OSError:
                break  # fewer helpers: slower, not wrong
            self._starting.append(helper)

    # -- calls ----------------------------------------------------------------

    def call(self, meta_json: str | bytes) -> CallResult:
        return next(self.call_many([meta_json]))

    def call_many(self, meta_jsons: Iterable[str | bytes]) -> Iterator[CallResult]:
        """Call the plugin on each pod; results in order.

        Every ready worker is kept ``PIPELINE_DEPTH`` batches ahead, so it
        starts its next batch as soon as it has answered one, while this
        process hands on the answers, and never waits for another worker.
        Lazy: batches are sent when the caller wants a result not yet
        computed, so a caller that stops early (the chain, on disabling the
        plugin) spends at most what was already sent of the plugin's time
        (the answers are awaited and dropped).  A worker may answer only a
        prefix of its batch (a budget error, a dead worker,
        ``BATCH_SECONDS``); the rest is sent again, and answers already
        computed past it wait for them.
        """
        inputs = meta_jsons if isinstance(meta_jsons, list) else list(meta_jsons)
        self._drain()  # a call abandoned without being closed
        if self._starting is None and self.processes > 1 and len(inputs) > self.batch_size:
            self._start_helpers()
        answered: dict[int, tuple] = {}
        unsent = _Unsent(len(inputs))
        next_index = 0
        try:
            while next_index < len(inputs):
                if next_index not in answered:
                    self._top_up(inputs, unsent)
                    self._collect(self._holder(next_index), inputs, answered, unsent)
                    continue
                result, lines = answered.pop(next_index)
                next_index += 1
                self._emit(lines)
                self.stats.record(result.status, result.seconds,
                                  result.error.metric_kind if result.error is not None else None)
                yield result
        finally:
            self._drain()

    def _top_up(self, inputs: list, unsent: _Unsent) -> None:
        """Send each ready worker batches until it has ``PIPELINE_DEPTH`` in flight.

        Batches are at most ``batch_size`` pods, and smaller when there are
        few pods, so that every worker gets a share."""
        workers = self._ready_workers()
        size = min(self.batch_size, -(-len(unsent) // (len(workers) * PIPELINE_DEPTH)))
        for worker in workers:
            while len(worker.in_flight) < PIPELINE_DEPTH and unsent:
                indices = unsent.take(size)
                worker.send(indices, [inputs[i] for i in indices])

    def _holder(self, index: int) -> _Worker:
        for worker in self._workers:
            if any(index in batch for batch in worker.in_flight):
                return worker
        raise AssertionError(f"pod {index} is neither answered nor in flight")

    def _collect(self, worker: _Worker, inputs: list, answered: dict, unsent: _Unsent) -> None:
        """The answers to the oldest batch in flight to ``worker``; what it
        did not answer goes back to ``unsent``."""
        indices = worker.in_flight[0]
        replies, lost = worker.finish([inputs[i] for i in indices])
        answered.update(zip(indices, replies))
        unsent.put_back(indices[len(replies):])
        for batch in lost:  # sent to a worker that died before reading them
            unsent.put_back(batch)

    def _drain(self) -> None:
        """Await and drop the answers to batches still in flight."""
        for worker in self._workers:
            while worker.in_flight:
                worker.finish(None)

    def close(self) -> None:
        for worker in self._workers + (self._starting or []):
            worker.close()


class _Worker:
    """One worker process of a ``WorkerPlugin``, and the pipe to it."""

    def __init__(self, plugin: WorkerPlugin, emit_load_output: bool):
        self.plugin = plugin
        self.name = plugin.name
        #: Only the first worker hands on what the top level printed: the
        #: helpers run the same top level again.
        self.emit_load_output = emit_load_output
        self.restarts = 0
        self.process = None
        self.conn = None
        self.progress = _context().RawArray("d", 2)
        #: The pods' indices of each batch sent and not answered yet, oldest first.
        self.in_flight: collections.deque[list[int]] = collections.deque()
        self._spawned_at = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    # -- the worker's life ----------------------------------------------------

    def spawn(self) -> None:
        parent, child = _context().Pipe()
        process = _context().Process(target=_worker_main, args=(child, self.progress, *self.plugin._spec),
                                     daemon=True, name=f"resolver-plugin-{self.name}")
        process.start()
        child.close()
        self.process, self.conn = process, parent
        self._spawned_at = monotonic()

    def wait_loaded(self) -> None:
        """Wait for the plugin's top level to finish; ``PluginError`` if it failed."""
        process, conn = self.process, self.conn
        load_deadline = self.plugin._load_deadline
        try:
            if not conn.poll(load_deadline):
                _kill(process)
                raise PluginError(self.name, "limit", f"{self.name}: loading took more than "
                                                      f"{load_deadline:g} s; worker killed", "time")
            reply = conn.recv()
        except (EOFError, OSError):
            process.join(5)
            raise PluginError(self.name, "crash", f"{self.name}: worker process died while loading "
                                                  f"({_exit_cause(process.exitcode)})") from None
        if self.emit_load_output:
            self.plugin._emit(reply[-1])
        if reply[0] == "load_failed":
            _, kind, message, limit, _ = reply
            process.join(5)
            raise PluginError(self.name, kind, message, limit)

    def poll_loaded(self) -> str:
        """``loaded``, ``loading`` or ``failed`` (then closed), without waiting."""
        try:
            waiting = not self.conn.poll(0)
        except (EOFError, OSError):
            waiting = False
        if waiting:
            if monotonic() - self._spawned_at < self.plugin._load_deadline:
                return "loading"
            _kill(self.process)
            self.close()
            return "failed"
        try:
            self.wait_loaded()
        except PluginError:
            self.close()
            return "failed"
        return "loaded"

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        if self.process is not None:
            self.process.join(2)
            if self.process.is_alive():
                _kill(self.process)

    # -- round trips ------------------------------------------------------------

    def send(self, indices: list[int], batch: list) -> None:
        """Send a batch (``indices``: where its pods are in the caller's list)."""
        if not self.in_flight:  # idle: the worker's progress is from an older batch
            self.progress[_STARTED] = monotonic()
            self.progress[_POD] = 0
        self.in_flight.append(indices)
        try:
            self.conn.send(batch)
        except OSError:
            pass  # a dead worker: ``finish`` finds out and replaces it

    def finish(self, batch: list | None) -> tuple[list[tuple[CallResult, list[str]]], list[list[int]]]:
        """Wait for the answers to the oldest batch in flight (``batch``;
        ``None`` when they are to be dropped).

        Returns the results, each with its call's output, for a prefix of
        the batch (all of it unless a budget error, a dead worker or
        ``BATCH_SECONDS`` cut it short), and the batches sent after it that
        died with the worker, if it died."""
        progress = self.progress
        self.in_flight.popleft()
        try:
            killed = self._await(progress)
            if not killed:
                replies = self.conn.recv()
        except (EOFError, OSError):
            killed = False
        else:
            if not killed:
                if self.in_flight:
                    # The worker goes on to the next batch: its progress
                    # still shows this one's last pod until it starts.
                    progress[_STARTED] = monotonic()
                return [(_result(self.name, reply[:5]), reply[5]) for reply in replies], []
        # The worker is gone: the pod in flight failed; those before it
        # have no answer yet (the reply died with the worker) and go again.
        lost = list(self.in_flight)
        self.in_flight.clear()
        index, seconds = int(progress[_POD]), monotonic() - progress[_STARTED]
        failed = (CallResult("error", error=self._replace_dead_worker(killed), seconds=seconds), [])
        if batch is None:
            return [], lost
        redone = self._round_trip(batch[:index]) if index else []
        if len(redone) < index:  # cut short again: the rest waits for the next round trip
            return redone, lost
        return redone + [failed], lost

    def _round_trip(self, batch: list) -> list[tuple[CallResult, list[str]]]:
        """Send a batch to this (idle) worker and wait for its answers."""
        self.send(list(range(len(batch))), batch)
        replies, _ = self.finish(batch)
        return replies

    def _await(self, progress) -> bool:
        """Wait for the reply; kill the worker if a call runs past its
        deadline.  Returns whether it was killed."""
        deadline = self.plugin.deadline
        conn = self.conn
        if deadline is None:
            return False  # recv blocks until a reply or the worker's end
        while True:
            # The worker writes a pod's start time, then its index; reading
            # in the other order, and the index again, never pairs a pod
            # with an older pod's start (which could kill it early).
            index = progress[_POD]
            overrun = monotonic() - progress[_STARTED] - deadline
            if overrun >= 0 and progress[_POD] == index:
                _kill(self.process)
                return True
            if conn.poll(max(-overrun, 0.001)):
                return False

    def _replace_dead_worker(self, killed: bool) -> PluginError:
        process = self.process
        process.join(5)
        code = process.exitcode
        if killed:
            error = PluginError(self.name, "limit", f"{self.name}: the call was still running after "
                                                    f"{self.plugin.deadline:g} s; worker killed and replaced",
                                "time")
        elif code == -signal.SIGXCPU:
            error = PluginError(self.name, "limit", f"{self.name}: the worker used up its CPU time limit; "
                                                    "replacing it", "time")
        else:
            error = PluginError(self.name, "crash", f"{self.name}: worker process died during the call "
                                                    f"({_exit_cause(code)}); replacing it")
        self.restarts += 1
        try:
            self.spawn()
            self.wait_loaded()
        except PluginError as exc:  # the next call will try again
            error = PluginError(self.name, error.kind, f"{error.message}; restart failed: {exc}", error.limit)
            self.conn = _DeadConnection()
        return error


class _Unsent:
    """The indices of a call's pods not sent yet, lowest first: those sent
    back (a batch cut short) before the ones never sent."""

    def __init__(self, count: int):
        self._back: list[int] = []
        self._next = 0
        self._count = count

    def __len__(self) -> int:
        return len(self._back) + self._count - self._next

    def take(self, size: int) -> list[int]:
        taken = self._back[:size]
        del self._back[:size]
        fresh = min(size - len(taken), self._count - self._next)
        taken += range(self._next, self._next + fresh)
        self._next += fresh
        return taken

    def put_back(self, indices: list[int]) -> None:
        if indices:
            self._back = sorted(self._back + indices)


def _result(plugin: str, reply) -> CallResult:
    status, workload_type, workload_name, error, seconds = reply
    if error is not None:
        error = PluginError(plugin, error[0], error[1], error[2])
    return CallResult(status, workload_type, workload_name, error, seconds)


def _kill(process) -> None:
    process.kill()
    process.join(5)


def _exit_cause(code) -> str:
    return f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"


class _DeadConnection:
    """Stands in for the pipe of a worker that could not be restarted."""

    def send(self, _value):
        raise BrokenPipeError

    def recv(self):
        raise EOFError

    def poll(self, _timeout=0):
        return True

    def close(self):
        pass


def default_processes() -> int:
    """Workers per plugin for a pass: the CPUs this process may use, at most ``MAX_PROCESSES``."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_PROCESSES, cpus))


def available() -> bool:
    """Whether this platform has what the worker mode relies on (POSIX, OS
    limits).  If so, the fork server starts now, in the background: it
    takes about a second, which the first stored plugin should not wait
    for (the service asks this when it is set up)."""
    if os.name != "posix" or resource is None or not hasattr(resource, "RLIMIT_AS"):
        return False
    _context()
    threading.Thread(target=multiprocessing.forkserver.ensure_running, daemon=True,
                     name="resolver-fork-server").start()
    return True
