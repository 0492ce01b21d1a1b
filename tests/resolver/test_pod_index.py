"""PodIndex: which pods a change makes stale, so only those are resolved again."""

import io
import json

from resolver.chain import Chain
from resolver.podindex import PodIndex
from resolver.pods import Change, make_pod, pods_from_bytes, read_changes
from resolver.rules import Resolved


def pod_meta(name, uid, rs="web-5d8f", hash_label="5d8f", rv="1", **extra):
    labels = {"pod-template-hash": hash_label} if hash_label else {}
    return {"name": name, "namespace": "x", "uid": uid, "resourceVersion": rv, "labels": labels,
            "ownerReferences": [{"kind": "ReplicaSet", "name": rs, "controller": True}], **extra}


def upsert(metadata):
    return Change("upsert", "Pod", pod=make_pod(metadata))


def rs_change(name, deployment, action="upsert"):
    owner = {"kind": "Deployment", "name": deployment, "controller": True} if deployment else None
    return Change(action, "ReplicaSet", replicaset=("x", name), owner=owner)


def names(pods):
    return sorted(pod.name for pod in pods)


def test_new_pods_are_stale_and_a_status_only_update_is_not():
    index = PodIndex()
    assert names(index.apply(upsert(pod_meta("a", "1"))).stale) == ["a"]
    # A new resourceVersion (a status change): nothing a rule or plugin reads changed.
    assert not index.apply(upsert(pod_meta("a", "1", rv="2")))
    update = index.apply(upsert(pod_meta("a", "1", rv="3", annotations={"k": "v"})))
    assert names(update.stale) == ["a"] and update.removed == []
    assert len(index) == 1


def test_delete_removes_and_deleting_an_unknown_pod_is_nothing():
    index = PodIndex()
    index.apply(upsert(pod_meta("a", "1")))
    update = index.apply(Change("delete", "Pod", pod=make_pod(pod_meta("a", "1"))))
    assert names(update.removed) == ["a"] and update.stale == []
    assert not index.apply(Change("delete", "Pod", pod=make_pod(pod_meta("a", "1"))))
    assert len(index) == 0


def test_a_replicaset_change_makes_only_its_own_pods_stale():
    index = PodIndex()
    for name, uid, rs in (("a", "1", "web-5d8f"), ("b", "2", "web-5d8f"), ("c", "3", "api-77")):
        index.apply(upsert(pod_meta(name, uid, rs=rs)))
    assert names(index.apply(rs_change("web-5d8f", "web")).stale) == ["a", "b"]
    assert not index.apply(rs_change("web-5d8f", "web"))  # the same owner again
    assert names(index.apply(rs_change("web-5d8f", "web-v2")).stale) == ["a", "b"]
    assert names(index.apply(rs_change("web-5d8f", None, "delete")).stale) == ["a", "b"]
    assert not index.apply(rs_change("nothing-here", None, "delete"))
    # A pod that moved to another ReplicaSet is no longer among the first one's.
    index.apply(upsert(pod_meta("b", "2", rs="api-77")))
    assert names(index.apply(rs_change("web-5d8f", "web")).stale) == ["a"]
    assert names(index.apply(rs_change("api-77", "api")).stale) == ["b", "c"]


def test_answers_follow_the_replicaset_through_a_cached_chain():
    """The built-in answers are cached per pod; a ReplicaSet change must not leave them stale."""
    index = PodIndex()
    index.apply(upsert(pod_meta("a", "1", rs="web-abc", hash_label="")))
    chain = Chain([], index.replicasets)
    assert chain.resolve(index.pods["1"]).outcome == Resolved("ReplicaSet", "web", "builtin:replicaset")
    for pod in index.apply(rs_change("web-abc", "frontend")).stale:
        assert chain.resolve(pod).outcome == Resolved("Deployment", "frontend", "builtin:replicaset-owner")


def test_replace_diffs_a_whole_new_reading():
    index = PodIndex()

    def reading(*items):
        return pods_from_bytes(json.dumps({"kind": "List", "items": list(items)}).encode())

    a, b, c = ({"kind": "Pod", "metadata": pod_meta(n, u)} for n, u in (("a", "1"), ("b", "2"), ("c", "3")))
    assert names(index.replace(reading(a, b)).stale) == ["a", "b"]
    b2 = {"kind": "Pod", "metadata": pod_meta("b", "2", annotations={"changed": "yes"})}
    update = index.replace(reading(a, b2, c))
    assert names(update.stale) == ["b", "c"] and update.removed == []
    update = index.replace(reading(b2, c))
    assert update.stale == [] and names(update.removed) == ["a"]
    rs = {"kind": "ReplicaSet", "metadata": {"name": "web-5d8f", "namespace": "x",
                                             "ownerReferences": [{"kind": "Deployment", "name": "web"}]}}
    assert names(index.replace(reading(b2, c, rs)).stale) == ["b", "c"]
    assert names(index.replace(reading(b2, c)).stale) == ["b", "c"]  # the ReplicaSet went away


def test_a_kubectl_watch_stream_drives_the_index():
    events = [{"type": "ADDED", "object": {"kind": "Pod", "metadata": pod_meta("a", "1")}},
              {"type": "MODIFIED", "object": {"kind": "Pod", "metadata": pod_meta("a", "1", rv="9")}},
              {"type": "ADDED", "object": {"kind": "Pod", "metadata": pod_meta("b", "2")}},
              {"type": "DELETED", "object": {"kind": "Pod", "metadata": pod_meta("a", "1")}}]
    stream = io.BytesIO("".join(json.dumps(e, indent=2) for e in events).encode())
    index = PodIndex()
    log = []
    for change in read_changes(stream, "<stdin>"):
        update = index.apply(change)
        log.append((names(update.stale), names(update.removed)))
    assert log == [(["a"], []), ([], []), (["b"], []), ([], ["a"])]
    assert names(index.podset().pods) == ["b"]
