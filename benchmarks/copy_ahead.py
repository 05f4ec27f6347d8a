"""Copy-ahead on and off, engine only (no HTTP): sequential calls with a pause between them.

    python benchmarks/copy_ahead.py [--calls 150] [--pause-ms 0 20 50] [notebook ...]

For each notebook (default: both in benchmarks/notebooks/) and pause, one engine with
copy-ahead off, one with it on; prints p50 and p95 of each (the first 20 calls are dropped:
copy-ahead is learned from the first ones) and the fork server's counts with it on (page
faults per call without and with copy-ahead).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from bench.harness.settings import NOTEBOOKS

from notebook_restified.engine import Engine
from notebook_restified.engine.warm import COPY_AHEAD_LIMIT
from notebook_restified.spec import load_spec

SKIPPED = 20


async def measure(path: Path, limit: int, pause: float, calls: int) -> tuple[list[float], Any]:
    """Latencies (ms) of ``calls`` sequential calls ``pause`` seconds apart; fork counts."""
    spec = load_spec(json.loads(path.read_text()))
    engine = Engine(pool_size=1, copy_ahead_limit=limit)
    try:
        latencies = []
        for _ in range(calls + SKIPPED):
            await asyncio.sleep(pause)
            started = time.perf_counter()
            await engine.call(path.name, spec, {}, cwd=str(path.parent))
            latencies.append((time.perf_counter() - started) * 1000)
        stats = (await engine.fork_stats()).get(path.name)
        return sorted(latencies[SKIPPED:]), stats
    finally:
        await engine.close()


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile of sorted ``values``."""
    return values[min(len(values) - 1, int(q * len(values)))]


async def main() -> None:
    """Run the comparison and print it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--pause-ms", type=float, nargs="+", default=[0.0, 20.0, 50.0])
    args = parser.parse_args()
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    print(f"{'notebook':<24}{'pause':>7}{'off p50':>9}{'p95':>8}{'on p50':>9}{'p95':>8}")
    for path in paths:
        for pause_ms in args.pause_ms:
            off, _ = await measure(path, 0, pause_ms / 1000, args.calls)
            on, stats = await measure(path, COPY_AHEAD_LIMIT, pause_ms / 1000, args.calls)
            print(
                f"{path.stem:<24}{pause_ms:>5.0f}ms{quantile(off, 0.5):>9.1f}"
                f"{quantile(off, 0.95):>8.1f}{quantile(on, 0.5):>9.1f}{quantile(on, 0.95):>8.1f}",
                flush=True,
            )
            print(f"  fork server, copy-ahead on: {json.dumps(stats)}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
