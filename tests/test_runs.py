"""Asynchronous runs and run records through a real Jupyter server and real kernels:
``Prefer: respond-async``, progress and live output over Server-Sent Events (fork and
kernel isolation), cancel, the runs' own time limit and slots, records and the executed
notebook, and who sees which run."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from notebook_restified.server.app import RestifiedApp

from .notebooks import alive, descendants, write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(300)

ASYNC = {"Prefer": "respond-async"}


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **jp_server_config,
        "RestifiedApp": {"time_limit": 20.0, "pool_size": 2, "run_pool_size": 1},
    }


def slow_notebook(path: Path, *, kernel_isolation: bool = False) -> Path:
    """Prints as it goes, across cells, sleeping ``pause`` between prints."""
    write_notebook(
        path,
        "import os, sys, time, pathlib",
        ("n: int = 3\npause = 0.4\nmarker = ''", ["parameters"]),
        "if marker:\n    pathlib.Path(marker).write_text(str(os.getpid()))\n"
        "for i in range(n):\n    print(f'tick {i}', flush=True)\n    time.sleep(pause)",
        "print('to stderr', file=sys.stderr)\ntime.sleep(pause)\nprint('second cell')",
        ("{'n': n, 'pid': os.getpid()}", ["return"]),
    )
    if kernel_isolation:
        nb = nbformat.read(str(path), as_version=4)
        nb.metadata["restified"] = {"isolation": "kernel"}
        nbformat.write(nb, str(path))
    return path


@pytest.fixture
def notebooks(jp_root_dir: Path) -> Path:
    slow_notebook(jp_root_dir / "slow.ipynb")
    slow_notebook(jp_root_dir / "slow_kernel.ipynb", kernel_isolation=True)
    write_notebook(
        jp_root_dir / "fib.ipynb",
        ("n: int = 10", ["parameters"]),
        "def fib(k):\n    return k if k < 2 else fib(k - 1) + fib(k - 2)",
        ("fib(n)", ["return"]),
    )
    write_notebook(
        jp_root_dir / "fails.ipynb",
        ("divisor: int = 0", ["parameters"]),
        "print('about to divide')",
        ("1 / divisor", ["return"]),
    )
    write_notebook(
        jp_root_dir / "sleeps.ipynb",
        "import os, time, pathlib",
        ("seconds = 60.0\nmarker = ''", ["parameters"]),
        (
            "if marker:\n    pathlib.Path(marker).write_text(str(os.getpid()))\n"
            "time.sleep(seconds)\n'woke'",
            ["return"],
        ),
    )
    return jp_root_dir


async def submit(jp_fetch: Fetch, path: str, body: dict[str, Any], **headers: str) -> HTTPResponse:
    return await jp_fetch(
        "restified",
        path,
        method="POST",
        body=json.dumps(body),
        headers={"Content-Type": "application/json", **ASYNC, **headers},
    )


async def get_run(jp_fetch: Fetch, run_id: str, *parts: str, **kwargs: Any) -> HTTPResponse:
    return await jp_fetch("api", "restified", "runs", run_id, *parts, **kwargs)


async def run_of(jp_fetch: Fetch, run_id: str, **kwargs: Any) -> dict[str, Any]:
    return json.loads((await get_run(jp_fetch, run_id, **kwargs)).body)  # type: ignore[no-any-return]


async def until(
    jp_fetch: Fetch, run_id: str, check: Callable[[dict[str, Any]], bool], timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = await run_of(jp_fetch, run_id)
        if check(run):
            return run
        assert time.monotonic() < deadline, f"run never got there: {run}"
        await asyncio.sleep(0.1)


async def error_of(request: Awaitable[HTTPResponse]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as err:
        await request
    assert err.value.response is not None
    return err.value.code, json.loads(err.value.response.body)["error"]


class EventStream:
    """A Server-Sent Events subscription, each event noted with when it arrived."""

    def __init__(self) -> None:
        self.buffer = ""
        self.events: list[tuple[float, int, str, dict[str, Any]]] = []

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk.decode("utf-8")
        while "\n\n" in self.buffer:
            block, self.buffer = self.buffer.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "event" in fields:
                self.events.append(
                    (
                        time.monotonic(),
                        int(fields["id"]),
                        fields["event"],
                        json.loads(fields["data"]),
                    )
                )

    def named(self, name: str) -> list[dict[str, Any]]:
        return [data for _, _, event, data in self.events if event == name]


async def subscribe(jp_fetch: Fetch, run_id: str, **headers: str) -> EventStream:
    stream = EventStream()
    response = await get_run(
        jp_fetch, run_id, "events", streaming_callback=stream.feed, headers=headers
    )
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return stream


async def assert_no_stray_process(app: RestifiedApp) -> None:
    """Nothing is left beyond the pool's kernels (spares being started included, once
    started) and their waiting forks."""
    deadline = time.monotonic() + 15
    while True:
        held = set(app.engine.kernel_pids())
        for kernel in list(held):
            held |= descendants(kernel)
        stray = {p for p in descendants() - held if alive(p)}
        if not stray or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert stray == set()


# --- asynchronous runs ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["slow.ipynb", "slow_kernel.ipynb"])
async def test_a_run_reports_progress_in_order_and_streams_prints_while_it_runs(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp, path: str
) -> None:
    response = await submit(jp_fetch, path, {"n": 3})
    assert response.code == 202
    run = json.loads(response.body)
    assert response.headers["Location"] == run["links"]["self"]
    assert int(response.headers["Retry-After"]) >= 1
    assert run["status"] in ("queued", "running")
    assert run["parameters"] == {"n": 3}
    assert len(run["id"]) == 32
    assert len(run["notebook_sha256"]) == 64
    assert run["progress"] == {"cell": 0, "cells": 4}  # injected, two body cells, return

    stream = await subscribe(jp_fetch, run["id"])
    arrived = {data["text"]: at for at, _, event, data in stream.events if event == "output"}
    done_at = next(at for at, _, event, _ in stream.events if event == "done")
    # Printed one by one, 0.4 s apart, each seen well before the run ended.
    assert list(arrived) == ["tick 0\n", "tick 1\n", "tick 2\n", "to stderr\n", "second cell\n"]
    assert done_at - arrived["tick 0\n"] > 0.8
    assert arrived["tick 1\n"] - arrived["tick 0\n"] > 0.2
    assert [o["stream"] for o in stream.named("output")][3] == "stderr"
    # Cells start and finish in order; ids count from 1.
    cells = stream.named("cell")
    assert [(c["position"], c["state"]) for c in cells] == [
        (p, s) for p in range(4) for s in ("started", "finished")
    ]
    assert all(
        c["seconds"] >= 0.35 for c in cells if c["state"] == "finished" and c["position"] in (1, 2)
    )
    assert [i for _, i, _, _ in stream.events] == list(range(1, len(stream.events) + 1))
    (done,) = stream.named("done")
    assert done["status"] == "succeeded"
    assert done["progress"] == {"cell": 4, "cells": 4}
    assert stream.events[-1][2] == "done"

    result = await get_run(jp_fetch, run["id"], "result")
    assert json.loads(result.body)["n"] == 3
    final = await run_of(jp_fetch, run["id"])
    assert final["status"] == "succeeded"
    assert final["started"]
    assert final["finished"]
    assert final["created"] <= final["started"]

    # A late subscriber gets the whole stream again; Last-Event-ID resumes after it.
    again = await subscribe(jp_fetch, run["id"])
    assert [(i, e) for _, i, e, _ in again.events] == [(i, e) for _, i, e, _ in stream.events]
    resumed = await subscribe(jp_fetch, run["id"], **{"Last-Event-ID": "5"})
    assert [i for _, i, _, _ in resumed.events] == list(range(6, len(stream.events) + 1))


async def test_prefer_wait_answers_like_a_call_when_the_run_is_quick(
    jp_fetch: Fetch, notebooks: Path
) -> None:
    quick = await jp_fetch(
        "restified", "fib.ipynb", params={"n": 12}, headers={"Prefer": "respond-async, wait=20"}
    )
    assert quick.code == 200
    assert json.loads(quick.body) == 144
    code, error = await error_of(
        jp_fetch("restified", "fails.ipynb", headers={"Prefer": "respond-async; wait=20"})
    )
    assert (code, error["type"]) == (500, "execution_error")
    slow = await jp_fetch(
        "restified",
        "sleeps.ipynb",
        params={"seconds": 3},
        headers={"Prefer": "respond-async, wait=0.2"},
    )
    assert slow.code == 202
    run_id = json.loads(slow.body)["id"]
    code, error = await error_of(get_run(jp_fetch, run_id, "result"))
    assert (code, error["type"]) == (409, "not_finished")
    await until(jp_fetch, run_id, lambda r: r["status"] == "succeeded")
    assert json.loads((await get_run(jp_fetch, run_id, "result")).body) == "woke"


async def test_bad_parameters_are_422_at_once_and_make_no_run(
    jp_fetch: Fetch, notebooks: Path
) -> None:
    before = json.loads((await jp_fetch("api", "restified", "runs")).body)["runs"]
    code, error = await error_of(submit(jp_fetch, "fib.ipynb", {"n": "twelve"}))
    assert (code, error["type"]) == (422, "invalid_parameters")
    code, error = await error_of(submit(jp_fetch, "missing.ipynb", {}))
    assert (code, error["type"]) == (404, "not_found")
    after = json.loads((await jp_fetch("api", "restified", "runs")).body)["runs"]
    assert after == before


@pytest.mark.parametrize("path", ["sleeps.ipynb", "slow_kernel.ipynb"])
async def test_cancel_mid_run_kills_its_processes(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp, tmp_path: Path, path: str
) -> None:
    marker = tmp_path / "pid"
    body = {"marker": str(marker)} | ({"n": 1000} if path == "slow_kernel.ipynb" else {})
    run = json.loads((await submit(jp_fetch, path, body)).body)
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    pid = int(marker.read_text())
    assert alive(pid)
    cancelled = json.loads((await get_run(jp_fetch, run["id"], method="DELETE")).body)
    assert cancelled["status"] == "cancelled"
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not alive(pid)
    code, error = await error_of(get_run(jp_fetch, run["id"], "result"))
    assert (code, error["type"]) == (409, "cancelled")
    await assert_no_stray_process(app)
    # The executed notebook shows what ran up to the cancel.
    notebook = nbformat.reads((await get_run(jp_fetch, run["id"], "notebook")).body.decode(), 4)
    nbformat.validate(notebook)
    assert notebook.metadata["restified_run"]["status"] == "cancelled"


async def test_run_time_limit_stops_a_run(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    app.runs.time_limit = 2.0
    run = json.loads((await submit(jp_fetch, "sleeps.ipynb", {"seconds": 60})).body)
    final = await until(jp_fetch, run["id"], lambda r: r["status"] not in ("queued", "running"))
    assert final["status"] == "timed_out"
    assert final["error"]["type"] == "timeout"
    code, error = await error_of(get_run(jp_fetch, run["id"], "result"))
    assert (code, error["type"]) == (504, "timeout")


async def test_synchronous_calls_keep_answering_while_the_run_slots_are_busy(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    await jp_fetch("restified", "fib.ipynb")  # warm
    first = json.loads((await submit(jp_fetch, "sleeps.ipynb", {"seconds": 8})).body)
    second = json.loads((await submit(jp_fetch, "sleeps.ipynb", {"seconds": 1})).body)
    await until(jp_fetch, first["id"], lambda r: r["status"] == "running")
    assert (await run_of(jp_fetch, second["id"]))["status"] == "queued"  # run_pool_size = 1
    status = json.loads((await jp_fetch("api", "restified", "status")).body)
    assert status["pool"]["runs"] == {"running": 1, "queued": 1, "pool_size": 1}
    for n in range(4):
        started = time.monotonic()
        answer = await jp_fetch("restified", "fib.ipynb", params={"n": n + 10})
        assert answer.code == 200
        assert time.monotonic() - started < 4
    assert (await run_of(jp_fetch, first["id"]))["status"] == "running"
    await get_run(jp_fetch, first["id"], method="DELETE")
    await until(jp_fetch, second["id"], lambda r: r["status"] == "succeeded")


# --- records --------------------------------------------------------------------------


async def test_the_executed_notebook_is_valid_and_holds_the_injected_parameters(
    jp_fetch: Fetch, notebooks: Path
) -> None:
    run = json.loads((await submit(jp_fetch, "slow.ipynb", {"n": 2, "pause": 0.01})).body)
    await until(jp_fetch, run["id"], lambda r: r["status"] == "succeeded")
    response = await get_run(jp_fetch, run["id"], "notebook")
    assert response.headers["Content-Type"].startswith("application/x-ipynb+json")
    assert "attachment" in response.headers["Content-Disposition"]
    notebook = nbformat.reads(response.body.decode(), as_version=4)
    nbformat.validate(notebook)
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "n = 2" in injected[0].source
    assert "pause = 0.01" in injected[0].source
    position = notebook.cells.index(injected[0])
    assert "parameters" in notebook.cells[position - 1].metadata["tags"]
    body = notebook.cells[position + 1]
    assert body.outputs[0]["text"] == "tick 0\ntick 1\n"
    assert body.execution_count == 2
    assert (
        body.metadata["execution"]["shell.execute_reply"]
        >= body.metadata["execution"]["iopub.execute_input"]
    )
    returned = notebook.cells[-1].outputs[-1]
    assert returned["output_type"] == "execute_result"
    assert returned["data"]["application/json"]["n"] == 2
    assert notebook.metadata["restified_run"]["id"] == run["id"]


async def test_the_executed_notebook_is_there_as_soon_as_the_run_says_it_is_over(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run is over (its events say `done`, its state `succeeded`) before its record is
    # written: a slow disk must not turn the notebook asked for at that moment into a 404.
    store = app.runs.store
    save = store.save_outcome

    def slow_save(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.5)
        return save(*args, **kwargs)

    monkeypatch.setattr(store, "save_outcome", slow_save)
    run = json.loads((await submit(jp_fetch, "slow.ipynb", {"n": 1, "pause": 0})).body)
    await until(jp_fetch, run["id"], lambda r: r["status"] == "succeeded", timeout=60)
    response = await get_run(jp_fetch, run["id"], "notebook")
    assert response.code == 200
    notebook = nbformat.reads(response.body.decode(), as_version=4)
    assert notebook.metadata["restified_run"]["id"] == run["id"]


async def test_a_failed_synchronous_call_leaves_a_record(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    code, error = await error_of(jp_fetch("restified", "fails.ipynb", params={"divisor": 0}))
    assert (code, error["type"]) == (500, "execution_error")
    assert json.loads((await jp_fetch("restified", "fib.ipynb")).body) == 55  # not recorded
    deadline = time.monotonic() + 10
    while not (runs := json.loads((await jp_fetch("api", "restified", "runs")).body)["runs"]):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    (run,) = runs
    assert (run["path"], run["status"], run["asynchronous"]) == ("fails.ipynb", "failed", False)
    assert run["error"]["ename"] == "ZeroDivisionError"
    assert run["parameters"] == {"divisor": 0}
    code, replayed = await error_of(get_run(jp_fetch, run["id"], "result"))
    assert (code, replayed) == (500, error)
    notebook = nbformat.reads((await get_run(jp_fetch, run["id"], "notebook")).body.decode(), 4)
    nbformat.validate(notebook)
    assert notebook.cells[-1].outputs[-1]["output_type"] == "error"
    assert notebook.cells[-2].outputs[0]["text"] == "about to divide\n"
    listed = json.loads(
        (await jp_fetch("api", "restified", "runs", params={"path": "fib.ipynb"})).body
    )
    assert listed == {"runs": []}


async def test_a_float_that_is_not_finite_is_recorded_as_its_text(
    jp_fetch: Fetch, notebooks: Path
) -> None:
    # A float parameter takes `nan` and `inf` as text; run records are strict JSON.
    write_notebook(
        notebooks / "ratio.ipynb",
        ("x: float = 1.0", ["parameters"]),
        ("str(x) if x == x and abs(x) < 1e9 else 1 / 0", ["return"]),
    )
    answer = await jp_fetch("restified", "ratio.ipynb", params={"x": "inf"}, headers={**ASYNC})
    assert answer.code == 202
    run = await until(jp_fetch, json.loads(answer.body)["id"], lambda r: r["status"] == "failed")
    assert run["parameters"] == {"x": "Infinity"}
    code, error = await error_of(jp_fetch("restified", "ratio.ipynb", params={"x": "nan"}))
    assert (code, error["type"]) == (500, "execution_error")
    deadline = time.monotonic() + 10
    while True:  # the failed synchronous call's record is written after its answer
        listed = json.loads(
            (await jp_fetch("api", "restified", "runs", params={"path": "ratio.ipynb"})).body
        )["runs"]
        if len(listed) == 2:
            break
        assert time.monotonic() < deadline, listed
        await asyncio.sleep(0.1)
    assert sorted(r["parameters"]["x"] for r in listed) == ["Infinity", "NaN"]
    assert json.loads((await jp_fetch("restified", "ratio.ipynb", params={"x": "2"})).body) == "2.0"


async def test_records_are_kept_per_notebook_up_to_max_records(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    app.runs.store.max_records = 2
    ids = []
    for n in range(4):
        answer = await jp_fetch(
            "restified", "fib.ipynb", params={"n": n}, headers={"Prefer": "respond-async, wait=30"}
        )
        assert answer.code == 200
    runs = json.loads(
        (await jp_fetch("api", "restified", "runs", params={"path": "fib.ipynb"})).body
    )["runs"]
    ids = [r["parameters"]["n"] for r in runs]
    assert ids == [3, 2]  # newest first; the two oldest removed, files and all
    assert len(list(Path(app.runs.store.directory).iterdir())) == 2


async def test_the_openapi_document_describes_prefer_202_and_the_runs_routes(
    jp_fetch: Fetch, notebooks: Path
) -> None:
    from openapi_spec_validator import validate

    doc = json.loads((await jp_fetch("api", "restified", "openapi", "fib.ipynb")).body)
    validate(doc)
    call = doc["paths"]["/restified/fib.ipynb"]
    for method in ("get", "post"):
        assert "Prefer" in [p["name"] for p in call[method]["parameters"]]
        assert set(call[method]["responses"]["202"]["headers"]) == {"Location", "Retry-After"}
    assert {
        "/api/restified/runs",
        "/api/restified/runs/{run_id}",
        "/api/restified/runs/{run_id}/result",
        "/api/restified/runs/{run_id}/events",
        "/api/restified/runs/{run_id}/notebook",
    } <= set(doc["paths"])
    run = json.loads((await submit(jp_fetch, "fib.ipynb", {"n": 3})).body)
    assert set(doc["components"]["schemas"]["Run"]["required"]) <= set(run)
    assert run["status"] in doc["components"]["schemas"]["Run"]["properties"]["status"]["enum"]


@pytest.mark.parametrize(
    "jp_server_config",
    [
        {
            "ServerApp": {"jpserver_extensions": {"notebook_restified": True}},
            "RestifiedApp": {"key_rate_limit": 5},
        }
    ],
)
async def test_a_keys_requests_of_the_runs_routes_count_against_its_rate(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    """A key holder polling its run is throttled as its calls are: one budget of
    ``key_rate_limit`` a minute for both; the server's users are not limited."""
    _, secret = app.keys.create("fib.ipynb", "poller")
    key = {"Authorization": f"Bearer {secret}"}
    run = json.loads((await submit(jp_fetch, "fib.ipynb", {"n": 5}, **key)).body)  # 1
    assert (await app.runs.wait(run["id"], 60)) is not None
    assert (await get_run(jp_fetch, run["id"], headers=key)).code == 200  # 2
    assert (await get_run(jp_fetch, run["id"], "result", headers=key)).code == 200  # 3
    assert (await get_run(jp_fetch, run["id"], "events", headers=key)).code == 200  # 4
    listed = await jp_fetch("api", "restified", "runs", headers=key)  # 5
    assert [r["id"] for r in json.loads(listed.body)["runs"]] == [run["id"]]
    for refused in (
        get_run(jp_fetch, run["id"], headers=key),
        get_run(jp_fetch, run["id"], "result", headers=key),
        get_run(jp_fetch, "0" * 32, headers=key),  # before a run is looked for
        jp_fetch("api", "restified", "runs", headers=key),
        jp_fetch("restified", "fib.ipynb", headers=key),  # the same budget as calls
    ):
        with pytest.raises(HTTPClientError) as err:
            await refused
        assert err.value.code == 429
        assert err.value.response is not None
        assert json.loads(err.value.response.body)["error"]["type"] == "rate_limited"
        assert int(err.value.response.headers["Retry-After"]) >= 1
    # The server's users: no limit.
    for _ in range(6):
        assert (await get_run(jp_fetch, run["id"])).code == 200


async def test_a_keys_runs_hold_its_places_until_they_end(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    """A key's asynchronous run counts against ``key_max_concurrent`` (1 here) until it
    ends, as a call does: one key cannot fill the runs' queue."""
    _, secret = app.keys.create("sleeps.ipynb", "batch")
    key = {"Authorization": f"Bearer {secret}"}
    run = json.loads((await submit(jp_fetch, "sleeps.ipynb", {"seconds": 2}, **key)).body)
    code, error = await error_of(submit(jp_fetch, "sleeps.ipynb", {"seconds": 0}, **key))
    assert (code, error["type"]) == (429, "rate_limited")
    assert "1 calls in flight" in error["message"]
    code, _ = await error_of(jp_fetch("restified", "sleeps.ipynb", headers=dict(key)))
    assert code == 429  # a synchronous call as well
    # The server's users are not held back by the key's runs.
    assert (await submit(jp_fetch, "sleeps.ipynb", {"seconds": 0})).code == 202
    await until(jp_fetch, run["id"], lambda r: r["status"] == "succeeded")
    await asyncio.sleep(0.1)  # the place is given back as the run ends
    again = await submit(jp_fetch, "sleeps.ipynb", {"seconds": 0}, **key)
    assert again.code == 202
