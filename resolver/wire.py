"""DeepFlow's plugin API on the wire, as deepflow-ctl speaks it.

Sources (deepflowio/deepflow): ``cli/ctl/plugin.go`` builds the requests,
``server/controller/http/router/plugin.go`` parses them,
``server/controller/http/service/plugin.go`` answers them and
``server/controller/http/common/response`` wraps every answer in
``{"OPT_STATUS", "DESCRIPTION", "DATA"}`` with the HTTP status the
OPT_STATUS maps to (``OptStatusToHTTPStatus``).

* ``TYPE`` and ``USER`` are integers (``strconv.Atoi``): TYPE 1 wasm, 2 so,
  3 lua; USER 1 agent, 2 server.  We also accept the words.
* A plugin is listed as ``NAME``, ``TYPE``, ``USER`` (integers) and
  ``UPDATED_AT`` in Go's ``2006-01-02 15:04:05``; our extra fields
  (``PRIORITY``, ``VERSION``, ``SHA256``, ``CREATED_AT``) ride along.
"""

from __future__ import annotations

import re

from .store import PluginRecord, VersionRecord

PLUGIN_TYPE_CODES = {"wasm": 1, "so": 2, "lua": 3}
PLUGIN_USER_CODES = {"agent": 1, "server": 2}

#: OPT_STATUS -> HTTP status, from DeepFlow's http/common/const.go.
OPT_HTTP_STATUS = {
    "SUCCESS": 200, "INVALID_PARAMETERS": 400, "RESOURCE_ALREADY_EXIST": 400, "PARAMETER_ILLEGAL": 400,
    "INVALID_POST_DATA": 400, "ORG_ID_INVALID": 400, "RESOURCE_NOT_FOUND": 400,
    "FAIL": 500, "SERVER_ERROR": 500, "SERVICE_UNAVAILABLE": 503, "NO_PERMISSIONS": 403,
}

#: deepflow-ctl's organisation header; DeepFlow's default organisation.
ORG_HEADER = "X-Org-Id"
DEFAULT_ORG_ID = 1

_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64 = 2**63


class ApiError(Exception):
    """An answer in DeepFlow's envelope: ``OPT_STATUS`` and ``DESCRIPTION``."""

    def __init__(self, opt_status: str, description: str, http_status: int | None = None):
        super().__init__(description)
        self.opt_status = opt_status
        self.description = description
        self.http_status = http_status or OPT_HTTP_STATUS[opt_status]


def atoi(text: str) -> int:
    """Go's ``strconv.Atoi``, its error messages included."""
    if not _GO_INT.fullmatch(text):
        raise ApiError("FAIL", f'strconv.Atoi: parsing "{_go_quote(text)}": invalid syntax')
    value = int(text)
    if not -_INT64 <= value < _INT64:
        raise ApiError("FAIL", f'strconv.Atoi: parsing "{_go_quote(text)}": value out of range')
    return value


def _go_quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def form_code(field: str, value: str | None, codes: dict[str, int], default: str) -> str:
    """The word a form field means: a DeepFlow integer code, or the word itself."""
    if value is None or value == "":
        return default
    word = value.strip().lower()
    if word in codes:
        return word
    number = atoi(value)
    for name, code in codes.items():
        if code == number:
            return name
    known = ", ".join(f"{code} ({name})" for name, code in codes.items())
    raise ApiError("INVALID_PARAMETERS", f"{field} {number} is unknown: expected {known}")


def org_id(header: str | None) -> int:
    """The organisation a request is for (``X-Org-Id``, as DeepFlow's middleware reads it)."""
    if not header:
        return DEFAULT_ORG_ID
    try:
        return atoi(header)
    except ApiError:
        raise ApiError("ORG_ID_INVALID", f"invalid header ({ORG_HEADER}) value ({header})") from None


def go_time(stamp: str) -> str:
    """An ISO stamp from the store as Go's ``2006-01-02 15:04:05`` (UTC)."""
    return stamp[:19].replace("T", " ")


def plugin_to_api(record: PluginRecord, with_source: bool = False, versions: int | None = None) -> dict:
    data = {
        "NAME": record.name, "TYPE": PLUGIN_TYPE_CODES[record.type], "USER": PLUGIN_USER_CODES[record.user],
        "UPDATED_AT": go_time(record.updated_at),
        "CREATED_AT": go_time(record.created_at), "PRIORITY": record.priority,
        "VERSION": record.version, "SHA256": record.sha256,
    }
    if versions is not None:
        data["VERSIONS"] = versions
        data["SIZE"] = len(record.source)
    if with_source:
        data["SOURCE"] = record.source.decode("utf-8", "replace")
    return data


def version_to_api(record: VersionRecord) -> dict:
    return {
        "NAME": record.name, "VERSION": record.version, "TYPE": PLUGIN_TYPE_CODES[record.type],
        "USER": PLUGIN_USER_CODES[record.user], "PRIORITY": record.priority, "SHA256": record.sha256,
        "STORED_AT": go_time(record.stored_at), "NOTE": record.note, "CURRENT": record.current,
    }


def word_of(codes: dict[str, int], value) -> str:
    """The word for an integer code in an answer (or the word, from older services)."""
    for name, code in codes.items():
        if value == code or value == name:
            return name
    return str(value)


def envelope(data) -> dict:
    return {"OPT_STATUS": "SUCCESS", "DESCRIPTION": "", "DATA": data}


def error_envelope(error: ApiError) -> dict:
    return {"OPT_STATUS": error.opt_status, "DESCRIPTION": error.description, "DATA": None}
