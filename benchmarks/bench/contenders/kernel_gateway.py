"""Jupyter Kernel Gateway in notebook-http mode: one warm kernel shared by all calls, no
isolation; one server per notebook, installed into benchmarks/.venv-kg on first use."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import nbformat

from ..harness.http import HttpClient, HttpServer, auth_header, endpoint_call, free_port
from ..harness.load import measure_async
from ..harness.notebook import NotebookCode
from ..harness.processes import Subprocesses
from ..harness.settings import BENCHMARKS, LOOPBACK, Settings
from ..report.results import Row
from .base import Contender, Context

KG_VENV = BENCHMARKS / ".venv-kg"
KG_PACKAGES = ("jupyter_kernel_gateway", "ipykernel", "pandas", "numpy")
KG_ATTEMPTS = 2
"""Kernel Gateway 3.0.1 sometimes never gets its seeded kernel ready: start it again."""


def kernel_gateway_notebook(code: NotebookCode) -> nbformat.NotebookNode:
    """The same function in Kernel Gateway's notebook-http shape: ``GET /run`` reads
    ``REQUEST`` and prints the result as JSON; the other cells run when the kernel starts."""
    converters = {"int": "int", "float": "float", "str": "str"}
    reads = "".join(
        f"{p.name} = {converters.get(p.annotation or '', 'json.loads')}(_args[{p.name!r}][0])"
        f" if {p.name!r} in _args else {p.default!r}\n"
        for p in code.parameters
    )
    handler = (
        "# GET /run\n"
        "import json\n"
        "_args = json.loads(REQUEST)['args']\n"
        f"{reads}{code.body}\n"
        f"print(json.dumps({code.result_expr}))\n"
    )
    nb: nbformat.NotebookNode = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    sources = [code.setup, code.parameters_source, handler]
    nb.cells = [
        nbformat.v4.new_code_cell(src)  # type: ignore[no-untyped-call]
        for src in sources
        if src.strip()
    ]
    return nb


def kernel_gateway_python() -> Path | None:
    """The Python of benchmarks/.venv-kg with Kernel Gateway, made on first use; None (with a
    printed note) if it cannot be installed."""
    python = KG_VENV / "bin" / "python"
    probe = [str(python), "-c", "import kernel_gateway, ipykernel, pandas, numpy"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(
        f"  installing Kernel Gateway into {KG_VENV.relative_to(BENCHMARKS.parent)} (once, ~2 min)"
    )
    steps = [
        [sys.executable, "-m", "venv", str(KG_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", *KG_PACKAGES],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"  ! skipping Kernel Gateway: {' '.join(step[:4])} failed: {exc}")
            return None
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
            print(f"  ! skipping Kernel Gateway: {' '.join(step[:4])} failed:\n{tail}")
            return None
    return python


async def start_kernel_gateway(
    procs: Subprocesses,
    client_class: type[HttpClient],
    python: Path,
    notebook: Path,
    runtime_dir: Path,
    attempt: int,
) -> tuple[HttpServer, float]:
    """Kernel Gateway in notebook-http mode serving ``notebook`` with one prespawned kernel;
    returns the server and the seconds until its first answer."""
    port, token = free_port(), secrets.token_hex(16)
    argv = [
        str(python),
        "-m",
        "kernel_gateway",
        "--KernelGatewayApp.api=kernel_gateway.notebook_http",
        f"--KernelGatewayApp.seed_uri={notebook}",
        f"--KernelGatewayApp.ip={LOOPBACK}",
        f"--KernelGatewayApp.port={port}",
        "--KernelGatewayApp.port_retries=0",
        "--KernelGatewayApp.prespawn_count=1",
        f"--KernelGatewayApp.auth_token={token}",
    ]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime_dir)}
    env.pop("VIRTUAL_ENV", None)
    managed = procs.start(f"kernel-gateway-{notebook.stem}-{attempt}", argv, env)
    server = HttpServer(managed, client_class(LOOPBACK, port, auth_header(token)))
    return server, await server.ready_or_stop("/run", procs)


class KernelGateway(Contender):
    """Kernel Gateway notebook-http, one server (and warm kernel) per notebook."""

    key = "kernel_gateway"

    def label(self, settings: Settings) -> str:
        """The mode it runs in."""
        return "Kernel Gateway notebook-http"

    async def measure(self, ctx: Context, row: Row) -> None:
        """Each notebook in its own server, started again once if it never gets ready."""
        python = kernel_gateway_python()
        if python is None:
            row.skipped = "Kernel Gateway could not be installed"
            return
        for code in ctx.codes:
            path = ctx.workdir / f"kg_{code.name}.ipynb"
            nbformat.write(kernel_gateway_notebook(code), str(path))  # type: ignore[no-untyped-call]
            print(f"  {row.label}: {code.name}", flush=True)
            for attempt in range(1, KG_ATTEMPTS + 1):
                try:
                    server, ready_s = await start_kernel_gateway(
                        ctx.procs, ctx.client_class, python, path, ctx.runtime_dir, attempt
                    )
                    break
                except RuntimeError as exc:
                    ctx.report.problems.append(
                        f"Kernel Gateway, {code.name}, attempt {attempt}: {exc}"
                    )
                    if attempt == KG_ATTEMPTS:
                        raise
            ctx.report.server_start_s[f"kernel_gateway_{code.name}"] = ready_s
            try:
                caller = endpoint_call(server, lambda _code: "/run")
                row.notebooks[code.name] = await measure_async(
                    caller(code), code, ctx.settings.fast, server.cpu
                )
            finally:
                await ctx.stop(self.key, server)
