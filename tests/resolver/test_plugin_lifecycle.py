"""Replacing, deleting or dropping a plugin frees its runtime and its
suspended coroutines (which hold no thread)."""

import gc
import threading
import time
import weakref

import pytest

from luapy import LuaRuntime

from resolver.loader import PluginSet
from resolver.plugins import LuaPlugin, PluginError
from resolver.store import PluginStore

#: A plugin that leaves coroutines suspended at load and on every call, in
#: a global, a global table and a local its entry point closes over.
HOARDER = """
local kept = {}
local function park()
  local co = coroutine.wrap(function() coroutine.yield() end)
  co()
  return co
end
for i = 1, %(n)d do kept[i] = park() end
hoard = {park(), park()}
function GetWorkloadTypeAndName(m)
  for i = 1, 20 do kept[#kept + 1] = park() end
  hoard[#hoard + 1] = park()
  print(("x"):rep(100))
  return "Deployment", "v%(version)d"
end
"""


def hoarder(version: int, n: int = 200) -> bytes:
    return (HOARDER % {"n": n, "version": version}).encode()


def settle(baseline: int, timeout: float = 10.0) -> int:
    """The thread count once it is back to ``baseline`` (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        count = threading.active_count()
        if count <= baseline or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


@pytest.fixture
def baseline():
    # The budget watchdog is one thread per process, started by the first
    # call with a time budget: start it before counting.
    LuaRuntime().eval("1")
    gc.collect()
    return threading.active_count()


def test_replacing_a_plugin_three_times_frees_every_runtime_and_thread(tmp_path, baseline):
    store = PluginStore(str(tmp_path / "s.db"))
    plugin_set = PluginSet(on_output=lambda name, line: None)
    runtimes = []
    for version in range(1, 5):
        store.create("hoard", hoarder(version), replace=version > 1)
        plugin_set.sync(store.chain_order())
        (current,) = plugin_set.plugins
        for _ in range(3):
            result = current.call("{}")
            assert (result.status, result.name) == ("claim", f"v{version}")
        runtimes.append(weakref.ref(current.runtime))
        # The hoard is real, and costs no thread.
        assert current.runtime.eval("#hoard") >= 2
        assert threading.active_count() <= baseline
        del current
    store.delete("hoard")
    plugin_set.sync(store.chain_order())
    assert settle(baseline) <= baseline
    assert [ref() for ref in runtimes] == [None] * 4


def test_a_plugin_dropped_without_close_is_still_freed(baseline):
    # The service's upload check builds a plugin and just drops it.
    p = LuaPlugin("hoard", hoarder(1), on_output=lambda name, line: None)
    p.call("{}")
    runtime = weakref.ref(p.runtime)
    del p
    assert settle(baseline) <= baseline
    assert runtime() is None


def test_a_plugin_that_fails_to_load_leaves_no_thread_behind(baseline):
    source = hoarder(1) + b"error('top level gives up')\n"
    with pytest.raises(PluginError) as info:
        LuaPlugin("hoard", source, on_output=lambda name, line: None)
    assert info.value.kind == "load"
    del info
    assert settle(baseline) <= baseline


def test_a_closed_plugin_answers_with_an_error_not_a_crash(baseline):
    p = LuaPlugin("hoard", hoarder(1, n=5), on_output=lambda name, line: None)
    p.close()
    p.close()  # idempotent
    result = p.call("{}")
    assert result.status == "error" and result.error.kind == "internal"
    assert "closed" in str(result.error)
    assert settle(baseline) <= baseline
