"""Pod input hygiene: unusable input is a clear error naming where, never "0 pods"."""

import json
import time

import pytest

from resolver import podreader
from resolver.pods import PodInputError, load_pods, parse_documents, collect, pods_from_bytes

POD = {"kind": "Pod", "metadata": {"name": "a", "namespace": "x", "uid": "u-a"}}


@pytest.fixture(params=["libyaml", "pure"])
def yaml_parser(request, monkeypatch):
    """Run a YAML test with libyaml's parser and with PyYAML's pure one."""
    yaml = pytest.importorskip("yaml")
    if request.param == "libyaml" and not yaml.__with_libyaml__:
        pytest.skip("PyYAML without libyaml")
    monkeypatch.setattr(podreader, "USE_LIBYAML", request.param == "libyaml")
    return request.param


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


# -- nothing to read --------------------------------------------------------

@pytest.mark.parametrize("content", ["", "  \n\t\n", "\ufeff", "# only a comment\n", "---\n---\n"])
def test_empty_input_is_an_error(tmp_path, content):
    path = write(tmp_path, "pods.yaml", content)
    with pytest.raises(PodInputError, match=r"pods.yaml: empty input: no JSON or YAML document$") as info:
        load_pods(path)
    assert info.value.source == path and info.value.line is None
    assert info.value.reason == "empty input: no JSON or YAML document"


def test_empty_directory_and_directory_without_pod_files(tmp_path):
    with pytest.raises(PodInputError, match=r": no pod files in this directory \(\*.json, \*.ndjson, \*.yaml, \*.yml\)$"):
        load_pods(str(tmp_path))
    write(tmp_path, "notes.txt", "x")
    write(tmp_path, ".hidden.json", json.dumps(POD))
    with pytest.raises(PodInputError, match="no pod files"):
        load_pods(str(tmp_path))


def test_an_empty_file_in_a_directory_is_named(tmp_path):
    write(tmp_path, "a.json", json.dumps(POD))
    empty = write(tmp_path, "b.json", "")
    with pytest.raises(PodInputError, match=rf"^{empty}: empty input"):
        load_pods(str(tmp_path))


def test_an_empty_list_is_an_empty_cluster_not_an_error():
    podset = pods_from_bytes(b'{"apiVersion": "v1", "kind": "List", "items": []}')
    assert podset.pods == [] and podset.skipped == {}


# -- not pod data -----------------------------------------------------------

def test_plain_text_is_neither_json_nor_yaml_objects(yaml_parser):
    with pytest.raises(PodInputError, match=r"^notes.txt:1:1: not pod data: a plain text value, "
                                            r"where a JSON or YAML object was expected$") as info:
        pods_from_bytes(b"hello world, these are not pods\n", "notes.txt")
    assert (info.value.line, info.value.column) == (1, 1)


def test_a_top_level_number_is_not_pod_data():
    with pytest.raises(PodInputError, match=r"^<input>:2:1: not pod data: a plain int value"):
        collect(parse_documents('{"kind": "Pod", "metadata": {"name": "a"}}\n42\n'))


def test_bytes_that_are_not_utf8_are_named_by_offset(tmp_path):
    path = write(tmp_path, "p.json", b'{"kind": "Pod", "metadata": {"name": "\xff"}}')
    with pytest.raises(PodInputError, match=r"p.json: not UTF-8 text \(byte 38\)$"):
        load_pods(path)


def test_a_list_of_objects_that_are_not_pods_names_the_first_one():
    text = json.dumps({"kind": "List", "items": [
        {"kind": "Service", "metadata": {"name": "s"}},
        {"kind": "Deployment", "metadata": {"name": "d"}},
        {"kind": "Service", "metadata": {"name": "t"}},
    ]}, indent=2)
    with pytest.raises(PodInputError) as info:
        pods_from_bytes(text.encode(), "objects.json")
    assert str(info.value) == ("objects.json:4:5: no pods in the input: 3 objects, none of them a Pod "
                               "(Deployment 1, Service 2)")
    assert (info.value.line, info.value.column) == (4, 5)


def test_replicasets_alone_are_no_pods_but_next_to_pods_they_are_used(tmp_path):
    rs = {"kind": "ReplicaSet", "metadata": {"name": "web-1", "namespace": "x",
                                             "ownerReferences": [{"kind": "Deployment", "name": "web"}]}}
    path = write(tmp_path, "rs.json", json.dumps({"kind": "List", "items": [rs]}))
    with pytest.raises(PodInputError, match=r"no pods in the input: 1 objects, none of them a Pod \(ReplicaSet 1\)"):
        load_pods(path)
    write(tmp_path, "pods.json", json.dumps(POD))
    assert [p.name for p in load_pods(str(tmp_path)).pods] == ["a"]


def test_non_objects_in_a_list_are_skipped_next_to_pods_and_an_error_alone():
    assert collect(parse_documents(json.dumps([POD, 1, "x"]))).skipped == {"(not an object)": 2}
    with pytest.raises(PodInputError, match=r"^<input>:1:2: no pods in the input: 2 objects"):
        collect(parse_documents("[1, 2]"))


def test_the_error_is_one_exception_class_with_its_parts():
    with pytest.raises(PodInputError) as info:
        pods_from_bytes(b'{"kind": "Pod",\n "metadata": {"name": nope}}', "request body")
    error = info.value
    assert (error.source, error.line, error.column) == ("request body", 2, 23)
    assert error.reason == "invalid JSON: Expecting value"
    assert str(error) == "request body:2:23: invalid JSON: Expecting value"


# -- YAML aliases and object size -------------------------------------------

BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
    'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n'
    'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n'
    'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n'
    'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n'
    'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n'
    'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n'
    'i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n'
    'kind: Pod\nmetadata: {name: bomb, labels: {x: *i}}\n'
)


def test_yaml_alias_bomb_is_refused_at_the_first_alias(yaml_parser):
    started = time.monotonic()
    with pytest.raises(PodInputError, match=r"^bomb.yaml:2:8: invalid YAML: aliases are not accepted "
                                            r"\(found \*a\)$"):
        pods_from_bytes(BILLION_LAUGHS.encode(), "bomb.yaml")
    assert time.monotonic() - started < 5


def test_yaml_aliases_are_refused_inside_list_items_and_skipped_fields(yaml_parser):
    text = ("kind: List\nitems:\n- kind: Pod\n  metadata: &m {name: a}\n"
            "- kind: Pod\n  spec: {x: *m}\n  metadata: {name: b}\n")
    with pytest.raises(PodInputError, match=r"^l.yaml:6:13: invalid YAML: aliases are not accepted \(found \*m\)$"):
        pods_from_bytes(text.encode(), "l.yaml")


def test_yaml_anchors_without_aliases_are_harmless(yaml_parser):
    text = "kind: Pod\nmetadata: &m\n  name: a\n  namespace: x\n"
    assert [p.name for p in pods_from_bytes(text.encode()).pods] == ["a"]


def test_an_object_above_the_size_cap_is_refused(monkeypatch, yaml_parser):
    monkeypatch.setattr(podreader, "MAX_OBJECT_CHARS", 1000)
    big = {"kind": "Pod", "metadata": {"name": "a", "annotations": {"x": "y" * 5000}}}
    with pytest.raises(PodInputError, match=r"^big.yaml:\d+:\d+: invalid YAML: an object larger than 1000 characters$"):
        pods_from_bytes(f"kind: List\nitems:\n- {json.dumps(big)}\n".encode(), "big.yaml")
    monkeypatch.setattr(podreader, "CHUNK_BYTES", 256)
    with pytest.raises(PodInputError, match=r"^big.json:1:12: an object larger than 1000 characters$"):
        pods_from_bytes(json.dumps({"items": [big, big]}).encode(), "big.json")


def test_a_request_body_is_named_in_its_errors():
    with pytest.raises(PodInputError, match=r"^request body: empty input"):
        collect(parse_documents("", "request body"))
    with pytest.raises(PodInputError, match=r"^request body: not UTF-8 text \(byte 1\)$"):
        pods_from_bytes(b"{\xff}")
