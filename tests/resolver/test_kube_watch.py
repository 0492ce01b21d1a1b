"""List-then-watch through the real ``kubernetes`` client against the small test API server."""

import threading
import time

import pytest

kubernetes = pytest.importorskip("kubernetes")

from kube_test_server import FakeKubeAPI  # noqa: E402
from resolver.kube import PODS, REPLICASETS, Backoff, KubeWatcher  # noqa: E402
from resolver.podindex import PodIndex  # noqa: E402

PODS_PATH, RS_PATH = PODS.path, REPLICASETS.path


def pod(name, uid, rs="web-5d8f", **annotations):
    return {"metadata": {"name": name, "namespace": "x", "uid": uid, "annotations": annotations,
                         "labels": {"pod-template-hash": "5d8f"},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": rs, "controller": True}]},
            "spec": {"containers": [{"name": "main", "image": "secret-image:1"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1"}}


def replicaset(name, deployment):
    return {"metadata": {"name": name, "namespace": "x",
                         "ownerReferences": [{"kind": "Deployment", "name": deployment, "controller": True}]},
            "spec": {"replicas": 3}}


class Cluster:
    """The fake API server, a watcher on it, and the PodIndex the watcher feeds."""

    def __init__(self, **watcher_options):
        self.api = FakeKubeAPI()
        configuration = kubernetes.client.Configuration()
        configuration.host = self.api.url
        self.index = PodIndex()
        self.lock = threading.RLock()
        self.log = []

        def on_change(change):
            with self.lock:
                update = self.index.apply(change)
                self.log.append((change.action, change.kind, sorted(p.name for p in update.stale),
                                 sorted(p.name for p in update.removed)))

        options = {"timeout_seconds": 30, "page_size": 2,
                   "backoff_factory": lambda: Backoff(base=0.01, cap=0.05)} | watcher_options
        self.watcher = KubeWatcher(on_change, api=kubernetes.client.ApiClient(configuration), **options)

    def names(self):
        with self.lock:
            return sorted(p.name for p in self.index.pods.values())

    def wait_for(self, condition, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if condition():
                    return
            time.sleep(0.02)
        raise AssertionError(f"timed out; log: {self.log[-10:]}, stats: {self.watcher.stats}")

    def close(self):
        self.watcher.stop()
        self.api.close()


@pytest.fixture
def cluster():
    made = []

    def make(**options):
        made.append(Cluster(**options))
        return made[-1]

    yield make
    for each in made:
        each.close()


def test_list_then_watch_asks_for_metadata_only_and_follows_changes(cluster):
    c = cluster()
    for i in range(5):
        c.api.apply(PODS_PATH, pod(f"p{i}", f"u{i}"))
    c.api.apply(RS_PATH, replicaset("web-5d8f", "web"))
    c.watcher.start()
    assert c.watcher.synced(timeout=10)
    c.wait_for(lambda: len(c.index) == 5 and c.index.replicasets)
    stats = c.watcher.stats["Pod"]
    assert stats.lists == 1 and stats.resource_version
    # Paged list (limit 2): three pages, then the watch, every request metadata-only.
    pod_requests = [q for path, q, _ in c.api.requests if path == PODS_PATH]
    assert [q.get("limit") for q in pod_requests[:3]] == ["2", "2", "2"]
    assert all("as=PartialObjectMetadataList" in accept for _, _, accept in c.api.requests)
    assert "secret-image" not in repr([p.meta_json for p in c.index.pods.values()])

    c.api.apply(PODS_PATH, pod("p5", "u5"))
    c.api.apply(PODS_PATH, pod("p1", "u1", changed="yes"))
    c.api.delete(PODS_PATH, "x", "p2")
    c.wait_for(lambda: ("delete", "Pod", [], ["p2"]) in c.log)
    assert c.names() == ["p0", "p1", "p3", "p4", "p5"]
    assert ("upsert", "Pod", ["p1"], []) in c.log
    # A ReplicaSet change re-resolves exactly its pods.
    c.api.apply(RS_PATH, replicaset("web-5d8f", "web-v2"))
    c.wait_for(lambda: c.log[-1] == ("upsert", "ReplicaSet", ["p0", "p1", "p3", "p4", "p5"], []))
    first_watch = [q for path, q, _ in c.api.requests if path == PODS_PATH and q.get("watch")][0]
    assert first_watch["allowWatchBookmarks"] == "true"
    assert first_watch["resourceVersion"] == "106"  # the list's: 5 pods and a ReplicaSet after 100


def test_bookmarks_advance_the_resource_version(cluster):
    c = cluster()
    c.api.apply(PODS_PATH, pod("a", "1"))
    c.watcher.start()
    assert c.watcher.synced(timeout=10)
    c.wait_for(lambda: c.api.open_watches == 2)
    c.api.apply(RS_PATH, replicaset("other-1", "other"))  # moves the cluster's resourceVersion on
    c.api.bookmark()
    stats = c.watcher.stats["Pod"]
    c.wait_for(lambda: stats.bookmarks >= 1)
    assert int(stats.resource_version) == c.api._rv


def test_a_dropped_connection_resumes_from_the_last_version_without_relisting(cluster):
    c = cluster()
    c.api.apply(PODS_PATH, pod("a", "1"))
    c.watcher.start()
    assert c.watcher.synced(timeout=10)
    c.api.apply(PODS_PATH, pod("b", "2"))
    c.wait_for(lambda: len(c.index) == 2 and c.watcher.stats["Pod"].resource_version == "102")
    c.api.drop_watches()
    c.api.apply(PODS_PATH, pod("c", "3"))
    c.wait_for(lambda: len(c.index) == 3)
    stats = c.watcher.stats["Pod"]
    assert stats.lists == 1 and stats.relists == 0 and stats.watch_restarts >= 1
    resumed = [q for path, q, _ in c.api.requests if path == PODS_PATH and q.get("watch")][-1]
    assert resumed["resourceVersion"] == "102"


def test_410_gone_relists_and_reports_what_was_deleted_meanwhile(cluster):
    c = cluster()
    for name, uid in (("a", "1"), ("b", "2"), ("c", "3")):
        c.api.apply(PODS_PATH, pod(name, uid))
    c.watcher.start()
    assert c.watcher.synced(timeout=10)
    c.wait_for(lambda: len(c.index) == 3)
    # While the watch is down, b is deleted, d is created, and the history is compacted.
    c.api.drop_watches()
    c.api.delete(PODS_PATH, "x", "b")
    c.api.apply(PODS_PATH, pod("d", "4"))
    c.api.compact()
    c.wait_for(lambda: c.names() == ["a", "c", "d"])
    stats = c.watcher.stats["Pod"]
    assert stats.relists >= 1 and stats.lists >= 2
    assert ("delete", "Pod", [], ["b"]) in c.log
    # The pods that did not change are not resolved again after the relist.
    assert [entry for entry in c.log[3:] if entry[2] and entry[2] != ["d"]] == []


def test_a_watch_that_times_out_is_resumed(cluster):
    c = cluster(timeout_seconds=1)
    c.api.apply(PODS_PATH, pod("a", "1"))
    c.watcher.start()
    assert c.watcher.synced(timeout=10)
    c.wait_for(lambda: c.watcher.stats["Pod"].watch_restarts >= 1, timeout=15)
    c.api.apply(PODS_PATH, pod("b", "2"))
    c.wait_for(lambda: len(c.index) == 2)
    assert c.watcher.stats["Pod"].lists == 1


def test_errors_back_off_and_recover_when_the_server_returns(cluster):
    c = cluster()
    port = c.api.httpd.server_address[1]
    c.api.close()
    c.watcher.start()
    stats = c.watcher.stats["Pod"]
    c.wait_for(lambda: stats.errors >= 3)
    assert not c.watcher.synced()
    assert "Connection" in stats.last_error or "Max retries" in stats.last_error, stats.last_error
    c.api = FakeKubeAPI(port=port)  # the API server is back
    c.api.apply(PODS_PATH, pod("a", "1"))
    assert c.watcher.synced(timeout=10)
    c.wait_for(lambda: c.names() == ["a"])


def test_backoff_grows_exponentially_with_full_jitter_and_resets():
    backoff = Backoff(base=0.5, cap=4.0, rng=lambda: 1.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5
    jittered = Backoff(base=1.0, cap=8.0, rng=lambda: 0.25)
    assert [jittered.next_delay() for _ in range(3)] == [0.25, 0.5, 1.0]


def test_stop_ends_the_threads_promptly(cluster):
    c = cluster()
    c.api.apply(PODS_PATH, pod("a", "1"))
    c.watcher.start()
    assert c.watcher.synced(timeout=10)
    started = time.monotonic()
    c.watcher.stop()
    assert time.monotonic() - started < 5
    assert not any(thread.is_alive() for thread in c.watcher._threads)


def test_watch_changes_is_the_same_stream_as_an_iterator():
    from resolver.kube import watch_changes
    api = FakeKubeAPI()
    try:
        api.apply(PODS_PATH, pod("a", "1"))
        configuration = kubernetes.client.Configuration()
        configuration.host = api.url
        stop = threading.Event()
        seen = []
        for change in watch_changes(stop, api=kubernetes.client.ApiClient(configuration)):
            seen.append((change.action, change.kind, change.pod.name if change.pod else change.replicaset))
            if len(seen) == 1:
                api.apply(PODS_PATH, pod("b", "2"))
                api.delete(PODS_PATH, "x", "a")
            if len(seen) == 3:
                stop.set()
        assert seen == [("upsert", "Pod", "a"), ("upsert", "Pod", "b"), ("delete", "Pod", "a")]
    finally:
        api.close()
