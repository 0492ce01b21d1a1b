"""A small Kubernetes API server for tests: pods and ReplicaSets, list and watch.

It speaks the part of the API protocol that ``resolver.kube`` uses, on
loopback only, as the API documents it ("API Concepts": efficient detection
of changes, retrieving large results in chunks, receiving resources as
tables or metadata):

* ``GET /api/v1/pods`` and ``GET /apis/apps/v1/replicasets`` (all
  namespaces) list the objects with a ``metadata.resourceVersion``; ``limit``
  and ``continue`` page through one consistent snapshot; a continue token
  older than the last compaction is ``410 Gone`` (``reason: Expired``).
* ``?watch=1&resourceVersion=RV`` streams, with chunked transfer encoding,
  one JSON event per line (``ADDED``, ``MODIFIED``, ``DELETED``), every
  change after RV in order, then waits for more until ``timeoutSeconds``.
  A resourceVersion older than the last compaction gets an ``ERROR`` event
  holding a ``Status`` with ``code: 410`` and the stream ends, as a real
  server does.  With ``allowWatchBookmarks=true`` it sends ``BOOKMARK``
  events (object with only ``kind``, ``apiVersion`` and
  ``metadata.resourceVersion``) when ``bookmark()`` is called.
* ``Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1``
  returns ``PartialObjectMetadataList`` / ``PartialObjectMetadata``: only
  the metadata crosses the wire.
* ``drop_watches()`` cuts every open watch mid-stream (no final chunk), as a
  restarting API server or a load balancer does.

Not covered: namespaced paths, label and field selectors, ``resourceVersionMatch``,
watch-list (``sendInitialEvents``), protobuf, tables, authentication and
authorisation (a bearer token is accepted and not checked), HTTP/2, and
``resourceVersion=0`` served from a cache (it is treated as "from now", with
the current objects as ``ADDED`` events first, like an unset resourceVersion).
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

RESOURCES = {
    "/api/v1/pods": ("Pod", "v1"),
    "/apis/apps/v1/replicasets": ("ReplicaSet", "apps/v1"),
}


class FakeKubeAPI:
    def __init__(self, port: int = 0) -> None:
        self._cond = threading.Condition()
        self._rv = 100
        self._objects: dict[str, dict] = {path: {} for path in RESOURCES}
        self._log: list[tuple[int, str, str, dict]] = []  # (rv, path, type, object)
        self._compacted = 0
        self._snapshots: dict[str, tuple[int, list[dict]]] = {}
        self._ids = itertools.count(1)
        self._bookmarks = 0
        self._drops = 0
        self._closing = False
        #: Every request: (path, query, Accept header).
        self.requests: list[tuple[str, dict, str]] = []
        #: Open watch streams now, and the count ever opened.
        self.open_watches = 0
        self.watches_opened = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- the cluster changing

    def apply(self, path: str, obj: dict) -> int:
        """Create or update an object; its new resourceVersion."""
        obj = copy.deepcopy(obj)
        metadata = obj.setdefault("metadata", {})
        key = (metadata.get("namespace", ""), metadata["name"])
        with self._cond:
            self._rv += 1
            metadata["resourceVersion"] = str(self._rv)
            event = "MODIFIED" if key in self._objects[path] else "ADDED"
            self._objects[path][key] = obj
            self._log.append((self._rv, path, event, copy.deepcopy(obj)))
            self._cond.notify_all()
            return self._rv

    def delete(self, path: str, namespace: str, name: str) -> None:
        with self._cond:
            obj = self._objects[path].pop((namespace, name))
            self._rv += 1
            obj["metadata"]["resourceVersion"] = str(self._rv)
            self._log.append((self._rv, path, "DELETED", obj))
            self._cond.notify_all()

    def compact(self) -> None:
        """Forget the history: watches from before now and old continue tokens get 410 Gone."""
        with self._cond:
            self._compacted = self._rv
            self._log.clear()
            self._snapshots.clear()

    def bookmark(self) -> None:
        with self._cond:
            self._bookmarks += 1
            self._cond.notify_all()

    def drop_watches(self) -> None:
        with self._cond:
            self._drops += 1
            self._cond.notify_all()

    # -- answering

    def list_page(self, path: str, query: dict) -> tuple[int, dict]:
        limit = int(query.get("limit", "0") or 0)
        token = query.get("continue")
        with self._cond:
            if token:
                snapshot_id, _, offset = token.partition(":")
                if snapshot_id not in self._snapshots:
                    return 410, _status(410, "Expired", "The provided continue parameter is too old")
                rv, objects = self._snapshots[snapshot_id]
                start = int(offset)
            else:
                rv = self._rv
                objects = [copy.deepcopy(obj) for _, obj in sorted(self._objects[path].items())]
                snapshot_id, start = str(next(self._ids)), 0
        end = start + limit if limit else len(objects)
        metadata = {"resourceVersion": str(rv)}
        if end < len(objects):
            with self._cond:
                self._snapshots[snapshot_id] = (rv, objects)
            metadata["continue"] = f"{snapshot_id}:{end}"
        kind, api_version = RESOURCES[path]
        return 200, {"kind": f"{kind}List", "apiVersion": api_version, "metadata": metadata,
                     "items": [dict(obj, kind=kind, apiVersion=api_version) for obj in objects[start:end]]}

    def watch_events(self, path: str, query: dict):
        """Yields event dicts; ``None`` means the stream is cut."""
        kind, api_version = RESOURCES[path]
        since = query.get("resourceVersion", "")
        bookmarks = query.get("allowWatchBookmarks") == "true"
        timeout = float(query.get("timeoutSeconds", "30"))
        with self._cond:
            if since in ("", "0"):
                cursor = self._rv
                initial = [dict(obj, kind=kind, apiVersion=api_version)
                           for _, obj in sorted(self._objects[path].items())]
            elif int(since) < self._compacted:
                initial = None
            else:
                cursor, initial = int(since), []
            bookmarks_seen, drops_seen = self._bookmarks, self._drops
        if initial is None:
            yield {"type": "ERROR", "object": _status(410, "Expired", f"too old resource version: {since}")}
            return
        for obj in initial:
            yield {"type": "ADDED", "object": obj}
        deadline = _now() + timeout
        while True:
            with self._cond:
                pending = [(rv, event, obj) for rv, p, event, obj in self._log if p == path and rv > cursor]
                while not pending and self._drops == drops_seen and self._bookmarks == bookmarks_seen \
                        and not self._closing and _now() < deadline:
                    self._cond.wait(min(0.05, max(0.0, deadline - _now())))
                    pending = [(rv, event, obj) for rv, p, event, obj in self._log if p == path and rv > cursor]
                if self._drops != drops_seen:
                    yield None
                    return
                if self._closing or (not pending and _now() >= deadline and self._bookmarks == bookmarks_seen):
                    return
                send_bookmark = self._bookmarks != bookmarks_seen and bookmarks
                bookmarks_seen = self._bookmarks
                current = self._rv
            for rv, event, obj in pending:
                cursor = rv
                yield {"type": event, "object": dict(obj, kind=kind, apiVersion=api_version)}
            if send_bookmark:
                cursor = max(cursor, current)
                yield {"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version,
                                                      "metadata": {"resourceVersion": str(cursor)}}}


def _now() -> float:
    return time.monotonic()


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def _metadata_only(obj: dict, wanted: bool) -> dict:
    """What the API server sends for ``as=PartialObjectMetadata``: the metadata alone."""
    if not wanted or obj.get("kind") == "Status":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def _handler(api: FakeKubeAPI):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 (http.server's name)
            parts = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            accept = self.headers.get("Accept", "")
            api.requests.append((parts.path, query, accept))
            if parts.path not in RESOURCES:
                return self._json(404, _status(404, "NotFound", f"the server could not find {parts.path}"))
            partial = "as=PartialObjectMetadata" in accept
            if query.get("watch") in ("1", "true"):
                return self._watch(parts.path, query, partial)
            code, body = api.list_page(parts.path, query)
            if partial and code == 200:
                body = dict(body, kind="PartialObjectMetadataList", apiVersion="meta.k8s.io/v1",
                            items=[_metadata_only(item, True) for item in body["items"]])
            return self._json(code, body)

        def _json(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _watch(self, path: str, query: dict, partial: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            api.open_watches += 1
            api.watches_opened += 1
            try:
                for event in api.watch_events(path, query):
                    if event is None:  # cut: no final chunk, the connection just ends
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    event = dict(event, object=_metadata_only(event["object"], partial))
                    line = json.dumps(event).encode() + b"\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                self.close_connection = True
            finally:
                api.open_watches -= 1

    return Handler
