"""The service's small guards on their own: wire codes, Host/Origin, log escaping, output limits."""

import io
import json

import pytest

from resolver import wire
from resolver.eventlog import EventLog, logfmt_value
from resolver.http_security import RequestGuard
from resolver.plugin_guard import OutputLimiter
from resolver.plugins import workload_value_problem


@pytest.mark.parametrize("text, expected", [
    ("3", 3), ("+3", 3), ("-2", -2), ("007", 7),
    (" 3", 'strconv.Atoi: parsing " 3": invalid syntax'),
    ("3_0", 'strconv.Atoi: parsing "3_0": invalid syntax'),
    ("", 'strconv.Atoi: parsing "": invalid syntax'),
    ("9" * 20, f'strconv.Atoi: parsing "{"9" * 20}": value out of range'),
    ('a"b', 'strconv.Atoi: parsing "a\\"b": invalid syntax'),
])
def test_atoi_is_gos(text, expected):
    if isinstance(expected, int):
        assert wire.atoi(text) == expected
    else:
        with pytest.raises(wire.ApiError) as error:
            wire.atoi(text)
        assert (error.value.opt_status, error.value.http_status, error.value.description) == ("FAIL", 500, expected)


def test_form_codes_take_integers_and_words():
    assert wire.form_code("TYPE", "3", wire.PLUGIN_TYPE_CODES, "lua") == "lua"
    assert wire.form_code("TYPE", "LUA", wire.PLUGIN_TYPE_CODES, "lua") == "lua"
    assert wire.form_code("USER", None, wire.PLUGIN_USER_CODES, "server") == "server"
    assert wire.form_code("USER", "1", wire.PLUGIN_USER_CODES, "server") == "agent"
    with pytest.raises(wire.ApiError, match=r"USER 3 is unknown: expected 1 \(agent\), 2 \(server\)"):
        wire.form_code("USER", "3", wire.PLUGIN_USER_CODES, "server")


def test_org_header():
    assert wire.org_id(None) == wire.org_id("") == 1
    assert wire.org_id("5") == 5
    with pytest.raises(wire.ApiError) as error:
        wire.org_id("x")
    assert (error.value.opt_status, error.value.http_status) == ("ORG_ID_INVALID", 400)


def test_host_guard_on_loopback():
    guard = RequestGuard("127.0.0.1")
    for host in ("127.0.0.1:8080", "localhost:8080", "[::1]:8080", "LOCALHOST", "127.0.0.2", None):
        assert guard.refuse_host(host) is None, host
    for host in ("evil.example:8080", "10.0.0.1", "[fe80::1]:80", "127.0.0.1.evil.example"):
        assert guard.refuse_host(host) is not None, host


def test_origin_guard():
    guard = RequestGuard("127.0.0.1", ("resolver.internal",))
    assert guard.refuse_origin(None, None) is None
    assert guard.refuse_origin("http://localhost:8080", "same-origin") is None
    assert guard.refuse_origin("https://resolver.internal", None) is None
    assert guard.refuse_origin("http://evil.example", None) is not None
    assert guard.refuse_origin("http://127.0.0.1.evil.example", None) is not None
    assert guard.refuse_origin("null", None) is not None
    assert guard.refuse_origin(None, "cross-site") is not None


def test_wildcard_listen_accepts_any_host_but_only_same_origin():
    guard = RequestGuard("0.0.0.0")
    assert guard.refuse_host("10.1.2.3:8080") is None
    assert guard.refuse_origin("http://10.1.2.3:8080", None, "10.1.2.3:8080") is None
    assert guard.refuse_origin("http://evil.example", None, "10.1.2.3:8080") is not None
    named = RequestGuard("0.0.0.0", ("resolver.svc",))
    assert named.refuse_host("10.1.2.3") is not None and named.refuse_host("resolver.svc:80") is None


@pytest.mark.parametrize("value, shown", [
    ("plain", "plain"), ("two words", '"two words"'), ("", '""'),
    ("a\nb", '"a\\nb"'), ("\x1b[2J", '"\\x1b[2J"'), ("\x85\u2028", '"\\x85\\u2028"'),
    ('say "hi" \\o/', '"say \\"hi\\" \\\\o/"'), ("k=v", '"k=v"'),
])
def test_logfmt_values_never_carry_raw_controls(value, shown):
    assert logfmt_value(value) == shown


def test_json_log_lines_escape_controls_and_separators():
    stream = io.StringIO()
    EventLog(stream, format="json")("plugin_output", plugin="p", msg="a\x7fb\u2028c\nd")
    line = stream.getvalue()
    assert line.count("\n") == 1 and "\x7f" not in line and "\u2028" not in line
    assert json.loads(line)["msg"] == "a\x7fb\u2028c\nd"


def test_long_values_are_cut():
    stream = io.StringIO()
    EventLog(stream)("plugin_error", plugin="p", msg="x" * 10_000_000)
    line = stream.getvalue()
    assert len(line) < 5000 and line.rstrip().endswith('... (9995904 more characters)"')


def test_log_levels_filter():
    stream = io.StringIO()
    log = EventLog(stream, level="warning")
    log("resolved", pods=1)
    log("plugin_error", plugin="p")
    log("listening", url="http://x")
    assert [line.split()[2] for line in stream.getvalue().splitlines()] == ["event=plugin_error", "event=listening"]


def test_nothing_is_logged_after_stopped():
    # A plugin call a forced shutdown leaves running must not report after it.
    stream = io.StringIO()
    log = EventLog(stream)
    log("shutdown_forced", msg="a plugin call is still running; leaving it")
    log("stopped")
    log("plugin_disabled", plugin="spin")
    log("resolved", pods=60)
    assert [line.split()[2] for line in stream.getvalue().splitlines()] == ["event=shutdown_forced", "event=stopped"]


def test_workload_value_problems():
    assert workload_value_problem("name", "x" * 253) is None
    assert workload_value_problem("name", "é" * 127) == \
        "a workload name of 254 bytes (Kubernetes allows at most 253)"
    assert workload_value_problem("type", "Deploy\x00ment") == "a workload type holding the control character '\\x00'"


def test_output_limiter_counts_what_it_holds_back():
    events = []
    limiter = OutputLimiter(lambda event, **fields: events.append((event, fields)),
                            lines_per_call=2, bytes_per_call=10, lines_per_pass=3)
    for text in ("one", "two", "three"):
        limiter.line("p", text)
    limiter.end_call("p")
    limiter.line("p", "x" * 30)  # cut at the byte budget
    limiter.line("p", "gone")
    limiter.end_call("p")
    limiter.end_pass()
    assert events == [
        ("plugin_output", {"plugin": "p", "msg": "one"}),
        ("plugin_output", {"plugin": "p", "msg": "two"}),
        ("plugin_output_truncated", {"plugin": "p", "lines": 1, "msg": events[2][1]["msg"]}),
        ("plugin_output", {"plugin": "p", "msg": "x" * 10 + "..."}),
        ("plugin_output_truncated", {"plugin": "p", "lines": 1, "msg": events[4][1]["msg"]}),
        ("plugin_output_suppressed", {"plugin": "p", "lines": 1, "msg": events[5][1]["msg"]}),
    ]
