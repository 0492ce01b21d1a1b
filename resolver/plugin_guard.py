"""What a plugin may hand to the log: bounded output.

``CheckedPlugin`` wraps a loaded plugin (in-process or worker) for the
chain, closing each call's share of output.  (Answers a Kubernetes object
could not have are refused where the plugin runs: ``plugins.workload_value_problem``.)

``OutputLimiter`` stands between plugins' ``print`` and the log: a few
lines and bytes per call, a few dozen lines per plugin per pass; what is
held back is counted in one event instead of becoming one line each.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, ContextManager, Iterator

from .plugins import CallResult

#: Print output that reaches the log from one plugin call.
MAX_OUTPUT_LINES_PER_CALL = 10
MAX_OUTPUT_BYTES_PER_CALL = 4096
#: Print lines that reach the log from one plugin in one resolution pass.
MAX_OUTPUT_LINES_PER_PASS = 50


def release(plugin) -> None:
    """Free a plugin we are done with now, not "eventually".

    A ``LuaRuntime`` registers a ``weakref.finalize`` holding its State, and
    a plugin's ``print`` hook in that State leads back to the plugin and its
    runtime: without an explicit close the runtime is never collected.
    """
    close = getattr(plugin, "close", None)
    if close is not None:
        close()
    else:
        plugin.runtime.close()


class CheckedPlugin:
    """A plugin as the chain sees it, with its answers checked.

    ``after_call(name)`` runs after every call (the output limiter uses it
    to close the call's share of output).  ``stats`` is the wrapped
    plugin's own, so counters stay where ``PluginSet`` keeps them.

    ``gate(name)``, if given, is a context manager entered around every
    step of ``call_many`` (a round trip to a worker, or one in-process
    call).  The service's pass takes its Lua lock there, batch by batch
    rather than for the whole pass, so an ad-hoc ``POST /v1/resolve``, a
    plugin deletion or a shutdown gets its turn within one batch; the gate
    may also raise to end the pass.
    """

    __slots__ = ("plugin", "name", "_after_call", "_gate")

    def __init__(self, plugin, after_call: Callable[[str], None] | None = None,
                 gate: Callable[[str], ContextManager] | None = None):
        self.plugin = plugin
        self.name = plugin.name
        self._after_call = after_call
        self._gate = gate

    @property
    def stats(self):
        return self.plugin.stats

    def call(self, meta_json: str) -> CallResult:
        return self._checked(self.plugin.call(meta_json))

    def call_many(self, meta_jsons) -> Iterator[CallResult]:
        """The chain's batched entry, lazily, as the wrapped plugin's is.
        (A worker hands back a batch's output with its answers, so the
        output limiter's "per call" share is then per batch.)"""
        results = self.plugin.call_many(meta_jsons)
        if self._gate is None:
            return map(self._checked, results)
        return self._gated(results)

    def _gated(self, results: Iterator[CallResult]) -> Iterator[CallResult]:
        done = object()
        while True:
            with self._gate(self.name):
                result = next(results, done)
                if result is done:
                    return
                result = self._checked(result)
            yield result

    def _checked(self, result: CallResult) -> CallResult:
        if self._after_call is not None:
            self._after_call(self.name)
        return result


class OutputLimiter:
    """Plugins' print lines to ``emit(event, **fields)``, bounded.

    Calls are serialised (the service holds its Lua lock), so plain
    counters do.  ``end_call`` closes one call, ``end_pass`` one pass.
    """

    def __init__(self, emit, lines_per_call: int = MAX_OUTPUT_LINES_PER_CALL,
                 bytes_per_call: int = MAX_OUTPUT_BYTES_PER_CALL,
                 lines_per_pass: int = MAX_OUTPUT_LINES_PER_PASS):
        self.emit = emit
        self.lines_per_call = lines_per_call
        self.bytes_per_call = bytes_per_call
        self.lines_per_pass = lines_per_pass
        self._call_lines: Counter = Counter()
        self._call_bytes: Counter = Counter()
        self._call_dropped: Counter = Counter()
        self._pass_lines: Counter = Counter()
        self._pass_dropped: Counter = Counter()

    def line(self, plugin: str, text: str) -> None:
        if self._pass_lines[plugin] >= self.lines_per_pass:
            self._pass_dropped[plugin] += 1
            return
        room = self.bytes_per_call - self._call_bytes[plugin]
        if self._call_lines[plugin] >= self.lines_per_call or room <= 0:
            self._call_dropped[plugin] += 1
            return
        encoded = text.encode("utf-8", "replace")
        if len(encoded) > room:
            text = encoded[:room].decode("utf-8", "ignore") + "..."
            self._call_dropped[plugin] += 1  # the rest of this line
        self._call_lines[plugin] += 1
        self._call_bytes[plugin] += min(len(encoded), room)
        self._pass_lines[plugin] += 1
        self.emit("plugin_output", plugin=plugin, msg=text)

    def end_call(self, plugin: str) -> None:
        dropped = self._call_dropped.pop(plugin, 0)
        self._call_lines.pop(plugin, None)
        self._call_bytes.pop(plugin, None)
        if dropped:
            self.emit("plugin_output_truncated", plugin=plugin, lines=dropped,
                      msg=f"at most {self.lines_per_call} lines and {self.bytes_per_call} bytes "
                          "of output per call reach the log")

    def end_pass(self) -> None:
        for plugin in list(self._call_dropped):
            self.end_call(plugin)
        self._call_lines.clear()
        self._call_bytes.clear()
        for plugin, dropped in sorted(self._pass_dropped.items()):
            self.emit("plugin_output_suppressed", plugin=plugin, lines=dropped,
                      msg=f"at most {self.lines_per_pass} lines of output per plugin per pass reach the log")
        self._pass_dropped.clear()
        self._pass_lines.clear()
