"""Who may talk to the service: Host and Origin checks.

Two browser attacks reach a service on loopback without any token:

* DNS rebinding: a page on ``evil.example`` re-points its name at
  127.0.0.1 and reads or writes the service as "same origin".  The request
  still says ``Host: evil.example``, so only requests whose ``Host`` is the
  listen address, a loopback name, or a name given with ``--allowed-host``
  are served.
* Cross-site requests: any page can POST a multipart form to
  ``http://127.0.0.1:8080/v1/plugin/`` (no preflight is needed).  The
  browser marks it with ``Origin`` (and ``Sec-Fetch-Site``), so a mutating
  request from a foreign origin is refused.  deepflow-ctl, curl and the
  ``resolver`` client send neither header.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARDS = ("0.0.0.0", "::", "")


def _split_host(authority: str) -> str:
    """The host of ``host[:port]`` or ``[v6]:port``, lower-cased."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1:].partition("]")[0]
    if authority.count(":") > 1:  # a bare IPv6 address
        return authority
    return authority.partition(":")[0]


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _port(authority: str) -> int | str | None:
    """The port a ``Host`` header names (None when it names none)."""
    authority = authority.strip()
    tail = authority.rpartition("]")[2] if authority.startswith("[") else authority
    if not authority.startswith("[") and tail.count(":") != 1:
        return None  # a bare name, or a bare IPv6 address
    digits = tail.rpartition(":")[2]
    if not digits:
        return None
    return int(digits) if digits.isdigit() else digits  # garbled: matches no origin


def is_loopback_host(host: str) -> bool:
    """``localhost`` (or a ``*.localhost`` name) or a loopback address."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RequestGuard:
    """Decides whether a request's ``Host`` and ``Origin`` are acceptable."""

    def __init__(self, listen_host: str, allowed_hosts: tuple[str, ...] = ()):
        self.listen_host = listen_host.strip("[]").lower()
        self.allowed = {h.lower() for h in allowed_hosts}
        if self.listen_host not in WILDCARDS:
            self.allowed.add(self.listen_host)
        #: Listening on every address with no names given: any Host will do
        #: (such a service needs a token for every change anyway).
        self.any_host = self.listen_host in WILDCARDS and not allowed_hosts

    def host_allowed(self, host: str) -> bool:
        if self.any_host:
            return True
        return host in self.allowed or is_loopback_host(host)

    def refuse_host(self, host_header: str | None) -> str | None:
        """Why a request with this ``Host`` header is refused, or ``None``."""
        if not host_header:
            return None  # HTTP/1.0 without Host: not a browser
        host = _split_host(host_header)
        if self.host_allowed(host):
            return None
        return (f"Host {host_header!r} is not this service's address "
                "(add it with --allowed-host if it is)")

    def refuse_origin(self, origin: str | None, fetch_site: str | None,
                      host_header: str | None = None) -> str | None:
        """Why a mutating request from this origin is refused, or ``None``.

        An origin is foreign unless it names this service: a loopback or
        allowed name, or (listening on every address) the request's own Host.
        """
        if fetch_site and fetch_site.lower() == "cross-site":
            return "cross-site requests may not change plugins"
        if not origin:
            return None
        if origin == "null":
            return "requests from an opaque origin may not change plugins"
        parts = urlsplit(origin)
        host = parts.hostname
        try:
            port = parts.port if parts.port != _DEFAULT_PORTS.get(parts.scheme) else None
        except ValueError:  # "http://127.0.0.1:80.evil.example": no browser sends it
            host = None
        if self.any_host:
            ours = host is not None and host_header is not None and host == _split_host(host_header)
        else:
            ours = host is not None and self.host_allowed(host.lower())
        # Another port is another origin: a page served by some other local
        # program (a dev server, a notebook) must not change plugins either.
        # A default port is left out on both sides (a TLS proxy in front
        # sends "Host: name" for "https://name").
        if ours and host_header:
            host_port = _port(host_header)
            ours = port == (None if host_port in _DEFAULT_PORTS.values() else host_port)
        if not ours:
            return f"requests from origin {origin!r} may not change plugins"
        return None
