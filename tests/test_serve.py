"""``jupyter restified serve`` as a deployment runs it: real processes, configured from the
environment, probed over HTTP, stopped with SIGTERM.

Each scenario is one ``serve`` process, started up front (they warm kernels in parallel);
each test then checks one thing of it. The configuration parsed before any server starts
(``RESTIFIED_*`` values, the log formatter) is checked in this process.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from notebook_restified.keys import KeyStore, root_id
from notebook_restified.serve import BadSetting, environment_config, environment_settings, serve
from notebook_restified.server.app import RestifiedApp
from notebook_restified.server.serve_logs import JsonFormatter, Redactor

from .notebooks import alive, descendants, write_notebook

JUPYTER = str(Path(sys.executable).parent / "jupyter")
README = Path(__file__).parent.parent / "README.md"
TOKEN = "serve-test-token-5f1c9a"
STARTUP = 180.0  # seconds a server may take to listen and warm, on a busy 2-core machine

pytestmark = pytest.mark.timeout(600)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_environment(home: Path) -> dict[str, str]:
    """This process's environment without any RESTIFIED_ or JUPYTER_ token setting, with
    Jupyter's directories in ``home``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RESTIFIED_", "JUPYTER_TOKEN", "JUPYTER_CONFIG", "JUPYTER_DATA"))
    }
    for name in ("config", "data", "runtime"):
        (home / name).mkdir(parents=True, exist_ok=True)
    env["JUPYTER_CONFIG_DIR"] = str(home / "config")
    env["JUPYTER_DATA_DIR"] = str(home / "data")
    env["JUPYTER_RUNTIME_DIR"] = str(home / "runtime")
    return env


def write_config(home: Path, *lines: str) -> None:
    """The config file of the servers using ``home`` (running as root here is allowed)."""
    allow_root = ["c.ServerApp.allow_root = True"] if os.geteuid() == 0 else []
    (home / "config" / "jupyter_server_config.py").write_text("\n".join([*allow_root, *lines]))


@dataclass
class Served:
    """One ``serve`` process: where it listens, its log, and its end."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    port: int
    log_path: Path
    token: str | None = TOKEN
    proc: subprocess.Popen[bytes] | None = None
    first_readiness: tuple[int, dict[str, Any]] | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def get(self, path: str, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if auth and self.token:
            headers.setdefault("Authorization", f"token {self.token}")
        kwargs.setdefault("timeout", 60)
        return requests.get(self.url(path), headers=headers, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_listening(self) -> None:
        """Until /healthz answers; the first /readyz answer is kept."""
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            assert self.proc is not None
            assert self.proc.poll() is None, f"{self.name} exited:\n{self.log()}"
            try:
                if requests.get(self.url("healthz"), timeout=5).status_code == 200:
                    ready = requests.get(self.url("readyz"), timeout=5)
                    self.first_readiness = (ready.status_code, ready.json())
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} never listened:\n{self.log()}")

    def wait_readiness(self, done: Callable[[int, dict[str, Any]], bool]) -> dict[str, Any]:
        """Until /readyz's answer satisfies ``done``; that answer."""
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            response = requests.get(self.url("readyz"), timeout=5)
            body = response.json()
            if done(response.status_code, body):
                return body  # type: ignore[no-any-return]
            time.sleep(0.2)
        raise AssertionError(f"{self.name}: /readyz never got there:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            family = descendants(self.proc.pid)
            self.proc.kill()
            self.proc.wait(30)
            for pid in family:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)


SLOW = (
    ("import time", []),
    ("seconds = 3", ["parameters"]),
    ("time.sleep(seconds)\nseconds", ["return"]),
)
FIB = (
    ("n = 10", ["parameters"]),
    ("a, b = 0, 1\nfor _ in range(n):\n    a, b = b, a + b\na", ["return"]),
)


def write_notebooks(root: Path) -> None:
    """The notebooks of the main scenario."""
    write_notebook(root / "slow.ipynb", *SLOW)
    write_notebook(root / "models" / "fib.ipynb", *FIB)
    # Setup takes seconds: readiness must wait for it.
    write_notebook(
        root / "models" / "slow_setup.ipynb",
        "import time\ntime.sleep(4)",
        ("n = 1", ["parameters"]),
        ("n * 2", ["return"]),
    )
    # No function (two return cells): no endpoint, nothing to warm.
    write_notebook(root / "two_returns.ipynb", ("1", ["return"]), ("2", ["return"]))
    (root / "notes.txt").write_text("not a notebook")


class Scenarios:
    """Every serve process of the module, started together."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.all: dict[str, Served] = {}

    def add(
        self,
        name: str,
        env: dict[str, str],
        options: list[str],
        config: tuple[str, ...] = (),
        token: str | None = TOKEN,
    ) -> Served:
        home = self.base / name
        root = home / "notebooks"
        root.mkdir(parents=True)
        environ = clean_environment(home)
        write_config(home, *config)
        port = free_port()
        environ.update(env)
        if token:
            environ["RESTIFIED_TOKEN"] = token
        served = Served(
            name=name,
            argv=[JUPYTER, "restified", "serve", str(root), "--port", str(port), *options],
            env=environ,
            cwd=home,
            port=port,
            log_path=home / "serve.log",
            token=token,
        )
        self.all[name] = served
        return served


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Served]]:
    made = Scenarios(tmp_path_factory.mktemp("serve"))

    main = made.add(
        "main",
        env={
            "RESTIFIED_TIME_LIMIT": "1",
            "RESTIFIED_POOL_SIZE": "4",  # the command line's 3 wins
            "RESTIFIED_QUEUE_SIZE": "5",  # wins over the config file's 9
            "RESTIFIED_LOG_FORMAT": "json",
        },
        options=["--RestifiedApp.pool_size=3"],
        config=("c.RestifiedApp.queue_size = 9", "c.RestifiedApp.max_body_size = 4321"),
    )
    write_notebooks(main.cwd / "notebooks")

    # Keys only (no token); one notebook's setup fails; drained by SIGTERM.
    keys_file = made.base / "drain-keys.json"
    drain = made.add(
        "drain",
        env={"RESTIFIED_KEYS_FILE": str(keys_file), "RESTIFIED_SHUTDOWN_GRACE": "25"},
        options=["--warm", "*.ipynb", "--log-format", "json"],
        token=None,
    )
    root = drain.cwd / "notebooks"
    write_notebook(root / "sleep2.ipynb", *SLOW[:1], ("seconds = 2", ["parameters"]), SLOW[2])
    write_notebook(
        root / "broken.ipynb",
        "raise RuntimeError('no database here')",  # setup: before the parameters
        ("x = 1", ["parameters"]),
        ("x", ["return"]),
    )
    key, secret = KeyStore(keys_file, root=root_id(root)).create("sleep2.ipynb", "drain test")
    drain.notes["key"] = (key.id, secret)

    # A call that would run a minute: a second SIGTERM, or the grace's end, stops it.
    for name, grace in (("twice", "60"), ("grace", "2")):
        served = made.add(name, env={"RESTIFIED_SHUTDOWN_GRACE": grace}, options=["--warm", "none"])
        write_notebook(
            served.cwd / "notebooks" / "minute.ipynb",
            *SLOW[:1],
            ("seconds = 60", ["parameters"]),
            SLOW[2],
        )

    for served in made.all.values():
        served.start()
    try:
        for served in made.all.values():
            served.wait_listening()
        yield made.all
    finally:
        for served in made.all.values():
            served.stop()


# --- configuration, before any server starts ------------------------------------------


def test_environment_values_are_parsed_by_their_traits() -> None:
    config = environment_config(
        {
            "RESTIFIED_TIME_LIMIT": "5",
            "RESTIFIED_POOL_SIZE": "4",
            "RESTIFIED_ISOLATION": "kernel",
            "RESTIFIED_SHUTDOWN_GRACE": "12.5",
            "RESTIFIED_WARM": "models/*.ipynb",
            "RESTIFIED_LOG_FORMAT": "json",
            "RESTIFIED_PORT": "9000",
            "RESTIFIED_TOKEN": "abc",
            "PATH": "/bin",
        }
    )
    assert config.RestifiedApp.time_limit == 5.0
    assert config.RestifiedApp.pool_size == 4
    assert config.RestifiedApp.isolation == "kernel"
    assert config.RestifiedServeApp.shutdown_grace == 12.5
    assert config.RestifiedServeApp.warm == "models/*.ipynb"
    assert config.RestifiedServeApp.log_style == "json"
    assert config.ServerApp.port == 9000
    assert config.IdentityProvider.token == "abc"
    assert "PATH" not in json.dumps(config, default=str)
    # Every trait of the extension, including ones added later, has its variable.
    variables = environment_settings()
    for name in RestifiedApp.class_own_traits(config=True):
        assert variables[f"RESTIFIED_{name.upper()}"].trait_name == name


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("RESTIFIED_POOL_SIZE", "abc", "invalid literal for int()"),
        ("RESTIFIED_ISOLATION", "thread", "expected any of ['fork', 'kernel']"),
        ("RESTIFIED_LOG_FORMAT", "xml", "expected any of ['text', 'json']"),
        ("RESTIFIED_TIME_LIMT", "5", "no such setting"),
    ],
)
def test_a_bad_variable_is_named_in_one_line_and_nothing_starts(
    variable: str, value: str, reason: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(BadSetting):
        environment_config({variable: value})
    assert serve(tmp_path, environ={"RESTIFIED_TIME_LIMIT": "2", variable: value}) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"error: {variable}")
    assert reason in err


def test_the_command_exits_2_on_a_bad_variable(tmp_path: Path) -> None:
    env = clean_environment(tmp_path)
    env["RESTIFIED_POOL_SIZE"] = "abc"
    proc = subprocess.run(
        [JUPYTER, "restified", "serve", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        "error: RESTIFIED_POOL_SIZE=abc: invalid literal for int() with base 10: 'abc'\n"
    )


def test_json_formatter_writes_one_object_and_no_secret() -> None:
    secret = "nrk_0123abcd_" + "s3cr3t" * 6
    formatter = JsonFormatter(Redactor(["the-token"]))
    try:
        raise ValueError(f"bad key {secret}")
    except ValueError:
        record = logging.LogRecord(
            "x",
            logging.ERROR,
            __file__,
            1,
            "GET /x?token=the-token&key=%s",
            (secret,),
            sys.exc_info(),
        )
    record.status = 500
    line = formatter.format(record)
    assert "\n" not in line
    body = json.loads(line)
    assert body["level"] == "ERROR"
    assert body["status"] == 500
    assert body["message"] == "GET /x?token=[secret]&key=[secret]"
    # An endpoint key keeps its id (not secret), as in every line of the server's log.
    assert "ValueError: bad key nrk_0123abcd_[secret]" in body["exception"]
    assert secret not in line
    assert "the-token" not in line


# --- the main scenario: configured from the environment, a token ---------------------


def test_readiness_waits_for_every_notebook_to_warm(scenarios: dict[str, Served]) -> None:
    main = scenarios["main"]
    assert main.first_readiness is not None
    status, body = main.first_readiness
    # Listening long before the 4 s setup is done: not ready, and saying what is missing.
    assert status == 503, body
    if body["status"] == "not_ready":
        paths = {entry["path"] for entry in body["not_ready"]}
        assert "models/slow_setup.ipynb" in paths
        assert all(entry["state"] in ("pending", "warming") for entry in body["not_ready"])
    else:
        assert body == {"status": "starting"}
    ready = main.wait_readiness(lambda code, _: code == 200)
    # The notebook without a function and the text file are not among them.
    assert ready == {"status": "ready", "warm": 3}
    pool = main.get("api/restified/status").json()["pool"]
    warm = {w["path"] for w in pool["warm_notebooks"]}
    assert warm == {"slow.ipynb", "models/fib.ipynb", "models/slow_setup.ipynb"}


def test_health_answers_without_credentials_and_nothing_else(
    scenarios: dict[str, Served],
) -> None:
    main = scenarios["main"]
    health = requests.get(main.url("healthz"), timeout=30)
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    for response in (health, requests.get(main.url("readyz"), timeout=30)):
        assert "Server" not in response.headers
        assert "Set-Cookie" not in response.headers
        assert set(response.json()) <= {"status", "warm", "not_ready"}


def test_environment_configures_the_extension(scenarios: dict[str, Served]) -> None:
    main = scenarios["main"]
    main.wait_readiness(lambda code, _: code == 200)
    slow = main.get("restified/slow.ipynb")  # 3 s, RESTIFIED_TIME_LIMIT=1
    assert slow.status_code == 504, slow.text
    assert slow.json()["error"]["type"] == "timeout"
    assert main.get("restified/models/fib.ipynb", params={"n": 20}).json() == 6765
    status = main.get("api/restified/status").json()
    config = status["config"]
    assert config["time_limit"] == 1.0  # environment
    assert config["pool_size"] == 3  # command line over environment
    assert config["queue_size"] == 5  # environment over config file
    assert config["max_body_size"] == 4321  # config file
    serve_status = status["serve"]
    assert serve_status["log_format"] == "json"
    assert serve_status["shutdown_grace"] == 30.0
    assert serve_status["warm"] == "all"
    assert serve_status["port"] == main.port


@pytest.mark.parametrize(
    "path",
    [
        "",
        "lab",
        "lab/tree/slow.ipynb",
        "tree",
        "files/slow.ipynb",
        "api",
        "api/status",
        "api/contents",
        "api/contents/slow.ipynb",
        "api/kernels",
        "api/kernelspecs",
        "api/sessions",
        "api/terminals",
        "api/me",
        "login",
        "metrics",
        "static/notebook_restified/x.js",
    ],
)
def test_only_the_extension_is_served(scenarios: dict[str, Served], path: str) -> None:
    main = scenarios["main"]
    for method in ("GET", "POST", "DELETE"):
        response = requests.request(
            method, main.url(path), headers={"Authorization": f"token {TOKEN}"}, timeout=30
        )
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["type"] == "not_found"


def test_the_extension_routes_stay_behind_authentication(scenarios: dict[str, Served]) -> None:
    main = scenarios["main"]
    for path in ("api/restified/spec/slow.ipynb", "api/restified/status", "api/restified/keys"):
        assert main.get(path, auth=False).status_code == 403, path
        assert main.get(path).status_code == 200, path
    assert main.get("restified/models/fib.ipynb", auth=False).status_code == 403


def test_the_index_without_its_slash_redirects(scenarios: dict[str, Served]) -> None:
    response = scenarios["main"].get("restified", allow_redirects=False)
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/restified/")
    refused = scenarios["main"].get("restified", auth=False, allow_redirects=False)
    assert refused.status_code == 403


def test_json_logs_parse_and_hold_no_secret(scenarios: dict[str, Served]) -> None:
    main = scenarios["main"]
    main.wait_readiness(lambda code, _: code == 200)
    made = requests.post(
        main.url("api/restified/keys"),
        json={"path": "models/fib.ipynb", "label": "log test"},
        headers={"Authorization": f"token {TOKEN}"},
        timeout=60,
    )
    assert made.status_code in (200, 201), made.text
    key_id, secret = made.json()["id"], made.json()["secret"]
    fib = "restified/models/fib.ipynb"
    assert main.get(fib, auth=False, params={"n": 5, "key": secret}).json() == 5
    keyed = main.get(fib, auth=False, headers={"Authorization": f"Bearer {secret}"})
    assert keyed.json() == 55
    assert main.get(fib, auth=False, params={"n": 6, "token": TOKEN}).json() == 8
    assert main.get(fib, auth=False, params={"key": secret[:-3] + "xyz"}).status_code == 403
    time.sleep(0.5)  # the last lines written

    text = main.log()
    assert TOKEN not in text
    assert secret not in text
    assert secret.rsplit("_", 1)[1] not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line)
    calls = [
        line
        for line in lines
        if line.get("path") == "/restified/models/fib.ipynb"
        and "status" in line
        and line["logger"] == "notebook_restified.access"  # the extension logs keyed calls too
    ]
    keyed_lines = [line for line in calls if line.get("key_id") == key_id]
    assert {line["status"] for line in keyed_lines} == {200, 403}
    assert len(keyed_lines) == 3
    assert all(isinstance(line["duration_ms"], float) for line in calls)
    assert any(line["status"] == 200 and "key_id" not in line for line in calls)


# --- keys only, a failing setup, and draining on SIGTERM -------------------------------


def test_readiness_reports_a_failed_setup(scenarios: dict[str, Served]) -> None:
    drain = scenarios["drain"]
    body = drain.wait_readiness(
        lambda _, b: (
            any(e["state"] == "failed" for e in b.get("not_ready", []))
            and all(e["path"] == "broken.ipynb" for e in b.get("not_ready", []))
        )
    )
    assert body["status"] == "not_ready"
    (failed,) = body["not_ready"]
    assert failed["path"] == "broken.ipynb"
    assert failed["error"]["type"] == "execution_error"
    assert "RuntimeError" in failed["error"]["message"]
    assert "no database here" in failed["error"]["message"]
    assert "traceback" not in json.dumps(body)
    assert requests.get(drain.url("readyz"), timeout=30).status_code == 503


def test_sigterm_lets_the_call_in_flight_finish(scenarios: dict[str, Served]) -> None:
    drain = scenarios["drain"]
    key_id, secret = drain.notes["key"]
    keyed = {"Authorization": f"Bearer {secret}"}
    call = drain.url("restified/sleep2.ipynb")
    # Without a token, no request is a server user: keys only.
    for headers in ({}, {"Authorization": "token "}, {"Authorization": "token x"}):
        assert (
            requests.get(drain.url("api/restified/status"), headers=headers, timeout=30).status_code
            == 403
        )
    drain.wait_readiness(
        lambda _, b: all(e["path"] == "broken.ipynb" for e in b.get("not_ready", []))
    )
    assert requests.get(call, headers=keyed, params={"seconds": 0}, timeout=60).json() == 0

    family = descendants(drain.pid)
    assert family, "the warm kernels are the server's children"
    result: dict[str, Any] = {}

    def in_flight() -> None:
        started = time.monotonic()
        response = requests.get(call, headers=keyed, timeout=60)
        result.update(
            status=response.status_code, body=response.json(), took=time.monotonic() - started
        )

    thread = threading.Thread(target=in_flight)
    thread.start()
    time.sleep(0.7)  # the call is routed and running its 2 s
    assert drain.proc is not None
    drain.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    time.sleep(0.2)

    refused = requests.get(call, headers=keyed, timeout=30)
    assert refused.status_code == 503
    assert refused.json()["error"]["type"] == "busy"
    assert int(refused.headers["Retry-After"]) > 0
    ready = requests.get(drain.url("readyz"), timeout=30)
    assert (ready.status_code, ready.json()) == (503, {"status": "draining"})
    assert requests.get(drain.url("healthz"), timeout=30).status_code == 200

    thread.join(60)
    assert result["status"] == 200, result
    assert result["body"] == 2
    assert drain.proc.wait(timeout=60) == 0
    assert time.monotonic() - signalled < 25  # within the grace
    assert not [pid for pid in family if alive(pid)]
    logs = [json.loads(line) for line in drain.log().splitlines() if line.strip()]
    assert secret not in drain.log()
    assert any(line.get("status") == 503 and line.get("key_id") == key_id for line in logs)


def _start_minute_call(served: Served) -> tuple[threading.Thread, dict[str, Any], set[int]]:
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["status"] = served.get("restified/minute.ipynb", timeout=None).status_code
        except requests.RequestException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP
    while True:  # warm, and the call running in it
        pool = served.get("api/restified/status").json()["pool"]
        if pool["running"] and [w for w in pool["warm_notebooks"] if w["path"] == "minute.ipynb"]:
            break
        assert time.monotonic() < deadline, served.log()
        time.sleep(0.2)
    time.sleep(0.5)
    return thread, outcome, descendants(served.pid)


def test_a_second_sigterm_stops_at_once(scenarios: dict[str, Served]) -> None:
    served = scenarios["twice"]
    thread, outcome, family = _start_minute_call(served)
    assert served.proc is not None
    served.proc.send_signal(signal.SIGTERM)
    time.sleep(1.5)
    assert served.proc.poll() is None, "draining: the call has 60 s"
    served.proc.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    assert served.proc.wait(timeout=30) == 0
    assert time.monotonic() - stopped < 30
    thread.join(30)
    assert outcome.get("status", 0) >= 500 or "error" in outcome
    assert not [pid for pid in family if alive(pid)]


def test_the_grace_end_stops_what_remains(scenarios: dict[str, Served]) -> None:
    served = scenarios["grace"]
    thread, outcome, family = _start_minute_call(served)
    assert served.proc is not None
    served.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    assert served.proc.wait(timeout=60) == 0
    took = time.monotonic() - signalled
    assert 1.5 < took < 30  # the grace (2 s), then the kernels stopped
    thread.join(30)
    assert outcome.get("status", 0) >= 500 or "error" in outcome
    assert not [pid for pid in family if alive(pid)]


# --- the README's recipes, run here as written -----------------------------------------


def _block(language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", README.read_text(), re.S)
    assert found, f"no {language} block in the README"
    return found.group(1)


def systemd_recipe() -> tuple[list[str], dict[str, str]]:
    """The unit's ExecStart and Environment= values."""
    unit = _block("ini")
    env = dict(
        line.removeprefix("Environment=").split("=", 1)
        for line in unit.splitlines()
        if line.startswith("Environment=")
    )
    (exec_start,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    return exec_start.removeprefix("ExecStart=").split(), env


def docker_recipe() -> tuple[list[str], dict[str, str]]:
    """The Dockerfile's CMD and ENV values."""
    dockerfile = _block("dockerfile").replace("\\\n", " ")
    env: dict[str, str] = {}
    argv: list[str] = []
    for line in dockerfile.splitlines():
        if line.startswith("ENV "):
            env.update(pair.split("=", 1) for pair in line.removeprefix("ENV ").split())
        elif line.startswith("CMD "):
            argv = json.loads(line.removeprefix("CMD "))
    return argv, env


@pytest.mark.parametrize("recipe", ["systemd", "docker"])
def test_the_readme_recipe_runs_as_written(recipe: str, tmp_path: Path) -> None:
    argv, env = systemd_recipe() if recipe == "systemd" else docker_recipe()
    assert argv[1:4] == ["restified", "serve", "/srv/notebooks"]
    assert env["RESTIFIED_LOG_FORMAT"] == "json"
    root = tmp_path / "srv" / "notebooks"
    write_notebook(root / "fib.ipynb", *FIB)
    port = free_port()
    # Here: this environment's jupyter, a temporary root, state and port; nothing else changed.
    replaced = {
        "/srv/notebooks": str(root),
        "/var/lib/notebook-restified": str(tmp_path / "state"),
        "/run/notebook-restified": str(tmp_path / "run"),
    }
    argv = [JUPYTER if Path(argv[0]).name == "jupyter" else argv[0], *argv[1:]]
    argv = [replaced.get(a, a) for a in argv]
    environ = clean_environment(tmp_path / "home")
    write_config(tmp_path / "home")
    for name, value in env.items():
        for old, new in replaced.items():
            value = value.replace(old, new)
        environ[name] = value
    environ["RESTIFIED_PORT"] = str(port)
    environ["RESTIFIED_TOKEN"] = TOKEN
    served = Served(recipe, argv, environ, root, port, tmp_path / "serve.log")
    served.start()
    try:
        served.wait_listening()
        assert served.wait_readiness(lambda code, _: code == 200) == {"status": "ready", "warm": 1}
        assert served.get("restified/fib.ipynb", params={"n": 12}).json() == 144
        config = served.get("api/restified/status").json()["config"]
        assert config["pool_size"] == int(env["RESTIFIED_POOL_SIZE"])
        assert config["time_limit"] == float(env["RESTIFIED_TIME_LIMIT"])
        assert served.proc is not None
        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(timeout=60) == 0
        lines = [json.loads(line) for line in served.log().splitlines() if line.strip()]
        assert any(line.get("path") == "/restified/fib.ipynb" for line in lines)
    finally:
        served.stop()
