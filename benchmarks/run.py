"""Benchmark notebook_restified against the other ways of running a notebook per request.

    python benchmarks/run.py [--calls N] [--quick]

In one run, on a trivial notebook and a pandas groupby notebook (benchmarks/notebooks/):

1. this project's endpoint over HTTP through a real ``jupyter server`` with token auth,
   isolation ``fork`` (the default) and ``kernel`` (a fresh pre-started kernel per call);
2. papermill, a fresh kernel per call;
3. a warm kernel executing the notebook's code in one execute request (the floor);
4. Jupyter Kernel Gateway notebook-http mode, one warm kernel shared by all calls
   (installed into benchmarks/.venv-kg on first use);
5. a bare tornado JSON handler over loopback (the HTTP floor).

Sequential calls give the median and p95 latency and the rate of one client; 8 concurrent
clients give the throughput under load. It also times the first call after a save (a body
cell, then a setup cell), a kernel's start to ready, and the warm pool's memory. It prints a
table and writes benchmarks/results/latest.json. Every result is checked against the value
the notebook's code gives when run in this process. Only loopback addresses are used, every
loop is bounded, and every process started is stopped (and checked gone) at the end.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import copy
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from queue import Empty
from typing import IO, Any
from urllib.parse import quote, urlencode

import nbformat
from jupyter_client.manager import KernelManager
from tornado.httpclient import AsyncHTTPClient

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE / "notebooks"
NOTEBOOK_NAMES = ("trivial", "pandas_groupby")
KG_VENV = HERE / ".venv-kg"
KG_PACKAGES = ("jupyter_kernel_gateway", "ipykernel", "pandas", "numpy")
RESULTS = HERE / "results"
LOOPBACK = "127.0.0.1"
CONCURRENT_CLIENTS = 8
# Paced calls: one client, sequential, this long apart (a client doing other work between
# calls, where back-to-back calls leave the machine no idle moment).
PACE_S = 0.02
HTTP_TIMEOUT = 120.0
READY_TIMEOUT = 120.0
KG_ATTEMPTS = 2
"""Kernel Gateway 3.0.1 sometimes never gets its seeded kernel ready: start it again."""

# The goals of issue 6 for the default (fork) endpoint.
GOAL_P50_MS = {"trivial": 8.0, "pandas_groupby": 13.0}
# Kernel Gateway's p50 on the machine where issue 6 set those goals: the goals equal it.
ISSUE_KG_P50_MS = {"trivial": 8.0, "pandas_groupby": 12.9}
GOAL_P95_OVER_P50 = 2.0
GOAL_THROUGHPUT_OVER_KG = 1.5
GOAL_SAVE_EXTRA_MS = 1000.0
QUIET_CPUS = 0.25
"""Other processes using more CPUs than this make the numbers unreliable (a warning)."""

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


# --- settings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How many calls one target makes on one notebook."""

    warmup: int
    sequential: int
    concurrent: int
    """Calls made in total by the concurrent clients."""
    paced: int = 0
    """Sequential calls ``PACE_S`` apart."""


@dataclass(frozen=True)
class Settings:
    """Everything the command line chooses."""

    fast: Plan
    """Targets that answer in milliseconds."""
    slow: Plan
    """papermill and the ``kernel`` isolation mode (a kernel start per call)."""
    save_repeats: int
    kernel_starts: int
    pool_size: int
    quick: bool
    server_args: tuple[str, ...] = ()
    """More ``--RestifiedApp...`` options for this project's servers."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        """Full runs by default; ``--quick`` for a check that the whole thing works."""
        if args.quick:
            calls = args.calls or 30
            slow = Plan(warmup=1, sequential=3, concurrent=CONCURRENT_CLIENTS)
            fast = Plan(3, calls, calls, paced=calls)
            return cls(fast, slow, 1, 1, args.pool_size, True, tuple(args.server_arg))
        calls = args.calls or 200
        slow = Plan(warmup=1, sequential=10, concurrent=2 * CONCURRENT_CLIENTS)
        fast = Plan(5, calls, calls, paced=min(calls, 100))
        return cls(fast, slow, 3, 5, args.pool_size, False, tuple(args.server_arg))


# --- the notebooks' code ----------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One assignment of a ``parameters`` cell."""

    name: str
    annotation: str | None
    default: Any


@dataclass
class NotebookCode:
    """A tagged notebook split into the parts every way of running it needs."""

    name: str
    path: Path
    setup: str
    """Code cells before the ``parameters`` cell."""
    parameters_source: str
    parameters: tuple[Parameter, ...]
    body: str
    """Code cells after ``parameters`` up to the ``return`` cell, less its last expression."""
    result_expr: str
    """The ``return`` cell's last expression."""
    _namespace: dict[str, Any] | None = field(default=None, repr=False)
    _expected: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, path: Path) -> NotebookCode:
        """Read the cells by their tags (``parameters``, ``skip``, ``return``)."""
        nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
        cells = [
            (str(cell.source), set(cell.metadata.get("tags", [])))
            for cell in nb.cells
            if cell.cell_type == "code"
        ]
        params_at = next(i for i, (_, tags) in enumerate(cells) if "parameters" in tags)
        return_at = next(i for i, (_, tags) in enumerate(cells) if "return" in tags)
        body = [src for src, tags in cells[params_at + 1 : return_at] if "skip" not in tags]
        prefix, result_expr = _split_last_expression(cells[return_at][0])
        return cls(
            name=path.stem,
            path=path,
            setup="\n".join(src for src, tags in cells[:params_at] if "skip" not in tags),
            parameters_source=cells[params_at][0],
            parameters=_parse_parameters(cells[params_at][0]),
            body="\n".join([*body, prefix]).strip("\n"),
            result_expr=result_expr,
        )

    def values_for(self, index: int) -> dict[str, Any]:
        """The values of call ``index``: ints vary over five values, the rest keep defaults."""
        return {
            p.name: p.default + index % 5 if isinstance(p.default, int) else p.default
            for p in self.parameters
        }

    def assignments(self, values: dict[str, Any]) -> str:
        """The injected parameters, as papermill writes them."""
        return "".join(f"{name} = {value!r}\n" for name, value in values.items())

    def expected(self, values: dict[str, Any]) -> Any:
        """The result of a call, computed by running the code in this process (as JSON)."""
        key = json.dumps(values, sort_keys=True)
        with self._lock:
            if key not in self._expected:
                if self._namespace is None:
                    self._namespace = {"__name__": "__bench__"}
                    exec(self.setup + "\n" + self.parameters_source, self._namespace)
                namespace = dict(self._namespace)
                exec(self.assignments(values) + self.body, namespace)
                value = eval(self.result_expr, namespace)
                self._expected[key] = json.loads(json.dumps(value))
            return self._expected[key]


def _split_last_expression(source: str) -> tuple[str, str]:
    tree = ast.parse(source)
    last = tree.body[-1]
    if not isinstance(last, ast.Expr):
        raise ValueError("the return cell must end with an expression")
    expr = ast.get_source_segment(source, last.value)
    assert expr is not None
    return "\n".join(source.splitlines()[: last.lineno - 1]), expr


def _parse_parameters(source: str) -> tuple[Parameter, ...]:
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            annotation = ast.unparse(node.annotation)
            found.append(Parameter(node.target.id, annotation, ast.literal_eval(node.value)))
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            found.append(Parameter(node.targets[0].id, None, ast.literal_eval(node.value)))
    return tuple(found)


def kernel_gateway_notebook(code: NotebookCode) -> nbformat.NotebookNode:
    """The same function in Kernel Gateway's notebook-http shape: ``GET /run`` reads
    ``REQUEST`` and prints the result as JSON; the other cells run when the kernel starts."""
    converters = {"int": "int", "float": "float", "str": "str"}
    reads = "".join(
        f"{p.name} = {converters.get(p.annotation or '', 'json.loads')}(_args[{p.name!r}][0])"
        f" if {p.name!r} in _args else {p.default!r}\n"
        for p in code.parameters
    )
    handler = (
        "# GET /run\n"
        "import json\n"
        "_args = json.loads(REQUEST)['args']\n"
        f"{reads}{code.body}\n"
        f"print(json.dumps({code.result_expr}))\n"
    )
    nb: nbformat.NotebookNode = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    sources = [code.setup, code.parameters_source, handler]
    nb.cells = [
        nbformat.v4.new_code_cell(src)  # type: ignore[no-untyped-call]
        for src in sources
        if src.strip()
    ]
    return nb


# --- statistics -------------------------------------------------------------------------


class CallFailed(Exception):
    """A call answered, but not with the expected value."""


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def describe(exc: BaseException) -> str:
    """A short, single-line description of a failed call."""
    return f"{type(exc).__name__}: {exc}"[:400]


@dataclass
class Stats:
    """What one target measured on one notebook."""

    calls: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    mean_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    calls_per_s: dict[str, float | None] = field(default_factory=dict)
    """Keyed by the number of concurrent clients."""
    paced_p50_ms: float | None = None
    paced_p95_ms: float | None = None
    """Of sequential calls ``PACE_S`` apart."""
    server_p50_ms: float | None = None
    """Median of the endpoint's own ``X-Restified-Duration`` (the engine's time)."""
    cpu_ms_per_call: float | None = None
    """CPU time of the server and everything it started, per sequential call: unlike
    latency, hardly changed by other processes competing for the CPUs."""
    front_cpu_ms_per_call: float | None = None
    """CPU time per sequential call of the HTTP server's own process (not its kernels)."""
    first_error: str | None = None
    note: str | None = None


class Recorder:
    """Checks each call's value and collects latencies and errors."""

    def __init__(self, code: NotebookCode) -> None:
        self.code = code
        self.latencies_ms: list[float] = []
        self.paced_ms: list[float] = []
        self.server_ms: list[float] = []
        self.errors = 0
        self.first_error: str | None = None
        self.rates: dict[str, float | None] = {}
        self.cpu_ms_per_call: float | None = None
        self.front_cpu_ms_per_call: float | None = None

    def check(self, values: dict[str, Any], value: Any) -> None:
        """Raise CallFailed unless ``value`` is what the notebook gives for ``values``."""
        expected = self.code.expected(values)
        if value != expected:
            raise CallFailed(f"for {values} got {value!r}, expected {expected!r}")

    def cpu_per_call(self, before: CpuSample, after: CpuSample, calls: int) -> None:
        """Record the CPU time per call between two samples."""
        self.cpu_ms_per_call = (after.total - before.total) * 1000 / calls
        if after.front is not None and before.front is not None:
            self.front_cpu_ms_per_call = (after.front - before.front) * 1000 / calls

    def failed(self, exc: BaseException) -> None:
        """Count a failed call."""
        self.errors += 1
        if self.first_error is None:
            self.first_error = describe(exc)

    def stats(self) -> Stats:
        """The summary of everything recorded."""
        lat = self.latencies_ms
        return Stats(
            calls=len(lat),
            errors=self.errors,
            p50_ms=percentile(lat, 50),
            p95_ms=percentile(lat, 95),
            mean_ms=sum(lat) / len(lat) if lat else None,
            min_ms=min(lat) if lat else None,
            max_ms=max(lat) if lat else None,
            calls_per_s=self.rates,
            paced_p50_ms=percentile(self.paced_ms, 50),
            paced_p95_ms=percentile(self.paced_ms, 95),
            server_p50_ms=percentile(self.server_ms, 50),
            cpu_ms_per_call=self.cpu_ms_per_call,
            front_cpu_ms_per_call=self.front_cpu_ms_per_call,
            first_error=self.first_error,
        )


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far: in all, and by the HTTP server process alone."""

    total: float
    front: float | None = None


CpuProbe = Callable[[], CpuSample]
AsyncCall = Callable[[dict[str, Any]], Awaitable[tuple[Any, float | None]]]
SyncCall = Callable[[dict[str, Any]], Any]


async def _one_by_one(
    call: AsyncCall,
    code: NotebookCode,
    count: int,
    rec: Recorder,
    latencies_ms: list[float],
    server_ms: list[float] | None = None,
    pause: float = 0.0,
) -> None:
    """``count`` sequential calls, ``pause`` seconds apart, each checked and timed."""
    for i in range(count):
        if pause:
            await asyncio.sleep(pause)
        values = code.values_for(i)
        t0 = time.perf_counter()
        try:
            value, engine_ms = await call(values)
            rec.check(values, value)
        except Exception as exc:
            rec.failed(exc)
            continue
        latencies_ms.append((time.perf_counter() - t0) * 1000)
        if server_ms is not None and engine_ms is not None:
            server_ms.append(engine_ms)


async def measure_async(
    call: AsyncCall, code: NotebookCode, plan: Plan, cpu: CpuProbe | None = None
) -> Stats:
    """Warm up, then sequential calls (latency, 1 client), then 8 concurrent clients.
    ``cpu`` gives the CPU seconds the server has used so far (for CPU time per call)."""
    rec = Recorder(code)
    for i in range(plan.warmup):
        with contextlib.suppress(Exception):
            await call(code.values_for(i))
    cpu_before = cpu() if cpu else None
    started = time.perf_counter()
    await _one_by_one(call, code, plan.sequential, rec, rec.latencies_ms, rec.server_ms)
    rec.rates["1"] = plan.sequential / (time.perf_counter() - started)
    if cpu and cpu_before is not None:
        rec.cpu_per_call(cpu_before, cpu(), plan.sequential)
    await _one_by_one(call, code, plan.paced, rec, rec.paced_ms, pause=PACE_S)

    next_index = 0

    async def client() -> None:
        nonlocal next_index
        while next_index < plan.concurrent:
            values = code.values_for(next_index)
            next_index += 1
            try:
                value, _ = await call(values)
                rec.check(values, value)
            except Exception as exc:
                rec.failed(exc)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENT_CLIENTS)))
    rec.rates[str(CONCURRENT_CLIENTS)] = plan.concurrent / (time.perf_counter() - started)
    return rec.stats()


def measure_sequential_sync(
    call: SyncCall, code: NotebookCode, plan: Plan, rec: Recorder, cpu: CpuProbe | None = None
) -> None:
    """The sequential part of a measurement, for targets driven from a thread."""
    for i in range(plan.warmup):
        with contextlib.suppress(Exception):
            call(code.values_for(i))
    cpu_before = cpu() if cpu else None
    started = time.perf_counter()
    for i in range(plan.sequential):
        values = code.values_for(i)
        t0 = time.perf_counter()
        try:
            rec.check(values, call(values))
        except Exception as exc:
            rec.failed(exc)
            continue
        rec.latencies_ms.append((time.perf_counter() - t0) * 1000)
    rec.rates["1"] = plan.sequential / (time.perf_counter() - started)
    if cpu and cpu_before is not None:
        rec.cpu_per_call(cpu_before, cpu(), plan.sequential)


# --- processes --------------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[int, str, int] | None:
    """(ppid, state, start time) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0], int(fields[19])


def descendants(root: int) -> list[int]:
    """Pids of every living process below ``root``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat is not None and stat[1] != "Z":
                children.setdefault(stat[0], []).append(int(entry))
    found: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int, reaped: bool) -> int:
    """utime + stime of ``pid`` (+ cutime + cstime of the children it reaped)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
        fields = raw[raw.rindex(")") + 2 :].split()
        return sum(int(v) for v in fields[11 : 15 if reaped else 13])
    except (OSError, ValueError, IndexError):
        return 0


def tree_cpu(root: int) -> CpuSample:
    """CPU time used so far by ``root`` with its living descendants and the children they
    reaped (total), and by ``root``'s own process (front)."""
    ticks = sum(_cpu_ticks(pid, reaped=True) for pid in [root, *descendants(root)])
    return CpuSample(ticks / CLOCK_TICKS, _cpu_ticks(root, reaped=False) / CLOCK_TICKS)


def _status_kb(pid: int, key: str, filename: str = "status") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/{filename}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def command_line(pid: int) -> str:
    """A process's command line, shortened."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    words = [w.decode("utf-8", "replace") for w in raw.split(b"\0") if w]
    words = [
        os.path.basename(w) if w.startswith("/") and i == 0 else w for i, w in enumerate(words)
    ]
    text = " ".join(w if len(w) < 60 else "..." + w[-40:] for w in words)
    return text[:160]


def memory_of_tree(root: int) -> dict[str, Any]:
    """RSS (VmRSS) and PSS of ``root``'s descendants, and of ``root`` itself."""
    processes = [
        {
            "pid": pid,
            "ppid": (_proc_stat(pid) or (0,))[0],
            "command": command_line(pid),
            "rss_kb": _status_kb(pid, "VmRSS"),
            "pss_kb": _status_kb(pid, "Pss", "smaps_rollup"),
        }
        for pid in descendants(root)
    ]
    return {
        "server_rss_kb": _status_kb(root, "VmRSS"),
        "descendants": processes,
        "descendants_rss_kb": sum(p["rss_kb"] or 0 for p in processes),
        "descendants_pss_kb": sum(p["pss_kb"] or 0 for p in processes),
    }


def free_port() -> int:
    """A free TCP port on the loopback address."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class Managed:
    """A subprocess the benchmark started, with its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of its output."""
        self.log.flush()
        text = self.log_path.read_text("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])


class Subprocesses:
    """Starts servers and stops them with everything they started; reports what survived."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[Managed] = []
        self.leftovers: list[dict[str, Any]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Managed:
        """Start ``argv`` in its own session, output to ``<log_dir>/<name>.log``."""
        log_path = self.log_dir / f"{name}.log"
        log = log_path.open("wb")
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        managed = Managed(name, proc, log_path, log)
        self.running.append(managed)
        return managed

    def stop(self, managed: Managed, grace: float = 20.0) -> list[dict[str, Any]]:
        """SIGTERM (a graceful shutdown), then SIGKILL past ``grace`` seconds. Processes it
        started that are still alive 5 s after it exited are killed and returned."""
        tree = {pid: _proc_stat(pid) for pid in descendants(managed.proc.pid)}
        commands = {pid: command_line(pid) for pid in tree}
        if managed.proc.poll() is None:
            managed.proc.send_signal(signal.SIGTERM)
            try:
                managed.proc.wait(grace)
            except subprocess.TimeoutExpired:
                print(f"  ! {managed.name} ignored SIGTERM for {grace:.0f} s: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(managed.proc.pid, signal.SIGKILL)
                managed.proc.wait(10)
        managed.log.close()
        if managed in self.running:
            self.running.remove(managed)

        def survivors() -> list[int]:
            alive = []
            for pid, stat in tree.items():
                now = _proc_stat(pid)
                if stat and now and now[2] == stat[2] and now[1] != "Z":
                    alive.append(pid)
            return alive

        deadline = time.monotonic() + 5
        while survivors() and time.monotonic() < deadline:
            time.sleep(0.1)
        left: list[dict[str, Any]] = [
            {"server": managed.name, "pid": pid, "command": commands[pid]} for pid in survivors()
        ]
        for item in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(item["pid"], signal.SIGKILL)
        self.leftovers.extend(left)
        return left

    def stop_all(self) -> None:
        """Stop whatever is still running (on the way out, also after an error)."""
        for managed in list(reversed(self.running)):
            self.stop(managed, grace=10.0)


# --- HTTP -------------------------------------------------------------------------------


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


def restified_path(code: NotebookCode) -> str:
    """The endpoint of a notebook copied to the server's root."""
    return f"/restified/{quote(code.path.name)}"


async def start_jupyter_server(
    procs: Subprocesses,
    client_class: type[HttpClient],
    root: Path,
    runtime_dir: Path,
    *,
    isolation: str,
    pool_size: int,
    more: tuple[str, ...] = (),
) -> HttpServer:
    """A real ``jupyter server`` with the extension, on a free loopback port, with a token."""
    port, token = free_port(), secrets.token_hex(16)
    argv = [
        sys.executable,
        "-m",
        "jupyter_server",
        f"--ServerApp.ip={LOOPBACK}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True",
        "--ServerApp.open_browser=False",
        f"--RestifiedApp.pool_size={pool_size}",
        f"--RestifiedApp.isolation={isolation}",
        *more,
    ]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime_dir)}
    managed = procs.start(f"jupyter-server-{isolation}", argv, env)
    server = HttpServer(managed, client_class(LOOPBACK, port, auth_header(token)))
    await server.ready_or_stop("/api/status", procs)
    return server


async def start_kernel_gateway(
    procs: Subprocesses,
    client_class: type[HttpClient],
    python: Path,
    notebook: Path,
    runtime_dir: Path,
    attempt: int,
) -> tuple[HttpServer, float]:
    """Kernel Gateway in notebook-http mode serving ``notebook`` with one prespawned kernel;
    returns the server and the seconds until its first answer."""
    port, token = free_port(), secrets.token_hex(16)
    argv = [
        str(python),
        "-m",
        "kernel_gateway",
        "--KernelGatewayApp.api=kernel_gateway.notebook_http",
        f"--KernelGatewayApp.seed_uri={notebook}",
        f"--KernelGatewayApp.ip={LOOPBACK}",
        f"--KernelGatewayApp.port={port}",
        "--KernelGatewayApp.port_retries=0",
        "--KernelGatewayApp.prespawn_count=1",
        f"--KernelGatewayApp.auth_token={token}",
    ]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime_dir)}
    env.pop("VIRTUAL_ENV", None)
    managed = procs.start(f"kernel-gateway-{notebook.stem}-{attempt}", argv, env)
    server = HttpServer(managed, client_class(LOOPBACK, port, auth_header(token)))
    return server, await server.ready_or_stop("/run", procs)


async def start_tornado_floor(procs: Subprocesses, client_class: type[HttpClient]) -> HttpServer:
    """A bare tornado JSON handler at ``/run`` (answers ``n + 1``)."""
    port = free_port()
    managed = procs.start("tornado-floor", [sys.executable, "-c", TORNADO_FLOOR_SERVER, str(port)])
    server = HttpServer(managed, client_class(LOOPBACK, port, {}))
    await server.ready_or_stop("/run", procs)
    return server


# --- the warm-kernel floor ----------------------------------------------------------------


class WarmKernel:
    """One kernel that ran the setup; each call is one silent execute request in place."""

    def __init__(self, code: NotebookCode, cwd: Path) -> None:
        self.code = code
        self.manager = KernelManager(kernel_name="python3")
        started = time.perf_counter()
        self.manager.start_kernel(cwd=str(cwd))
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=READY_TIMEOUT)
        self.start_s = time.perf_counter() - started
        started = time.perf_counter()
        self._wait(self._send(code.setup + "\n" + code.parameters_source, {}))
        self.setup_s = time.perf_counter() - started

    def _send(self, code: str, expressions: dict[str, str]) -> str:
        return str(
            self.client.execute(
                code, silent=True, store_history=False, user_expressions=expressions
            )
        )

    def _reply(self) -> dict[str, Any]:
        msg: dict[str, Any] = self.client.get_shell_msg(timeout=HTTP_TIMEOUT)
        return msg

    def _wait(self, msg_id: str) -> dict[str, Any]:
        for _ in range(1000):
            msg = self._reply()
            if msg["parent_header"].get("msg_id") == msg_id:
                return self._check(msg)
        raise RuntimeError("no reply to the execute request")

    @staticmethod
    def _check(msg: dict[str, Any]) -> dict[str, Any]:
        content: dict[str, Any] = msg["content"]
        if content["status"] != "ok":
            raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")
        return content

    def _request(self, values: dict[str, Any]) -> str:
        source = (
            self.code.assignments(values)
            + self.code.body
            + f"\n_bench_json = __import__('json').dumps({self.code.result_expr})\n"
        )
        return self._send(source, {"result": "_bench_json"})

    @staticmethod
    def _value(content: dict[str, Any]) -> Any:
        return json.loads(
            ast.literal_eval(content["user_expressions"]["result"]["data"]["text/plain"])
        )

    def call(self, values: dict[str, Any]) -> Any:
        """One call: send, wait for the reply, decode the result."""
        return self._value(self._wait(self._request(values)))

    def pipelined(self, calls: int, in_flight: int, rec: Recorder) -> float:
        """Calls per second with ``in_flight`` requests outstanding at all times."""
        pending: dict[str, dict[str, Any]] = {}
        sent = done = 0
        started = time.perf_counter()
        while done < calls:
            while sent < calls and len(pending) < in_flight:
                values = self.code.values_for(sent)
                pending[self._request(values)] = values
                sent += 1
            msg = self._reply()
            values = pending.pop(msg["parent_header"].get("msg_id"), {})
            if not values:
                continue
            done += 1
            try:
                rec.check(values, self._value(self._check(msg)))
            except Exception as exc:
                rec.failed(exc)
        return calls / (time.perf_counter() - started)

    def cpu(self) -> CpuSample:
        """CPU time of the kernel (and what it started)."""
        pid = self.manager.provisioner.process.pid  # type: ignore[union-attr]
        return CpuSample(tree_cpu(pid).total)

    def drain_iopub(self) -> None:
        """Drop the status messages nobody reads."""
        with contextlib.suppress(Empty):
            for _ in range(100_000):
                self.client.get_iopub_msg(timeout=0.01)

    def close(self) -> None:
        """Stop the kernel."""
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def kernel_start_times(count: int, cwd: Path) -> list[float]:
    """Seconds from starting a kernel to its answering a kernel_info request."""
    times = []
    for _ in range(count):
        manager = KernelManager(kernel_name="python3")
        started = time.perf_counter()
        manager.start_kernel(cwd=str(cwd))
        client = manager.blocking_client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=READY_TIMEOUT)
            times.append(time.perf_counter() - started)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    return times


def measure_warm_kernel(
    code: NotebookCode, plan: Plan, cwd: Path
) -> tuple[Stats, dict[str, float]]:
    """The floor: sequential calls, then 8 requests kept in flight on the one kernel."""
    kernel = WarmKernel(code, cwd)
    try:
        rec = Recorder(code)
        measure_sequential_sync(kernel.call, code, plan, rec, kernel.cpu)
        kernel.drain_iopub()
        rec.rates[str(CONCURRENT_CLIENTS)] = kernel.pipelined(
            plan.concurrent, CONCURRENT_CLIENTS, rec
        )
        kernel.drain_iopub()
        stats = rec.stats()
        stats.note = f"{CONCURRENT_CLIENTS} clients = {CONCURRENT_CLIENTS} requests in flight"
        return stats, {"start_s": kernel.start_s, "setup_s": kernel.setup_s}
    finally:
        kernel.close()


# --- papermill ------------------------------------------------------------------------------


def papermill_call(code: NotebookCode, workdir: Path) -> SyncCall:
    """One papermill run of the notebook (a fresh kernel); the return cell's value."""
    import papermill

    def call(values: dict[str, Any]) -> Any:
        output = workdir / f"out-{threading.get_ident()}-{time.monotonic_ns()}.ipynb"
        try:
            nb = papermill.execute_notebook(
                str(code.path),
                str(output),
                parameters=values,
                progress_bar=False,
                log_output=False,
                kernel_name="python3",
                cwd=str(workdir),
            )
        finally:
            output.unlink(missing_ok=True)
        for cell in nb.cells:
            if "return" in cell.metadata.get("tags", []):
                for out in cell.outputs:
                    if out.output_type == "execute_result":
                        return ast.literal_eval(out.data["text/plain"])
        raise CallFailed("no execute_result in the return cell")

    return call


def measure_papermill(code: NotebookCode, plan: Plan, workdir: Path) -> Stats:
    """Sequential papermill runs, then 8 at once in threads."""
    call = papermill_call(code, workdir)
    rec = Recorder(code)
    # papermill runs in this process and reaps its kernels: count both.
    measure_sequential_sync(call, code, plan, rec, lambda: CpuSample(sum(os.times()[:4])))

    def one(index: int) -> None:
        values = code.values_for(index)
        try:
            rec.check(values, call(values))
        except Exception as exc:
            rec.failed(exc)

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENT_CLIENTS) as pool:
        list(pool.map(one, range(plan.concurrent)))
    rec.rates[str(CONCURRENT_CLIENTS)] = plan.concurrent / (time.perf_counter() - started)
    return rec.stats()


# --- Kernel Gateway's environment -----------------------------------------------------------


def kernel_gateway_python() -> Path | None:
    """The Python of benchmarks/.venv-kg with Kernel Gateway, made on first use; None (with a
    printed note) if it cannot be installed."""
    python = KG_VENV / "bin" / "python"
    probe = [str(python), "-c", "import kernel_gateway, ipykernel, pandas, numpy"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"  installing Kernel Gateway into {KG_VENV.relative_to(HERE.parent)} (once, ~2 min)")
    steps = [
        [sys.executable, "-m", "venv", str(KG_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", *KG_PACKAGES],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"  ! skipping Kernel Gateway: {' '.join(step[:4])} failed: {exc}")
            return None
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
            print(f"  ! skipping Kernel Gateway: {' '.join(step[:4])} failed:\n{tail}")
            return None
    return python


# --- the run --------------------------------------------------------------------------------


@dataclass
class Row:
    """One way of running a notebook per request, on both notebooks."""

    key: str
    label: str
    notebooks: dict[str, Stats] = field(default_factory=dict)
    skipped: str | None = None


@dataclass
class Report:
    """Everything one run found; written as JSON."""

    machine: dict[str, Any]
    settings: dict[str, Any]
    rows: dict[str, Row] = field(default_factory=dict)
    kernel_start_ms: list[float] = field(default_factory=list)
    setup_ms: dict[str, float] = field(default_factory=dict)
    """The setup (and parameters) cells' own time, in a kernel that just started."""
    first_call_after_save_ms: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    pool_status: dict[str, Any] = field(default_factory=dict)
    fork_stats: dict[str, Any] = field(default_factory=dict)
    """The fork server's counts per notebook right after its calls were measured."""
    server_start_s: dict[str, float] = field(default_factory=dict)
    other_load: dict[str, float | None] = field(default_factory=dict)
    """CPUs kept busy by other processes, sampled before and after the run."""
    leftover_processes: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    goals: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0

    def row(self, key: str, label: str) -> Row:
        """The row ``key``, made on first use."""
        return self.rows.setdefault(key, Row(key, label))


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    packages = {}
    for name in ("jupyter_server", "jupyter_client", "ipykernel", "papermill", "pandas", "tornado"):
        with contextlib.suppress(Exception):
            packages[name] = version(name)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024**2, 1) if mem_kb else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": packages,
    }


@dataclass(frozen=True)
class LoadSample:
    """Busy and total CPU seconds of the machine, and CPU seconds of this process and of the
    children it reaped (which include the servers, their kernels and the kernels' forks)."""

    busy: float
    total: float
    ours: float

    @classmethod
    def take(cls) -> LoadSample:
        """Now (/proc/stat counts every CPU; divided back into seconds of wall time)."""
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        cpus = len(os.sched_getaffinity(0))
        return cls(
            (sum(values) - idle) / CLOCK_TICKS,
            sum(values) / CLOCK_TICKS / cpus,
            sum(os.times()[:4]),
        )

    def others_since(self, earlier: LoadSample) -> float:
        """CPUs kept busy on average by processes not started by this one."""
        wall = max(1e-9, self.total - earlier.total)
        return round(max(0.0, (self.busy - earlier.busy) - (self.ours - earlier.ours)) / wall, 2)


def busy_cpus(seconds: float = 2.0) -> float | None:
    """How many CPUs other processes kept busy over ``seconds`` (from /proc/stat)."""
    try:
        before = LoadSample.take()
        time.sleep(seconds)
        return LoadSample.take().others_since(before)
    except (OSError, ValueError, IndexError):
        return None


def wait_quiet(limit: float, threshold: float = QUIET_CPUS) -> None:
    """Wait (at most ``limit`` seconds) until other processes use less than ``threshold`` CPUs."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        busy = busy_cpus()
        if busy is None or busy < threshold:
            return
        print(f"  waiting for a quiet machine: {busy} CPUs busy with other processes", flush=True)
        time.sleep(5)


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send file descriptor 2 (and so kernels started meanwhile) to ``path``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def edit_cell(model: dict[str, Any], where: str, revision: int) -> dict[str, Any]:
    """The notebook with a line added at the top of its first setup or body code cell."""
    content = copy.deepcopy(model["content"])
    code_cells = [c for c in content["cells"] if c["cell_type"] == "code"]
    params_at = next(
        i for i, c in enumerate(code_cells) if "parameters" in c["metadata"].get("tags", [])
    )
    cell = code_cells[params_at - 1] if where == "setup" else code_cells[params_at + 1]
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    cell["source"] = f"_bench_edit_{where} = {revision}\n" + source
    return {"type": "notebook", "format": "json", "content": content}


async def first_calls_after_save(
    server: HttpServer, code: NotebookCode, where: str, repeats: int
) -> list[float]:
    """Save an edited notebook through PUT /api/contents and time the next call; the
    original is saved back (and warmed again, untimed) at the end."""
    api = f"/api/contents/{quote(code.path.name)}"
    original = await server.get_json(f"{api}?content=1&type=notebook")
    call = endpoint_call(server, restified_path)(code)
    times = []
    try:
        for revision in range(1, repeats + 1):
            edited = json.dumps(edit_cell(original, where, revision)).encode()
            await server.fetch(api, method="PUT", body=edited)
            values = code.values_for(revision)
            t0 = time.perf_counter()
            value, _ = await call(values)
            times.append((time.perf_counter() - t0) * 1000)
            if value != code.expected(values):
                raise CallFailed(f"after a save: {value!r} != {code.expected(values)!r}")
            for i in range(3):  # back to a steady state before the next edit
                await call(code.values_for(i))
    finally:
        restore = {"type": "notebook", "format": "json", "content": original["content"]}
        await server.fetch(api, method="PUT", body=json.dumps(restore).encode())
        await call(code.values_for(0))
    return times


def zombies_below(root: int) -> set[int]:
    """Zombie processes whose parent is ``root`` or one of its descendants."""
    tree = {root, *descendants(root)}
    zombies = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat is not None and stat[1] == "Z" and stat[0] in tree:
                zombies.add(int(entry))
    return zombies


async def pool_snapshot(report: Report, key: str, server: HttpServer) -> None:
    """Memory of the server's descendants once idle, its pool status, lasting zombies."""
    await asyncio.sleep(1.0)  # let the last calls' processes exit
    pid = server.managed.proc.pid
    first = zombies_below(pid)
    await asyncio.sleep(1.5)  # a fork server reaps within a second or so
    zombies = sorted(first & zombies_below(pid))
    memory = memory_of_tree(pid)
    memory["lasting_zombies"] = zombies
    report.memory[key] = memory
    report.pool_status[key] = (await server.get_json("/api/restified/status")).get("pool")
    if zombies:
        report.problems.append(f"{key}: zombie processes under the server: {zombies}")


@dataclass
class Context:
    """What every part of the run shares."""

    report: Report
    settings: Settings
    procs: Subprocesses
    client_class: type[HttpClient]
    codes: list[NotebookCode]
    workdir: Path

    @property
    def root(self) -> Path:
        """The Jupyter server's root: copies of the notebooks."""
        return self.workdir / "root"

    @property
    def runtime_dir(self) -> Path:
        """JUPYTER_RUNTIME_DIR of the servers started."""
        return self.workdir / "runtime"

    async def stop(self, key: str, server: HttpServer) -> None:
        """Stop a server; what it left running is a problem."""
        left = await server.stop(self.procs)
        if left:
            self.report.problems.append(f"{key}: processes left after the server stopped: {left}")


async def bench_restified(ctx: Context, isolation: str) -> None:
    """The endpoint through a real server, one isolation mode."""
    report, settings = ctx.report, ctx.settings
    plan = settings.fast if isolation == "fork" else settings.slow
    label = (
        "restified, fork (default)"
        if isolation == "fork"
        else f"restified, kernel/call, n={plan.sequential}"
    )
    row = report.row(f"restified_{isolation}", label)
    started = time.perf_counter()
    server = await start_jupyter_server(
        ctx.procs,
        ctx.client_class,
        ctx.root,
        ctx.runtime_dir,
        isolation=isolation,
        pool_size=settings.pool_size,
        more=settings.server_args,
    )
    report.server_start_s[row.key] = time.perf_counter() - started
    try:
        caller = endpoint_call(server, restified_path)
        for code in ctx.codes:
            print(f"  {label}: {code.name}", flush=True)
            row.notebooks[code.name] = await measure_async(caller(code), code, plan, server.cpu)
            if isolation == "fork":
                pool = (await server.get_json("/api/restified/status")).get("pool", {})
                report.fork_stats[code.name] = next(
                    (
                        w.get("fork")
                        for w in pool.get("warm_notebooks", [])
                        if w["path"] == code.path.name
                    ),
                    None,
                )
        if isolation == "fork":
            for code in ctx.codes:
                print(f"  {label}: first call after a save, {code.name}", flush=True)
                wheres = ["body", "setup"] if code.setup.strip() else ["body"]
                report.first_call_after_save_ms[code.name] = {
                    where: await first_calls_after_save(server, code, where, settings.save_repeats)
                    for where in wheres
                }
        await pool_snapshot(report, row.key, server)
    finally:
        await ctx.stop(row.key, server)


async def bench_kernel_gateway(ctx: Context) -> None:
    """Kernel Gateway notebook-http, one server (and warm kernel) per notebook."""
    row = ctx.report.row("kernel_gateway", "Kernel Gateway notebook-http")
    python = kernel_gateway_python()
    if python is None:
        row.skipped = "Kernel Gateway could not be installed"
        return
    for code in ctx.codes:
        path = ctx.workdir / f"kg_{code.name}.ipynb"
        nbformat.write(kernel_gateway_notebook(code), str(path))  # type: ignore[no-untyped-call]
        print(f"  {row.label}: {code.name}", flush=True)
        for attempt in range(1, KG_ATTEMPTS + 1):
            try:
                server, ready_s = await start_kernel_gateway(
                    ctx.procs, ctx.client_class, python, path, ctx.runtime_dir, attempt
                )
                break
            except RuntimeError as exc:
                ctx.report.problems.append(f"Kernel Gateway, {code.name}, attempt {attempt}: {exc}")
                if attempt == KG_ATTEMPTS:
                    raise
        ctx.report.server_start_s[f"kernel_gateway_{code.name}"] = ready_s
        try:
            caller = endpoint_call(server, lambda _code: "/run")
            row.notebooks[code.name] = await measure_async(
                caller(code), code, ctx.settings.fast, server.cpu
            )
        finally:
            await ctx.stop("kernel_gateway", server)


async def bench_tornado(ctx: Context) -> None:
    """The HTTP floor: the same client against a handler that does nothing but answer."""
    row = ctx.report.row("tornado", "bare tornado (HTTP floor)")
    code = ctx.codes[0]
    print(f"  {row.label}: {code.name}", flush=True)
    server = await start_tornado_floor(ctx.procs, ctx.client_class)
    try:
        caller = endpoint_call(server, lambda _code: "/run")
        row.notebooks[code.name] = await measure_async(
            caller(code), code, ctx.settings.fast, server.cpu
        )
    finally:
        await ctx.stop("tornado", server)


async def bench_in_threads(ctx: Context) -> None:
    """Kernel start to ready, the warm-kernel floor and papermill (blocking APIs, so run in
    a thread; their kernels' warnings go to the log directory)."""
    report, settings = ctx.report, ctx.settings
    with stderr_to(ctx.procs.log_dir / "kernels.log"):
        print("  kernel start to ready", flush=True)
        starts = await asyncio.to_thread(kernel_start_times, settings.kernel_starts, ctx.root)
        report.kernel_start_ms += [s * 1000 for s in starts]

        floor = report.row("warm_kernel", "warm kernel, 1 execute (floor)")
        for code in ctx.codes:
            print(f"  {floor.label}: {code.name}", flush=True)
            stats, times = await asyncio.to_thread(
                measure_warm_kernel, code, settings.fast, ctx.root
            )
            floor.notebooks[code.name] = stats
            report.setup_ms[code.name] = times["setup_s"] * 1000
            report.kernel_start_ms.append(times["start_s"] * 1000)

        row = report.row("papermill", f"papermill, fresh kernel, n={settings.slow.sequential}")
        for code in ctx.codes:
            print(f"  {row.label}: {code.name}", flush=True)
            row.notebooks[code.name] = await asyncio.to_thread(
                measure_papermill, code, settings.slow, ctx.workdir
            )


async def run(settings: Settings, client_class: type[HttpClient]) -> Report:
    """Every measurement, one after another (one server at a time)."""
    started = time.perf_counter()
    report = Report(
        machine=machine(), settings={**asdict(settings), "http_client": client_class.__name__}
    )
    report.other_load["before"] = busy_cpus()
    load_at_start = LoadSample.take()
    workdir = Path(tempfile.mkdtemp(prefix="restified-bench-"))
    log_dir = RESULTS / "logs"
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    procs = Subprocesses(log_dir)
    try:
        (workdir / "root").mkdir()
        (workdir / "runtime").mkdir()
        for name in NOTEBOOK_NAMES:
            shutil.copy(NOTEBOOKS / f"{name}.ipynb", workdir / "root" / f"{name}.ipynb")
        codes = [NotebookCode.load(workdir / "root" / f"{name}.ipynb") for name in NOTEBOOK_NAMES]
        for code in codes:  # the expected values, computed off the clock
            for i in range(5):
                code.expected(code.values_for(i))
        ctx = Context(report, settings, procs, client_class, codes, workdir)

        phases: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("kernels and papermill", lambda: bench_in_threads(ctx)),
            ("bare tornado", lambda: bench_tornado(ctx)),
            ("notebook_restified, isolation=fork", lambda: bench_restified(ctx, "fork")),
            ("notebook_restified, isolation=kernel", lambda: bench_restified(ctx, "kernel")),
            ("Kernel Gateway", lambda: bench_kernel_gateway(ctx)),
        ]
        for name, phase in phases:
            print(name, flush=True)
            try:
                await phase()
            except Exception as exc:  # the other phases still run
                traceback.print_exc()
                report.problems.append(f"{name} failed: {describe(exc)}")
    finally:
        procs.stop_all()
        report.leftover_processes = procs.leftovers
        shutil.rmtree(workdir, ignore_errors=True)
    own = descendants(os.getpid())
    if own:
        report.problems.append(
            f"processes still below the benchmark: {[(p, command_line(p)) for p in own]}"
        )
    report.other_load["during"] = LoadSample.take().others_since(load_at_start)
    report.other_load["after"] = busy_cpus()
    report.duration_s = time.perf_counter() - started
    return report


# --- the printed report -----------------------------------------------------------------------

ROW_ORDER = (
    "restified_fork",
    "restified_kernel",
    "kernel_gateway",
    "papermill",
    "warm_kernel",
    "tornado",
)
TRIVIAL, PANDAS = NOTEBOOK_NAMES
C8 = str(CONCURRENT_CLIENTS)


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _get(row: Row | None, notebook: str, what: str) -> float | None:
    if row is None or notebook not in row.notebooks:
        return None
    stats = row.notebooks[notebook]
    if what.startswith("rate"):
        return stats.calls_per_s.get(what[4:])
    value: float | None = getattr(stats, what)
    return value


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


LABEL_WIDTH = 32
COLUMN_WIDTH = 9


def _line(label: str, texts: list[str]) -> str:
    return f"{label:<{LABEL_WIDTH}}" + "".join(f"{t:>{COLUMN_WIDTH}}" for t in texts)


def results_table(rows: list[Row]) -> list[str]:
    """Latency and throughput, one line per way of running."""
    head = ["triv p50", "p95", "pand p50", "p95", "triv c/s", "@8", "pand c/s", "@8"]
    lines = [_line("way of running (ms, calls/s)", head)]
    lines.append("-" * len(lines[0]))
    for row in rows:
        if row.skipped:
            lines.append(f"{row.label:<{LABEL_WIDTH}} skipped: {row.skipped}")
            continue
        values = [
            _get(row, nb, what)
            for nb, what in [
                (TRIVIAL, "p50_ms"),
                (TRIVIAL, "p95_ms"),
                (PANDAS, "p50_ms"),
                (PANDAS, "p95_ms"),
                (TRIVIAL, "rate1"),
                (TRIVIAL, "rate" + C8),
                (PANDAS, "rate1"),
                (PANDAS, "rate" + C8),
            ]
        ]
        lines.append(_line(row.label, [_fmt(v) for v in values]))
    lines.append(
        f"c/s = calls per second with 1 client (the sequential calls); @8 = {C8} concurrent"
        " clients; triv = trivial, pand = pandas_groupby."
    )
    errors = [
        f"  {row.label} / {nb}: {s.errors} failed calls, first: {s.first_error}"
        for row in rows
        for nb, s in row.notebooks.items()
        if s.errors
    ]
    return [*lines, "", "FAILED CALLS:", *errors] if errors else lines


def ratios_table(report: Report, rows: list[Row]) -> list[str]:
    """Each way of running against Kernel Gateway and papermill."""
    kg, pm = report.rows.get("kernel_gateway"), report.rows.get("papermill")
    lines = [
        "Ratios, this row / the reference (p50: lower is faster; c/s: higher is faster)",
        _line("", ["p50 / KG", "", "c/s@8/KG", "", "p50 / pm", "", "c/s@8/pm", ""]),
        _line("", ["triv", "pand"] * 4),
        "-" * (LABEL_WIDTH + 8 * COLUMN_WIDTH),
    ]
    for row in rows:
        if row.skipped:
            continue
        texts = [
            _ratio(_get(row, nb, what), _get(ref, nb, what))
            for ref, what in [(kg, "p50_ms"), (kg, "rate" + C8), (pm, "p50_ms"), (pm, "rate" + C8)]
            for nb in (TRIVIAL, PANDAS)
        ]
        lines.append(_line(row.label, texts))
    return lines


def paced_table(rows: list[Row]) -> list[str]:
    """Sequential calls with a pause between them."""
    lines = [
        f"Sequential calls {PACE_S * 1000:.0f} ms apart (ms): unlike back-to-back calls, the"
        " machine has idle moments, as with most real clients",
        _line("", ["triv p50", "p95", "pand p50", "p95"]),
    ]
    for row in rows:
        values = [
            _get(row, nb, what)
            for nb in (TRIVIAL, PANDAS)
            for what in ("paced_p50_ms", "paced_p95_ms")
        ]
        if not row.skipped and any(v is not None for v in values):
            lines.append(_line(row.label, [_fmt(v) for v in values]))
    return lines


def diagnostics_table(rows: list[Row]) -> list[str]:
    """Where the time goes: the engine's own time and the CPU time per call."""
    lines = [
        "Diagnostics (ms): engine = median X-Restified-Duration (the call inside the server);"
        " CPU/call = CPU time per sequential call of the server (or kernel) and all it"
        " started; server = of the HTTP server's own process",
        _line("", ["engine", "", "CPU/call", "", "server", ""]),
        _line("", ["triv", "pand"] * 3),
    ]
    for row in rows:
        if row.skipped:
            continue
        values = [
            _get(row, nb, what)
            for what in ("server_p50_ms", "cpu_ms_per_call", "front_cpu_ms_per_call")
            for nb in (TRIVIAL, PANDAS)
        ]
        lines.append(_line(row.label, [_fmt(v) for v in values]))
    return lines


def format_report(report: Report) -> str:
    """The tables, ratios, goals and notes as text."""
    lines: list[str] = []
    m = report.machine
    lines.append(
        f"Machine: {m['nproc']} CPUs, {m['cpu']}, {m['memory_gib']} GiB, Python {m['python']}"
        f" ({m['platform']})"
    )
    lines.append(
        "Packages: "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items())
        + f"; pool_size={report.settings['pool_size']}"
        + "".join(f" {arg}" for arg in report.settings.get("server_args", ()))
    )
    load = report.other_load
    lines.append(
        f"CPUs busy with other processes (of {m['nproc']}): {load.get('before')} before the run,"
        f" {load.get('during')} on average during it, {load.get('after')} after;"
        f" HTTP client: {report.settings['http_client']}"
    )
    if any(v is not None and v >= QUIET_CPUS for v in load.values()):
        lines.append(
            "WARNING: other processes kept CPUs busy during this run: its numbers are"
            " slower and noisier than this machine's."
        )
    rows = [report.rows[k] for k in ROW_ORDER if k in report.rows]
    lines += ["", *results_table(rows), "", *ratios_table(report, rows), ""]
    lines += [*paced_table(rows), ""]
    lines += [*diagnostics_table(rows), ""]
    starts = report.kernel_start_ms
    if starts:
        lines.append(
            f"Kernel start to ready: median {_fmt(percentile(starts, 50))} ms"
            f" (min {_fmt(min(starts))}, max {_fmt(max(starts))}, n={len(starts)})"
        )
    for name, ms in report.setup_ms.items():
        lines.append(f"Setup + parameters cells in a just-started kernel, {name}: {_fmt(ms)} ms")
    for name, kinds in report.first_call_after_save_ms.items():
        for where, times in kinds.items():
            lines.append(
                f"First call after saving a {where} change, {name}: "
                + ", ".join(_fmt(t) for t in times)
                + " ms"
            )
    for key, memory in report.memory.items():
        lines.append(
            f"Warm pool memory, {key}: {len(memory['descendants'])} processes under the server,"
            f" RSS sum {memory['descendants_rss_kb'] / 1024:.0f} MiB"
            f" (PSS {memory['descendants_pss_kb'] / 1024:.0f} MiB);"
            f" the server itself {(memory['server_rss_kb'] or 0) / 1024:.0f} MiB"
        )
        commands = {proc["pid"]: proc["command"] for proc in memory["descendants"]}
        for proc in memory["descendants"]:
            what = proc["command"][:90]
            if commands.get(proc["ppid"]) == proc["command"]:
                what = f"fork of {proc['ppid']} (a child waiting for a call)"
            lines.append(
                f"    pid {proc['pid']:>7} RSS {(proc['rss_kb'] or 0) / 1024:6.1f} MiB"
                f" PSS {(proc['pss_kb'] or 0) / 1024:6.1f} MiB  {what}"
            )
    for name, stats in report.fork_stats.items():
        lines.append(f"Fork server after the calls, {name}: {json.dumps(stats)}")
    for key, pool in report.pool_status.items():
        lines.append(f"/api/restified/status pool, {key}: {json.dumps(pool)}")
    for key, seconds in report.server_start_s.items():
        lines.append(f"Ready after start, {key}: {seconds:.1f} s")

    lines += ["", "Goals of issue 6 (fork endpoint):"]
    for goal in report.goals:
        mark = {True: "PASS", False: "FAIL", None: "n/a "}[goal["met"]]
        lines.append(f"  [{mark}] {goal['goal']}: {goal['measured']}")
    if report.problems or report.leftover_processes:
        lines += ["", "Problems:"]
        lines += [f"  - {p}" for p in report.problems]
        lines += [f"  - leftover process: {p}" for p in report.leftover_processes]
    lines.append("")
    lines.append(f"Run time: {report.duration_s:.0f} s")
    return "\n".join(lines)


def evaluate_goals(report: Report) -> None:
    """Compare the fork endpoint with the goals of issue 6."""
    fork, kg = report.rows.get("restified_fork"), report.rows.get("kernel_gateway")
    floor = report.rows.get("warm_kernel")
    goals = report.goals
    for nb, limit in GOAL_P50_MS.items():
        p50, p95 = _get(fork, nb, "p50_ms"), _get(fork, nb, "p95_ms")
        bare = _get(floor, nb, "p50_ms")
        goals.append(
            {
                "goal": f"{nb} p50 <= {limit:.0f} ms",
                "measured": f"{_fmt(p50)} ms"
                + (
                    "" if bare is None else f" (a warm kernel alone, no isolation: {_fmt(bare)} ms)"
                ),
                "met": None if p50 is None else p50 <= limit,
            }
        )
        kg_p50 = _get(kg, nb, "p50_ms")
        scaled = None if kg_p50 is None else limit / ISSUE_KG_P50_MS[nb] * kg_p50
        goals.append(
            {
                "goal": f"{nb} p50 <= the same goal on this machine: {limit:.0f} ms x (Kernel"
                f" Gateway's p50 here / its {ISSUE_KG_P50_MS[nb]} ms where the goal was set)"
                f" = {_fmt(scaled)} ms",
                "measured": f"{_fmt(p50)} ms",
                "met": None if p50 is None or scaled is None else p50 <= scaled,
            }
        )
        goals.append(
            {
                "goal": f"{nb} p95 <= {GOAL_P95_OVER_P50:.0f}x p50",
                "measured": f"p95 {_fmt(p95)} ms = {_ratio(p95, p50)} p50",
                "met": None if p50 is None or p95 is None else p95 <= GOAL_P95_OVER_P50 * p50,
            }
        )
        ours, theirs = _get(fork, nb, "rate" + C8), _get(kg, nb, "rate" + C8)
        goals.append(
            {
                "goal": f"{nb} calls/s at 8 clients >= {GOAL_THROUGHPUT_OVER_KG}x Kernel Gateway",
                "measured": f"{_fmt(ours)} vs {_fmt(theirs)} = {_ratio(ours, theirs)}",
                "met": None
                if ours is None or not theirs
                else ours >= GOAL_THROUGHPUT_OVER_KG * theirs,
            }
        )
    for nb, kinds in report.first_call_after_save_ms.items():
        setup = report.setup_ms.get(nb, 0.0)
        for where, times in kinds.items():
            worst = max(times) if times else None
            goals.append(
                {
                    "goal": f"{nb} first call after a {where} save <= setup"
                    f" ({_fmt(setup)} ms) + 1 s",
                    "measured": f"worst {_fmt(worst)} ms",
                    "met": None if worst is None else worst <= setup + GOAL_SAVE_EXTRA_MS,
                }
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--calls",
        type=int,
        default=None,
        help="sequential calls (and calls by the 8 clients) per fast target and notebook"
        " (default 200, or 30 with --quick)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="few calls everywhere: checks that it all works"
    )
    parser.add_argument(
        "--pool-size", type=int, default=2, help="--RestifiedApp.pool_size (default 2)"
    )
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="OPTION",
        help="one more option for this project's servers, e.g."
        " --server-arg=--RestifiedApp.copy_ahead_limit=0 (repeatable)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to SECONDS for other processes to leave the CPUs (mostly) idle",
    )
    parser.add_argument(
        "--http-client",
        choices=sorted(HTTP_CLIENTS),
        default="keepalive",
        help="keepalive (default): a connection kept open per client; tornado: tornado's"
        " AsyncHTTPClient, a new connection per request",
    )
    args = parser.parse_args(argv)
    if args.calls is not None and args.calls < 1:
        parser.error("--calls must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run everything, print the report, write benchmarks/results/latest.json."""
    args = parse_args(argv)
    settings = Settings.from_args(args)
    RESULTS.mkdir(exist_ok=True)
    if args.wait_quiet > 0:
        wait_quiet(args.wait_quiet)
    try:
        report = asyncio.run(run(settings, HTTP_CLIENTS[args.http_client]))
    except Exception:
        traceback.print_exc()
        return 1
    evaluate_goals(report)
    text = format_report(report)
    print()
    print(text)
    (RESULTS / "latest.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    (RESULTS / "latest.txt").write_text(text + "\n")
    print(f"\nWritten: {(RESULTS / 'latest.json').relative_to(HERE.parent)}")
    failed = any(s.errors for r in report.rows.values() for s in r.notebooks.values())
    return 1 if failed or report.problems or report.leftover_processes else 0


if __name__ == "__main__":
    sys.exit(main())
