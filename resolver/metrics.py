"""The service's Prometheus metrics, through ``prometheus_client``.

Each service has its own registry: the library's process, platform and GC
collectors; instruments the service updates as things happen (HTTP
requests, passes, pod-source reads); and ``PluginCollector``, which reads
the plugins' counters at scrape time.  Reading them at scrape time is what
makes a deleted plugin's series disappear: it is simply no longer there.
"""

from __future__ import annotations

import time

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, GCCollector,
                               Histogram, PlatformCollector, ProcessCollector, generate_latest)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from .plugins import LATENCY_BUCKETS

HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PASS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class ServiceMetrics:
    """The registry and the instruments the service updates."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, service):
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        registry.register(PluginCollector(service))
        if service.watcher is not None:
            registry.register(WatchCollector(service.watcher))
        self.http_requests = Counter("resolver_http_requests", "HTTP requests, by route and status code.",
                                     ["route", "code"], registry=registry)
        self.http_seconds = Histogram("resolver_http_request_duration_seconds", "HTTP request latency, by route.",
                                      ["route"], buckets=HTTP_BUCKETS, registry=registry)
        self.pass_seconds = Histogram("resolver_pass_duration_seconds", "Duration of a full resolution pass.",
                                      buckets=PASS_BUCKETS, registry=registry)
        self.event_seconds = Histogram("resolver_pod_event_to_answer_seconds",
                                       "From a pod change arriving (watch event, or pod file read) to its "
                                       "answer being served.", buckets=HTTP_BUCKETS, registry=registry)
        self.pod_read_errors = Counter("resolver_pod_source_read_errors",
                                       "Failed reads of the pod source (--pods).", registry=registry)
        self.data_age = Gauge("resolver_pod_data_age_seconds",
                              "Seconds since the pod source was last read, or found unchanged, successfully.",
                              registry=registry)
        self.data_age.set_function(service.pod_data_age)
        self.ready = Gauge("resolver_ready", "1 when /readyz answers 200.", registry=registry)
        self.ready.set_function(lambda: 0.0 if service.not_ready_reason() else 1.0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class PluginCollector:
    """Plugin counters and the last pass's outcome, read at scrape time."""

    def __init__(self, service):
        self.service = service

    def describe(self):
        return []  # collected fresh at every scrape; nothing to check up front

    def collect(self):
        service = self.service
        plugin_set = service.plugin_set
        # The watcher changes these dicts while we read: copy each at once.
        stats = sorted(dict(plugin_set.stats).items())
        calls = CounterMetricFamily("resolver_plugin_calls", "Calls of GetWorkloadTypeAndName.", labels=["plugin"])
        claims = CounterMetricFamily("resolver_plugin_claims", "Calls that claimed the pod.", labels=["plugin"])
        unsupported = CounterMetricFamily("resolver_plugin_unsupported", "Calls that returned an unsupported type.",
                                          labels=["plugin"])
        errors = CounterMetricFamily("resolver_plugin_errors", "Failed calls, by kind of failure.",
                                     labels=["plugin", "kind"])
        latency = HistogramMetricFamily("resolver_plugin_call_seconds", "Latency of one plugin call.",
                                        labels=["plugin"])
        for name, s in stats:
            calls.add_metric([name], s.calls)
            claims.add_metric([name], s.claims)
            unsupported.add_metric([name], s.unsupported)
            for kind, count in sorted(s.errors.items()):
                errors.add_metric([name, kind], count)
            cumulative, buckets = 0, []
            for bound, count in zip([str(b) for b in LATENCY_BUCKETS] + ["+Inf"], s.latency_counts):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric([name], buckets, s.latency_sum)
        yield from (calls, claims, unsupported, errors, latency)

        failures = CounterMetricFamily("resolver_plugin_load_failures", "Plugin versions that failed to load.",
                                       labels=["plugin"])
        for name, count in sorted(dict(plugin_set.load_failures).items()):
            failures.add_metric([name], count)
        disabled = CounterMetricFamily("resolver_plugin_disabled",
                                       "Plugin versions taken out of service for running out of budget too often.",
                                       labels=["plugin"])
        for name, count in sorted(dict(plugin_set.disabled).items()):
            disabled.add_metric([name], count)
        versions = service.loaded_versions
        loaded = GaugeMetricFamily("resolver_plugins_loaded", "Plugins loaded and in the chain.",
                                   value=len(versions))
        version = GaugeMetricFamily("resolver_plugin_loaded_version", "The store version of each loaded plugin.",
                                    labels=["plugin"])
        for name, number in sorted(versions.items()):
            version.add_metric([name], number)
        yield from (failures, disabled, loaded, version)

        summary, resolutions, seconds = service.pass_snapshot()
        by_status = GaugeMetricFamily("resolver_pods_by_status", "Pods after the last pass, resolved or not.",
                                      labels=["status"])
        by_status.add_metric(["resolved"], sum(summary.by_source.values()))
        by_status.add_metric(["unresolved"], sum(summary.by_reason.values()))
        by_source = GaugeMetricFamily("resolver_pods", "Resolved pods, by source.", labels=["source"])
        for source, count in sorted(summary.by_source.items()):
            by_source.add_metric([source], count)
        by_reason = GaugeMetricFamily("resolver_unresolved_pods", "Unresolved pods, by reason.", labels=["reason"])
        for reason, count in sorted(summary.by_reason.items()):
            by_reason.add_metric([reason], count)
        passes = CounterMetricFamily("resolver_resolutions", "Full resolution passes.", value=resolutions)
        last = GaugeMetricFamily("resolver_last_resolution_seconds", "Duration of the last full pass.", value=seconds)
        yield from (by_status, by_source, by_reason, passes, last)


class WatchCollector:
    """The Kubernetes watcher's counters (``serve --kubernetes``), per resource, read at scrape time."""

    #: (metric name, help, WatchStats field) for the counters.
    COUNTERS = (
        ("resolver_kube_lists", "Complete lists of a resource.", "lists"),
        ("resolver_kube_relists", "Lists forced by 410 Gone (the watch's history was compacted).", "relists"),
        ("resolver_kube_watch_restarts", "Watches resumed after a stream ended or failed.", "watch_restarts"),
        ("resolver_kube_watch_errors", "Failed list or watch requests (each retried after a backoff).",
         "errors"),
        ("resolver_kube_watch_events", "ADDED, MODIFIED and DELETED events received.", "events"),
        ("resolver_kube_watch_bookmarks", "BOOKMARK events received.", "bookmarks"),
    )

    def __init__(self, watcher):
        self.watcher = watcher

    def describe(self):
        return []

    def collect(self):
        stats = sorted(self.watcher.stats.items())
        for name, text, attribute in self.COUNTERS:
            family = CounterMetricFamily(name, text, labels=["resource"])
            for kind, each in stats:
                family.add_metric([kind], getattr(each, attribute))
            yield family
        lag = GaugeMetricFamily("resolver_kube_event_lag_seconds",
                                "Seconds the service took to take in the last event (how far behind the "
                                "stream it runs).", labels=["resource"])
        worst = GaugeMetricFamily("resolver_kube_event_lag_max_seconds", "The most such lag seen.",
                                  labels=["resource"])
        synced = GaugeMetricFamily("resolver_kube_synced", "1 once the resource has been listed.",
                                   labels=["resource"])
        for kind, each in stats:
            lag.add_metric([kind], each.last_event_lag)
            worst.add_metric([kind], each.max_event_lag)
            synced.add_metric([kind], 1.0 if each.synced.is_set() else 0.0)
        yield from (lag, worst, synced)


def monotonic_age(since: float | None) -> float:
    """Seconds since a ``time.monotonic()`` stamp (0 when there is none yet)."""
    return 0.0 if since is None else time.monotonic() - since
