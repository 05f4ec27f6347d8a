"""The /restified/<path> endpoint through a real Jupyter server and real kernels.

Every line of the contract in DESIGN.md: values, results, content negotiation, each error
status with its body, saved changes, disconnects, responsiveness, concurrency, auth.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from notebook_restified.server.app import RestifiedApp

from .notebooks import alive, descendants, record_notebook, write_echo, write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(240)

TIME_LIMIT = 4.0


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **jp_server_config,  # conftest's: the extension enabled
        "RestifiedApp": {
            "time_limit": TIME_LIMIT,
            "pool_size": 2,
            "queue_size": 4,
            "max_body_size": 64 * 1024,
        },
    }


@pytest.fixture
def notebooks(jp_root_dir: Path) -> Path:
    """The notebooks every test calls, in the server's root."""
    write_notebook(
        jp_root_dir / "fib.ipynb",
        "from functools import lru_cache",
        ("n: int = 10  # which Fibonacci number", ["parameters"]),
        "@lru_cache(None)\ndef fib(k):\n    return k if k < 2 else fib(k - 1) + fib(k - 2)",
        ("raise RuntimeError('skip cells never run')", ["skip"]),
        ("fib(n)", ["return"]),
    )
    write_echo(
        jp_root_dir / "types.ipynb",
        "count = 1  # an int",
        ",\n 'types': [type(v).__name__ for v in (count, ratio, flag, name, items, options)]",
    )
    write_notebook(
        jp_root_dir / "sub" / "kinds.ipynb",
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "import pandas as pd",
        ("kind = 'frame'", ["parameters"]),
        (
            "if kind == 'plot':\n"
            "    fig, ax = plt.subplots()\n"
            "    ax.plot([1, 3, 2])\n"
            "    result = fig\n"
            "else:\n"
            "    result = pd.DataFrame({'city': ['A', 'B'], 'sales': [1.5, 2.0]})\n"
            "result",
            ["return"],
        ),
    )
    write_notebook(
        jp_root_dir / "trouble.ipynb",
        "import os, time, pathlib",
        ("mode = 'ok'\nseconds = 0.0\nmarker = ''", ["parameters"]),
        (
            "def check(m):\n"
            "    if m == 'raise':\n"
            "        raise ValueError('asked to fail')\n"
            "if marker:\n"
            "    pathlib.Path(marker).write_text(str(os.getpid()))\n"
            "if mode == 'exit':\n"
            "    os._exit(1)\n"
            "if mode == 'loop':\n"
            "    while True:\n"
            "        pass\n"
            "time.sleep(seconds)\n"
            "check(mode)\n"
            "'ok'",
            ["return"],
        ),
    )
    write_notebook(
        jp_root_dir / "two_returns.ipynb",
        ("n = 1", ["parameters"]),
        ("n", ["return"]),
        ("n + 1", ["return"]),
    )
    (jp_root_dir / "notes.txt").write_text("not a notebook")
    (jp_root_dir / "folder.ipynb").mkdir()
    return jp_root_dir


async def call(
    jp_fetch: Fetch, path: str, *, params: dict[str, Any] | None = None, **kwargs: Any
) -> HTTPResponse:
    return await jp_fetch("restified", path, params=params, **kwargs)


async def error_of(
    jp_fetch: Fetch, path: str, *, params: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[int, dict[str, Any], HTTPResponse]:
    with pytest.raises(HTTPClientError) as err:
        await call(jp_fetch, path, params=params, **kwargs)
    response = err.value.response
    assert response is not None
    assert response.headers["Content-Type"].startswith("application/json")
    return err.value.code, json.loads(response.body)["error"], response


async def save_notebook(jp_fetch: Fetch, path: str, content: dict[str, Any]) -> None:
    """Save through the contents API, as JupyterLab does."""
    body = {"type": "notebook", "format": "json", "content": content}
    await jp_fetch("api", "contents", path, method="PUT", body=json.dumps(body))
    record_notebook(content)


async def assert_healthy(jp_fetch: Fetch, app: RestifiedApp) -> None:
    """The next good call works and no process is left beyond the pool's kernels."""
    response = await call(jp_fetch, "fib.ipynb", params={"n": 12})
    assert json.loads(response.body) == 144
    deadline = time.monotonic() + 10
    while True:
        held = set(app.engine.kernel_pids())
        expected = set(held)
        for pid in held:
            expected |= descendants(pid)  # the kernels' forks waiting for the next call
        stray = {p: _cmdline(p) for p in descendants() - expected if alive(p)}
        if not stray or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert stray == {}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"


# --- success ---------------------------------------------------------------------------


async def test_get_coerces_query_and_returns_bare_json(jp_fetch: Fetch, notebooks: Path) -> None:
    response = await call(jp_fetch, "fib.ipynb", params={"n": "20"})
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.body == b"6765"
    default = await call(jp_fetch, "fib.ipynb")
    assert json.loads(default.body) == 55


async def test_query_types(jp_fetch: Fetch, notebooks: Path) -> None:
    params = {
        "count": "7",
        "ratio": "2",
        "flag": "yes",
        "name": "héllo wörld",
        "items": "[3, 4]",
        "options": '{"b": [1]}',
        "anything": '{"k": 1}',
    }
    body = json.loads((await call(jp_fetch, "types.ipynb", params=params)).body)
    assert body == {
        "count": 7,
        "ratio": 2.0,
        "flag": True,
        "name": "héllo wörld",
        "items": [3, 4],
        "options": {"b": [1]},
        "anything": {"k": 1},
        "types": ["int", "float", "bool", "str", "list", "dict"],
    }
    text = json.loads((await call(jp_fetch, "types.ipynb", params={"anything": "plain"})).body)
    assert text["anything"] == "plain"


async def test_post_json_and_form(jp_fetch: Fetch, notebooks: Path) -> None:
    body = json.dumps({"count": 3, "ratio": 1, "items": [], "anything": None})
    response = await call(
        jp_fetch,
        "types.ipynb",
        method="POST",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    value = json.loads(response.body)
    assert (value["count"], value["ratio"], value["items"], value["anything"]) == (3, 1.0, [], None)
    form = await call(
        jp_fetch,
        "types.ipynb",
        method="POST",
        body=urlencode({"count": "9", "flag": "true"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (json.loads(form.body)["count"], json.loads(form.body)["flag"]) == (9, True)
    empty = await call(jp_fetch, "fib.ipynb", method="POST", body="")
    assert json.loads(empty.body) == 55


async def test_non_ascii_names_in_a_query_and_a_form(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(
        jp_root_dir / "accents.ipynb",
        ("été = 1\nπ: float = 3.14", ["parameters"]),
        ("{'été': été, 'π': π}", ["return"]),
    )
    query = await call(jp_fetch, "accents.ipynb", params={"été": "7", "π": "2"})
    assert json.loads(query.body) == {"été": 7, "π": 2.0}
    form = await call(
        jp_fetch,
        "accents.ipynb",
        method="POST",
        body=urlencode({"été": "5"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert json.loads(form.body) == {"été": 5, "π": 3.14}
    # A name that is not UTF-8 is no parameter's: 422, as any unknown name.
    code, error, _ = await error_of(jp_fetch, "accents.ipynb", params={b"\xe9t\xe9": "7"})
    assert (code, error["type"]) == (422, "invalid_parameters")
    assert error["details"][0]["name"] == "\ufffdt\ufffd"
    code, error, _ = await error_of(
        jp_fetch,
        "accents.ipynb",
        method="POST",
        body=b"%E9t%E9=5",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (code, error["type"]) == (422, "invalid_parameters")


async def test_token_in_query_is_never_injected(
    jp_fetch: Fetch, notebooks: Path, jp_serverapp: Any
) -> None:
    token = jp_serverapp.identity_provider.token
    response = await call(
        jp_fetch, "fib.ipynb", params={"token": token, "n": "5"}, headers={"Authorization": ""}
    )
    assert json.loads(response.body) == 5


async def test_accept_negotiation(jp_fetch: Fetch, notebooks: Path) -> None:
    png = await call(jp_fetch, "sub/kinds.ipynb", params={"kind": "plot"})
    assert png.headers["Content-Type"] == "image/png"
    assert png.body.startswith(b"\x89PNG\r\n\x1a\n")

    rows = await call(jp_fetch, "sub/kinds.ipynb")
    assert json.loads(rows.body) == [{"city": "A", "sales": 1.5}, {"city": "B", "sales": 2.0}]

    csv = await call(jp_fetch, "sub/kinds.ipynb", headers={"Accept": "text/csv"})
    assert csv.headers["Content-Type"].startswith("text/csv")
    assert csv.body.decode().splitlines() == ["city,sales", "A,1.5", "B,2.0"]

    prefer = await call(
        jp_fetch, "sub/kinds.ipynb", headers={"Accept": "application/json;q=0.5, text/csv"}
    )
    assert prefer.headers["Content-Type"].startswith("text/csv")

    code, error, _ = await error_of(
        jp_fetch,
        "sub/kinds.ipynb",
        params={"kind": "plot"},
        headers={"Accept": "application/json"},
    )
    assert (code, error["type"]) == (406, "not_acceptable")
    # (Accept: text/html gets the endpoint's page: test_endpoint_page.py)
    code, error, _ = await error_of(jp_fetch, "fib.ipynb", headers={"Accept": "application/xml"})
    assert (code, error["type"]) == (406, "not_acceptable")


async def test_a_saved_change_is_seen_by_the_next_call(jp_fetch: Fetch, notebooks: Path) -> None:
    assert json.loads((await call(jp_fetch, "fib.ipynb", params={"n": 3})).body) == 2
    model = json.loads((await jp_fetch("api", "contents", "fib.ipynb")).body)
    model["content"]["cells"][-1]["source"] = "fib(n) * 1000"
    await save_notebook(jp_fetch, "fib.ipynb", model["content"])
    assert json.loads((await call(jp_fetch, "fib.ipynb", params={"n": 3})).body) == 2000
    model["content"]["cells"][1]["source"] = "n: int = 10\nbase = 7"
    model["content"]["cells"][-1]["source"] = "base + n"
    await save_notebook(jp_fetch, "fib.ipynb", model["content"])
    assert json.loads((await call(jp_fetch, "fib.ipynb", params={"n": 3})).body) == 10


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [("{not json", "not JSON"), ("[1, 2]", "JSON object"), ('"text"', "JSON object")],
)
async def test_bad_bodies_are_400(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp, body: str, problem: str
) -> None:
    code, error, _ = await error_of(
        jp_fetch,
        "fib.ipynb",
        method="POST",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    assert (code, error["type"]) == (400, "invalid_request")
    assert problem in error["message"]
    await assert_healthy(jp_fetch, app)


async def test_huge_body_is_413(jp_fetch: Fetch, notebooks: Path, app: RestifiedApp) -> None:
    body = json.dumps({"n": 1, "pad": "x" * (200 * 1024)})
    code, error, _ = await error_of(jp_fetch, "fib.ipynb", method="POST", body=body)
    assert (code, error["type"]) == (413, "too_large")
    await assert_healthy(jp_fetch, app)


@pytest.mark.parametrize(
    "path",
    [
        "missing.ipynb",
        "sub/../fib.ipynb",
        "../outside.ipynb",
        "notes.txt",
        "folder.ipynb",
        "sub",
        ".hidden.ipynb",
    ],
)
async def test_what_is_not_a_notebook_in_the_root_is_404(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp, jp_root_dir: Path, path: str
) -> None:
    write_notebook(
        jp_root_dir.parent / "outside.ipynb", ("n = 1", ["parameters"]), ("n", ["return"])
    )
    write_notebook(jp_root_dir / ".hidden.ipynb", ("n = 1", ["parameters"]), ("n", ["return"]))
    code, error, _ = await error_of(jp_fetch, path)
    assert (code, error["type"]) == (404, "not_found")
    assert app.engine.kernel_pids() == []  # nothing was started for it


async def test_encoded_dot_dot_is_404(
    jp_fetch: Fetch,
    notebooks: Path,
    http_server_client: Any,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    with pytest.raises(HTTPClientError) as err:
        await http_server_client.fetch(
            f"{jp_base_url}restified/sub/%2E%2E/%2E%2E/outside.ipynb", headers=jp_auth_header
        )
    assert err.value.code == 404


async def test_a_notebook_that_is_not_notebook_json_is_409(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp, jp_root_dir: Path
) -> None:
    (jp_root_dir / "corrupt.ipynb").write_text('{"cells": [')
    code, error, _ = await error_of(jp_fetch, "corrupt.ipynb")
    assert (code, error["type"]) == (409, "invalid_notebook")
    assert "cannot be read as a notebook" in error["message"]
    assert str(jp_root_dir) not in error["message"]
    assert app.engine.kernel_pids() == []


async def test_a_kernel_that_is_not_installed_is_502_and_says_so(
    jp_fetch: Fetch, notebooks: Path, jp_root_dir: Path
) -> None:
    write_notebook(
        jp_root_dir / "r.ipynb", ("x = 1", ["parameters"]), ("x", ["return"]), kernel="nope"
    )
    code, error, _ = await error_of(jp_fetch, "r.ipynb")
    assert (code, error["type"]) == (502, "kernel_died")
    assert error["message"] == "kernel 'nope' did not start: no such kernel is available here"
    response = await call(jp_fetch, "fib.ipynb", params={"n": 7})
    assert json.loads(response.body) == 13  # the server still serves


async def test_two_return_cells_is_409(jp_fetch: Fetch, notebooks: Path) -> None:
    code, error, _ = await error_of(jp_fetch, "two_returns.ipynb")
    assert (code, error["type"]) == (409, "invalid_notebook")
    assert error["cells"] == [1, 2]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_another_method_is_405_in_the_contract_and_runs_nothing(
    jp_fetch: Fetch, app: RestifiedApp, marker: Path, method: str
) -> None:
    document = json.loads((await jp_fetch("api", "restified", "openapi", "a.ipynb")).body)
    schema = {**document["components"]["schemas"]["Error"], "components": document["components"]}
    # jp_fetch sends the server's token: the method, not the caller, is refused.
    code, error, response = await error_of(
        jp_fetch,
        "a.ipynb",
        method=method,
        body=None if method == "DELETE" else "{}",
        allow_nonstandard_methods=True,
    )
    assert (code, error["type"]) == (405, "method_not_allowed")
    jsonschema.validate(json.loads(response.body), schema, cls=jsonschema.Draft202012Validator)
    assert "405" in document["paths"]["/restified/a.ipynb"]["get"]["responses"]
    assert not marker.exists()
    assert app.engine.kernel_pids() == []


async def test_unknown_and_ill_typed_parameters_are_422_per_field(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    code, error, _ = await error_of(
        jp_fetch, "types.ipynb", params={"count": "seven", "ratio": "x", "bogus": "1"}
    )
    assert (code, error["type"]) == (422, "invalid_parameters")
    assert sorted(d["name"] for d in error["details"]) == ["bogus", "count", "ratio"]
    code, error, _ = await error_of(
        jp_fetch,
        "types.ipynb",
        method="POST",
        body=json.dumps({"count": 1.5, "flag": "yes", "items": {"a": 1}}),
    )
    assert code == 422
    assert sorted(d["name"] for d in error["details"]) == ["count", "flag", "items"]
    await assert_healthy(jp_fetch, app)


@pytest.mark.parametrize(
    "name",
    [
        "__import__('os').system('touch {x}')",
        "n; open('{x}', 'w')",
        "n\nopen('{x}', 'w')",
        "n = open('{x}', 'w') #",
    ],
)
async def test_hostile_parameter_names_never_run(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp, tmp_path: Path, name: str
) -> None:
    sentinel = tmp_path / "pwned"
    hostile = name.format(x=sentinel)
    for method, kwargs in (
        ("GET", {"params": {hostile: "1"}}),
        ("POST", {"body": json.dumps({hostile: 1})}),
        (
            "POST",
            {
                "body": urlencode({hostile: "1"}),
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
        ),
    ):
        code, error, _ = await error_of(jp_fetch, "fib.ipynb", method=method, **kwargs)
        assert (code, error["type"]) == (422, "invalid_parameters")
        assert error["details"][0]["name"] == hostile
    assert not sentinel.exists()
    await assert_healthy(jp_fetch, app)
    assert not sentinel.exists()


async def test_hostile_values_arrive_as_literals(
    jp_fetch: Fetch, notebooks: Path, tmp_path: Path
) -> None:
    sentinel = tmp_path / "pwned"
    value = f"'); open('{sentinel}', 'w'); ('\"\"\"\\\n\u202e\U0001f600"
    response = await call(jp_fetch, "types.ipynb", params={"name": value})
    assert json.loads(response.body)["name"] == value
    response = await call(
        jp_fetch, "types.ipynb", method="POST", body=json.dumps({"options": {value: [value]}})
    )
    assert json.loads(response.body)["options"] == {value: [value]}
    assert not sentinel.exists()


async def test_cell_error_is_500_with_the_cell(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    code, error, _ = await error_of(jp_fetch, "trouble.ipynb", params={"mode": "raise"})
    assert (code, error["type"]) == (500, "execution_error")
    assert error["cell_index"] == 2
    assert error["cell_id"]
    assert (error["ename"], error["evalue"]) == ("ValueError", "asked to fail")
    assert any("raise ValueError('asked to fail')" in line for line in error["traceback"])
    assert not any("\x1b[" in line for line in error["traceback"])
    await assert_healthy(jp_fetch, app)


async def test_an_exception_whose_str_raises_is_500_with_the_cell(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    write_notebook(
        jp_root_dir / "no_str.ipynb",
        ("n = 1", ["parameters"]),
        (
            "class E(Exception):\n"
            "    def __str__(self):\n"
            "        raise RuntimeError('no str')\n"
            "raise E()",
            ["return"],
        ),
    )
    code, error, _ = await error_of(jp_fetch, "no_str.ipynb")
    assert (code, error["type"]) == (500, "execution_error")
    assert (error["cell_index"], error["ename"]) == (1, "E")
    assert error["evalue"] == "<exception str() failed>"
    assert any("raise E()" in line for line in error["traceback"])
    assert not any("runner" in line for line in error["traceback"])


async def test_kernel_death_is_502(jp_fetch: Fetch, notebooks: Path, app: RestifiedApp) -> None:
    code, error, _ = await error_of(jp_fetch, "trouble.ipynb", params={"mode": "exit"})
    assert (code, error["type"]) == (502, "kernel_died")
    assert json.loads((await call(jp_fetch, "trouble.ipynb")).body) == "ok"
    await assert_healthy(jp_fetch, app)


async def test_infinite_loop_is_504_and_stopped(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp, tmp_path: Path
) -> None:
    marker = tmp_path / "loop.pid"
    code, error, _ = await error_of(
        jp_fetch, "trouble.ipynb", params={"mode": "loop", "marker": str(marker)}
    )
    assert (code, error["type"]) == (504, "timeout")
    assert error["time_limit"] == TIME_LIMIT
    pid = int(marker.read_text())
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not alive(pid), "the looping call must be stopped"
    await assert_healthy(jp_fetch, app)


async def test_disconnect_cancels_the_call(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp, tmp_path: Path
) -> None:
    # Warm first: a cold warm-up on a loaded machine can outlast the clients' patience, and
    # then no call would be running when they leave.
    await call(jp_fetch, "trouble.ipynb")
    markers = [tmp_path / f"left{i}.pid" for i in range(2)]
    for marker in markers:  # fill both pool slots with calls whose clients give up
        with pytest.raises(HTTPClientError) as err:
            await call(
                jp_fetch,
                "trouble.ipynb",
                params={"seconds": 60, "marker": str(marker)},
                request_timeout=1.5,
            )
        assert err.value.code == 599
    deadline = time.monotonic() + 5
    pids = []
    while time.monotonic() < deadline:
        pids = [int(m.read_text()) for m in markers if m.exists() and m.read_text()]
        if len(pids) == 2 and not any(alive(p) for p in pids):
            break
        await asyncio.sleep(0.1)
    assert len(pids) == 2
    assert not any(alive(p) for p in pids), "abandoned calls must be stopped"
    assert app.engine.stats()["running"] == 0
    await assert_healthy(jp_fetch, app)


async def test_server_stays_responsive_during_a_call(jp_fetch: Fetch, notebooks: Path) -> None:
    await call(jp_fetch, "trouble.ipynb")  # warm
    slow = asyncio.ensure_future(call(jp_fetch, "trouble.ipynb", params={"seconds": 3}))
    await asyncio.sleep(0.5)
    latencies = []
    for _ in range(5):
        started = time.perf_counter()
        status = await jp_fetch("api", "status")
        latencies.append(time.perf_counter() - started)
        assert status.code == 200
    assert not slow.done()
    assert min(latencies) < 0.1, latencies
    assert json.loads((await slow).body) == "ok"


async def test_concurrency_is_bounded_by_pool_and_queue(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    await call(jp_fetch, "trouble.ipynb")  # warm
    calls = [
        call(jp_fetch, "trouble.ipynb", params={"seconds": 0.5}, request_timeout=60)
        for _ in range(20)
    ]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    ok = [o for o in outcomes if isinstance(o, HTTPResponse)]
    busy = [o for o in outcomes if isinstance(o, HTTPClientError)]
    assert len(ok) + len(busy) == 20
    assert all(json.loads(o.body) == "ok" for o in ok)
    assert all(e.code == 503 for e in busy)
    # pool 2 + queue 4: at least 6 run; the rest are turned away at once
    assert len(ok) >= 6
    assert busy, "past pool and queue, calls must get 503"
    response = busy[0].response
    assert response is not None
    assert int(response.headers["Retry-After"]) >= 1
    assert json.loads(response.body)["error"]["type"] == "busy"
    assert app.engine.stats()["running"] == 0
    await assert_healthy(jp_fetch, app)


# --- auth ------------------------------------------------------------------------------


async def test_without_credentials_nothing_runs(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp, tmp_path: Path
) -> None:
    marker = tmp_path / "ran.pid"
    for method, body in (("GET", None), ("POST", json.dumps({"marker": str(marker)}))):
        with pytest.raises(HTTPClientError) as err:
            await call(
                jp_fetch,
                "trouble.ipynb",
                method=method,
                body=body,
                params={"marker": str(marker)} if method == "GET" else None,
                headers={"Authorization": ""},
            )
        assert err.value.code == 403
        assert json.loads(err.value.response.body)["error"]["type"] == "forbidden"
    for route in ("api/restified/spec/fib.ipynb", "api/restified/openapi/fib.ipynb"):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch(route, headers={"Authorization": ""})
        assert err.value.code == 403
    assert not marker.exists()
    assert app.engine.kernel_pids() == []


async def test_a_save_rewarms_the_notebook_ahead_of_the_next_call(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    assert json.loads((await call(jp_fetch, "fib.ipynb", params={"n": 3})).body) == 2

    def kernel_of_fib() -> set[int]:
        notebooks = app.engine.stats()["warm_notebooks"]
        return {p for w in notebooks if w["path"] == "fib.ipynb" for p in w["kernel_pids"]}

    before = kernel_of_fib()
    assert before
    model = json.loads((await jp_fetch("api", "contents", "fib.ipynb")).body)
    model["content"]["cells"][0]["source"] = "from functools import lru_cache\nbonus = 100"
    model["content"]["cells"][-1]["source"] = "fib(n) + bonus"
    await save_notebook(jp_fetch, "fib.ipynb", model["content"])
    # The new setup gets its own warm kernel without waiting for a call.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = kernel_of_fib()
        if now and not now & before and not any(alive(pid) for pid in before):
            break
        await asyncio.sleep(0.1)
    assert now
    assert not now & before
    assert not any(alive(pid) for pid in before)
    assert json.loads((await call(jp_fetch, "fib.ipynb", params={"n": 3})).body) == 102


async def test_a_cache_busting_number_is_ignored(
    jp_fetch: Fetch,
    notebooks: Path,
    http_server_client: Any,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    response = await http_server_client.fetch(
        f"{jp_base_url}restified/fib.ipynb?n=6&1732250000000", headers=jp_auth_header
    )
    assert json.loads(response.body) == 8
    code, error, _ = await error_of(jp_fetch, "fib.ipynb", params={"1732250000000": "5"})
    assert (code, error["type"]) == (422, "invalid_parameters")
