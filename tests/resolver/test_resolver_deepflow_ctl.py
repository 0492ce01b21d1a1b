"""deepflow-ctl's plugin commands against the real service, byte for byte.

``DeepflowCtl`` builds each request as ``cli/ctl/plugin.go`` and
``cli/ctl/common/http_util.go`` (deepflowio/deepflow) build them, Go's
``mime/multipart`` writer and ``net/http`` headers included, and reads each
answer as they read it: a non-200 status is an error carrying the body,
then ``OPT_STATUS`` must be ``SUCCESS``, and ``plugin list`` reads ``TYPE``
and ``USER`` with simplejson's ``MustInt`` (a string there reads as 0).
"""

import http.client
import json
import os
import re
import secrets

import pytest

from service_harness import SEED, Service

PLUGIN_TYPES = {"wasm": 1, "so": 2, "lua": 3}
PLUGIN_USERS = {"agent": 1, "server": 2}


class CtlError(Exception):
    pass


class DeepflowCtl:
    """``deepflow-ctl --ip HOST --api-port PORT [--org-id N] plugin ...``."""

    def __init__(self, url, org_id=1):
        host, port = url.removeprefix("http://").rsplit(":", 1)
        self.ip, self.port, self.org_id = host, int(port), org_id

    def _send(self, method, path, body, content_type, close=False, extra=None):
        headers = {"User-Agent": "Go-http-client/1.1", "Content-Length": str(len(body)),
                   "Accept": "application/json, text/plain", "Content-Type": content_type,
                   "X-User-Id": "1", "X-User-Type": "1", "Accept-Encoding": "gzip"}
        if self.org_id != 0:
            headers["X-Org-Id"] = str(self.org_id)
        if close:
            headers["Connection"] = "close"
        headers.update(extra or {})
        connection = http.client.HTTPConnection(self.ip, self.port, timeout=30)
        connection.putrequest(method, path, skip_accept_encoding=True)
        for key, value in headers.items():
            connection.putheader(key, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()

    def _parse(self, path, status, raw):
        """``parseResponse``."""
        url = f"http://{self.ip}:{self.port}{path}"
        if status != 200:
            raise CtlError(f"curl ({url}) failed, ({raw.decode()})")
        answer = json.loads(raw)
        if answer.get("OPT_STATUS", "") not in ("", "SUCCESS"):
            raise CtlError(f"curl ({url}) failed, ({answer.get('DESCRIPTION')})")
        return answer

    def create(self, plugin_type, image, name, user="agent", fields=None, extra_headers=None):
        """``createPlugin``: multipart NAME, TYPE, USER, then the IMAGE file."""
        if plugin_type not in PLUGIN_TYPES:
            raise CtlError(f"unknown type {plugin_type}")
        if user == "server" and (not image.endswith("lua") or plugin_type != "lua"):
            raise CtlError("if user is server, expected image: <filename>.lua")
        values = {"NAME": name, "TYPE": str(PLUGIN_TYPES[plugin_type]), "USER": str(PLUGIN_USERS[user])}
        values.update(fields or {})
        boundary = secrets.token_hex(30)
        parts = []
        for key, value in values.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
                         .encode() + value.encode())
        with open(image, "rb") as handle:
            content = handle.read()
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="IMAGE"; '
                     f'filename="{os.path.basename(image)}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode() + content)
        body = b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()
        status, raw = self._send("POST", "/v1/plugin/", body, f"multipart/form-data; boundary={boundary}",
                                 close=True, extra=extra_headers)
        return self._parse("/v1/plugin/", status, raw)

    def list(self):
        """``listPlugin``: the rows it prints (TYPE, NAME, USER, UPDATED_AT)."""
        # CURLPerform with a nil body map sends json.Marshal(nil): "null".
        status, raw = self._send("GET", "/v1/plugin/", b"null", "application/json")
        data = self._parse("/v1/plugin/", status, raw)["DATA"] or []
        names = {code: word for word, code in PLUGIN_TYPES.items()}
        users = {code: word for word, code in PLUGIN_USERS.items()}

        def must_int(value):
            return value if type(value) is int else 0

        return [(names.get(must_int(d["TYPE"]), "0"), d["NAME"], users.get(must_int(d["USER"]), "0"),
                 d["UPDATED_AT"] if isinstance(d["UPDATED_AT"], str) else "") for d in data]

    def delete(self, name):
        path = f"/v1/plugin/{name}/"
        status, raw = self._send("DELETE", path, b"null", "application/json")
        return self._parse(path, status, raw)


@pytest.fixture
def service(tmp_path):
    s = Service(tmp_path, token=None)
    yield s
    s.stop()


def lua_file(tmp_path, name, workload):
    path = tmp_path / f"{name}.lua"
    path.write_text(f'function GetWorkloadTypeAndName(m) return "", "{workload}" end\n')
    return str(path)


def test_create_list_update_delete_as_deepflow_ctl(service, tmp_path):
    ctl = DeepflowCtl(service.url)
    answer = ctl.create("lua", SEED, "opengauss", user="server")
    assert answer["OPT_STATUS"] == "SUCCESS" and answer["DESCRIPTION"] == ""
    assert {k: answer["DATA"][k] for k in ("NAME", "TYPE", "USER")} == {"NAME": "opengauss", "TYPE": 3, "USER": 2}
    ctl.create("lua", lua_file(tmp_path, "agent", "x"), "for-agent")  # USER defaults to agent (1)
    rows = ctl.list()
    assert [row[:3] for row in rows] == [("lua", "for-agent", "agent"), ("lua", "opengauss", "server")]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[3]) for row in rows)
    service.wait_for(lambda: service.get("/v1/pods/data/gauss-ha-sts-0").get("source") == "plugin:opengauss")

    # Creating an existing name updates it, as DeepFlow's CreatePlugin does; the
    # earlier version stays in the history.
    ctl.create("lua", lua_file(tmp_path, "v2", ""), "opengauss", user="server")
    assert [row[1] for row in ctl.list()] == ["opengauss", "for-agent"]
    history = service.get("/v1/plugin/opengauss/history/")["DATA"]
    assert [(v["VERSION"], v["NOTE"]) for v in history] == [(2, "replaced"), (1, "created")]
    service.wait_for(lambda: "source" not in service.get("/v1/pods/data/gauss-ha-sts-0"))

    assert ctl.delete("opengauss")["DATA"] is None
    with pytest.raises(CtlError) as missing:
        ctl.delete("opengauss")
    body = str(missing.value).split("failed, (", 1)[1][:-1]
    assert json.loads(body) == {"OPT_STATUS": "RESOURCE_NOT_FOUND",
                                "DESCRIPTION": "plugin (name: opengauss) not found", "DATA": None}
    assert [row[1] for row in ctl.list()] == ["for-agent"]


def test_refusals_use_deepflows_envelope_and_status(service, tmp_path):
    ctl = DeepflowCtl(service.url)
    source = lua_file(tmp_path, "p", "x")

    def refused(**kwargs):
        with pytest.raises(CtlError) as error:
            ctl.create("lua", source, kwargs.pop("name", "p"), **kwargs)
        return json.loads(str(error.value).split("failed, (", 1)[1][:-1])

    # strconv.Atoi's own message, as DeepFlow's router returns it (FAIL, 500).
    assert refused(fields={"TYPE": "3.0"}) == {
        "OPT_STATUS": "FAIL", "DESCRIPTION": 'strconv.Atoi: parsing "3.0": invalid syntax', "DATA": None}
    assert refused(fields={"USER": " 2"})["DESCRIPTION"] == 'strconv.Atoi: parsing " 2": invalid syntax'
    wasm = refused(fields={"TYPE": "1"})
    assert wasm["OPT_STATUS"] == "INVALID_PARAMETERS" and "plugin type 'wasm' is not supported" in wasm["DESCRIPTION"]
    assert refused(fields={"TYPE": "7"})["DESCRIPTION"] == \
        "TYPE 7 is unknown: expected 1 (wasm), 2 (so), 3 (lua)"
    assert refused(name="a b")["OPT_STATUS"] == "INVALID_PARAMETERS"
    assert refused(extra_headers={"X-Org-Id": "abc"}) == {
        "OPT_STATUS": "ORG_ID_INVALID", "DESCRIPTION": "invalid header (X-Org-Id) value (abc)", "DATA": None}
    assert refused(extra_headers={"X-Org-Id": "2"})["OPT_STATUS"] == "ORG_ID_INVALID"
    assert ctl.list() == []
    # The words are an extension, and --org-id 1 (deepflow-ctl's default) or none at all is fine.
    assert ctl.create("lua", source, "words", fields={"TYPE": "lua", "USER": "server"})["DATA"]["TYPE"] == 3
    assert DeepflowCtl(service.url, org_id=0).list()[0][1] == "words"
