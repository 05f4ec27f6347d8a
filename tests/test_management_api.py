"""GET /api/restified/spec/<path> and /api/restified/openapi/<path> through a real server."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate
from tornado.httpclient import HTTPClientError, HTTPResponse

from .notebooks import write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]


@pytest.fixture
def notebooks(jp_root_dir: Path) -> Path:
    write_notebook(
        jp_root_dir / "dir with space" / "model.ipynb",
        "import math",
        (
            "n: int = 10  # how many\n"
            "scale = 1.5  # a factor\n"
            "label = 'x'\n"
            "verbose = False\n"
            "weights = [1, 2]\n"
            "extra = None",
            ["parameters"],
        ),
        ("print('exploring')", ["skip"]),
        ("n * scale", ["return"]),
    )
    write_notebook(jp_root_dir / "plain.ipynb", "x = 1")
    write_notebook(jp_root_dir / "other_kernel.ipynb", ("x", ["return"]), kernel="no-such-kernel")
    (jp_root_dir / "corrupt.ipynb").write_text("{not json")
    write_notebook(
        jp_root_dir / "bad.ipynb", ("a = 1", ["parameters"]), ("b = f()", ["parameters"])
    )
    return jp_root_dir


async def get_json(jp_fetch: Fetch, *parts: str) -> Any:
    return json.loads((await jp_fetch(*parts)).body)


async def test_spec_describes_the_endpoint(
    jp_fetch: Fetch, notebooks: Path, jp_base_url: str
) -> None:
    spec = await get_json(jp_fetch, "api", "restified", "spec", "dir with space", "model.ipynb")
    assert spec["path"] == "dir with space/model.ipynb"
    assert spec["url"].startswith("http://")
    assert spec["url"].endswith(
        f"{jp_base_url.rstrip('/')}/restified/dir%20with%20space/model.ipynb"
    )
    assert spec["kernel"] == {"name": "python3", "language": "python"}
    assert [{k: p[k] for k in ("name", "type", "default", "help")} for p in spec["parameters"]] == [
        {"name": "n", "type": "int", "default": 10, "help": "how many"},
        {"name": "scale", "type": "float", "default": 1.5, "help": "a factor"},
        {"name": "label", "type": "str", "default": "x", "help": ""},
        {"name": "verbose", "type": "bool", "default": False, "help": ""},
        {"name": "weights", "type": "list", "default": [1, 2], "help": ""},
        {"name": "extra", "type": "any", "default": None, "help": ""},
    ]
    assert [p["nullable"] for p in spec["parameters"]] == [False] * 5 + [True]
    assert spec["parameters"][0]["schema"] == {
        "type": "integer",
        "default": 10,
        "description": "how many",
    }
    assert spec["return_cell"] == 3
    assert spec["skip_cells"] == [2]
    assert spec["warnings"] == []


async def test_spec_warns_without_return_cell(jp_fetch: Fetch, notebooks: Path) -> None:
    spec = await get_json(jp_fetch, "api", "restified", "spec", "plain.ipynb")
    assert spec["return_cell"] is None
    assert any("return" in w for w in spec["warnings"])


async def test_spec_warns_when_the_kernel_is_not_installed(
    jp_fetch: Fetch, notebooks: Path
) -> None:
    spec = await get_json(jp_fetch, "api", "restified", "spec", "other_kernel.ipynb")
    assert any("'no-such-kernel' is not available" in w for w in spec["warnings"])
    spec = await get_json(jp_fetch, "api", "restified", "spec", "plain.ipynb")
    assert not any("available" in w for w in spec["warnings"])


async def test_spec_errors(jp_fetch: Fetch, notebooks: Path) -> None:
    for path, status, kind in (
        ("missing.ipynb", 404, "not_found"),
        ("bad.ipynb", 409, "invalid_notebook"),
        ("corrupt.ipynb", 409, "invalid_notebook"),  # there, but not notebook JSON
    ):
        for route in ("spec", "openapi"):
            with pytest.raises(HTTPClientError) as err:
                await jp_fetch("api", "restified", route, path)
            assert err.value.code == status
            assert err.value.response is not None
            error = json.loads(err.value.response.body)["error"]
            assert error["type"] == kind
            assert str(notebooks) not in error["message"]  # no server paths in answers


async def test_openapi_document_is_valid_and_typed(jp_fetch: Fetch, notebooks: Path) -> None:
    doc = await get_json(jp_fetch, "api", "restified", "openapi", "dir with space", "model.ipynb")
    validate(doc)  # OpenAPI 3.1
    assert doc["openapi"].startswith("3.1")
    # The endpoint, and the runs routes a 202 (Prefer: respond-async) leads to.
    ((path, item),) = [(p, i) for p, i in doc["paths"].items() if p.startswith("/restified/")]
    assert path == "/restified/dir%20with%20space/model.ipynb"
    body = item["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["additionalProperties"] is False
    assert body["properties"]["n"] == {"type": "integer", "default": 10, "description": "how many"}
    assert body["properties"]["scale"]["type"] == "number"
    assert body["properties"]["verbose"]["type"] == "boolean"
    assert body["properties"]["weights"]["type"] == "array"
    query = {p["name"]: p for p in item["get"]["parameters"]}
    assert set(query) == {"n", "scale", "label", "verbose", "weights", "extra", "Prefer"}
    assert query["n"]["schema"]["type"] == "integer"
    assert "application/json" in query["weights"]["content"]
    for operation in item.values():
        assert {
            "200",
            "400",
            "403",
            "404",
            "405",
            "406",
            "409",
            "413",
            "422",
            "429",
            "500",
            "502",
            "503",
            "504",
        } <= set(operation["responses"])
    assert "Retry-After" in item["get"]["responses"]["503"]["headers"]
    assert "Retry-After" in item["get"]["responses"]["429"]["headers"]
    assert "keys_unavailable" in item["get"]["responses"]["503"]["description"]
    # The body schema accepts what the endpoint accepts and refuses what it refuses.
    jsonschema.validate({"n": 3, "scale": 2, "extra": {"a": 1}}, body)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"n": "3"}, body)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"unknown": 1}, body)


async def test_openapi_matches_real_responses(jp_fetch: Fetch, notebooks: Path) -> None:
    doc = await get_json(jp_fetch, "api", "restified", "openapi", "dir with space", "model.ipynb")
    error_schema = doc["components"]["schemas"]["Error"]
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("restified", "dir with space", "model.ipynb", params={"n": "many"})
    assert err.value.response is not None
    jsonschema.validate(json.loads(err.value.response.body), error_schema)
    ok = await jp_fetch("restified", "dir with space", "model.ipynb", params={"n": "4"})
    assert json.loads(ok.body) == 6.0
