"""The server's log: the extension's lines shown at the server's log level, and every line
of the server's loggers kept free of secrets and of forged lines.

Tornado's own lines (request summaries on errors, uncaught exceptions) quote a request's
full URI, where a ``?key=`` or ``?token=`` sits; a request path can hold a newline (``%0A``)
that would start a line of its own. :class:`LogHygiene` rewrites each record once, before any
handler writes it: secrets become ``[secret]``, control characters in the values logged
become escapes.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from jupyter_server.base.call_context import CallContext

#: The loggers the filter is installed on (tornado's keep these names as objects, even
#: after the server renames them ``ServerApp``).
TORNADO_LOGGERS = ("tornado.access", "tornado.application", "tornado.general")
EXTENSION_LOGGER = "notebook_restified"

REDACTED = "[secret]"
# `key=...`, `token=...` (and `api_key=`, `_token=`...) in a URI or a message.
# A name starts where no name character precedes it, and is short: a long run of word
# characters (a 10 MB error message) must not make the match quadratic.
_PARAMETER = re.compile(
    r"(?i)(?<![\w.-])([\w.-]{0,40}(?:key|token)=)(?!\[secret\])[^&\s'\"#<>,;)\]}]+"
)
# An Authorization header's value, as `Authorization: ...`, `'Authorization': '...'` or
# `Authorization=...`.
_AUTHORIZATION = re.compile(
    r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?!\[secret\])[^'\"\r\n,;}]+"
)
# An endpoint key anywhere, even glued to what precedes it (`next=%2Flab%3Fkey%3Dnrk_...`
# in a redirect's URL): its id is not secret, the rest is.
_ENDPOINT_KEY = re.compile(r"(nrk_[0-9a-f]{1,32}_)[A-Za-z0-9_-]+")
# C0 and C1 control characters and Unicode line separators: each could end a log line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def scrub(text: str, *, tokens: bool = True) -> str:
    """``text`` with key and token values and Authorization header values made
    ``[secret]`` (``tokens=False`` leaves ``token=`` values)."""

    def parameter(match: re.Match[str]) -> str:
        name = match.group(1)
        if not tokens and name.lower().endswith("token="):
            return match.group(0)
        return f"{name}{REDACTED}"

    # Parameters first: a `key=nrk_...` value goes whole, not as the key's id and a marker.
    text = _PARAMETER.sub(parameter, text)
    text = _AUTHORIZATION.sub(rf"\g<1>{REDACTED}", text)
    return _ENDPOINT_KEY.sub(rf"\g<1>{REDACTED}", text)


def escape_controls(text: str) -> str:
    """``text`` with each control character as its escape (``\\n``, ``\\x1b``, ...)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _safe_arg(value: Any) -> Any:
    # Values come from requests (paths, URIs, error messages): one line each, always.
    if isinstance(value, (str, BaseException)):
        return escape_controls(str(value))
    return value


class LogHygiene(logging.Filter):
    """Rewrites a record once: its values' control characters escaped, then secrets in the
    message, the traceback and the stack made ``[secret]``.

    With ``keep_startup_token``, a line logged outside any request keeps ``token=`` values:
    the URL with the token that the server prints when it starts is meant to be copied.
    """

    def __init__(self, *, keep_startup_token: bool = False) -> None:
        super().__init__()
        self.keep_startup_token = keep_startup_token

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place (each record once); never drops one."""
        if getattr(record, "_restified_clean", False):
            return True
        tokens = not (
            self.keep_startup_token and CallContext.get(CallContext.JUPYTER_HANDLER) is None
        )
        try:
            if record.args:
                args = record.args
                if isinstance(args, dict):
                    safe: Any = {k: _safe_arg(v) for k, v in args.items()}
                else:
                    safe = tuple(_safe_arg(v) for v in args)
                message = str(record.msg) % safe
            else:
                message = str(record.msg)
        except (TypeError, ValueError, KeyError):  # a malformed call: keep what it said
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = scrub(message, tokens=tokens), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, tokens=tokens)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, tokens=tokens)
        record._restified_clean = True
        return True


class ToServerLog(logging.Handler):
    """Hands the extension's records to the server's log, so they are written where and as
    the server's own lines are (the server's logger does not propagate to the root)."""

    def __init__(self, server_log: logging.Logger) -> None:
        super().__init__()
        self.server_log = server_log
        self.addFilter(LogHygiene())

    def emit(self, record: logging.LogRecord) -> None:
        """Pass ``record`` to the server's logger and its handlers."""
        self.server_log.handle(record)


def _add_filter(target: logging.Filterer, **options: bool) -> None:
    if not any(isinstance(f, LogHygiene) for f in target.filters):
        target.addFilter(LogHygiene(**options))


def install(server_log: logging.Logger) -> None:
    """At extension load: the extension logs at the server's level through the server's
    log, and every record of the server's loggers is cleaned before it is written."""
    for name in TORNADO_LOGGERS:
        _add_filter(logging.getLogger(name))
    _add_filter(server_log, keep_startup_token=True)
    for handler in server_log.handlers:
        _add_filter(handler, keep_startup_token=True)
    extension = logging.getLogger(EXTENSION_LOGGER)
    extension.setLevel(server_log.getEffectiveLevel())
    for handler in list(extension.handlers):  # one server's handler at a time (tests make many)
        if isinstance(handler, ToServerLog):
            extension.removeHandler(handler)
    extension.addHandler(ToServerLog(server_log))
