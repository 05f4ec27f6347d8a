"""POST /api/restified/spec/<path>: the spec of a notebook sent in the body (what a save is
about to write), through a real server: the same spec the saved file gives, only for an
authenticated and authorized caller, the body bounded and read as data, never run."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from notebook_restified.server.app import RestifiedApp
from notebook_restified.server.specs import MAX_SPEC_BODY

from .notebooks import write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

ROUTE = ("api", "restified", "spec")


@pytest.fixture
def notebook(jp_root_dir: Path) -> Path:
    return write_notebook(
        jp_root_dir / "dir" / "model.ipynb",
        "import math",
        ("n: int = 10  # how many\nscale = 1.5", ["parameters"]),
        ("print('exploring')", ["skip"]),
        ("n * scale", ["return"]),
    )


def cell(source: str | None, *tags: str, kind: str = "code") -> dict[str, Any]:
    """A cell as the panel sends it: its type and tags, and its source when a spec reads it."""
    found: dict[str, Any] = {"cell_type": kind, "metadata": {"tags": list(tags)} if tags else {}}
    if source is not None:
        found["source"] = source
    return found


def draft(*cells: dict[str, Any]) -> dict[str, Any]:
    return {
        "nbformat": 4,
        "metadata": {
            "kernelspec": {"name": "python3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": list(cells),
    }


async def post(jp_fetch: Fetch, path: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
    text = body if isinstance(body, (str, bytes)) else json.dumps(body)
    try:
        response = await jp_fetch(*ROUTE, *path.split("/"), method="POST", body=text, **kwargs)
    except HTTPClientError as err:
        if err.response is None:
            raise
        response = err.response
    return response.code, json.loads(response.body)


async def test_the_spec_of_the_sent_notebook_is_the_spec_the_saved_file_gives(
    jp_fetch: Fetch, notebook: Path
) -> None:
    saved = json.loads((await jp_fetch(*ROUTE, "dir", "model.ipynb")).body)
    # Only what a spec reads: the sources of the setup and skip cells are left out.
    status, sent = await post(
        jp_fetch,
        "dir/model.ipynb",
        draft(
            cell(None),
            cell("n: int = 10  # how many\nscale = 1.5", "parameters"),
            cell(None, "skip"),
            cell("n * scale", "return"),
        ),
    )
    assert status == 200
    assert sent == saved
    assert sent["path"] == "dir/model.ipynb"
    assert sent["url"].endswith("/restified/dir/model.ipynb")


async def test_the_sent_notebook_not_the_saved_one_makes_the_spec(
    jp_fetch: Fetch, notebook: Path
) -> None:
    status, sent = await post(
        jp_fetch,
        "dir/model.ipynb",
        draft(
            cell(None),
            cell("n: int = 25\nscale = 2.0", "parameters"),
            cell(None),
            cell("n * scale", "return"),
            cell("print('after')"),
            cell("# md", kind="markdown"),
        ),
    )
    assert status == 200
    assert [(p["name"], p["default"]) for p in sent["parameters"]] == [("n", 25), ("scale", 2.0)]
    assert sent["body_cells"] == [2, 3]
    assert sent["skip_cells"] == []
    assert sent["warnings"] == ["Cell 4 comes after the return cell and will not run."]
    # The saved file is unchanged, and still says what it did.
    saved = json.loads((await jp_fetch(*ROUTE, "dir", "model.ipynb")).body)
    assert [p["default"] for p in saved["parameters"]] == [10, 1.5]


async def test_tags_that_make_no_function_are_the_same_409_as_for_a_saved_file(
    jp_fetch: Fetch, notebook: Path
) -> None:
    status, body = await post(
        jp_fetch,
        "dir/model.ipynb",
        draft(cell("a = 1", "parameters"), cell("b = 2", "parameters")),
    )
    assert status == 409
    assert body["error"]["type"] == "invalid_notebook"
    assert body["error"]["cells"] == [0, 1]


async def test_a_hostile_parameters_cell_is_only_read(
    jp_fetch: Fetch, notebook: Path, tmp_path: Path, app: RestifiedApp
) -> None:
    marker = tmp_path / "ran"
    hostile = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    for parameters in (hostile, f"n = {hostile}", f"n: int = 1\nimport os\n{hostile}"):
        status, body = await post(
            jp_fetch,
            "dir/model.ipynb",
            draft(cell(parameters, "parameters"), cell(hostile, "return")),
        )
        assert status == 409, body
        assert body["error"]["type"] == "invalid_notebook"
    assert not marker.exists()
    assert app.engine.kernel_pids() == []


async def test_credentials_are_required(jp_fetch: Fetch, notebook: Path) -> None:
    status, body = await post(
        jp_fetch,
        "dir/model.ipynb",
        draft(cell("n = 1", "parameters")),
        headers={"Authorization": ""},
    )
    assert status == 403
    assert body["error"]["type"] == "forbidden"


async def test_an_oversized_body_is_refused_with_413(jp_fetch: Fetch, notebook: Path) -> None:
    big = "x = 1\n" * (MAX_SPEC_BODY // 6 + 1)
    status, body = await post(jp_fetch, "dir/model.ipynb", draft(cell(big, "parameters")))
    assert status == 413
    assert body["error"]["type"] == "too_large"
    # The server is fine afterwards.
    status, _ = await post(jp_fetch, "dir/model.ipynb", draft(cell("n = 1", "parameters")))
    assert status == 200


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[]",
        {"nbformat": 3, "cells": []},
        {"metadata": [], "cells": []},
        {"metadata": {"kernelspec": "python3"}, "cells": []},
        {"cells": {}},
        {"cells": [1]},
        {"cells": [{"cell_type": "code", "source": 5}]},
        {"cells": [{"cell_type": "code", "source": "x", "metadata": []}]},
        {"cells": [{"source": "x"}]},
    ],
    ids=lambda b: str(b)[:40],
)
async def test_what_is_not_a_notebook_is_a_400(jp_fetch: Fetch, notebook: Path, body: Any) -> None:
    status, answer = await post(jp_fetch, "dir/model.ipynb", body)
    assert status == 400, answer
    assert answer["error"]["type"] == "invalid_request"


async def test_a_path_that_is_no_notebook_here_is_a_404(jp_fetch: Fetch, notebook: Path) -> None:
    for path in ("missing.ipynb", "dir", "dir/model.txt", "../outside.ipynb"):
        status, body = await post(jp_fetch, path, draft(cell("n = 1", "parameters")))
        assert status == 404, (path, body)
        assert body["error"]["type"] == "not_found"
