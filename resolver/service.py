"""``resolver serve``: the live service.

Built on waitress (a production WSGI server) and werkzeug (routing,
requests, multipart parsing).  A watcher thread polls the store's
generation counter and the pod source every ``POLL_INTERVAL`` seconds, and
wakes at once for a pod event from the Kubernetes watcher (``--kubernetes``)
or a plugin change made through the API.

Resolution is incremental.  Pods live in a ``PodIndex``; a pod change (a
watch event, or a ``--pods`` file read again and diffed by content) makes
only that pod pending, and a ReplicaSet change only its pods; pending pods
are resolved and their answers swapped in one by one.  A plugin change
resolves every pod again in a background pass while the previous answers
are served, then swaps all the new answers in at once.

The consistency model, for plugin deletes: the chain has an epoch, bumped by
every change to it, and answers are swapped in only by code holding the Lua
lock that computed them at the current epoch.  A plugin that leaves the
chain has the pods it claimed resolved again before the change is done (for
``DELETE /v1/plugin/NAME/``, before the response is sent), so once a DELETE
has returned no answer computed by that plugin is served.  A pass that was
running with it is abandoned and started again.

The plugin routes speak DeepFlow's wire format (see ``wire``).  Every
request passes the Host/Origin checks of ``http_security`` first, is
counted in ``/metrics`` and written to the access log.  ``POST
/v1/resolve`` is a read: it runs the plugins on the caller's pods with
counters of its own, and whatever goes wrong is reported to that caller only.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import json
import os
import signal
import threading
import time
from contextlib import contextmanager
from time import perf_counter

from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import wire
from .answers import Answers
from .chain import PodResult, Summary, resolve_podset
from .eventlog import EventLog, WaitressBridge
from .http_security import RequestGuard, is_loopback_host
from .loader import PluginSet
from .metrics import ServiceMetrics, monotonic_age
from .plugin_guard import CheckedPlugin, OutputLimiter, release
from .plugins import LuaPlugin, PluginError, PluginStats
from .podindex import PodIndex, Update
from .pods import Change, Pod, PodInputError, PodSet, collect, load_pods, parse_documents, pod_key
from .rules import Resolved
from .store import PLUGIN_USERS, PluginNotFound, PluginStore, StoreError, check_name, check_priority

POLL_INTERVAL = 0.1
#: Pods resolved per hold of the Lua lock, at most, in a pass or for
#: pending changes (``_Batches`` sizes batches by time below that): room
#: for a round trip to each of a plugin's worker processes
#: (``workers.BATCH_SIZE`` pods each, up to ``workers.MAX_PROCESSES``).
PASS_BATCH = 1024
#: How long one batch may hold the Lua lock (a pod event waits for at most
#: one, and the p99 goal is 50 ms): batches shrink to fit, so a
#: slow plugin (0.1 s a pod) never makes a one-pod request wait a whole
#: batch, while a fast one still runs 256 pods per turn.
BATCH_TARGET_SECONDS = 0.02


class _Batches:
    """Split work into batches sized so each holds the Lua lock about
    ``BATCH_TARGET_SECONDS``: the next batch is scaled by how long the last
    one took, between 1 and ``PASS_BATCH`` items."""

    def __init__(self):
        # One item first: the plugins' speed is not known yet, and a batch
        # of slow calls would hold the lock for all of them.
        self.size = 1
        self._last = 1

    def of(self, items: list):
        start = 0
        while start < len(items):
            batch = items[start:start + self.size]
            start += len(batch)
            self._last = len(batch)
            yield batch

    @contextlib.contextmanager
    def timed(self):
        started = perf_counter()
        try:
            yield
        finally:
            elapsed = perf_counter() - started
            per_item = elapsed / self._last
            fitting = int(BATCH_TARGET_SECONDS / per_item) if per_item > 0 else PASS_BATCH
            self.size = max(1, min(PASS_BATCH, fitting))
#: Plugin-error log lines per plugin per resolution pass; the rest are counted.
MAX_ERROR_LINES_PER_PASS = 50
#: A plugin upload: the 1 MiB source limit plus room for the form around it.
MAX_UPLOAD_BYTES = 1024 * 1024 + 64 * 1024
#: Default cap on a ``POST /v1/resolve`` body (``--max-request-bytes``):
#: about 1,500 pods as ``kubectl get pods -o json`` prints them.
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: Default for ``--stale-after``: seconds the pod source may stay unreadable
#: before ``/readyz`` says the service is not ready.
DEFAULT_STALE_AFTER = 300.0
#: How long shutdown waits for a running plugin call before leaving it.
SHUTDOWN_WAIT = 2.0
#: Probes and scrapes go to the access log at debug level, the rest at info.
_QUIET_ROUTES = {"healthz", "readyz", "metrics"}
_MUTATING = {"plugin_create", "plugin_delete", "plugin_rollback"}


def is_loopback(host: str) -> bool:
    return is_loopback_host(host.strip("[]"))


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


@contextmanager
def _scratch_stats(plugins):
    """Count calls made inside the block apart from the plugins' own counters."""
    saved = [(plugin, plugin.stats) for plugin in plugins]
    for plugin, _ in saved:
        plugin.stats = PluginStats()
    try:
        yield
    finally:
        for plugin, stats in saved:
            plugin.stats = stats


class ResolverService:
    """The state behind the API: loaded plugins, pods and their answers."""

    def __init__(self, store: PluginStore, pods_path: str | None = None, token: str | None = None,
                 log: EventLog | None = None, poll_interval: float = POLL_INTERVAL,
                 isolation: str = "in-process", *, listen_host: str = "127.0.0.1",
                 allowed_hosts: tuple[str, ...] = (), stale_after: float = DEFAULT_STALE_AFTER,
                 max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES, resolve_slots: int = 2,
                 kubernetes: dict | None = None, plugin_processes: int | None = None):
        self.store = store
        self.pods_path = pods_path
        self.token = token or None
        self.log = log or EventLog()
        self.poll_interval = poll_interval
        self.stale_after = stale_after
        self.max_request_bytes = max_request_bytes
        self.guard = RequestGuard(listen_host, tuple(allowed_hosts))
        self._output = OutputLimiter(self.log)
        self._closing = False
        #: Builds a plugin where it will run (in this process or a worker);
        #: uploads are validated the same way, so a hostile top level never
        #: runs in the service process under ``process`` isolation.
        self._make_plugin = _plugin_factory(isolation, plugin_processes)
        self.plugin_set = PluginSet(on_event=self._on_load_event, on_output=self._output.line,
                                    factory=self._make_plugin)
        #: Held while Lua runs: a runtime serves one call at a time.
        self._lua_lock = threading.Lock()
        #: Urgent holders waiting (ad-hoc resolutions, plugin deletes): passes let them go first.
        self._turns = threading.Condition()
        self._urgent = 0
        self._state_lock = threading.Lock()
        #: Ad-hoc resolutions waiting for or holding the Lua lock; the rest
        #: are turned away so probes always find a free server thread.
        self._resolve_slots = threading.BoundedSemaphore(max(1, resolve_slots))
        #: The pods known now; changed by the watcher thread and pod-file reads under ``_index_lock``.
        self.index = PodIndex()
        self._index_lock = threading.Lock()
        #: Pod key -> (pod, or None when it is gone; monotonic arrival of its first unanswered change).
        self._pending: dict = {}
        #: Keys answered by ``resolve_pending`` since the running pass took its snapshot.
        self._touched: set = set()
        #: Bumped whenever the plugin chain changes (see the module's docstring).
        self._epoch = 0
        self._full_pass_needed = False
        self.answers = Answers()
        #: The last full pass's plugin errors, unsupported types and disabled plugins.
        self._pass_extras = Summary()
        self.resolutions = 0
        self.incremental_pods = 0
        self.last_resolution_seconds = 0.0
        self.last_change_applied = 0.0
        self.loaded_versions: dict[str, int] = {}
        self._generation = None
        self._pods_signature = object()
        #: When the pod source was last read (or found unchanged) successfully,
        #: and the error it gives now, if any (``time.monotonic()`` stamps).
        self._pods_ok_at: float | None = None
        self._pods_error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pass_error_lines: dict[str, int] = {}
        #: ``--kubernetes``: KubeWatcher options (kubeconfig, context, or a test's api).
        self.watcher = None
        if kubernetes is not None:
            from .kube import KubeWatcher
            self.watcher = KubeWatcher(self.on_pod_change, **kubernetes)
        self.metrics = ServiceMetrics(self)
        self.app = self._build_app()

    # -- watching and resolving ---------------------------------------------

    def refresh(self) -> bool:
        """Pick up store and pod-source changes, and answer them; whether anything was resolved."""
        generation = self.store.generation()
        if generation != self._generation:
            self._generation = generation
            self._apply_store()
        signature = _pods_signature(self.pods_path)
        if signature != self._pods_signature:
            self._pods_signature = signature
            self._reload_pods()
        elif self._pods_error is None and self.pods_path is not None:
            self._pods_ok_at = time.monotonic()
        if self.watcher is not None and not self.watcher.synced(0):
            return False  # the first pass waits for the first complete list
        # The first pass runs whatever changed: /readyz waits for it.
        if self._full_pass_needed or self.resolutions == 0:
            return self.resolve_everything()
        return self.resolve_pending() > 0

    def _apply_store(self) -> None:
        """Load the store's chain; answers of plugins it no longer has are recomputed now.

        A plugin that was removed must not be served a moment longer (the
        consistency model: see ``_withdraw``), so the pods it claimed are
        resolved again at once, without it.  Any other change (a new plugin,
        a new version, a new order) needs every pod resolved again: that runs
        as a background pass, and the previous answers are served meanwhile.
        """
        with self._lua_turn(urgent=True):
            records = self.store.chain_order()
            before = self.plugin_set.versions()
            order_before = [p.name for p in self.plugin_set.plugins]
            changed = self.plugin_set.sync(records)
            self._output.end_pass()
            self._forget_deleted({record.name for record in records})
            if not changed:
                return
            self._epoch += 1  # a pass computed with the old chain must not be swapped in
            after = self.plugin_set.versions()
            gone = [name for name in before if name not in after]
            only_removals = (after == {n: v for n, v in before.items() if n in after}
                             and [p.name for p in self.plugin_set.plugins]
                             == [n for n in order_before if n in after])
            if not only_removals:
                self._full_pass_needed = True
            for name in gone:
                self._withdraw(name)

    def _withdraw(self, name: str) -> None:
        """Resolve again, now, every pod whose answer came from plugin ``name`` (gone).

        Called with the Lua lock held, so no pass batch, pod event or ad-hoc
        resolution interleaves: when this returns, no answer of that plugin
        is served.
        """
        with self._state_lock:
            claimed = self.answers.claimed_by(f"plugin:{name}")
        if claimed:
            self._resolve_and_swap(claimed)
            self.log("plugin_answers_withdrawn", plugin=name, pods=len(claimed))

    def _forget_deleted(self, live: set[str]) -> None:
        """Drop the counters of plugins no longer in the store (their series go)."""
        plugin_set = self.plugin_set
        for table in (plugin_set.stats, plugin_set.load_failures, plugin_set.disabled):
            for name in [name for name in table if name not in live]:
                del table[name]
        self.loaded_versions = dict(plugin_set.versions())

    def _reload_pods(self) -> None:
        """Read the pod file again; the pods that differ (by content) become pending."""
        if self.pods_path is None:
            return
        try:
            podset = load_pods(self.pods_path)
        except PodInputError as exc:
            self._pods_error = str(exc)
            self.metrics.pod_read_errors.inc()
            self.log("pods_read_failed", msg=str(exc))
            return
        self._pods_error = None
        self._pods_ok_at = time.monotonic()
        with self._index_lock:
            self._queue(self.index.replace(podset), time.monotonic())
        self.log("pods_loaded", pods=len(podset.pods), replicasets=len(podset.replicasets),
                 source=self.pods_path)

    def on_pod_change(self, change: Change) -> None:
        """A pod or ReplicaSet change (from the watcher): queue what it makes stale."""
        arrived = time.monotonic()
        with self._index_lock:
            update = self.index.apply(change)
            self._queue(update, arrived)
        if update:
            self._wake.set()

    def _queue(self, update: Update, arrived: float) -> None:
        """Note an update's pods as pending (index lock held); the earliest arrival counts."""
        for pod, still_there in [(pod, False) for pod in update.removed] + [(pod, True) for pod in update.stale]:
            key = pod_key(pod)
            previous = self._pending.get(key)
            self._pending[key] = (pod if still_there else None, previous[1] if previous else arrived)

    def pod_data_age(self) -> float:
        """Seconds since the pod source was last confirmed good (0 without one)."""
        return monotonic_age(self._pods_ok_at) if self.pods_path is not None else 0.0

    def not_ready_reason(self) -> str | None:
        """Why ``/readyz`` should fail, or ``None`` when the service is ready."""
        if self.pods_path is not None and self._pods_ok_at is None:
            return f"the pod source has not been read yet: {self._pods_error or 'reading'}"
        if self.watcher is not None and not self.watcher.synced(0):
            errors = [f"{kind}: {stats.last_error}" for kind, stats in self.watcher.stats.items() if stats.last_error]
            return ("the first list of pods and ReplicaSets has not arrived from the API server"
                    + (f" ({'; '.join(errors)})" if errors else ""))
        if self.resolutions == 0:
            return "the first resolution pass has not finished"
        if self._pods_error is not None and self.pod_data_age() > self.stale_after:
            return (f"the pod source has been unreadable for {self.pod_data_age():.0f} s "
                    f"(limit {self.stale_after:g} s): {self._pods_error}")
        return None

    def _on_load_event(self, event: str, name: str, message: str) -> None:
        if self._closing and event == "plugin_unloaded":
            return  # shutting down releases plugins; nothing was deleted
        self.log(event, plugin=name, msg=message)

    def _on_chain_event(self, event, plugin, pod, message) -> None:
        count = self._pass_error_lines[plugin] = self._pass_error_lines.get(plugin, 0) + 1
        if count <= MAX_ERROR_LINES_PER_PASS:
            self.log(event, plugin=plugin, pod=f"{pod.namespace}/{pod.name}", msg=message)
        elif count == MAX_ERROR_LINES_PER_PASS + 1:
            self.log("log_suppressed", plugin=plugin,
                     msg=f"more than {MAX_ERROR_LINES_PER_PASS} events in this pass; counting them in /metrics only")

    def _on_disabled(self, exc) -> None:
        self.plugin_set.disable(exc.plugin, str(exc))
        self.loaded_versions = dict(self.plugin_set.versions())
        # Answers computed with it are no longer what the chain says: resolve everything again.
        self._epoch += 1
        self._full_pass_needed = True

    @contextmanager
    def _lua_turn(self, urgent: bool = False):
        """Hold the Lua lock; background work waits while an urgent caller is queued.

        A pass takes the lock once per batch; ``threading.Lock`` is not fair,
        so without this the pass thread would take it back at once, and a
        one-pod ``POST /v1/resolve`` could wait for the whole pass.
        """
        if urgent:
            with self._turns:
                self._urgent += 1
            try:
                self._lua_lock.acquire()
            finally:
                with self._turns:
                    self._urgent -= 1
                    self._turns.notify_all()
        else:
            with self._turns:
                self._turns.wait_for(lambda: self._urgent == 0, timeout=SHUTDOWN_WAIT)
            self._lua_lock.acquire()
        try:
            yield
        finally:
            self._lua_lock.release()

    def _chain_plugins(self) -> list[CheckedPlugin]:
        return [CheckedPlugin(plugin, self._output.end_call) for plugin in self.plugin_set.plugins]

    def _resolve(self, pods: list[Pod]) -> tuple[list[PodResult], Summary]:
        """Resolve pods with the chain as it is (Lua lock held)."""
        return resolve_podset(PodSet(pods, self.index.replicasets, {}), self._chain_plugins(),
                              on_event=self._on_chain_event, on_disabled=self._on_disabled)

    def _current(self, results: list[PodResult]) -> list[PodResult]:
        """The results whose pod is still the one indexed (index lock held)."""
        pods = self.index.pods
        return [result for result in results if pods.get(pod_key(result.pod)) is result.pod]

    def _resolve_and_swap(self, pods: list[Pod]) -> list[PodResult]:
        """Resolve pods and serve their answers (Lua lock held: the chain cannot change meanwhile)."""
        results, _ = self._resolve(pods)
        with self._index_lock, self._state_lock:
            current = self._current(results)
            self.answers.put(current)
            self._touched.update(pod_key(result.pod) for result in current)
        return current

    def resolve_pending(self) -> int:
        """Answer the pods changed since they were last resolved; how many were resolved.

        Only those pods run through the chain, in batches that each hold the
        Lua lock briefly, so a one-pod ``POST /v1/resolve`` never waits long.
        """
        with self._index_lock:
            if not self._pending:
                return 0
            pending, self._pending = self._pending, {}
        gone = [(key, arrived) for key, (pod, arrived) in pending.items() if pod is None]
        if gone:
            with self._index_lock, self._state_lock:
                self.answers.drop([key for key, _ in gone if key not in self.index.pods])
            for _, arrived in gone:
                self.metrics.event_seconds.observe(time.monotonic() - arrived)
        stale = [(pod, arrived) for pod, arrived in pending.values() if pod is not None]
        for pod, _ in stale:
            # The built-in rules' answer may have been cached by a resolution
            # that read a ReplicaSet just before it changed: compute it again.
            pod.builtin_cache = None
        batches = _Batches()
        for batch in batches.of(stale):
            with self._lua_turn(), batches.timed():
                self._resolve_and_swap([pod for pod, _ in batch])
                self._output.end_pass()
            answered = time.monotonic()
            for _, arrived in batch:
                self.metrics.event_seconds.observe(answered - arrived)
        self.incremental_pods += len(pending)
        return len(pending)

    def resolve_everything(self) -> bool:
        """Resolve every pod again; all the new answers are served at once.

        The pass goes batch by batch, taking the Lua lock for each batch
        only, and answers pending pod changes between batches (a pod that
        changes during the pass is served its own, newer answer).  If the
        chain changes meanwhile (``_epoch``), the pass is abandoned and
        starts again: nothing computed by a replaced or deleted plugin is
        swapped in.  Whether the pass completed.
        """
        started = perf_counter()
        with self._index_lock:
            pods = list(self.index.pods.values())
            # Pods already pending stay pending, answered between batches
            # rather than at the end of the pass; except before the first
            # pass, when nothing is served yet and this pass answers them all.
            if self.resolutions == 0:
                self._pending.clear()
            self._touched = set()
        epoch = self._epoch
        self._full_pass_needed = False
        self._pass_error_lines = {}
        results: list[PodResult] = []
        summary = Summary()
        batches = _Batches()
        for batch in batches.of(pods or [None]):
            with self._lua_turn(), batches.timed():
                if self._pass_abandoned(epoch):
                    return False
                batch_results, batch_summary = self._resolve([pod for pod in batch if pod is not None])
            results += batch_results
            summary.plugin_errors.update(batch_summary.plugin_errors)
            summary.unsupported.update(batch_summary.unsupported)
            summary.disabled += [name for name in batch_summary.disabled if name not in summary.disabled]
            self.resolve_pending()
        with self._lua_turn():
            if self._pass_abandoned(epoch):
                return False
            self._output.end_pass()
            seconds = perf_counter() - started
            with self._index_lock, self._state_lock:
                self.answers.put([r for r in self._current(results) if pod_key(r.pod) not in self._touched])
                self.answers.drop([key for key in self.answers.keys() if key not in self.index.pods])
                self._pass_extras = summary
                self.resolutions += 1
                self.last_resolution_seconds = seconds
                self.last_change_applied = time.time()
            # Logged under the lock: ``close`` takes it before it says
            # "stopped", so no pass reports after the service has stopped.
            self.metrics.pass_seconds.observe(seconds)
            self.log("resolved", pods=len(results), plugins=len(self.loaded_versions), seconds=f"{seconds:.3f}")
        return True

    def _pass_abandoned(self, epoch: int) -> bool:
        """Whether a pass begun at ``epoch`` must stop (Lua lock held).

        It must if the chain changed, and also once the service is stopping:
        its answers would never be served, and a pass whose thread outlived
        ``stop`` would otherwise finish, and log, after the service said
        "stopped".
        """
        if self._epoch != epoch:
            self._full_pass_needed = True
            return True
        return self._closing or self._stop.is_set()

    def pass_snapshot(self) -> tuple[Summary, int, float]:
        """The served answers' summary (with the last pass's error counts), passes, last pass's seconds."""
        with self._state_lock:
            counts, extras = self.answers.summary(), self._pass_extras
            summary = Summary(counts.by_source, counts.by_reason, extras.plugin_errors, extras.unsupported,
                              list(extras.disabled))
            return summary, self.resolutions, self.last_resolution_seconds

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # keep watching whatever one pass hit
                self.log("refresh_failed", msg=f"{type(exc).__name__}: {exc}")
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def start(self) -> None:
        """One refresh now (the first pass), then watch in the background."""
        self.refresh()
        self.start_watching()

    def start_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.start()
        self._thread = threading.Thread(target=self._watch, name="resolver-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.watcher is not None:
            self.watcher.stop(timeout=SHUTDOWN_WAIT)
        if self._thread is not None:
            self._thread.join(timeout=SHUTDOWN_WAIT)

    def close(self) -> None:
        """Release the plugins (and their worker processes, if any).

        A plugin call still running after ``SHUTDOWN_WAIT`` seconds is left
        behind: its thread is a daemon, and shutdown must not wait for it.
        """
        self._closing = True
        if not self._lua_lock.acquire(timeout=SHUTDOWN_WAIT):
            self.log("shutdown_forced", msg="a plugin call is still running; leaving it")
            return
        try:
            count = len(self.plugin_set.plugins)
            self.plugin_set.sync([])
        finally:
            self._lua_lock.release()
        self.log("plugins_released", plugins=count)

    # -- the WSGI application -----------------------------------------------

    def _build_app(self):
        routes = Map([
            Rule("/healthz", endpoint="healthz", methods=["GET"]),
            Rule("/readyz", endpoint="readyz", methods=["GET"]),
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

        def app(environ, start_response):
            started = perf_counter()
            request = Request(environ)
            route = "unmatched"
            deepflow = request.path.startswith("/v1/plugin")
            try:
                endpoint, args = routes.bind_to_environ(environ).match()
                route = endpoint
                response = self._dispatch(request, endpoint, args)
            except wire.ApiError as exc:
                response = _api_error(exc) if deepflow else _json({"error": exc.description}, exc.http_status)
            except HTTPException as exc:
                description = exc.description or exc.name
                status = exc.code or 500
                response = (_api_error(wire.ApiError("FAIL", description, status)) if deepflow
                            else _json({"error": description}, status))
            except Exception as exc:  # one bad request must not take the service down
                self.log("request_failed", path=request.path, msg=f"{type(exc).__name__}: {exc}")
                response = (_api_error(wire.ApiError("SERVER_ERROR", "internal error")) if deepflow
                            else _json({"error": "internal error"}, 500))
            if response.status_code == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            seconds = perf_counter() - started
            self.metrics.http_requests.labels(route, str(response.status_code)).inc()
            self.metrics.http_seconds.labels(route).observe(seconds)
            self.log("http_request", level="debug" if route in _QUIET_ROUTES else "info",
                     method=request.method, path=request.full_path.rstrip("?"), route=route,
                     status=response.status_code, seconds=f"{seconds:.4f}", remote=request.remote_addr)
            return response(environ, start_response)

        return app

    def _dispatch(self, request, endpoint: str, args: dict):
        """Checks every request passes, then the route's handler."""
        refusal = self.guard.refuse_host(request.environ.get("HTTP_HOST"))
        if refusal is None and request.method not in ("GET", "HEAD", "OPTIONS"):
            refusal = self.guard.refuse_origin(request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"),
                                               request.environ.get("HTTP_HOST"))
        if refusal is not None:
            self.log("request_refused", path=request.path, msg=refusal, remote=request.remote_addr)
            raise wire.ApiError("NO_PERMISSIONS", refusal)
        if endpoint in _MUTATING and not self._authorised(request):
            raise wire.ApiError("NO_PERMISSIONS", "a valid bearer token is required", http_status=401)
        if endpoint.startswith("plugin_"):
            org = wire.org_id(request.headers.get(wire.ORG_HEADER))
            if org != wire.DEFAULT_ORG_ID:
                raise wire.ApiError("ORG_ID_INVALID", f"organization {org} does not exist: this resolver "
                                                      f"serves one organization ({wire.DEFAULT_ORG_ID})")
        request.max_content_length = self.max_request_bytes if endpoint == "resolve" else MAX_UPLOAD_BYTES
        return getattr(self, "_api_" + endpoint)(request, **args)

    def _authorised(self, request) -> bool:
        if self.token is None:
            return True
        header = request.headers.get("Authorization", "")
        scheme, _, supplied = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(supplied.strip().encode(), self.token.encode())

    # -- read routes ----------------------------------------------------------

    def _api_healthz(self, request):
        with self._state_lock:
            pods, resolutions = len(self.answers), self.resolutions
        health = {"status": "ok", "pods": pods, "plugins": sorted(self.loaded_versions),
                  "generation": self._generation, "resolutions": resolutions}
        if self._pods_error is not None:
            health["pods_error"] = self._pods_error
        return _json(health)

    def _api_readyz(self, request):
        reason = self.not_ready_reason()
        if reason is not None:
            return _json({"status": "not ready", "reason": reason}, 503)
        return _json({"status": "ready", "pod_data_age_seconds": round(self.pod_data_age(), 3)})

    def _api_workloads(self, request):
        namespace = request.args.get("namespace")
        with self._state_lock:
            results = self.answers.results()
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
            matches = self.answers.named(namespace, name)
        if not matches:
            raise NotFound(f"no pod {namespace}/{name}")
        answers = [result_to_dict(r) for r in matches]
        return _json(answers[0] if len(answers) == 1 else {"pods": answers})

    def _request_pods(self, request) -> PodSet:
        """The pods a ``POST /v1/resolve`` body holds, or a 400 saying why not."""
        length = request.content_length
        if length is not None and length > self.max_request_bytes:
            raise RequestEntityTooLarge(f"the body is {length} bytes; the limit is {self.max_request_bytes} "
                                        "(resolver serve --max-request-bytes)")
        raw = request.get_data()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise wire.ApiError("INVALID_PARAMETERS", f"request body: not valid UTF-8 "
                                                      f"(byte 0x{raw[exc.start]:02x} at offset {exc.start})")
        if not text.strip():
            raise wire.ApiError("INVALID_PARAMETERS", "request body: empty; send a Pod, a PodList or pod metadata")
        try:
            podset = collect(parse_documents(text, "request body"))
        except PodInputError as exc:
            raise wire.ApiError("INVALID_PARAMETERS", str(exc)) from None
        if not podset.pods:
            skipped = ", ".join(f"{count} {kind}" for kind, count in sorted(podset.skipped.items()))
            raise wire.ApiError("INVALID_PARAMETERS", "request body: no pods in it"
                                + (f" (skipped: {skipped})" if skipped else ""))
        return podset

    def _api_resolve(self, request):
        podset = self._request_pods(request)
        explain = request.args.get("explain", "").lower() in ("1", "true", "yes")
        with self._index_lock:
            podset.replicasets = {**self.index.replicasets, **podset.replicasets}
        if not self._resolve_slots.acquire(blocking=False):
            response = _json({"error": "busy: other resolutions are running; retry shortly"}, 503)
            response.headers["Retry-After"] = "1"
            return response
        try:
            with self._lua_turn(urgent=True):
                plugins = self._chain_plugins()
                # A read: counters of its own, and a plugin that runs out of
                # budget is left out of this answer only (no on_disabled).
                with _scratch_stats([p.plugin for p in plugins]):
                    results, summary = resolve_podset(podset, plugins, explain=explain)
                self._output.end_pass()
        finally:
            self._resolve_slots.release()
        return _json({"results": [result_to_dict(r) for r in results], "summary": summary_to_dict(summary)})

    def _api_metrics(self, request):
        return Response(self.metrics.exposition(), content_type=self.metrics.content_type)

    # -- plugin routes (DeepFlow's) -----------------------------------------

    def _changed(self) -> None:
        """Apply a change made through the API now rather than at the next poll."""
        self._wake.set()

    def _api_plugin_list(self, request):
        return _envelope([wire.plugin_to_api(record, versions=versions)
                          for record, versions, _size in self.store.list_wide()])

    def _api_plugin_get(self, request, name):
        with _not_found(name):
            return _envelope(wire.plugin_to_api(self.store.get(name), with_source=True))

    def _api_plugin_history(self, request, name):
        with _not_found(name):
            return _envelope([wire.version_to_api(v) for v in self.store.history(name)])

    def _api_plugin_create(self, request):
        form, files = request.form, request.files
        name = form.get("NAME") or ""
        plugin_type = wire.form_code("TYPE", form.get("TYPE"), wire.PLUGIN_TYPE_CODES, default="lua")
        user = wire.form_code("USER", form.get("USER"), wire.PLUGIN_USER_CODES, default="server")
        image = files.get("IMAGE")
        source = image.read() if image is not None else (form.get("IMAGE") or "").encode("utf-8")
        try:
            check_name(name)
            priority = _form_priority(form.get("PRIORITY"))
        except StoreError as exc:
            raise wire.ApiError("INVALID_PARAMETERS", str(exc)) from None
        if plugin_type != "lua":
            raise wire.ApiError("INVALID_PARAMETERS", unsupported_type_message(plugin_type))
        if user not in PLUGIN_USERS:
            raise wire.ApiError("INVALID_PARAMETERS", f"USER must be one of {', '.join(PLUGIN_USERS)}")
        if not source:
            raise wire.ApiError("INVALID_PARAMETERS", "IMAGE (the plugin source) is required")
        try:
            release(self._make_plugin(name, source, chunkname=f"@{name}.lua",
                                      on_output=lambda _name, _line: None))
        except PluginError as exc:
            self.log("plugin_rejected", plugin=name, msg=str(exc))
            raise wire.ApiError("INVALID_PARAMETERS", str(exc)) from None
        try:
            record = self.store.create(name, source, type=plugin_type, user=user, priority=priority)
        except StoreError as exc:
            raise wire.ApiError("INVALID_PARAMETERS", str(exc)) from None
        self.log("plugin_stored", plugin=name, version=record.version, via="api")
        self._changed()
        return _envelope(wire.plugin_to_api(record))

    def _api_plugin_delete(self, request, name):
        with _not_found(name):
            self.store.delete(name)
        self.log("plugin_deleted", plugin=name, via="api")
        # Applied before answering: once DELETE returns, none of its answers is served.
        self._generation = self.store.generation()
        self._apply_store()
        self._changed()  # anything else that changed in the store: the background pass
        return _envelope(None)

    def _api_plugin_rollback(self, request, name):
        version = None
        body = request.get_data(as_text=True)
        if body.strip():
            try:
                version = json.loads(body).get("VERSION")
            except (ValueError, AttributeError):
                raise wire.ApiError("INVALID_PARAMETERS",
                                    "the body must be a JSON object like {\"VERSION\": 2}") from None
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise wire.ApiError("INVALID_PARAMETERS", "VERSION must be an integer")
        with _not_found(name):
            record = self.store.rollback(name, version)
        self.log("plugin_rolled_back", plugin=name, version=record.version, via="api")
        self._changed()
        return _envelope(wire.plugin_to_api(record))


@contextmanager
def _not_found(name: str):
    """A missing plugin, answered as DeepFlow's DeletePlugin answers it."""
    try:
        yield
    except PluginNotFound as exc:
        message = (f"plugin (name: {name}) not found" if str(exc).endswith("not found")
                   else str(exc))
        raise wire.ApiError("RESOURCE_NOT_FOUND", message) from None


def _form_priority(text: str | None) -> int | None:
    if text is None or text.strip() == "":
        return None
    try:
        value = int(text.strip())
    except ValueError:
        raise StoreError(f"PRIORITY {text!r} is not an integer") from None
    return check_priority(value)


def _plugin_factory(isolation: str, processes: int | None = None):
    if isolation == "in-process":
        return LuaPlugin
    if isolation == "process":
        from .workers import WorkerPlugin, available
        if not available():
            raise ValueError("--isolation process needs a POSIX system with RLIMIT_AS")
        return functools.partial(WorkerPlugin, processes=processes)
    raise ValueError(f"unknown isolation {isolation!r} (in-process or process)")


def unsupported_type_message(plugin_type: str) -> str:
    return (f"plugin type {plugin_type!r} is not supported: this resolver runs Lua plugins only "
            "(use --type lua; DeepFlow's wasm and so plugins extend its agent)")


def _json(payload, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False) + "\n", status=status, mimetype="application/json")


def _envelope(data) -> Response:
    return _json(wire.envelope(data))


def _api_error(error: wire.ApiError) -> Response:
    return _json(wire.error_envelope(error), error.http_status)


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
          threads: int = 4, log: EventLog | None = None, isolation: str = "in-process",
          allowed_hosts: tuple[str, ...] = (), stale_after: float = DEFAULT_STALE_AFTER,
          max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES, kubernetes: dict | None = None,
          plugin_processes: int | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status."""
    from waitress.server import create_server

    log = log or EventLog()
    host, port = parse_listen(listen)
    if not is_loopback(host) and not token:
        raise ValueError(f"refusing to listen on {host} (beyond loopback) without a token: "
                         "pass --token-file or set RESOLVER_TOKEN")
    WaitressBridge(log).install()
    service = ResolverService(store, pods_path, token, log, isolation=isolation, listen_host=host,
                              allowed_hosts=allowed_hosts, stale_after=stale_after,
                              max_request_bytes=max_request_bytes, resolve_slots=max(1, threads - 2),
                              kubernetes=kubernetes, plugin_processes=plugin_processes)
    server = create_server(service.app, host=host, port=port, threads=threads,
                           ident="resolver", clear_untrusted_proxy_headers=True)
    stopping = threading.Event()

    def shut_down(signum, frame):
        if not stopping.is_set():
            stopping.set()
            log("shutdown", signal=signal.Signals(signum).name)
            # Requests in flight finish first: closing the server closes
            # the trigger their channels wake the loop with, which failed
            # them with an error in the log.
            server.task_dispatcher.shutdown(timeout=SHUTDOWN_WAIT)
            server.close()

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    # The first pass runs in the watcher thread: /healthz answers meanwhile,
    # and /readyz says when it is done.
    service.start_watching()
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
        server.task_dispatcher.shutdown(timeout=SHUTDOWN_WAIT)
        service.close()
        log("stopped")
    return 0
