"""The server extension: the status route, authentication on every route, installation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from notebook_restified import __version__
from notebook_restified.server.app import RestifiedApp

Fetch = Callable[..., Awaitable[HTTPResponse]]


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    """Configure two traits so the status must show effective values, not defaults."""
    return {
        **jp_server_config,  # conftest's: the extension enabled
        "RestifiedApp": {"time_limit": 7.5, "pool_size": 3},
    }


async def test_status_reports_version_and_effective_config(jp_fetch: Fetch) -> None:
    response = await jp_fetch("api", "restified", "status")
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.body)
    assert body["version"] == __version__
    config = body["config"]
    assert config["time_limit"] == 7.5
    assert config["pool_size"] == 3
    assert config["queue_size"] == RestifiedApp.queue_size.default_value
    # 0 (the default) means half the pool: the status says what is in effect.
    assert config["key_max_concurrent"] == 1


async def test_status_refused_without_token(jp_fetch: Fetch) -> None:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("api", "restified", "status", headers={"Authorization": ""})
    assert err.value.code == 403


SAMPLES = {"path": "dir/example.ipynb", "key_id": "0123abcd", "run_id": "0" * 32}
PUBLIC_ASSETS = r"/api/restified/assets/(.+)"


def _sample_path(pattern: str) -> str:
    """A concrete URL path that the route's regular expression matches."""
    path = pattern
    for name, sample in SAMPLES.items():
        path = re.sub(rf"\(\?P<{name}>(?:[^()]|\([^()]*\))*\)", sample, path)
    path = path.lstrip("^").rstrip("$").lstrip("/")
    assert re.fullmatch(pattern.lstrip("/"), path), f"no sample for {pattern}"
    return path


def _extension_routes(jp_serverapp: Any) -> list[str]:
    app = next(
        ext
        for ext in jp_serverapp.extension_manager.extension_apps["notebook_restified"]
        if isinstance(ext, RestifiedApp)
    )
    return [route[0] for route in app.handlers]


async def test_every_route_requires_authentication(jp_fetch: Fetch, jp_serverapp: Any) -> None:
    routes = _extension_routes(jp_serverapp)
    assert routes, "the extension registers no route"
    for pattern in routes:
        if pattern == PUBLIC_ASSETS:  # the endpoint page's script and style (test_endpoint_page)
            continue
        path = _sample_path(pattern)
        for method, body in (("GET", None), ("POST", "{}"), ("PUT", "{}"), ("DELETE", None)):
            with pytest.raises(HTTPClientError) as err:
                await jp_fetch(
                    path,
                    method=method,
                    body=body,
                    headers={"Authorization": ""},
                    follow_redirects=False,
                )
            # 403 for the API; 405 only where the route has no such verb at all.
            assert err.value.code in (403, 405), f"{method} /{path} answered {err.value.code}"


def _run(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, check=True)
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)


def test_server_extension_enabled_by_install() -> None:
    out = _run("jupyter", "server", "extension", "list")
    assert re.search(r"notebook_restified\s+enabled", out), out
    assert re.search(rf"notebook_restified {re.escape(__version__)} OK", out), out


def test_labextension_enabled_by_install() -> None:
    out = _run("jupyter", "labextension", "list")
    assert re.search(rf"notebook-restified v{re.escape(__version__)} enabled\s+OK", out), out


def test_readme_documents_every_setting_with_its_default() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` +\| `([^`]*)` +\|", readme, flags=re.MULTILINE))
    traits = RestifiedApp.class_own_traits(config=True)
    assert set(traits) <= set(rows), f"undocumented: {sorted(set(traits) - set(rows))}"
    for name, trait in traits.items():
        assert rows[name] == json.dumps(trait.default_value), name
