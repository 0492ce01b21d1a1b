"""The service's structured log: one event per line, logfmt or JSON.

Everything the service says goes through ``EventLog``: its own events, the
access log, plugins' ``print`` output and waitress's messages (through
``WaitressBridge``).  Values are escaped so that no plugin output or request
path can forge a line: every control character, DEL, the C1 controls and
the Unicode line and paragraph separators are written as escapes.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from datetime import datetime, timezone

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
LOG_FORMATS = ("logfmt", "json")

#: Events logged above ``info``; everything else is ``info``.
EVENT_LEVELS = {
    "plugin_error": "warning", "unsupported_type": "warning", "plugin_load_failed": "warning",
    "plugin_disabled": "warning", "plugin_rejected": "warning", "log_suppressed": "warning",
    "plugin_output_truncated": "warning", "plugin_output_suppressed": "warning",
    "request_refused": "warning",
    "pods_read_failed": "error", "refresh_failed": "error", "request_failed": "error",
    "shutdown_forced": "error",
}

#: Longest field value written; a plugin's 10 MB error message is cut here.
MAX_FIELD_CHARS = 4096

#: Lifecycle events, written whatever the level: an operator always learns
#: where the service listens and that it stopped.
ALWAYS_LOGGED = {"listening", "shutdown", "shutdown_forced", "stopped"}

#: The last line a log writes: a plugin call that a forced shutdown left
#: running (in a daemon thread) must not report after it.
FINAL_EVENT = "stopped"

#: Characters that must never reach a log line raw.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: What makes a logfmt value need quotes.
_NEEDS_QUOTES = re.compile(r'[\s"=\\]')


def _escape_control(text: str) -> str:
    def escape(match: re.Match) -> str:
        char = match.group()
        named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
        return named or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
    return _CONTROL.sub(escape, text)


def logfmt_value(value) -> str:
    text = str(value)
    if text and not _NEEDS_QUOTES.search(text) and not _CONTROL.search(text):
        return text
    # Backslashes and quotes first, so an escape we add reads as one.
    return '"' + _escape_control(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def _cut(value):
    if isinstance(value, (int, float, bool)):
        return value
    text = str(value)
    if len(text) <= MAX_FIELD_CHARS:
        return text
    return f"{text[:MAX_FIELD_CHARS]}... ({len(text) - MAX_FIELD_CHARS} more characters)"


def _json_line(payload: dict) -> str:
    text = json.dumps(payload, ensure_ascii=False)
    # json.dumps escapes C0 controls itself; DEL, C1 and U+2028/9 it leaves.
    return re.sub("[\x7f-\x9f\u2028\u2029]", lambda m: f"\\u{ord(m.group()):04x}", text)


class EventLog:
    """``log(event, **fields)`` writes one line, if the event's level passes."""

    def __init__(self, stream=None, *, format: str = "logfmt", level: str = "info"):
        if format not in LOG_FORMATS:
            raise ValueError(f"unknown log format {format!r} (logfmt or json)")
        if level not in LEVELS:
            raise ValueError(f"unknown log level {level!r} ({', '.join(LEVELS)})")
        self.stream = stream or sys.stderr
        self.format = format
        self.threshold = LEVELS[level]
        self._lock = threading.Lock()
        self._ended = False

    def enabled(self, level: str) -> bool:
        return LEVELS[level] >= self.threshold

    def __call__(self, event: str, *, level: str | None = None, **fields) -> None:
        level = level or EVENT_LEVELS.get(event, "info")
        if LEVELS[level] < self.threshold and event not in ALWAYS_LOGGED:
            return
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        fields = {key: _cut(value) for key, value in fields.items() if value is not None}
        if self.format == "json":
            payload = {"time": stamp, "level": level, "event": event}
            payload.update(fields)
            line = _json_line(payload)
        else:
            parts = [f"time={stamp}", f"level={level}", f"event={event}"]
            parts += [f"{key}={logfmt_value(value)}" for key, value in fields.items()]
            line = " ".join(parts)
        with self._lock:
            if self._ended:
                return
            self._ended = event == FINAL_EVENT
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass  # a closed or broken stderr must not stop the service


class WaitressBridge(logging.Handler):
    """waitress's ``logging`` messages, as ``waitress`` events in the event log.

    Repeats of one message (waitress logs "Task queue depth is N" on every
    queued task under load) are let through at most once per ``interval``
    seconds; the next one through says how many were held back.
    """

    LOGGERS = ("waitress", "waitress.queue")

    def __init__(self, log: EventLog, interval: float = 10.0):
        super().__init__()
        self.log = log
        self.interval = interval
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        template = str(record.msg)
        now = time.monotonic()
        with self.lock:
            last = self._last.get(template)
            if last is not None and now - last < self.interval:
                self._held[template] = self._held.get(template, 0) + 1
                return
            self._last[template] = now
            held = self._held.pop(template, 0)
        level = "error" if record.levelno >= logging.ERROR else \
            "warning" if record.levelno >= logging.WARNING else "info"
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not break logging
            message = template
        self.log("waitress", level=level, logger=record.name, msg=message, repeats_suppressed=held or None)

    def install(self) -> None:
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            logger.handlers = [self]
            logger.propagate = False
            logger.setLevel(logging.INFO)
