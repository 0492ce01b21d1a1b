"""``resolver resolve --watch``: the answers for a stream of pod changes, kept current.

Pod changes come from a stream (``kubectl get pods -A -w -o json``, NDJSON),
read by a thread of their own so that the plugin store is watched while the
stream is quiet too.  A pod change resolves the pods it makes stale (see
``podindex``); a change to the store's plugins (a create, a new version, a
delete, a rollback, made by another command meanwhile) resolves every pod
read so far again, with the new chain.

``StreamWatch.updates`` yields, per change, what is to be printed: each
stale pod's answer, each deleted pod, and after a plugin change the answers
that differ from the ones last printed (a pod whose answer stays the same
gets no line).
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable, Iterator, NamedTuple

from .chain import Chain, EventSink, PodResult
from .loader import PluginSet
from .plugin_guard import CheckedPlugin
from .podindex import PodIndex
from .pods import Change, Pod, pod_key
from .store import PluginStore

#: How often the store is looked at while the stream is quiet, in seconds.
POLL_SECONDS = 0.2

_END = object()


class Line(NamedTuple):
    """One thing to print: a pod's answer, or that a pod was deleted."""

    pod: Pod
    result: PodResult | None  # None: deleted


class StreamWatch:
    """Resolves a stream of changes with the store's plugins as they are now."""

    def __init__(self, store: PluginStore, changes: Iterable[Change], *, explain: bool = False,
                 on_event: EventSink | None = None,
                 on_load_event: Callable[[str, str, str], None] | None = None,
                 poll_seconds: float = POLL_SECONDS):
        self.store = store
        self.explain = explain
        self.on_event = on_event
        self.poll_seconds = poll_seconds
        self.plugin_set = PluginSet(on_event=on_load_event or (lambda event, name, message: None))
        self.index = PodIndex()
        self._changes = changes
        self._arrivals: queue.SimpleQueue = queue.SimpleQueue()
        self._generation: int | None = None
        #: Pod key -> the outcome last printed for it.
        self._shown: dict = {}

    def updates(self) -> Iterator[list[Line]]:
        """The lines each change calls for, as changes arrive; ends with the stream.

        An error reading the stream (``PodInputError``) is raised here, after
        the lines of every change read before it."""
        self._plugins_changed()
        chain = self._chain()
        threading.Thread(target=self._read, name="resolve-watch-reader", daemon=True).start()
        while True:
            try:
                arrival = self._arrivals.get(timeout=self.poll_seconds)
            except queue.Empty:
                arrival = None
            if self._plugins_changed():
                chain = self._chain()
                lines = self._answer(chain, list(self.index.pods.values()), only_changed=True)
                if lines:
                    yield lines
            if arrival is _END:
                return
            if isinstance(arrival, Exception):
                raise arrival
            if arrival is None:
                continue
            update = self.index.apply(arrival)
            lines = [Line(pod, None) for pod in update.removed]
            for pod in update.removed:
                self._shown.pop(pod_key(pod), None)
            lines += self._answer(chain, update.stale, only_changed=False)
            if lines:
                yield lines

    def close(self) -> None:
        self.plugin_set.sync([])

    def _read(self) -> None:
        try:
            for change in self._changes:
                self._arrivals.put(change)
        except Exception as exc:  # handed to the reading thread, which reports it
            self._arrivals.put(exc)
            return
        self._arrivals.put(_END)

    def _plugins_changed(self) -> bool:
        generation = self.store.generation()
        if generation == self._generation:
            return False
        self._generation = generation
        return self.plugin_set.sync(self.store.chain_order())

    def _chain(self) -> Chain:
        # No plugin is taken out for running out of budget: a stream has
        # no pass for it to be taken out of; each failure is reported.
        return Chain([CheckedPlugin(plugin) for plugin in self.plugin_set.plugins], self.index.replicasets,
                     on_event=self.on_event, max_limit_errors=None)

    def _answer(self, chain: Chain, pods: list[Pod], only_changed: bool) -> list[Line]:
        if not pods:
            return []
        results, _ = chain.resolve_all(pods, explain=self.explain)
        lines = []
        for result in results:
            key = pod_key(result.pod)
            if only_changed and self._shown.get(key) == result.outcome:
                continue
            self._shown[key] = result.outcome
            lines.append(Line(result.pod, result))
        return lines
