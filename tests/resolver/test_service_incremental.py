"""``serve --kubernetes`` and incremental resolution, against the small test API server.

The service runs in this process (in-process plugins) and watches
``FakeKubeAPI`` through the real ``kubernetes`` client; requests go through
its WSGI application.  Timings are bounded loosely: the machine is shared.
"""

import io
import json
import threading
import time

import pytest

kubernetes = pytest.importorskip("kubernetes")

from kube_test_server import FakeKubeAPI  # noqa: E402
from werkzeug.test import Client  # noqa: E402

from resolver.eventlog import EventLog  # noqa: E402
from resolver.kube import PODS, REPLICASETS, Backoff  # noqa: E402
from resolver.service import ResolverService  # noqa: E402
from resolver.store import PluginStore  # noqa: E402

HOST = {"Host": "127.0.0.1"}
#: Claims every pod that has a "team" annotation, as Deployment team-<team>.
TEAM_PLUGIN = b"""
function GetWorkloadTypeAndName(m)
  local team = m:match('"team":"([^"]*)"')
  if team then return "Deployment", "team-" .. team end
  return "", ""
end
"""


def pod(name, uid, rs="web-5d8f", **annotations):
    return {"metadata": {"name": name, "namespace": "x", "uid": uid, "annotations": annotations,
                         "ownerReferences": [{"kind": "ReplicaSet", "name": rs, "controller": True}]},
            "spec": {"containers": [{"name": "main", "image": "app:1"}]}, "status": {"phase": "Running"}}


def replicaset(name, deployment):
    return {"metadata": {"name": name, "namespace": "x",
                         "ownerReferences": [{"kind": "Deployment", "name": deployment, "controller": True}]}}


class Live:
    """A fake cluster, a service watching it, and a client for the service."""

    def __init__(self, tmp_path, isolation="in-process"):
        self.api = FakeKubeAPI()
        configuration = kubernetes.client.Configuration()
        configuration.host = self.api.url
        self.store = PluginStore(str(tmp_path / "plugins.db"))
        self.log = io.StringIO()
        self.service = ResolverService(
            self.store, log=EventLog(self.log), isolation=isolation, plugin_processes=2,
            kubernetes={"api": kubernetes.client.ApiClient(configuration), "timeout_seconds": 30,
                        "page_size": 100, "backoff_factory": lambda: Backoff(base=0.01, cap=0.05)})
        self.client = Client(self.service.app)

    def get(self, path):
        response = self.client.get(path, headers=HOST)
        return response.status_code, json.loads(response.get_data(as_text=True))

    def answer(self, name):
        status, body = self.get(f"/v1/pods/x/{name}")
        return (body["type"], body["name"]) if status == 200 and "type" in body else status

    def answers(self):
        status, body = self.get("/v1/workloads")
        return {(w["type"], w["name"]): sorted(w["pods"]) for w in body["workloads"]}

    def wait_for(self, condition, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; answers: {str(self.answers())[:500]}; "
                                     f"log:\n{self.log.getvalue()[-3000:]}")
            time.sleep(0.01)
        return time.monotonic()

    def close(self):
        self.service.stop()
        self.service.close()
        self.api.close()


@pytest.fixture
def live(tmp_path):
    made = Live(tmp_path)
    yield made
    made.close()


@pytest.fixture(params=["in-process", "process"])
def live_either(request, tmp_path):
    """``live``, with plugins in the service or in worker processes (two per plugin)."""
    if request.param == "process":
        from resolver.workers import available
        if not available():
            pytest.skip("needs POSIX resource limits")
    made = Live(tmp_path, request.param)
    yield made
    made.close()


def calls(live, plugin):
    stats = live.service.plugin_set.stats.get(plugin)
    return stats.calls if stats else 0


def test_ready_once_listed_and_resolved_then_each_event_is_answered(live):
    for i in range(4):
        live.api.apply(PODS.path, pod(f"p{i}", f"u{i}"))
    live.api.apply(REPLICASETS.path, replicaset("web-5d8f", "web"))
    assert live.get("/readyz")[0] == 503
    live.service.start_watching()
    live.wait_for(lambda: live.get("/readyz")[0] == 200)
    assert live.answers() == {("Deployment", "web"): ["p0", "p1", "p2", "p3"]}

    live.api.apply(PODS.path, pod("p9", "u9", rs="api-77c4"))
    live.api.apply(REPLICASETS.path, replicaset("api-77c4", "api"))
    live.wait_for(lambda: live.answer("p9") == ("Deployment", "api"))
    live.api.delete(PODS.path, "x", "p0")
    live.wait_for(lambda: live.answer("p0") == 404)
    # A ReplicaSet change re-resolves its pods, and only those.
    live.api.apply(REPLICASETS.path, replicaset("web-5d8f", "web-v2"))
    live.wait_for(lambda: live.answers() == {("Deployment", "web-v2"): ["p1", "p2", "p3"],
                                             ("Deployment", "api"): ["p9"]})
    metrics = live.client.get("/metrics", headers=HOST).get_data(as_text=True)
    assert 'resolver_kube_lists_total{resource="Pod"} 1.0' in metrics
    assert "resolver_pod_event_to_answer_seconds_count" in metrics
    assert live.service.resolutions == 1  # everything after the first pass was incremental


def test_a_pod_event_re_resolves_that_pod_only(live):
    live.store.create("team", TEAM_PLUGIN)
    for i in range(20):
        live.api.apply(PODS.path, pod(f"p{i}", f"u{i}"))
    live.service.start_watching()
    live.wait_for(lambda: live.service.resolutions == 1)
    before = calls(live, "team")
    assert before == 20
    sent = time.monotonic()
    live.api.apply(PODS.path, pod("p7", "u7", team="blue"))
    answered = live.wait_for(lambda: live.answer("p7") == ("Deployment", "team-blue"))
    assert answered - sent < 5
    assert calls(live, "team") == before + 1
    # A status-only change (the metadata a plugin sees is the same) resolves nothing.
    live.api.apply(PODS.path, dict(pod("p7", "u7", team="blue"), status={"phase": "Failed"}))
    live.api.apply(PODS.path, pod("p8", "u8", team="red"))
    live.wait_for(lambda: live.answer("p8") == ("Deployment", "team-red"))
    assert calls(live, "team") == before + 2


def test_after_a_plugin_delete_returns_none_of_its_answers_is_served(live):
    for i in range(300):  # more than a pass batch
        live.api.apply(PODS.path, pod(f"p{i:03}", f"u{i}", team="blue"))
    live.api.apply(REPLICASETS.path, replicaset("web-5d8f", "web"))
    live.store.create("team", TEAM_PLUGIN)
    live.service.start_watching()
    live.wait_for(lambda: live.answers() == {("Deployment", "team-blue"): [f"p{i:03}" for i in range(300)]})
    seen_from_deleted = []
    deleted = threading.Event()

    def reader():  # reads all along; after DELETE returned, it must never see plugin:team
        while not stopping.is_set():
            was_deleted = deleted.is_set()
            status, body = live.get("/v1/workloads")
            if was_deleted:
                seen_from_deleted.extend(w for w in body["workloads"] if "plugin:team" in w["sources"])

    stopping = threading.Event()
    thread = threading.Thread(target=reader)
    thread.start()
    # Events keep arriving while the plugin is deleted.
    for i in range(300, 330):
        live.api.apply(PODS.path, pod(f"p{i}", f"u{i}", team="blue"))
    response = live.client.delete("/v1/plugin/team/", headers=HOST)
    assert response.status_code == 200
    deleted.set()
    assert "plugin:team" not in json.dumps(live.get("/v1/workloads")[1])
    live.wait_for(lambda: set(live.answers()) == {("Deployment", "web")}
                  and len(live.answers()[("Deployment", "web")]) == 330)
    stopping.set()
    thread.join()
    assert seen_from_deleted == []


def test_a_plugin_change_mid_stream_switches_all_answers_at_once(live_either):
    live = live_either
    for i in range(600):
        live.api.apply(PODS.path, pod(f"p{i:03}", f"u{i}", team="blue"))
    live.api.apply(REPLICASETS.path, replicaset("web-5d8f", "web"))
    live.service.start_watching()
    live.wait_for(lambda: live.service.resolutions == 1)
    mixed = []
    stopping = threading.Event()

    def reader():
        while not stopping.is_set():
            workloads = live.answers()
            if len(workloads) > 1 and not any(name.startswith("p6") for pods in workloads.values()
                                              for name in pods):
                mixed.append(workloads)

    thread = threading.Thread(target=reader)
    thread.start()
    live.store.create("team", TEAM_PLUGIN)
    for i in range(600, 620):  # events in the middle of the pass
        live.api.apply(PODS.path, pod(f"p{i}", f"u{i}", team="blue"))
    live.wait_for(lambda: live.answers() == {("Deployment", "team-blue"): sorted(
        [f"p{i:03}" for i in range(600)] + [f"p{i}" for i in range(600, 620)])}, timeout=30)
    stopping.set()
    thread.join()
    # Before the events: the old answers (web) for every pod, or the new ones for every pod.
    assert mixed == []


def test_deletes_during_a_relist_remove_their_answers(live):
    for name, uid in (("a", "1"), ("b", "2"), ("c", "3")):
        live.api.apply(PODS.path, pod(name, uid))
    live.api.apply(REPLICASETS.path, replicaset("web-5d8f", "web"))
    live.service.start_watching()
    live.wait_for(lambda: live.answers() == {("Deployment", "web"): ["a", "b", "c"]})
    live.api.drop_watches()
    live.api.delete(PODS.path, "x", "b")
    live.api.apply(PODS.path, pod("d", "4"))
    live.api.compact()
    live.wait_for(lambda: live.answers() == {("Deployment", "web"): ["a", "c", "d"]})
    assert live.service.watcher.stats["Pod"].relists >= 1
    metrics = live.client.get("/metrics", headers=HOST).get_data(as_text=True)
    assert 'resolver_kube_relists_total{resource="Pod"}' in metrics


def test_a_changed_pod_file_re_resolves_only_the_changed_pods(tmp_path):
    pods_file = tmp_path / "pods.json"

    def write(pods):
        pods_file.write_text(json.dumps({"kind": "PodList", "items": pods}))

    write([pod(f"p{i}", f"u{i}") for i in range(50)])
    store = PluginStore(str(tmp_path / "plugins.db"))
    store.create("team", TEAM_PLUGIN)
    service = ResolverService(store, str(pods_file), log=EventLog(io.StringIO()), isolation="in-process")
    try:
        service.refresh()
        assert service.plugin_set.stats["team"].calls == 50
        write([pod(f"p{i}", f"u{i}", **({"team": "blue"} if i == 3 else {})) for i in range(50) if i != 9])
        time.sleep(0.01)  # a new mtime
        pods_file.touch()
        service.refresh()
        assert service.plugin_set.stats["team"].calls == 51
        client = Client(service.app)
        assert json.loads(client.get("/v1/pods/x/p3", headers=HOST).get_data())["name"] == "team-blue"
        assert client.get("/v1/pods/x/p9", headers=HOST).status_code == 404
        assert service.resolutions == 1
    finally:
        service.close()


def test_a_one_pod_resolve_does_not_wait_for_a_full_pass(live):
    slow = b"""
function GetWorkloadTypeAndName(m)
  local x = 0
  for i = 1, 20000 do x = x + i end
  return "", ""
end
"""
    for i in range(1500):
        live.api.apply(PODS.path, pod(f"p{i}", f"u{i}"))
    live.service.start_watching()
    live.wait_for(lambda: live.service.resolutions == 1, timeout=30)
    live.store.create("slow", slow)
    live.wait_for(lambda: calls(live, "slow") > 0)
    started = time.monotonic()
    body = json.dumps(pod("q", "uq"))
    response = live.client.post("/v1/resolve", data=body, headers=HOST)
    took = time.monotonic() - started
    assert response.status_code == 200
    passing = live.service.resolutions == 1  # the pass with "slow" is still running
    live.wait_for(lambda: live.service.resolutions == 2, timeout=60)
    if passing:
        assert took < live.service.last_resolution_seconds / 2, (took, live.service.last_resolution_seconds)
