"""Where a call's CPU goes, process by process, through a real ``jupyter server``.

    python benchmarks/call_cpu.py [--calls N] [--clients C] [--warmup] [--server-arg=...]
                                  [notebook ...]

Starts a ``jupyter server`` with the extension (token auth, ``pool_size=2``) on a temporary
root with the benchmark notebooks (``--warmup``: with ``metadata.restified.warmup`` true),
warms each, then makes ``--calls`` calls with ``--clients`` concurrent keep-alive clients and
reads ``/proc`` before and after: the CPU time per call of the server's own process, of the
warm kernel itself (its fork server's thread: the forks), and of the children it forked and
reaped (each call's child: its preparation, the call and its exit), with the wall time per
call and the machine's load. CPU time, unlike latency, hardly changes with other processes
competing for the CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from bench.harness.http import KeepAliveClient, auth_header, free_port
from bench.harness.notebook import NotebookCode
from bench.harness.processes import living_descendants, stat_fields
from bench.harness.settings import LOOPBACK, NOTEBOOKS

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> tuple[float, float]:
    """(own CPU seconds, CPU seconds of the children it reaped) of ``pid``."""
    fields = stat_fields(pid) or ["0"] * 17
    own = (int(fields[11]) + int(fields[12])) / TICKS
    reaped = (int(fields[13]) + int(fields[14])) / TICKS
    return own, reaped


def kernels_below(server: int) -> list[int]:
    """The ipykernel processes below the server (warm kernels and spares)."""
    found = []
    for pid in living_descendants(server):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "ipykernel" in cmd and stat_fields(pid) is not None:
            found.append(pid)
    return found


def notebook_with_warmup(source: Path, target: Path, warmup: bool) -> None:
    """Copy a benchmark notebook, declaring a warm-up with the defaults if asked."""
    nb = json.loads(source.read_text("utf-8"))
    if warmup:
        nb.setdefault("metadata", {}).setdefault("restified", {})["warmup"] = True
    target.write_text(json.dumps(nb), "utf-8")


async def measure(args: argparse.Namespace) -> None:
    """Start the server, warm each notebook, measure its calls, stop the server."""
    workdir = Path(tempfile.mkdtemp(prefix="restified-cpu-"))
    port, token = free_port(), secrets.token_hex(16)
    for name in args.notebooks:
        notebook_with_warmup(NOTEBOOKS / f"{name}.ipynb", workdir / f"{name}.ipynb", args.warmup)
    argv = [
        sys.executable,
        "-m",
        "jupyter_server",
        f"--ServerApp.ip={LOOPBACK}",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={workdir}",
        "--ServerApp.open_browser=False",
        "--ServerApp.allow_root=True",
        "--RestifiedApp.pool_size=2",
        *args.server_arg,
    ]
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(argv, stdout=log, stderr=log)
    client = KeepAliveClient(LOOPBACK, port, auth_header(token))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                await client.request("GET", "/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        for name in args.notebooks:
            path = f"/restified/{name}.ipynb"
            code = NotebookCode.load(workdir / f"{name}.ipynb")
            for i in range(20):  # warm, and past the first children's page learning
                answer = await client.request("GET", f"{path}?{urlencode(code.values_for(i))}")
                assert answer.status == 200, answer.body[:300]
            await asyncio.sleep(1.0)
            kernels = kernels_below(server.pid)
            before = {pid: cpu_of(pid) for pid in [server.pid, *kernels]}
            load = os.getloadavg()[0]
            clients = [
                KeepAliveClient(LOOPBACK, port, auth_header(token)) for _ in range(args.clients)
            ]
            remaining = args.calls

            async def one(c: KeepAliveClient, path: str = path, code: NotebookCode = code) -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    query = urlencode(code.values_for(remaining))
                    answer = await c.request("GET", f"{path}?{query}")
                    assert answer.status == 200, answer.body[:300]

            started = time.perf_counter()
            await asyncio.gather(*(one(c) for c in clients))
            wall = time.perf_counter() - started
            await asyncio.sleep(1.5)  # the last children exit and are reaped
            after = {pid: cpu_of(pid) for pid in before if stat_fields(pid) is not None}
            per_call = 1000 / args.calls
            server_ms = (after[server.pid][0] - before[server.pid][0]) * per_call
            kernel_ms = sum(after[p][0] - before[p][0] for p in kernels if p in after) * per_call
            child_ms = sum(after[p][1] - before[p][1] for p in kernels if p in after) * per_call
            print(
                json.dumps(
                    {
                        "notebook": name,
                        "warmup": args.warmup,
                        "clients": args.clients,
                        "calls": args.calls,
                        "wall_ms_per_call": round(wall * per_call, 2),
                        "calls_per_s": round(args.calls / wall, 1),
                        "cpu_ms_per_call": {
                            "server": round(server_ms, 2),
                            "kernel": round(kernel_ms, 2),
                            "children": round(child_ms, 2),
                            "total": round(server_ms + kernel_ms + child_ms, 2),
                        },
                        "load_1min": round(load, 2),
                    }
                ),
                flush=True,
            )
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    """Parse the command line and measure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", default=["trivial", "pandas_groupby"])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--warmup", action="store_true")
    parser.add_argument("--server-arg", action="append", default=[])
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
