"""Watching pods and ReplicaSets in a live cluster: list, then watch, done properly.

The client library is the official ``kubernetes`` package (pure Python up to
35.x; later versions pull in compiled wheels).  It loads the configuration
(in-cluster, or a kubeconfig and context: certificates, tokens, exec
plugins) and makes the HTTP requests.  The typed ``watch.Watch`` is not
used: it cannot ask for metadata only, and would decode every pod into model
objects.  Instead each request carries the metadata-only ``Accept`` header
(``PartialObjectMetadataList``), so spec and status never cross the wire,
and the streamed answer goes through ``podreader``, one event at a time.

For each resource (pods, and ReplicaSets for the Deployment rule), a
``ResourceWatcher`` thread:

1. lists every object, in pages (``limit``/``continue``), and notes the
   list's resourceVersion; objects known before but missing from the new
   list are reported deleted;
2. watches from that resourceVersion with bookmarks, advancing it with every
   event and bookmark, and resumes from it when the stream ends (the server's
   ``timeoutSeconds``, a dropped connection);
3. relists on ``410 Gone`` (an HTTP status, or an ``ERROR`` event carrying
   it): the history it would resume from has been compacted;
4. on any other error, waits with exponential backoff and full jitter, then
   resumes; a watch that delivered something resets the backoff.

Changes reach ``on_change`` (``pods.Change``, ready for a
``podindex.PodIndex``), one at a time across both resources.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .podreader import ByteSource, PodInputError, read_objects
from .pods import Change, make_pod, pod_key
from .rules import controller_owner

#: Ask for metadata only (``PartialObjectMetadataList`` for lists,
#: ``PartialObjectMetadata`` objects in watch events), with plain JSON as
#: the fallback for a server that cannot.
ACCEPT_METADATA = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


@dataclass(frozen=True)
class Resource:
    kind: str
    #: The API group ("" is the core group) and resource name, as RBAC names them.
    group: str
    plural: str
    path: str


PODS = Resource("Pod", "", "pods", "/api/v1/pods")
REPLICASETS = Resource("ReplicaSet", "apps", "replicasets", "/apis/apps/v1/replicasets")
RESOURCES = (PODS, REPLICASETS)

#: The verbs this module uses on every resource it reads: what its RBAC
#: role must grant (deploy/rbac.yaml), no more.
VERBS = ("list", "watch")


def rbac_rules(resources=RESOURCES) -> list[dict]:
    """The ClusterRole rules this module needs."""
    return [{"apiGroups": [resource.group], "resources": [resource.plural], "verbs": list(VERBS)}
            for resource in resources]


class Gone(Exception):
    """410 Gone: the resourceVersion or continue token is too old; list again."""


class Backoff:
    """Exponential backoff with full jitter: a random wait up to base * 2^n, capped."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: Callable[[], float] = random.random):
        self.base, self.cap, self.rng = base, cap, rng
        self.failures = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** self.failures))
        self.failures += 1
        return ceiling * self.rng()

    def reset(self) -> None:
        self.failures = 0


@dataclass
class WatchStats:
    """Counters for one resource's watcher (for metrics)."""

    lists: int = 0
    #: Lists forced by 410 Gone.
    relists: int = 0
    #: Watch requests started after the first (resumptions after a stream ended or failed).
    watch_restarts: int = 0
    errors: int = 0
    events: int = 0
    bookmarks: int = 0
    resource_version: str = ""
    last_error: str = ""
    #: Seconds ``on_change`` took for the last event, and the most it took:
    #: how far behind the stream the consumer runs.
    last_event_lag: float = 0.0
    max_event_lag: float = 0.0
    #: Set once the first list has been delivered.
    synced: threading.Event = field(default_factory=threading.Event)


def api_client(kubeconfig: str | None = None, context: str | None = None):
    """An ``ApiClient``: the in-cluster configuration unless a kubeconfig or context is given."""
    from kubernetes import client, config
    configuration = client.Configuration()
    if kubeconfig is None and context is None:
        try:
            config.load_incluster_config(client_configuration=configuration)
            return client.ApiClient(configuration)
        except config.ConfigException:
            pass  # not in a pod: the usual kubeconfig, as kubectl would
    config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration)
    return client.ApiClient(configuration)


class ResourceWatcher:
    """List-then-watch of one resource, until ``stop`` is set."""

    def __init__(self, api, resource: Resource, on_change: Callable[[Change], None], *,
                 stop: threading.Event, timeout_seconds: int = 300, page_size: int = 500,
                 backoff: Backoff | None = None, connect_timeout: float = 10.0):
        self.api = api
        self.resource = resource
        self.on_change = on_change
        self.stop = stop
        self.timeout_seconds = timeout_seconds
        self.page_size = page_size
        self.backoff = backoff or Backoff()
        self.connect_timeout = connect_timeout
        self.stats = WatchStats()
        #: Key -> the pod (None for a ReplicaSet) last reported, so that a
        #: relist can report what went away while no watch was open.
        self._known: dict = {}
        self._response = None
        self._watches = 0
        #: The resourceVersion to resume from: the last list's, then each
        #: event's and bookmark's; None when a list is needed.
        self._version: str | None = None

    # -- the loop

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                if self._version is None:
                    self._version = self._list()
                self._watch()
            except Gone:
                self.stats.relists += 1
                self._version = None
            except Exception as exc:  # noqa: BLE001 (network, HTTP, bad data: all retried)
                if self.stop.is_set():
                    return
                self.stats.errors += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                self.stop.wait(self.backoff.next_delay())

    def close(self) -> None:
        """Cut the open watch, if any, so ``run`` notices ``stop`` at once."""
        response = self._response
        if response is not None:
            try:
                response.shutdown()
            except Exception:  # noqa: BLE001 (already closed)
                pass

    # -- list

    def _list(self) -> str:
        """List everything; report upserts, and deletions of what is gone; the list's resourceVersion."""
        seen: dict = {}
        token = None
        while True:  # page by page, each made compact before the next is read
            query = [("limit", str(self.page_size))] + ([("continue", token)] if token else [])
            page = self._get_json(query)
            for item in page.get("items") or []:
                change = self._change("upsert", item)
                if change is not None:
                    seen[self._key(change)] = change
            metadata = page.get("metadata") or {}
            token = metadata.get("continue")
            if not token:
                break
        for key in [key for key in self._known if key not in seen]:
            self._deliver(self._deletion(key))
        for change in seen.values():
            self._deliver(change)
        self.stats.lists += 1
        self.stats.synced.set()
        self.backoff.reset()
        version = str(metadata.get("resourceVersion") or "")
        self.stats.resource_version = version
        return version

    def _get_json(self, query: list) -> dict:
        response = self._request(query, read_timeout=60.0)
        try:
            return json.loads(response.data)
        finally:
            response.release_conn()

    # -- watch

    def _watch(self) -> None:
        """Watch from ``_version`` until the stream ends, advancing ``_version``."""
        query = [("watch", "1"), ("resourceVersion", self._version), ("allowWatchBookmarks", "true"),
                 ("timeoutSeconds", str(self.timeout_seconds))]
        self._watches += 1
        if self._watches > 1:
            self.stats.watch_restarts += 1
        response = self._request(query, read_timeout=self.timeout_seconds + 30.0)
        self._response = response  # from now on close() can cut it
        try:
            if self.stop.is_set():  # stopped while the request was under way
                return
            for located in read_objects(ByteSource(response, f"watch {self.resource.path}")):
                self._event(located.value)
                if self.stop.is_set():
                    return
        except PodInputError as exc:
            if not self.stop.is_set():
                raise ConnectionError(f"watch stream: {exc}") from None
        finally:
            self._response = None
            response.release_conn()

    def _event(self, event) -> None:
        if not isinstance(event, dict) or not isinstance(event.get("object"), dict):
            raise ValueError(f"not a watch event: {str(event)[:200]}")
        kind, obj = event.get("type"), event["object"]
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise Gone(obj.get("message") or "410 Gone")
            raise ConnectionError(f"watch error {obj.get('code')}: {obj.get('message')}")
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        new_version = metadata.get("resourceVersion")
        if kind == "BOOKMARK":
            self.stats.bookmarks += 1
        elif kind in ("ADDED", "MODIFIED", "DELETED"):
            change = self._change("delete" if kind == "DELETED" else "upsert", obj)
            if change is not None:
                self.stats.events += 1
                self._deliver(change)
                self.backoff.reset()
        if isinstance(new_version, str) and new_version:
            self._version = self.stats.resource_version = new_version

    # -- requests and changes

    def _request(self, query: list, read_timeout: float):
        from kubernetes.client.exceptions import ApiException
        try:
            return self.api.call_api(
                self.resource.path, "GET", query_params=query, header_params={"Accept": ACCEPT_METADATA},
                auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True,
                _request_timeout=(self.connect_timeout, read_timeout))
        except ApiException as exc:
            if exc.status == 410:
                raise Gone(exc.reason or "410 Gone") from None
            raise

    def _change(self, action: str, obj) -> Change | None:
        metadata = obj.get("metadata") if isinstance(obj, dict) else None
        if not isinstance(metadata, dict):
            return None
        if self.resource.kind == "Pod":
            return Change(action, "Pod", pod=make_pod(metadata))
        name, namespace = metadata.get("name"), metadata.get("namespace", "")
        if not isinstance(name, str) or not isinstance(namespace, str):
            return None
        return Change(action, "ReplicaSet", replicaset=(namespace, name),
                      owner=controller_owner(metadata.get("ownerReferences")))

    @staticmethod
    def _key(change: Change):
        return pod_key(change.pod) if change.pod is not None else change.replicaset

    def _deletion(self, key) -> Change:
        pod = self._known[key]
        if pod is not None:
            return Change("delete", "Pod", pod=pod)
        return Change("delete", "ReplicaSet", replicaset=key)

    def _deliver(self, change: Change) -> None:
        key = self._key(change)
        if change.action == "delete":
            self._known.pop(key, None)
        else:
            self._known[key] = change.pod
        started = time.monotonic()
        self.on_change(change)
        lag = self.stats.last_event_lag = time.monotonic() - started
        self.stats.max_event_lag = max(self.stats.max_event_lag, lag)


class KubeWatcher:
    """Watches pods and ReplicaSets; calls ``on_change`` for each change, one at a time.

    ``start()`` runs a thread per resource; ``synced()`` tells when every
    resource has been listed once (readiness); ``stop()`` ends the threads.
    ``stats`` has each resource's ``WatchStats``, by kind.
    """

    def __init__(self, on_change: Callable[[Change], None], *, api=None, kubeconfig: str | None = None,
                 context: str | None = None, resources=RESOURCES, timeout_seconds: int = 300,
                 page_size: int = 500, backoff_factory: Callable[[], Backoff] = Backoff):
        self.api = api if api is not None else api_client(kubeconfig, context)
        self._stop = threading.Event()
        lock = threading.Lock()

        def serialised(change: Change) -> None:
            with lock:
                on_change(change)

        self.watchers = [ResourceWatcher(self.api, resource, serialised, stop=self._stop,
                                         timeout_seconds=timeout_seconds, page_size=page_size,
                                         backoff=backoff_factory())
                         for resource in resources]
        self.stats = {watcher.resource.kind: watcher.stats for watcher in self.watchers}
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for watcher in self.watchers:
            thread = threading.Thread(target=watcher.run, name=f"watch-{watcher.resource.plural}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def synced(self, timeout: float | None = 0) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for watcher in self.watchers:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not watcher.stats.synced.wait(remaining):
                return False
        return True

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for watcher in self.watchers:
            watcher.close()
        for thread in self._threads:
            thread.join(timeout)


def watch_changes(stop: threading.Event, *, backlog: int = 10_000, **options) -> Iterator[Change]:
    """The watcher's changes as an iterator, until ``stop`` is set.

    ``options`` are ``KubeWatcher``'s.  At most ``backlog`` changes wait for
    the consumer; beyond that the watch threads wait too (the API server
    then holds the events), so a slow consumer cannot grow memory.
    """
    changes: queue.Queue = queue.Queue(maxsize=backlog)
    watcher = KubeWatcher(changes.put, **options)
    watcher.start()
    try:
        while not stop.is_set():
            try:
                yield changes.get(timeout=0.1)
            except queue.Empty:
                continue
    finally:
        watcher.stop()
