"""What a large JSON result costs beyond the kernel's own ``json.dumps`` of it.

    python benchmarks/large_result.py [--calls 15] [--megabytes 10] [--tree PATH]

Starts a real ``jupyter server`` with the extension (token auth, fork isolation) on a
notebook whose setup builds a list of row objects whose JSON text is about ``--megabytes``
MB, and calls it back to back over one keep-alive connection:

- ``rows``: the call returns the rows (``Accept: application/json``): time to the last byte;
- ``dumps``: the call returns how long ``json.dumps(rows)`` takes in the call's own child
  (the least of three): the kernel's own share of encoding;
- ``table`` as CSV and as JSON: the same rows as a DataFrame;
- ``cached``: the rows from a notebook that keeps its answers (``"cache": {"ttl": 600}``):
  no run at all;
- ``one``: a call returning ``1``, run and kept (ten times as many calls).

Prints medians, and ``rows`` minus ``dumps``: the time beyond the kernel's ``json.dumps``
(the rest of the call, the reply's way to the server and the response). ``--tree`` runs the
server from another source tree (for before and after: the tree's ``notebook_restified``
comes first on the server's path).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

HERE = Path(__file__).resolve().parent


def notebook(path: Path, rows: int, cache_ttl: float | None = None) -> None:
    """The notebook: rows built in setup; ``what`` says what a call returns."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if cache_ttl is not None:
        nb.metadata["restified"] = {"cache": {"ttl": cache_ttl}}
    setup = (
        "import json, time\n"
        "import pandas as pd\n"
        f"rows = [{{'id': i, 'name': f'row number {{i}}', 'score': i * 0.25,"
        f" 'tags': ['alpha', 'beta'], 'ok': i % 2 == 0}} for i in range({rows})]\n"
        "frame = pd.DataFrame(rows).drop(columns=['tags'])\n"
    )
    body = (
        "def dumps_seconds():\n"
        "    best = None\n"
        "    for _ in range(3):\n"
        "        started = time.perf_counter()\n"
        "        json.dumps(rows, allow_nan=False, ensure_ascii=False)\n"
        "        took = time.perf_counter() - started\n"
        "        best = took if best is None else min(best, took)\n"
        "    return best\n"
        "{'rows': lambda: rows, 'dumps': dumps_seconds, 'table': lambda: frame,"
        " 'one': lambda: 1}[what]()"
    )
    nb.cells = [
        new_code_cell(setup),
        new_code_cell("what = 'rows'", metadata={"tags": ["parameters"]}),
        new_code_cell(body, metadata={"tags": ["return"]}),
    ]
    nbformat.write(nb, str(path))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(root: Path, tree: Path | None, token: str, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).strip(
            os.pathsep
        )
    env["JUPYTER_RUNTIME_DIR"] = str(root / ".runtime")
    argv = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True",
        "--ServerApp.open_browser=False",
        "--RestifiedApp.record_calls=none",
    ]
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)


class Client:
    """One keep-alive connection; each call is timed to its last byte."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.auth = {"Authorization": f"token {token}"}

    def get(self, path: str, accept: str = "application/json") -> tuple[int, bytes, float]:
        started = time.perf_counter()
        self.conn.request("GET", path, headers={**self.auth, "Accept": accept})
        response = self.conn.getresponse()
        body = response.read()
        return response.status, body, time.perf_counter() - started


def wait_ready(client: Client, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited; see its log")
        try:
            if client.get("/api/status")[0] == 200:
                return
        except OSError:
            client.conn.close()
        time.sleep(0.2)
    raise SystemExit("the server did not start")


def median_ms(client: Client, path: str, calls: int, accept: str = "application/json") -> float:
    status, body, _ = client.get(path, accept)  # warm: the kernel starts, setup runs
    if status != 200:
        raise SystemExit(f"{path}: {status} {body[:300]!r}")
    times = []
    for _ in range(calls):
        status, body, seconds = client.get(path, accept)
        assert status == 200, (status, body[:300])
        times.append(seconds)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=15)
    parser.add_argument("--megabytes", type=float, default=10.0)
    parser.add_argument("--tree", type=Path, default=None, help="source tree to serve from")
    args = parser.parse_args()
    # One row is about 95 bytes of JSON.
    rows = int(args.megabytes * 1e6 / 95)
    token, port = secrets.token_hex(16), free_port()
    with tempfile.TemporaryDirectory(prefix="large-result-") as folder:
        root = Path(folder)
        notebook(root / "large.ipynb", rows)
        notebook(root / "cached.ipynb", rows, cache_ttl=600)
        process = start_server(root, args.tree, token, port)
        try:
            client = Client(port, token)
            wait_ready(client, process, time.monotonic() + 120)
            _, body, _ = client.get("/restified/large.ipynb?what=rows")
            size = len(body)
            results: dict[str, Any] = {
                "json_bytes": size,
                "rows_ms": median_ms(client, "/restified/large.ipynb?what=rows", args.calls),
                "dumps_ms": statistics.median(
                    json.loads(client.get("/restified/large.ipynb?what=dumps")[1]) * 1000
                    for _ in range(args.calls)
                ),
                "table_json_ms": median_ms(client, "/restified/large.ipynb?what=table", args.calls),
                "table_csv_ms": median_ms(
                    client, "/restified/large.ipynb?what=table", args.calls, "text/csv"
                ),
                "cached_ms": median_ms(client, "/restified/cached.ipynb?what=rows", args.calls),
                "one_ms": median_ms(client, "/restified/large.ipynb?what=one", 10 * args.calls),
                "cached_one_ms": median_ms(
                    client, "/restified/cached.ipynb?what=one", 10 * args.calls
                ),
            }
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    results["beyond_dumps_ms"] = results["rows_ms"] - results["dumps_ms"]
    print(f"tree: {args.tree or 'installed'}; {args.calls} calls each, medians")
    print(f"JSON result: {results['json_bytes'] / 1e6:.1f} MB")
    for name, label in [
        ("rows_ms", "call returning the rows (JSON)"),
        ("dumps_ms", "json.dumps of the rows in the call's child"),
        ("beyond_dumps_ms", "the call beyond json.dumps"),
        ("table_json_ms", "the rows as a DataFrame, Accept: application/json"),
        ("table_csv_ms", "the rows as a DataFrame, Accept: text/csv"),
        ("cached_ms", "the rows from a notebook that keeps its answers"),
        ("one_ms", "a call returning 1"),
        ("cached_one_ms", "a call returning 1, kept"),
    ]:
        print(f"{label:55s} {results[name]:9.1f} ms")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
