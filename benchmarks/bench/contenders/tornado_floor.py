"""The HTTP floor: the same client against a bare tornado handler that only answers
``n + 1``, in a process of its own."""

from __future__ import annotations

import sys

from ..harness.http import HttpClient, HttpServer, endpoint_call, free_port
from ..harness.load import measure_async
from ..harness.processes import Subprocesses
from ..harness.settings import LOOPBACK, Settings
from ..report.results import Row
from .base import Contender, Context

TORNADO_FLOOR_SERVER = """
import asyncio, json, sys
from tornado import web

class Handler(web.RequestHandler):
    def get(self):
        n = int(self.get_argument("n", "1"))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(n + 1))

async def main():
    web.Application([(r"/run", Handler)]).listen(int(sys.argv[1]), address="127.0.0.1")
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def start_tornado_floor(procs: Subprocesses, client_class: type[HttpClient]) -> HttpServer:
    """A bare tornado JSON handler at ``/run`` (answers ``n + 1``)."""
    port = free_port()
    managed = procs.start("tornado-floor", [sys.executable, "-c", TORNADO_FLOOR_SERVER, str(port)])
    server = HttpServer(managed, client_class(LOOPBACK, port, {}))
    await server.ready_or_stop("/run", procs)
    return server


class TornadoFloor(Contender):
    """The HTTP floor, on the first notebook only (the handler ignores the notebook)."""

    key = "tornado"

    def label(self, settings: Settings) -> str:
        """What it is."""
        return "bare tornado (HTTP floor)"

    async def measure(self, ctx: Context, row: Row) -> None:
        """The same calls as the fast contenders, on the first notebook."""
        code = ctx.codes[0]
        print(f"  {row.label}: {code.name}", flush=True)
        server = await start_tornado_floor(ctx.procs, ctx.client_class)
        try:
            caller = endpoint_call(server, lambda _code: "/run")
            row.notebooks[code.name] = await measure_async(
                caller(code), code, ctx.settings.fast, server.cpu
            )
        finally:
            await ctx.stop(self.key, server)
