"""A notebook endpoint on a server, called from Python like a :class:`KernelModel`.

>>> from notebook_restified.client import Endpoint
>>> with Endpoint("https://host/restified/fibonacci.ipynb", key="nrk_...") as fib:  # doctest: +SKIP
...     fib.execute(n=20)
6765
...     run = fib.submit(n=30)           # asynchronous: Prefer: respond-async
...     for event in run.events():       # progress and output as it runs
...         print(event.event, event.data)
...     run.wait()
832040

Errors raise the same exception classes as :class:`KernelModel`
(:class:`~notebook_restified.errors.ExecutionError`,
:class:`~notebook_restified.errors.CallTimeout`, ...), built from the server's error
objects. Uses ``httpx``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from .errors import RateLimited, RestifiedError, RunCancelled, error_from_json
from .parameters import json_values, merge_once
from .results import CallResult
from .runs.handle import RunHandle
from .runs.model import RunEvent

T = TypeVar("T")

#: What a call accepts: JSON first, an image as PNG.
ACCEPT = "application/json, image/png;q=0.9"


def raise_for_error(response: httpx.Response) -> None:
    """Raise the error an error response stands for (its class from its ``type``)."""
    if response.is_success:
        return
    try:
        fields = response.json()["error"]
        if not isinstance(fields, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        fields = {"type": "error", "message": f"HTTP {response.status_code}: {response.text[:200]}"}
    raise error_from_json(fields, response.status_code)


def _patiently(ask: Callable[[], T], deadline: float | None) -> T:
    """``ask()``, again after the wait a 429 tells (an endpoint key's runs requests count
    against its ``key_rate_limit``), unless that wait would pass ``deadline``."""
    while True:
        try:
            return ask()
        except RateLimited as limited:
            if deadline is not None and time.monotonic() + limited.retry_after > deadline:
                raise
            time.sleep(limited.retry_after)


def _result_of(response: httpx.Response) -> CallResult:
    duration = response.headers.get("X-Restified-Duration", "0ms").removesuffix("ms")
    try:
        seconds = float(duration) / 1000
    except ValueError:
        seconds = 0.0
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith("image/png"):
        return CallResult(value=None, kind="image", png=response.content, duration=seconds)
    if content_type.startswith("text/csv"):
        return CallResult(value=None, kind="table", csv=response.text, duration=seconds)
    return CallResult(value=response.json(), duration=seconds)


class Endpoint:
    """The endpoint at ``url`` (``<server>/restified/<path>``), called with an endpoint
    ``key`` (sent as ``Authorization: Bearer``) or the server's ``token``.

    ``execute``, ``call`` and ``submit`` take the parameters as :class:`KernelModel`'s do
    (a mapping and/or keywords, sent as a JSON body). ``timeout``: seconds an HTTP request
    may take (a synchronous call waits for its result within it).
    """

    def __init__(
        self,
        url: str,
        *,
        key: str | None = None,
        token: str | None = None,
        timeout: float = 120.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url.split("?", 1)[0].rstrip("/")
        if "/restified/" not in self.url:
            raise ValueError(f"not an endpoint URL (…/restified/<path>): {url!r}")
        server, _, path = self.url.partition("/restified/")
        self.path = path
        self.runs_url = f"{server}/api/restified/runs"
        headers = {}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        elif token is not None:
            headers["Authorization"] = f"token {token}"
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=httpx.Timeout(timeout, connect=30.0))
        self.headers = headers
        self.timeout = timeout

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = self.client.request(method, url, headers=headers, **kwargs)
        raise_for_error(response)
        return response

    @staticmethod
    def _values(parameters: Mapping[str, Any] | None, values: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON body: a name given twice refused, as everywhere; dates and times as
        ISO 8601 text, paths as text, bytes as base64, tuples as lists."""
        return json_values(merge_once(parameters or {}, values))

    def call(self, parameters: Mapping[str, Any] | None = None, /, **values: Any) -> CallResult:
        """Run one call; its result (value, or PNG for an image). Over HTTP the call's
        output is not sent: ``stdout`` and ``stderr`` are empty."""
        response = self._request(
            "POST",
            self.url,
            json=self._values(parameters, values),
            headers={"Accept": ACCEPT},
        )
        return _result_of(response)

    def execute(self, parameters: Mapping[str, Any] | None = None, /, **values: Any) -> Any:
        """Run one call and return its value (PNG bytes when the result is an image)."""
        result = self.call(parameters, **values)
        return result.png if result.kind == "image" else result.value

    def submit(self, parameters: Mapping[str, Any] | None = None, /, **values: Any) -> RemoteRun:
        """Start an asynchronous run (``Prefer: respond-async``) and return its handle."""
        response = self._request(
            "POST",
            self.url,
            json=self._values(parameters, values),
            headers={"Prefer": "respond-async", "Accept": ACCEPT},
        )
        return RemoteRun(self, response.json())

    def run(self, run_id: str) -> RemoteRun:
        """The handle of a run made earlier (by its id)."""
        return RemoteRun(self, self._request("GET", f"{self.runs_url}/{run_id}").json())

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """The run objects of this notebook that this caller may see, newest first."""
        response = self._request(
            "GET", self.runs_url, params={"path": self.path, "limit": str(limit)}
        )
        runs: list[dict[str, Any]] = response.json()["runs"]
        return runs

    def close(self) -> None:
        """Close the HTTP connections (unless the client was given)."""
        if self._own_client:
            self.client.close()

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def parse_events(lines: Iterator[str]) -> Iterator[RunEvent]:
    """Server-Sent Events (``id:``, ``event:``, ``data:`` lines, a blank line after each)
    as run events; comments and keep-alives are skipped."""
    fields: dict[str, str] = {}
    for line in lines:
        if not line:
            if "event" in fields and "data" in fields:
                yield RunEvent(
                    int(fields.get("id", "0")), fields["event"], json.loads(fields["data"])
                )
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        fields[name] = fields[name] + "\n" + value if name == "data" and name in fields else value


class RemoteRun(RunHandle):
    """A run on the server (see :class:`RunHandle`); :attr:`info` is its run object as
    last fetched."""

    def __init__(self, endpoint: Endpoint, info: dict[str, Any]) -> None:
        self.endpoint = endpoint
        self.info = info
        self.id = str(info["id"])
        self.links: dict[str, str] = dict(info.get("links") or {})
        self.links.setdefault("self", f"{endpoint.runs_url}/{self.id}")

    def refresh(self) -> dict[str, Any]:
        """Fetch the run object again."""
        self.info = self.endpoint._request("GET", self.links["self"]).json()
        return self.info

    @property
    def status(self) -> str:
        """Where the run is now (asks the server unless it has ended)."""
        if self.info.get("status") in ("queued", "running"):
            self.refresh()
        return str(self.info["status"])

    @property
    def progress(self) -> dict[str, int]:
        """``{"cell": cells finished, "cells": cells the call runs}`` (asks the server)."""
        if self.info.get("status") in ("queued", "running"):
            self.refresh()
        return dict(self.info.get("progress") or {})

    def result(self, timeout: float | None = None) -> CallResult:
        """The full result once the run ends (polling the run object; see
        :class:`RunHandle`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.1
        while _patiently(lambda: self.status, deadline) in ("queued", "running"):
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {self.id} is still {self.info['status']}")
            wait = pause if deadline is None else min(pause, max(0.0, deadline - time.monotonic()))
            time.sleep(wait)
            pause = min(pause * 1.5, 2.0)
        if self.info["status"] == "cancelled":
            raise RunCancelled(f"run {self.id} was cancelled: it has no result")
        response = _patiently(
            lambda: self.endpoint._request(
                "GET",
                self.links.get("result", f"{self.links['self']}/result"),
                headers={"Accept": ACCEPT},
            ),
            deadline,
        )
        return _result_of(response)

    def cancel(self) -> None:
        """Stop the run; its processes are killed and its status becomes ``cancelled``."""
        self.info = self.endpoint._request("DELETE", self.links["self"]).json()

    def events(self, after: int = 0) -> Iterator[RunEvent]:
        """The run's events as the server streams them (see :class:`RunHandle`)."""
        url = self.links.get("events", f"{self.links['self']}/events")
        headers = {**self.endpoint.headers, "Accept": "text/event-stream"}
        if after:
            headers["Last-Event-ID"] = str(after)
        timeout = httpx.Timeout(self.endpoint.timeout, connect=30.0, read=None)
        with self.endpoint.client.stream("GET", url, headers=headers, timeout=timeout) as response:
            if not response.is_success:
                response.read()
                raise_for_error(response)
            for event in parse_events(response.iter_lines()):
                if event.event == "done":
                    self.info = event.data
                yield event
                if event.event == "done":
                    return

    def notebook(self) -> dict[str, Any]:
        """The executed notebook (nbformat JSON) of a run that has ended."""
        url = self.links.get("notebook", f"{self.links['self']}/notebook")
        notebook: dict[str, Any] = self.endpoint._request("GET", url).json()
        return notebook


__all__ = ["Endpoint", "RemoteRun", "RestifiedError", "raise_for_error"]
