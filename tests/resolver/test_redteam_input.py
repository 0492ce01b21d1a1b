"""Red-team findings against pod input and the Origin check, kept as regressions."""

import json

import pytest

from resolver import podreader
from resolver.http_security import RequestGuard
from resolver.pods import PodInputError, load_pods


def pod_with_annotation(size: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "big", "namespace": "rt", "uid": "u-big",
                         "annotations": {"blob": "x" * size}}}


def test_a_string_longer_than_the_lookahead_is_read_not_called_unterminated(tmp_path):
    # A valid pod whose one annotation (12 MiB) is longer than the reader's
    # 4 MiB lookahead was refused as "Unterminated string starting at".
    path = tmp_path / "pods.json"
    path.write_text(json.dumps({"kind": "PodList", "items": [pod_with_annotation(12 << 20),
                                                             {"kind": "Pod", "metadata": {"name": "small", "namespace": "rt", "uid": "u2"}}]}))
    podset = load_pods(str(path))
    assert sorted(p.name for p in podset.pods) == ["big", "small"]


def test_a_runaway_string_is_too_large_not_unterminated(tmp_path):
    path = tmp_path / "pods.json"
    path.write_text(json.dumps(pod_with_annotation(podreader.MAX_OBJECT_CHARS + (1 << 20))))
    with pytest.raises(PodInputError, match="an object larger than 32 MiB"):
        load_pods(str(path))


def test_a_truly_unterminated_string_is_still_an_error(tmp_path):
    path = tmp_path / "pods.json"
    path.write_text('{"kind": "Pod", "metadata": {"name": "' + "x" * (5 << 20))
    with pytest.raises(PodInputError, match="Unterminated string"):
        load_pods(str(path))


@pytest.mark.parametrize("origin, host, refused", [
    ("http://127.0.0.1:8080", "127.0.0.1:8080", False),
    ("http://localhost:8080", "localhost:8080", False),
    ("http://localhost", "localhost:80", False),
    # another local port is another origin (some other program's page)
    ("http://localhost:3000", "127.0.0.1:8080", True),
    ("http://127.0.0.1:3000", "127.0.0.1:8080", True),
    # not a real origin; urlsplit's hostname alone said "127.0.0.1"
    ("http://127.0.0.1:8080.evil.example", "127.0.0.1:8080", True),
])
def test_origin_must_match_the_services_own_port(origin, host, refused):
    guard = RequestGuard("127.0.0.1")
    assert (guard.refuse_origin(origin, None, host) is not None) is refused


def test_a_tls_proxy_in_front_keeps_working():
    guard = RequestGuard("127.0.0.1", ("resolver.example",))
    assert guard.refuse_origin("https://resolver.example", None, "resolver.example") is None
