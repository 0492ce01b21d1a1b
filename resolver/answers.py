"""The answers the service serves: one ``PodResult`` per pod, swapped in place.

Answers are keyed like ``PodIndex`` keys pods (``pods.pod_key``), so a pod
event replaces exactly one answer.  Every change goes through ``put`` or
``drop``, each a single step under the service's state lock: a reader sees a
batch of new answers entirely or not at all.  The sorted list and the summary
that ``/v1/workloads`` and ``/metrics`` read are derived lazily, once per
change rather than once per read.
"""

from __future__ import annotations

from typing import Iterable

from .chain import PodResult, Summary, summarise
from .pods import Pod, pod_key
from .rules import Resolved


class Answers:
    def __init__(self) -> None:
        self._by_key: dict = {}
        #: (namespace, name) -> {key: result}: a name can be shared by pods with different uids.
        self._by_name: dict[tuple[str, str], dict] = {}
        self._sorted: list[PodResult] | None = []
        self._summary: Summary | None = Summary()

    def __len__(self) -> int:
        return len(self._by_key)

    def put(self, results: Iterable[PodResult]) -> None:
        for result in results:
            key = pod_key(result.pod)
            old = self._by_key.get(key)
            if old is not None:
                self._unname(key, old)
            self._by_key[key] = result
            self._by_name.setdefault((result.pod.namespace, result.pod.name), {})[key] = result
        self._changed()

    def drop(self, keys: Iterable) -> None:
        for key in keys:
            old = self._by_key.pop(key, None)
            if old is not None:
                self._unname(key, old)
        self._changed()

    def keys(self) -> list:
        return list(self._by_key)

    def get(self, key) -> PodResult | None:
        return self._by_key.get(key)

    def named(self, namespace: str, name: str) -> list[PodResult]:
        return sorted(self._by_name.get((namespace, name), {}).values(), key=lambda r: r.pod.sort_key)

    def results(self) -> list[PodResult]:
        """Every answer, sorted by namespace, name and uid."""
        if self._sorted is None:
            self._sorted = sorted(self._by_key.values(), key=lambda r: r.pod.sort_key)
        return self._sorted

    def summary(self) -> Summary:
        if self._summary is None:
            self._summary = summarise(self._by_key.values())
        return self._summary

    def claimed_by(self, source: str) -> list[Pod]:
        """The pods whose answer came from ``source`` (``plugin:NAME``)."""
        return [result.pod for result in self._by_key.values()
                if isinstance(result.outcome, Resolved) and result.outcome.source == source]

    def _unname(self, key, result: PodResult) -> None:
        name = (result.pod.namespace, result.pod.name)
        same_name = self._by_name.get(name)
        if same_name is not None:
            same_name.pop(key, None)
            if not same_name:
                del self._by_name[name]

    def _changed(self) -> None:
        self._sorted = None
        self._summary = None
