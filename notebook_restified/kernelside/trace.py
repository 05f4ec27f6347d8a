"""What one call reports about its cells, when asked (``"events"``, ``"record"`` in the
request): live events as it runs, and each cell's outputs and timing with the reply.

- Events go to a sink the caller gives (the fork server's socket, or the kernel's iopub
  channel): ``{"kind": "cell", "state": "started" | "finished", ...}`` as each cell starts
  and ends, and ``{"kind": "output", "stream", "text"}`` for stdout and stderr as they are
  written.
- The record is a list of ``{"position", "index", "id", "started", "duration", "ok",
  "stdout", "stderr", "displays"}``, one per cell that ran, for the executed notebook.

A call that asks for neither gets no trace at all: its cost is unchanged. A call that asks
for the record only if it fails (``"record": "errors"``, how synchronous calls are recorded
by default) gets an :class:`ErrorTrace`: where each cell's output starts, and nothing else
until the call fails.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

#: The MIME type of an event published on a kernel's iopub channel (kernel isolation).
EVENT_MIME = "application/vnd.notebook-restified.event+json"
#: Characters of live output one call may stream; past it one notice, then nothing (the
#: reply still carries the output, cut as usual).
STREAM_LIMIT = 100_000
#: Characters of one cell's recorded stdout or stderr.
RECORD_TEXT_LIMIT = 100_000
#: Characters of display data (all cells together) a record keeps; past it text only.
RECORD_DISPLAY_LIMIT = 5_000_000
#: Display outputs one call's record keeps.
RECORD_DISPLAYS_MAX = 50

_DISPLAY_TYPES = (
    "text/plain",
    "text/html",
    "text/markdown",
    "text/latex",
    "image/png",
    "image/jpeg",
    "image/svg+xml",
)

Sink = Callable[[dict[str, Any]], None]


class _Tee(io.TextIOBase):
    """A captured stream that writes through to the call's own (bounded) capture and
    reports each write to the trace: as an ``output`` event, and to the cell's record."""

    def __init__(self, name: str, trace: CallTrace, target: io.TextIOBase) -> None:
        super().__init__()
        self._name = name
        self._trace = trace
        self._target = target

    def write(self, text: str) -> int:
        written = self._target.write(text)
        self._trace.output(self._name, text)
        self._trace.note(self._name, text)
        return written

    def flush(self) -> None:
        self._target.flush()
        self._trace.flush_output()

    def writable(self) -> bool:
        return True


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "\n[... cut]"


def _display_item(item: Any, budget: int) -> tuple[dict[str, Any] | None, int]:
    """An nbformat ``display_data`` output of a captured display, within ``budget``
    characters of data (past it, its text only)."""
    data = getattr(item, "data", None)
    metadata = getattr(item, "metadata", None)
    if isinstance(item, dict):
        data, metadata = item.get("data"), item.get("metadata")
    if not isinstance(data, dict):
        return None, 0
    kept: dict[str, Any] = {}
    for mime in _DISPLAY_TYPES:
        value = data.get(mime)
        if isinstance(value, str):
            kept[mime] = value
    if "application/json" in data:
        try:
            json.dumps(data["application/json"], allow_nan=False)
            kept["application/json"] = data["application/json"]
        except (TypeError, ValueError):
            pass
    size = sum(len(v) if isinstance(v, str) else 1000 for v in kept.values())
    if size > budget:
        kept = {"text/plain": _cut(str(data.get("text/plain", "")), 1000)}
        size = len(kept["text/plain"])
    clean_metadata: dict[str, Any] = {}
    if isinstance(metadata, dict):
        try:
            json.dumps(metadata, allow_nan=False)
            clean_metadata = metadata
        except (TypeError, ValueError):
            pass
    return {"output_type": "display_data", "data": kept, "metadata": clean_metadata}, size


def _display_outputs(items: list[Any], budget: int) -> tuple[list[dict[str, Any]], int]:
    """One cell's captured displays as nbformat outputs, within ``budget`` characters of
    data (past it, text only), at most :data:`RECORD_DISPLAYS_MAX`; and the budget left."""
    outputs: list[dict[str, Any]] = []
    for item in items:
        if len(outputs) >= RECORD_DISPLAYS_MAX:
            break
        output, size = _display_item(item, budget)
        if output is not None:
            budget = max(0, budget - size)
            outputs.append(output)
    return outputs, budget


class CallTrace:
    """Events and the per-cell record of one call.

    ``emit``: where live events go (``None``: no events); ``record``: whether each cell's
    outputs and timing are kept for the reply.
    """

    def __init__(self, emit: Sink | None, record: bool) -> None:
        self.emit = emit
        self.record = record
        self.started = time.perf_counter()
        self.cells: list[dict[str, Any]] = []
        self.displays: list[Any] = []
        # The current cell's output, for its record: at most RECORD_TEXT_LIMIT (+1) each.
        self._texts: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._text_sizes = {"stdout": 0, "stderr": 0}
        self._streamed = 0
        # Output not sent yet: (stream, parts); sent at a line's end, a flush, a cell's end.
        self._pending: tuple[str, list[str]] | None = None
        self._cell_started = 0.0
        self._display_mark = 0
        self._display_budget = RECORD_DISPLAY_LIMIT

    @classmethod
    def for_request(
        cls, request: dict[str, Any], emit: Sink | None
    ) -> CallTrace | ErrorTrace | None:
        """The trace a request asks for, or ``None`` (no events, no record)."""
        wants_events = bool(request.get("events")) and emit is not None
        record = request.get("record")
        if not wants_events and record == "errors":
            return ErrorTrace()
        if not wants_events and not record:
            return None
        return cls(emit if wants_events else None, bool(record))

    def keeps(self, reply: dict[str, Any]) -> bool:
        """Whether ``reply`` carries the record (``"cells"``)."""
        return self.record

    def wrap(self, out: io.TextIOBase, err: io.TextIOBase) -> tuple[io.TextIOBase, io.TextIOBase]:
        """Streams for the cells' stdout and stderr that write to ``out`` and ``err`` and
        report to this trace."""
        return _Tee("stdout", self, out), _Tee("stderr", self, err)

    def note(self, stream: str, text: str) -> None:
        """Keep ``text`` written to ``stream`` in the current cell's record (its head)."""
        if not self.record:
            return
        room = RECORD_TEXT_LIMIT + 1 - self._text_sizes[stream]
        if room > 0 and text:
            part = text[:room]
            self._texts[stream].append(part)
            self._text_sizes[stream] += len(part)

    def _cell_text(self, stream: str) -> str:
        return _cut("".join(self._texts[stream]), RECORD_TEXT_LIMIT)

    def _send(self, event: dict[str, Any]) -> None:
        if self.emit is None:
            return
        try:
            self.emit(event)
        except Exception:  # the listener went away: the call goes on without events
            self.emit = None

    def start(self, position: int, cell: dict[str, Any]) -> None:
        """Cell ``position`` (in the call's cells) starts."""
        now = time.perf_counter()
        self._cell_started = now
        self._texts = {"stdout": [], "stderr": []}
        self._text_sizes = {"stdout": 0, "stderr": 0}
        self._display_mark = len(self.displays)
        self._send(
            {
                "kind": "cell",
                "state": "started",
                "position": position,
                "index": cell.get("index"),
                "id": cell.get("id"),
                "at": now - self.started,
            }
        )

    def finish(self, position: int, cell: dict[str, Any], ok: bool) -> None:
        """Cell ``position`` ended (``ok``: without raising)."""
        self.flush_output()
        now = time.perf_counter()
        duration = now - self._cell_started
        if self.record:
            displays, self._display_budget = _display_outputs(
                self.displays[self._display_mark :], self._display_budget
            )
            self.cells.append(
                {
                    "position": position,
                    "index": cell.get("index"),
                    "id": cell.get("id"),
                    "started": self._cell_started - self.started,
                    "duration": duration,
                    "ok": ok,
                    "stdout": self._cell_text("stdout"),
                    "stderr": self._cell_text("stderr"),
                    "displays": displays,
                }
            )
        self._send(
            {
                "kind": "cell",
                "state": "finished",
                "position": position,
                "index": cell.get("index"),
                "id": cell.get("id"),
                "at": now - self.started,
                "seconds": duration,
                "ok": ok,
            }
        )

    def output(self, stream: str, text: str) -> None:
        """``text`` was written to ``stream`` (``stdout`` or ``stderr``): sent at the end
        of a line (or a carriage return, a flush, 4 KiB), in the order written."""
        if self.emit is None or not text or self._streamed > STREAM_LIMIT:
            return
        if self._pending is not None and self._pending[0] != stream:
            self.flush_output()
        if self._pending is None:
            self._pending = (stream, [])
        parts = self._pending[1]
        parts.append(text)
        if "\n" in text or "\r" in text or sum(map(len, parts)) >= 4096:
            self.flush_output()

    def flush_output(self) -> None:
        """Send the output not sent yet."""
        if self._pending is None:
            return
        stream, parts = self._pending
        self._pending = None
        text = "".join(parts)
        self._streamed += len(text)
        if self._streamed > STREAM_LIMIT:
            text = text[: max(0, len(text) - (self._streamed - STREAM_LIMIT))]
            text += "\n[... live output cut; the full output comes with the result]\n"
        self._send({"kind": "output", "stream": stream, "text": text})


class ErrorTrace:
    """The record of a call, made only if the call fails (``"record": "errors"``): while
    it runs, only where each cell's output starts (characters written so far to the
    call's bounded streams, displays so far) and its timing; no stream is wrapped.

    A failed call's record has each cell's own stdout and stderr when the captured text
    was kept whole; when it was cut (past the output limit), the text kept goes with the
    last cell that ran.
    """

    emit = None
    record = True

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.displays: list[Any] = []
        # position, cell, started, stdout mark, stderr mark, displays mark, duration, ok
        self._marks: list[list[Any]] = []
        self._out: Any = None
        self._err: Any = None

    def wrap(self, out: io.TextIOBase, err: io.TextIOBase) -> tuple[io.TextIOBase, io.TextIOBase]:
        """The streams themselves (their ``written`` counts mark where a cell starts)."""
        self._out, self._err = out, err
        return out, err

    def _written(self, stream: Any) -> int:
        return int(getattr(stream, "written", 0))

    def start(self, position: int, cell: dict[str, Any]) -> None:
        """Cell ``position`` starts: note where its output starts."""
        self._marks.append(
            [
                position,
                cell,
                time.perf_counter(),
                self._written(self._out),
                self._written(self._err),
                len(self.displays),
                0.0,
                False,
            ]
        )

    def finish(self, position: int, cell: dict[str, Any], ok: bool) -> None:
        """Cell ``position`` ended (``ok``: without raising)."""
        mark = self._marks[-1]
        mark[6] = time.perf_counter() - mark[2]
        mark[7] = ok

    def keeps(self, reply: dict[str, Any]) -> bool:
        """Only a call that did not succeed carries its record."""
        return reply.get("status") != "ok"

    def _texts(self, stream: Any, index: int) -> list[str]:
        """Each cell's text of ``stream`` (``index``: the mark's column)."""
        count = len(self._marks)
        if stream is None:
            return [""] * count
        text = stream.getvalue()
        if len(text) != self._written(stream):  # cut: the text kept goes with the last cell
            return [""] * (count - 1) + [_cut(text, RECORD_TEXT_LIMIT)] if count else []
        ends = [mark[index] for mark in self._marks[1:]] + [len(text)]
        return [
            _cut(text[mark[index] : end], RECORD_TEXT_LIMIT)
            for mark, end in zip(self._marks, ends, strict=True)
        ]

    @property
    def cells(self) -> list[dict[str, Any]]:
        """The per-cell record, as :class:`CallTrace` makes it."""
        stdout, stderr = self._texts(self._out, 3), self._texts(self._err, 4)
        budget = RECORD_DISPLAY_LIMIT
        cells = []
        for i, mark in enumerate(self._marks):
            position, cell, started, _, _, display_mark, duration, ok = mark
            end = self._marks[i + 1][5] if i + 1 < len(self._marks) else len(self.displays)
            displays, budget = _display_outputs(self.displays[display_mark:end], budget)
            cells.append(
                {
                    "position": position,
                    "index": cell.get("index"),
                    "id": cell.get("id"),
                    "started": started - self.started,
                    "duration": duration,
                    "ok": ok,
                    "stdout": stdout[i],
                    "stderr": stderr[i],
                    "displays": displays,
                }
            )
        return cells
