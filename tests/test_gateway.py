"""With ``--gateway-url``, the endpoint's kernels run on the gateway (a real Jupyter Kernel
Gateway here), a fresh one per call."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.gateway.gateway_client import GatewayClient
from tornado.httpclient import HTTPClientError, HTTPResponse

from notebook_restified.server.app import RestifiedApp

from .notebooks import write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(180)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A Kernel Gateway on a free local port: its URL and process id."""
    pytest.importorskip("kernel_gateway")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kernel_gateway",
                "--KernelGatewayApp.ip=127.0.0.1",
                f"--KernelGatewayApp.port={port}",
                "--JupyterWebsocketPersonality.list_kernels=True",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/kernelspecs", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the gateway did not start: {log.read_text()}") from None
                time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], gateway: tuple[str, int]
) -> Iterator[dict[str, Any]]:
    # A singleton: the server takes an existing instance (an earlier server's, without a
    # gateway) rather than make one from this configuration; and later servers likewise.
    GatewayClient.clear_instance()
    yield {
        **jp_server_config,  # conftest's: the extension enabled
        "GatewayClient": {"url": gateway[0]},
        "RestifiedApp": {"time_limit": 5},
    }
    GatewayClient.clear_instance()


def _gateway_kernels(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/kernels", timeout=10) as response:
        kernels: list[dict[str, Any]] = json.load(response)
        return kernels


async def test_calls_run_isolated_on_the_gateways_kernels(
    jp_fetch: Fetch, jp_root_dir: Path, app: RestifiedApp, gateway: tuple[str, int]
) -> None:
    url, gateway_pid = gateway
    write_notebook(
        jp_root_dir / "remote.ipynb",
        "import os\nseen = []\n"
        "def ancestors(pid):\n"
        "    found = []\n"
        "    while pid > 1:\n"
        "        with open(f'/proc/{pid}/stat') as stat:\n"
        "            pid = int(stat.read().rsplit(')', 1)[1].split()[1])\n"
        "        found.append(pid)\n"
        "    return found",
        ("n: int = 1", ["parameters"]),
        "seen.append(n)",
        ("{'ancestors': ancestors(os.getpid()), 'seen': seen}", ["return"]),
    )
    first = json.loads((await jp_fetch("restified", "remote.ipynb", params={"n": 5})).body)
    second = json.loads((await jp_fetch("restified", "remote.ipynb", params={"n": 7})).body)

    assert first["seen"] == [5]
    assert second["seen"] == [7]  # the next call's kernel is a fresh one
    assert gateway_pid in first["ancestors"]  # the gateway started them
    assert gateway_pid in second["ancestors"]
    assert app.engine.kernel_pids() == []  # none on this machine
    assert _gateway_kernels(url), "the warm kernels wait on the gateway"
    status = json.loads((await jp_fetch("api", "restified", "status")).body)
    assert [w["isolation"] for w in status["pool"]["warm_notebooks"]] == ["kernel"]

    await app.engine.close()
    assert _gateway_kernels(url) == [], "closing the engine stops its kernels on the gateway"


async def test_a_call_past_its_time_limit_stops_its_kernel_on_the_gateway(
    jp_fetch: Fetch, jp_root_dir: Path, app: RestifiedApp, gateway: tuple[str, int]
) -> None:
    url = gateway[0]
    write_notebook(
        jp_root_dir / "loop.ipynb",
        ("forever = False", ["parameters"]),
        "import time\nwhile forever:\n    time.sleep(0.01)",
        ("'done'", ["return"]),
    )
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("restified", "loop.ipynb", params={"forever": "true"})
    assert err.value.code == 504

    assert json.loads((await jp_fetch("restified", "loop.ipynb")).body) == "done"
    # Left on the gateway: the kernel started ahead for the next call, and a spare one.
    deadline = time.monotonic() + 30
    while len(_gateway_kernels(url)) > 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert len(_gateway_kernels(url)) <= 2, "the stopped call's kernel is gone from the gateway"
