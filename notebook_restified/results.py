"""What a call answered, as the server sees it: the kernel side's reply turned into a
:class:`CallResult` (its JSON value, PNG or CSV), or the contract's execution error.

The value itself is encoded where the call ran (``kernelside/encoder.py``); this module
only reads that encoding.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from .errors import ExecutionError, ResultTooLarge

_UNSET: Any = object()


class CallResult:
    """The outcome of one successful call.

    Its JSON form is kept as the text the call sent when there is one (``json_text``), and
    read as a value only when :attr:`value` is asked for: the endpoint sends the text as it
    came, without decoding and encoding it again.
    """

    kind: str
    """``"json"``, ``"image"`` (see :attr:`png`) or ``"table"`` (see :attr:`csv`)."""
    png: bytes | None
    is_repr: bool
    """The value had no JSON form; :attr:`value` is its ``repr``."""
    stdout: str
    stderr: str
    duration: float
    has_value: bool
    media: str | None
    """The one media type the result was encoded as, when the call asked for one
    (:attr:`narrowed`); ``None`` then means the caller accepts no form of this kind."""
    narrowed: bool
    """Whether only the form wanted was encoded (else every form of the kind was)."""

    def __init__(
        self,
        value: Any = _UNSET,
        kind: str = "json",
        png: bytes | None = None,
        csv: str | None = None,
        is_repr: bool = False,
        stdout: str = "",
        stderr: str = "",
        duration: float = 0.0,
        has_value: bool = True,
        *,
        json_text: bytes | None = None,
        csv_bytes: bytes | None = None,
        media: str | None = None,
        narrowed: bool = False,
    ) -> None:
        self.kind = kind
        self.png = png
        self.is_repr = is_repr
        self.stdout = stdout
        self.stderr = stderr
        self.duration = duration
        self.has_value = has_value
        self.media = media
        self.narrowed = narrowed
        self._value = value
        self._json_text = json_text
        self._csv = csv
        self._csv_bytes = csv_bytes

    def __repr__(self) -> str:
        return (
            f"CallResult(kind={self.kind!r}, media={self.media!r}, has_value={self.has_value},"
            f" duration={self.duration:.3f})"
        )

    @property
    def value(self) -> Any:
        """The return value as natural JSON (``None`` for an image, when nothing returns, or
        when only another form was encoded)."""
        if self._value is _UNSET:
            self._value = json.loads(self._json_text) if self._json_text is not None else None
        return self._value

    @property
    def json_text(self) -> bytes:
        """The value's JSON text (UTF-8) as the endpoint sends it."""
        if self._json_text is None:
            text = json.dumps(self.value, allow_nan=False, ensure_ascii=False)
            try:
                self._json_text = text.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: escaped, as the kernel side does
                self._json_text = json.dumps(self.value, allow_nan=False).encode("ascii")
        return self._json_text

    @property
    def csv(self) -> str | None:
        """The table as CSV text (a table's, when its CSV was encoded), else ``None``."""
        if self._csv is None and self._csv_bytes is not None:
            self._csv = self._csv_bytes.decode("utf-8", "surrogateescape")
        return self._csv

    @property
    def csv_bytes(self) -> bytes | None:
        """The CSV as UTF-8, as the endpoint sends it."""
        if self._csv_bytes is None and self._csv is not None:
            self._csv_bytes = self._csv.encode("utf-8", "surrogateescape")
        return self._csv_bytes

    def body(self, media: str) -> bytes:
        """The bytes sent for ``media`` (``application/json``, ``text/csv``, ``image/png``)."""
        if media == "image/png":
            return self.png or b""
        if media == "text/csv":
            return self.csv_bytes or b""
        return self.json_text

    @classmethod
    def from_reply(cls, reply: Mapping[str, Any], duration: float) -> CallResult:
        """Build from the runtime's reply; raise ExecutionError for a failed call and
        ResultTooLarge for a result the kernel side refused to send."""
        if reply.get("status") == "too_large":
            error = reply.get("error") or {}
            raise ResultTooLarge(limit=int(error.get("limit", 0)), size=error.get("size"))
        if reply.get("status") != "ok":
            error = reply.get("error") or {}
            raise ExecutionError(
                cell_index=error.get("cell_index"),
                cell_id=error.get("cell_id"),
                ename=str(error.get("ename", "")),
                evalue=str(error.get("evalue", "")),
                traceback=error.get("traceback", []),
                stdout=reply.get("stdout", ""),
                stderr=reply.get("stderr", ""),
            )
        result = reply.get("result") or {}
        common: dict[str, Any] = {
            "kind": str(result.get("kind", "json")),
            "is_repr": bool(result.get("repr")),
            "stdout": str(reply.get("stdout", "")),
            "stderr": str(reply.get("stderr", "")),
            "duration": duration,
            "has_value": bool(reply.get("has_value", True)),
            "media": result.get("media"),
            "narrowed": "media" in result,
        }
        payload = result.get("payload")
        if isinstance(payload, Mapping):  # the forms as the bytes the call sent
            return cls(
                json_text=payload.get("json"),
                png=payload.get("png"),
                csv_bytes=payload.get("csv"),
                **common,
            )
        png = result.get("png")
        return cls(
            value=result.get("json"),
            png=base64.b64decode(png) if png else None,
            csv=result.get("csv"),
            **common,
        )
