"""The plugin host: one sandboxed Lua runtime per plugin.

A plugin's top level runs once, when it is loaded.  Every call then passes
one pod's metadata JSON to ``GetWorkloadTypeAndName`` and expects two
strings back.  Between calls the plugin's globals are put back as they were
right after loading (two levels deep: ``_G`` and every table it holds
directly, which covers the libraries, ``package.loaded`` and the plugin's
own global tables), so no call can leave state behind for the next pod.
"""

from __future__ import annotations

import bisect
import operator
import sys
from dataclasses import dataclass, field
from time import perf_counter
from typing import Callable, NamedTuple

from luapy import LuaError, LuaLimitError, LuaRuntime, LuaSyntaxError
from luapy.load import skip_file_header
from luapy.options import Limits
from luapy.runtime.values import Function, Table, type_name

from .rules import normalise_type

ENTRY_POINT = "GetWorkloadTypeAndName"

#: Plugin sources larger than this are refused before parsing.
MAX_SOURCE_BYTES = 1024 * 1024

#: The budgets a plugin runs under, per call (and for its top level).
PLUGIN_LIMITS = Limits(steps=10_000_000, time=1.0, memory=64 * 1024 * 1024,
                       depth=200, nesting=200, source_size=MAX_SOURCE_BYTES)

#: Upper bounds (seconds) of the call-latency histogram buckets.
LATENCY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                   0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class PluginError(Exception):
    """A plugin failed to load or failed one call.

    ``kind`` is one of ``syntax``, ``load`` (top level failed or did not
    define the function), ``runtime`` (a Lua error), ``limit`` (a sandbox
    budget ran out; ``limit`` names it), ``missing`` (fewer than two
    results), ``type`` (a result that is not a string), ``crash`` (its
    worker process died; see ``workers``) or ``internal``.
    The message starts with ``chunk:line:`` whenever a position is known.
    """

    def __init__(self, plugin: str, kind: str, message: str, limit: str | None = None):
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


_SCALAR_TYPES = (bool, int, float)


class _TableSnapshot:
    """One table's contents, to detect and undo changes cheaply.

    The check runs after every call, so it is built from C-level dict and
    list comparisons.  Those compare values with ``==``: exact for strings,
    and identity for tables and functions, but Python has ``True == 1 ==
    1.0``.  So the few entries holding a boolean or a number are also
    checked by identity (``x = 1`` where ``x`` was ``true`` is a change).
    """

    __slots__ = ("table", "hash", "scalars", "arr", "meta")

    def __init__(self, table: Table):
        self.table = table
        self.hash = dict(table.hash)
        self.scalars = [(k, v) for k, v in table.hash.items() if type(v) in _SCALAR_TYPES]
        self.arr = list(table.arr)
        self.meta = table.meta

    def changed(self) -> bool:
        table = self.table
        hash_ = table.hash
        if table.meta is not self.meta or hash_ != self.hash or table.arr != self.arr:
            return True
        for key, value in self.scalars:
            if hash_[key] is not value:
                return True
        return bool(self.arr) and not all(map(operator.is_, table.arr, self.arr))

    def restore(self) -> None:
        table = self.table
        table.hash.clear()
        table.hash.update(self.hash)
        table.arr[:] = self.arr
        table.meta = self.meta
        table._iter_keys = None
        table._iter_pos = None


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
        #: Where the plugin's ``print`` lines go: ``on_output(plugin, line)``.
        self.on_output = on_output or _print_to_stderr
        self._pending_output = ""
        self.stats = stats if stats is not None else PluginStats()
        self.chunkname = chunkname or f"@{name}.lua"
        if isinstance(source, str):
            source = source.encode("utf-8")
        if len(source) > MAX_SOURCE_BYTES:
            raise PluginError(name, "load", f"{self.display_name}: source is {len(source)} bytes; "
                                            f"the limit is {MAX_SOURCE_BYTES} (1 MiB)")
        self.runtime = LuaRuntime(lua51_compat=True, limits=limits)
        self.runtime.set_output(self._write_output)
        self._call_raw = self.runtime.call_raw
        # A plugin image is a file: its BOM and "#!" line go, as lua5.4's
        # loadfile drops them (line numbers are kept).
        source = skip_file_header(source.decode("latin-1")).encode("latin-1")
        try:
            chunk = self.runtime.compile(source, name=self.chunkname)
            self._call_raw(chunk._function, [])
        except LuaSyntaxError as exc:
            raise PluginError(name, "syntax", str(exc)) from None
        except LuaLimitError as exc:
            raise PluginError(name, "limit", self._limit_message(exc), exc.limit) from None
        except LuaError as exc:
            raise PluginError(name, "load", str(exc)) from None
        except Exception as exc:  # an interpreter bug must not take the caller down
            raise PluginError(name, "internal", f"{self.display_name}: internal error while loading: "
                                                f"{type(exc).__name__}: {exc}") from None
        globals_table = self.runtime._state.globals
        function = globals_table.get(ENTRY_POINT)
        if not isinstance(function, Function):
            found = "is not defined" if function is None else f"is a {type_name(function)}"
            raise PluginError(name, "load", f"{self.display_name}: global function {ENTRY_POINT} {found}")
        self.function = function
        self._snapshots = self._snapshot(globals_table, self.runtime._state.string_meta)

    def _write_output(self, text: str) -> None:
        """Collect ``print`` output and pass it on a line at a time."""
        text = self._pending_output + text
        *lines, self._pending_output = text.split("\n")
        if len(self._pending_output) > 4096:  # a line that never ends is still a line
            lines.append(self._pending_output)
            self._pending_output = ""
        for line in lines:
            self.on_output(self.name, line)

    @property
    def display_name(self) -> str:
        from luapy.load import chunk_display_name
        return chunk_display_name(self.chunkname)

    def _where(self) -> str:
        """``chunk:line`` of the entry point's definition, for result errors."""
        line = getattr(self.function.proto, "line", None)
        return f"{self.display_name}:{line}" if line else self.display_name

    def _limit_message(self, exc: LuaLimitError) -> str:
        message = str(exc)
        if exc.where is None:
            message = f"{self.display_name}: {message}"
        return message

    @staticmethod
    def _snapshot(globals_table: Table, string_meta: Table | None) -> list[_TableSnapshot]:
        """What to restore after each call: ``_G``, the tables it holds,
        ``package.loaded`` and the string metatable (``getmetatable("")``)."""
        tables = [globals_table]
        seen = {id(globals_table)}
        if type(string_meta) is Table:
            tables.append(string_meta)
            seen.add(id(string_meta))
        for value in list(globals_table.hash.values()) + list(globals_table.arr):
            if type(value) is Table and id(value) not in seen:
                seen.add(id(value))
                tables.append(value)
        package = globals_table.get("package")
        loaded = package.get("loaded") if type(package) is Table else None
        if type(loaded) is Table and id(loaded) not in seen:
            tables.append(loaded)
        return [_TableSnapshot(t) for t in tables]

    def call(self, meta_json: str) -> CallResult:
        """Run the plugin on one pod's metadata JSON (a Lua byte string)."""
        started = perf_counter()
        try:
            results = self._call_raw(self.function, [meta_json])
            status, workload_type, workload_name, error = self._interpret(results)
        except LuaLimitError as exc:
            status, workload_type, workload_name = "error", "", ""
            error = PluginError(self.name, "limit", self._limit_message(exc), exc.limit)
        except LuaError as exc:
            status, workload_type, workload_name = "error", "", ""
            error = PluginError(self.name, "runtime", str(exc))
        except Exception as exc:  # an interpreter bug must not take the service down
            status, workload_type, workload_name = "error", "", ""
            error = PluginError(self.name, "internal",
                                f"{self.display_name}: internal error: {type(exc).__name__}: {exc}")
        finally:
            for snapshot in self._snapshots:
                if snapshot.changed():
                    snapshot.restore()
        seconds = perf_counter() - started
        self.stats.record(status, seconds, error.metric_kind if error is not None else None)
        return CallResult(status, workload_type, workload_name, error, seconds)

    def _interpret(self, results) -> tuple:
        """(status, type, name, error) from the entry point's results."""
        count = len(results)
        workload_type = results[0] if count > 0 else None
        workload_name = results[1] if count > 1 else None
        if type(workload_type) is not str or type(workload_name) is not str:
            return "error", "", "", self._result_error(workload_type, workload_name)
        if not workload_type or not workload_name:
            return "pass", "", "", None
        workload_type = _from_lua_string(workload_type)
        workload_name = _from_lua_string(workload_name)
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
                                   f"{self._where()}: {ENTRY_POINT} returned a {type_name(value)} as its "
                                   f"{position} value; expected two strings")
        raise AssertionError("unreachable")
