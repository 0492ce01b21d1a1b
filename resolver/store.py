"""The plugin store: SQLite, with every version of every plugin kept.

* ``plugins`` holds one row per live plugin name, pointing at its current
  version; ``versions`` holds every source ever stored (history, rollback).
  Deleting a plugin removes its live row but keeps its history, so a
  deleted plugin can be rolled back to life.
* Every write is one ``BEGIN IMMEDIATE`` transaction, so concurrent writers
  from several processes serialise on SQLite's lock (WAL mode, with a busy
  timeout) and a process killed mid-write leaves either the old or the new
  state: SQLite's journal guarantees it.
* Each write also bumps a ``generation`` counter, which a running service
  polls to notice changes made by any process.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    name       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    user       TEXT    NOT NULL,
    priority   INTEGER NOT NULL,
    source     BLOB    NOT NULL,
    sha256     TEXT    NOT NULL,
    stored_at  TEXT    NOT NULL,
    note       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS plugins (
    name        TEXT    PRIMARY KEY,
    version     INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    FOREIGN KEY (name, version) REFERENCES versions (name, version)
);
CREATE TABLE IF NOT EXISTS meta (
    key    TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', 0);
"""

#: How long a writer waits for another process's transaction, in ms.
BUSY_TIMEOUT_MS = 15_000

PLUGIN_TYPES = ("lua",)
PLUGIN_USERS = ("server", "agent")

#: Versions kept per plugin unless told otherwise; older ones are pruned
#: when a new one is stored (the current version is always kept).
DEFAULT_KEEP_VERSIONS = 20

#: Priorities are 32-bit signed integers, as DeepFlow's int columns are.
PRIORITY_MIN, PRIORITY_MAX = -2**31, 2**31 - 1

#: A plugin name: what a Kubernetes object name may hold, minus nothing a
#: URL path, a table column or a shell would mangle.
_NAME = re.compile(r"[A-Za-z0-9._-]{1,253}")


class StoreError(Exception):
    """A store operation was refused (missing name, bad name, missing store...)."""


class PluginNotFound(StoreError):
    """The name is not a live plugin (or has no history)."""


def check_name(name: str) -> str:
    """``name`` if it is a valid plugin name, else ``StoreError`` saying why."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = repr(name) if isinstance(name, str) and len(name) <= 80 else "given"
        raise StoreError(f"plugin name {shown} is invalid: use 1-253 characters "
                         "of letters, digits, '.', '_' and '-'")
    return name


def check_priority(priority: int) -> int:
    if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise StoreError(f"priority {priority} is out of range: it must be between "
                         f"{PRIORITY_MIN} and {PRIORITY_MAX}")
    return priority


@dataclass(frozen=True)
class PluginRecord:
    name: str
    type: str
    user: str
    priority: int
    version: int
    source: bytes
    sha256: str
    created_at: str
    updated_at: str

    def as_dict(self, with_source: bool = False) -> dict:
        data = {
            "name": self.name, "type": self.type, "user": self.user,
            "priority": self.priority, "version": self.version, "sha256": self.sha256,
            "created_at": self.created_at, "updated_at": self.updated_at,
        }
        if with_source:
            data["source"] = self.source.decode("utf-8", "replace")
        return data


@dataclass(frozen=True)
class VersionRecord:
    name: str
    version: int
    type: str
    user: str
    priority: int
    sha256: str
    stored_at: str
    note: str
    current: bool

    def as_dict(self) -> dict:
        return {
            "name": self.name, "version": self.version, "type": self.type, "user": self.user,
            "priority": self.priority, "sha256": self.sha256, "stored_at": self.stored_at,
            "note": self.note, "current": self.current,
        }


def default_store_path() -> str:
    """``$RESOLVER_STORE``, else the per-user state directory."""
    explicit = os.environ.get("RESOLVER_STORE")
    if explicit:
        return explicit
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state_home, "luapy-resolver", "plugins.db")


def _now() -> str:
    # Microseconds keep creation order exact for plugins created in one second.
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256_of(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()


def _locked(method):
    """Serialise a method on the store's lock (one connection, many threads)."""
    def run(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    run.__name__ = method.__name__
    run.__doc__ = method.__doc__
    return run


class PluginStore:
    """One connection to the store; safe to share between threads."""

    def __init__(self, path: str | None = None, *, create: bool = True,
                 keep_versions: int = DEFAULT_KEEP_VERSIONS):
        """Open the store at ``path``; ``create=False`` refuses to make a new one
        (commands that only read must not turn a typo into an empty store)."""
        if keep_versions < 1:
            raise StoreError(f"keep_versions must be at least 1 (got {keep_versions})")
        self._lock = threading.RLock()
        self.keep_versions = keep_versions
        self.path = path or default_store_path()
        if not create and not os.path.exists(self.path):
            raise StoreError(f"{self.path}: no plugin store here (create one with 'resolver plugin create', "
                             "or pass --store)")
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                       isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript("BEGIN IMMEDIATE;" + SCHEMA + "COMMIT;")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the plugin store: {exc}") from None

    # -- transactions -------------------------------------------------------

    class _Transaction:
        def __init__(self, db):
            self.db = db

        def __enter__(self):
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type, exc, tb):
            if exc_type is None:
                self.db.execute("COMMIT")
            else:
                self.db.execute("ROLLBACK")
            return False

    def _write(self):
        return self._Transaction(self._db)

    @_locked
    def close(self) -> None:
        self._db.close()

    # -- reading ------------------------------------------------------------

    _SELECT = """
        SELECT p.name, v.type, v.user, v.priority, p.version, v.source, v.sha256,
               p.created_at, p.updated_at
        FROM plugins p JOIN versions v ON v.name = p.name AND v.version = p.version
    """

    @_locked
    def generation(self) -> int:
        """A counter every write bumps: cheap change detection for pollers."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return row[0] if row else 0

    @_locked
    def list(self) -> list[PluginRecord]:
        """Live plugins, newest update first."""
        rows = self._db.execute(self._SELECT + " ORDER BY p.updated_at DESC, p.name").fetchall()
        return [PluginRecord(*row) for row in rows]

    @_locked
    def chain_order(self) -> list[PluginRecord]:
        """Live plugins in the order the chain runs them."""
        rows = self._db.execute(
            self._SELECT + " ORDER BY v.priority ASC, p.created_at ASC, p.name ASC").fetchall()
        return [PluginRecord(*row) for row in rows]

    @_locked
    def get(self, name: str) -> PluginRecord:
        row = self._db.execute(self._SELECT + " WHERE p.name = ?", (name,)).fetchone()
        if row is None:
            raise PluginNotFound(f"plugin {name!r} not found")
        return PluginRecord(*row)

    @_locked
    def version_counts(self) -> dict[str, int]:
        """Stored versions per name."""
        return dict(self._db.execute("SELECT name, COUNT(*) FROM versions GROUP BY name"))

    def list_wide(self) -> list[tuple[PluginRecord, int, int]]:
        """(record, stored versions, source size) per live plugin, newest first."""
        counts = self.version_counts()
        return [(record, counts.get(record.name, 1), len(record.source)) for record in self.list()]

    @_locked
    def history(self, name: str) -> list[VersionRecord]:
        current = self._db.execute("SELECT version FROM plugins WHERE name = ?", (name,)).fetchone()
        rows = self._db.execute(
            "SELECT name, version, type, user, priority, sha256, stored_at, note FROM versions "
            "WHERE name = ? ORDER BY version DESC", (name,)).fetchall()
        if not rows:
            raise PluginNotFound(f"plugin {name!r} has no history")
        current_version = current[0] if current else None
        return [VersionRecord(*row, current=row[1] == current_version) for row in rows]

    # -- writing ------------------------------------------------------------

    @_locked
    def create(self, name: str, source: bytes, *, type: str = "lua", user: str = "server",
               priority: int | None = None, replace: bool = True) -> PluginRecord:
        """Store a plugin; if the name exists, store a new version of it.

        That is DeepFlow's ``CreatePlugin`` (creating an existing name
        updates it); every version is kept for ``history`` and ``rollback``,
        up to ``keep_versions``.  ``priority=None`` keeps the current
        priority (0 for a new plugin).  ``replace`` is accepted and ignored.
        """
        check_name(name)
        if priority is not None:
            check_priority(priority)
        with self._write() as db:
            existing = db.execute(
                "SELECT v.priority FROM plugins p JOIN versions v ON v.name = p.name AND v.version = p.version "
                "WHERE p.name = ?", (name,)).fetchone()
            if priority is None:
                priority = existing[0] if existing is not None else 0
            version = self._add_version(db, name, type, user, priority, source,
                                        "replaced" if existing else "created")
            self._make_current(db, name, version, exists=existing is not None)
        return self.get(name)

    @_locked
    def delete(self, name: str) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM plugins WHERE name = ?", (name,)).rowcount == 0:
                raise PluginNotFound(f"plugin {name!r} not found")
            self._bump(db)

    @_locked
    def rollback(self, name: str, version: int | None = None) -> PluginRecord:
        """Make an earlier version current again, as a new version.

        Without ``version``: the version before the current one (for a
        deleted plugin, its last version).  History only ever grows.
        """
        with self._write() as db:
            current = db.execute("SELECT version FROM plugins WHERE name = ?", (name,)).fetchone()
            versions = [row[0] for row in db.execute(
                "SELECT version FROM versions WHERE name = ? ORDER BY version", (name,))]
            if not versions:
                raise PluginNotFound(f"plugin {name!r} has no history")
            if version is None:
                if current is None:
                    version = versions[-1]
                else:
                    earlier = [v for v in versions if v < current[0]]
                    if not earlier:
                        raise StoreError(f"plugin {name!r} has no version before {current[0]}")
                    version = earlier[-1]
            row = db.execute("SELECT type, user, priority, source FROM versions WHERE name = ? AND version = ?",
                             (name, version)).fetchone()
            if row is None:
                raise PluginNotFound(f"plugin {name!r} has no version {version}")
            new_version = self._add_version(db, name, *row, note=f"rollback to {version}")
            self._make_current(db, name, new_version, exists=current is not None)
        return self.get(name)

    def _make_current(self, db, name: str, version: int, exists: bool) -> None:
        """Point ``name`` at ``version`` (adding the plugin row if needed)."""
        now = _now()
        if exists:
            db.execute("UPDATE plugins SET version = ?, updated_at = ? WHERE name = ?",
                       (version, now, name))
        else:
            db.execute("INSERT INTO plugins (name, version, created_at, updated_at) VALUES (?, ?, ?, ?)",
                       (name, version, now, now))
        self._bump(db)

    def _add_version(self, db, name, type, user, priority, source, note) -> int:
        (last,) = db.execute("SELECT COALESCE(MAX(version), 0) FROM versions WHERE name = ?", (name,)).fetchone()
        version = last + 1
        db.execute("INSERT INTO versions (name, version, type, user, priority, source, sha256, stored_at, note) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (name, version, type, user, int(priority), bytes(source), sha256_of(bytes(source)), _now(), note))
        # The new version is the newest, and the current one: pruning the
        # oldest beyond keep_versions never removes what is in service.
        db.execute("DELETE FROM versions WHERE name = ? AND version <= ?", (name, version - self.keep_versions))
        return version

    @staticmethod
    def _bump(db) -> None:
        db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")

    @_locked
    def integrity_check(self) -> str:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]
