"""The resolution chain: virtual-kubelet rule, then plugins, then owner rules.

Every pod is resolved on its own: nothing one pod does (or one plugin call
leaves behind) changes another pod's answer, and results come out sorted by
namespace, name and uid.  So the answer never depends on the order pods
were read in.

A whole pass (``resolve_all``) goes plugin by plugin rather than pod by
pod: each plugin gets every pod still unclaimed in one ``call_many``,
which a plugin in a worker process answers in batches, a round trip per
batch instead of per pod.  Since calls are independent, the answers are
the same as going pod by pod.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

from .plugins import CallResult, LuaPlugin
from .pods import Pod, PodSet
from .rules import Resolved, Unresolved, owner_rules, virtual_kubelet


@dataclass(frozen=True)
class TrailStep:
    """One step of ``--explain``: who looked at the pod and what it said."""

    step: str
    said: str


@dataclass
class PodResult:
    pod: Pod
    outcome: Resolved | Unresolved
    trail: list[TrailStep] | None = None

    @property
    def resolved(self) -> bool:
        return isinstance(self.outcome, Resolved)


@dataclass
class Summary:
    """Counts per source (``plugin:X``/``builtin:Y``) and per unresolved reason."""

    by_source: Counter = field(default_factory=Counter)
    by_reason: Counter = field(default_factory=Counter)
    plugin_errors: Counter = field(default_factory=Counter)
    unsupported: Counter = field(default_factory=Counter)
    #: Plugins taken out of the pass for running out of budget too often.
    disabled: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_source.values()) + sum(self.by_reason.values())


#: Called on every plugin error and unsupported type: (event, plugin, pod, message).
EventSink = Callable[[str, str, Pod, str], None]

#: A plugin whose calls run out of budget (or kill their worker process)
#: more often than this in one pass is taken out of that pass (see
#: ``PluginDisabled``).  Each such call can cost the whole time budget (1 s,
#: or a worker restart), so this bounds what a runaway plugin can cost: a
#: few seconds, not a second per pod.
MAX_LIMIT_ERRORS_PER_PASS = 3
#: The error kinds counted towards that.
_COSTLY_ERRORS = ("limit", "crash")


class PluginDisabled(Exception):
    """A plugin exhausted its budget too often; the pass must run without it.

    Dropping it for the *whole* pass (rather than for the pods after the
    trip) keeps results independent of pod order.
    """

    def __init__(self, plugin: str, message: str):
        super().__init__(message)
        self.plugin = plugin


def describe_call(result: CallResult) -> str:
    if result.status == "claim":
        return f"claimed {result.type} {result.name}"
    if result.status == "pass":
        return "not mine (empty string)"
    if result.status == "unsupported":
        return f"unsupported type {result.type!r} (name {result.name!r}); next"
    return f"error ({result.error.metric_kind}): {result.error}"


class Chain:
    """Resolves pods with a fixed, ordered list of loaded plugins."""

    def __init__(self, plugins: Sequence[LuaPlugin] = (), replicasets: dict | None = None,
                 on_event: EventSink | None = None,
                 max_limit_errors: int | None = MAX_LIMIT_ERRORS_PER_PASS):
        self.plugins = list(plugins)
        self.replicasets = replicasets if replicasets is not None else {}
        self.on_event = on_event
        self.max_limit_errors = max_limit_errors
        self._limit_errors: dict[str, int] = {}

    def _builtin(self, pod: Pod) -> tuple:
        """(virtual-kubelet answer, owner-rules answer), computed once per pod set."""
        cache = pod.builtin_cache
        if cache is None or cache[0] is not self.replicasets:
            serverless = virtual_kubelet(pod.metadata)
            owner = owner_rules(pod.metadata, self.replicasets) if serverless is None else None
            cache = pod.builtin_cache = (self.replicasets, serverless, owner)
        return cache[1], cache[2]

    def _before_plugins(self, pod: Pod, explain: bool) -> tuple:
        """(the virtual-kubelet rule's result or None, the owner rules'
        answer, the trail so far)."""
        trail: list[TrailStep] | None = [] if explain else None
        serverless, outcome = self._builtin(pod)
        if serverless is not None:
            if trail is not None:
                trail.append(TrailStep(serverless.source, f"{serverless.type} {serverless.name}"))
            return PodResult(pod, serverless, trail), outcome, trail
        if trail is not None:
            trail.append(TrailStep("builtin:virtual-kubelet", "does not apply"))
        return None, outcome, trail

    def resolve(self, pod: Pod, explain: bool = False) -> PodResult:
        done, outcome, trail = self._before_plugins(pod, explain)
        if done is not None:
            return done
        for plugin in self.plugins:
            claim = self._consider(plugin, pod, plugin.call(_meta_json(pod)), trail)
            if claim is not None:
                return PodResult(pod, claim, trail)
        return self._after_plugins(pod, outcome, trail)

    def _consider(self, plugin, pod: Pod, result: CallResult, trail) -> Resolved | None:
        """Record what one plugin said about a pod; its claim, if it made one."""
        if trail is not None:
            trail.append(TrailStep(f"plugin:{plugin.name}", describe_call(result)))
        status = result.status
        if status == "claim":
            return Resolved(result.type, result.name, f"plugin:{plugin.name}")
        if status == "error" and result.error.kind in _COSTLY_ERRORS and self.max_limit_errors is not None:
            self._count_limit_error(plugin, result)
        if status != "pass" and self.on_event is not None:
            if status == "error":
                self.on_event("plugin_error", plugin.name, pod, str(result.error))
            else:
                self.on_event("unsupported_type", plugin.name, pod,
                              f"unsupported workload type {result.type!r} (name {result.name!r})")
        return None

    @staticmethod
    def _after_plugins(pod: Pod, outcome: Resolved | Unresolved, trail) -> PodResult:
        """The owner rules' answer, for a pod no plugin claimed."""
        if trail is not None:
            if isinstance(outcome, Resolved):
                trail.append(TrailStep(outcome.source, f"{outcome.type} {outcome.name}"))
            else:
                trail.append(TrailStep("builtin:owner-rules", f"unresolved: {outcome.reason}"))
        return PodResult(pod, outcome, trail)

    def _count_limit_error(self, plugin: LuaPlugin, result: CallResult) -> None:
        count = self._limit_errors[plugin.name] = self._limit_errors.get(plugin.name, 0) + 1
        if count > self.max_limit_errors:
            raise PluginDisabled(plugin.name, f"plugin {plugin.name} ran out of budget or crashed on more than "
                                              f"{self.max_limit_errors} pods ({result.error}); "
                                              "resolving without it")

    def resolve_all(self, pods: Sequence[Pod], explain: bool = False,
                    progress: Callable[[int], None] | None = None) -> tuple[list[PodResult], Summary]:
        """Resolve every pod; results sorted by (namespace, name, uid).

        The same answers as ``resolve`` on each pod, computed plugin by
        plugin (see the module's docstring).  ``progress(done)`` hears how
        many pods are settled, now and then.
        """
        results: list[PodResult] = []
        pending = []  # (pod, owner rules' answer, trail) for pods the plugins may claim
        reported = 0
        for pod in pods:
            done, outcome, trail = self._before_plugins(pod, explain)
            if done is None and not self.plugins:  # no plugin to ask: settled now
                done = self._after_plugins(pod, outcome, trail)
            if done is not None:
                results.append(done)
                reported = _report(progress, len(results), reported)
            else:
                pending.append((pod, outcome, trail))
        for plugin in self.plugins:
            if not pending:
                break
            unclaimed = []
            answers = plugin.call_many([_meta_json(pod) for pod, _, _ in pending])
            for entry, result in zip(pending, answers, strict=True):
                pod, _, trail = entry
                claim = self._consider(plugin, pod, result, trail)
                if claim is None:
                    unclaimed.append(entry)
                else:
                    results.append(PodResult(pod, claim, trail))
                    reported = _report(progress, len(results), reported)
            pending = unclaimed
        for pod, outcome, trail in pending:
            results.append(self._after_plugins(pod, outcome, trail))
        if progress is not None:
            progress(len(pods))
        results.sort(key=lambda r: r.pod.sort_key)
        return results, summarise(results, self.plugins)


def _meta_json(pod: Pod) -> bytes:
    """The pod's metadata JSON, packed: plugins unpack it where they run
    (``plugins.lua_input``), in a worker process for one."""
    return pod.packed_meta


def _report(progress, done: int, reported: int) -> int:
    """Call ``progress`` every 256 settled pods; returns the count last reported."""
    if progress is not None and done - reported >= 256:
        progress(done)
        return done
    return reported


def summarise(results: Sequence[PodResult], plugins: Sequence[LuaPlugin] = ()) -> Summary:
    summary = Summary()
    for result in results:
        outcome = result.outcome
        if isinstance(outcome, Resolved):
            summary.by_source[outcome.source] += 1
        else:
            summary.by_reason[outcome.reason] += 1
    return summary


def resolve_podset(podset: PodSet, plugins: Sequence[LuaPlugin] = (), *, explain: bool = False,
                   on_event: EventSink | None = None, progress=None,
                   on_disabled: Callable[[PluginDisabled], None] | None = None,
                   ) -> tuple[list[PodResult], Summary]:
    """Resolve a whole input, counting each plugin's errors in the summary.

    A plugin that runs out of budget too often (``PluginDisabled``) is
    dropped and the pass starts again without it, so every pod is resolved
    by the same chain.
    """
    plugins = list(plugins)
    disabled: list[str] = []
    while True:
        before = {p.name: (sum(p.stats.errors.values()), p.stats.unsupported) for p in plugins}
        chain = Chain(plugins, podset.replicasets, on_event)
        try:
            results, summary = chain.resolve_all(podset.pods, explain, progress)
            break
        except PluginDisabled as exc:
            if on_disabled is not None:
                on_disabled(exc)
            disabled.append(exc.plugin)
            plugins = [p for p in plugins if p.name != exc.plugin]
    summary.disabled = disabled
    for plugin in plugins:
        errors_before, unsupported_before = before[plugin.name]
        errors = sum(plugin.stats.errors.values()) - errors_before
        unsupported = plugin.stats.unsupported - unsupported_before
        if errors:
            summary.plugin_errors[plugin.name] = errors
        if unsupported:
            summary.unsupported[plugin.name] = unsupported
    return results, summary
