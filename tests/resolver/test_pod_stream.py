"""Reading pods incrementally: chunking, streams, progress, and the unchanged plugin contract."""

import io
import json
import os
import random
import threading
import tracemalloc

import pytest

from bench.realistic_pods import make_pod as realistic_pod, write_pod_list
from resolver import podreader
from resolver.pods import (
    PodInputError, cut_metadata, go_json, load_pods, pods_from_bytes, read_changes, read_pods,
)
from resolver.rules import owner_rules, virtual_kubelet
from test_pod_input import yaml_parser  # noqa: F401 (the fixture: libyaml and pure parsers)

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "data", "pods-sample.json")


def reference(items, replicasets=None):
    """What the pre-streaming reader gave plugins and rules: computed from the whole parsed pods."""
    out = {}
    for item in items:
        cut = cut_metadata(item["metadata"])
        out[cut["uid"]] = (go_json(cut), virtual_kubelet(cut), owner_rules(cut, replicasets or {}))
    return out


def observed(podset):
    return {pod.uid: (pod.meta_json, virtual_kubelet(pod.metadata), owner_rules(pod.metadata, podset.replicasets))
            for pod in podset.pods}


# -- the plugin contract, byte for byte --------------------------------------

@pytest.mark.parametrize("chunk", [64, 4096, 1 << 20])
def test_sample_gives_plugins_and_rules_exactly_what_the_whole_document_gives(monkeypatch, chunk):
    monkeypatch.setattr(podreader, "CHUNK_BYTES", chunk)
    with open(SAMPLE) as handle:
        items = json.load(handle)["items"]
    podset = load_pods(SAMPLE)
    assert observed(podset) == reference(items)
    for pod in podset.pods:
        assert pod.lua_meta == pod.meta_json.encode("utf-8").decode("latin-1")


def test_realistic_pods_keep_the_contract_and_drop_the_rest(tmp_path):
    path = str(tmp_path / "pods.json")
    write_pod_list(120, path)
    with open(path) as handle:
        items = json.load(handle)["items"]
    podset = load_pods(path)
    assert observed(podset) == reference(items)
    pod = podset.pods[0]
    assert set(pod.full_metadata()) <= {"uid", "name", "namespace", "ownerReferences",
                                        "creationTimestamp", "labels", "annotations"}
    assert "last-applied-configuration" in pod.meta_json
    assert len(pod.fingerprint) < len(pod.meta_json) / 2  # held compressed


def test_realistic_yaml_gives_the_same_contract(tmp_path, yaml_parser):
    path = str(tmp_path / "pods.yaml")
    write_pod_list(30, path, as_yaml=True)
    json_path = str(tmp_path / "pods.json")
    write_pod_list(30, json_path)
    assert observed(load_pods(path)) == observed(load_pods(json_path))


def test_held_memory_per_realistic_pod_is_a_few_kilobytes():
    rng = random.Random(5)
    data = json.dumps({"kind": "List", "items": [realistic_pod(rng, i) for i in range(300)]}, indent=4).encode()
    tracemalloc.start()
    try:
        podset = pods_from_bytes(data)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(podset.pods) == 300
    per_pod = held / len(podset.pods)
    assert len(data) / len(podset.pods) > 15_000
    assert per_pod < 5_000, per_pod


# -- chunk boundaries and positions ------------------------------------------

@pytest.mark.parametrize("chunk", [1, 7, 100])
def test_errors_name_the_right_line_whatever_the_chunking(monkeypatch, chunk):
    monkeypatch.setattr(podreader, "CHUNK_BYTES", chunk)
    lines = [json.dumps({"kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "x"}}) for i in range(30)]
    lines[21] = lines[21].replace('"x"', "x")
    with pytest.raises(PodInputError) as info:
        read_pods(io.BytesIO("\n".join(lines).encode()), "w.ndjson", total=None)
    assert (info.value.line, info.value.column) == (22, lines[21].index("x}") + 1)


def test_a_truncated_document_is_an_error_at_its_end():
    with pytest.raises(PodInputError, match=r"^t.json:1:\d+: invalid JSON: "):
        pods_from_bytes(b'{"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "a"}}, {"kind"',
                        "t.json")


def test_a_list_kind_before_items_types_the_items_and_list_metadata_is_not_a_pod():
    doc = {"kind": "ReplicaSetList", "metadata": {"resourceVersion": "9"},
           "items": [{"metadata": {"name": "web-1", "namespace": "x",
                                   "ownerReferences": [{"kind": "Deployment", "name": "web"}]}}]}
    pod = {"kind": "Pod", "metadata": {"name": "web-1-a", "namespace": "x"}}
    podset = pods_from_bytes((json.dumps(doc) + json.dumps(pod)).encode())
    assert podset.replicasets == {("x", "web-1"): {"kind": "Deployment", "name": "web"}}
    assert [p.name for p in podset.pods] == ["web-1-a"]


# -- streams ------------------------------------------------------------------

def kubectl_watch_output(objects) -> str:
    """``kubectl get pods -w -o json``: pretty-printed documents, one after another."""
    return "".join(json.dumps(obj, indent=4) + "\n" for obj in objects)


def pod(name, uid, **labels):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "x", "uid": uid, "labels": labels}}


def test_concatenated_json_from_kubectl_watch_ends_as_the_latest_state():
    text = kubectl_watch_output([pod("a", "1"), pod("b", "2"), pod("a", "1", version="2")])
    podset = pods_from_bytes(text.encode(), "<stdin>")
    assert sorted((p.name, p.full_metadata()["labels"].get("version")) for p in podset.pods) == \
        [("a", "2"), ("b", None)]


def test_watch_events_add_modify_and_delete():
    events = [{"type": "ADDED", "object": pod("a", "1")}, {"type": "ADDED", "object": pod("b", "2")},
              {"type": "MODIFIED", "object": pod("a", "1", v="2")}, {"type": "DELETED", "object": pod("b", "2")},
              {"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": "7"}}}]
    text = "\n".join(json.dumps(event) for event in events)
    changes = list(read_changes(io.BytesIO(text.encode()), "events"))
    assert [(c.action, c.pod.name) for c in changes] == [("upsert", "a"), ("upsert", "b"), ("upsert", "a"),
                                                         ("delete", "b")]
    assert [p.name for p in pods_from_bytes(text.encode()).pods] == ["a"]


def test_a_pipe_hands_over_each_object_as_soon_as_it_is_whole():
    read_end, write_end = os.pipe()
    reader = os.fdopen(read_end, "rb")
    writer = os.fdopen(write_end, "wb")
    second_written = threading.Event()
    seen = []

    def consume():
        for change in read_changes(reader, "<stdin>"):
            seen.append((change.pod.name, second_written.is_set()))

    thread = threading.Thread(target=consume)
    thread.start()
    writer.write(json.dumps(pod("a", "1"), indent=4).encode() + b"\n")
    writer.flush()
    for _ in range(200):
        if seen:
            break
        thread.join(0.05)
    second_written.set()
    writer.write(json.dumps(pod("b", "2")).encode())
    writer.close()
    thread.join(10)
    reader.close()
    assert seen == [("a", False), ("b", True)]


# -- progress ------------------------------------------------------------------

def test_progress_covers_reading_a_file_up_to_its_size(tmp_path, monkeypatch):
    monkeypatch.setattr(podreader, "CHUNK_BYTES", 4096)
    path = str(tmp_path / "pods.json")
    size = write_pod_list(20, path)
    calls = []
    load_pods(path, progress=lambda done, total: calls.append((done, total)))
    assert len(calls) > 20
    assert all(total == size for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert calls[-1][0] == size


def test_progress_over_a_directory_counts_every_file(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.json").write_text(json.dumps(pod(name, name)))
    total = sum(os.path.getsize(tmp_path / f"{name}.json") for name in ("a", "b"))
    calls = []
    load_pods(str(tmp_path), progress=lambda done, grand: calls.append((done, grand)))
    assert calls[-1] == (total, total)
