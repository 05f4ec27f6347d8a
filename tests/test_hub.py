"""Behind a real JupyterHub: a hub (``jupyterhub``), its proxy (``configurable-http-proxy``,
installed by ``.ci/setup`` into ``.ci/hub``) and single-user servers with this extension,
each a process of its own, all state in a temporary directory.

alice owns the server; bob holds ``access:servers!user=alice`` through a role; carol holds
nothing of alice's. The hub decides who of them may call; an endpoint key opens exactly its
notebook to anyone, without the hub, and the key never reaches the hub or any log.

Run alone with ``pytest -m hub``. Without the proxy the tests are skipped, unless
``NOTEBOOK_RESTIFIED_REQUIRE_HUB`` is set (``.ci/test`` sets it): then they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from .notebooks import descendants, write_notebook

pytestmark = [pytest.mark.hub, pytest.mark.timeout(300)]

REPO = Path(__file__).parent.parent
#: Where `.ci/setup` installs the proxy (`npm ci` in `.ci/hub`).
PROXY_BIN = REPO / ".ci" / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
PASSWORD = "restified-" + secrets.token_hex(8)
#: Seconds to wait for the hub, the proxy or a single-user server to be up.
START_TIMEOUT = 90
#: Set (not empty, not ``0``) by ``.ci/test``: a missing proxy fails the test instead of
#: skipping it, so that CI never passes without the hub. (Not ``RESTIFIED_...``: ``jupyter
#: restified serve`` reads every variable of that prefix as one of its settings.)
REQUIRE_HUB = "NOTEBOOK_RESTIFIED_REQUIRE_HUB"


def _proxy_command() -> str | None:
    if PROXY_BIN.exists():
        return str(PROXY_BIN)
    return shutil.which("configurable-http-proxy")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


HUB_CONFIG = """
c = get_config()  # noqa
c.JupyterHub.bind_url = {public!r}
c.JupyterHub.hub_bind_url = {hub!r}
c.JupyterHub.db_url = {db!r}
c.JupyterHub.cookie_secret_file = {cookie_secret!r}
c.JupyterHub.pid_file = {hub_pid!r}
c.JupyterHub.log_level = "DEBUG"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
# The proxy, its output in a file of its own (the hub appends its options).
c.ConfigurableHTTPProxy.api_url = {proxy_api!r}
c.ConfigurableHTTPProxy.pid_file = {proxy_pid!r}
c.ConfigurableHTTPProxy.command = [
    "/bin/sh", "-c", 'exec "$0" "$@" >> {proxy_log} 2>&1', {proxy!r}
]
# Users: a shared password; bob may use alice's server, carol may not.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {password!r}
c.Authenticator.allowed_users = {{"alice", "bob", "carol"}}
c.JupyterHub.load_roles = [
    {{"name": "alices-colleague", "scopes": ["access:servers!user=alice"], "users": ["bob"]}},
    {{
        "name": "restified-test",
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"],
        "services": ["restified-test"],
    }},
]
c.JupyterHub.services = [{{"name": "restified-test", "api_token": {admin_token!r}}}]
# Single-user servers: this environment's jupyterhub-singleuser with this extension,
# each user's home (and server root) in the temporary directory, its log in a file.
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = {homes!r} + "/{{username}}"
c.Spawner.cmd = [
    "/bin/sh", "-c", 'exec "$0" "$@" >> {logs}/singleuser-$JUPYTERHUB_USER.log 2>&1',
    {python!r}, "-m", "jupyterhub.singleuser",
]
c.Spawner.environment = {environment!r}
c.Spawner.start_timeout = {timeout}
c.Spawner.http_timeout = {timeout}
"""

SINGLEUSER_CONFIG = {
    "ServerApp": {
        "allow_root": True,
        "jpserver_extensions": {
            "notebook_restified": True,
            "jupyterlab": True,
            "jupyter_lsp": False,
            "notebook_shim": False,
            "notebook": False,
        },
    },
}


@dataclass
class Hub:
    """A running hub: its public (proxy) URL, the test's admin token, and its logs."""

    url: str
    admin_token: str
    logs: Path
    homes: Path
    process: subprocess.Popen[bytes]
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def hub_log(self) -> Path:
        return self.logs / "hub.log"

    @property
    def proxy_log(self) -> Path:
        return self.logs / "proxy.log"

    def log_text(self) -> str:
        """Every log: the hub's, the proxy's, and each single-user server's."""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The hub's REST API as the test's admin service."""
        headers = {"Authorization": f"token {self.admin_token}", **kwargs.pop("headers", {})}
        return requests.request(
            method, f"{self.url}/hub/api/{path}", headers=headers, timeout=30, **kwargs
        )

    def token_of(self, user: str) -> str:
        """An API token of ``user`` (made once)."""
        if user not in self.tokens:
            made = self.api("POST", f"users/{user}/tokens", json={"note": "restified test"})
            assert made.status_code == 201, made.text
            self.tokens[user] = made.json()["token"]
        return self.tokens[user]

    def server_state(self, user: str) -> dict[str, Any] | None:
        model = self.api("GET", f"users/{user}").json()
        return model.get("servers", {}).get("")  # type: ignore[no-any-return]

    def start_server(self, user: str) -> None:
        started = self.api("POST", f"users/{user}/server")
        assert started.status_code in (201, 202), started.text
        self._wait(lambda: (self.server_state(user) or {}).get("ready") is True, f"{user} ready")

    def stop_server(self, user: str) -> None:
        stopped = self.api("DELETE", f"users/{user}/server")
        assert stopped.status_code in (202, 204), stopped.text
        self._wait(lambda: self.server_state(user) is None, f"{user} stopped")

    @staticmethod
    def _wait(ready: Any, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {START_TIMEOUT}s for {what}")
            time.sleep(0.25)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    proxy = _proxy_command()
    if proxy is None:
        reason = (
            "configurable-http-proxy is not installed: run .ci/setup (npm ci in .ci/hub),"
            " or install it on the PATH"
        )
        if os.environ.get(REQUIRE_HUB, "") not in ("", "0"):  # .ci/test: never a silent skip
            pytest.fail(f"{reason} ({REQUIRE_HUB} is set)")
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("hub")
    logs, homes, config_dir = state / "logs", state / "home", state / "singleuser-config"
    for folder in (logs, homes / "alice", homes / "bob", homes / "carol", config_dir):
        folder.mkdir(parents=True)
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(SINGLEUSER_CONFIG))
    public = f"http://127.0.0.1:{_free_port()}"
    admin_token = secrets.token_hex(32)
    config = HUB_CONFIG.format(
        public=public,
        hub=f"http://127.0.0.1:{_free_port()}",
        db=f"sqlite:///{state / 'jupyterhub.sqlite'}",
        cookie_secret=str(state / "cookie_secret"),
        hub_pid=str(state / "hub.pid"),
        proxy_api=f"http://127.0.0.1:{_free_port()}",
        proxy_pid=str(state / "proxy.pid"),
        proxy_log=str(logs / "proxy.log"),
        proxy=proxy,
        password=PASSWORD,
        admin_token=admin_token,
        homes=str(homes),
        logs=str(logs),
        python=sys.executable,
        environment={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.pathsep.join(
                [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "JUPYTER_CONFIG_DIR": str(config_dir),
        },
        timeout=START_TIMEOUT,
    )
    (state / "jupyterhub_config.py").write_text(config)
    with (logs / "hub.log").open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(state / "jupyterhub_config.py")],
            cwd=state,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Hub(public, admin_token, logs, homes, process)
    try:
        Hub._wait(lambda: _answers(f"{public}/hub/health", process), "the hub")
        yield running
    finally:
        _stop(process)


def _answers(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"the hub exited with {process.returncode}")
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the hub (it stops the proxy and the servers), then whatever it left."""
    left = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def browser_login(hub: Hub, user: str) -> requests.Session:
    """A browser session logged in to the hub through its login form."""
    session = requests.Session()
    form = session.get(f"{hub.url}/hub/login", timeout=30)
    assert form.status_code == 200
    xsrf = re.search(r'name="_xsrf"\s+value="([^"]+)"', form.text)
    assert xsrf is not None, form.text[:500]
    done = session.post(
        f"{hub.url}/hub/login",
        data={"username": user, "password": PASSWORD, "_xsrf": xsrf.group(1)},
        timeout=30,
        allow_redirects=False,
    )
    assert done.status_code == 302, done.text[:500]
    return session


@pytest.fixture(scope="module")
def alice_server(hub: Hub) -> str:
    """alice's running server with a notebook that counts its runs; its endpoint's URL."""
    write_notebook(
        hub.homes / "alice" / "double.ipynb",
        "import pathlib",
        ("n: int = 1", ["parameters"]),
        (
            "runs = pathlib.Path('runs.txt')\n"
            "runs.write_text(str(int(runs.read_text() or 0) + 1) if runs.exists() else '1')\n"
            "n * 2",
            ["return"],
        ),
    )
    hub.start_server("alice")
    return f"{hub.url}/user/alice/restified/double.ipynb"


def runs_of_alices_notebook(hub: Hub) -> int:
    counter = hub.homes / "alice" / "runs.txt"
    return int(counter.read_text()) if counter.exists() else 0


def test_the_hub_decides_who_of_its_users_may_call(hub: Hub, alice_server: str) -> None:
    # alice's API token, as a script would send it.
    owner = requests.get(
        alice_server,
        params={"n": 2},
        headers={"Authorization": f"token {hub.token_of('alice')}"},
        timeout=60,
    )
    assert (owner.status_code, owner.json()) == (200, 4)

    # alice's browser: logged in to the hub, then to her server (the hub's OAuth), then a
    # call from her server's own pages.
    browser = browser_login(hub, "alice")
    page = browser.get(alice_server, headers={"Accept": "text/html"}, timeout=60)
    assert page.status_code == 200, [r.url for r in page.history] + [page.url, page.text[:300]]
    assert "notebook endpoint" in page.text
    call = browser.get(
        alice_server,
        params={"n": 3},
        headers={"Accept": "application/json", "Sec-Fetch-Site": "same-origin"},
        timeout=60,
    )
    assert (call.status_code, call.json()) == (200, 6)
    # The same cookie from another site's page is refused.
    forged = browser.get(
        alice_server, params={"n": 3}, headers={"Sec-Fetch-Site": "cross-site"}, timeout=60
    )
    assert forged.status_code == 403

    # bob holds access:servers!user=alice: he calls; carol does not: she is refused.
    colleague = requests.get(
        alice_server,
        params={"n": 5},
        headers={"Authorization": f"token {hub.token_of('bob')}"},
        timeout=60,
    )
    assert (colleague.status_code, colleague.json()) == (200, 10)
    before = runs_of_alices_notebook(hub)
    stranger = requests.get(
        alice_server,
        params={"n": 7},
        headers={"Authorization": f"token {hub.token_of('carol')}"},
        timeout=60,
    )
    assert stranger.status_code == 403
    assert requests.get(alice_server, params={"n": 7}, timeout=60).status_code == 403  # nobody
    assert runs_of_alices_notebook(hub) == before


def test_a_key_opens_its_notebook_without_the_hub(hub: Hub, alice_server: str) -> None:
    keys_api = f"{hub.url}/user/alice/api/restified/keys"
    alice = {"Authorization": f"token {hub.token_of('alice')}"}
    made = requests.post(
        keys_api, json={"path": "double.ipynb", "label": "for Dave"}, headers=alice, timeout=60
    )
    assert made.status_code == 201, made.text
    key = made.json()
    secret, hidden = key["secret"], key["secret"].split("_", 2)[2]
    assert key["creator"]["username"] == "alice"
    # The shared link is the proxy's public address, the key in its fragment.
    assert key["link"] == f"{alice_server}?shared#key={secret}"
    # bob may make keys on alice's server too: the list says who made which.
    bobs = requests.post(
        keys_api,
        json={"path": "double.ipynb", "label": "bob's"},
        headers={"Authorization": f"token {hub.token_of('bob')}"},
        timeout=60,
    )
    assert bobs.status_code == 201, bobs.text
    listed = requests.get(keys_api, params={"path": "double.ipynb"}, headers=alice, timeout=60)
    makers = {k["label"]: k["creator"]["username"] for k in listed.json()["keys"]}
    assert makers == {"for Dave": "alice", "bob's": "bob"}

    hub_lines_before = len(hub.hub_log.read_text(errors="replace").splitlines())
    runs_before = runs_of_alices_notebook(hub)
    # Anyone with the key, without any hub login: the query, the header, a POST body.
    anyone = requests.Session()
    by_query = anyone.get(alice_server, params={"n": 4, "key": secret}, timeout=60)
    assert (by_query.status_code, by_query.json()) == (200, 8)
    bearer = {"Authorization": f"Bearer {secret}"}
    by_header = anyone.get(alice_server, params={"n": 5}, headers=bearer, timeout=60)
    assert (by_header.status_code, by_header.json()) == (200, 10)
    by_post = anyone.post(alice_server, json={"n": 6}, headers=bearer, timeout=60)
    assert (by_post.status_code, by_post.json()) == (200, 12)
    assert runs_of_alices_notebook(hub) == runs_before + 3
    # ... and the shared link's page, as a browser opens it (the fragment is not sent).
    shared = anyone.get(key["link"].split("#", 1)[0], headers={"Accept": "text/html"}, timeout=60)
    assert shared.status_code == 200
    data = anyone.get(
        f"{hub.url}/user/alice/api/restified/page/double.ipynb", headers=bearer, timeout=60
    )
    assert data.status_code == 200
    assert data.json()["caller"]["kind"] == "key"

    # The key opens nothing else of the server, whatever way it is sent.
    base = f"{hub.url}/user/alice"
    elsewhere = [
        "api/contents",
        "api/contents/double.ipynb",
        "api/kernels",
        "api/sessions",
        "lab",
        "api/restified/spec/double.ipynb",
        "api/restified/openapi/double.ipynb",
        "api/restified/keys",
        "api/restified/status",
        "restified/",
    ]
    for path in elsewhere:
        for how in ({"headers": bearer}, {"params": {"key": secret}}):
            refused = anyone.get(f"{base}/{path}", allow_redirects=False, timeout=60, **how)
            # Refused, or sent to log in (a page for people): never served.
            assert refused.status_code in (302, 403), (path, how, refused.status_code)
            if refused.status_code == 302:
                where = refused.headers["Location"]
                assert "login" in where or "/hub/api/oauth2/authorize" in where, (path, where)
    kernels = anyone.post(f"{base}/api/kernels", json={}, headers=bearer, timeout=60)
    assert kernels.status_code == 403
    # Sent where a hub token goes (Authorization: token, ?token=), the key is refused with
    # how to send it, and never tried as a token: not by the server, not by the hub.
    for how in ({"headers": {"Authorization": f"token {secret}"}}, {"params": {"token": secret}}):
        refused = anyone.get(alice_server, allow_redirects=False, timeout=60, **how)
        assert refused.status_code == 403, (how, refused.status_code)
        assert "Authorization: Bearer <key>" in refused.json()["error"]["message"]
        elsewhere_too = anyone.get(f"{base}/api/contents", allow_redirects=False, timeout=60, **how)
        assert elsewhere_too.status_code == 403, (how, elsewhere_too.status_code)
    assert runs_of_alices_notebook(hub) == runs_before + 3

    # Not one of these requests went to the hub: it was asked about no token meanwhile.
    hub_lines = hub.hub_log.read_text(errors="replace").splitlines()[hub_lines_before:]
    assert not [line for line in hub_lines if "/hub/api/user" in line], hub_lines

    # Each keyed call is in alice's server's log with the key's id and maker.
    alice_log = (hub.logs / "singleuser-alice.log").read_text(errors="replace")
    assert f"keyed call: key {key['id']} (for Dave, made by alice) POST double.ipynb -> 200" in (
        alice_log
    )
    # The secret is in no log: the hub's, the proxy's, the servers'.
    assert hidden not in hub.log_text()


def test_a_stopped_servers_shared_link_leaks_no_key(hub: Hub, alice_server: str) -> None:
    made = requests.post(
        f"{hub.url}/user/alice/api/restified/keys",
        json={"path": "double.ipynb", "label": "for Erin"},
        headers={"Authorization": f"token {hub.token_of('alice')}"},
        timeout=60,
    )
    assert made.status_code == 201, made.text
    key = made.json()
    hidden = key["secret"].split("_", 2)[2]
    hub.stop_server("alice")  # the last test of the module: the server stays stopped
    # A browser opens the shared link: it sends no fragment, so the hub (which now
    # answers for the stopped server) sees no key, and sends the visitor to log in.
    page, _, fragment = key["link"].partition("#")
    assert hidden in fragment
    browser = requests.Session()
    opened = browser.get(page, headers={"Accept": "text/html"}, timeout=60)
    assert opened.status_code == 200
    assert "/hub/login" in opened.url
    assert all(hidden not in r.headers.get("Location", "") for r in opened.history)
    assert hidden not in hub.log_text()
    # A call with the key in its header: refused by the hub (the server is down), the
    # key in no log either.
    called = requests.get(
        alice_server,
        headers={"Authorization": f"Bearer {key['secret']}"},
        allow_redirects=False,
        timeout=60,
    )
    assert called.status_code in (302, 424, 503), called.status_code
    assert hidden not in hub.log_text()

    # The older link form, the key in the query: the hub, answering for the stopped
    # server, sends the visitor to log in with the whole address in `next=`, and logs
    # that. The extension never sees the request: it is the hub's log, and only there,
    # only in its login redirect (the README says so; the shared link avoids it).
    legacy = browser.get(
        alice_server, params={"key": key["secret"]}, headers={"Accept": "text/html"}, timeout=60
    )
    assert "/hub/login" in legacy.url
    for log in sorted(hub.logs.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if hidden in line:
                assert log.name == "hub.log", line
                assert "next=" in line, line
