"""What the server's log says: no key, token or Authorization value in any line of its
loggers, no line forged by a request's path, one line for a client that left, and the line
every keyed call leaves at the server's default log level."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from notebook_restified.server.app import RestifiedApp

from .notebooks import (
    Fetch,
    alive,
    bearer,
    create_key,
    post_with_key_in_query,
    status_of,
    write_notebook,
)

pytestmark = pytest.mark.timeout(240)

FORMAT = logging.Formatter("%(levelname)s %(name)s %(message)s")


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    """The server's default log level (INFO), as `jupyter lab` runs."""
    return {**jp_server_config, "ServerApp": {**jp_server_config["ServerApp"], "log_level": 20}}


@pytest.fixture
def notebooks(jp_root_dir: Path) -> Path:
    write_notebook(
        jp_root_dir / "a.ipynb",
        "import os, pathlib, time",
        ("seconds = 0.0\nmarker = ''", ["parameters"]),
        (
            "if marker:\n"
            "    pathlib.Path(marker).write_text(str(os.getpid()))\n"
            "time.sleep(seconds)\n"
            "'ok'",
            ["return"],
        ),
    )
    return jp_root_dir


class Collect(logging.Handler):
    """Every record the server's log writes, formatted as a line (traceback included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, FORMAT.format(record)))

    @property
    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


@pytest.fixture
def server_log(jp_serverapp: Any) -> Iterator[Collect]:
    """What the server writes to its log (its logger's handlers see what tornado, the
    server and the extension log)."""
    handler = Collect()
    jp_serverapp.log.addHandler(handler)
    yield handler
    jp_serverapp.log.removeHandler(handler)


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text
        assert secret.split("_", 2)[-1] not in text  # nrk_<id>_<secret>: the secret may hold "_"


async def test_an_xsrf_failure_with_a_key_in_the_query_logs_no_key(
    jp_fetch: Fetch, notebooks: Path, server_log: Collect, caplog: pytest.LogCaptureFixture
) -> None:
    secret = (await create_key(jp_fetch))["secret"]
    caplog.set_level(logging.DEBUG)
    code = await post_with_key_in_query(jp_fetch, secret)
    assert code == 403
    text = server_log.text + caplog.text
    assert "_xsrf" in server_log.text  # tornado's own warning was written
    assert "key=[secret]" in server_log.text
    key_id = secret.split("_")[1]
    assert f"keyed call: key {key_id} (for Alice, made by " in server_log.text
    assert ") POST a.ipynb -> 403 in " in server_log.text
    assert_no_secret(text, secret)


async def test_an_uncaught_exception_logs_no_token(
    jp_fetch: Fetch,
    notebooks: Path,
    app: RestifiedApp,
    jp_serverapp: Any,
    server_log: Collect,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = jp_serverapp.identity_provider.token

    async def broken(path: str) -> Any:
        raise RuntimeError(f"a bug, with the token in it: token={token}")

    monkeypatch.setattr(app.service, "load", broken)
    code = await status_of(
        jp_fetch, "restified", "a.ipynb", params={"token": token}, headers={"Authorization": ""}
    )
    assert code == 500
    assert "Uncaught exception" in server_log.text
    assert "RuntimeError" in server_log.text  # the traceback is still there
    assert "token=[secret]" in server_log.text
    assert_no_secret(server_log.text, token)


async def test_a_refused_token_and_an_authorization_header_are_not_logged(
    jp_fetch: Fetch, notebooks: Path, server_log: Collect
) -> None:
    wrong = "0123456789abcdef-not-the-token"
    code = await status_of(
        jp_fetch, "restified", "a.ipynb", params={"token": wrong}, headers={"Authorization": ""}
    )
    assert code == 403
    assert "/restified/a.ipynb?token=[secret] (" in server_log.text
    # Any line of the server's loggers, whatever logged it.
    logging.getLogger("tornado.general").warning(
        "headers: %s", {"Authorization": "token sesame-0123", "Host": "x"}
    )
    logging.getLogger("notebook_restified.server").warning("Authorization: Bearer t0ps3cr3t")
    logging.getLogger("notebook_restified.server").warning("got %s", "nrk_ab12_s3cr3t")
    assert_no_secret(server_log.text, wrong, "sesame-0123", "t0ps3cr3t", "s3cr3t")
    assert "'Authorization': '[secret]'" in server_log.text
    assert "nrk_ab12_[secret]" in server_log.text


async def test_a_path_cannot_forge_a_log_line(
    jp_fetch: Fetch,
    notebooks: Path,
    server_log: Collect,
    caplog: pytest.LogCaptureFixture,
    http_server_client: Any,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    caplog.set_level(logging.INFO)
    forged = "%0A%5BE%202026-12-02%20ServerApp%5D%20forged.ipynb"
    with pytest.raises(HTTPClientError) as err:
        await http_server_client.fetch(f"{jp_base_url}restified/x{forged}", headers=jp_auth_header)
    assert err.value.code == 404
    lines = [line for _, line in server_log.lines] + [FORMAT.format(r) for r in caplog.records]
    assert any("x\\n[E 2026-12-02 ServerApp] forged.ipynb" in line for line in lines), lines
    assert not any("\n[E 2026-12-02" in line for line in lines)


async def test_a_client_that_leaves_is_one_info_line(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp, server_log: Collect, tmp_path: Path
) -> None:
    await jp_fetch("restified", "a.ipynb")  # warm
    server_log.lines.clear()
    marker = tmp_path / "left.pid"
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(
            "restified",
            "a.ipynb",
            params={"seconds": 60, "marker": str(marker)},
            request_timeout=1.5,
        )
    assert err.value.code == 599
    deadline = asyncio.get_running_loop().time() + 10
    while not (marker.exists() and marker.read_text() and not alive(int(marker.read_text()))):
        assert asyncio.get_running_loop().time() < deadline, "the call must be stopped"
        await asyncio.sleep(0.05)
    while app.engine.stats()["running"]:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # let the handler finish and log
    (line,) = [line for _, line in server_log.lines if "a.ipynb" in line]
    assert line.startswith("INFO notebook_restified.server restified GET a.ipynb -> client left")
    assert "CancelledError" not in server_log.text
    assert not [line for level, line in server_log.lines if level >= logging.WARNING]
    assert "User-Agent" not in server_log.text


async def test_every_keyed_call_is_logged_at_the_default_level(
    jp_fetch: Fetch, notebooks: Path, server_log: Collect
) -> None:
    key = await create_key(jp_fetch)
    assert (
        json.loads((await jp_fetch("restified", "a.ipynb", headers=bearer(key["secret"]))).body)
        == "ok"
    )
    assert await status_of(jp_fetch, "restified", "b.ipynb", headers=bearer(key["secret"])) == 403
    lines = [
        line for level, line in server_log.lines if level == logging.INFO and "keyed call" in line
    ]
    named = f"key {key['id']} (for Alice, made by {key['creator']['username']})"
    assert any(
        f"{named} GET a.ipynb -> 200 in " in line and line.endswith(" ms") for line in lines
    ), lines
    assert any(f"{named} GET b.ipynb -> 403 in " in line for line in lines)
    assert_no_secret(server_log.text, key["secret"])


def test_a_key_in_a_login_redirect_is_not_logged() -> None:
    # Behind JupyterHub a server's access line quotes where it redirects: a key holder who
    # opens a page that is not the endpoint is sent to log in, the page's address (key and
    # all) URL-encoded in `next=` (tests/test_hub.py meets this line for real).
    from notebook_restified.server.logs import scrub

    secret = "nrk_382985c48463_razR-7HAMKcy_FnsYxE"
    line = (
        f"302 GET /user/alice/lab?key={secret} -> /user/alice/login?next="
        f"%2Fuser%2Falice%2Flab%3Fkey%3D{secret} (@127.0.0.1) 0.44ms"
    )
    clean = scrub(line)
    assert_no_secret(clean, secret)
    assert "next=%2Fuser%2Falice%2Flab%3Fkey%3Dnrk_382985c48463_[secret] (@" in clean


@pytest.mark.timeout(30)
def test_scrubbing_a_huge_message_takes_one_pass() -> None:
    # A 10 MB error message of word characters once made the key=/token= pattern backtrack
    # quadratically: minutes of the event loop for one logged call.
    from notebook_restified.server.logs import scrub

    message = "e" * 2_000_000 + " key=nrk_ab12_s3cr3t"
    assert scrub(message).endswith(" key=[secret]")
