"""Worker-process isolation: same answers, OS limits applied, crashes contained."""

import os
import signal
import time

import pytest

from resolver.pods import load_pods
from resolver.plugins import LuaPlugin, PluginError, to_lua_string
from resolver.workers import WorkerPlugin, available

pytestmark = pytest.mark.skipif(not available(), reason="needs POSIX resource limits")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLE = os.path.join(HERE, "..", "data", "pods-sample.json")
SEED = os.path.join(ROOT, "examples", "plugins", "opengauss.lua")


@pytest.fixture
def seed_worker():
    with open(SEED, "rb") as handle:
        worker = WorkerPlugin("opengauss", handle.read(), address_space=2 * 1024 ** 3, cpu_seconds=3)
    yield worker
    worker.close()


def test_same_answers_as_in_process(seed_worker):
    with open(SEED, "rb") as handle:
        local = LuaPlugin("opengauss", handle.read())
    for pod in load_pods(SAMPLE).pods:
        meta = to_lua_string(pod.meta_json)
        assert seed_worker.call(meta)[:3] == local.call(meta)[:3]
    assert seed_worker.stats.calls == 60 and seed_worker.stats.claims == 2


@pytest.mark.skipif(not os.path.exists("/proc/self/limits"), reason="reads /proc/PID/limits (Linux)")
def test_os_limits_are_applied_to_the_worker(seed_worker):
    seed_worker.call("{}")  # the CPU limit is armed before each call
    with open(f"/proc/{seed_worker.pid}/limits") as handle:
        limits = {line[:26].strip(): line[26:].split() for line in handle if line.startswith("Max")}
    assert limits["Max address space"][:2] == [str(2 * 1024 ** 3)] * 2
    soft_cpu = int(limits["Max cpu time"][0])
    assert 4 <= soft_cpu <= 10  # CPU used so far (< a few s) + 1 + 3


def test_a_killed_worker_fails_only_the_call_in_flight(seed_worker):
    old_pid = seed_worker.pid
    os.kill(old_pid, signal.SIGKILL)
    time.sleep(0.05)
    result = seed_worker.call("{}")
    assert result.status == "error" and result.error.kind == "crash"
    assert str(result.error) == "opengauss: worker process died during the call (killed by signal 9); replacing it"
    assert seed_worker.restarts == 1 and seed_worker.pid != old_pid
    ok = seed_worker.call(to_lua_string('{"ownerReferences":[{"kind":"OpenGaussCluster","name":"og"}]}'))
    assert (ok.status, ok.type, ok.name) == ("claim", "StatefulSet", "og")
    assert seed_worker.stats.errors == {"crash": 1}


def test_load_errors_and_lua_errors_cross_the_process_boundary():
    with pytest.raises(PluginError) as info:
        WorkerPlugin("broken", b"function GetWorkloadTypeAndName(\n")
    assert info.value.kind == "syntax" and str(info.value).startswith("broken.lua:2:")
    lines = []
    worker = WorkerPlugin("bad", b'print("hi")\nfunction GetWorkloadTypeAndName(m) error("boom") end\n',
                          on_output=lambda name, line: lines.append((name, line)))
    try:
        result = worker.call("{}")
        assert (result.error.kind, str(result.error)) == ("runtime", "bad.lua:2: boom")
        assert lines == [("bad", "hi")]
    finally:
        worker.close()
