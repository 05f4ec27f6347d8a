"""A call's result is encoded once, in the form its ``Accept`` prefers: a DataFrame asked
for as CSV is never converted to JSON, and the other way round; 406 stays right; a call
whose result is recorded keeps every form; the JSON text is sent as the call wrote it."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPResponse

from notebook_restified.kernelside.encoder import (
    CSV_MEDIA,
    JSON_MEDIA,
    ResultTooLarge,
    encode_parts,
    encode_result,
    json_size,
)

from .notebooks import write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(240)

BASE_CONFIG = {"ServerApp": {"jpserver_extensions": {"notebook_restified": True}}}

# Objects that note, in a file next to the notebook, each time they are converted to JSON
# (``__json__``) or written as CSV (pandas writes an object column with ``str``).
TRACKED = """
import pandas as pd

class Tracked:
    def __init__(self, n):
        self.n = n

    def __json__(self):
        with open('json.log', 'a') as f:
            f.write('j\\n')
        return self.n

    def __str__(self):
        with open('csv.log', 'a') as f:
            f.write('c\\n')
        return f't{self.n}'
"""

PNG = b"\x89PNG\r\n\x1a\n" + b"not really an image"

PICTURE = f"""
class Picture:
    def _repr_png_(self):
        return {PNG!r}
"""


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {**BASE_CONFIG, "RestifiedApp": {"record_calls": "none"}}


def tracked_notebook(path: Path, isolation: str | None = None) -> Path:
    write_notebook(
        path,
        TRACKED,
        ("n = 2", ["parameters"]),
        ("pd.DataFrame({'x': [Tracked(i) for i in range(n)]})", ["return"]),
    )
    if isolation is not None:
        nb = nbformat.read(str(path), as_version=4)
        nb.metadata["restified"] = {"isolation": isolation}
        nbformat.write(nb, str(path))
    return path


@pytest.fixture
def root(jp_root_dir: Path) -> Path:
    tracked_notebook(jp_root_dir / "table.ipynb")
    write_notebook(
        jp_root_dir / "values.ipynb",
        PICTURE,
        ("what = 'dict'", ["parameters"]),
        (
            "{'dict': {'a': 1}, 'text': 'héllo ☃', 'surrogate': '\\ud800',"
            " 'picture': Picture()}[what]",
            ["return"],
        ),
    )
    return jp_root_dir


def lines(root: Path, name: str) -> int:
    log = root / name
    return len(log.read_text().splitlines()) if log.exists() else 0


async def call(
    jp_fetch: Fetch, path: str, accept: str | None = None, **kwargs: Any
) -> HTTPResponse:
    headers = {"Accept": accept} if accept else {}
    return await jp_fetch("restified", path, headers=headers, raise_error=False, **kwargs)


async def test_a_table_asked_for_as_csv_is_never_made_json(jp_fetch: Fetch, root: Path) -> None:
    response = await call(jp_fetch, "table.ipynb", "text/csv")
    assert response.code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.body.decode().splitlines() == ["x", "t0", "t1"]
    assert lines(root, "json.log") == 0
    written = lines(root, "csv.log")
    assert written >= 2

    response = await call(jp_fetch, "table.ipynb", "application/json")
    assert response.code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == [{"x": 0}, {"x": 1}]
    assert lines(root, "json.log") == 2
    assert lines(root, "csv.log") == written  # no CSV written for a JSON answer

    # No Accept, or one that likes anything: JSON, the first offered, and only it.
    response = await call(jp_fetch, "table.ipynb", params={"n": 1})
    assert json.loads(response.body) == [{"x": 0}]
    assert lines(root, "json.log") == 3
    assert lines(root, "csv.log") == written


async def test_406_when_accept_allows_no_form_of_the_result(jp_fetch: Fetch, root: Path) -> None:
    # Nothing the endpoint makes: refused before anything runs.
    response = await call(jp_fetch, "table.ipynb", "application/xml")
    assert response.code == 406
    assert json.loads(response.body)["error"]["type"] == "not_acceptable"
    # A table asked for as an image: it runs (its kind is known only then), nothing is
    # encoded, and the error names the table's forms.
    response = await call(jp_fetch, "table.ipynb", "image/png")
    assert response.code == 406
    error = json.loads(response.body)["error"]
    assert error["type"] == "not_acceptable"
    assert "application/json, text/csv" in error["message"]
    assert "image/png" in error["message"]
    assert lines(root, "json.log") == 0
    assert lines(root, "csv.log") == 0
    # A JSON value asked for as CSV, an image asked for as JSON.
    response = await call(jp_fetch, "values.ipynb", "text/csv")
    assert response.code == 406
    assert "application/json;" in json.loads(response.body)["error"]["message"]
    response = await call(jp_fetch, "values.ipynb", "application/json", params={"what": "picture"})
    assert response.code == 406
    # ... and each as it may be sent.
    response = await call(jp_fetch, "values.ipynb", "image/*", params={"what": "picture"})
    assert response.code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.body == PNG
    # The server is fine after all of them.
    assert json.loads((await call(jp_fetch, "values.ipynb")).body) == {"a": 1}


async def test_json_text_is_sent_as_the_call_wrote_it(jp_fetch: Fetch, root: Path) -> None:
    response = await call(jp_fetch, "values.ipynb", params={"what": "text"})
    assert response.code == 200
    assert response.body == '"héllo ☃"'.encode()  # UTF-8, not escaped
    # A lone surrogate has no UTF-8 form: escaped, still valid JSON.
    response = await call(jp_fetch, "values.ipynb", params={"what": "surrogate"})
    assert response.code == 200
    assert response.body == b'"\\ud800"'
    assert json.loads(response.body) == "\ud800"


@pytest.mark.parametrize(
    "jp_server_config", [{**BASE_CONFIG, "RestifiedApp": {"record_calls": "all"}}]
)
async def test_a_recorded_call_keeps_every_form(jp_fetch: Fetch, root: Path) -> None:
    response = await call(jp_fetch, "table.ipynb", "text/csv")
    assert response.body.decode().splitlines() == ["x", "t0", "t1"]
    runs: list[dict[str, Any]] = []
    for _ in range(200):  # the record is written after the answer
        listed = await jp_fetch("api", "restified", "runs", params={"path": "table.ipynb"})
        runs = json.loads(listed.body)["runs"]
        if runs and runs[0]["status"] == "succeeded":
            break
        await asyncio.sleep(0.05)
    assert runs
    assert runs[0]["status"] == "succeeded"
    run_id = runs[0]["id"]
    as_json = await jp_fetch(
        "api", "restified", "runs", run_id, "result", headers={"Accept": "application/json"}
    )
    assert json.loads(as_json.body) == [{"x": 0}, {"x": 1}]
    as_csv = await jp_fetch(
        "api", "restified", "runs", run_id, "result", headers={"Accept": "text/csv"}
    )
    assert as_csv.body.decode().splitlines() == ["x", "t0", "t1"]


async def test_kernel_isolation_encodes_once_too(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    tracked_notebook(jp_root_dir / "fresh.ipynb", isolation="kernel")
    response = await call(jp_fetch, "fresh.ipynb", "text/csv", request_timeout=120)
    assert response.code == 200
    assert response.body.decode().splitlines() == ["x", "t0", "t1"]
    assert lines(jp_root_dir, "json.log") == 0
    written = lines(jp_root_dir, "csv.log")
    response = await call(jp_fetch, "fresh.ipynb", "application/json", request_timeout=120)
    assert json.loads(response.body) == [{"x": 0}, {"x": 1}]
    assert lines(jp_root_dir, "json.log") == 2
    assert lines(jp_root_dir, "csv.log") == written


# --- the encoder: rows of plain values are measured and written at C speed ---------------


def test_plain_rows_convert_as_any_other_value() -> None:
    rows: list[Any] = [
        {"id": 1, "name": "a", "score": 0.5, "tags": ["x", "y"], "ok": True, "none": None},
        {"id": 2, "score": math.nan, "inf": [math.inf]},  # not plain: converted
        {1: "int key", "deep": {"a": {"b": 1}}},  # not plain: converted
        {"big": 10**5000},  # past the safe int size: converted (hex, flagged)
        [1, 2.5, "three", [4], {"five": 5}],
    ]
    encoded = encode_result(rows)
    assert encoded["json"] == [
        rows[0],
        {"id": 2, "score": None, "inf": [None]},
        {"1": "int key", "deep": {"a": {"b": 1}}},
        {"big": hex(10**5000)},
        [1, 2.5, "three", [4], {"five": 5}],
    ]
    assert encoded["repr"] is True  # the big int
    assert encode_result([rows[0]])["repr"] is False


def test_json_size_of_plain_rows_is_exact_and_stops_past_the_limit() -> None:
    rows = [{"id": i, "name": f"row {i} ☃", "tags": ["a", "b"], "x": i / 3} for i in range(20000)]
    text = json.dumps(rows)
    assert json_size(rows, len(text)) == len(text)
    with pytest.raises(ResultTooLarge) as err:
        encode_parts(rows, limit=len(text) // 2, media={"json": JSON_MEDIA})
    assert err.value.size > len(text) // 2


def test_encode_parts_gives_the_bytes_of_the_one_form_wanted() -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "é"]})
    result, parts = encode_parts(frame, media={"table": CSV_MEDIA, "json": JSON_MEDIA})
    assert result == {"kind": "table", "repr": False, "media": CSV_MEDIA}
    assert parts == [("csv", "a,b\n1,x\n2,é\n".encode())]
    result, parts = encode_parts(frame, media={"table": JSON_MEDIA, "json": JSON_MEDIA})
    assert result["media"] == JSON_MEDIA
    assert parts == [("json", '[{"a": 1, "b": "x"}, {"a": 2, "b": "é"}]'.encode())]
    result, parts = encode_parts(frame, media={"table": None, "json": JSON_MEDIA})
    assert (result["media"], parts) == (None, [])
    # Without media: every form (what a run's record keeps).
    result, parts = encode_parts(frame)
    assert "media" not in result
    assert [name for name, _ in parts] == ["json", "csv"]
