"""The routes' own errors in the contract's form: an id that cannot be a run's or a key's is
a JSON 404 ``not_found`` like an unknown one (never the server's HTML page)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from .notebooks import Fetch


async def error_of(jp_fetch: Fetch, *parts: str, **kwargs: Any) -> tuple[HTTPResponse, Any]:
    """The error response of a request, and its JSON body's ``error``."""
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(*parts, **kwargs)
    response = err.value.response
    assert response is not None
    assert response.headers["Content-Type"].startswith("application/json")
    return response, json.loads(response.body)["error"]


@pytest.mark.parametrize("run_id", ["deadbeef", "zz", "0" * 33, "A" * 32, "0" * 31 + "g"])
@pytest.mark.parametrize(
    ("method", "tail"),
    [("GET", ()), ("DELETE", ()), *(("GET", (t,)) for t in ("result", "events", "notebook"))],
)
async def test_a_malformed_run_id_is_a_json_404_as_an_unknown_one(
    jp_fetch: Fetch, run_id: str, method: str, tail: tuple[str, ...]
) -> None:
    unknown, unknown_error = await error_of(
        jp_fetch, "api", "restified", "runs", "0" * 32, *tail, method=method
    )
    response, error = await error_of(
        jp_fetch, "api", "restified", "runs", run_id, *tail, method=method
    )
    assert (unknown.code, unknown_error["type"]) == (404, "not_found")
    assert (response.code, error["type"]) == (404, "not_found")
    assert run_id in error["message"]


@pytest.mark.parametrize("key_id", ["zz", "ABC", "0123456789abcdef0123", "nrk_x"])
async def test_a_malformed_key_id_is_a_json_404_as_an_unknown_one(
    jp_fetch: Fetch, key_id: str
) -> None:
    unknown, unknown_error = await error_of(
        jp_fetch, "api", "restified", "keys", "0123456789ab", method="DELETE"
    )
    response, error = await error_of(jp_fetch, "api", "restified", "keys", key_id, method="DELETE")
    assert (unknown.code, unknown_error["type"]) == (404, "not_found")
    assert (response.code, error["type"]) == (404, "not_found")
