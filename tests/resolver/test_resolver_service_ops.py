"""Operating the service: probes, metrics, logs, secrets and request hygiene."""

import json
import logging
import os

from resolver.eventlog import EventLog, WaitressBridge
from resolver.store import PluginStore
from service_harness import SAMPLE, SEED, TOKEN, Service, cli, metric_samples, multipart


def test_readyz_follows_the_pod_source(tmp_path):
    pods = tmp_path / "pods.json"
    pods.write_text("{not json")
    s = Service(tmp_path, "--stale-after", "0.5", pods=str(pods), token=None, wait_for_pass=False)
    try:
        status, body = s.request("GET", "/readyz")
        assert status == 503 and "the pod source has not been read yet" in json.loads(body)["reason"]
        # Liveness is still fine, and it shows the problem once the first
        # read has failed (readiness said "not read yet" before that, too).
        s.wait_for(lambda: "pods_error" in s.get("/healthz"))
        health = s.get("/healthz")
        assert health["status"] == "ok" and "invalid JSON" in health["pods_error"]
        assert metric_samples(s.request("GET", "/metrics")[1])["resolver_pod_source_read_errors_total"] >= 1
        assert metric_samples(s.request("GET", "/metrics")[1])["resolver_ready"] == 0

        with open(SAMPLE) as handle:
            pods.write_text(handle.read())
        s.wait_for(lambda: s.request("GET", "/readyz")[0] == 200)
        assert "pods_error" not in s.get("/healthz")
        # Broken again: still ready within --stale-after, then not.
        pods.write_text("[]\n{")
        s.wait_for(lambda: "pods_error" in s.get("/healthz"))
        s.wait_for(lambda: s.request("GET", "/readyz")[0] == 503, timeout=5)
        reason = json.loads(s.request("GET", "/readyz")[1])["reason"]
        assert reason.startswith("the pod source has been unreadable for ") and "(limit 0.5 s)" in reason
        assert s.get("/healthz")["pods"] == 60  # the last good answers are still served
    finally:
        s.stop()


def test_ready_without_pods_or_plugins(tmp_path):
    s = Service(tmp_path, pods=None, token=None)
    try:
        s.wait_for(lambda: s.request("GET", "/readyz")[0] == 200)
    finally:
        s.stop()


def test_metrics_come_from_prometheus_client_and_forget_deleted_plugins(tmp_path):
    s = Service(tmp_path, token=None)
    try:
        assert cli(s, "plugin", "create", "--type", "lua", "--image", SEED, "--name", "og").returncode == 0
        s.wait_for(lambda: s.get("/v1/pods/data/gauss-ha-sts-0").get("source") == "plugin:og")
        status, text = s.request("GET", "/metrics")
        samples = metric_samples(text)
        assert samples['resolver_plugin_calls_total{plugin="og"}'] == 57
        assert "process_resident_memory_bytes" in samples and "python_info" in str(samples.keys())
        assert samples['resolver_http_requests_total{code="200",route="pod"}'] >= 1
        assert samples['resolver_http_request_duration_seconds_count{route="pod"}'] >= 1
        assert samples["resolver_pod_data_age_seconds"] < 5
        assert samples["resolver_pass_duration_seconds_count"] >= 2
        assert s.request("GET", "/nowhere")[0] == 404
        assert metric_samples(s.request("GET", "/metrics")[1])[
            'resolver_http_requests_total{code="404",route="unmatched"}'] == 1

        assert cli(s, "plugin", "delete", "og").returncode == 0
        s.wait_for(lambda: 'plugin="og"' not in s.request("GET", "/metrics")[1])
    finally:
        s.stop()


def test_access_log_json_format_and_levels(tmp_path):
    s = Service(tmp_path, "--log-format", "json", token=None)
    try:
        s.get("/v1/workloads?namespace=data")
        s.get("/healthz")
        s.wait_for(lambda: any('"route": "workloads"' in line for line in s.lines))
    finally:
        s.stop()
    lines = [json.loads(line) for line in s.log_ended()]  # every line is one JSON object
    access = [line for line in lines if line["event"] == "http_request"]
    assert [(a["method"], a["path"], a["status"]) for a in access] == [("GET", "/v1/workloads?namespace=data", 200)]
    # waitress warns of its task queue's depth when a loaded machine is slow
    # to serve: that says nothing of the service's own levels.
    own = [line for line in lines if line.get("logger") != "waitress.queue"]
    # (The whole of each line, so a rare failure says what was logged.)
    assert {line["level"] for line in own} == {"info"}, \
        "\n".join(json.dumps(line) for line in own if line["level"] != "info")
    assert lines[-1]["event"] == "stopped" and any(line["event"] == "plugins_released" for line in lines)


def test_debug_level_logs_probes_too(tmp_path):
    s = Service(tmp_path, "--log-level", "debug", token=None)
    try:
        s.wait_for(lambda: any("event=http_request" in line and "route=healthz" in line for line in s.lines))
    finally:
        s.stop()
    s = Service(tmp_path, "--log-level", "warning", token=None)
    try:
        s.get("/v1/workloads")
    finally:
        s.stop()
    assert not any("event=http_request" in line for line in s.log_ended())


def test_waitress_messages_are_structured_and_rate_limited(capsys):
    import io
    stream = io.StringIO()
    bridge = WaitressBridge(EventLog(stream), interval=60)
    logger = logging.getLogger("waitress.queue")
    saved = logger.handlers, logger.propagate
    try:
        bridge.install()
        for depth in range(1, 1001):
            logger.warning("Task queue depth is %d", depth)
        logging.getLogger("waitress").error("Unexpected exception\nwith a second line")
    finally:
        logger.handlers, logger.propagate = saved
        logging.getLogger("waitress").handlers = []
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "level=warning event=waitress logger=waitress.queue msg=\"Task queue depth is 1\"" in lines[0]
    assert lines[1].endswith('msg="Unexpected exception\\nwith a second line"')


def test_token_file_and_environment(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    s = Service(tmp_path, "--token-file", str(token_file), token=None)
    try:
        body, headers = multipart({"NAME": "p", "TYPE": "3", "IMAGE": 'function GetWorkloadTypeAndName() end'})
        assert s.request("POST", "/v1/plugin/", body, headers)[0] == 401
        auth = dict(headers, Authorization=f"Bearer {TOKEN}")
        assert s.request("POST", "/v1/plugin/", body, auth)[0] == 200
        # The client side reads it the same ways.
        listing = cli(s, "plugin", "delete", "p", "--server", s.url, "--token-file", str(token_file))
        assert listing.returncode == 0, listing.stderr
        assert TOKEN not in " ".join(s.proc.args)
    finally:
        s.stop()
    s = Service(tmp_path, token=None, env={"RESOLVER_TOKEN": TOKEN})
    try:
        body, headers = multipart({"NAME": "p", "TYPE": "3", "IMAGE": 'function GetWorkloadTypeAndName() end'})
        assert s.request("POST", "/v1/plugin/", body, headers)[0] == 401
    finally:
        s.stop()
    empty = tmp_path / "empty"
    empty.write_text("\n")
    proc = cli(s, "serve", "--token-file", str(empty))
    assert proc.returncode == 1 and proc.stderr == f"resolver: {empty}: the token file is empty\n"


def test_resolve_body_hygiene(tmp_path):
    s = Service(tmp_path, "--max-request-bytes", "2000", token=None)
    try:
        for body, expected in [(b"\xff\xfe{}", "request body: not valid UTF-8 (byte 0xff at offset 0)"),
                               (b"  \n", "request body: empty; send a Pod, a PodList or pod metadata"),
                               (json.dumps({"kind": "List", "items": [{"kind": "Service", "metadata": {}}]}).encode(),
                                "request body:1:28: no pods in the input: 1 objects, none of them a Pod (Service 1)")]:
            status, answer = s.request("POST", "/v1/resolve", body)
            assert status == 400 and json.loads(answer)["error"] == expected, answer
        status, answer = s.request("POST", "/v1/resolve", b" " * 2001)
        assert status == 413 and json.loads(answer)["error"] == \
            "the body is 2001 bytes; the limit is 2000 (resolver serve --max-request-bytes)"
    finally:
        s.stop()


def test_history_pruning_through_the_api(tmp_path):
    s = Service(tmp_path, "--keep-versions", "2", token=None)
    try:
        for i in range(4):
            body, headers = multipart({"NAME": "p", "TYPE": "3",
                                       "IMAGE": f'function GetWorkloadTypeAndName() return "", "" end -- {i}'})
            assert s.request("POST", "/v1/plugin/", body, headers)[0] == 200
        assert [v["VERSION"] for v in s.get("/v1/plugin/p/history/")["DATA"]] == [4, 3]
    finally:
        s.stop()
    assert [v.version for v in PluginStore(os.path.join(tmp_path, "plugins.db")).history("p")] == [4, 3]


def test_replaced_and_validated_plugins_are_freed(tmp_path):
    import gc
    from luapy import LuaRuntime
    from resolver.eventlog import EventLog as Log
    from resolver.service import ResolverService
    from werkzeug.test import Client

    def live_runtimes():
        gc.collect()
        return len([o for o in gc.get_objects() if isinstance(o, LuaRuntime)])

    before = live_runtimes()  # other tests' plugins may still be around
    store = PluginStore(str(tmp_path / "plugins.db"))
    service = ResolverService(store, log=Log(open(os.devnull, "w")))
    client = Client(service.app)
    for version in range(30):
        source = f'function GetWorkloadTypeAndName(m) return "", "" end -- {version}'
        body, headers = multipart({"NAME": "p", "TYPE": "3", "IMAGE": source})
        assert client.post("/v1/plugin/", data=body, headers=dict(headers, Host="127.0.0.1")).status_code == 200
        service.refresh()
    # The plugin in service, and nothing else: not the 29 it replaced, not the 30 validation runs.
    assert live_runtimes() - before == 1
    service.close()
