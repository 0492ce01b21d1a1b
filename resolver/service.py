"""``resolver serve``: the live service.

Built on waitress (a production WSGI server) and werkzeug (routing,
requests, multipart parsing).  A watcher thread polls the store's
generation counter and the pod source every ``POLL_INTERVAL`` seconds;
when either changed it reloads what changed and re-resolves every pod,
then swaps the new answers in at once (readers never see a half-done pass).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .chain import PodResult, Summary, resolve_podset
from .client import record_to_api, version_to_api
from .loader import PluginSet
from .plugins import LATENCY_BUCKETS, LuaPlugin, PluginError
from .pods import PodInputError, collect, load_pods, parse_documents, PodSet
from .rules import Resolved
from .store import PLUGIN_USERS, PluginStore, StoreError

POLL_INTERVAL = 0.1
#: Plugin-error log lines per plugin per resolution pass; the rest are counted.
MAX_ERROR_LINES_PER_PASS = 50
MAX_UPLOAD_BYTES = 1024 * 1024 + 64 * 1024


class EventLog:
    """One line per event, logfmt style, to a stream (stderr by default)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()

    def __call__(self, event: str, **fields) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
        parts = [f"time={stamp}", f"event={event}"]
        for key, value in fields.items():
            if value is None:
                continue
            text = str(value)
            if not text or any(c in text for c in ' "=\n\t'):
                text = json.dumps(text, ensure_ascii=False)
            parts.append(f"{key}={text}")
        with self._lock:
            self.stream.write(" ".join(parts) + "\n")
            self.stream.flush()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--listen {listen!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def _pods_signature(path: str | None):
    """What changes when the pod source changes: (name, mtime, size) of its files."""
    if path is None:
        return None
    try:
        if os.path.isdir(path):
            entries = []
            for name in sorted(os.listdir(path)):
                full = os.path.join(path, name)
                if os.path.isfile(full):
                    info = os.stat(full)
                    entries.append((name, info.st_mtime_ns, info.st_size))
            return tuple(entries)
        info = os.stat(path)
        return (info.st_mtime_ns, info.st_size, info.st_ino)
    except OSError:
        return ("missing",)


class ResolverService:
    """The state behind the API: loaded plugins, pods and their answers."""

    def __init__(self, store: PluginStore, pods_path: str | None = None, token: str | None = None,
                 log: EventLog | None = None, poll_interval: float = POLL_INTERVAL,
                 isolation: str = "in-process"):
        self.store = store
        self.pods_path = pods_path
        self.token = token or None
        self.log = log or EventLog()
        self.poll_interval = poll_interval
        self.plugin_set = PluginSet(
            on_event=lambda event, name, message: self.log(event, plugin=name, msg=message),
            on_output=lambda name, line: self.log("plugin_output", plugin=name, msg=line),
            factory=_plugin_factory(isolation))
        #: Held while Lua runs: a runtime serves one call at a time.
        self._lua_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self.podset = PodSet([], {}, {})
        self.results: list[PodResult] = []
        self.by_pod: dict[tuple[str, str], list[PodResult]] = {}
        self.summary = Summary()
        self.resolutions = 0
        self.last_resolution_seconds = 0.0
        self.last_change_applied = 0.0
        self._generation = None
        self._pods_signature = object()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pass_error_lines: Counter = Counter()
        self.app = self._build_app()

    # -- watching and resolving ---------------------------------------------

    def refresh(self) -> bool:
        """Pick up store and pod-source changes; re-resolve if anything changed."""
        generation = self.store.generation()
        signature = _pods_signature(self.pods_path)
        plugins_changed = pods_changed = False
        if generation != self._generation:
            self._generation = generation
            with self._lua_lock:
                plugins_changed = self.plugin_set.sync(self.store.chain_order())
        if signature != self._pods_signature:
            self._pods_signature = signature
            pods_changed = self._reload_pods()
        if plugins_changed or pods_changed:
            self.resolve_everything()
            return True
        return False

    def _reload_pods(self) -> bool:
        if self.pods_path is None:
            return False
        try:
            podset = load_pods(self.pods_path)
        except PodInputError as exc:
            self.log("pods_read_failed", msg=str(exc))
            return False
        self.podset = podset
        self.log("pods_loaded", pods=len(podset.pods), replicasets=len(podset.replicasets),
                 source=self.pods_path)
        return True

    def _on_chain_event(self, event, plugin, pod, message) -> None:
        self._pass_error_lines[plugin] += 1
        count = self._pass_error_lines[plugin]
        if count <= MAX_ERROR_LINES_PER_PASS:
            self.log(event, plugin=plugin, pod=f"{pod.namespace}/{pod.name}", msg=message)
        elif count == MAX_ERROR_LINES_PER_PASS + 1:
            self.log("log_suppressed", plugin=plugin,
                     msg=f"more than {MAX_ERROR_LINES_PER_PASS} events in this pass; counting them in /metrics only")

    def _on_disabled(self, exc) -> None:
        self.plugin_set.disable(exc.plugin, str(exc))

    def resolve_everything(self) -> None:
        started = time.perf_counter()
        podset = self.podset
        with self._lua_lock:
            self._pass_error_lines = Counter()
            results, summary = resolve_podset(podset, self.plugin_set.plugins, on_event=self._on_chain_event,
                                              on_disabled=self._on_disabled)
        by_pod: dict[tuple[str, str], list[PodResult]] = {}
        for result in results:
            by_pod.setdefault((result.pod.namespace, result.pod.name), []).append(result)
        with self._state_lock:
            self.results, self.by_pod, self.summary = results, by_pod, summary
            self.resolutions += 1
            self.last_resolution_seconds = time.perf_counter() - started
            self.last_change_applied = time.time()
        self.log("resolved", pods=len(results), plugins=len(self.plugin_set.plugins),
                 seconds=f"{self.last_resolution_seconds:.3f}")

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # keep watching whatever one pass hit
                self.log("refresh_failed", msg=f"{type(exc).__name__}: {exc}")
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._watch, name="resolver-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def close(self) -> None:
        """Release the plugins (and their worker processes, if any)."""
        with self._lua_lock:
            self.plugin_set.sync([])

    # -- the WSGI application -----------------------------------------------

    def _build_app(self):
        routes = Map([
            Rule("/healthz", endpoint="healthz", methods=["GET"]),
            Rule("/metrics", endpoint="metrics", methods=["GET"]),
            Rule("/v1/workloads", endpoint="workloads", methods=["GET"]),
            Rule("/v1/pods/<namespace>/<name>", endpoint="pod", methods=["GET"]),
            Rule("/v1/resolve", endpoint="resolve", methods=["POST"]),
            Rule("/v1/plugin/", endpoint="plugin_create", methods=["POST"]),
            Rule("/v1/plugin/", endpoint="plugin_list", methods=["GET"]),
            Rule("/v1/plugin/<name>/", endpoint="plugin_get", methods=["GET"]),
            Rule("/v1/plugin/<name>/", endpoint="plugin_delete", methods=["DELETE"]),
            Rule("/v1/plugin/<name>/history/", endpoint="plugin_history", methods=["GET"]),
            Rule("/v1/plugin/<name>/rollback/", endpoint="plugin_rollback", methods=["POST"]),
        ], strict_slashes=False)
        mutating = {"plugin_create", "plugin_delete", "plugin_rollback"}

        def app(environ, start_response):
            request = Request(environ)
            request.max_content_length = MAX_UPLOAD_BYTES
            try:
                endpoint, args = routes.bind_to_environ(environ).match()
                if endpoint in mutating and not self._authorised(request):
                    response = _json({"error": "a valid bearer token is required"}, 401)
                    response.headers["WWW-Authenticate"] = "Bearer"
                else:
                    response = getattr(self, "_api_" + endpoint)(request, **args)
            except HTTPException as exc:
                response = _json({"error": exc.description or exc.name}, exc.code or 500)
            except Exception as exc:  # one bad request must not take the service down
                self.log("request_failed", path=request.path, msg=f"{type(exc).__name__}: {exc}")
                response = _json({"error": "internal error"}, 500)
            return response(environ, start_response)

        return app

    def _authorised(self, request) -> bool:
        if self.token is None:
            return True
        header = request.headers.get("Authorization", "")
        scheme, _, supplied = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(supplied.strip().encode(), self.token.encode())

    # -- read routes ----------------------------------------------------------

    def _api_healthz(self, request):
        with self._state_lock:
            pods = len(self.results)
        return _json({"status": "ok", "pods": pods, "plugins": sorted(self.plugin_set.versions()),
                      "generation": self._generation, "resolutions": self.resolutions})

    def _api_workloads(self, request):
        namespace = request.args.get("namespace")
        with self._state_lock:
            results = self.results
        workloads: dict[tuple, dict] = {}
        unresolved = []
        for result in results:
            pod = result.pod
            if namespace and pod.namespace != namespace:
                continue
            outcome = result.outcome
            if isinstance(outcome, Resolved):
                key = (pod.namespace, outcome.type, outcome.name)
                entry = workloads.setdefault(key, {
                    "namespace": pod.namespace, "type": outcome.type, "name": outcome.name,
                    "sources": [], "pods": []})
                entry["pods"].append(pod.name)
                if outcome.source not in entry["sources"]:
                    entry["sources"].append(outcome.source)
            else:
                unresolved.append({"namespace": pod.namespace, "pod": pod.name, "reason": outcome.reason})
        return _json({"workloads": [workloads[k] for k in sorted(workloads)], "unresolved": unresolved})

    def _api_pod(self, request, namespace, name):
        with self._state_lock:
            matches = self.by_pod.get((namespace, name), [])
        if not matches:
            raise NotFound(f"no pod {namespace}/{name}")
        answers = [result_to_dict(r) for r in matches]
        return _json(answers[0] if len(answers) == 1 else {"pods": answers})

    def _api_resolve(self, request):
        try:
            podset = collect(parse_documents(request.get_data(as_text=True), "request body"))
        except PodInputError as exc:
            return _json({"error": str(exc)}, 400)
        explain = request.args.get("explain", "").lower() in ("1", "true", "yes")
        podset.replicasets = {**self.podset.replicasets, **podset.replicasets}
        with self._lua_lock:
            results, summary = resolve_podset(podset, self.plugin_set.plugins, explain=explain,
                                              on_disabled=self._on_disabled)
        if summary.disabled:
            self._changed()  # re-resolve the service's own pods without the disabled plugin
        return _json({"results": [result_to_dict(r) for r in results], "summary": summary_to_dict(summary)})

    def _api_metrics(self, request):
        return Response(self.metrics_text(), mimetype="text/plain", content_type="text/plain; version=0.0.4")

    # -- plugin routes (DeepFlow's) -----------------------------------------

    def _changed(self) -> None:
        """Apply a change made through the API now rather than at the next poll."""
        self._wake.set()

    def _api_plugin_list(self, request):
        return _envelope([record_to_api(r) for r in self.store.list()])

    def _api_plugin_get(self, request, name):
        try:
            return _envelope(record_to_api(self.store.get(name), with_source=True))
        except StoreError as exc:
            return _envelope_error(str(exc), 404)

    def _api_plugin_history(self, request, name):
        try:
            return _envelope([version_to_api(v) for v in self.store.history(name)])
        except StoreError as exc:
            return _envelope_error(str(exc), 404)

    def _api_plugin_create(self, request):
        form, files = request.form, request.files
        name = (form.get("NAME") or "").strip()
        plugin_type = (form.get("TYPE") or "lua").strip().lower()
        user = (form.get("USER") or "server").strip().lower()
        image = files.get("IMAGE")
        source = image.read() if image is not None else (form.get("IMAGE") or "").encode("utf-8")
        try:
            priority = int(form.get("PRIORITY") or 0)
        except ValueError:
            return _envelope_error("PRIORITY must be an integer", 400)
        replace = (form.get("REPLACE") or "").lower() in ("1", "true", "yes")
        if not name:
            return _envelope_error("NAME is required", 400)
        if plugin_type != "lua":
            return _envelope_error(unsupported_type_message(plugin_type), 400)
        if user not in PLUGIN_USERS:
            return _envelope_error(f"USER must be one of {', '.join(PLUGIN_USERS)}", 400)
        if not source:
            return _envelope_error("IMAGE (the plugin source) is required", 400)
        try:
            LuaPlugin(name, source, chunkname=f"@{name}.lua", on_output=lambda _name, _line: None)
        except PluginError as exc:
            self.log("plugin_rejected", plugin=name, msg=str(exc))
            return _envelope_error(str(exc), 400)
        try:
            record = self.store.create(name, source, type=plugin_type, user=user,
                                       priority=priority, replace=replace)
        except StoreError as exc:
            return _envelope_error(str(exc), 409)
        self.log("plugin_stored", plugin=name, version=record.version, via="api")
        self._changed()
        return _envelope(record_to_api(record))

    def _api_plugin_delete(self, request, name):
        try:
            self.store.delete(name)
        except StoreError as exc:
            return _envelope_error(str(exc), 404)
        self.log("plugin_deleted", plugin=name, via="api")
        self._changed()
        return _envelope(None)

    def _api_plugin_rollback(self, request, name):
        version = None
        body = request.get_data(as_text=True)
        if body.strip():
            try:
                version = json.loads(body).get("VERSION")
            except (ValueError, AttributeError):
                return _envelope_error("the body must be a JSON object like {\"VERSION\": 2}", 400)
        if version is not None and not isinstance(version, int):
            return _envelope_error("VERSION must be an integer", 400)
        try:
            record = self.store.rollback(name, version)
        except StoreError as exc:
            return _envelope_error(str(exc), 404)
        self.log("plugin_rolled_back", plugin=name, version=record.version, via="api")
        self._changed()
        return _envelope(record_to_api(record))

    # -- metrics ------------------------------------------------------------

    def metrics_text(self) -> str:
        lines: list[str] = []

        def metric(name, kind, help_text, samples):
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, value in samples:
                label_text = ",".join(f'{k}="{_label_escape(v)}"' for k, v in labels.items())
                lines.append(f"{name}{{{label_text}}} {value}" if label_text else f"{name} {value}")

        stats = sorted(self.plugin_set.stats.items())
        metric("resolver_plugin_calls_total", "counter", "Calls of GetWorkloadTypeAndName.",
               [({"plugin": n}, s.calls) for n, s in stats])
        metric("resolver_plugin_claims_total", "counter", "Calls that claimed the pod.",
               [({"plugin": n}, s.claims) for n, s in stats])
        metric("resolver_plugin_unsupported_total", "counter", "Calls that returned an unsupported type.",
               [({"plugin": n}, s.unsupported) for n, s in stats])
        metric("resolver_plugin_errors_total", "counter", "Failed calls, by kind of failure.",
               [({"plugin": n, "kind": k}, v) for n, s in stats for k, v in sorted(s.errors.items())])
        histogram = []
        for n, s in stats:
            cumulative = 0
            for bound, count in zip(list(LATENCY_BUCKETS) + ["+Inf"], s.latency_counts):
                cumulative += count
                histogram.append(({"plugin": n, "le": str(bound)}, cumulative))
        lines.append("# HELP resolver_plugin_call_seconds Latency of one plugin call.")
        lines.append("# TYPE resolver_plugin_call_seconds histogram")
        for labels, value in histogram:
            lines.append(f'resolver_plugin_call_seconds_bucket{{plugin="{_label_escape(labels["plugin"])}",'
                         f'le="{labels["le"]}"}} {value}')
        for n, s in stats:
            lines.append(f'resolver_plugin_call_seconds_sum{{plugin="{_label_escape(n)}"}} {s.latency_sum:.9f}')
            lines.append(f'resolver_plugin_call_seconds_count{{plugin="{_label_escape(n)}"}} {s.calls}')
        metric("resolver_plugin_load_failures_total", "counter", "Plugin versions that failed to load.",
               [({"plugin": n}, v) for n, v in sorted(self.plugin_set.load_failures.items())])
        metric("resolver_plugin_disabled_total", "counter",
               "Plugin versions taken out of service for running out of budget too often.",
               [({"plugin": n}, v) for n, v in sorted(self.plugin_set.disabled.items())])
        versions = self.plugin_set.versions()
        metric("resolver_plugins_loaded", "gauge", "Plugins loaded and in the chain.", [({}, len(versions))])
        metric("resolver_plugin_loaded_version", "gauge", "The store version of each loaded plugin.",
               [({"plugin": n}, v) for n, v in sorted(versions.items())])
        with self._state_lock:
            summary = self.summary
            resolutions, seconds = self.resolutions, self.last_resolution_seconds
        metric("resolver_pods", "gauge", "Resolved pods, by source.",
               [({"source": k}, v) for k, v in sorted(summary.by_source.items())])
        metric("resolver_unresolved_pods", "gauge", "Unresolved pods, by reason.",
               [({"reason": k}, v) for k, v in sorted(summary.by_reason.items())])
        metric("resolver_resolutions_total", "counter", "Full resolution passes.", [({}, resolutions)])
        metric("resolver_last_resolution_seconds", "gauge", "Duration of the last full pass.",
               [({}, f"{seconds:.6f}")])
        return "\n".join(lines) + "\n"


def _plugin_factory(isolation: str):
    if isolation == "in-process":
        return LuaPlugin
    if isolation == "process":
        from .workers import WorkerPlugin, available
        if not available():
            raise ValueError("--isolation process needs a POSIX system with RLIMIT_AS")
        return WorkerPlugin
    raise ValueError(f"unknown isolation {isolation!r} (in-process or process)")


def unsupported_type_message(plugin_type: str) -> str:
    return (f"plugin type {plugin_type!r} is not supported: this resolver runs Lua plugins only "
            "(use --type lua; DeepFlow's wasm and so plugins extend its agent)")


def _label_escape(value) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _json(payload, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False) + "\n", status=status, mimetype="application/json")


def _envelope(data, status: int = 200) -> Response:
    return _json({"OPT_STATUS": "SUCCESS", "DESCRIPTION": "", "DATA": data}, status)


def _envelope_error(description: str, status: int) -> Response:
    opt = {400: "INVALID_PARAMETERS", 401: "UNAUTHORIZED", 404: "RESOURCE_NOT_FOUND",
           409: "RESOURCE_ALREADY_EXIST"}.get(status, "FAIL")
    return _json({"OPT_STATUS": opt, "DESCRIPTION": description, "DATA": None}, status)


def result_to_dict(result: PodResult) -> dict:
    pod, outcome = result.pod, result.outcome
    data = {"namespace": pod.namespace, "pod": pod.name, "uid": pod.uid}
    if isinstance(outcome, Resolved):
        data.update(type=outcome.type, name=outcome.name, source=outcome.source)
    else:
        data.update(unresolved=outcome.reason)
    if result.trail is not None:
        data["trail"] = [{"step": step.step, "said": step.said} for step in result.trail]
    return data


def summary_to_dict(summary: Summary) -> dict:
    data = {"pods": summary.total, "by_source": dict(sorted(summary.by_source.items())),
            "unresolved": dict(sorted(summary.by_reason.items()))}
    if summary.plugin_errors:
        data["plugin_errors"] = dict(sorted(summary.plugin_errors.items()))
    if summary.unsupported:
        data["unsupported_types"] = dict(sorted(summary.unsupported.items()))
    if summary.disabled:
        data["disabled_plugins"] = list(summary.disabled)
    return data


def serve(store: PluginStore, *, listen: str, pods_path: str | None, token: str | None,
          threads: int = 4, log: EventLog | None = None, isolation: str = "in-process") -> int:
    """Run until SIGTERM/SIGINT; returns the exit status."""
    from waitress.server import create_server

    log = log or EventLog()
    host, port = parse_listen(listen)
    if not is_loopback(host) and not token:
        raise ValueError(f"refusing to listen on {host} (beyond loopback) without a token: "
                         "pass --token or set RESOLVER_TOKEN")
    service = ResolverService(store, pods_path, token, log, isolation=isolation)
    service.start()
    server = create_server(service.app, host=host, port=port, threads=threads,
                           ident="resolver", clear_untrusted_proxy_headers=True)
    stopping = threading.Event()

    def shut_down(signum, frame):
        if not stopping.is_set():
            stopping.set()
            log("shutdown", signal=signal.Signals(signum).name)
            server.close()

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    effective_host = host if ":" not in host else f"[{host}]"
    log("listening", url=f"http://{effective_host}:{server.effective_port}", token="yes" if token else "no",
        isolation=isolation)
    try:
        server.run()
    except (OSError, ValueError):
        if not stopping.is_set():
            raise
    finally:
        service.stop()
        service.close()
        log("stopped")
    return 0
