"""Worker-process isolation: same answers, OS limits applied, crashes contained."""

import os
from contextlib import closing
import signal
import time

import pytest

from luapy import Limits
from resolver import workers
from resolver.chain import resolve_podset
from resolver.plugins import MAX_OUTPUT_PER_CALL, LuaPlugin, PluginError, to_lua_string
from resolver.pods import PodSet, load_pods, make_pod
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


# -- the watchdog: a call past its deadline is killed with its worker ----------------

IDLE = b"function GetWorkloadTypeAndName(m) return '', '' end"
#: No budget of luapy's stops this plugin: only the watchdog can.
UNBUDGETED = Limits(steps=None, time=None)
SPIN_ON_ODD = (b'function GetWorkloadTypeAndName(m)\n'
               b'  if tonumber(m) % 2 == 1 then while true do end end\n'
               b'  return "Deployment", "pod" .. m\nend\n')


def test_a_call_past_its_deadline_is_a_time_limit_error_and_the_next_pods_go_on():
    with closing(WorkerPlugin("spin", SPIN_ON_ODD, limits=UNBUDGETED, deadline=0.5)) as worker:
        started = time.monotonic()
        results = list(worker.call_many([str(n) for n in (2, 4, 5, 6, 8)]))
        elapsed = time.monotonic() - started
        assert [r.name for r in results] == ["pod2", "pod4", "", "pod6", "pod8"]
        error = results[2].error
        assert (error.kind, error.limit, error.metric_kind) == ("limit", "time", "limit_time")
        assert str(error) == "spin: the call was still running after 0.5 s; worker killed and replaced"
        assert results[2].seconds >= 0.5
        assert worker.restarts == 1
        assert worker.stats.errors == {"limit_time": 1} and worker.stats.claims == 4
        assert elapsed < 15  # the deadline, a restart and a re-run of two pods


def test_the_default_deadline_is_the_time_budget_plus_half_a_second():
    with closing(WorkerPlugin("idle", IDLE, limits=Limits(time=0.25))) as worker:
        assert worker.deadline == 0.75
        os.kill(worker.pid, signal.SIGSTOP)  # stands for one endless call into C
        result = worker.call("{}")
        assert result.error.metric_kind == "limit_time" and 0.75 <= result.seconds < 10
        assert worker.call("{}").status == "pass"


def test_overruns_count_towards_disabling_the_plugin():
    pods = [make_pod({"name": str(n), "namespace": "ns", "uid": str(n)}) for n in range(12)]
    spin_on_odd_name = SPIN_ON_ODD.replace(b"tonumber(m)", b'tonumber(m:match(\'"name":"(%d+)"\'))')
    with closing(WorkerPlugin("spin", spin_on_odd_name, limits=UNBUDGETED, deadline=0.3)) as worker:
        started = time.monotonic()
        disabled = []
        results, summary = resolve_podset(PodSet(pods, {}, {}), [worker], on_disabled=disabled.append)
        assert summary.disabled == ["spin"] and [d.plugin for d in disabled] == ["spin"]
        assert not any(r.resolved for r in results)  # no plugin left, no owners
        assert worker.stats.errors == {"limit_time": 4}  # the fourth is one too many
        assert time.monotonic() - started < 30


# -- batches ---------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_batched_calls_answer_as_single_calls_do(batch_size):
    with open(SEED, "rb") as handle:
        source = handle.read()
    local = LuaPlugin("opengauss", source)
    metas = [to_lua_string(pod.meta_json) for pod in load_pods(SAMPLE).pods]
    with closing(WorkerPlugin("opengauss", source, batch_size=batch_size)) as worker:
        assert [r[:3] for r in worker.call_many(metas)] == [local.call(m)[:3] for m in metas]
        assert worker.stats.calls == 60 and worker.stats.claims == 2


def test_a_batch_stops_at_a_budget_error_so_the_caller_can_stop_the_plugin():
    lines = []
    slow = (b'function GetWorkloadTypeAndName(m)\n  print(m)\n'
            b'  if m == "3" then while true do end end\n  return "", ""\nend\n')
    with closing(WorkerPlugin("slow", slow, limits=Limits(steps=100_000, time=1.0),
                              on_output=lambda name, line: lines.append(line))) as worker:
        for result in worker.call_many([str(n) for n in range(10)]):
            if result.status == "error":
                break
        assert result.error.metric_kind == "limit_steps"
        assert lines == ["0", "1", "2", "3"]  # pods 4..9 never ran


# -- a hostile plugin ------------------------------------------------------------------

def test_printing_megabytes_crosses_the_pipe_truncated():
    lines = []
    loud = (b'function GetWorkloadTypeAndName(m)\n'
            b'  for i = 1, 64 do print(("x"):rep(65536)) end\n  return "", ""\nend\n')
    with closing(WorkerPlugin("loud", loud, on_output=lambda name, line: lines.append(line))) as worker:
        assert [r.status for r in worker.call_many(["{}"] * 3)] == ["pass"] * 3
        assert sum(map(len, lines)) < 3 * (MAX_OUTPUT_PER_CALL + 200)
        assert lines[-1] == f"[{64 * 65537 - MAX_OUTPUT_PER_CALL} more characters of output dropped: " \
                            f"a call may print {MAX_OUTPUT_PER_CALL}]"


def test_a_plugin_hoarding_coroutines_cannot_take_its_worker_down():
    # A worker's address space is capped, and each coroutine thread takes a
    # stack of it: the plugin gets a Lua error, the worker lives on.
    hoard = (b'hoard = {}\nfunction GetWorkloadTypeAndName(m)\n  for i = 1, 5000 do\n'
             b'    local co = coroutine.wrap(function() coroutine.yield() end)\n'
             b'    co(); hoard[#hoard + 1] = co\n  end\n  return "Deployment", "x"\nend\n')
    with closing(WorkerPlugin("hoard", hoard)) as worker:
        for result in [*worker.call_many(["{}"] * 3), worker.call("{}")]:
            assert result.status == "claim" or result.error.kind == "runtime", result
        assert worker.restarts == 0


def test_a_top_level_that_never_ends_is_killed(monkeypatch):
    monkeypatch.setattr(workers, "LOAD_GRACE", 1.0)
    started = time.monotonic()
    with pytest.raises(PluginError) as info:
        WorkerPlugin("stuck", b"while true do end", limits=UNBUDGETED)
    assert (info.value.kind, info.value.limit) == ("limit", "time")
    assert str(info.value) == "stuck: loading took more than 1 s; worker killed"
    assert time.monotonic() - started < 15


# -- several workers per plugin -----------------------------------------------------

def _wait_for_helpers(worker, count, timeout=30.0):
    deadline = time.monotonic() + timeout
    while len(worker._ready_workers()) < count:
        assert time.monotonic() < deadline, "the helper workers did not load"
        time.sleep(0.01)


def test_a_big_call_is_shared_among_the_workers_with_the_answers_in_order():
    echo = b'function GetWorkloadTypeAndName(m)\n  print(m)\n  return "Deployment", "w" .. m\nend\n'
    lines = []
    with closing(WorkerPlugin("echo", echo, processes=3, batch_size=8,
                              on_output=lambda name, line: lines.append(line))) as worker:
        assert len(worker._ready_workers()) == 1  # helpers start with the first big call
        first = list(worker.call_many([str(n) for n in range(20)]))
        assert [r.name for r in first] == [f"w{n}" for n in range(20)]
        _wait_for_helpers(worker, 3)
        pids = {w.pid for w in worker._ready_workers()}
        assert len(pids) == 3 and worker.pid in pids
        results = list(worker.call_many([str(n) for n in range(100)]))
        assert [r.name for r in results] == [f"w{n}" for n in range(100)]
        assert lines == [str(n) for n in range(20)] + [str(n) for n in range(100)]  # in pod order
        assert worker.stats.calls == 120 and worker.restarts == 0


def test_a_batch_cut_short_is_finished_before_the_answers_after_it():
    # Pod "0" runs out of steps: its worker stops that batch there, and
    # pod "1" goes again after the other batches, whose answers wait.
    spin_on_0 = (b'function GetWorkloadTypeAndName(m)\n'
                 b'  if m == "0" then while true do end end\n  return "Deployment", "w" .. m\nend\n')
    with closing(WorkerPlugin("spin", spin_on_0, processes=2, batch_size=4,
                              limits=Limits(steps=100_000, time=5.0))) as worker:
        list(worker.call_many([str(n) for n in range(9)]))
        _wait_for_helpers(worker, 2)
        results = list(worker.call_many([str(n) for n in range(8)]))
        assert [r.name for r in results] == ["", "w1", "w2", "w3", "w4", "w5", "w6", "w7"]
        assert results[0].error.metric_kind == "limit_steps"
        assert worker.stats.errors == {"limit_steps": 2} and worker.stats.calls == 17


def test_a_caller_that_stops_early_leaves_nothing_in_flight():
    echo = b'function GetWorkloadTypeAndName(m) return "Deployment", "w" .. m end\n'
    with closing(WorkerPlugin("echo", echo, processes=2, batch_size=4)) as worker:
        list(worker.call_many([str(n) for n in range(9)]))
        _wait_for_helpers(worker, 2)
        results = worker.call_many([str(n) for n in range(40)])
        assert next(results).name == "w0"
        del results  # dropped with batches still in flight
        assert [r.name for r in worker.call_many(["a", "b", "c"])] == ["wa", "wb", "wc"]
        assert worker.stats.calls == 9 + 1 + 3


def test_a_killed_helper_fails_only_its_call_in_flight():
    with closing(WorkerPlugin("spin", SPIN_ON_ODD, limits=UNBUDGETED, deadline=0.5,
                              processes=2, batch_size=4)) as worker:
        list(worker.call_many(["2"] * 9))
        _wait_for_helpers(worker, 2)
        results = list(worker.call_many([str(n) for n in (2, 4, 6, 8, 10, 13, 12, 14)]))
        assert [r.name for r in results] == ["pod2", "pod4", "pod6", "pod8", "pod10", "", "pod12", "pod14"]
        assert results[5].error.metric_kind == "limit_time"
        assert worker.restarts == 1 and len(worker._ready_workers()) == 2


def test_a_worker_whose_parent_left_exits_quietly(capfd):
    # The parent may release a plugin while its worker is still loading it:
    # the worker's answer then meets a closed pipe, and no traceback may
    # reach the service's stderr.
    import multiprocessing

    parent, child = multiprocessing.Pipe()
    parent.close()
    with open(SEED, "rb") as handle:
        source = handle.read()
    workers._worker_main(child, [0, 0.0], "opengauss", source, "@opengauss.lua", Limits(), 0, 0)
    assert "Traceback" not in capfd.readouterr().err
