"""Limits on what one request or one caller may take from the server: bodies nested too
deep, calls in flight per endpoint key, bodies refused before they are read, large bodies
read off the event loop, problems listed up to a bound."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from notebook_restified.engine import pool
from notebook_restified.server import calls

from .notebooks import write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(240)

MAX_BODY = 1024 * 1024


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **jp_server_config,  # conftest's: the extension enabled
        "RestifiedApp": {"pool_size": 2, "queue_size": 4, "max_body_size": MAX_BODY},
    }


@pytest.fixture
def notebooks(jp_root_dir: Path, tmp_path: Path) -> Path:
    """``slow.ipynb`` sleeps ``seconds`` and touches ``marker`` when it runs."""
    marker = tmp_path / "ran"
    write_notebook(
        jp_root_dir / "slow.ipynb",
        "import pathlib, time",
        ("seconds = 0.0\nitems: list = []", ["parameters"]),
        (
            f"pathlib.Path({str(marker)!r}).touch()\ntime.sleep(seconds)\nlen(items)",
            ["return"],
        ),
    )
    return marker


async def error_of(jp_fetch: Fetch, *parts: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(*parts, **kwargs)
    assert err.value.response is not None
    return err.value.code, json.loads(err.value.response.body)["error"]


@pytest.mark.parametrize("outer", ["[{}]", '{{"items": {}}}'])
async def test_a_body_nested_past_the_parser_is_400(
    jp_fetch: Fetch, notebooks: Path, outer: str
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    code, error = await error_of(
        jp_fetch, "restified", "slow.ipynb", method="POST", body=outer.format(deep)
    )
    assert (code, error["type"]) == (400, "invalid_request")
    assert "nests too deep" in error["message"]
    assert not notebooks.exists()
    # The same body where a key is made: 400 too.
    code, error = await error_of(
        jp_fetch, "api", "restified", "keys", method="POST", body=outer.format(deep)
    )
    assert (code, error["type"]) == (400, "invalid_request")


async def raw_request(port: int, head: str, body: bytes = b"") -> tuple[str, bytes]:
    """Send a request's head (to the server ``http_server_client`` started) and the start of its body, never the rest; the response's
    status line and body as the server sends them (within a time the server never needs
    when it answers at once)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + b"\r\n\r\n" + body)
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), timeout=20)
        rest = await asyncio.wait_for(reader.read(65536), timeout=20)
    finally:
        writer.close()
    return status.decode().strip(), rest.split(b"\r\n\r\n", 1)[-1]


def head_of(base_url: str, *headers: str) -> str:
    return "\r\n".join(
        [f"POST {base_url}restified/slow.ipynb HTTP/1.1", "Host: 127.0.0.1", *headers]
    )


async def test_no_credentials_is_refused_before_the_body_is_sent(
    notebooks: Path, jp_http_port: int, jp_base_url: str, http_server_client: Any
) -> None:
    status, body = await raw_request(
        jp_http_port,
        head_of(jp_base_url, f"Content-Length: {MAX_BODY}", "Content-Type: application/json"),
        b'{"items": [',
    )
    assert status.startswith("HTTP/1.1 403"), status
    assert json.loads(body)["error"]["type"] == "forbidden"
    assert not notebooks.exists()


async def test_a_body_past_the_limit_is_refused_as_soon_as_it_is(
    notebooks: Path,
    jp_http_port: int,
    jp_base_url: str,
    jp_serverapp: Any,
    http_server_client: Any,
) -> None:
    token = f"Authorization: token {jp_serverapp.identity_provider.token}"
    # Announced larger than the limit: 413 before a byte of it is sent.
    status, body = await raw_request(
        jp_http_port, head_of(jp_base_url, token, f"Content-Length: {MAX_BODY + 1}"), b"{"
    )
    assert status.startswith("HTTP/1.1 413"), status
    assert json.loads(body)["error"]["type"] == "too_large"
    # Chunked, so of no announced size: 413 once the chunks pass the limit, before the end.
    chunk = b"x" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY // 65536 + 1))
    status, body = await raw_request(
        jp_http_port, head_of(jp_base_url, token, "Transfer-Encoding: chunked"), chunks
    )
    assert status.startswith("HTTP/1.1 413"), status
    assert not notebooks.exists()


async def test_bodies_within_the_limit_are_read_whole(jp_fetch: Fetch, notebooks: Path) -> None:
    items = list(range(50_000))  # a few hundred kilobytes, in several chunks
    body = json.dumps({"items": items}).encode()
    assert 65536 < len(body) < MAX_BODY
    response = await jp_fetch("restified", "slow.ipynb", method="POST", body=body)
    assert json.loads(response.body) == len(items)
    form = await jp_fetch(
        "restified",
        "slow.ipynb",
        method="POST",
        body=f"items={json.dumps(items)}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert json.loads(form.body) == len(items)


async def test_a_large_bodys_values_are_read_off_the_event_loop(
    jp_fetch: Fetch, notebooks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parsing, checking and rendering millions of values takes seconds: other requests must
    # not wait for it, so it runs in threads; a small body's, in place.
    loop = threading.get_ident()
    seen: dict[str, int] = {}

    def spy(name: str, work: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            seen[name] = threading.get_ident()
            return work(*args, **kwargs)

        return run

    monkeypatch.setattr(calls, "body_values", spy("parse", calls.body_values))
    monkeypatch.setattr(calls, "check_json", spy("check", calls.check_json))
    monkeypatch.setattr(pool, "call_cells", spy("render", pool.call_cells))
    large = json.dumps({"items": list(range(100_000))})
    answer = await jp_fetch("restified", "slow.ipynb", method="POST", body=large)
    assert json.loads(answer.body) == 100_000
    assert set(seen) == {"parse", "check", "render"}
    assert loop not in seen.values()
    seen.clear()
    answer = await jp_fetch("restified", "slow.ipynb", method="POST", body='{"items": [1]}')
    assert json.loads(answer.body) == 1
    assert seen == {"parse": loop, "check": loop, "render": loop}


async def test_a_body_of_many_unknown_names_gets_a_bounded_answer(
    jp_fetch: Fetch, notebooks: Path
) -> None:
    names = {f"unknown_{i}": i for i in range(20_000)}
    code, error = await error_of(
        jp_fetch, "restified", "slow.ipynb", method="POST", body=json.dumps(names)
    )
    assert (code, error["type"]) == (422, "invalid_parameters")
    assert len(error["details"]) == 50
    assert error["details"][0]["name"] == "unknown_0"
    assert error["message"].endswith("; and 19950 more problems")
    assert len(json.dumps(error)) < 20_000
    assert not notebooks.exists()
    long_name = "x" * 5000
    code, error = await error_of(jp_fetch, "restified", "slow.ipynb", params={long_name: "1"})
    assert code == 422
    assert error["details"][0]["name"] == "x" * 199 + "…"
