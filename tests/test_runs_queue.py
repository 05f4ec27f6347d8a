"""The asynchronous runs' queue through a real Jupyter server: at most ``run_pool_size``
runs execute and ``run_queue_size`` wait, past it 503 ``busy``, whether submissions come
one after another or all at once."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from notebook_restified.errors import Busy
from notebook_restified.server.app import RestifiedApp

from .notebooks import Fetch, write_notebook

pytestmark = pytest.mark.timeout(180)

#: Runs that may wait for the one run slot.
QUEUE = 3


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **jp_server_config,
        "RestifiedApp": {"run_pool_size": 1, "run_queue_size": QUEUE, "time_limit": 20.0},
    }


@pytest.fixture
def sleeps(jp_root_dir: Path) -> str:
    """A notebook that sleeps ``seconds`` (a run that holds its slot until cancelled)."""
    write_notebook(
        jp_root_dir / "sleeps.ipynb",
        "import time",
        ("seconds = 60.0", ["parameters"]),
        ("time.sleep(seconds)\n'woke'", ["return"]),
    )
    return "sleeps.ipynb"


async def submit(jp_fetch: Fetch, path: str) -> HTTPResponse | HTTPClientError:
    """A ``Prefer: respond-async`` call: its 202, or the error it was answered with."""
    try:
        return await jp_fetch(
            "restified",
            path,
            method="POST",
            body=json.dumps({"seconds": 60}),
            headers={"Content-Type": "application/json", "Prefer": "respond-async"},
        )
    except HTTPClientError as exc:
        return exc


def accepted(answers: list[HTTPResponse | HTTPClientError]) -> list[str]:
    """The run ids of the 202s; every other answer must be 503 ``busy``."""
    ids = []
    for answer in answers:
        if isinstance(answer, HTTPClientError):
            assert answer.code == 503, answer
            assert answer.response is not None
            assert json.loads(answer.response.body)["error"]["type"] == "busy"
            assert int(answer.response.headers["Retry-After"]) >= 1
        else:
            assert answer.code == 202
            ids.append(json.loads(answer.body)["id"])
    return ids


async def running_one(jp_fetch: Fetch, run_id: str) -> None:
    """Wait until ``run_id`` holds the run slot."""
    deadline = time.monotonic() + 60
    while True:
        run = json.loads((await jp_fetch("api", "restified", "runs", run_id)).body)
        if run["status"] == "running":
            return
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.1)


async def cancel_all(jp_fetch: Fetch, ids: list[str]) -> None:
    for run_id in reversed(ids):  # the queued first: none of them starts meanwhile
        await jp_fetch("api", "restified", "runs", run_id, method="DELETE")


async def runs_counts(jp_fetch: Fetch) -> dict[str, int]:
    status = json.loads((await jp_fetch("api", "restified", "status")).body)
    return status["pool"]["runs"]  # type: ignore[no-any-return]


async def test_one_run_executes_and_run_queue_size_wait_past_it_503(
    jp_fetch: Fetch, sleeps: str, app: RestifiedApp
) -> None:
    first = accepted([await submit(jp_fetch, sleeps)])
    await running_one(jp_fetch, first[0])
    answers = [await submit(jp_fetch, sleeps) for _ in range(QUEUE + 3)]
    ids = first + accepted(answers)
    assert len(ids) == 1 + QUEUE  # the one running and the queue, not one more
    assert all(isinstance(a, HTTPClientError) for a in answers[QUEUE:])
    assert await runs_counts(jp_fetch) == {"running": 1, "queued": QUEUE, "pool_size": 1}
    # A place given back (a queued run cancelled) is taken by the next submission, once.
    await jp_fetch("api", "restified", "runs", ids.pop(), method="DELETE")
    again = [await submit(jp_fetch, sleeps) for _ in range(2)]
    ids += accepted(again)
    assert len(ids) == 1 + QUEUE
    await cancel_all(jp_fetch, ids)
    assert await runs_counts(jp_fetch) == {"running": 0, "queued": 0, "pool_size": 1}


async def test_concurrent_submissions_cannot_overrun_the_queue(
    jp_fetch: Fetch, sleeps: str, app: RestifiedApp
) -> None:
    answers = await asyncio.gather(*(submit(jp_fetch, sleeps) for _ in range(16)))
    ids = accepted(list(answers))
    assert len(ids) == 1 + QUEUE
    # Straight to the manager too: submissions that all await their record at once.
    saved = await app.service.load_saved(sleeps)
    made = await asyncio.gather(
        *(app.runs.submit(sleeps, saved, {"seconds": 60}) for _ in range(8)),
        return_exceptions=True,
    )
    assert all(isinstance(m, Busy) for m in made), made
    await cancel_all(jp_fetch, ids)
    assert await runs_counts(jp_fetch) == {"running": 0, "queued": 0, "pool_size": 1}
    made = await asyncio.gather(
        *(app.runs.submit(sleeps, saved, {"seconds": 60}) for _ in range(QUEUE + 4)),
        return_exceptions=True,
    )
    runs = [m for m in made if not isinstance(m, BaseException)]
    assert len(runs) == 1 + QUEUE
    assert all(isinstance(m, Busy) for m in made if isinstance(m, BaseException)), made
    await cancel_all(jp_fetch, [r.id for r in runs])
