"""This project's endpoint, through a real ``jupyter server`` with the extension and token
auth, one isolation mode per server: ``fork`` (the default) or ``kernel`` (a fresh
pre-started kernel per call), and ``fork`` with a warm-up declared in the notebooks
(``metadata.restified.warmup``: the defaults). Also the first call after a save, and the
warm pool's memory."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..harness.http import HttpClient, HttpServer, auth_header, endpoint_call, free_port
from ..harness.load import CallFailed, measure_async
from ..harness.notebook import NotebookCode
from ..harness.processes import Subprocesses, memory_of_tree, zombies_below
from ..harness.settings import LOOPBACK, Settings
from ..report.results import Report, Row
from .base import Contender, Context


def restified_path(code: NotebookCode) -> str:
    """The endpoint of a notebook copied to the server's root."""
    return f"/restified/{quote(code.path.name)}"


async def start_jupyter_server(
    procs: Subprocesses,
    client_class: type[HttpClient],
    root: Path,
    runtime_dir: Path,
    *,
    isolation: str,
    pool_size: int,
    more: tuple[str, ...] = (),
) -> HttpServer:
    """A real ``jupyter server`` with the extension, on a free loopback port, with a token."""
    port, token = free_port(), secrets.token_hex(16)
    argv = [
        sys.executable,
        "-m",
        "jupyter_server",
        f"--ServerApp.ip={LOOPBACK}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True",
        "--ServerApp.open_browser=False",
        f"--RestifiedApp.pool_size={pool_size}",
        f"--RestifiedApp.isolation={isolation}",
        *more,
    ]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime_dir)}
    managed = procs.start(f"jupyter-server-{isolation}", argv, env)
    server = HttpServer(managed, client_class(LOOPBACK, port, auth_header(token)))
    await server.ready_or_stop("/api/status", procs)
    return server


def edit_cell(model: dict[str, Any], where: str, revision: int) -> dict[str, Any]:
    """The notebook with a line added at the top of its first setup or body code cell."""
    content = copy.deepcopy(model["content"])
    code_cells = [c for c in content["cells"] if c["cell_type"] == "code"]
    params_at = next(
        i for i, c in enumerate(code_cells) if "parameters" in c["metadata"].get("tags", [])
    )
    cell = code_cells[params_at - 1] if where == "setup" else code_cells[params_at + 1]
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    cell["source"] = f"_bench_edit_{where} = {revision}\n" + source
    return {"type": "notebook", "format": "json", "content": content}


async def first_calls_after_save(
    server: HttpServer, code: NotebookCode, where: str, repeats: int
) -> list[float]:
    """Save an edited notebook through PUT /api/contents and time the next call; the
    original is saved back (and warmed again, untimed) at the end."""
    api = f"/api/contents/{quote(code.path.name)}"
    original = await server.get_json(f"{api}?content=1&type=notebook")
    call = endpoint_call(server, restified_path)(code)
    times = []
    try:
        for revision in range(1, repeats + 1):
            edited = json.dumps(edit_cell(original, where, revision)).encode()
            await server.fetch(api, method="PUT", body=edited)
            values = code.values_for(revision)
            t0 = time.perf_counter()
            value, _ = await call(values)
            times.append((time.perf_counter() - t0) * 1000)
            if value != code.expected(values):
                raise CallFailed(f"after a save: {value!r} != {code.expected(values)!r}")
            for i in range(3):  # back to a steady state before the next edit
                await call(code.values_for(i))
    finally:
        restore = {"type": "notebook", "format": "json", "content": original["content"]}
        await server.fetch(api, method="PUT", body=json.dumps(restore).encode())
        await call(code.values_for(0))
    return times


async def pool_snapshot(report: Report, key: str, server: HttpServer) -> None:
    """Memory of the server's descendants once idle, its pool status, lasting zombies."""
    await asyncio.sleep(1.0)  # let the last calls' processes exit
    pid = server.managed.proc.pid
    first = zombies_below(pid)
    await asyncio.sleep(1.5)  # a fork server reaps within a second or so
    zombies = sorted(first & zombies_below(pid))
    memory = memory_of_tree(pid)
    memory["lasting_zombies"] = zombies
    report.memory[key] = memory
    report.pool_status[key] = (await server.get_json("/api/restified/status")).get("pool")
    if zombies:
        report.problems.append(f"{key}: zombie processes under the server: {zombies}")


def with_metadata(
    codes: list[NotebookCode], root: Path, restified: dict[str, Any]
) -> list[NotebookCode]:
    """Copies of the notebooks in ``root`` whose ``metadata.restified`` also holds
    ``restified`` (a warm-up with their defaults, cached results...)."""
    root.mkdir(exist_ok=True)
    copies = []
    for code in codes:
        nb = json.loads(code.path.read_text("utf-8"))
        nb.setdefault("metadata", {}).setdefault("restified", {}).update(restified)
        path = root / code.path.name
        path.write_text(json.dumps(nb), "utf-8")
        copy = NotebookCode.load(path)
        copy.expected(copy.values_for(0))  # off the clock
        copies.append(copy)
    return copies


CACHE_TTL_S = 3600
"""The ``cache`` contender's ttl: longer than any run, so every repeated call is a hit."""


class Restified(Contender):
    """The endpoint through a real server, one isolation mode (``warmup``: the notebooks
    declare a warm-up with their defaults; ``cache``: they cache their results, and the
    five values the harness cycles through are called once first, so each measured call is
    answered from the cache: the floor of this server's own work per call)."""

    def __init__(self, isolation: str, warmup: bool = False, cache: bool = False) -> None:
        self.isolation = isolation
        self.warmup = warmup
        self.cache = cache
        self.key = (
            f"restified_{isolation}" + ("_warmup" if warmup else "") + ("_cached" if cache else "")
        )

    def label(self, settings: Settings) -> str:
        """The isolation mode (and how few calls the slow one makes)."""
        if self.cache:
            return f"restified, {self.isolation}, cached results"
        if self.warmup:
            return f"restified, {self.isolation} + warm-up"
        if self.isolation == "fork":
            return "restified, fork (default)"
        return f"restified, kernel/call, n={settings.slow.sequential}"

    async def measure(self, ctx: Context, row: Row) -> None:
        """Calls on each notebook; with ``fork``, the fork server's counts and the first
        calls after saves too; then the idle pool's memory."""
        report, settings, isolation, label = ctx.report, ctx.settings, self.isolation, row.label
        plan = settings.fast if isolation == "fork" else settings.slow
        root, codes = ctx.root, ctx.codes
        if self.warmup:
            root = ctx.workdir / "root-warmup"
            codes = with_metadata(ctx.codes, root, {"warmup": True})
        if self.cache:
            root = ctx.workdir / "root-cached"
            codes = with_metadata(ctx.codes, root, {"cache": {"ttl": CACHE_TTL_S}})
        started = time.perf_counter()
        server = await start_jupyter_server(
            ctx.procs,
            ctx.client_class,
            root,
            ctx.runtime_dir,
            isolation=isolation,
            pool_size=settings.pool_size,
            more=settings.server_args,
        )
        report.server_start_s[row.key] = time.perf_counter() - started
        try:
            caller = endpoint_call(server, restified_path)
            for code in codes:
                print(f"  {label}: {code.name}", flush=True)
                if self.cache:
                    for i in range(5):  # values_for cycles through five: each cached once
                        await caller(code)(code.values_for(i))
                row.notebooks[code.name] = await measure_async(caller(code), code, plan, server.cpu)
                if isolation == "fork" and not self.cache:
                    pool = (await server.get_json("/api/restified/status")).get("pool", {})
                    stats_key = code.name + (" (warm-up)" if self.warmup else "")
                    report.fork_stats[stats_key] = next(
                        (
                            w.get("fork")
                            for w in pool.get("warm_notebooks", [])
                            if w["path"] == code.path.name
                        ),
                        None,
                    )
            if isolation == "fork" and not (self.warmup or self.cache):
                for code in ctx.codes:
                    print(f"  {label}: first call after a save, {code.name}", flush=True)
                    wheres = ["body", "setup"] if code.setup.strip() else ["body"]
                    report.first_call_after_save_ms[code.name] = {
                        where: await first_calls_after_save(
                            server, code, where, settings.save_repeats
                        )
                        for where in wheres
                    }
            await pool_snapshot(report, row.key, server)
        finally:
            await ctx.stop(row.key, server)
