"""HTTP to the servers under test: a keep-alive client (as ``requests.Session`` or curl)
or tornado's (a connection per request), and a server with a client that authenticates to
it, waits until it is ready, samples its CPU time and stops it."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient

from .cpu import CpuSample, tree_cpu
from .load import AsyncCall, describe
from .notebook import NotebookCode
from .processes import Managed, Subprocesses
from .settings import CONCURRENT_CLIENTS, HTTP_TIMEOUT, LOOPBACK, READY_TIMEOUT


def free_port() -> int:
    """A free TCP port on the loopback address."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class HttpAnswer:
    """A response: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes


class HttpStatusError(Exception):
    """An answer with a status of 400 or more."""

    def __init__(self, answer: HttpAnswer) -> None:
        super().__init__(f"HTTP {answer.status}: {answer.body[:300].decode('utf-8', 'replace')}")
        self.answer = answer


class KeepAliveClient:
    """A minimal HTTP/1.1 client on asyncio streams that keeps its connections open, as
    ``requests.Session``, curl or a browser do: each concurrent caller reuses a connection.

    tornado's AsyncHTTPClient opens a connection per request and resolves the address in a
    thread, which costs ~1.5 ms a call on this kind of machine (``--http-client tornado``).
    """

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(
            f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items()
        )
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, method: str, path: str, body: bytes | None = None) -> HttpAnswer:
        """One request on an idle connection (or a new one)."""
        reader, writer = self._idle.pop() if self._idle else await self._connect()
        try:
            length = f"Content-Length: {len(body)}\r\n" if body is not None else ""
            writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{length}\r\n".encode())
            writer.write(body or b"")
            answer, keep = await self._read(reader)
        except BaseException:
            writer.close()
            raise
        if keep:
            self._idle.append((reader, writer))
        else:
            writer.close()
        return answer

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[HttpAnswer, bool]:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        keep = headers.get("connection", "").lower() != "close"
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            for _ in range(1_000_000):
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunks.append(await reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(c[:-2] for c in chunks)
        else:
            body, keep = await reader.read(), False
        return HttpAnswer(status, headers, body), keep

    async def close(self) -> None:
        """Close the idle connections."""
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


class TornadoClient:
    """tornado's AsyncHTTPClient (a connection per request)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.base = f"http://{host}:{port}"
        self.headers = headers
        self.client = AsyncHTTPClient(force_instance=True, max_clients=4 * CONCURRENT_CLIENTS)

    async def request(self, method: str, path: str, body: bytes | None = None) -> HttpAnswer:
        """One request."""
        response = await self.client.fetch(
            self.base + path,
            method=method,
            body=body,
            headers=self.headers,
            raise_error=False,
            request_timeout=HTTP_TIMEOUT,
        )
        if response.code == 599 and response.error is not None:
            raise response.error
        headers = {k.lower(): v for k, v in response.headers.get_all()}
        return HttpAnswer(response.code, headers, response.body or b"")

    async def close(self) -> None:
        """Release the client."""
        self.client.close()


HttpClient = KeepAliveClient | TornadoClient
HTTP_CLIENTS: dict[str, type[HttpClient]] = {"keepalive": KeepAliveClient, "tornado": TornadoClient}


@dataclass
class HttpServer:
    """A server under test, with a client that authenticates to it."""

    managed: Managed
    client: HttpClient

    async def fetch(self, path: str, method: str = "GET", body: bytes | None = None) -> HttpAnswer:
        """A request; HttpStatusError for a status of 400 or more."""
        answer = await asyncio.wait_for(self.client.request(method, path, body), HTTP_TIMEOUT)
        if answer.status >= 400:
            raise HttpStatusError(answer)
        return answer

    async def get_json(self, path: str) -> Any:
        """A GET whose answer is JSON."""
        return json.loads((await self.fetch(path)).body)

    async def wait_ready(self, path: str, timeout: float = READY_TIMEOUT) -> float:
        """Poll ``path`` until it answers 200; returns the seconds it took."""
        started = time.perf_counter()
        last = "no answer"
        while time.perf_counter() - started < timeout:
            if self.managed.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.managed.name} exited ({self.managed.proc.returncode}):\n"
                    + self.managed.log_tail()
                )
            remaining = timeout - (time.perf_counter() - started)
            try:
                request = self.client.request("GET", path)
                answer = await asyncio.wait_for(request, max(1.0, min(30.0, remaining)))
                if answer.status < 400:
                    return time.perf_counter() - started
                last = f"HTTP {answer.status}"
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
                last = describe(exc)
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.managed.name} not ready after {timeout:.0f} s ({last})")

    async def ready_or_stop(self, path: str, procs: Subprocesses) -> float:
        """:meth:`wait_ready`, stopping the server if it never gets ready."""
        try:
            return await self.wait_ready(path)
        except BaseException:
            await self.stop(procs)
            raise

    def cpu(self) -> CpuSample:
        """CPU time of the server and everything it started, and of the server alone."""
        return tree_cpu(self.managed.proc.pid)

    async def stop(self, procs: Subprocesses) -> list[dict[str, Any]]:
        """Close the client, stop the server; the processes that survived it."""
        await self.client.close()
        return procs.stop(self.managed)


def endpoint_call(
    server: HttpServer, url_path: Callable[[NotebookCode], str]
) -> Callable[[NotebookCode], AsyncCall]:
    """A GET with the values in the query; the JSON answer and X-Restified-Duration (ms)."""

    def for_notebook(code: NotebookCode) -> AsyncCall:
        base = url_path(code)

        async def call(values: dict[str, Any]) -> tuple[Any, float | None]:
            response = await server.fetch(f"{base}?{urlencode(values)}")
            duration = response.headers.get("x-restified-duration")
            return json.loads(response.body), float(duration[:-2]) if duration else None

        return call

    return for_notebook


def auth_header(token: str) -> dict[str, str]:
    """Token auth, as Jupyter Server and Kernel Gateway both take it."""
    return {"Authorization": f"token {token}"}
