"""What a caller may watch of one call, beyond its result: live events as it runs, and the
per-cell record (outputs and timing) the executed notebook is built from.

A call made without a :class:`CallObserver` asks the kernel side for neither, so its cost
is that of a plain call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

#: Receives each event of a running call: ``{"kind": "cell", "state": "started" |
#: "finished", "position", "index", "id", "at", ["seconds", "ok"]}`` or ``{"kind":
#: "output", "stream": "stdout" | "stderr", "text"}`` (see ``kernelside/trace.py``).
EventSink = Callable[[dict[str, Any]], None]


@dataclass
class CallObserver:
    """Watches one call.

    ``on_event``: called on the event loop with each live event (``None``: none asked);
    ``record``: whether the kernel side keeps each cell's outputs and timing, which land in
    :attr:`cells` when the reply comes (also when a cell raised); ``"errors"``: only for a
    call that does not succeed (the kernel side then notes only where each cell's output
    starts, and makes the record only if the call fails).
    """

    on_event: EventSink | None = None
    record: bool | Literal["errors"] = False
    cells: list[dict[str, Any]] | None = field(default=None)

    def request_options(self) -> dict[str, Any]:
        """What the kernel side's request carries for this observer."""
        options: dict[str, Any] = {}
        if self.on_event is not None:
            options["events"] = True
        if self.record:
            options["record"] = self.record
        return options

    def take_reply(self, reply: Mapping[str, Any]) -> None:
        """Keep the per-cell record of the kernel side's reply."""
        cells = reply.get("cells")
        if self.record and isinstance(cells, list):
            self.cells = cells
