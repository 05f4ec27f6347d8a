"""What a run measures and where: paths, limits, call counts, the command line."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2]
"""The benchmarks/ folder."""
NOTEBOOKS = BENCHMARKS / "notebooks"
NOTEBOOK_NAMES = ("trivial", "pandas_groupby")
RESULTS = BENCHMARKS / "results"
LOOPBACK = "127.0.0.1"
CONCURRENT_CLIENTS = 8
# Paced calls: one client, sequential, this long apart (a client doing other work between
# calls, where back-to-back calls leave the machine no idle moment).
PACE_S = 0.02
HTTP_TIMEOUT = 120.0
READY_TIMEOUT = 120.0
QUIET_CPUS = 0.25
"""Other processes using more CPUs than this make the numbers unreliable (a warning)."""


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


def parse_args(
    description: str, http_clients: Iterable[str], argv: list[str] | None = None
) -> argparse.Namespace:
    """The command line: ``description`` heads its help, ``http_clients`` are the names
    ``--http-client`` takes."""
    parser = argparse.ArgumentParser(description=description)
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
        choices=sorted(http_clients),
        default="keepalive",
        help="keepalive (default): a connection kept open per client; tornado: tornado's"
        " AsyncHTTPClient, a new connection per request",
    )
    args = parser.parse_args(argv)
    if args.calls is not None and args.calls < 1:
        parser.error("--calls must be at least 1")
    return args
