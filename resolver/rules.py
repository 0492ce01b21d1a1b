"""The built-in resolution rules: DeepFlow's virtual-kubelet rule and the owner rules.

Each rule looks at one pod's (cut) metadata and returns a ``Resolved``
workload, or an ``Unresolved`` with the reason nothing applied.  Rules never
raise on odd input: a label that is not a string counts as absent.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The workload types DeepFlow accepts from a plugin, by lowercase spelling.
SUPPORTED_TYPES = {name.lower(): name for name in (
    "Deployment", "StatefulSet", "ReplicaSet", "DaemonSet",
    "ReplicationController", "CloneSet",
)}

#: Owner kinds that name their workload directly (apps/v1 and the
#: apps.kruise.io variants share these kind names).
_DIRECT_OWNER_KINDS = ("StatefulSet", "DaemonSet", "ReplicationController", "CloneSet")

VK_CLUSTER_TYPE = "virtual-kubelet.io/provider-cluster-type"
VK_WORKLOAD_TYPE = "virtual-kubelet.io/provider-workload-type"
VK_RESOURCE_NAME = "virtual-kubelet.io/provider-resource-name"
STATEFULSET_POD_NAME = "statefulset.kubernetes.io/pod-name"
POD_TEMPLATE_HASH = "pod-template-hash"

#: Every label a rule reads: a pod keeps only these for the rules
#: (``pods.rules_view``); plugins see all of them in the metadata JSON.
RULE_LABELS = (VK_CLUSTER_TYPE, VK_WORKLOAD_TYPE, VK_RESOURCE_NAME, STATEFULSET_POD_NAME, POD_TEMPLATE_HASH)


@dataclass(frozen=True)
class Resolved:
    type: str
    name: str
    #: ``plugin:NAME`` or ``builtin:RULE``.
    source: str


@dataclass(frozen=True)
class Unresolved:
    #: A short, countable reason: ``no owner``, ``owned by Job``,
    #: ``static pod (owned by Node)``, ``unknown owner kind X``...
    reason: str


def controller_owner(owner_references) -> dict | None:
    """The controlling owner reference (``controller: true``), else the first."""
    if not isinstance(owner_references, list):
        return None
    owners = [ref for ref in owner_references if isinstance(ref, dict)]
    for ref in owners:
        if ref.get("controller") is True:
            return ref
    return owners[0] if owners else None


def normalise_type(workload_type: str) -> str | None:
    """The canonical spelling of a supported workload type, else ``None``."""
    return SUPPORTED_TYPES.get(workload_type.lower())


def _labels(metadata: dict) -> dict:
    labels = metadata.get("labels")
    return labels if isinstance(labels, dict) else {}


def _label(labels: dict, key: str) -> str:
    value = labels.get(key)
    return value if isinstance(value, str) else ""


def virtual_kubelet(metadata: dict) -> Resolved | None:
    """DeepFlow's rule for serverless (virtual-kubelet) pods, applied first.

    ``None`` when it does not apply: the cluster-type label is not
    ``serverless``/``proprietary`` (case-insensitively), or there is no
    resource name to derive the workload from.
    """
    labels = _labels(metadata)
    if _label(labels, VK_CLUSTER_TYPE).lower() not in ("serverless", "proprietary"):
        return None
    workload_type = _label(labels, VK_WORKLOAD_TYPE)
    if not workload_type:
        workload_type = "StatefulSet" if STATEFULSET_POD_NAME in labels else "Deployment"
    resource_name = _label(labels, VK_RESOURCE_NAME)
    if not resource_name:
        return None
    cut = resource_name.rfind("-")
    name = resource_name[:cut] if cut != -1 else resource_name
    return Resolved(workload_type, name, "builtin:virtual-kubelet")


def owner_rules(metadata: dict, replicasets: dict) -> Resolved | Unresolved:
    """Resolve from the pod's controlling owner reference."""
    owner = controller_owner(metadata.get("ownerReferences"))
    if owner is None:
        return Unresolved("no owner")
    kind = owner.get("kind") if isinstance(owner.get("kind"), str) else ""
    name = owner.get("name") if isinstance(owner.get("name"), str) else ""
    if not name:
        return Unresolved(f"owner {kind or '(no kind)'} has no name")
    if kind == "ReplicaSet":
        return _replicaset_owner(metadata, name, replicasets)
    if kind in _DIRECT_OWNER_KINDS:
        return Resolved(kind, name, "builtin:owner")
    if kind == "InPlaceSet":
        return Resolved("Deployment", name, "builtin:inplaceset")
    if kind == "Job":
        return Unresolved("owned by Job")
    if kind == "Node":
        return Unresolved("static pod (owned by Node)")
    return Unresolved(f"unknown owner kind {kind or '(none)'}")


def _replicaset_owner(metadata: dict, rs_name: str, replicasets: dict) -> Resolved | Unresolved:
    namespace = metadata.get("namespace") if isinstance(metadata.get("namespace"), str) else ""
    key = (namespace, rs_name)
    if key in replicasets:
        # The input carries the ReplicaSet itself: follow its own owner.
        rs_owner = replicasets[key]
        if rs_owner is not None and rs_owner.get("kind") == "Deployment" \
                and isinstance(rs_owner.get("name"), str) and rs_owner["name"]:
            return Resolved("Deployment", rs_owner["name"], "builtin:replicaset-owner")
    template_hash = _label(_labels(metadata), POD_TEMPLATE_HASH)
    if template_hash and rs_name.endswith("-" + template_hash):
        return Resolved("Deployment", rs_name[:-len(template_hash) - 1], "builtin:pod-template-hash")
    # DeepFlow's fallback; it also covers Argo Rollouts' ReplicaSets.
    cut = rs_name.rfind("-")
    return Resolved("ReplicaSet", rs_name[:cut] if cut != -1 else rs_name, "builtin:replicaset")
