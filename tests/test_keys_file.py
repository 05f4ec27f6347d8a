"""Endpoint keys in a file that several servers share: each change is merged, never undone
by another server, a revocation holds everywhere, and a key opens only the server (root
directory) it was made on. Real `jupyter server` processes, each its own port and token."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from notebook_restified.keys import FILE_VERSION

from .notebooks import old_key, write_notebook

pytestmark = pytest.mark.timeout(300)

WORKTREE = Path(__file__).parent.parent
# Only this extension: the others only slow each start.
EXTENSIONS = {
    "notebook_restified": True,
    "jupyterlab": False,
    "jupyter_lsp": False,
    "jupyter_server_terminals": False,
    "notebook_shim": False,
    "notebook": False,
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A `jupyter server` process with the extension, on its own port with its own token."""

    def __init__(self, home: Path, name: str, root: Path, *args: str) -> None:
        self.root = root
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.log_path = home / f"{name}.log"
        config = home / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": EXTENSIONS, "allow_root": True}})
        )
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(WORKTREE), os.environ.get("PYTHONPATH", "")]),
            "JUPYTER_CONFIG_DIR": str(config),
            "JUPYTER_DATA_DIR": str(home / "data"),  # shared: the servers of one user
            "JUPYTER_RUNTIME_DIR": str(home / f"runtime-{name}"),
        }
        command = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            *args,
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 90
        while True:
            try:
                if self.request("api/restified/status")[0] == 200:
                    break
            except OSError:
                pass
            assert self.process.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, self.log_path.read_text()
            time.sleep(0.2)

    def request(
        self,
        route: str,
        *,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Status and JSON body (``None`` if empty) of a request to the server."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{route}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}"} if headers is None else headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read()
        return status, json.loads(text) if text else None

    def create_key(self, path: str, label: str) -> dict[str, Any]:
        status, key = self.request(
            "api/restified/keys", method="POST", body={"path": path, "label": label}
        )
        assert status == 201, key
        return key  # type: ignore[no-any-return]

    def call(self, path: str, secret: str) -> tuple[int, Any]:
        return self.request(f"restified/{path}", headers={"Authorization": f"Bearer {secret}"})

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; wait for it to exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    """The servers a test starts; all stopped at its end."""
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def notebook_in(root: Path, name: str = "a.ipynb") -> Path:
    write_notebook(root / name, ("n: int = 1", ["parameters"]), ("n * 2", ["return"]))
    return root


def keys_in(file: Path) -> dict[str, dict[str, Any]]:
    return {k["id"]: k for k in json.loads(file.read_text())["keys"]}


def test_two_servers_on_one_keys_file_merge_and_a_revocation_holds(
    tmp_path: Path, servers: list[Server]
) -> None:
    root = notebook_in(tmp_path / "root")
    keys_file = tmp_path / "shared" / "keys.json"
    option = f"--RestifiedApp.keys_file={keys_file}"
    a = Server(tmp_path, "a", root, option)
    servers.append(a)
    b = Server(tmp_path, "b", root, option)
    servers.append(b)

    made_on_a = a.create_key("a.ipynb", "made on A")
    made_on_b = b.create_key("a.ipynb", "made on B")
    assert set(keys_in(keys_file)) == {made_on_a["id"], made_on_b["id"]}  # neither lost
    assert b.call("a.ipynb", made_on_a["secret"]) == (200, 2)  # a key made on A works on B
    assert a.call("a.ipynb", made_on_b["secret"]) == (200, 2)

    # Both at once (read-modify-write under the file's lock): no key is lost.
    with ThreadPoolExecutor(8) as pool:
        made = list(
            pool.map(lambda i: (a, b)[i % 2].create_key("a.ipynb", f"burst {i}"), range(16))
        )
    assert {k["id"] for k in made} <= set(keys_in(keys_file))

    # Revoked on B: refused on A within a second.
    revoked = a.create_key("a.ipynb", "to revoke")
    assert a.call("a.ipynb", revoked["secret"]) == (200, 2)
    assert b.request(f"api/restified/keys/{revoked['id']}", method="DELETE")[0] == 204
    deadline = time.monotonic() + 1.0
    while a.call("a.ipynb", revoked["secret"])[0] != 403:
        assert time.monotonic() < deadline, "a key revoked on B still works on A"

    # A counts calls it has not written yet; B revokes a key meanwhile; A stops (SIGTERM)
    # and writes its counts: the revoked key stays revoked, and the counts add up.
    for _ in range(3):
        assert a.call("a.ipynb", made_on_b["secret"]) == (200, 2)
        assert a.call("a.ipynb", made_on_a["secret"]) == (200, 2)
    assert b.request(f"api/restified/keys/{made_on_a['id']}", method="DELETE")[0] == 204
    a.stop()
    assert a.process.returncode is not None
    stored = keys_in(keys_file)
    assert made_on_a["id"] not in stored, "stopping A brought back a key revoked on B"
    assert revoked["id"] not in stored
    assert b.call("a.ipynb", made_on_a["secret"])[0] == 403
    b.stop()
    # Calls made on each server, all counted: 1 on A before, 3 on A after.
    assert keys_in(keys_file)[made_on_b["id"]]["calls"] == 4

    # A restarted on the same file refuses it too.
    again = Server(tmp_path, "a2", root, option)
    servers.append(again)
    assert again.call("a.ipynb", made_on_a["secret"])[0] == 403
    assert again.call("a.ipynb", made_on_b["secret"]) == (200, 2)


def test_deleting_the_file_revokes_and_a_stopping_server_does_not_bring_keys_back(
    tmp_path: Path, servers: list[Server]
) -> None:
    root = notebook_in(tmp_path / "root")
    keys_file = tmp_path / "keys.json"
    a = Server(tmp_path, "a", root, f"--RestifiedApp.keys_file={keys_file}")
    servers.append(a)
    key = a.create_key("a.ipynb", "deleted with the file")
    assert a.call("a.ipynb", key["secret"]) == (200, 2)  # a count not yet written
    keys_file.unlink()
    a.stop()
    assert not keys_file.exists() or key["id"] not in keys_in(keys_file)


def test_a_key_opens_only_the_server_it_was_made_on(tmp_path: Path, servers: list[Server]) -> None:
    """Two servers of one user (one data directory, the default keys file), each its own
    root with an `Untitled.ipynb`: a key made on one is refused by the other."""
    first = Server(tmp_path, "first", notebook_in(tmp_path / "one", "Untitled.ipynb"))
    servers.append(first)
    second = Server(tmp_path, "second", notebook_in(tmp_path / "two", "Untitled.ipynb"))
    servers.append(second)
    key = first.create_key("Untitled.ipynb", "for the first server")
    assert first.call("Untitled.ipynb", key["secret"]) == (200, 2)
    status, body = second.call("Untitled.ipynb", key["secret"])
    assert status == 403
    assert body["error"]["type"] == "forbidden"
    assert second.request("api/restified/keys")[1] == {"keys": []}
    assert second.request(f"api/restified/keys/{key['id']}", method="DELETE")[0] == 404
    # Each root its own default keys file.
    files = sorted(p.name for p in (tmp_path / "data" / "notebook_restified").glob("keys*.json"))
    assert len(files) == 1  # only the first server made a key
    other = second.create_key("Untitled.ipynb", "for the second server")
    files = sorted(p.name for p in (tmp_path / "data" / "notebook_restified").glob("keys*.json"))
    assert len(files) == 2
    assert first.call("Untitled.ipynb", other["secret"])[0] == 403


def test_a_shared_keys_file_still_binds_keys_to_their_root(
    tmp_path: Path, servers: list[Server]
) -> None:
    keys_file = tmp_path / "keys.json"
    option = f"--RestifiedApp.keys_file={keys_file}"
    first = Server(tmp_path, "first", notebook_in(tmp_path / "one"), option)
    servers.append(first)
    second = Server(tmp_path, "second", notebook_in(tmp_path / "two"), option)
    servers.append(second)
    key = first.create_key("a.ipynb", "first only")
    status, body = second.call("a.ipynb", key["secret"])
    assert status == 403
    assert "another server" in body["error"]["message"]
    assert first.call("a.ipynb", key["secret"]) == (200, 2)


def test_keys_made_before_binding_are_refused_and_said_so(
    tmp_path: Path, servers: list[Server]
) -> None:
    root = notebook_in(tmp_path / "root")
    keys_file = tmp_path / "keys.json"
    secret, entry = old_key("from version 1", last_used=None, calls=3)
    key_id = entry["id"]
    keys_file.write_text(json.dumps({"version": 1, "keys": [entry]}))
    server = Server(tmp_path, "a", root, f"--RestifiedApp.keys_file={keys_file}")
    servers.append(server)
    status, body = server.call("a.ipynb", secret)
    assert status == 403
    assert "made before keys were bound to one server" in body["error"]["message"]
    assert server.request("api/restified/keys")[1] == {"keys": []}
    assert "were made before keys were bound to one server" in server.log_path.read_text()
    # A new key on the same file: the file moves to this version, the old entry kept.
    fresh = server.create_key("a.ipynb", "new")
    assert server.call("a.ipynb", fresh["secret"]) == (200, 2)
    data = json.loads(keys_file.read_text())
    assert data["version"] == FILE_VERSION
    assert {k["id"] for k in data["keys"]} == {key_id, fresh["id"]}


def test_the_shared_default_file_of_earlier_versions_is_not_read_and_the_log_says_so(
    tmp_path: Path, servers: list[Server]
) -> None:
    secret, entry = old_key("old", created="2026-01-01")
    old = tmp_path / "data" / "notebook_restified" / "keys.json"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"version": 1, "keys": [entry]}))
    server = Server(tmp_path, "a", notebook_in(tmp_path / "root"))
    servers.append(server)
    assert server.call("a.ipynb", secret)[0] == 403
    assert f"endpoint keys in {old} were made before keys were bound" in server.log_path.read_text()
