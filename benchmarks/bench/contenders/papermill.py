"""papermill: a fresh kernel per call, the parameters injected and the whole notebook
run; 8 clients are 8 threads. Blocking, so driven from a thread."""

from __future__ import annotations

import ast
import asyncio
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..harness.cpu import CpuSample
from ..harness.load import CallFailed, Recorder, Stats, SyncCall, measure_sequential_sync
from ..harness.notebook import NotebookCode
from ..harness.settings import CONCURRENT_CLIENTS, Plan, Settings
from ..report.results import Row
from .base import Contender, Context


def papermill_call(code: NotebookCode, workdir: Path) -> SyncCall:
    """One papermill run of the notebook (a fresh kernel); the return cell's value."""
    import papermill

    def call(values: dict[str, Any]) -> Any:
        output = workdir / f"out-{threading.get_ident()}-{time.monotonic_ns()}.ipynb"
        try:
            nb = papermill.execute_notebook(
                str(code.path),
                str(output),
                parameters=values,
                progress_bar=False,
                log_output=False,
                kernel_name="python3",
                cwd=str(workdir),
            )
        finally:
            output.unlink(missing_ok=True)
        for cell in nb.cells:
            if "return" in cell.metadata.get("tags", []):
                for out in cell.outputs:
                    if out.output_type == "execute_result":
                        return ast.literal_eval(out.data["text/plain"])
        raise CallFailed("no execute_result in the return cell")

    return call


def measure_papermill(code: NotebookCode, plan: Plan, workdir: Path) -> Stats:
    """Sequential papermill runs, then 8 at once in threads."""
    call = papermill_call(code, workdir)
    rec = Recorder(code)
    # papermill runs in this process and reaps its kernels: count both.
    measure_sequential_sync(call, code, plan, rec, lambda: CpuSample(sum(os.times()[:4])))

    def one(index: int) -> None:
        values = code.values_for(index)
        try:
            rec.check(values, call(values))
        except Exception as exc:
            rec.failed(exc)

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENT_CLIENTS) as pool:
        list(pool.map(one, range(plan.concurrent)))
    rec.rates[str(CONCURRENT_CLIENTS)] = plan.concurrent / (time.perf_counter() - started)
    return rec.stats()


class Papermill(Contender):
    """papermill, as few calls as the slow plan says."""

    key = "papermill"

    def label(self, settings: Settings) -> str:
        """What it is, and how few calls it makes."""
        return f"papermill, fresh kernel, n={settings.slow.sequential}"

    async def measure(self, ctx: Context, row: Row) -> None:
        """Each notebook, sequential runs then concurrent ones."""
        for code in ctx.codes:
            print(f"  {row.label}: {code.name}", flush=True)
            row.notebooks[code.name] = await asyncio.to_thread(
                measure_papermill, code, ctx.settings.slow, ctx.workdir
            )
