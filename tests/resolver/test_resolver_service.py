"""The real service: waitress on a loopback port, changed while it runs."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from resolver.store import PluginStore
from service_harness import ROOT, SAMPLE, SEED, TOKEN, Service, cli, metric_samples, multipart


@pytest.fixture
def service(tmp_path):
    s = Service(tmp_path)
    yield s
    s.stop()


def gauss_source(service):
    return service.get("/v1/pods/data/gauss-ha-sts-0").get("source")


def test_read_routes(service):
    health = service.get("/healthz")
    assert (health["status"], health["pods"], health["plugins"]) == ("ok", 60, [])
    workloads = service.get("/v1/workloads?namespace=kube-system")
    proxy = next(w for w in workloads["workloads"] if w["name"] == "kube-proxy")
    assert (proxy["type"], sorted(proxy["pods"]), proxy["sources"]) == \
        ("DaemonSet", ["kube-proxy-95r9r", "kube-proxy-wmtrd"], ["builtin:owner"])
    assert {u["reason"] for u in workloads["unresolved"]} == {"no owner", "static pod (owned by Node)"}
    assert service.get("/v1/pods/monitoring/mysql-0") == {
        "namespace": "monitoring", "pod": "mysql-0", "uid": "977804a0-b2f4-432f-909c-a87eb99e8c2c",
        "type": "StatefulSet", "name": "mysql", "source": "builtin:owner"}
    status, body = service.request("GET", "/v1/pods/nowhere/none")
    assert status == 404 and json.loads(body) == {"error": "no pod nowhere/none"}


def test_post_resolve_accepts_pod_metadata_and_podlist(service):
    pod = {"kind": "Pod", "metadata": {"name": "w-0", "namespace": "x", "ownerReferences": [
        {"kind": "StatefulSet", "name": "w", "controller": True}]}}
    status, body = service.request("POST", "/v1/resolve?explain=1", json.dumps(pod).encode())
    data = json.loads(body)
    assert status == 200 and data["results"][0]["name"] == "w" and data["results"][0]["trail"][-1] == \
        {"step": "builtin:owner", "said": "StatefulSet w"}
    status, body = service.request("POST", "/v1/resolve", json.dumps(pod["metadata"]).encode())
    assert json.loads(body)["results"][0]["source"] == "builtin:owner"
    with open(SAMPLE, "rb") as handle:
        status, body = service.request("POST", "/v1/resolve", handle.read())
    assert json.loads(body)["summary"]["pods"] == 60
    status, body = service.request("POST", "/v1/resolve", b"{broken")
    assert status == 400 and "invalid JSON" in json.loads(body)["error"]


def test_cli_create_on_the_same_store_takes_effect_within_one_second(service):
    assert "source" not in service.get("/v1/pods/data/gauss-ha-sts-0")
    proc = cli(service, "plugin", "create", "--type", "lua", "--image", SEED, "--name", "opengauss",
               "--user", "server")
    stored = time.monotonic()
    assert proc.returncode == 0, proc.stderr
    seen = service.wait_for(lambda: gauss_source(service) == "plugin:opengauss", timeout=3)
    assert seen - stored < 1.0
    answer = service.get("/v1/pods/data/gauss-ha-sts-0")
    assert (answer["type"], answer["name"]) == ("StatefulSet", "gauss-ha")
    # Deleting through the command line takes effect too.
    assert cli(service, "plugin", "delete", "opengauss").returncode == 0
    service.wait_for(lambda: "source" not in service.get("/v1/pods/data/gauss-ha-sts-0"), timeout=1.5)
    # The log is read by another thread: wait for lines, don't race them.
    service.wait_for(lambda: any("event=plugin_loaded plugin=opengauss" in line for line in service.lines))
    service.wait_for(lambda: any("event=plugin_unloaded plugin=opengauss" in line for line in service.lines))


def test_deepflow_plugin_routes_with_bearer_token(service):
    with open(SEED, "rb") as handle:
        body, headers = multipart({"NAME": "opengauss", "TYPE": "lua", "USER": "server", "IMAGE": handle.read()})
    status, answer = service.request("POST", "/v1/plugin/", body, headers)
    assert status == 401 and json.loads(answer) == {
        "OPT_STATUS": "NO_PERMISSIONS", "DESCRIPTION": "a valid bearer token is required", "DATA": None}
    status, answer = service.request("POST", "/v1/plugin/", body, dict(headers, Authorization="Bearer wrong"))
    assert status == 401
    status, answer = service.request("POST", "/v1/plugin/", body, dict(headers, Authorization=f"Bearer {TOKEN}"))
    assert status == 200, answer
    envelope = json.loads(answer)
    assert envelope["OPT_STATUS"] == "SUCCESS" and envelope["DATA"]["NAME"] == "opengauss"
    service.wait_for(lambda: gauss_source(service) == "plugin:opengauss", timeout=10)
    listing = service.get("/v1/plugin/")
    assert [(p["NAME"], p["TYPE"], p["USER"]) for p in listing["DATA"]] == [("opengauss", 3, 2)]
    status, _ = service.request("DELETE", "/v1/plugin/opengauss/")
    assert status == 401
    status, answer = service.request("DELETE", "/v1/plugin/opengauss/", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    service.wait_for(lambda: "source" not in service.get("/v1/pods/data/gauss-ha-sts-0"), timeout=10)
    status, answer = service.request("DELETE", "/v1/plugin/opengauss/", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 400 and json.loads(answer) == {
        "OPT_STATUS": "RESOURCE_NOT_FOUND", "DESCRIPTION": "plugin (name: opengauss) not found", "DATA": None}


def test_api_rejects_invalid_plugins_and_other_types(service):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body, headers = multipart({"NAME": "broken", "TYPE": "lua", "IMAGE": "function GetWorkloadTypeAndName(\n"})
    status, answer = service.request("POST", "/v1/plugin/", body, dict(headers, **auth))
    assert status == 400 and json.loads(answer)["DESCRIPTION"].startswith("broken.lua:2:")
    body, headers = multipart({"NAME": "w", "TYPE": "wasm", "IMAGE": "\0asm"})
    status, answer = service.request("POST", "/v1/plugin/", body, dict(headers, **auth))
    assert status == 400 and "plugin type 'wasm' is not supported" in json.loads(answer)["DESCRIPTION"]
    assert service.get("/v1/plugin/")["DATA"] == []


def test_cli_through_server(service):
    base = ["--server", service.url, "--token", TOKEN]
    proc = cli(service, "plugin", "create", "--type", "lua", "--image", SEED, "--name", "og", *base)
    assert proc.returncode == 0, proc.stderr
    listing = cli(service, "plugin", "list", "--server", service.url)
    assert listing.stdout.splitlines()[1].split()[:3] == ["lua", "og", "server"]
    wide = cli(service, "plugin", "list", "-o", "wide", "--server", service.url).stdout.splitlines()
    assert wide[1].split()[-4:-1] == ["0", "1", str(os.path.getsize(SEED))]
    assert "OpenGaussCluster" in cli(service, "plugin", "show", "og", "--server", service.url).stdout
    proc = cli(service, "plugin", "delete", "og", "--server", service.url)
    assert proc.returncode == 1 and proc.stderr == f"resolver: {service.url}: 401: a valid bearer token is required\n"
    assert cli(service, "plugin", "delete", "og", *base).returncode == 0
    assert [v.split()[0] for v in cli(service, "plugin", "history", "og", *base).stdout.splitlines()[1:]] == ["1"]
    assert cli(service, "plugin", "rollback", "og", *base).returncode == 0
    service.wait_for(lambda: gauss_source(service) == "plugin:og", timeout=10)


def test_invalid_version_in_store_never_displaces_the_working_one(service):
    store = PluginStore(service.store_path)
    with open(SEED, "rb") as handle:
        store.create("og", handle.read())
    service.wait_for(lambda: gauss_source(service) == "plugin:og", timeout=10)
    store.create("og", b"function GetWorkloadTypeAndName(", replace=True)  # bypasses validation
    service.wait_for(lambda: any("event=plugin_load_failed plugin=og" in l for l in service.lines), timeout=10)
    assert gauss_source(service) == "plugin:og"
    status, metrics = service.request("GET", "/metrics")
    samples = metric_samples(metrics)
    assert samples['resolver_plugin_load_failures_total{plugin="og"}'] == 1
    assert samples['resolver_plugin_loaded_version{plugin="og"}'] == 1


def test_metrics_and_error_logging(tmp_path):
    # Both plugins are in the store before the service starts: exactly one pass runs.
    store = PluginStore(str(tmp_path / "plugins.db"))
    with open(SEED, "rb") as handle:
        store.create("opengauss", handle.read())
    store.create("bad", b'function GetWorkloadTypeAndName(m)\n  if m:find("Job", 1, true) then error("no jobs") end\n'
                        b'  return "", ""\nend\n')
    service = Service(tmp_path)
    try:
        _check_metrics_and_logs(service)
    finally:
        service.stop()


def _check_metrics_and_logs(service):
    assert gauss_source(service) == "plugin:opengauss"
    status, text = service.request("GET", "/metrics")
    assert status == 200
    samples = metric_samples(text)
    assert samples['resolver_plugin_calls_total{plugin="opengauss"}'] == 57
    assert samples['resolver_plugin_claims_total{plugin="opengauss"}'] == 2
    assert samples['resolver_plugin_errors_total{kind="runtime",plugin="bad"}'] == 4
    # bad runs after opengauss (created later), so it never sees the 2 pods opengauss claimed.
    assert samples['resolver_plugin_calls_total{plugin="bad"}'] == 55
    assert samples['resolver_plugin_call_seconds_bucket{le="+Inf",plugin="bad"}'] == 55
    assert samples['resolver_plugin_call_seconds_count{plugin="bad"}'] == 55
    assert samples["resolver_plugins_loaded"] == 2
    assert samples['resolver_pods{source="plugin:opengauss"}'] == 2
    assert samples['resolver_unresolved_pods{reason="owned by Job"}'] == 4
    assert samples['resolver_pods_by_status{status="unresolved"}'] == sum(
        v for k, v in samples.items() if k.startswith("resolver_unresolved_pods{")) > 0
    assert samples['resolver_pods_by_status{status="resolved"}'] + \
        samples['resolver_pods_by_status{status="unresolved"}'] == 60
    assert samples["resolver_pass_duration_seconds_count"] == 1
    assert "# TYPE resolver_plugin_call_seconds histogram" in text.splitlines()
    service.wait_for(lambda: len([l for l in service.lines if "event=plugin_error" in l]) >= 4)
    error_lines = [l for l in service.lines if "event=plugin_error" in l]
    assert len(error_lines) == 4
    assert re.search(r'event=plugin_error plugin=bad pod=prod/report-28041427-lrbzc msg="bad.lua:2: no jobs"$',
                     "\n".join(error_lines), re.M)


def test_pods_file_is_reread_when_it_changes(tmp_path):
    pods = tmp_path / "pods.json"
    pods.write_text(json.dumps({"kind": "Pod", "metadata": {"name": "a", "namespace": "x"}}))
    s = Service(tmp_path, pods=str(pods), token=None)
    try:
        assert s.get("/healthz")["pods"] == 1
        pods.write_text(json.dumps({"kind": "List", "items": [
            {"kind": "Pod", "metadata": {"name": "a", "namespace": "x"}},
            {"kind": "Pod", "metadata": {"name": "b", "namespace": "x", "ownerReferences": [
                {"kind": "DaemonSet", "name": "ds"}]}}]}))
        s.wait_for(lambda: s.get("/v1/pods/x/b")["type"] == "DaemonSet", timeout=10)
        # Without a token, mutating routes are open (loopback only).
        body, headers = multipart({"NAME": "p", "TYPE": "lua",
                                   "IMAGE": 'function GetWorkloadTypeAndName(m) return "", "" end'})
        assert s.request("POST", "/v1/plugin/", body, headers)[0] == 200
    finally:
        s.stop()


def test_refuses_non_loopback_without_token(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "resolver", "serve", "--listen", "0.0.0.0:0",
                           "--store", str(tmp_path / "s.db")],
                          env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stderr == ("resolver: refusing to listen on 0.0.0.0 (beyond loopback) without a token: "
                           "pass --token-file or set RESOLVER_TOKEN\n")


def test_sigterm_shuts_down_cleanly(tmp_path):
    s = Service(tmp_path)
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(10) == 0
    lines = s.log_ended()
    assert any("event=shutdown signal=SIGTERM" in line for line in lines)
    assert lines[-1].endswith("event=stopped")


def test_process_isolation_serves_the_same_answers(tmp_path):
    s = Service(tmp_path, "--isolation", "process")
    try:
        proc = cli(s, "plugin", "create", "--type", "lua", "--image", SEED, "--name", "opengauss")
        stored = time.monotonic()
        assert proc.returncode == 0, proc.stderr
        seen = s.wait_for(lambda: gauss_source(s) == "plugin:opengauss", timeout=3)
        assert seen - stored < 1.0
        s.wait_for(lambda: any("isolation=process" in line for line in s.lines))
    finally:
        s.stop()
    assert s.proc.returncode == 0
