"""The plugin host: one sandboxed Lua runtime per plugin.

A plugin's top level runs once, when it is loaded.  Every call then passes
one pod's metadata JSON to ``GetWorkloadTypeAndName`` and expects two
strings back.  After each call the runtime is put back as it was right
after loading (``LuaRuntime.snapshot``/``restore``: every table reachable
from the globals, the string metatable and ``package.loaded``, and the
upvalues of the plugin's functions), so no call can leave state behind for
the next pod.

A plugin owns threads (one per suspended coroutine) that outlive calls.
``close`` ends them; whoever drops a plugin (``loader.PluginSet`` on
replace, delete or disable) calls it.  Nothing in the runtime refers back
to the plugin, so a plugin that is dropped without ``close`` is still
freed, threads included, when the garbage collector takes its runtime.
"""

from __future__ import annotations

import re

import bisect
import sys
from dataclasses import dataclass, field
from time import perf_counter
from typing import Callable, Iterable, Iterator, NamedTuple

from luapy import Limits, LuaError, LuaFunction, LuaLimitError, LuaRuntime, LuaSyntaxError
from luapy.api import lua_type
from luapy.load import chunk_display_name

from .pods import unpack_meta
from .rules import normalise_type

ENTRY_POINT = "GetWorkloadTypeAndName"

#: Plugin sources larger than this are refused before parsing.
MAX_SOURCE_BYTES = 1024 * 1024

#: The budgets a plugin runs under, per call (and for its top level).
PLUGIN_LIMITS = Limits(steps=10_000_000, time=1.0, memory=64 * 1024 * 1024,
                       depth=200, nesting=200, source_size=MAX_SOURCE_BYTES)

#: Print output kept per call (and for the top level), in characters; the
#: rest is dropped and counted, so that no plugin can flood the log (or a
#: worker's pipe) however much it prints.
MAX_OUTPUT_PER_CALL = 16 * 1024

#: The longest workload type or name a plugin may return: Kubernetes object
#: names are at most 253 bytes (DNS subdomain names).  Answers are kept for
#: every pod, so a plugin returning megabytes per pod must not be able to
#: fill the service; a control character can't be in a name either.
MAX_WORKLOAD_NAME_BYTES = 253
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
#: Error messages are cut to this many characters, for the same reason
#: (``error(("x"):rep(1e7))`` on every pod).
MAX_MESSAGE_CHARS = 4096

#: Upper bounds (seconds) of the call-latency histogram buckets.
LATENCY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                   0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def workload_value_problem(what: str, value: str) -> str | None:
    """Why ``value`` cannot be a workload's name or type, or ``None``."""
    problem = _size_problem(what, value.encode("utf-8", "surrogatepass"))
    if problem is not None:
        return problem
    match = _CONTROL.search(value)
    if match:
        return f"a workload {what} holding the control character {match.group()!r}"
    return None


def _size_problem(what: str, encoded) -> str | None:
    if len(encoded) > MAX_WORKLOAD_NAME_BYTES:
        return (f"a workload {what} of {len(encoded)} bytes "
                f"(Kubernetes allows at most {MAX_WORKLOAD_NAME_BYTES})")
    return None


class PluginError(Exception):
    """A plugin failed to load or failed one call.

    ``kind`` is one of ``syntax``, ``load`` (top level failed or did not
    define the function), ``runtime`` (a Lua error), ``limit`` (a sandbox
    budget ran out; ``limit`` names it), ``missing`` (fewer than two
    results), ``type`` (a result that is not a string), ``result`` (a
    type or name no Kubernetes object could have: ``workload_value_problem``),
    ``crash`` (its worker process died;
    see ``workers``) or ``internal``.
    The message starts with ``chunk:line:`` whenever a position is known.
    """

    def __init__(self, plugin: str, kind: str, message: str, limit: str | None = None):
        if len(message) > MAX_MESSAGE_CHARS:
            message = f"{message[:MAX_MESSAGE_CHARS]}... ({len(message) - MAX_MESSAGE_CHARS} more characters)"
        super().__init__(message)
        self.plugin = plugin
        self.kind = kind
        self.limit = limit
        self.message = message

    @property
    def metric_kind(self) -> str:
        return f"limit_{self.limit}" if self.kind == "limit" and self.limit else self.kind

    def __str__(self) -> str:
        return self.message


@dataclass
class PluginStats:
    """Counters for one plugin name; they survive reloads of that plugin.

    Updated by whoever calls the plugin; a plugin's runtime serves one call
    at a time (the service holds its Lua lock), so no lock is needed here.
    """

    calls: int = 0
    claims: int = 0
    passes: int = 0
    unsupported: int = 0
    errors: dict = field(default_factory=dict)
    latency_counts: list = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0

    def record(self, status: str, seconds: float, error_kind: str | None = None) -> None:
        self.calls += 1
        self.latency_sum += seconds
        self.latency_counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        if status == "claim":
            self.claims += 1
        elif status == "pass":
            self.passes += 1
        elif status == "unsupported":
            self.unsupported += 1
        else:
            self.errors[error_kind] = self.errors.get(error_kind, 0) + 1


class CallResult(NamedTuple):
    """What one call of a plugin came to.

    ``status``: ``claim`` (a supported type and a name), ``pass`` (an empty
    string: "not mine"), ``unsupported`` (a type outside the supported set)
    or ``error`` (``error`` says what).  A named tuple: one is made per call.
    """

    status: str
    type: str = ""
    name: str = ""
    error: PluginError | None = None
    seconds: float = 0.0


def _print_to_stderr(plugin: str, line: str) -> None:
    sys.stderr.write(f"resolver: plugin {plugin}: print: {line}\n")


def _from_lua_string(value: str) -> str:
    """Lua strings are bytes held as latin-1 text; plugins speak UTF-8."""
    if value.isascii():
        return value
    return value.encode("latin-1").decode("utf-8", "replace")


def to_lua_string(text: str) -> str:
    if text.isascii():
        return text
    return text.encode("utf-8").decode("latin-1")


def lua_input(meta_json: str | bytes) -> str:
    """A call's argument as a Lua string: a Lua string as it is, or a pod's
    packed metadata (``pods.pack_meta``: bytes), unpacked here, where the
    plugin runs, so that a pass does not unpack 100,000 pods in the service
    and pickle them to a worker."""
    if type(meta_json) is str:
        return meta_json
    return unpack_meta(meta_json).decode("latin-1")


class _OutputLines:
    """``print`` output cut into lines for ``on_output(plugin, line)``, at
    most ``MAX_OUTPUT_PER_CALL`` characters per call (``left``).

    The runtime holds this, never the plugin: a runtime that pointed back
    at its plugin would form a cycle that a suspended coroutine's thread
    (whose frames hold the runtime's state) keeps alive for ever.
    """

    __slots__ = ("plugin", "sink", "pending", "left", "dropped")

    def __init__(self, plugin: str, sink: Callable[[str, str], None]):
        self.plugin = plugin
        self.sink = sink
        self.pending = ""
        self.left = MAX_OUTPUT_PER_CALL
        self.dropped = 0

    def __call__(self, text: str) -> None:
        left = self.left
        if len(text) > left:
            self.dropped += len(text) - left
            text = text[:left]
        self.left = left - len(text)
        if not text:
            return
        text = self.pending + text
        *lines, self.pending = text.split("\n")
        if len(self.pending) > 4096:  # a line that never ends is still a line
            lines.append(self.pending)
            self.pending = ""
        for line in lines:
            self.sink(self.plugin, line)

    def end_call(self) -> None:
        """Say what was dropped, and give the next call its allowance."""
        if self.dropped:
            if self.pending:
                self.sink(self.plugin, self.pending)
                self.pending = ""
            self.sink(self.plugin, f"[{self.dropped} more characters of output dropped: "
                                   f"a call may print {MAX_OUTPUT_PER_CALL}]")
            self.dropped = 0
        self.left = MAX_OUTPUT_PER_CALL


def _closed(_function, _args):
    raise RuntimeError("the plugin is closed")


class LuaPlugin:
    """A loaded plugin: its runtime, its entry point and its counters.

    Construction runs the top level; it raises ``PluginError`` if the source
    does not parse, its top level fails or runs out of budget, or it does
    not define ``GetWorkloadTypeAndName``.
    """

    def __init__(self, name: str, source: bytes | str, *, chunkname: str | None = None,
                 limits: Limits = PLUGIN_LIMITS, stats: PluginStats | None = None,
                 on_output: Callable[[str, str], None] | None = None):
        self.name = name
        self.stats = stats if stats is not None else PluginStats()
        self.chunkname = chunkname or f"@{name}.lua"
        if isinstance(source, str):
            source = source.encode("utf-8")
        if len(source) > MAX_SOURCE_BYTES:
            raise PluginError(name, "load", f"{self.display_name}: source is {len(source)} bytes; "
                                            f"the limit is {MAX_SOURCE_BYTES} (1 MiB)")
        self.runtime = LuaRuntime(lua51_compat=True, limits=limits)
        #: Where the plugin's ``print`` lines go: ``on_output(plugin, line)``.
        self._output = _OutputLines(name, on_output or _print_to_stderr)
        self.runtime.set_output(self._output)
        self._call_raw = self.runtime.call_raw
        try:
            self.function = self._load(source)
        except PluginError:
            self.close()  # its top level may have left coroutines suspended
            raise
        finally:
            self._output.end_call()
        #: The state every call starts from.
        self._pristine = self.runtime.snapshot()

    def _load(self, source: bytes) -> LuaFunction:
        """Run the top level; returns the entry point."""
        name = self.name
        try:
            # A plugin image is a file: a BOM and a "#!" line are skipped.
            chunk = self.runtime.compile(source, name=self.chunkname, from_file=True)
            self._call_raw(chunk, [])
        except LuaSyntaxError as exc:
            raise PluginError(name, "syntax", str(exc)) from None
        except LuaLimitError as exc:
            raise PluginError(name, "limit", self._limit_message(exc), exc.limit) from None
        except LuaError as exc:
            raise PluginError(name, "load", self._error_message(exc)) from None
        except Exception as exc:  # an interpreter bug must not take the caller down
            raise PluginError(name, "internal", f"{self.display_name}: internal error while loading: "
                                                f"{type(exc).__name__}: {exc}") from None
        function = self.runtime.globals()[ENTRY_POINT]
        if not isinstance(function, LuaFunction):
            found = "is not defined" if function is None else f"is a {lua_type(function)}"
            raise PluginError(name, "load", f"{self.display_name}: global function {ENTRY_POINT} {found}")
        return function

    def close(self) -> None:
        """End the threads of the plugin's suspended coroutines and let its
        runtime go.  Idempotent; a call after ``close`` is an error."""
        self._call_raw = _closed
        self._pristine = None
        self.runtime.close()

    @property
    def display_name(self) -> str:
        return chunk_display_name(self.chunkname)

    def _where(self) -> str:
        """``chunk:line`` of the entry point's definition, for result errors."""
        line = self.function.linedefined
        return f"{self.display_name}:{line}" if line else self.display_name

    def _error_message(self, exc: LuaError) -> str:
        """``chunk:line: message`` for a Lua error.

        Only a string error value carries its position: ``error({})``,
        ``error()`` or ``error(42)`` would reach the log as ``table:
        0x...``, ``nil`` or ``42``, with nothing saying where.  Those get
        the innermost Lua position of the traceback and, as lua.c's message
        handler words it, the type of the error object.
        """
        if isinstance(exc.value, str):
            return str(exc)
        what = str(exc) if lua_type(exc.value) == "number" else f"(error object is a {lua_type(exc.value)} value)"
        for entry in exc.lua_traceback:
            end = entry.find(": in ")
            if end > 0:
                return f"{entry[:end + 1]} {what}"
        return f"{self.display_name}: {what}"

    def _limit_message(self, exc: LuaLimitError) -> str:
        message = str(exc)
        if exc.where is None:
            message = f"{self.display_name}: {message}"
        return message

    def call(self, meta_json: str | bytes) -> CallResult:
        """Run the plugin on one pod's metadata JSON: a Lua byte string, or
        the pod's packed metadata (``lua_input``)."""
        started = perf_counter()
        try:
            results = self._call_raw(self.function, [lua_input(meta_json)])
            status, workload_type, workload_name, error = self._interpret(results)
        except LuaLimitError as exc:
            status, workload_type, workload_name = "error", "", ""
            error = PluginError(self.name, "limit", self._limit_message(exc), exc.limit)
        except LuaError as exc:
            status, workload_type, workload_name = "error", "", ""
            error = PluginError(self.name, "runtime", self._error_message(exc))
        except Exception as exc:  # an interpreter bug must not take the service down
            status, workload_type, workload_name = "error", "", ""
            error = PluginError(self.name, "internal",
                                f"{self.display_name}: internal error: {type(exc).__name__}: {exc}")
        finally:
            if self._pristine is not None:
                self._pristine.restore()
        if self._output.left != MAX_OUTPUT_PER_CALL:
            self._output.end_call()
        seconds = perf_counter() - started
        self.stats.record(status, seconds, error.metric_kind if error is not None else None)
        return CallResult(status, workload_type, workload_name, error, seconds)

    def call_many(self, meta_jsons: Iterable[str | bytes]) -> Iterator[CallResult]:
        """``call`` each in turn, lazily: the caller may stop at any result
        (the chain does, when it disables a plugin).  ``WorkerPlugin`` has
        the same method, which saves round trips."""
        return map(self.call, meta_jsons)

    def _interpret(self, results) -> tuple:
        """(status, type, name, error) from the entry point's results."""
        count = len(results)
        workload_type = results[0] if count > 0 else None
        workload_name = results[1] if count > 1 else None
        if type(workload_type) is not str or type(workload_name) is not str:
            return "error", "", "", self._result_error(workload_type, workload_name)
        if not workload_type or not workload_name:
            return "pass", "", "", None
        # Lua strings hold one byte per character: a long one is refused
        # before it is decoded (a plugin may return megabytes per pod).
        problem = (_size_problem("name", workload_name) or _size_problem("type", workload_type))
        if problem is None:
            workload_type = _from_lua_string(workload_type)
            workload_name = _from_lua_string(workload_name)
            problem = (workload_value_problem("name", workload_name)
                       or workload_value_problem("type", workload_type))
        if problem is not None:
            return "error", "", "", PluginError(self.name, "result",
                                                f"{self._where()}: {ENTRY_POINT} returned {problem}")
        canonical = normalise_type(workload_type)
        if canonical is None:
            return "unsupported", workload_type, workload_name, None
        return "claim", canonical, workload_name, None

    def _result_error(self, workload_type, workload_name) -> PluginError:
        for position, value in (("first (workload type)", workload_type),
                                ("second (workload name)", workload_name)):
            if value is None:
                return PluginError(self.name, "missing",
                                   f"{self._where()}: {ENTRY_POINT} returned no {position} value; "
                                   "expected two strings")
            if type(value) is not str:
                return PluginError(self.name, "type",
                                   f"{self._where()}: {ENTRY_POINT} returned a {lua_type(value)} as its "
                                   f"{position} value; expected two strings")
        raise AssertionError("unreachable")
