"""``jupyter restified serve DIR``: the notebooks under DIR as a headless HTTP service.

A Jupyter server that serves only this extension's routes (the endpoints, their spec,
OpenAPI, keys and status) plus ``/healthz`` and ``/readyz``; every other route (Lab, the
contents, kernels and terminals APIs, files) answers 404. The notebooks with an endpoint are
warmed at start. Configuration comes from the command line, then ``RESTIFIED_*``
environment variables, then the config file. SIGTERM (or SIGINT) drains: new calls get 503,
calls in flight finish within ``shutdown_grace`` seconds, then every kernel stops and the
process exits 0; a second signal stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.serverapp import ServerApp
from traitlets import Enum, Float, Instance, TraitError, TraitType, Unicode, default
from traitlets.config import Config

from .engine.housekeeping import process_alive
from .engine.memory import descendants
from .server.app import RestifiedApp
from .server.health import ServeState, endpoint_notebooks, serve_rules
from .server.serve_logs import JsonFormatter, RedactingFormatter, Redactor, request_logger

log = logging.getLogger(__name__)

#: Prefix of the environment variables that configure ``serve``.
ENV_PREFIX = "RESTIFIED_"


class BadSetting(ValueError):
    """An environment variable that does not configure anything, or holds a bad value."""


class ServeIdentityProvider(PasswordIdentityProvider):
    """The server's users are whoever presents its token, if it has one; without a token
    (none configured: no ``RESTIFIED_TOKEN``, ``JUPYTER_TOKEN`` or ``JUPYTER_TOKEN_FILE``)
    no request is a server user, so only endpoint keys call. Never a generated token, and
    never the anonymous access a Jupyter server without token or password grants."""

    @default("token")
    def _token_default(self) -> str:
        self.token_generated = False
        if os.environ.get("JUPYTER_TOKEN"):
            return os.environ["JUPYTER_TOKEN"]
        if os.environ.get("JUPYTER_TOKEN_FILE"):
            return Path(os.environ["JUPYTER_TOKEN_FILE"]).read_text(encoding="utf-8").strip()
        return ""

    @property
    def auth_enabled(self) -> bool:
        """Always: no token means no server user, not every request one."""
        return True


class RestifiedServeApp(ServerApp):
    """A Jupyter server serving only notebook_restified's routes, for deployments."""

    name = "jupyter-restified-serve"
    description = "Serve the tagged notebooks under a directory as a headless HTTP service."
    # No Jupyter REST service: the extension's routes and the health routes are all there is.
    default_services = ()  # type: ignore[assignment]

    warm = Unicode(
        "all",
        config=True,
        help="Notebooks warmed at start, which /readyz waits for: 'all' (every notebook with"
        " an endpoint), 'none', or a glob on the path under the root ('models/*.ipynb').",
    )
    shutdown_grace = Float(
        30.0,
        config=True,
        help="Seconds calls in flight may take to finish after SIGTERM before every kernel is"
        " stopped.",
    )
    log_style = Enum(
        ["text", "json"],
        default_value="text",
        config=True,
        help="Log lines as the usual text, or one JSON object a line.",
    )
    environment = Instance(
        Config,
        args=(),
        help="Configuration from RESTIFIED_* variables: over config files, under the command line.",
    )

    state: ServeState
    redactor: Redactor
    _tasks: set[asyncio.Future[Any]]

    @default("config_file_name")
    def _config_file_name_default(self) -> str:
        return "jupyter_server_config"

    @default("open_browser")
    def _open_browser_default(self) -> bool:
        return False

    @default("no_browser_open_file")
    def _no_browser_open_file_default(self) -> bool:
        return True

    @default("port_retries")
    def _port_retries_default(self) -> int:
        return 0  # a deployment listens where it is told, or fails

    @default("allow_remote_access")
    def _allow_remote_access_default(self) -> bool:
        return True  # behind a reverse proxy, Host is the public name; callers present keys

    @default("identity_provider_class")
    def _identity_provider_class_default(self) -> type[PasswordIdentityProvider]:
        return ServeIdentityProvider

    def load_config_file(self, suppress_errors: bool = True) -> None:  # type: ignore[override]
        """Config files, then the environment over them (the command line goes over both)."""
        super().load_config_file(suppress_errors=suppress_errors)
        self.update_config(self.environment)

    def init_server_extensions(self) -> None:
        """This extension and no other (no Lab, no terminals), whatever the config says."""
        self.jpserver_extensions = {"notebook_restified": True}
        super().init_server_extensions()

    def init_logging(self) -> None:
        """One handler for every logger, text or JSON, with secrets redacted."""
        super().init_logging()
        self.redactor = Redactor()
        formatter: logging.Formatter
        if self.log_style == "json":
            formatter = JsonFormatter(self.redactor)
        else:
            inner = next((h.formatter for h in self.log.handlers if h.formatter), None)
            formatter = RedactingFormatter(inner or logging.Formatter(), self.redactor)
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(cast(int, self.log_level))
        handler.setFormatter(formatter)
        self.log.handlers[:] = [handler]
        logging.getLogger().handlers[:] = [handler]
        extension = logging.getLogger("notebook_restified")
        extension.setLevel(cast(int, self.log_level))
        # Its lines reach the server's log through the extension's own hand-over
        # (server/logs.py); through the root as well, each would be written twice.
        extension.propagate = False

    def init_webapp(self) -> None:
        """The server's web application, behind the rules that keep only what is served."""
        super().init_webapp()
        self.redactor.secrets.extend(s for s in (self.identity_provider.token,) if s)
        self.state = ServeState()
        self._tasks = set()
        base_url = self.base_url if self.base_url.endswith("/") else f"{self.base_url}/"
        self.web_app.default_router.rules[0:0] = serve_rules(base_url, self.state)
        self.web_app.settings["log_function"] = request_logger(
            quiet_paths=(f"{base_url}healthz", f"{base_url}readyz"),
            finished=self.state.call_finished,
        )

    def load_server_extensions(self) -> None:
        """Load the extension; the state reads its engine's warm notebooks."""
        super().load_server_extensions()
        self.state.service = self.restified.service

    @property
    def restified(self) -> RestifiedApp:
        """The extension's application in this server."""
        apps = self.extension_manager.extension_apps["notebook_restified"]
        return next(app for app in apps if isinstance(app, RestifiedApp))

    def init_signal(self) -> None:
        """SIGTERM and SIGINT drain (a second one stops at once); SIGUSR1 logs server info."""
        loop = cast(Any, self.io_loop).asyncio_loop
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop_signal, sig)
        if hasattr(signal, "SIGUSR1"):
            signal.signal(signal.SIGUSR1, self._signal_info)

    def _stop_signal(self, sig: int) -> None:
        if self.state.draining or self._stopping:
            self.log.warning("%s again: stopping now", signal.Signals(sig).name)
            self.stop()
            return
        self.state.draining = True
        self.log.info(
            "%s: draining: new calls get 503; %d in flight may take %.0f s to finish",
            signal.Signals(sig).name,
            self.state.calls_in_flight(),
            self.shutdown_grace,
        )
        self._background(self._drain())

    async def _drain(self) -> None:
        if not await self.state.drained(self.shutdown_grace):
            self.log.warning(
                "%d calls still in flight after %.0f s: stopping them",
                self.state.calls_in_flight(),
                self.shutdown_grace,
            )
        if not self._stopping:
            self.stop()

    async def _post_start(self) -> None:
        """Start the extension, then warm the notebooks to warm."""
        await super()._post_start()  # type: ignore[no-untyped-call]
        self._background(self._warm_up())

    async def _warm_up(self) -> None:
        service = self.restified.service
        try:
            paths = await endpoint_notebooks(service, self.warm)
        except Exception:
            self.log.exception("could not list the notebooks to warm")
            return
        self.state.expect(paths)
        engine = service.engine
        if len(paths) > engine.max_warm:
            self.log.warning(
                "%d notebooks to warm but max_warm_notebooks is %d: the least recently used"
                " stop as others warm (raise RESTIFIED_MAX_WARM_NOTEBOOKS or narrow --warm)",
                len(paths),
                engine.max_warm,
            )
        self.log.info("warming %d notebooks: %s", len(paths), ", ".join(paths) or "none")
        await self.state.warm(concurrency=engine.pool_size)
        ready, _ = self.state.readiness()
        if ready:
            self.log.info("ready: %d notebooks warm", len(paths))

    def _background(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def serve_status(self) -> dict[str, Any]:
        """The deployment's own settings and state, for the status route."""
        ready, readiness = self.state.readiness()
        return {
            "warm": self.warm,
            "shutdown_grace": self.shutdown_grace,
            "log_format": self.log_style,
            "ip": self.ip,
            "port": self.port,
            "base_url": self.base_url,
            "ready": ready,
            "readiness": readiness,
        }


# -- configuration from the environment -------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """What one environment variable sets: a trait of a configurable class."""

    section: str
    trait_name: str
    trait: TraitType[Any, Any]
    secret: bool = False


def environment_settings() -> dict[str, Setting]:
    """Every ``RESTIFIED_*`` variable and what it sets: each trait of ``RestifiedApp``
    (``RESTIFIED_TIME_LIMIT``) and of the serving app (``RESTIFIED_WARM``, ...), the address
    (``RESTIFIED_IP``, ``RESTIFIED_PORT``, ``RESTIFIED_BASE_URL``), the log level and format,
    and the server's token (``RESTIFIED_TOKEN``)."""
    settings: dict[str, Setting] = {}
    for cls in (RestifiedApp, RestifiedServeApp):
        for name, trait in sorted(cls.class_own_traits(config=True).items()):
            if name == "log_style":
                continue
            settings[f"{ENV_PREFIX}{name.upper()}"] = Setting(cls.__name__, name, trait)
    server = ServerApp.class_traits(config=True)
    for name in ("ip", "port", "base_url", "log_level"):
        settings[f"{ENV_PREFIX}{name.upper()}"] = Setting("ServerApp", name, server[name])
    settings[f"{ENV_PREFIX}LOG_FORMAT"] = Setting(
        "RestifiedServeApp", "log_style", RestifiedServeApp.class_traits()["log_style"]
    )
    token = PasswordIdentityProvider.class_traits()["token"]
    settings[f"{ENV_PREFIX}TOKEN"] = Setting("IdentityProvider", "token", token, secret=True)
    return settings


def environment_config(environ: Mapping[str, str]) -> Config:
    """The configuration the ``RESTIFIED_*`` variables of ``environ`` give, each value
    parsed and checked by its trait; :class:`BadSetting` names the first bad one."""
    settings = environment_settings()
    config = Config()
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        text = environ[variable]
        setting = settings.get(variable)
        if setting is None:
            known = ", ".join(sorted(settings))
            raise BadSetting(f"{variable}: no such setting (known: {known})")
        try:
            trait = cast(Any, setting.trait)
            value = trait.validate(None, trait.from_string(text))
        except (TraitError, ValueError, TypeError) as exc:
            shown = "<hidden>" if setting.secret else text
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BadSetting(f"{variable}={shown}: {reason}") from None
        config[setting.section][setting.trait_name] = value
    return config


# -- the command -----------------------------------------------------------------------


def serve(
    directory: Path,
    *,
    argv: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the service for the notebooks under ``directory`` until it is stopped; the
    process's exit code. ``argv``: trait options (``--RestifiedApp.time_limit=5``), over the
    environment's ``RESTIFIED_*`` variables, over the config file."""
    try:
        environment = environment_config(os.environ if environ is None else environ)
    except BadSetting as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if not directory.is_dir():
        sys.stderr.write(f"error: {directory}: no such directory\n")
        return 2
    app = RestifiedServeApp.instance(environment=environment)
    app.initialize([f"--ServerApp.root_dir={directory.resolve()}", *argv], find_extensions=False)
    app.start()
    stop_leftovers()
    # Stopped, kernels and all: exit now, not after threads a library left waiting.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def stop_leftovers() -> list[int]:
    """Kill what is left of this process's children once the server has stopped (a kernel
    still starting when it stopped, say); their pids."""
    own = os.getpid()
    left = [pid for pid in descendants([own]) if pid != own and process_alive(pid)]
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if left:
        log.warning("killed %d processes left behind: %s", len(left), left)
    return left
