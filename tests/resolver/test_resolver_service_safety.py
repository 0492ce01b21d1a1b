"""The service exposed: browsers, crafted requests and misbehaving plugins.

Each test runs the real waitress server on a loopback port and attacks it
the way the issue describes: a foreign web page, a DNS-rebound name, a
resolve request built to exhaust a plugin's budget, a plugin that answers
with a 60 MB name or prints without end.
"""

import io
import json
import signal
import threading
import time

import pytest

from resolver.eventlog import EventLog
from resolver.service import ResolverService
from resolver.store import PluginStore
from service_harness import SAMPLE, TOKEN, Service, metric_samples, multipart

BOMB = b'''
function GetWorkloadTypeAndName(m)
  if m:find("bomb", 1, true) then
    local t = {}
    for i = 1, 1e9 do t[i] = string.rep("x", 4096) .. i end
  end
  if m:find("gauss-ha", 1, true) then return "StatefulSet", "gauss-ha" end
  return "", ""
end
'''

SPIN = b'function GetWorkloadTypeAndName(m) while true do end end\n'


def start_with(tmp_path, plugins, *extra, **kwargs):
    """A service whose store holds ``plugins`` before it starts (one pass)."""
    store = PluginStore(str(tmp_path / "plugins.db"))
    for name, source in plugins.items():
        store.create(name, source)
    store.close()
    return Service(tmp_path, *extra, **kwargs)


def plugin_upload(headers=None):
    body, form_headers = multipart({"NAME": "evil", "TYPE": "3", "USER": "2",
                                    "IMAGE": 'function GetWorkloadTypeAndName(m) return "Deployment", "evil" end'})
    return body, dict(form_headers, **(headers or {}))


def test_foreign_origin_and_rebound_host_are_refused(tmp_path):
    s = Service(tmp_path, token=None)
    try:
        port = s.url.rsplit(":", 1)[1]
        # A web page posting a form to the loopback service (no preflight needed).
        for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                        {"Sec-Fetch-Site": "cross-site"}):
            status, answer = s.request("POST", "/v1/plugin/", *plugin_upload(headers))
            assert status == 403 and json.loads(answer)["OPT_STATUS"] == "NO_PERMISSIONS", headers
        # DNS rebinding: the page's own name now points at 127.0.0.1.
        status, answer = s.request("GET", "/v1/workloads", headers={"Host": f"evil.example:{port}"})
        assert status == 403 and "is not this service's address" in json.loads(answer)["error"]
        status, _ = s.request("POST", "/v1/plugin/", *plugin_upload({"Host": f"evil.example:{port}"}))
        assert status == 403
        assert s.get("/v1/plugin/")["DATA"] == []
        assert any("event=request_refused" in line for line in s.lines)
        # The service's own names are fine, from a page of its own origin too.
        assert s.request("GET", "/healthz", headers={"Host": f"localhost:{port}"})[0] == 200
        status, _ = s.request("POST", "/v1/plugin/", *plugin_upload({"Origin": f"http://localhost:{port}"}))
        assert status == 200
    finally:
        s.stop()


def test_allowed_host_extends_the_names(tmp_path):
    s = Service(tmp_path, "--allowed-host", "resolver.internal", token=None)
    try:
        assert s.request("GET", "/healthz", headers={"Host": "resolver.internal:80"})[0] == 200
        assert s.request("GET", "/healthz", headers={"Host": "other.internal"})[0] == 403
    finally:
        s.stop()


def test_post_resolve_is_a_read(tmp_path):
    s = start_with(tmp_path, {"bomb": BOMB})
    try:
        assert s.get("/v1/pods/data/gauss-ha-sts-0")["source"] == "plugin:bomb"
        before = metric_samples(s.request("GET", "/metrics")[1])
        pods = {"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": f"bomb-{i}", "namespace": "x"}}
                                          for i in range(4)]}
        status, body = s.request("POST", "/v1/resolve", json.dumps(pods).encode())
        assert status == 200
        # Reported to this caller ...
        assert json.loads(body)["summary"]["disabled_plugins"] == ["bomb"]
        # ... and nothing else: the plugin stays in service, its counters untouched.
        time.sleep(0.5)
        assert s.get("/healthz")["plugins"] == ["bomb"]
        after = metric_samples(s.request("GET", "/metrics")[1])
        plugin_series = {k: v for k, v in before.items() if k.startswith("resolver_plugin")}
        assert {k: after[k] for k in plugin_series} == plugin_series
        assert not any("plugin_disabled" in line or "plugin_error" in line for line in s.lines)
        assert s.get("/v1/pods/data/gauss-ha-sts-0")["source"] == "plugin:bomb"
        one = {"kind": "Pod", "metadata": {"name": "gauss-ha-sts-9", "namespace": "data"}}
        status, body = s.request("POST", "/v1/resolve", json.dumps(one).encode())
        assert json.loads(body)["results"][0]["source"] == "plugin:bomb"
    finally:
        s.stop()


@pytest.mark.parametrize("name, problem", [
    ('string.rep("x", 254)', "a workload name of 254 bytes (Kubernetes allows at most 253)"),
    ('"gauss\\nha"', "a workload name holding the control character '\\\\n'"),
])
def test_impossible_workload_names_are_plugin_errors(tmp_path, name, problem):
    source = (f'function GetWorkloadTypeAndName(m)\n  if m:find("gauss-ha", 1, true) then '
              f'return "StatefulSet", {name} end\n  return "", ""\nend\n').encode()
    s = start_with(tmp_path, {"long": source})
    try:
        answer = s.get("/v1/pods/data/gauss-ha-sts-0")
        # The chain went on past the bad answer, to the owner rules.
        assert "source" not in answer and answer["unresolved"] == "unknown owner kind OpenGaussCluster"
        samples = metric_samples(s.request("GET", "/metrics")[1])
        assert samples['resolver_plugin_errors_total{kind="result",plugin="long"}'] == 1
        assert samples['resolver_plugin_claims_total{plugin="long"}'] == 0
        s.wait_for(lambda: any("event=plugin_error plugin=long" in line for line in s.lines))
        line = next(line for line in s.lines if "event=plugin_error plugin=long" in line)
        assert f"long.lua:1: GetWorkloadTypeAndName returned {problem}" in line
    finally:
        s.stop()


def test_plugin_output_is_bounded_and_escaped(tmp_path):
    chatty = (b'function GetWorkloadTypeAndName(m)\n'
              b'  print("esc\\27[31mred\\rback\\0nul\\127del")\n'
              b'  for i = 1, 1000 do print("line " .. i) end\n'
              b'  return "", ""\nend\n')
    s = start_with(tmp_path, {"chatty": chatty})
    try:
        s.wait_for(lambda: any("event=plugin_output_suppressed" in line for line in s.lines))
        output = [line for line in s.lines if "event=plugin_output " in line]
        truncated = [line for line in s.lines if "event=plugin_output_truncated" in line]
        suppressed = [line for line in s.lines if "event=plugin_output_suppressed" in line]
        # 10 lines per call reach the log, 50 per pass; each cut call says so once,
        # until the pass's share is used up (in call 5): from then on one event counts all.
        assert len(output) == 50 and len(truncated) == 4 and len(suppressed) == 1
        assert "lines=991" in truncated[0] and "lines=" in suppressed[0]
        assert r'msg="esc\x1b[31mred\rback\x00nul\x7fdel"' in output[0]
        assert all("\x1b" not in line and "\r" not in line for line in s.lines)
    finally:
        s.stop()


def test_healthz_answers_and_sigterm_ends_while_a_plugin_spins(tmp_path):
    s = Service(tmp_path, token=None)
    store = PluginStore(s.store_path)
    store.create("spin", SPIN)
    s.wait_for(lambda: any("event=plugin_loaded plugin=spin" in line for line in s.lines))
    # A pass is running now: every call spins for its whole 1 s budget.
    for _ in range(3):
        started = time.monotonic()
        assert s.get("/healthz")["status"] == "ok"
        assert time.monotonic() - started < 1.0
    assert not any("event=resolved" in line and "plugins=1" in line for line in s.lines)
    started = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(10) == 0
    assert time.monotonic() - started < 10
    lines = s.log_ended()
    assert any("event=shutdown signal=SIGTERM" in line for line in lines)
    assert not any("deleted from the store" in line for line in lines)
    assert lines[-1].endswith("event=stopped")


def test_a_pass_that_outlives_shutdown_is_abandoned_and_logs_nothing_after(tmp_path):
    # SIGTERM stops the watcher with a 2 s grace, but a spinning plugin keeps
    # the pass going for about 3 s; the pass must not finish (and log
    # "resolved" with its plugins released) after the service has stopped.
    store = PluginStore(str(tmp_path / "plugins.db"))
    store.create("spin", SPIN)
    out = io.StringIO()
    service = ResolverService(store, SAMPLE, log=EventLog(out), isolation="in-process")
    completed = []
    pass_thread = threading.Thread(target=lambda: completed.append(service.refresh()))
    pass_thread.start()
    time.sleep(0.3)
    service.close()
    pass_thread.join(30)
    assert completed == [False]
    lines = out.getvalue().splitlines()
    assert any("event=shutdown_forced" in line or "event=plugins_released" in line for line in lines)
    assert not any("event=resolved" in line for line in lines)


def test_api_names_and_priority_are_checked(tmp_path):
    s = Service(tmp_path)
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        source = 'function GetWorkloadTypeAndName(m) return "", "" end'
        for fields, expected in [
            ({"NAME": "a b/c"}, "plugin name 'a b/c' is invalid: use 1-253 characters"),
            ({"NAME": "x" * 254}, "is invalid"),
            ({"NAME": "p", "PRIORITY": str(10**20)}, "priority 100000000000000000000 is out of range"),
            ({"NAME": "p", "PRIORITY": "high"}, "PRIORITY 'high' is not an integer"),
        ]:
            body, headers = multipart(dict(fields, TYPE="3", USER="2", IMAGE=source))
            status, answer = s.request("POST", "/v1/plugin/", body, dict(headers, **auth))
            assert status == 400 and expected in json.loads(answer)["DESCRIPTION"], answer
        body, headers = multipart({"NAME": "p", "TYPE": "3", "PRIORITY": "-7", "IMAGE": source})
        assert s.request("POST", "/v1/plugin/", body, dict(headers, **auth))[0] == 200
        body, headers = multipart({"NAME": "p", "TYPE": "3", "IMAGE": source + " "})
        status, answer = s.request("POST", "/v1/plugin/", body, dict(headers, **auth))
        assert json.loads(answer)["DATA"]["PRIORITY"] == -7  # kept, not reset to 0
    finally:
        s.stop()
