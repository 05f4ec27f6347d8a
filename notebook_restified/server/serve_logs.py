"""Log lines of ``jupyter restified serve``: one JSON object a line (``--log-format json``) or the
usual text, an access line per request (method, path, status, duration, endpoint key id),
and secrets (the server's token, endpoint keys, ``token=`` / ``key=`` query values) never
written, whatever logged them."""

from __future__ import annotations

import datetime
import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from .auth import loggable_key_id, presented_key
from .logs import REDACTED, scrub

access_log = logging.getLogger("notebook_restified.access")

#: Fields a record may carry (``extra=``) that a JSON line includes.
FIELDS = ("method", "path", "status", "duration_ms", "key_id", "remote_ip")

_PASSWORD = re.compile(r"(?i)\b(password)=[^&\s'\"]+")


class Redactor:
    """Removes secrets from text: the given ones (the server's token, wherever it shows),
    then what :func:`~notebook_restified.server.logs.scrub` removes from any line, and
    ``password=`` values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by ``[secret]``."""
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = scrub(text)  # an endpoint key keeps its id, which is not secret
        return _PASSWORD.sub(lambda m: f"{m.group(1)}={REDACTED}", text)


class JsonFormatter(logging.Formatter):
    """Each record as one JSON object: ``time``, ``level``, ``logger``, ``message`` and any
    of :data:`FIELDS` it carries (``exception``: the traceback, if any); secrets redacted."""

    def __init__(self, redact: Callable[[str], str] | None = None) -> None:
        super().__init__()
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = self.redact(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = self.redact(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)


class RedactingFormatter(logging.Formatter):
    """Another formatter's text with secrets redacted."""

    def __init__(self, inner: logging.Formatter, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.inner = inner
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        """The inner formatter's text, redacted."""
        return self.redact(self.inner.format(record))


def request_logger(
    quiet_paths: Iterable[str] = (),
    finished: Callable[[Any], None] | None = None,
) -> Callable[[Any], None]:
    """A tornado ``log_function``: one access line per request, with the path (never the
    query), status, duration and the endpoint key id if one was presented. Requests to
    ``quiet_paths`` (health probes) are logged at debug level; ``finished`` is told of every
    request answered."""
    quiet = frozenset(quiet_paths)

    def log_request(handler: Any) -> None:
        request = handler.request
        if finished is not None:
            finished(request)
        status = handler.get_status()
        duration = round(1000.0 * request.request_time(), 1)
        presented = presented_key(request)
        key_id = loggable_key_id(presented[0]) if presented is not None else None
        if request.path in quiet:
            level = logging.DEBUG
        elif status < 400:
            level = logging.INFO
        elif status < 500:
            level = logging.WARNING
        else:
            level = logging.ERROR
        access_log.log(
            level,
            "%s %s %d %.1fms%s",
            request.method,
            request.path,
            status,
            duration,
            f" key {key_id}" if key_id else "",
            extra={
                "method": request.method,
                "path": request.path,
                "status": status,
                "duration_ms": duration,
                "key_id": key_id,
                "remote_ip": request.remote_ip,
            },
        )

    return log_request
