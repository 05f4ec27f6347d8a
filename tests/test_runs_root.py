"""Run records are one root's: two servers of one user (one data directory) with different
root directories neither list, serve nor prune each other's runs."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from notebook_restified.runs.model import Run, new_run_id
from notebook_restified.runs.store import RunStore
from notebook_restified.server.app import RestifiedApp

from .notebooks import Fetch, write_notebook

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def other_root(tmp_path: Path) -> Path:
    """The root directory of another server sharing this one's data directory."""
    root = tmp_path / "other_root"
    root.mkdir()
    return root


@pytest.fixture
def other_dir(jp_data_dir: Path, other_root: Path) -> Path:
    """Where the other server keeps its run records by default."""
    other = RestifiedApp(serverapp=SimpleNamespace(data_dir=str(jp_data_dir), root_dir=other_root))
    return Path(other.runs_path())


@pytest.fixture
def other_runs(other_dir: Path) -> list[str]:
    """Two finished runs of ``fib.ipynb`` (a notebook by the same name as this server's)
    that the other server recorded, before this server starts."""
    store = RunStore(other_dir)
    ids = []
    for n in range(2):
        run = Run(
            id=new_run_id(),
            path="fib.ipynb",
            parameters={"n": n},
            notebook_sha256="0" * 64,
            asynchronous=True,
            created=f"2020-01-01T00:00:0{n}Z",
            status="succeeded",
            finished=f"2020-01-01T00:00:0{n}Z",
        )
        store.save_outcome(run, {"cells": [], "metadata": {}, "nbformat": 4}, None, None)
        ids.append(run.id)
    return ids


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], other_runs: list[str]) -> dict[str, Any]:
    return {**jp_server_config, "RestifiedApp": {"max_records": 2}}


async def test_a_server_neither_lists_serves_nor_prunes_another_roots_runs(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    other_dir: Path,
    other_runs: list[str],
    app: RestifiedApp,
) -> None:
    write_notebook(
        jp_root_dir / "fib.ipynb",
        ("n: int = 10", ["parameters"]),
        ("n * 2", ["return"]),
    )
    own_dir = Path(app.runs_path())
    assert own_dir != other_dir
    # Named for the root by the hash the keys file is named for.
    assert own_dir.name == "runs-" + Path(app.keys_path()).stem.removeprefix("keys-")

    listed = json.loads((await jp_fetch("api", "restified", "runs")).body)["runs"]
    assert listed == []
    for run_id in other_runs:
        for parts in ((), ("notebook",)):
            with pytest.raises(HTTPClientError) as err:
                await jp_fetch("api", "restified", "runs", run_id, *parts)
            assert err.value.code == 404

    # Past max_records of fib.ipynb here: this root's oldest go, the other root's stay.
    for n in range(3):
        answer = await jp_fetch(
            "restified", "fib.ipynb", params={"n": n}, headers={"Prefer": "respond-async, wait=30"}
        )
        assert answer.code == 200
    listed = json.loads(
        (await jp_fetch("api", "restified", "runs", params={"path": "fib.ipynb"})).body
    )["runs"]
    assert [r["parameters"]["n"] for r in listed] == [2, 1]
    assert len([p for p in own_dir.iterdir() if not p.name.startswith(".")]) == 2
    assert sorted(p.name for p in other_dir.iterdir()) == sorted(other_runs)
    other = RunStore(other_dir)
    other.load()
    assert sorted(other.runs) == sorted(other_runs)


def test_an_explicit_runs_dir_is_used_as_given(app: RestifiedApp, tmp_path: Path) -> None:
    app.runs_dir = str(tmp_path / "records")
    assert app.runs_path() == str(tmp_path / "records")
