"""What every contender is (one row of the report) and what a run shares with them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from ..harness.http import HttpClient, HttpServer
from ..harness.notebook import NotebookCode
from ..harness.processes import Subprocesses
from ..harness.settings import Settings
from ..report.results import Report, Row


@dataclass
class Context:
    """What every part of the run shares."""

    report: Report
    settings: Settings
    procs: Subprocesses
    client_class: type[HttpClient]
    codes: list[NotebookCode]
    workdir: Path

    @property
    def root(self) -> Path:
        """The Jupyter server's root: copies of the notebooks."""
        return self.workdir / "root"

    @property
    def runtime_dir(self) -> Path:
        """JUPYTER_RUNTIME_DIR of the servers started."""
        return self.workdir / "runtime"

    async def stop(self, key: str, server: HttpServer) -> None:
        """Stop a server; what it left running is a problem."""
        left = await server.stop(self.procs)
        if left:
            self.report.problems.append(f"{key}: processes left after the server stopped: {left}")


class Contender(ABC):
    """One way of running a notebook per request: one row of the report."""

    key: str
    """The row's key in the report and in results/latest.json."""

    @abstractmethod
    def label(self, settings: Settings) -> str:
        """The row's name in the printed tables."""

    @abstractmethod
    async def measure(self, ctx: Context, row: Row) -> None:
        """Measure each of ``ctx.codes`` into ``row.notebooks`` (or say why it is skipped)."""

    async def run(self, ctx: Context) -> None:
        """Measure into this contender's row of the report."""
        await self.measure(ctx, ctx.report.row(self.key, self.label(ctx.settings)))
