"""What the playground's Web Worker calls: one plugin, one pod list, one answer.

Runs inside Pyodide (and under CPython, where the tests compare the two).
``resolve`` loads the plugin in its sandbox, resolves every pod through the
resolver's chain (virtual-kubelet rule, the plugin, the built-in owner
rules) and returns plain data for the page: the rows of the results table,
the plugin's errors (each starting with ``chunk:line:`` when a position is
known, budget errors naming their budget), and what it printed.
"""

from __future__ import annotations

import time

from resolver.chain import resolve_podset
from resolver.plugins import LuaPlugin, PluginError
from resolver.pods import PodInputError, collect, parse_documents

#: The console keeps this many printed lines (a plugin printing in a loop
#: is stopped by its budgets, but could still print a great deal first).
MAX_OUTPUT_LINES = 2000


def _error(error: PluginError, pod=None) -> dict:
    return {"kind": error.metric_kind, "limit": error.limit, "message": error.message,
            "namespace": pod.namespace if pod is not None else None,
            "pod": pod.name if pod is not None else None}


class _LastCall:
    """A plugin as the chain sees it, keeping its last call's result so the
    error reported for a pod can say which kind (and which budget) it was."""

    def __init__(self, plugin: LuaPlugin):
        self.plugin = plugin
        self.name = plugin.name
        self.stats = plugin.stats
        self.last = None

    def call(self, meta_json: str):
        self.last = self.plugin.call(meta_json)
        return self.last

    def call_many(self, meta_jsons):
        """The chain's batched entry: lazily, so ``last`` is the result the
        chain is looking at when it reports an event."""
        return map(self.call, meta_jsons)


def resolve(plugin_source: str, plugin_name: str, pods_text: str) -> dict:
    """Resolve ``pods_text`` (kubectl JSON, NDJSON or YAML) with one plugin.

    An empty ``plugin_source`` resolves with the built-in rules alone.
    """
    started = time.perf_counter()
    answer = {"rows": [], "errors": [], "output": [], "dropped_output": 0,
              "load_error": None, "input_error": None, "disabled": [], "skipped": {}}

    def on_output(_plugin: str, line: str) -> None:
        if len(answer["output"]) < MAX_OUTPUT_LINES:
            answer["output"].append(line)
        else:
            answer["dropped_output"] += 1

    try:
        podset = collect(parse_documents(pods_text, "pods"))
    except PodInputError as exc:
        answer["input_error"] = str(exc)
        return answer
    answer["skipped"] = podset.skipped
    plugins = []
    if plugin_source.strip():
        try:
            plugins.append(LuaPlugin(plugin_name, plugin_source, on_output=on_output))
        except PluginError as exc:
            answer["load_error"] = _error(exc)
    errors_by_pod: dict[int, list] = {}
    calls = [_LastCall(plugin) for plugin in plugins]

    def on_event(event: str, plugin_name: str, pod, message: str) -> None:
        (call,) = [c for c in calls if c.name == plugin_name]
        error = call.last.error
        entry = _error(error, pod) if error is not None else {
            "kind": event, "limit": None, "message": message,
            "namespace": pod.namespace, "pod": pod.name}
        errors_by_pod.setdefault(id(pod), []).append(entry)
        answer["errors"].append(entry)

    results, summary = resolve_podset(podset, calls, on_event=on_event)
    for result in results:
        outcome, pod = result.outcome, result.pod
        row = {"namespace": pod.namespace, "pod": pod.name}
        if result.resolved:
            row.update(type=outcome.type, name=outcome.name, source=outcome.source, reason="")
        else:
            row.update(type="", name="", source="", reason=outcome.reason)
        row["errors"] = [e["message"] for e in errors_by_pod.get(id(pod), [])]
        answer["rows"].append(row)
    answer["disabled"] = summary.disabled
    answer["seconds"] = round(time.perf_counter() - started, 4)
    return answer
