"""Reading pods and serialising metadata exactly like Go's encoding/json."""

import builtins
import json
import os

import sys

import pytest

from resolver.pods import (
    PodInputError, collect, cut_metadata, go_json, load_pods, make_pod, parse_documents,
)

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "data", "pods-sample.json")


# -- Go encoding/json -------------------------------------------------------

def test_go_json_is_compact_with_keys_sorted_at_every_level():
    value = {"b": 1, "a": {"z": True, "y": [{"kind": "X", "apiVersion": "v1"}]}}
    assert go_json(value) == '{"a":{"y":[{"apiVersion":"v1","kind":"X"}],"z":true},"b":1}'


def test_go_json_escapes_html_characters_and_js_line_separators():
    # What Go's json.Marshal prints for these strings.
    assert go_json({"k": "<a href='x'>&</a>"}) == '{"k":"\\u003ca href=\'x\'\\u003e\\u0026\\u003c/a\\u003e"}'
    assert go_json({"k": "a\u2028b\u2029c"}) == '{"k":"a\\u2028b\\u2029c"}'


def test_go_json_leaves_other_non_ascii_as_utf8():
    assert go_json({"description": 'café ☃ "quoted"'}) == '{"description":"café ☃ \\"quoted\\""}'
    assert go_json({"k": "\U0001F600"}) == '{"k":"\U0001F600"}'


def test_go_json_control_characters_use_gos_escapes():
    # Go 1.22+: \b \f \n \r \t short forms, other controls as lowercase \u00XX; DEL stays raw.
    assert go_json({"k": "\b\f\n\r\t\x01\x1f\x7f\\"}) == '{"k":"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\\\\"}'


def test_go_json_turns_lone_surrogates_into_replacement_characters():
    assert go_json(json.loads('{"k": "a\\ud800b"}')) == '{"k":"a\ufffdb"}'


def test_cut_metadata_keeps_deepflows_fields_and_leaves_missing_ones_out():
    metadata = {"name": "p", "namespace": "ns", "uid": "u", "resourceVersion": "1",
                "generateName": "p-", "labels": {}, "managedFields": []}
    assert cut_metadata(metadata) == {"name": "p", "namespace": "ns", "uid": "u", "labels": {}}
    assert make_pod(metadata).meta_json == '{"labels":{},"name":"p","namespace":"ns","uid":"u"}'


def test_sample_pod_metadata_json():
    podset = load_pods(SAMPLE)
    pod = next(p for p in podset.pods if p.name == "notifier-89-486t7frsgb-pp9bf")
    metadata = pod.full_metadata()
    assert pod.meta_json == (
        '{"annotations":{"description":"café ☃ \\"quoted\\""},'
        '"creationTimestamp":"' + metadata["creationTimestamp"] + '",'
        '"labels":{"app":"notifier-89","pod-template-hash":"486t7frsgb"},'
        '"name":"notifier-89-486t7frsgb-pp9bf","namespace":"data",'
        '"ownerReferences":[{"apiVersion":"apps/v1","blockOwnerDeletion":true,"controller":true,'
        '"kind":"ReplicaSet","name":"notifier-89-486t7frsgb","uid":"'
        + metadata["ownerReferences"][0]["uid"] + '"}],'
        '"uid":"' + pod.uid + '"}')


# -- input shapes -----------------------------------------------------------

def test_sample_list_reads_all_pods():
    podset = load_pods(SAMPLE)
    assert len(podset.pods) == 60
    assert podset.replicasets == {}
    assert podset.skipped == {}


def test_podlist_items_without_kind_are_pods():
    doc = {"kind": "PodList", "items": [{"metadata": {"name": "a", "namespace": "x", "uid": "1"}}]}
    podset = collect([doc])
    assert [p.name for p in podset.pods] == ["a"]


def test_replicasets_alongside_pods_are_indexed_and_other_kinds_skipped():
    doc = {"kind": "List", "items": [
        {"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}},
        {"kind": "ReplicaSet", "metadata": {"name": "web-abc", "namespace": "ns", "ownerReferences": [
            {"kind": "Deployment", "name": "web", "controller": True}]}},
        {"kind": "Service", "metadata": {"name": "svc"}},
    ]}
    podset = collect([doc])
    assert [p.name for p in podset.pods] == ["p"]
    assert podset.replicasets == {("ns", "web-abc"): {"kind": "Deployment", "name": "web", "controller": True}}
    assert podset.skipped == {"Service": 1}


def test_single_pod_and_bare_metadata_object():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x"}}
    assert [p.name for p in collect(parse_documents(json.dumps(pod))).pods] == ["a"]
    bare = {"name": "b", "namespace": "x", "ownerReferences": []}
    assert [p.name for p in collect(parse_documents(json.dumps(bare))).pods] == ["b"]


def test_ndjson_input():
    lines = "\n".join(json.dumps({"kind": "Pod", "metadata": {"name": n, "namespace": "x"}}) for n in "abc")
    assert [p.name for p in collect(parse_documents(lines + "\n")).pods] == ["a", "b", "c"]


def test_ndjson_error_names_the_line():
    text = '{"kind": "Pod", "metadata": {}}\n{"kind": oops}\n'
    with pytest.raises(PodInputError, match=r"^pods.json:2:10: invalid JSON: Expecting value$"):
        parse_documents(text, "pods.json")


def test_invalid_json_error_has_line_and_column():
    with pytest.raises(PodInputError, match=r"^f.json:2:3: invalid JSON: "):
        parse_documents('{\n  ,}', "f.json")


def test_absurdly_nested_yaml_is_an_input_error():
    pytest.importorskip("yaml")
    text = "items:\n- " + "[" * 50_000 + "]" * 50_000 + "\n"
    with pytest.raises(PodInputError, match=r"^deep.yaml(:2:1002: invalid YAML: exceeded maximum nesting depth|"
                                            r": invalid input: YAML nests too deeply)$"):
        parse_documents(text, "deep.yaml")


def test_absurdly_nested_json_is_an_input_error():
    # The reader relies on Python's recursion limit, which the resolver
    # process leaves near its default (its sandboxed runtimes need little).
    # A standard-profile runtime in the same test worker raises it a lot.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(2000)
    try:
        text = '{"items": [' + "[" * 100_000 + "]" * 100_000 + "]}"
        with pytest.raises(PodInputError, match=r"^deep.json: invalid input: JSON nests too deeply$"):
            parse_documents(text, "deep.json")
    finally:
        sys.setrecursionlimit(limit)


YAML_LIST = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: web-0
    namespace: prod
    uid: 0a1b
    creationTimestamp: 2024-08-07T02:08:14Z
    labels:
      app: web
      enabled: "true"
    ownerReferences:
    - apiVersion: apps/v1
      kind: StatefulSet
      name: web
      controller: true
"""


def test_yaml_list_keeps_timestamps_as_text():
    pytest.importorskip("yaml")
    podset = collect(parse_documents(YAML_LIST, "pods.yaml"))
    (pod,) = podset.pods
    assert pod.full_metadata()["creationTimestamp"] == "2024-08-07T02:08:14Z"
    assert pod.meta_json == (
        '{"creationTimestamp":"2024-08-07T02:08:14Z","labels":{"app":"web","enabled":"true"},'
        '"name":"web-0","namespace":"prod","ownerReferences":[{"apiVersion":"apps/v1",'
        '"controller":true,"kind":"StatefulSet","name":"web"}],"uid":"0a1b"}')


def test_multi_document_yaml():
    pytest.importorskip("yaml")
    text = "kind: Pod\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: b}\n"
    assert [p.name for p in collect(parse_documents(text)).pods] == ["a", "b"]


def test_yaml_without_pyyaml_gives_a_clear_error(monkeypatch):
    real_import = builtins.__import__

    def no_yaml(name, *args, **kwargs):
        if name == "yaml":
            raise ImportError("no yaml")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_yaml)
    with pytest.raises(PodInputError, match=r"pods.yaml: this is not JSON; reading YAML needs PyYAML "
                                            r"\(pip install 'luapy-sandbox\[yaml\]'\)"):
        parse_documents(YAML_LIST, "pods.yaml")


def test_invalid_yaml_error_has_a_position():
    pytest.importorskip("yaml")
    with pytest.raises(PodInputError, match=r"^p.yaml:3:1: invalid YAML: (expected ',' or '\]', but got '<stream end>'|"
                                            r"did not find expected ',' or '\]')$"):
        parse_documents("kind: Pod\nmetadata: [unclosed\n", "p.yaml")


def test_directory_of_files(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"kind": "Pod", "metadata": {"name": "a"}}))
    (tmp_path / "b.ndjson").write_text(json.dumps({"kind": "Pod", "metadata": {"name": "b"}}) + "\n")
    (tmp_path / "notes.txt").write_text("ignored")
    assert sorted(p.name for p in load_pods(str(tmp_path)).pods) == ["a", "b"]


def test_missing_file_error():
    with pytest.raises(PodInputError, match=r"^/nonexistent/pods.json: No such file or directory$"):
        load_pods("/nonexistent/pods.json")


def test_nan_and_yaml_only_values_are_input_errors():
    with pytest.raises(PodInputError, match=r"^f.json: invalid JSON: NaN is not valid JSON$"):
        parse_documents('{"kind": "Pod", "metadata": {"name": NaN}}', "f.json")
    pytest.importorskip("yaml")
    with pytest.raises(PodInputError, match=r"^<input>:1:1: pod ns/a: metadata is not JSON-compatible: "):
        collect(parse_documents("kind: Pod\nmetadata:\n  name: a\n  namespace: ns\n  labels: {x: .nan}\n"))
