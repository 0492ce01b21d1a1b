"""The SQLite plugin store: versions, rollback, concurrency, and kills mid-write."""

import hashlib
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from resolver.store import PluginStore, StoreError, default_store_path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def store(tmp_path):
    s = PluginStore(str(tmp_path / "plugins.db"))
    yield s
    s.close()


def test_create_get_list(store):
    record = store.create("hello", b"-- v1", user="agent", priority=5)
    assert (record.name, record.type, record.user, record.priority, record.version) == ("hello", "lua", "agent", 5, 1)
    assert record.sha256 == hashlib.sha256(b"-- v1").hexdigest()
    assert record.created_at == record.updated_at
    assert store.get("hello").source == b"-- v1"
    assert [r.name for r in store.list()] == ["hello"]


def test_creating_an_existing_name_stores_a_new_version(store):
    # DeepFlow's CreatePlugin updates an existing name; nothing is lost here.
    store.create("hello", b"a", priority=7)
    updated = store.create("hello", b"b", replace=False)  # replace is accepted and ignored
    assert (updated.version, updated.source, updated.priority) == (2, b"b", 7)
    assert [v.version for v in store.history("hello")] == [2, 1]
    assert store.rollback("hello").source == b"a"


def test_priority_is_kept_unless_given_and_bounded(store):
    store.create("p", b"1", priority=-5)
    assert store.create("p", b"2").priority == -5
    assert store.create("p", b"3", priority=4).priority == 4
    assert store.create("new", b"x").priority == 0
    for bad in (2**31, -2**31 - 1, 10**20):
        with pytest.raises(StoreError, match=r"priority .* is out of range: it must be between -2147483648 "
                                             r"and 2147483647"):
            store.create("p", b"4", priority=bad)
    assert store.get("p").version == 3


@pytest.mark.parametrize("name", ["", "a b/c", "tab\there", "x" * 254, "ünï", "../up", "a\n"])
def test_invalid_names_are_refused(store, name):
    with pytest.raises(StoreError, match=r"plugin name .* is invalid: use 1-253 characters of letters, digits, "
                                         r"'\.', '_' and '-'"):
        store.create(name, b"")
    assert store.list() == []


def test_valid_names_at_the_edges(store):
    for name in ("a", "x" * 253, "A-b_c.9"):
        assert store.create(name, b"").name == name


def test_history_is_pruned_to_keep_versions(tmp_path):
    store = PluginStore(str(tmp_path / "p.db"), keep_versions=3)
    for i in range(10):
        store.create("p", b"v%d" % i)
    assert [v.version for v in store.history("p")] == [10, 9, 8]
    assert store.get("p").source == b"v9"
    assert store.rollback("p").source == b"v8"
    with pytest.raises(StoreError, match="has no version 2"):
        store.rollback("p", 2)
    assert store.list_wide()[0][1:] == (3, 2)


def test_read_only_open_refuses_a_missing_store(tmp_path):
    path = tmp_path / "typo.db"
    with pytest.raises(StoreError, match=r"typo.db: no plugin store here"):
        PluginStore(str(path), create=False)
    assert not path.exists()
    PluginStore(str(path)).close()
    PluginStore(str(path), create=False).close()


def test_replace_keeps_every_version_and_creation_time(store):
    first = store.create("p", b"one")
    second = store.create("p", b"two", replace=True, priority=3)
    assert second.version == 2 and second.source == b"two" and second.priority == 3
    assert second.created_at == first.created_at and second.updated_at > first.updated_at
    history = store.history("p")
    assert [(v.version, v.note, v.current) for v in history] == [(2, "replaced", True), (1, "created", False)]


def test_rollback_defaults_to_the_previous_version_and_appends(store):
    store.create("p", b"one")
    store.create("p", b"two", replace=True)
    rolled = store.rollback("p")
    assert (rolled.version, rolled.source) == (3, b"one")
    assert store.history("p")[0].note == "rollback to 1"
    assert store.rollback("p", 2).source == b"two"
    with pytest.raises(StoreError, match=r"plugin 'p' has no version 9"):
        store.rollback("p", 9)


def test_rollback_of_a_first_version_is_refused(store):
    store.create("p", b"one")
    with pytest.raises(StoreError, match=r"plugin 'p' has no version before 1"):
        store.rollback("p")


def test_delete_keeps_history_and_rollback_revives(store):
    store.create("p", b"one")
    store.delete("p")
    assert store.list() == []
    with pytest.raises(StoreError, match=r"plugin 'p' not found"):
        store.get("p")
    with pytest.raises(StoreError, match=r"plugin 'p' not found"):
        store.delete("p")
    assert [v.current for v in store.history("p")] == [False]
    assert store.rollback("p").source == b"one"
    assert [r.name for r in store.list()] == ["p"]


def test_list_newest_first_and_chain_order_by_priority_then_creation(store):
    store.create("late-low", b"", priority=-1)
    store.create("b", b"", priority=0)
    store.create("a", b"", priority=0)
    store.create("b", b"x", replace=True)  # updated last; creation time unchanged
    assert [r.name for r in store.list()] == ["b", "a", "late-low"]
    assert [r.name for r in store.chain_order()] == ["late-low", "b", "a"]


def test_generation_counts_every_write(store):
    g0 = store.generation()
    store.create("p", b"1")
    store.create("p", b"2", replace=True)
    store.rollback("p")
    store.delete("p")
    assert store.generation() == g0 + 4
    with pytest.raises(StoreError):
        store.delete("p")
    assert store.generation() == g0 + 4


def test_wal_mode_and_default_location(tmp_path, monkeypatch, store):
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    monkeypatch.setenv("RESOLVER_STORE", str(tmp_path / "x.db"))
    assert default_store_path() == str(tmp_path / "x.db")
    monkeypatch.delenv("RESOLVER_STORE")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_store_path() == str(tmp_path / "state" / "luapy-resolver" / "plugins.db")
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_store_path() == str(tmp_path / "home" / ".local" / "state" / "luapy-resolver" / "plugins.db")


def test_a_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"cannot open the plugin store: file is not a database"):
        PluginStore(str(path))


# -- several processes at once ------------------------------------------------

def _writer(path, worker, rounds):
    store = PluginStore(path, keep_versions=1000)  # count every write: prune nothing
    for i in range(rounds):
        store.create("shared", f"-- worker {worker} round {i}".encode(), replace=True)
        store.create(f"own-{worker}", f"-- {i}".encode(), replace=True)
    store.close()


def test_concurrent_writers_from_several_processes(tmp_path):
    path = str(tmp_path / "plugins.db")
    PluginStore(path).close()
    workers, rounds = 4, 25
    context = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "fork")
    processes = [context.Process(target=_writer, args=(path, w, rounds)) for w in range(workers)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(60)
        assert p.exitcode == 0
    store = PluginStore(path)
    assert store.integrity_check() == "ok"
    # No write was lost: every version of every plugin is there, numbered 1..n.
    assert [v.version for v in store.history("shared")] == list(range(workers * rounds, 0, -1))
    for w in range(workers):
        assert [v.version for v in store.history(f"own-{w}")] == list(range(rounds, 0, -1))
    assert store.generation() == 2 * workers * rounds


# -- a process killed in the middle of a write ----------------------------------

KILL_WRITER = r"""
import sys, os
sys.path.insert(0, {root!r})
from resolver.store import PluginStore
store = PluginStore({path!r})
big = os.urandom(256 * 1024).hex().encode()  # 512 KiB per version
i = 0
while True:
    store.create("victim", b"-- %d\n" % i + big, replace=True)
    i += 1
    if i == 3:
        print("ready", flush=True)
"""


def _check_consistent(path):
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT name, version, source, sha256 FROM versions").fetchall()
    for name, version, source, sha in rows:
        assert hashlib.sha256(source).hexdigest() == sha, (name, version)
    versions = sorted(v for _, v, _, _ in rows)
    # Consecutive, ending at the current one (older ones may have been pruned).
    assert versions == list(range(versions[0], versions[0] + len(versions)))
    (current,) = db.execute("SELECT version FROM plugins WHERE name = 'victim'").fetchone()
    assert current == versions[-1]
    db.close()
    return versions[-1]


def test_kill_during_write_loop_leaves_old_or_new_version(tmp_path):
    path = str(tmp_path / "plugins.db")
    last = 0
    for delay in (0.0, 0.05, 0.13):
        child = subprocess.Popen([sys.executable, "-c", KILL_WRITER.format(root=ROOT, path=path)],
                                 stdout=subprocess.PIPE)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        current = _check_consistent(path)
        assert current >= last + 3
        last = current
        store = PluginStore(path)  # and the store is still writable
        assert store.create("victim", b"-- after kill", replace=True).version == current + 1
        store.close()
        last += 1
