"""Red-team findings against the service, kept as regressions.

Found by running ``resolver serve`` over 10k realistic pods with slow and
hostile plugins: a full pass held the Lua lock from start to end, so

* a one-pod ``POST /v1/resolve`` waited behind the whole pass (60 s and
  more with a plugin taking 10 ms a pod);
* after ``DELETE /v1/plugin/NAME/`` had returned, ``/v1/workloads`` and
  ``POST /v1/resolve`` still served that plugin's answers until the pass
  ended (43 s later);
* SIGTERM during such a pass took 9.9 s to end the process.

Each test runs the real waitress server on loopback with plugins that are
slow but within their budget (a busy wait on ``os.clock``).
"""

import json
import signal
import time

from resolver.store import PluginStore
from service_harness import Service, multipart


def slow_plugin(seconds: float, answer: str = "") -> bytes:
    """Spends ``seconds`` of CPU per call, then claims the pod (or passes)."""
    result = f'"Deployment", "{answer}"' if answer else '"", ""'
    return (f'function GetWorkloadTypeAndName(m)\n'
            f'  local t = os.clock()\n'
            f'  while os.clock() - t < {seconds} do end\n'
            f'  return {result}\n'
            f'end\n').encode()


def write_pods(path, count: int) -> str:
    """``count`` bare pods (no owner: only plugins can name them)."""
    items = [{"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": f"pod-{i}", "namespace": "rt", "uid": f"uid-{i}"}}
             for i in range(count)]
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "PodList", "items": items}))
    return str(path)


def start(tmp_path, plugins: dict, pods: int):
    store = PluginStore(str(tmp_path / "plugins.db"))
    for name, (source, priority) in plugins.items():
        store.create(name, source, priority=priority)
    store.close()
    return Service(tmp_path, pods=write_pods(tmp_path / "pods.json", pods), token=None,
                   wait_for_pass=False)


def upload(service, name: str, source: bytes):
    body, headers = multipart({"NAME": name, "TYPE": "3", "USER": "2", "IMAGE": source})
    return service.request("POST", "/v1/plugin/", body, headers)


def wait_for_pass_with(service, name: str, timeout: float = 120.0) -> None:
    service.wait_for(lambda: any(f"plugin:{name}" in w["sources"]
                                 for w in service.get("/v1/workloads")["workloads"]), timeout)


def test_a_deleted_plugins_answers_are_withheld_at_once(tmp_path):
    # "gate" runs first and makes every resolution slow (120 pods x 20 ms,
    # which DELETE pays again when it withdraws claimer's answers);
    # "claimer" names every pod.
    s = start(tmp_path, {"gate": (slow_plugin(0.02), 0), "claimer": (slow_plugin(0, "claimed"), 1)}, 120)
    try:
        wait_for_pass_with(s, "claimer")
        status, _ = s.request("DELETE", "/v1/plugin/claimer/")
        assert status == 200
        # Once DELETE has returned, nothing "claimer" computed is served: its
        # pods were resolved again without it before the answer went out.
        workloads = s.get("/v1/workloads")
        assert all("plugin:claimer" not in w["sources"] for w in workloads["workloads"])
        assert len(workloads["unresolved"]) == 120
        assert {u["reason"] for u in workloads["unresolved"]} == {"no owner"}
        status, body = s.request("GET", "/v1/pods/rt/pod-7")
        assert status == 200 and json.loads(body)["unresolved"] == "no owner"
        pod = json.dumps({"kind": "Pod", "metadata": {"name": "x", "namespace": "rt", "uid": "x"}}).encode()
        status, body = s.request("POST", "/v1/resolve", pod, {"Content-Type": "application/json"})
        assert status == 200 and "claimer" not in body
        # The deletion is not reported as a misbehaving plugin.
        assert not any("event=plugin_disabled plugin=claimer" in line for line in s.lines)
    finally:
        s.stop()


def test_a_deleted_plugin_created_again_is_an_update(tmp_path):
    s = start(tmp_path, {"claimer": (slow_plugin(0, "old"), 0)}, 20)
    try:
        wait_for_pass_with(s, "claimer")
        assert s.request("DELETE", "/v1/plugin/claimer/")[0] == 200
        assert upload(s, "claimer", slow_plugin(0, "new"))[0] == 200
        s.wait_for(lambda: {w["name"] for w in s.get("/v1/workloads")["workloads"]} == {"new"}, timeout=60)
    finally:
        s.stop()


def test_one_pod_resolve_does_not_wait_for_a_slow_pass(tmp_path):
    # 300 pods x 0.1 s: a pass of about 30 s, in one worker batch of 256
    # pods if the worker did not hand back its answers as it goes.
    s = start(tmp_path, {"slow": (slow_plugin(0.1, "slow"), 0)}, 300)
    try:
        s.wait_for(lambda: any("event=plugin_loaded plugin=slow" in line for line in s.lines), timeout=30)
        time.sleep(1.0)  # the first pass is under way
        assert s.get("/healthz")["resolutions"] == 0
        pod = json.dumps({"kind": "Pod", "metadata": {"name": "x", "namespace": "rt", "uid": "x"}}).encode()
        started = time.monotonic()
        status, body = s.request("POST", "/v1/resolve", pod, {"Content-Type": "application/json"})
        waited = time.monotonic() - started
        assert status == 200
        assert json.loads(body)["results"][0]["name"] == "slow"
        assert waited < 8.0, waited
        assert s.get("/healthz")["resolutions"] == 0  # the pass was still running
        started = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(10) == 0
        assert time.monotonic() - started < 6.0
        lines = s.log_ended()
        assert not any("event=shutdown_forced" in line for line in lines)
    finally:
        s.stop()
