"""Runs from Python: ``KernelModel.submit`` in this process's kernels, and the remote
client ``notebook_restified.client.Endpoint`` against a real ``jupyter server`` process —
which is also restarted here, to see run records survive it."""

from __future__ import annotations

import datetime
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest

from notebook_restified import KernelModel
from notebook_restified.client import Endpoint, RemoteRun
from notebook_restified.errors import (
    CallTimeout,
    ExecutionError,
    InvalidParameters,
    NotFound,
    RateLimited,
    RunCancelled,
)

from .notebooks import alive, write_notebook

EXAMPLES = Path(__file__).parent.parent / "examples"

pytestmark = pytest.mark.timeout(300)

TOKEN = "runs-test-token"


def write_slow(path: Path) -> Path:
    return write_notebook(
        path,
        "import os, time, pathlib",
        ("n: int = 3\npause = 0.3\nmarker = ''", ["parameters"]),
        "if marker:\n    pathlib.Path(marker).write_text(str(os.getpid()))\n"
        "for i in range(n):\n    print(f'tick {i}', flush=True)\n    time.sleep(pause)",
        ("1 / n", ["return"]),
    )


# --- KernelModel.submit -----------------------------------------------------------------


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelModel]:
    with KernelModel(write_slow(tmp_path_factory.mktemp("nb") / "slow.ipynb")) as model:
        yield model


def test_submit_returns_at_once_and_reports_progress_and_output(slow_model: KernelModel) -> None:
    started = time.monotonic()
    run = slow_model.submit(n=4)
    assert time.monotonic() - started < 0.5
    assert run.status in ("queued", "running")
    seen = []
    for event in run.events():
        seen.append((time.monotonic(), event))
    assert seen[-1][1].event == "done"
    assert run.status == "succeeded"
    assert run.wait() == 0.25
    assert run.progress == {"cell": 3, "cells": 3}
    outputs = [(at, e.data["text"]) for at, e in seen if e.event == "output"]
    assert [text for _, text in outputs] == [f"tick {i}\n" for i in range(4)]
    assert seen[-1][0] - outputs[0][0] > 0.6  # streamed while it ran
    # Replayed from the start, or after an id.
    assert [e.id for e in run.events()] == [e.id for _, e in seen]
    assert [e.id for e in run.events(after=3)] == [e.id for _, e in seen][3:]


def test_submit_raises_the_calls_errors(slow_model: KernelModel) -> None:
    with pytest.raises(InvalidParameters):
        slow_model.submit(n="many")
    failing = slow_model.submit(n=0)
    with pytest.raises(ExecutionError) as err:
        failing.wait(timeout=60)
    assert err.value.ename == "ZeroDivisionError"
    assert failing.status == "failed"
    stopped = slow_model.submit(n=100, time_limit=1.5)
    with pytest.raises(CallTimeout):
        stopped.wait(timeout=60)
    assert stopped.status == "timed_out"


def test_cancel_stops_a_submitted_run(slow_model: KernelModel, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    run = slow_model.submit(n=1000, marker=str(marker))
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with pytest.raises(TimeoutError):
        run.wait(timeout=0.1)
    run.cancel()
    assert run.status == "cancelled"
    with pytest.raises(RunCancelled):
        run.wait()
    pid = int(marker.read_text())
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
    assert slow_model.execute(n=2) == 0.5  # the model goes on


# --- the remote client, and a server restarted ------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A ``jupyter server`` process with the extension, restartable on the same data."""

    def __init__(self, root: Path, data: Path) -> None:
        self.root, self.data = root, data
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.data.parent / "server.log").open("ab") as log:
            self._launch(log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/status", headers=self.auth(), timeout=2).is_success:
                    return
            except httpx.TransportError:
                time.sleep(0.3)
        pytest.fail("the jupyter server did not start")

    def _launch(self, log: Any) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "server",
                f"--port={self.port}",
                "--ip=127.0.0.1",
                f"--IdentityProvider.token={TOKEN}",
                "--ServerApp.allow_root=True",
                "--ServerApp.open_browser=False",
                f"--ServerApp.root_dir={self.root}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "JUPYTER_PLATFORM_DIRS": "1", "JUPYTER_DATA_DIR": str(self.data)},
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @staticmethod
    def auth() -> dict[str, str]:
        return {"Authorization": f"token {TOKEN}"}

    def key(self, path: str, label: str) -> str:
        response = httpx.post(
            f"{self.url}/api/restified/keys",
            json={"path": path, "label": label},
            headers=self.auth(),
        )
        assert response.status_code == 201
        return str(response.json()["secret"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("root")
    write_slow(root / "slow.ipynb")
    write_notebook(
        root / "sleeps.ipynb",
        "import os, time, pathlib",
        ("seconds = 60.0\nmarker = ''", ["parameters"]),
        (
            "if marker:\n    pathlib.Path(marker).write_text(str(os.getpid()))\n"
            "time.sleep(seconds)\n'woke'",
            ["return"],
        ),
    )
    shutil.copy(EXAMPLES / "parameter_types.ipynb", root / "kinds.ipynb")
    server = Server(root, tmp_path_factory.mktemp("data"))
    server.start()
    yield server
    server.stop()


def test_the_client_sends_dates_paths_tuples_and_bytes_as_the_contract_says(
    server: Server,
) -> None:
    with Endpoint(f"{server.url}/restified/kinds.ipynb", token=TOKEN) as endpoint:
        result = endpoint.execute(
            start=datetime.date(2024, 2, 1),
            until=datetime.datetime(2024, 2, 11, tzinfo=datetime.timezone.utc),
            output=pathlib.PurePosixPath("out/x.txt"),
            size=(3, 4),
            data=b"\x00\x01\x02",
        )
        assert result["days"] == 10
        assert result["output"] == {"name": "x.txt", "suffix": ".txt", "is_path": True}
        assert result["area"] == 12
        assert result["data"] == {"bytes": 3, "head": "000102"}
        with pytest.raises(InvalidParameters, match="given more than once"):
            endpoint.execute({"percent": 1}, percent=2)


def test_the_client_calls_submits_and_raises_the_same_errors(server: Server) -> None:
    with Endpoint(f"{server.url}/restified/slow.ipynb", key=server.key("slow.ipynb", "c")) as slow:
        assert slow.execute(n=2, pause=0) == 0.5
        assert slow.call({"n": 4}, pause=0).value == 0.25
        with pytest.raises(ExecutionError) as err:
            slow.execute(n=0)
        assert err.value.ename == "ZeroDivisionError"
        with pytest.raises(InvalidParameters) as invalid:
            slow.execute(n="x")
        assert invalid.value.details[0]["name"] == "n"
        run = slow.submit(n=3)
        events = list(run.events())
        assert [e.event for e in events][-1] == "done"
        assert [e.data["state"] for e in events if e.event == "cell"][:2] == ["started", "finished"]
        assert not [e for e in events if e.event == "output"]  # a key holder: no output
        assert run.wait(timeout=60) == 1 / 3
        assert run.status == "succeeded"
        assert run.info["progress"] == {"cell": 3, "cells": 3}
        assert slow.run(run.id).status == "succeeded"
        assert next(r["id"] for r in slow.runs()) == run.id
    with Endpoint(f"{server.url}/restified/slow.ipynb", token=TOKEN) as owner:
        run = owner.submit(n=2, pause=0.2)
        texts = [e.data["text"] for e in run.events() if e.event == "output"]
        assert texts == ["tick 0\n", "tick 1\n"]
        notebook = nbformat.from_dict(run.notebook())
        nbformat.validate(notebook)


def test_a_key_sees_only_its_own_runs(server: Server) -> None:
    url = f"{server.url}/restified/slow.ipynb"
    alice = Endpoint(url, key=server.key("slow.ipynb", "alice"))
    bob = Endpoint(url, key=server.key("slow.ipynb", "bob"))
    owner = Endpoint(url, token=TOKEN)
    mine = alice.submit(n=1, pause=0)
    mine.wait(timeout=60)
    theirs = owner.submit(n=1, pause=0)
    theirs.wait(timeout=60)
    with pytest.raises(NotFound):
        bob.run(mine.id)
    with pytest.raises(NotFound):
        alice.run(theirs.id)
    assert mine.id not in [r["id"] for r in bob.runs()]
    assert {r["id"] for r in alice.runs()} >= {mine.id}
    assert theirs.id not in {r["id"] for r in alice.runs()}
    owner_view = {r["id"]: r for r in owner.runs()}
    assert owner_view[mine.id]["key"]["label"] == "alice"
    assert "notebook" not in mine.info["links"]
    denied = httpx.get(f"{mine.links['self']}/notebook", headers=alice.headers)
    assert (denied.status_code, denied.json()["error"]["type"]) == (403, "forbidden")
    assert owner.run(mine.id).notebook()["metadata"]["restified_run"]["id"] == mine.id
    for endpoint in (alice, bob, owner):
        endpoint.close()


@pytest.mark.parametrize("how", ["shutdown", "killed"])
def test_records_survive_a_restart_and_runs_in_flight_are_recorded_failed(
    server: Server, tmp_path: Path, how: str
) -> None:
    owner = Endpoint(f"{server.url}/restified/sleeps.ipynb", token=TOKEN)
    finished = owner.submit(seconds=0)
    assert finished.wait(timeout=60) == "woke"
    marker = tmp_path / "pid"
    in_flight = owner.submit(seconds=120, marker=str(marker))
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    server.stop(signal.SIGTERM if how == "shutdown" else signal.SIGKILL)
    server.start()
    try:
        again = owner.run(finished.id)
        assert again.status == "succeeded"
        assert again.wait() == "woke"
        nbformat.validate(nbformat.from_dict(again.notebook()))
        lost = owner.run(in_flight.id)
        assert lost.status == "failed"
        assert lost.info["error"]["type"] == "interrupted"
        assert "server" in lost.info["error"]["message"]
        with pytest.raises(Exception) as err:
            lost.wait()
        assert getattr(err.value, "type", None) == "interrupted"
        deadline = time.monotonic() + 10
        pid = int(marker.read_text())
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(pid)
    finally:
        owner.close()


def test_the_client_refuses_what_is_not_an_endpoint() -> None:
    with pytest.raises(ValueError, match="endpoint URL"):
        Endpoint("http://localhost:8888/lab")


def test_waiting_for_a_run_waits_out_a_keys_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # A key's runs requests count against its key_rate_limit: polling a run that a 429
    # refuses waits the Retry-After it is told (here answered by a stand-in server; the
    # server's own 429 on the runs routes is tested in test_runs.py).
    asked: list[str] = []
    refusals = {"/api/restified/runs/r1": 1, "/api/restified/runs/r1/result": 1}

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        assert request.headers["Authorization"] == "Bearer nrk_k_secret"
        if refusals.get(request.url.path, 0) > 0:
            refusals[request.url.path] -= 1
            error = {"type": "rate_limited", "message": "too many", "retry_after": 7}
            return httpx.Response(429, json={"error": error}, headers={"Retry-After": "7"})
        if request.url.path.endswith("/result"):
            return httpx.Response(200, json=42)
        return httpx.Response(200, json={"id": "r1", "status": "succeeded", "links": {}})

    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    client = httpx.Client(transport=httpx.MockTransport(answer))
    endpoint = Endpoint("http://host/restified/a.ipynb", key="nrk_k_secret", client=client)
    run = RemoteRun(endpoint, {"id": "r1", "status": "running", "links": {}})
    assert run.wait() == 42
    assert slept == [7, 7]  # each refusal waited out as told, nothing else
    assert asked == ["/api/restified/runs/r1"] * 2 + ["/api/restified/runs/r1/result"] * 2

    # A wait that would pass the caller's timeout is not made: the refusal is raised.
    refusals["/api/restified/runs/r1"] = 1
    again = RemoteRun(endpoint, {"id": "r1", "status": "running", "links": {}})
    with pytest.raises(RateLimited) as refused:
        again.wait(timeout=5)
    assert refused.value.retry_after == 7
    client.close()
