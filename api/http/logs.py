"""The server's log lines: one per request (``vba.http``), one per step of an auction's life
(``vba.events``), and whatever else logs (errors, uvicorn), all on stderr.

A line has the time (UTC), the level, the logger, a short message, the request id when
there is a request, and the record's ``fields`` (``extra={"fields": {...}}``):

- ``text`` (default), for a person: ``2026-11-26T12:00:00.123Z INFO vba.http request
  method=GET route=/auctions status=200 duration_ms=3.1 request_id=…``;
- ``json``, one object per line for a log collector, the fields as members.

The stdlib's logging with two small formatters is enough: structlog or
python-json-logger would add a dependency for the twenty lines below. ``configure`` is
called where a server starts (``vba serve``, ``app_from_env``), never on import: tests and
programs that embed the app keep their own logging.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from api.http import requestid

FORMATS = ("text", "json")
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def _time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def facts(record: logging.LogRecord) -> dict[str, Any]:
    """The record's fields, with the id of the request it was logged in."""
    fields: dict[str, Any] = dict(getattr(record, "fields", None) or {})
    if "request_id" not in fields:
        request_id = requestid.current()
        if request_id is not None:
            fields["request_id"] = request_id
    return fields


def _text_value(value: object) -> str:
    text = str(value) if isinstance(value, str) else json.dumps(value, default=str)
    # A value with a space or a quote is quoted, so that a line splits back into its fields.
    return json.dumps(text) if not text or any(c in text for c in ' "=\n') else text


class TextFormatter(logging.Formatter):
    """``time LEVEL logger message key=value …``, then the traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        pairs = "".join(f" {k}={_text_value(v)}" for k, v in facts(record).items())
        line = f"{_time(record)} {record.levelname} {record.name} {record.getMessage()}{pairs}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``message``, the fields,
    and ``exc`` (the traceback) for a record logged with an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((k, v) for k, v in facts(record).items() if k not in line)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def formatter(log_format: str) -> logging.Formatter:
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r} is not one of {', '.join(FORMATS)}")
    return JsonFormatter() if log_format == "json" else TextFormatter()


def handler(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """A handler writing ``log_format`` lines to ``stream`` (stderr by default)."""
    out = logging.StreamHandler(sys.stderr if stream is None else stream)
    out.setFormatter(formatter(log_format))
    return out


def configure(log_format: str, level: str = "info") -> None:
    """Make this process's logging the server's: every logger's lines through one handler
    on stderr in ``log_format``, at ``level`` and above."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(log_format))
    root.setLevel(LEVELS[level])
