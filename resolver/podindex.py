"""The pods known now, and which of them a change makes stale.

A ``PodIndex`` takes pod and ReplicaSet changes one at a time (from a watch,
or from ``pods.read_changes`` on ``kubectl get pods -A -w -o json``), or a
whole new reading of the input (``replace``, when ``serve --pods FILE``
sees the file change), and answers with an ``Update``: the pods whose answer
must be computed again and the pods whose answer must be dropped.

What decides "changed" is what resolution reads, not the resourceVersion:
a pod is stale when its plugin input (the cut metadata JSON, which also
holds everything the built-in rules read) differs from the one held.  So the
status updates that make most of a cluster's pod traffic re-resolve nothing.
A ReplicaSet is read only for its controlling owner: when that changes
(or the ReplicaSet comes or goes), the pods it owns are stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .pods import Change, Pod, PodSet, pod_key

_MISSING = object()


@dataclass
class Update:
    """What one or more changes mean for the answers being served."""

    #: Pods to resolve (again), each once.
    stale: list[Pod] = field(default_factory=list)
    #: Pods that are gone: their answers must no longer be served.
    removed: list[Pod] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.stale or self.removed)


class PodIndex:
    """Pods by identity (uid, else namespace and name), and ReplicaSet owners."""

    def __init__(self) -> None:
        self.pods: dict = {}
        #: (namespace, ReplicaSet name) -> its controlling owner reference.
        #: One dict for the index's whole life, updated in place: hand it to
        #: ``chain.Chain`` as its ``replicasets``.
        self.replicasets: dict[tuple[str, str], dict | None] = {}
        #: (namespace, ReplicaSet name) -> keys of the pods it owns.
        self._owned: dict[tuple[str, str], set] = {}

    def __len__(self) -> int:
        return len(self.pods)

    def podset(self) -> PodSet:
        return PodSet(list(self.pods.values()), self.replicasets, {})

    # -- changes

    def apply(self, change: Change) -> Update:
        """Take one change; what it makes stale or removes."""
        update = Update()
        stale: dict = {}
        self._apply(change, stale, update.removed)
        update.stale = list(stale.values())
        return update

    def replace(self, podset: PodSet) -> Update:
        """Take a whole new reading: whatever it lacks is removed."""
        stale: dict = {}
        removed: list[Pod] = []
        wanted = {pod_key(pod): pod for pod in podset.pods}
        for key in [key for key in self.pods if key not in wanted]:
            self._apply(Change("delete", "Pod", pod=self.pods[key]), stale, removed)
        for rs_key in [rs_key for rs_key in self.replicasets if rs_key not in podset.replicasets]:
            self._apply(Change("delete", "ReplicaSet", replicaset=rs_key), stale, removed)
        for rs_key, owner in podset.replicasets.items():
            self._apply(Change("upsert", "ReplicaSet", replicaset=rs_key, owner=owner), stale, removed)
        for pod in wanted.values():
            self._apply(Change("upsert", "Pod", pod=pod), stale, removed)
        return Update(list(stale.values()), removed)

    def _apply(self, change: Change, stale: dict, removed: list[Pod]) -> None:
        if change.pod is not None:
            key = pod_key(change.pod)
            old = self.pods.get(key)
            if change.action == "delete":
                if old is not None:
                    self._forget(key, old)
                    stale.pop(key, None)
                    removed.append(old)
            elif change.action == "upsert" and (old is None or old.fingerprint != change.pod.fingerprint):
                if old is not None:
                    self._forget(key, old)
                self.pods[key] = change.pod
                owner = _owning_replicaset(change.pod)
                if owner is not None:
                    self._owned.setdefault(owner, set()).add(key)
                stale[key] = change.pod
        elif change.replicaset is not None and change.action in ("upsert", "delete"):
            before = self.replicasets.get(change.replicaset, _MISSING)
            if change.action == "delete":
                if before is _MISSING:
                    return
                del self.replicasets[change.replicaset]
            elif before == change.owner and before is not _MISSING:
                return
            else:
                self.replicasets[change.replicaset] = change.owner
            for key in self._owned.get(change.replicaset, ()):
                pod = self.pods[key]
                pod.builtin_cache = None  # computed with the ReplicaSet as it was
                stale[key] = pod

    def _forget(self, key, pod: Pod) -> None:
        del self.pods[key]
        owner = _owning_replicaset(pod)
        if owner is not None:
            keys = self._owned.get(owner)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._owned[owner]


def _owning_replicaset(pod: Pod) -> tuple[str, str] | None:
    """(namespace, name) of the ReplicaSet controlling the pod, if one does."""
    owners = pod.metadata.get("ownerReferences")
    if owners and owners[0].get("kind") == "ReplicaSet" and isinstance(owners[0].get("name"), str):
        return (pod.namespace, owners[0]["name"])
    return None
