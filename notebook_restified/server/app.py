"""The Jupyter Server extension: its configuration (traits), the engine, service and
key store it makes, and the routes, each given its collaborators."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.gateway.gateway_client import GatewayClient
from traitlets import Bool, Enum, Float, Int, Unicode

from .. import __version__
from ..engine import Engine
from ..engine.kernels import gateway_kernel_manager
from ..engine.warm import COPY_AHEAD_LIMIT, MAX_OUTPUT_SIZE, MAX_RESULT_SIZE
from ..errors import RestifiedError
from ..keys import KeyStore, RateLimiter, root_id
from ..runs.manager import RECORD_CALLS, RunManager
from ..runs.store import RunStore
from . import logs
from .auth import KeyAccess, keep_keys_from
from .base import PATH
from .cache import ResultCache
from .calls import CallHandler
from .endpoints import EndpointService, EndpointsIndex, normalize_path
from .keys_api import KeyHandler, KeysHandler
from .page import (
    STATIC_DIR,
    AssetHandler,
    IndexHandler,
    IndexRedirectHandler,
    PageDataHandler,
)
from .runs_api import RunsAccess, runs_routes
from .specs import OpenAPIHandler, SpecHandler
from .status import StatusHandler


def per_root_path(data_dir: str, root_dir: str, stem: str, suffix: str = "") -> str:
    """``notebook_restified/<stem>-<hash of root_dir><suffix>`` in ``data_dir``: what a
    server keeps by default (its keys file, its run records) is its root's alone, so the
    servers of one user (one data directory) with different roots never share it. The hash
    is the one that binds keys to a root (:func:`~notebook_restified.keys.root_id`)."""
    name = f"{stem}-{root_id(root_dir)[:16]}{suffix}"
    return os.path.join(data_dir, "notebook_restified", name)


class RestifiedApp(ExtensionApp):
    """Serve tagged notebooks as HTTP endpoints under ``/restified/<path>``."""

    name = "notebook_restified"
    description = "Run tagged notebooks as typed, isolated HTTP endpoints."
    load_other_extensions = True

    time_limit = Float(
        30.0,
        config=True,
        help="Seconds one call may run before it is stopped and answered with 504.",
    )
    pool_size = Int(
        2,
        config=True,
        help="Calls that may run at the same time.",
    )
    queue_size = Int(
        16,
        config=True,
        help="Calls that may wait for a free slot; past it a call gets 503 with Retry-After.",
    )
    isolation = Enum(
        ["fork", "kernel"],
        default_value="fork",
        config=True,
        help="How calls are isolated: 'fork' runs each call in a child forked from a warm"
        " kernel (Python kernels on Linux/macOS); 'kernel' uses a fresh pre-started kernel per"
        " call. Other languages always use 'kernel'.",
    )
    max_warm_notebooks = Int(
        8,
        config=True,
        help="Notebooks kept warm (a kernel with setup run) at once; the least recently used"
        " is stopped past it.",
    )
    max_pool_memory = Int(
        0,
        config=True,
        help="Bytes of memory the warm pool may hold (kernels, their waiting forks and the spare"
        " kernels, counted as proportional set size); past it the least recently used warm"
        " notebooks are stopped when another is warmed (0: no limit but max_warm_notebooks).",
    )
    spare_kernels = Int(
        1,
        config=True,
        help="Blank kernels kept started per kernel name in use, so a new or changed notebook"
        " waits for its setup cells, not for a kernel start (0: none).",
    )
    copy_ahead_limit = Int(
        COPY_AHEAD_LIMIT,
        config=True,
        help="Fork isolation: bytes of a warm kernel's memory that each waiting child copies"
        " ahead of its call, learned from the pages earlier calls wrote, so the call does not"
        " pay a copy-on-write fault for each (0: off). Each waiting child holds up to this"
        " much memory of its own.",
    )
    startup_time_limit = Float(
        120.0,
        config=True,
        help="Seconds a kernel may take to start and run the setup cells.",
    )
    max_body_size = Int(
        10 * 1024 * 1024,
        config=True,
        help="Largest request body (bytes) a call accepts; past it 413.",
    )
    max_result_size = Int(
        MAX_RESULT_SIZE,
        config=True,
        help="Largest result (bytes, encoded as JSON, PNG or CSV) a call may answer with;"
        " past it the call is answered with 502 result_too_large. Enforced where the call"
        " runs (encoding stops past it) and where the server reads the reply.",
    )
    max_output_size = Int(
        MAX_OUTPUT_SIZE,
        config=True,
        help="Characters of each of a call's captured outputs (stdout, stderr) kept; past it"
        " the first and the last half are kept around a marker saying how much was cut.",
    )

    cache_max_bytes = Int(
        64 * 1024 * 1024,
        config=True,
        help="Bytes of answers kept in memory for notebooks that keep their results"
        ' (metadata "restified": {"cache": {"ttl": seconds}}); past it the least recently'
        " used are dropped (0: nothing is kept, every call runs).",
    )

    keys_file = Unicode(
        "",
        config=True,
        help="Where endpoint keys are kept (salted hashes only, mode 0600). Default:"
        " notebook_restified/keys.json in the server's data directory.",
    )
    key_rate_limit = Int(
        120,
        config=True,
        help="Calls one endpoint key may make per minute (0: unlimited), its requests to"
        " the runs routes counted with them; past it 429.",
    )
    # --- hardening of keyed calls (kept together) ---
    key_max_concurrent = Int(
        0,
        config=True,
        help="Calls one endpoint key may have running or queued at once; past it 429 with"
        " Retry-After (0: half the pool, at least 1). The server's users are not limited.",
    )
    key_tracebacks = Bool(
        False,
        config=True,
        help="Whether a keyed call's execution_error carries the traceback and the call's"
        " stdout and stderr (they quote the notebook's code and output); without it, only"
        " type, message, cell_index, ename and evalue. The server's users always see all.",
    )

    # --- asynchronous runs and run records (kept together) ---
    run_time_limit = Float(
        3600.0,
        config=True,
        help="Seconds one asynchronous run (Prefer: respond-async) may run before it is"
        " stopped (status timed_out).",
    )
    run_pool_size = Int(
        1,
        config=True,
        help="Asynchronous runs that may execute at the same time, in slots of their own"
        " (they never take the pool_size slots of synchronous calls).",
    )
    run_queue_size = Int(
        64,
        config=True,
        help="Asynchronous runs that may wait for a free run slot; past it 503 busy.",
    )
    record_calls = Enum(
        list(RECORD_CALLS),
        default_value="errors",
        config=True,
        help="Which synchronous calls leave a run record (the run object and the executed"
        " notebook), as asynchronous runs always do: 'none', 'errors' or 'all'.",
    )
    max_records = Int(
        100,
        config=True,
        help="Run records kept per notebook; past it the oldest are removed.",
    )
    runs_dir = Unicode(
        "",
        config=True,
        help="Where run records are kept. Default: notebook_restified/runs-<hash of the root"
        " directory> in the server's data directory (one per root, as the keys file).",
    )

    engine: Engine
    service: EndpointService
    runs: RunManager
    keys: KeyStore
    key_limiter: RateLimiter
    result_cache: ResultCache

    def initialize_settings(self) -> None:
        """Create the engine and the service the handlers use."""
        assert self.serverapp is not None
        logs.install(self.serverapp.log)
        keep_keys_from(self.serverapp.identity_provider)  # on the server's every route
        # Kernels are the server's: its kernel specs, and only those it allows.
        kernel_spec_manager = self.serverapp.kernel_spec_manager
        factory = None
        remote = GatewayClient.instance().gateway_enabled
        if remote:
            # The gateway runs the kernels (its kernel specs); forking needs the kernel here.
            self.log.info("notebook_restified: kernels on the gateway, a fresh one per call")
            factory = functools.partial(gateway_kernel_manager, self.log)
        self.engine = Engine(
            pool_size=self.pool_size,
            queue_size=self.queue_size,
            time_limit=self.time_limit,
            startup_limit=self.startup_time_limit,
            isolation=self.isolation,
            max_warm=self.max_warm_notebooks,
            max_memory=self.max_pool_memory,
            spare_kernels=self.spare_kernels,
            copy_ahead_limit=self.copy_ahead_limit,
            max_result_size=self.max_result_size,
            max_output_size=self.max_output_size,
            kernel_spec_manager=None if remote else kernel_spec_manager,
            kernel_manager_factory=factory,
            remote_kernels=remote,
        )
        self.service = EndpointService(self.serverapp.contents_manager, self.engine)
        self.service.watch_saves()
        self.result_cache = ResultCache(self.cache_max_bytes)
        self._drop_kept_answers_on_save()
        self.keys = KeyStore(self.keys_path(), root=self.key_root())
        self._report_unbound_default_file()
        self.key_limiter = RateLimiter(self.key_rate_limit)
        self.runs = RunManager(
            self.service,
            RunStore(self.runs_path(), self.max_records),
            pool_size=self.run_pool_size,
            queue_size=self.run_queue_size,
            time_limit=self.run_time_limit,
            record_calls=self.record_calls,
        )
        self._report_shared_runs_dir()
        self.runs.start()

    def _drop_kept_answers_on_save(self) -> None:
        """A saved notebook's kept answers go at once (a call would not find them anyway:
        the notebook's hash is part of their key)."""
        assert self.serverapp is not None
        register = getattr(self.serverapp.contents_manager, "register_post_save_hook", None)
        if not callable(register):
            return

        def saved(model: dict[str, Any], **_: Any) -> None:
            path = str(model.get("path") or "")
            if path.endswith(".ipynb"):
                with contextlib.suppress(RestifiedError):
                    self.result_cache.drop_path(normalize_path(path))

        register(saved)

    def runs_path(self) -> str:
        """The directory of run records in effect; by default one per root directory, as
        the keys file: a server neither lists, serves nor prunes another root's runs."""
        if self.runs_dir:
            return self.runs_dir
        assert self.serverapp is not None
        return per_root_path(self.serverapp.data_dir, self.serverapp.root_dir, "runs")

    def key_concurrency(self) -> int:
        """Calls one key may have in flight: ``key_max_concurrent``, or half the pool."""
        return self.key_max_concurrent or max(1, self.pool_size // 2)

    def key_root(self) -> str:
        """What binds this server's keys to it: a hash of its root directory."""
        assert self.serverapp is not None
        return root_id(self.serverapp.root_dir)

    def keys_path(self) -> str:
        """The keys file in effect; by default one per root directory, so the servers of
        one user (one data directory) keep their keys apart."""
        if self.keys_file:
            return self.keys_file
        assert self.serverapp is not None
        return per_root_path(self.serverapp.data_dir, self.serverapp.root_dir, "keys", ".json")

    def _report_shared_runs_dir(self) -> None:
        # The default directory of earlier versions was shared by all servers of a user:
        # its records cannot say which root they were of, so they are no longer read.
        assert self.serverapp is not None
        shared = os.path.join(self.serverapp.data_dir, "notebook_restified", "runs")
        if not self.runs_dir and os.path.isdir(shared):
            self.log.warning(
                "notebook_restified: run records in %s were kept before records were kept per"
                " root directory and are no longer read (delete the directory when done)",
                shared,
            )

    def _report_unbound_default_file(self) -> None:
        # The default file of earlier versions was shared by all servers of a user: its keys
        # cannot say which server they were for, so none of them is read any more.
        assert self.serverapp is not None
        shared = os.path.join(self.serverapp.data_dir, "notebook_restified", "keys.json")
        if not self.keys_file and os.path.exists(shared):
            self.log.warning(
                "notebook_restified: endpoint keys in %s were made before keys were bound to"
                " one server and are no longer accepted; make new ones (then delete the file)",
                shared,
            )

    def initialize_handlers(self) -> None:
        """Register the extension's routes."""
        service, keys = {"service": self.service}, {"keys": self.keys}
        # key_tracebacks also decides what key holders see of their runs.
        runs = RunsAccess(self.runs, self.keys, self.key_tracebacks, self.key_limiter)
        calls = {
            "service": self.service,
            "keys": KeyAccess(self.keys, self.key_limiter, self.key_concurrency()),
            "max_body_size": self.max_body_size,
            "runs": runs,
            "key_tracebacks": self.key_tracebacks,
            "cache": self.result_cache,
        }
        self.handlers.extend(
            [
                (r"/api/restified/status", StatusHandler, {"status": self.status}),
                (r"/api/restified/keys", KeysHandler, {**service, **keys}),
                # Any one segment: a malformed id is answered as an unknown one (JSON 404).
                (r"/api/restified/keys/(?P<key_id>[^/]+)", KeyHandler, keys),
                (rf"/api/restified/spec/{PATH}", SpecHandler, service),
                (rf"/api/restified/openapi/{PATH}", OpenAPIHandler, service),
                (rf"/restified/{PATH}", CallHandler, calls),
            ]
        )
        self.handlers.extend(runs_routes(runs))
        # The endpoint's page and the index of endpoints, for people (server/page.py).
        assert self.serverapp is not None
        index = EndpointsIndex(self.serverapp.contents_manager)
        self.handlers.extend(
            [
                (
                    rf"/api/restified/page/{PATH}",
                    PageDataHandler,
                    {**service, "keys": calls["keys"]},
                ),
                (r"/api/restified/assets/(.+)", AssetHandler, {"path": STATIC_DIR}),
                (r"/restified/", IndexHandler, {"index": index}),
                (r"/restified", IndexRedirectHandler),
            ]
        )

    async def stop_extension(self) -> None:
        """Stop every kernel the engine holds; write key usage not yet written."""
        await asyncio.to_thread(self.keys.flush)
        await self.runs.close()  # runs in flight are recorded as failed, not lost
        await self.service.close()

    def effective_config(self) -> dict[str, Any]:
        """The value in effect of every configurable trait this extension defines (a
        trait whose 0 means "derived" shows what it is derived to: ``key_max_concurrent``)."""
        config = {name: getattr(self, name) for name in sorted(self.class_own_traits(config=True))}
        config["key_max_concurrent"] = self.key_concurrency()
        return config

    async def status(self) -> dict[str, Any]:
        """What ``GET /api/restified/status`` answers."""
        pool = self.engine.stats()
        forks = await self.engine.fork_stats()
        for warm in pool["warm_notebooks"]:
            warm["fork"] = forks.get(warm["path"])
        pool["runs"] = {**self.runs.counts(), "pool_size": self.runs.pool_size}
        pool["cache"] = self.result_cache.stats()
        report = {"version": __version__, "config": self.effective_config(), "pool": pool}
        serving = getattr(self.serverapp, "serve_status", None)  # jupyter restified serve
        if callable(serving):
            report["serve"] = serving()
        return report
