"""Every built-in rule: the virtual-kubelet rule and the owner rules."""

import pytest

from resolver.rules import Resolved, Unresolved, normalise_type, owner_rules, virtual_kubelet


def vk_labels(**labels):
    return {"labels": {"virtual-kubelet.io/" + k.replace("_", "-"): v for k, v in labels.items()}}


# -- virtual-kubelet ---------------------------------------------------------

@pytest.mark.parametrize("cluster_type", ["serverless", "proprietary", "Proprietary", "SERVERLESS"])
def test_virtual_kubelet_applies_to_serverless_and_proprietary(cluster_type):
    meta = vk_labels(provider_cluster_type=cluster_type, provider_resource_name="eci-web-tj2wgxvfq2")
    assert virtual_kubelet(meta) == Resolved("Deployment", "eci-web", "builtin:virtual-kubelet")


def test_virtual_kubelet_does_not_apply_to_other_cluster_types():
    assert virtual_kubelet(vk_labels(provider_cluster_type="edge", provider_resource_name="a-b")) is None
    assert virtual_kubelet({"labels": {}}) is None
    assert virtual_kubelet({}) is None


def test_virtual_kubelet_type_label_wins():
    meta = vk_labels(provider_cluster_type="serverless", provider_workload_type="DaemonSet",
                     provider_resource_name="agent-x1")
    assert virtual_kubelet(meta) == Resolved("DaemonSet", "agent", "builtin:virtual-kubelet")


def test_virtual_kubelet_statefulset_pod_name_label_means_statefulset():
    meta = vk_labels(provider_cluster_type="serverless", provider_resource_name="db-7f9c")
    meta["labels"]["statefulset.kubernetes.io/pod-name"] = "db-0"
    assert virtual_kubelet(meta) == Resolved("StatefulSet", "db", "builtin:virtual-kubelet")


def test_virtual_kubelet_name_cut_at_last_dash_or_kept_whole():
    meta = vk_labels(provider_cluster_type="serverless", provider_resource_name="a-b-c")
    assert virtual_kubelet(meta).name == "a-b"
    meta = vk_labels(provider_cluster_type="serverless", provider_resource_name="single")
    assert virtual_kubelet(meta).name == "single"


def test_virtual_kubelet_without_resource_name_does_not_apply():
    assert virtual_kubelet(vk_labels(provider_cluster_type="serverless")) is None


# -- owner rules --------------------------------------------------------------

def owned(*owners, labels=None, namespace="ns"):
    meta = {"namespace": namespace, "ownerReferences": list(owners)}
    if labels is not None:
        meta["labels"] = labels
    return meta


def ref(kind, name, controller=None, api="apps/v1"):
    r = {"apiVersion": api, "kind": kind, "name": name}
    if controller is not None:
        r["controller"] = controller
    return r


def test_controller_reference_wins_over_first():
    meta = owned(ref("Tracker", "t1", False, "example.com/v1"), ref("StatefulSet", "split-brain", True))
    assert owner_rules(meta, {}) == Resolved("StatefulSet", "split-brain", "builtin:owner")


def test_first_reference_when_none_is_controller():
    meta = owned(ref("DaemonSet", "first"), ref("StatefulSet", "second"))
    assert owner_rules(meta, {}) == Resolved("DaemonSet", "first", "builtin:owner")


def test_replicaset_followed_to_its_deployment_when_input_has_replicasets():
    meta = owned(ref("ReplicaSet", "web-5d8f", True), labels={"pod-template-hash": "5d8f"})
    replicasets = {("ns", "web-5d8f"): ref("Deployment", "frontend", True)}
    assert owner_rules(meta, replicasets) == Resolved("Deployment", "frontend", "builtin:replicaset-owner")


def test_replicaset_in_other_namespace_is_not_followed():
    meta = owned(ref("ReplicaSet", "web-5d8f", True), labels={"pod-template-hash": "5d8f"})
    replicasets = {("other", "web-5d8f"): ref("Deployment", "frontend", True)}
    assert owner_rules(meta, replicasets) == Resolved("Deployment", "web", "builtin:pod-template-hash")


def test_replicaset_with_matching_pod_template_hash_is_a_deployment():
    meta = owned(ref("ReplicaSet", "checkout-v2-qh2gmk9zk", True), labels={"pod-template-hash": "qh2gmk9zk"})
    assert owner_rules(meta, {}) == Resolved("Deployment", "checkout-v2", "builtin:pod-template-hash")


def test_replicaset_fallback_cuts_at_last_dash_argo_rollouts():
    meta = owned(ref("ReplicaSet", "checkout-p5mcbz2dtd", True),
                 labels={"rollouts-pod-template-hash": "p5mcbz2dtd"})
    assert owner_rules(meta, {}) == Resolved("ReplicaSet", "checkout", "builtin:replicaset")


def test_replicaset_hash_that_does_not_match_falls_back():
    meta = owned(ref("ReplicaSet", "web-abc", True), labels={"pod-template-hash": "xyz"})
    assert owner_rules(meta, {}) == Resolved("ReplicaSet", "web", "builtin:replicaset")


def test_replicaset_whose_own_owner_is_not_a_deployment_uses_the_other_rules():
    meta = owned(ref("ReplicaSet", "roll-abc", True))
    replicasets = {("ns", "roll-abc"): ref("Rollout", "roll", True, "argoproj.io/v1alpha1")}
    assert owner_rules(meta, replicasets) == Resolved("ReplicaSet", "roll", "builtin:replicaset")


@pytest.mark.parametrize("kind,api", [
    ("StatefulSet", "apps/v1"), ("DaemonSet", "apps/v1"), ("ReplicationController", "v1"),
    ("CloneSet", "apps.kruise.io/v1alpha1"), ("StatefulSet", "apps.kruise.io/v1beta1"),
    ("DaemonSet", "apps.kruise.io/v1alpha1"),
])
def test_direct_owner_kinds(kind, api):
    assert owner_rules(owned(ref(kind, "w", True, api)), {}) == Resolved(kind, "w", "builtin:owner")


def test_inplaceset_is_a_deployment():
    meta = owned(ref("InPlaceSet", "ips", True, "apps.kruise.io/v1alpha1"))
    assert owner_rules(meta, {}) == Resolved("Deployment", "ips", "builtin:inplaceset")


@pytest.mark.parametrize("meta,reason", [
    ({"namespace": "ns"}, "no owner"),
    (owned(), "no owner"),
    (owned(ref("Job", "report-1", True, "batch/v1")), "owned by Job"),
    (owned(ref("Node", "master-3", True, "v1")), "static pod (owned by Node)"),
    (owned(ref("OpenGaussCluster", "ogtest", True)), "unknown owner kind OpenGaussCluster"),
    (owned(ref("StrimziPodSet", "kafka", True)), "unknown owner kind StrimziPodSet"),
    (owned(ref("VirtualMachineInstance", "vm", True)), "unknown owner kind VirtualMachineInstance"),
    (owned({"kind": "StatefulSet"}), "owner StatefulSet has no name"),
    ({"ownerReferences": "garbage"}, "no owner"),
])
def test_unresolved_reasons(meta, reason):
    assert owner_rules(meta, {}) == Unresolved(reason)


def test_normalise_type_is_case_insensitive():
    assert normalise_type("statefulset") == "StatefulSet"
    assert normalise_type("REPLICATIONCONTROLLER") == "ReplicationController"
    assert normalise_type("cloneSet") == "CloneSet"
    assert normalise_type("Job") is None
    assert normalise_type("") is None
