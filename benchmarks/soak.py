"""Soak test: thousands of calls from concurrent clients through a real ``jupyter server``.

    python benchmarks/soak.py [--calls N] [--clients N] [--quick]

The calls, drawn from a seeded RNG, mix successes, cell errors, time-outs, calls that kill
their own process, calls that kill the warm kernel, calls that print a lot, clients that
close their connection mid-call, bad inputs and keyed calls past the key's rate limit. Every
call must get exactly one answer of the status its kind allows; a call without one is lost.
It prints the calls made, the answers by kind, status and error type, the server's memory
after warm-up and at the end, the processes below the server at the end (the pool's kernels
and forks apart from leftovers) and what survived the server's SIGTERM. It exits non-zero if
a call was lost or answered unexpectedly, or if a process was left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from bench.harness.http import HttpAnswer, HttpServer, KeepAliveClient, auth_header, free_port
from bench.harness.processes import (
    Subprocesses,
    command_line,
    living_descendants,
    memory_of_tree,
    parent_pid,
    pss_kb,
    stderr_to,
    zombies_below,
)
from bench.harness.settings import LOOPBACK, READY_TIMEOUT, RESULTS

CLIENT_TIMEOUT = 90.0
"""A call unanswered after this long is lost (the server's time limit is 2 s)."""
TIME_LIMIT = 2
KEY_RATE_LIMIT = 30
MARK = "RESTIFIED_SOAK_RUN"
"""An environment variable given to the server: every process of the run inherits it, so
one orphaned away from the server's tree is still found."""

NOTEBOOKS: dict[str, tuple[str, str, str]] = {
    # name: (setup, parameters cell, return cell)
    "trivial": ("", "n: int = 1", "n + 1"),
    "raises": ("", "n: int = 0", "if n == 13:\n    raise ValueError('unlucky')\nn"),
    "sleeps": (
        "import subprocess",
        "seconds: float = 0.1",
        "subprocess.run(['sleep', str(seconds)], check=True)\nseconds",
    ),
    "exits": ("import os", "code: int = 1", "os._exit(code)"),
    "kills_kernel": (
        "import os, signal",
        "kill: bool = True",
        "if kill:\n    os.kill(os.getppid(), signal.SIGKILL)\n'alive'",
    ),
    "prints": ("", "lines: int = 20000", "for i in range(lines):\n    print('x' * 80, i)\nlines"),
}

BUSY = 503  # a full queue may answer any call that runs


@dataclass(frozen=True)
class Kind:
    """One kind of call: its weight in the mix and the answers it may get."""

    name: str
    weight: int
    expected: frozenset[int]


KINDS = (
    Kind("success", 36, frozenset({200, BUSY})),
    Kind("cell_error", 10, frozenset({500, BUSY})),
    Kind("timeout", 3, frozenset({504, BUSY})),
    Kind("exits", 4, frozenset({502, BUSY})),
    # The call dies with the warm kernel (its fork's parent): 502 kernel_died; a call of
    # the same notebook running meanwhile may die with it too.
    # The child that kills its kernel may still answer before its parent-death signal lands.
    Kind("kills_kernel", 2, frozenset({200, 502, BUSY})),
    Kind("prints", 7, frozenset({200, BUSY})),
    Kind("disconnect", 5, frozenset({0})),
    Kind("unknown_parameter", 3, frozenset({422})),
    Kind("wrong_type", 3, frozenset({422})),
    Kind("bad_json", 3, frozenset({400})),
    Kind("nested_json", 3, frozenset({400})),
    Kind("keyed", 16, frozenset({200, 429, BUSY})),
)
DISCONNECTED = 0
"""The status recorded for an intended disconnect."""
LOST = -1


@dataclass
class Outcome:
    """What one call got."""

    kind: str
    status: int
    error_type: str = ""
    detail: str = ""


@dataclass
class Run:
    """The server, its clients' credentials, and every outcome."""

    server: HttpServer
    token: str
    key: str
    port: int
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    follow_up: str = ""


def write_notebooks(root: Path) -> None:
    """The soak notebooks, tagged, written with nbformat."""
    for name, (setup, params, ret) in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
        cells = [nbformat.v4.new_code_cell(setup)] if setup else []  # type: ignore[no-untyped-call]
        cells.append(nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}))  # type: ignore[no-untyped-call]
        cells.append(nbformat.v4.new_code_cell(ret, metadata={"tags": ["return"]}))  # type: ignore[no-untyped-call]
        nb.cells = cells
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(nb, root / f"{name}.ipynb")  # type: ignore[no-untyped-call]


def error_type(answer: HttpAnswer) -> str:
    """The contract's error type of an answer ("" for a success, "?" if malformed)."""
    if answer.status < 400:
        return ""
    try:
        return str(json.loads(answer.body)["error"]["type"])
    except (ValueError, KeyError, TypeError):
        return "?"


async def disconnect(port: int, token: str) -> Outcome:
    """A client that sends a call (one that runs for 1.5 s) and closes its socket after
    0.2 s, before the answer."""
    _reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        writer.write(
            (
                "GET /restified/sleeps.ipynb?seconds=1.5 HTTP/1.1\r\n"
                f"Host: {LOOPBACK}:{port}\r\nAuthorization: token {token}\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        await asyncio.sleep(0.2)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return Outcome("disconnect", DISCONNECTED)


class Client:
    """One concurrent client: a keep-alive connection with the token; keyed calls with
    the key, on a connection of their own unless ``keyed_keepalive``.

    A key's 429 is decided before the request is read: the server then closes the
    connection and says so (``Connection: close``), and a keep-alive client opens a new one
    for its next call (``--keyed-keepalive`` keeps keyed calls on one connection)."""

    def __init__(self, run: Run, port: int, keyed_keepalive: bool) -> None:
        self.run, self.port = run, port
        self.user = KeepAliveClient(LOOPBACK, port, auth_header(run.token))
        keyed = {"Authorization": f"Bearer {run.key}"}
        if not keyed_keepalive:
            keyed["Connection"] = "close"
        self.keyed = KeepAliveClient(LOOPBACK, port, keyed)

    def request(
        self, kind: str, rng: random.Random
    ) -> tuple[KeepAliveClient, str, str, bytes | None]:
        """(client, method, path, body) of a call of ``kind``."""
        user = self.user
        if kind == "success":
            return user, "GET", f"/restified/trivial.ipynb?n={rng.randrange(1000)}", None
        if kind == "cell_error":
            return user, "GET", "/restified/raises.ipynb?n=13", None
        if kind == "timeout":
            return user, "GET", f"/restified/sleeps.ipynb?seconds={TIME_LIMIT + 3}", None
        if kind == "exits":
            return user, "GET", "/restified/exits.ipynb?code=1", None
        if kind == "kills_kernel":
            return user, "GET", "/restified/kills_kernel.ipynb", None
        if kind == "prints":
            return user, "GET", "/restified/prints.ipynb?lines=20000", None
        if kind == "unknown_parameter":
            return user, "GET", "/restified/trivial.ipynb?nope=1", None
        if kind == "wrong_type":
            return user, "GET", "/restified/trivial.ipynb?n=abc", None
        if kind == "bad_json":
            return user, "POST", "/restified/trivial.ipynb", b'{"n": '
        if kind == "nested_json":
            depth = 100_000
            return (
                user,
                "POST",
                "/restified/trivial.ipynb",
                b'{"n": ' + b"[" * depth + b"]" * depth + b"}",
            )
        if kind == "keyed":
            return self.keyed, "GET", f"/restified/trivial.ipynb?n={rng.randrange(1000)}", None
        raise ValueError(kind)

    async def call(self, kind: str, rng: random.Random) -> Outcome:
        """One call; a connection error or the client's own time-out is a lost call."""
        if kind == "disconnect":
            try:
                return await disconnect(self.port, self.run.token)
            except OSError as exc:
                return Outcome(kind, LOST, detail=repr(exc))
        client, method, path, body = self.request(kind, rng)
        try:
            answer = await asyncio.wait_for(client.request(method, path, body), CLIENT_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
            return Outcome(kind, LOST, detail=f"{method} {path[:60]}: {exc!r}"[:200])
        return Outcome(kind, answer.status, error_type(answer))

    async def close(self) -> None:
        """Close the kept-alive connections."""
        await self.user.close()
        await self.keyed.close()


async def drive(
    run: Run, port: int, calls: int, clients: int, seed: int, keyed_keepalive: bool
) -> float:
    """``calls`` calls by ``clients`` concurrent clients; returns the seconds taken."""
    rng = random.Random(seed)
    kinds = rng.choices([k.name for k in KINDS], [k.weight for k in KINDS], k=calls)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for kind in kinds:
        queue.put_nowait(kind)

    async def worker(index: int) -> None:
        client = Client(run, port, keyed_keepalive)
        own_rng = random.Random(seed * 1000 + index)
        try:
            while not queue.empty():
                kind = queue.get_nowait()
                run.outcomes.append(await client.call(kind, own_rng))
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    return time.perf_counter() - started


def run_processes(mark: str) -> dict[int, str]:
    """Every living process that carries the run's mark in its environment."""
    found = {}
    needle = f"{MARK}={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = command_line(int(entry.name))
        except OSError:
            continue
    return found


def is_kernel(pid: int) -> bool:
    """An ipykernel process (a kernel, or a fork of one: a fork keeps its command line)."""
    return "ipykernel" in command_line(pid)


def classify(server: int, mark: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The run's processes other than the server: (the pool's kernels, their waiting forks
    and spares; leftovers: anything else, in the tree or orphaned out of it)."""
    tree = set(living_descendants(server))
    pool: list[dict[str, Any]] = []
    left: list[dict[str, Any]] = []
    for pid, command in sorted(run_processes(mark).items()):
        if pid == server:
            continue
        parent = parent_pid(pid)
        item = {"pid": pid, "ppid": parent, "command": command}
        ok = pid in tree and is_kernel(pid) and (parent == server or is_kernel(parent))
        (pool if ok else left).append(item)
    first = zombies_below(server)
    time.sleep(2.0)  # a zombie reaped within 2 s is not left behind
    zombies = sorted(first & zombies_below(server))
    left.extend({"pid": pid, "ppid": parent_pid(pid), "command": "<zombie>"} for pid in zombies)
    return pool, left


def memory(server: int) -> dict[str, Any]:
    """RSS and PSS (KiB) of the server process and of its whole tree."""
    tree = memory_of_tree(server)
    server_pss = pss_kb(server) or 0
    return {
        "server_rss": tree["server_rss_kb"] or 0,
        "server_pss": server_pss,
        "tree_rss": (tree["server_rss_kb"] or 0) + tree["descendants_rss_kb"],
        "tree_pss": server_pss + tree["descendants_pss_kb"],
        "processes": 1 + len(tree["descendants"]),
    }


async def start_server(procs: Subprocesses, work: Path, mark: str, pool_size: int) -> Run:
    """A real ``jupyter server`` with the extension, a token, a short time limit and a low
    key rate limit; an endpoint key for trivial.ipynb."""
    port, token = free_port(), secrets.token_hex(16)
    argv = [
        sys.executable,
        "-m",
        "jupyter_server",
        f"--ServerApp.ip={LOOPBACK}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work / 'root'}",
        "--allow-root",
        "--ServerApp.open_browser=False",
        f"--RestifiedApp.time_limit={TIME_LIMIT}",
        f"--RestifiedApp.key_rate_limit={KEY_RATE_LIMIT}",
        f"--RestifiedApp.pool_size={pool_size}",
        "--RestifiedApp.queue_size=64",
        f"--RestifiedApp.keys_file={work / 'keys.json'}",
    ]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(work / "runtime"), MARK: mark}
    managed = procs.start("soak-server", argv, env)
    server = HttpServer(managed, KeepAliveClient(LOOPBACK, port, auth_header(token)))
    await server.ready_or_stop("/api/status", procs)
    body = json.dumps({"path": "trivial.ipynb", "label": "soak"}).encode()
    answer = await server.fetch("/api/restified/keys", method="POST", body=body)
    return Run(server, token, json.loads(answer.body)["secret"], port)


async def warm_up(run: Run) -> None:
    """One good call per notebook that answers (each warm kernel started)."""
    for path in ("trivial.ipynb?n=1", "raises.ipynb", "sleeps.ipynb", "prints.ipynb?lines=1"):
        await run.server.fetch(f"/restified/{path}")
    for path in ("exits.ipynb", "kills_kernel.ipynb"):  # warmed; the call itself dies
        answer = await run.server.client.request("GET", f"/restified/{path}")
        if answer.status != 502:
            raise RuntimeError(f"warm-up {path}: {answer.status} {answer.body[:200]!r}")


async def after_kernel_kill(run: Run) -> str:
    """Kill the warm kernel once more, then check the next call of that notebook."""
    client = run.server.client
    first = await client.request("GET", "/restified/kills_kernel.ipynb")
    second = await client.request("GET", "/restified/kills_kernel.ipynb?kill=false")
    if first.status != 502 or second.status != 200:
        run.problems.append("the call after a warm kernel's kill did not work")
    return (
        f"kills_kernel answered {first.status} {error_type(first)}, the next call"
        f" (kill=false) {second.status} {second.body.decode(errors='replace')[:30]}"
    )


def error_lines(log: Path) -> list[str]:
    """The server log's ERROR lines (``[E ...]``) and tracebacks, less Jupyter Server's
    access lines of 5xx answers (logged at ERROR, with the request's headers after them)."""
    request = re.compile(r"^\[E [^]]*ServerApp\] (5\d\d [A-Z]+ /|\{$)")
    pattern = re.compile(r"^\[E |Traceback|ERROR")
    lines = log.read_text("utf-8", "replace").splitlines()
    return [line for line in lines if pattern.search(line) and not request.search(line)]


def kib(value: int) -> str:
    """KiB as MiB."""
    return f"{value / 1024:8.1f} MiB"


def report(
    run: Run,
    calls: int,
    seconds: float,
    mem: tuple[dict[str, Any], dict[str, Any]],
    pool: list[dict[str, Any]],
    left: list[dict[str, Any]],
    after_stop: list[dict[str, Any]],
    errors: list[str],
) -> list[str]:
    """Print the tables; return the problems found."""
    problems = list(run.problems)
    outcomes = run.outcomes
    by_kind: dict[str, Counter[str]] = {}
    for o in outcomes:
        label = {DISCONNECTED: "disconnected", LOST: "LOST"}.get(o.status, str(o.status))
        if o.error_type:
            label += f" {o.error_type}"
        by_kind.setdefault(o.kind, Counter())[label] += 1
    print(
        f"\ncalls made {len(outcomes)} of {calls} in {seconds:.1f} s ({len(outcomes) / seconds:.1f}/s)"
    )
    print(f"\n{'kind':<18} {'calls':>6}  answers (status type: count)")
    for kind in KINDS:
        counts = by_kind.get(kind.name, Counter())
        text = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        print(f"{kind.name:<18} {sum(counts.values()):>6}  {text}")
    statuses = Counter(o.status for o in outcomes)
    print(
        "\nanswers by status: "
        + ", ".join(
            f"{ {DISCONNECTED: 'disconnected', LOST: 'lost'}.get(s, s) }: {n}"
            for s, n in sorted(statuses.items())
        )
    )
    types = Counter(o.error_type for o in outcomes if o.error_type)
    print("errors by type: " + ", ".join(f"{t}: {n}" for t, n in sorted(types.items())))
    lost = [o for o in outcomes if o.status == LOST]
    expected = {k.name: k.expected for k in KINDS}
    unexpected = [o for o in outcomes if o.status != LOST and o.status not in expected[o.kind]]
    malformed = [o for o in outcomes if o.error_type == "?"]
    print(
        f"lost: {len(lost)}   unexpected status: {len(unexpected)}   malformed errors: {len(malformed)}"
    )
    for o in (lost + unexpected + malformed)[:10]:
        print(f"  ! {o.kind}: {o.status} {o.error_type} {o.detail}")
    if len(outcomes) != calls:
        problems.append(f"{calls - len(outcomes)} calls made no outcome")
    if lost:
        problems.append(f"{len(lost)} calls lost")
    if unexpected or malformed:
        problems.append(f"{len(unexpected)} unexpected and {len(malformed)} malformed answers")
    start, end = mem
    print(f"\n{'memory (after warm-up -> end)':<30} {'start':>12} {'end':>12}")
    for name in ("server_rss", "server_pss", "tree_rss", "tree_pss"):
        print(f"{name:<30} {kib(start[name]):>12} {kib(end[name]):>12}")
    print(f"{'processes in the tree':<30} {start['processes']:>12} {end['processes']:>12}")
    print(f"\nafter the calls: {len(pool)} pool processes (kernels, waiting forks, spares)")
    for p in pool:
        print(f"  pid {p['pid']} (parent {p['ppid']}): {p['command'][:90]}")
    print(f"leftovers: {len(left)}")
    for p in left:
        print(f"  ! pid {p['pid']} (parent {p['ppid']}): {p['command'][:90]}")
    print(f"after SIGTERM to the server: {len(after_stop)} processes left")
    for p in after_stop:
        print(f"  ! pid {p['pid']}: {p['command'][:90]}")
    if left:
        problems.append(f"{len(left)} leftover processes after the calls")
    if after_stop:
        problems.append(f"{len(after_stop)} processes survived the server")
    print(f"\nserver log: {len(errors)} ERROR/traceback lines")
    for line in errors[:10]:
        print(f"  {line[:150]}")
    print(f"kernel kill, then the next call: {run.follow_up}")
    if errors:
        problems.append(f"{len(errors)} ERROR lines in the server log (5xx access lines aside)")
    return problems


async def soak(args: argparse.Namespace) -> int:
    """Start the server, warm up, drive the calls, report, stop; the exit status."""
    work = Path(tempfile.mkdtemp(prefix="restified-soak-"))
    for sub in ("root", "runtime"):
        (work / sub).mkdir()
    write_notebooks(work / "root")
    log_dir = RESULTS / "soak-logs"
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    procs = Subprocesses(log_dir)
    mark = secrets.token_hex(8)
    try:
        print(
            f"soak: {args.calls} calls, {args.clients} clients, seed {args.seed}; logs in {log_dir}"
        )
        run = await start_server(procs, work, mark, args.pool_size)
        server_pid = run.server.managed.proc.pid
        await warm_up(run)
        await asyncio.sleep(1.0)
        start_mem = memory(server_pid)
        seconds = await drive(
            run, run.port, args.calls, args.clients, args.seed, args.keyed_keepalive
        )
        run.follow_up = await asyncio.wait_for(after_kernel_kill(run), READY_TIMEOUT)
        await asyncio.sleep(3.0)  # the last calls' processes exit, forks are reaped
        end_mem = memory(server_pid)
        pool, left = classify(server_pid, mark)
        survivors = await run.server.stop(procs)
        deadline = time.monotonic() + 5
        while run_processes(mark) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        after_stop = [{"pid": p, "command": c} for p, c in run_processes(mark).items()]
        after_stop += [s for s in survivors if s["pid"] not in run_processes(mark)]
        errors = error_lines(run.server.managed.log_path)
        problems = report(
            run, args.calls, seconds, (start_mem, end_mem), pool, left, after_stop, errors
        )
    finally:
        procs.stop_all()
        for pid in run_processes(mark):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        shutil.rmtree(work, ignore_errors=True)
    print("\nOK: every call answered once, nothing left behind" if not problems else "\nFAILED:")
    for problem in problems:
        print(f"  - {problem}")
    return 1 if problems else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=None, help="calls in all (default 3000)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--quick", action="store_true", help="300 calls")
    parser.add_argument("--seed", type=int, default=2026, help="the mix's seed (default 2026)")
    parser.add_argument(
        "--keyed-keepalive",
        action="store_true",
        help="keyed calls reuse their connection (a 429 closes it, with Connection: close)",
    )
    parser.add_argument("--pool-size", type=int, default=4, help="--RestifiedApp.pool_size")
    args = parser.parse_args(argv)
    if args.calls is None:
        args.calls = 300 if args.quick else 3000
    if args.calls < 1 or args.clients < 1:
        parser.error("--calls and --clients must be at least 1")
    return args


def main() -> int:
    """Run the soak test; kernels' warnings go to the log directory."""
    args = parse_args()
    RESULTS.mkdir(exist_ok=True)
    with stderr_to(RESULTS / "soak-stderr.log"):
        return asyncio.run(soak(args))


if __name__ == "__main__":
    sys.exit(main())
