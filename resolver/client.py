"""Talking to a running ``resolver serve`` for ``plugin ... --server URL``.

The plugin routes are DeepFlow's (``POST /v1/plugin/`` with multipart fields
NAME, TYPE, USER, IMAGE; ``GET /v1/plugin/``; ``DELETE /v1/plugin/NAME/``),
answering in DeepFlow's envelope ``{"OPT_STATUS", "DESCRIPTION", "DATA"}``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

from . import wire
from .store import PluginRecord, VersionRecord


class ClientError(Exception):
    pass


class ServiceClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method: str, path: str, body: bytes | None = None,
                 content_type: str | None = None):
        request = urllib.request.Request(self.base_url + path, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        request.add_header(wire.ORG_HEADER, str(wire.DEFAULT_ORG_ID))
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            try:
                answer = json.loads(payload)
                description = answer.get("DESCRIPTION") or answer.get("error") or payload.decode("utf-8", "replace")
            except (ValueError, AttributeError):
                description = payload.decode("utf-8", "replace").strip() or exc.reason
            raise ClientError(f"{self.base_url}: {exc.code}: {description}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClientError(f"{self.base_url}: cannot reach the service: {reason}") from None
        try:
            envelope = json.loads(payload)
        except ValueError:
            raise ClientError(f"{self.base_url}: the answer is not JSON") from None
        return envelope.get("DATA") if isinstance(envelope, dict) else envelope

    @staticmethod
    def _quote(name: str) -> str:
        return urllib.parse.quote(name, safe="")

    def create(self, name: str, source: bytes, *, type: str, user: str, priority: int | None,
               filename: str) -> PluginRecord:
        # TYPE and USER as deepflow-ctl sends them: integer codes.
        fields = {"NAME": name, "TYPE": str(wire.PLUGIN_TYPE_CODES[type]),
                  "USER": str(wire.PLUGIN_USER_CODES[user])}
        if priority is not None:
            fields["PRIORITY"] = str(priority)
        boundary = uuid.uuid4().hex
        parts = []
        for key, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
                         .encode("utf-8"))
        safe_filename = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="IMAGE"; '
                     f'filename="{safe_filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode("utf-8") + source + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode("ascii"))
        data = self._request("POST", "/v1/plugin/", b"".join(parts),
                             f"multipart/form-data; boundary={boundary}")
        return _record(data)

    def list(self) -> list[PluginRecord]:
        return [_record(item) for item in self._request("GET", "/v1/plugin/")]

    def list_wide(self) -> list[tuple[PluginRecord, int, int]]:
        return [(_record(item), item.get("VERSIONS", 1), item.get("SIZE", 0))
                for item in self._request("GET", "/v1/plugin/")]

    def get(self, name: str) -> PluginRecord:
        return _record(self._request("GET", f"/v1/plugin/{self._quote(name)}/"))

    def delete(self, name: str) -> None:
        self._request("DELETE", f"/v1/plugin/{self._quote(name)}/")

    def history(self, name: str) -> list[VersionRecord]:
        items = self._request("GET", f"/v1/plugin/{self._quote(name)}/history/")
        return [VersionRecord(
            name=item["NAME"], version=item["VERSION"], type=wire.word_of(wire.PLUGIN_TYPE_CODES, item["TYPE"]),
            user=wire.word_of(wire.PLUGIN_USER_CODES, item["USER"]), priority=item["PRIORITY"],
            sha256=item["SHA256"], stored_at=item["STORED_AT"], note=item["NOTE"], current=item["CURRENT"],
        ) for item in items]

    def rollback(self, name: str, version: int | None) -> PluginRecord:
        body = json.dumps({"VERSION": version}).encode()
        return _record(self._request("POST", f"/v1/plugin/{self._quote(name)}/rollback/", body,
                                     "application/json"))


def _record(item: dict) -> PluginRecord:
    source = item.get("SOURCE")
    return PluginRecord(
        name=item["NAME"], type=wire.word_of(wire.PLUGIN_TYPE_CODES, item["TYPE"]),
        user=wire.word_of(wire.PLUGIN_USER_CODES, item["USER"]), priority=item["PRIORITY"],
        version=item["VERSION"], source=source.encode("utf-8") if isinstance(source, str) else b"",
        sha256=item["SHA256"], created_at=item["CREATED_AT"], updated_at=item["UPDATED_AT"],
    )
