"""Domain errors: each one carries its HTTP status and its contract ``type``.

Every layer (spec, parameters, executors, handlers, CLI) raises these; the HTTP handlers turn
them into ``{"error": {"type": ..., "message": ..., ...}}`` with :attr:`RestifiedError.status`,
and the CLI prints the same JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "Busy",
    "CallTimeout",
    "ExecutionError",
    "InvalidNotebook",
    "InvalidParameters",
    "InvalidRequest",
    "KernelDied",
    "KeyRefused",
    "KeysUnavailable",
    "NotAcceptable",
    "NotFinished",
    "NotFound",
    "RateLimited",
    "RestifiedError",
    "ResultTooLarge",
    "RunCancelled",
    "RunInterrupted",
    "TooLarge",
    "error_from_json",
    "strip_ansi",
]

# CSI sequences (colours, cursor moves) and the two-character escapes IPython's tracebacks use.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (terminal colours) from ``text``."""
    return _ANSI.sub("", text)


def _restore(cls: type[RestifiedError], message: str, state: dict[str, Any]) -> RestifiedError:
    """Rebuild a pickled error without calling its (subclass-specific) ``__init__``."""
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class RestifiedError(Exception):
    """Base of every error the extension reports to a caller.

    ``extra`` keyword arguments become additional members of the JSON error object.
    """

    status: int = 500
    type: str = "error"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message: str = message
        self.extra: dict[str, Any] = dict(extra)

    def to_json(self) -> dict[str, Any]:
        """The error as the contract's JSON body: ``{"error": {"type", "message", ...}}``."""
        body: dict[str, Any] = {"type": self.type, "message": self.message}
        for key, value in self.extra.items():
            body.setdefault(key, value)
        return {"error": body}

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's default pickling replays __init__(*args), which the subclasses'
        # keyword-only signatures do not accept; restore the attributes directly instead.
        return (_restore, (type(self), self.message, dict(self.__dict__)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidRequest(RestifiedError):
    """The request itself is malformed (body is not JSON, not an object, ...)."""

    status = 400
    type = "invalid_request"


class TooLarge(RestifiedError):
    """The request body is larger than the server accepts."""

    status = 413
    type = "too_large"


class NotFound(RestifiedError):
    """No such notebook."""

    status = 404
    type = "not_found"


class InvalidNotebook(RestifiedError):
    """The notebook's tags or parameters cell do not make a function.

    :attr:`cells` lists the indices (in ``nb.cells``) of the cells at fault.
    """

    status = 409
    type = "invalid_notebook"

    def __init__(self, message: str, *, cells: Iterable[int] = (), **extra: Any) -> None:
        self.cells: list[int] = list(cells)
        super().__init__(message, cells=self.cells, **extra)


class InvalidParameters(RestifiedError):
    """One or more request values are unknown, unparsable or of the wrong type.

    :attr:`details` has one ``{"name": ..., "problem": ...}`` entry per problem.
    """

    status = 422
    type = "invalid_parameters"

    #: At most this many problems are listed; the message counts the rest (a body of a
    #: million unknown names must not make an answer larger than itself).
    MAX_DETAILS = 50
    #: A name longer than this is shown cut, ending with an ellipsis.
    MAX_NAME = 200

    def __init__(
        self, details: Sequence[Mapping[str, str]], message: str | None = None, **extra: Any
    ) -> None:
        self.details: list[dict[str, str]] = [
            {"name": _cut(str(d["name"]), self.MAX_NAME), "problem": str(d["problem"])}
            for d in details[: self.MAX_DETAILS]
        ]
        if message is None:
            message = "Invalid parameters: " + "; ".join(
                f"{d['name']}: {d['problem']}" for d in self.details
            )
            if len(details) > self.MAX_DETAILS:
                message += f"; and {len(details) - self.MAX_DETAILS} more problems"
        super().__init__(message, details=self.details, **extra)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class NotAcceptable(RestifiedError):
    """The result cannot be given in any media type the caller's ``Accept`` allows."""

    status = 406
    type = "not_acceptable"


class ExecutionError(RestifiedError):
    """A cell raised while the notebook ran.

    ``traceback`` is stored as plain lines: ANSI colour codes are removed and multi-line
    entries (as IPython sends them, one per frame) are split.
    """

    status = 500
    type = "execution_error"

    def __init__(
        self,
        message: str | None = None,
        *,
        cell_index: int | None = None,
        cell_id: str | None = None,
        ename: str = "",
        evalue: str = "",
        traceback: Iterable[str] = (),
        **extra: Any,
    ) -> None:
        self.cell_index: int | None = cell_index
        self.cell_id: str | None = cell_id
        self.ename: str = strip_ansi(ename)
        self.evalue: str = strip_ansi(evalue)
        self.traceback: list[str] = [
            line for entry in traceback for line in strip_ansi(entry).splitlines()
        ]
        if message is None:
            where = f" in cell {cell_index}" if cell_index is not None else ""
            message = f"{self.ename or 'Error'}{where}: {self.evalue}"
        super().__init__(
            message,
            cell_index=self.cell_index,
            cell_id=self.cell_id,
            ename=self.ename,
            evalue=self.evalue,
            traceback=self.traceback,
            **extra,
        )


class KernelDied(RestifiedError):
    """The kernel process died during the call."""

    status = 502
    type = "kernel_died"

    def __init__(self, message: str = "The kernel died during the call.", **extra: Any) -> None:
        super().__init__(message, **extra)


class ResultTooLarge(RestifiedError):
    """The call's result, encoded, is larger than the server accepts (``max_result_size``).

    502, as for a gateway whose upstream (here the process that ran the call) answered
    with a response it will not pass on: the request was valid, the call's answer was not.
    :attr:`limit` is the limit in bytes, :attr:`size` what was counted when encoding stopped
    past it (a lower bound of the whole).
    """

    status = 502
    type = "result_too_large"

    def __init__(
        self, message: str | None = None, *, limit: int, size: int | None = None, **extra: Any
    ) -> None:
        self.limit: int = limit
        self.size: int | None = size
        if message is None:
            message = (
                f"The call produced a result larger than the server accepts ({limit} bytes"
                " encoded, max_result_size); return less, or raise the limit."
            )
        super().__init__(message, limit=limit, size=size, **extra)


class RetryLater(RestifiedError):
    """Refused for now: the caller may retry after :attr:`retry_after` seconds (the
    response's ``Retry-After``)."""

    def __init__(self, message: str, *, retry_after: int, **extra: Any) -> None:
        self.retry_after: int = retry_after
        super().__init__(message, retry_after=retry_after, **extra)


class Busy(RetryLater):
    """The call queue is full; the caller should retry after :attr:`retry_after` seconds."""

    status = 503
    type = "busy"

    def __init__(
        self, message: str = "The server is busy; retry later.", *, retry_after: int = 1
    ) -> None:
        super().__init__(message, retry_after=retry_after)


class CallTimeout(RestifiedError):
    """The call ran past :attr:`time_limit` seconds and was stopped."""

    status = 504
    type = "timeout"

    def __init__(self, message: str | None = None, *, time_limit: float, **extra: Any) -> None:
        self.time_limit: float = time_limit
        if message is None:
            message = f"The call ran past its time limit of {time_limit:g} s and was stopped."
        super().__init__(message, time_limit=time_limit, **extra)


class KeyRefused(RestifiedError):
    """The presented key does not open this endpoint (unknown, revoked, expired, other path)."""

    status = 403
    type = "forbidden"


class KeysUnavailable(RestifiedError):
    """The keys file cannot be read, so keys can be neither checked nor changed."""

    status = 503
    type = "keys_unavailable"


class RateLimited(RetryLater):
    """The key made more calls than its rate allows; retry after :attr:`retry_after` s."""

    status = 429
    type = "rate_limited"


# --- asynchronous runs ---------------------------------------------------------------------


class NotFinished(RestifiedError):
    """The run's result was asked for while it is still queued or running."""

    status = 409
    type = "not_finished"


class RunCancelled(RestifiedError):
    """The run was cancelled before it ended: it has no result."""

    status = 409
    type = "cancelled"


class RunInterrupted(RestifiedError):
    """The server stopped while the run was in flight: it never ended."""

    status = 500
    type = "interrupted"


def _error_classes() -> dict[str, type[RestifiedError]]:
    classes: dict[str, type[RestifiedError]] = {}
    stack: list[type[RestifiedError]] = [RestifiedError]
    while stack:
        cls = stack.pop(0)
        classes.setdefault(cls.type, cls)
        stack.extend(cls.__subclasses__())
    return classes


def error_from_json(fields: Mapping[str, Any], status: int | None = None) -> RestifiedError:
    """The error an error object (``{"type", "message", ...}``, the ``error`` member of an
    error body) stands for, as the class of its ``type`` with its fields as attributes;
    an unknown type gives a :class:`RestifiedError` of that type and ``status``."""
    kind = str(fields.get("type", "error"))
    cls = _error_classes().get(kind, RestifiedError)
    message = str(fields.get("message", ""))
    extra = {k: v for k, v in fields.items() if k not in ("type", "message")}
    error = _restore(cls, message, {"message": message, "extra": extra, **extra})
    if cls is RestifiedError:
        error.type = kind
        if status is not None:
            error.status = status
    return error
