"""The run: every contender one after another (one server at a time), then the report."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path

from .contenders.base import Context
from .contenders.kernel_gateway import KernelGateway
from .contenders.papermill import Papermill
from .contenders.restified import Restified
from .contenders.tornado_floor import TornadoFloor
from .contenders.warm_kernel import WarmKernelFloor, measure_kernel_starts
from .harness.cpu import LoadSample, busy_cpus, wait_quiet
from .harness.http import HTTP_CLIENTS, HttpClient
from .harness.load import describe
from .harness.notebook import NotebookCode
from .harness.processes import Subprocesses, command_line, living_descendants, stderr_to
from .harness.settings import BENCHMARKS, NOTEBOOK_NAMES, NOTEBOOKS, RESULTS, Settings, parse_args
from .report.goals import evaluate_goals
from .report.machine import machine
from .report.results import Report
from .report.tables import format_report


async def kernels_and_papermill(ctx: Context) -> None:
    """Kernel start to ready, the warm-kernel floor and papermill (blocking APIs, run in a
    thread; their kernels' warnings go to the log directory)."""
    with stderr_to(ctx.procs.log_dir / "kernels.log"):
        await measure_kernel_starts(ctx)
        await WarmKernelFloor().run(ctx)
        await Papermill().run(ctx)


async def run(settings: Settings, client_class: type[HttpClient]) -> Report:
    """Every measurement, one after another (one server at a time)."""
    started = time.perf_counter()
    report = Report(
        machine=machine(), settings={**asdict(settings), "http_client": client_class.__name__}
    )
    report.other_load["before"] = busy_cpus()
    load_at_start = LoadSample.take()
    workdir = Path(tempfile.mkdtemp(prefix="restified-bench-"))
    log_dir = RESULTS / "logs"
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    procs = Subprocesses(log_dir)
    try:
        (workdir / "root").mkdir()
        (workdir / "runtime").mkdir()
        for name in NOTEBOOK_NAMES:
            shutil.copy(NOTEBOOKS / f"{name}.ipynb", workdir / "root" / f"{name}.ipynb")
        codes = [NotebookCode.load(workdir / "root" / f"{name}.ipynb") for name in NOTEBOOK_NAMES]
        for code in codes:  # the expected values, computed off the clock
            for i in range(5):
                code.expected(code.values_for(i))
        ctx = Context(report, settings, procs, client_class, codes, workdir)

        phases: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("kernels and papermill", lambda: kernels_and_papermill(ctx)),
            ("bare tornado", lambda: TornadoFloor().run(ctx)),
            ("notebook_restified, isolation=fork", lambda: Restified("fork").run(ctx)),
            (
                "notebook_restified, isolation=fork, warm-up declared",
                lambda: Restified("fork", warmup=True).run(ctx),
            ),
            (
                "notebook_restified, isolation=fork, results cached",
                lambda: Restified("fork", cache=True).run(ctx),
            ),
            ("notebook_restified, isolation=kernel", lambda: Restified("kernel").run(ctx)),
            ("Kernel Gateway", lambda: KernelGateway().run(ctx)),
        ]
        for name, phase in phases:
            print(name, flush=True)
            try:
                await phase()
            except Exception as exc:  # the other phases still run
                traceback.print_exc()
                report.problems.append(f"{name} failed: {describe(exc)}")
    finally:
        procs.stop_all()
        report.leftover_processes = procs.leftovers
        shutil.rmtree(workdir, ignore_errors=True)
    own = living_descendants(os.getpid())
    if own:
        report.problems.append(
            f"processes still below the benchmark: {[(p, command_line(p)) for p in own]}"
        )
    report.other_load["during"] = LoadSample.take().others_since(load_at_start)
    report.other_load["after"] = busy_cpus()
    report.duration_s = time.perf_counter() - started
    return report


def main(description: str, argv: list[str] | None = None) -> int:
    """Run everything, print the report, write benchmarks/results/latest.json (``description``
    heads the command line's help)."""
    args = parse_args(description, HTTP_CLIENTS, argv)
    settings = Settings.from_args(args)
    RESULTS.mkdir(exist_ok=True)
    if args.wait_quiet > 0:
        wait_quiet(args.wait_quiet)
    try:
        report = asyncio.run(run(settings, HTTP_CLIENTS[args.http_client]))
    except Exception:
        traceback.print_exc()
        return 1
    evaluate_goals(report)
    text = format_report(report)
    print()
    print(text)
    (RESULTS / "latest.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    (RESULTS / "latest.txt").write_text(text + "\n")
    print(f"\nWritten: {(RESULTS / 'latest.json').relative_to(BENCHMARKS.parent)}")
    failed = any(s.errors for r in report.rows.values() for s in r.notebooks.values())
    return 1 if failed or report.problems or report.leftover_processes else 0
