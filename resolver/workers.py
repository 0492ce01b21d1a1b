"""Worker-process isolation for plugins (``resolver serve --isolation process``).

Each plugin runs in its own worker process, under OS limits on top of
luapy's budgets: ``RLIMIT_AS`` caps the worker's address space, and
``RLIMIT_CPU`` is re-armed before every call so that one call can burn at
most ``cpu_seconds`` of CPU.  If a worker dies (a crash, the kernel's
SIGXCPU/SIGKILL, an out-of-memory abort), only the call in flight fails
(error kind ``crash``) and a fresh worker is started, with the plugin
loaded again, before the next call.

``WorkerPlugin`` has the interface the chain uses (``name``, ``stats``,
``call``, ``close``), so the chain does not know where a plugin runs.
The price is one pipe round trip per call; the ``seed-process`` scenario
of ``bench/bench_resolve.py`` measures it.
"""

from __future__ import annotations

import multiprocessing
import os
from time import perf_counter

from .plugins import CallResult, PluginError, PluginStats

try:
    import resource
except ImportError:  # WebAssembly (Pyodide) and Windows: no OS limits, so no worker mode
    resource = None

#: Default OS limits for a worker.
DEFAULT_ADDRESS_SPACE = 1024 * 1024 * 1024   # bytes
DEFAULT_CPU_SECONDS = 5                        # per call (RLIMIT_CPU granularity is 1 s)

_CONTEXT = multiprocessing.get_context("spawn")


def _worker_main(conn, name, source, chunkname, address_space, cpu_seconds) -> None:
    """The worker: load one plugin, then answer calls until the pipe closes."""
    if address_space:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    from .plugins import LuaPlugin

    output: list[str] = []
    try:
        plugin = LuaPlugin(name, source, chunkname=chunkname,
                           on_output=lambda _name, line: output.append(line))
    except PluginError as exc:
        conn.send(("load_failed", exc.kind, exc.message, exc.limit, output))
        return
    conn.send(("loaded", output[:]))
    output.clear()
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    while True:
        try:
            meta_json = conn.recv()
        except (EOFError, OSError):
            return
        if cpu_seconds:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            soft = int(usage.ru_utime + usage.ru_stime) + 1 + cpu_seconds
            resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
        result = plugin.call(meta_json)
        error = result.error
        conn.send((result.status, result.type, result.name,
                   (error.kind, error.message, error.limit) if error is not None else None,
                   output[:]))
        output.clear()


class WorkerPlugin:
    """A plugin hosted in a worker process; the parent-side proxy."""

    def __init__(self, name: str, source: bytes, *, chunkname: str | None = None,
                 stats: PluginStats | None = None, on_output=None,
                 address_space: int | None = DEFAULT_ADDRESS_SPACE,
                 cpu_seconds: int | None = DEFAULT_CPU_SECONDS):
        self.name = name
        self.stats = stats if stats is not None else PluginStats()
        self.on_output = on_output
        self._spec = (name, bytes(source), chunkname or f"@{name}.lua", address_space, cpu_seconds)
        self.restarts = 0
        self._process = None
        self._conn = None
        self._start()

    def _start(self) -> None:
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(target=_worker_main, args=(child, *self._spec), daemon=True,
                                   name=f"resolver-plugin-{self.name}")
        process.start()
        child.close()
        try:
            reply = parent.recv()
        except (EOFError, OSError):
            process.join(5)
            raise PluginError(self.name, "crash", f"{self.name}: worker process died while loading "
                                                  f"(exit code {process.exitcode})") from None
        self._emit(reply[-1])
        if reply[0] == "load_failed":
            _, kind, message, limit, _ = reply
            process.join(5)
            raise PluginError(self.name, kind, message, limit)
        self._process, self._conn = process, parent

    def _emit(self, lines) -> None:
        if self.on_output is not None:
            for line in lines:
                self.on_output(self.name, line)

    def call(self, meta_json: str) -> CallResult:
        started = perf_counter()
        try:
            self._conn.send(meta_json)
            status, workload_type, workload_name, error, output = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            status, workload_type, workload_name, output = "error", "", "", []
            error = self._replace_dead_worker()
        else:
            if error is not None:
                error = PluginError(self.name, error[0], error[1], error[2])
        seconds = perf_counter() - started
        self._emit(output)
        self.stats.record(status, seconds, error.metric_kind if error is not None else None)
        return CallResult(status, workload_type, workload_name, error, seconds)

    def _replace_dead_worker(self) -> PluginError:
        process = self._process
        process.join(5)
        code = process.exitcode
        cause = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        error = PluginError(self.name, "crash", f"{self.name}: worker process died during the call ({cause}); "
                                                "replacing it")
        self.restarts += 1
        try:
            self._start()
        except PluginError as exc:  # the next call will try again
            error = PluginError(self.name, "crash", f"{error.message}; restart failed: {exc}")
            self._conn = _DeadConnection()
        return error

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
        if self._process is not None:
            self._process.join(2)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(2)


class _DeadConnection:
    """Stands in for the pipe of a worker that could not be restarted."""

    def send(self, _value):
        raise BrokenPipeError

    def recv(self):
        raise EOFError

    def close(self):
        pass


def available() -> bool:
    """Whether this platform has the OS limits the worker mode relies on."""
    return os.name == "posix" and resource is not None and hasattr(resource, "RLIMIT_AS")
