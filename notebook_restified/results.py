"""What a call answered, as the server sees it: the kernel side's reply turned into a
:class:`CallResult` (its JSON value, PNG or CSV), or the contract's execution error.

The value itself is encoded where the call ran (``kernelside/encoder.py``); this module
only reads that encoding.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ExecutionError, ResultTooLarge


@dataclass(frozen=True)
class CallResult:
    """The outcome of one successful call."""

    value: Any
    """The return value as natural JSON (``None`` for an image or when nothing returns)."""
    kind: str = "json"
    """``"json"``, ``"image"`` (see :attr:`png`) or ``"table"`` (see :attr:`csv`)."""
    png: bytes | None = None
    csv: str | None = None
    is_repr: bool = False
    """The value had no JSON form; :attr:`value` is its ``repr``."""
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    has_value: bool = True

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
        png = result.get("png")
        return cls(
            value=result.get("json"),
            kind=str(result.get("kind", "json")),
            png=base64.b64decode(png) if png else None,
            csv=result.get("csv"),
            is_repr=bool(result.get("repr")),
            stdout=str(reply.get("stdout", "")),
            stderr=str(reply.get("stderr", "")),
            duration=duration,
            has_value=bool(reply.get("has_value", True)),
        )
