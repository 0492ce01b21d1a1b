"""Keeping a set of loaded plugins in step with the store.

``PluginSet.sync`` takes the store's records in chain order and loads what
changed.  A record whose source fails to load is reported and, if an
earlier version of that plugin is loaded, that earlier version stays in
service: an invalid plugin never displaces a working one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from .plugins import LuaPlugin, PluginError, PluginStats
from .store import PluginRecord


@dataclass
class _Loaded:
    plugin: LuaPlugin
    sha256: str
    version: int


#: Reports (event, plugin name, message) for loads, failures and removals.
LoadEventSink = Callable[[str, str, str], None]


class PluginSet:
    def __init__(self, on_event: LoadEventSink | None = None, on_output=None, factory=None):
        self.on_event = on_event or (lambda event, name, message: None)
        #: Builds a plugin: ``factory(name, source, stats=..., on_output=...)``;
        #: ``LuaPlugin`` (in-process) or ``workers.WorkerPlugin``.
        self.factory = factory or LuaPlugin
        #: Where plugins' ``print`` lines go (see ``LuaPlugin``).
        self.on_output = on_output
        self._loaded: dict[str, _Loaded] = {}
        self._order: list[str] = []
        #: Counters per plugin name, kept across reloads (for /metrics).
        self.stats: dict[str, PluginStats] = {}
        #: Failed loads per plugin name.
        self.load_failures: dict[str, int] = {}
        #: Times each plugin was disabled for running out of budget too often.
        self.disabled: dict[str, int] = {}
        #: (name, sha256) of the last failed source per plugin, so a broken
        #: version is reported once rather than on every sync.
        self._failed: dict[str, str] = {}

    def disable(self, name: str, reason: str) -> None:
        """Take a loaded plugin out of service until a new version is stored."""
        entry = self._loaded.pop(name, None)
        if entry is None:
            return
        _close(entry.plugin)
        self._failed[name] = entry.sha256
        self.disabled[name] = self.disabled.get(name, 0) + 1
        self.on_event("plugin_disabled", name, f"version {entry.version}: {reason}")

    @property
    def plugins(self) -> list[LuaPlugin]:
        """Loaded plugins in chain order."""
        return [self._loaded[name].plugin for name in self._order if name in self._loaded]

    def versions(self) -> dict[str, int]:
        return {name: entry.version for name, entry in self._loaded.items()}

    def sync(self, records: Sequence[PluginRecord]) -> bool:
        """Load what changed; returns whether the loaded set changed."""
        changed = False
        wanted = {record.name for record in records}
        for name in [n for n in self._loaded if n not in wanted]:
            _close(self._loaded.pop(name).plugin)
            self._failed.pop(name, None)
            self.on_event("plugin_unloaded", name, "deleted from the store")
            changed = True
        for record in records:
            entry = self._loaded.get(record.name)
            if entry is not None and entry.sha256 == record.sha256:
                entry.version = record.version
                continue
            if self._failed.get(record.name) == record.sha256:
                continue
            stats = self.stats.setdefault(record.name, PluginStats())
            try:
                plugin = self.factory(record.name, record.source, stats=stats, on_output=self.on_output)
            except PluginError as exc:
                self._failed[record.name] = record.sha256
                self.load_failures[record.name] = self.load_failures.get(record.name, 0) + 1
                kept = f"; keeping version {entry.version}" if entry is not None else ""
                self.on_event("plugin_load_failed", record.name, f"version {record.version}: {exc}{kept}")
                continue
            self._failed.pop(record.name, None)
            if entry is not None:
                _close(entry.plugin)
            self._loaded[record.name] = _Loaded(plugin, record.sha256, record.version)
            self.on_event("plugin_loaded", record.name, f"version {record.version} sha256 {record.sha256[:12]}")
            changed = True
        order = [record.name for record in records]
        if order != self._order:
            self._order = order
            changed = True
        return changed


def _close(plugin) -> None:
    """Release what a plugin holds (a worker process, for ``WorkerPlugin``)."""
    close = getattr(plugin, "close", None)
    if close is not None:
        close()
