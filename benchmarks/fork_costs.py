"""Where a forked call's time goes, in a real kernel (no engine, no HTTP).

    python benchmarks/fork_costs.py [--runs 30] [notebook ...]

For each notebook (default: both in benchmarks/notebooks/), a kernel runs its setup and
parameters cells, then measures, as medians over ``--runs``:

- the fork itself (in the kernel), and a child that exits at once (its CPU, with the exit's
  teardown, and its page faults);
- the call's cells run in a forked child: time and page faults, the first and second run;
- the same after the child populated every writable page it has (no copy-on-write left);
- the least a forked call can cost: the fork, a child that accepts one connection on a Unix
  socket, reads one request, runs the cells on its values, writes one JSON reply and exits,
  and the caller's side of that exchange (the floor under any engine that forks per call);
- the call's cells run in the kernel itself, the first time and the eleventh.

These are the numbers behind "Where a call's time goes" in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.harness.settings import NOTEBOOKS
from jupyter_client.manager import start_new_kernel

from notebook_restified.engine.plan import call_cells, setup_cells
from notebook_restified.spec import load_spec

# Runs in the kernel: defines the measurements, prints their results as one JSON line.
PROBE = r"""
import ctypes as _c, gc as _gc, json as _j, os as _os, resource as _r, statistics as _s
import socket as _sk, tempfile as _tf, time as _t

def _restified_probe(sources, runs):
    shell = get_ipython()
    codes = [compile(shell.transform_cell(s), "<cell>", "exec") for s in sources]
    madvise = _c.CDLL(None, use_errno=True).madvise
    madvise.argtypes = [_c.c_void_p, _c.c_size_t, _c.c_int]

    def faults():
        return _r.getrusage(_r.RUSAGE_SELF).ru_minflt

    def run(namespace):
        started, before = _t.process_time(), faults()
        for code in codes:
            exec(code, namespace)
        return [(_t.process_time() - started) * 1e3, faults() - before]

    def populate():
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                if fields[1][1] == "w" and fields[1][3] == "p":
                    start, end = (int(x, 16) for x in fields[0].split("-"))
                    madvise(start, end - start, 23)  # MADV_POPULATE_WRITE

    def in_child(work):
        read_fd, write_fd = _os.pipe()
        started = _t.perf_counter()
        pid = _os.fork()
        if pid == 0:
            code = 1
            try:
                _os.close(read_fd)
                _os.write(write_fd, _j.dumps(work()).encode())
                code = 0
            finally:
                _os._exit(code)
        fork_ms = (_t.perf_counter() - started) * 1e3
        _os.close(write_fd)
        data = b""
        while chunk := _os.read(read_fd, 1 << 16):
            data += chunk
        _os.close(read_fd)
        _, _, usage = _os.wait4(pid, 0)
        child_ms = (usage.ru_utime + usage.ru_stime) * 1e3
        return [fork_ms, child_ms, usage.ru_minflt] + _j.loads(data)

    def twice():
        namespace = dict(shell.user_ns)
        return run(namespace) + run(namespace)

    def populated_twice():
        populate()
        return twice()

    def least_call(listener, path):
        # The least a forked call can do: the fork, then in the child one connection
        # accepted, one request read, the cells run on its values, one JSON reply, the exit;
        # on the caller's side the connection, the request and the reply, and the reaping.
        started = _t.thread_time()
        pid = _os.fork()
        if pid == 0:
            try:
                _gc.freeze()
                conn, _ = listener.accept()
                namespace = shell.user_ns  # the child's own copy already
                namespace.update(_j.loads(conn.recv(1 << 16)))
                for code in codes:
                    exec(code, namespace)
                conn.sendall(_j.dumps({"ok": True}).encode())
                conn.close()
            finally:
                _os._exit(0)
        fork_ms = (_t.thread_time() - started) * 1e3
        started = _t.thread_time()
        with _sk.socket(_sk.AF_UNIX) as caller:
            caller.connect(path)
            caller.sendall(b"{}")
            assert _j.loads(caller.recv(1 << 16)) == {"ok": True}
        _, _, usage = _os.wait4(pid, 0)
        caller_ms = (_t.thread_time() - started) * 1e3
        child_ms = (usage.ru_utime + usage.ru_stime) * 1e3
        return [fork_ms, caller_ms, child_ms, usage.ru_minflt]

    def least_calls():
        path = _os.path.join(_tf.mkdtemp(), "least.sock")
        with _sk.socket(_sk.AF_UNIX) as listener:
            listener.bind(path)
            listener.listen(1)
            rows = [least_call(listener, path) for _ in range(runs)]
        _os.unlink(path)
        _os.rmdir(_os.path.dirname(path))
        return rows

    _gc.freeze()
    med = lambda rows: [round(_s.median(column), 2) for column in zip(*rows)]
    result = {
        "exit_at_once": med([in_child(lambda: []) for _ in range(runs)]),
        "call_in_child": med([in_child(twice) for _ in range(runs)]),
        "call_in_populated_child": med([in_child(populated_twice) for _ in range(runs)]),
        "least_call": med(least_calls()),
    }
    namespace = dict(shell.user_ns)
    first = run(namespace)
    for _ in range(9):
        run(namespace)
    result["in_kernel"] = [round(v, 2) for v in first + run(namespace)]
    print(_j.dumps(result))
"""


def execute(client: Any, code: str) -> str:
    """Run ``code`` in the kernel; its stdout (raises on an error)."""
    client.execute(code)
    out = []
    while True:
        message = client.get_iopub_msg(timeout=600)
        kind, content = message["msg_type"], message["content"]
        if kind == "stream" and content["name"] == "stdout":
            out.append(content["text"])
        elif kind == "error":
            raise RuntimeError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out)


def measure(path: Path, runs: int) -> dict[str, list[float]]:
    """The probe's medians for the notebook at ``path``."""
    spec = load_spec(path)
    manager, client = start_new_kernel(kernel_name=spec.kernel_name, cwd=str(path.parent))
    try:
        for cell in setup_cells(spec):
            execute(client, cell["source"])
        execute(client, PROBE)
        sources = [cell["source"] for cell in call_cells(spec, {})]
        code = f"_restified_probe(__import__('json').loads({json.dumps(sources)!r}), {runs})"
        out = execute(client, code)
        result: dict[str, list[float]] = json.loads(out.strip().splitlines()[-1])
        return result
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def main() -> None:
    """Measure each notebook and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    for path in args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb")):
        r = measure(path, args.runs)
        fork, child, child_faults = r["exit_at_once"][:3]
        print(f"{path.name} (medians of {args.runs}; ms of CPU, page faults)")
        print(f"  fork() in the kernel: {fork} ms; a child that exits at once: {child} ms CPU,")
        print(f"    {child_faults:.0f} faults (Python's after-fork work and the exit's teardown)")
        for key, label in (
            ("call_in_child", "call in a forked child"),
            ("call_in_populated_child", "same, every writable page populated first"),
        ):
            _, total, _, first, first_faults, second, second_faults = r[key]
            print(
                f"  {label}: first run {first} ms, {first_faults:.0f} faults; second"
                f" {second} ms, {second_faults:.0f} faults; child in all {total} ms CPU"
            )
        fork, caller, child, child_faults = r["least_call"]
        print(f"  the least forked call (accept, request, cells, JSON reply, exit): {fork} ms")
        print(f"    fork(), {caller} ms the caller's side, {child} ms CPU in the child")
        print(f"    ({child_faults:.0f} faults): {round(fork + caller + child, 2)} ms in all")
        first, first_faults, eleventh, _ = r["in_kernel"]
        print(f"  call in the kernel itself: first run {first} ms ({first_faults:.0f} faults),")
        print(f"    eleventh {eleventh} ms")


if __name__ == "__main__":
    main()
