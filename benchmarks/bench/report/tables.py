"""The printed report: latency and throughput, ratios to Kernel Gateway and papermill,
paced calls, diagnostics, then the notes and the goals."""

from __future__ import annotations

import json

from ..harness.load import percentile
from ..harness.settings import CONCURRENT_CLIENTS, NOTEBOOK_NAMES, PACE_S, QUIET_CPUS
from .results import Report, Row

ROW_ORDER = (
    "restified_fork",
    "restified_fork_warmup",
    "restified_fork_cached",
    "restified_kernel",
    "kernel_gateway",
    "papermill",
    "warm_kernel",
    "tornado",
)
TRIVIAL, PANDAS = NOTEBOOK_NAMES
C8 = str(CONCURRENT_CLIENTS)


def fmt(value: float | None, digits: int = 1) -> str:
    """A number as the tables show it ("-" for none, no decimals from 1,000)."""
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def get(row: Row | None, notebook: str, what: str) -> float | None:
    """A row's ``what`` (a Stats field, or ``rate<clients>``) on ``notebook``; None if absent."""
    if row is None or notebook not in row.notebooks:
        return None
    stats = row.notebooks[notebook]
    if what.startswith("rate"):
        return stats.calls_per_s.get(what[4:])
    value: float | None = getattr(stats, what)
    return value


def ratio(a: float | None, b: float | None) -> str:
    """``a / b`` as "1.23x" ("-" if either is missing)."""
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
            get(row, nb, what)
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
        lines.append(_line(row.label, [fmt(v) for v in values]))
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
            ratio(get(row, nb, what), get(ref, nb, what))
            for ref, what in [(kg, "p50_ms"), (kg, "rate" + C8), (pm, "p50_ms"), (pm, "rate" + C8)]
            for nb in (TRIVIAL, PANDAS)
        ]
        lines.append(_line(row.label, texts))
    return lines


def cpu_table(rows: list[Row]) -> list[str]:
    """CPU time per call (every process of the server counted) next to the calls/s."""
    lines = [
        "CPU time per call (ms; the server and every process it started: kernels, forks)"
        f" next to calls/s, sequential and with {C8} clients",
        _line("", ["triv CPU", "c/s", "CPU@8", "c/s@8", "pand CPU", "c/s", "CPU@8", "c/s@8"]),
    ]
    for row in rows:
        if row.skipped:
            continue
        values = [
            get(row, nb, what)
            for nb in (TRIVIAL, PANDAS)
            for what in ("cpu_ms_per_call", "rate1", "cpu_ms_per_call_concurrent", "rate" + C8)
        ]
        if any(values[i] is not None for i in (0, 2, 4, 6)):
            lines.append(_line(row.label, [fmt(v) for v in values]))
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
            get(row, nb, what)
            for nb in (TRIVIAL, PANDAS)
            for what in ("paced_p50_ms", "paced_p95_ms")
        ]
        if not row.skipped and any(v is not None for v in values):
            lines.append(_line(row.label, [fmt(v) for v in values]))
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
            get(row, nb, what)
            for what in ("server_p50_ms", "cpu_ms_per_call", "front_cpu_ms_per_call")
            for nb in (TRIVIAL, PANDAS)
        ]
        lines.append(_line(row.label, [fmt(v) for v in values]))
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
    lines += [*cpu_table(rows), ""]
    lines += [*paced_table(rows), ""]
    lines += [*diagnostics_table(rows), ""]
    starts = report.kernel_start_ms
    if starts:
        lines.append(
            f"Kernel start to ready: median {fmt(percentile(starts, 50))} ms"
            f" (min {fmt(min(starts))}, max {fmt(max(starts))}, n={len(starts)})"
        )
    for name, ms in report.setup_ms.items():
        lines.append(f"Setup + parameters cells in a just-started kernel, {name}: {fmt(ms)} ms")
    for name, kinds in report.first_call_after_save_ms.items():
        for where, times in kinds.items():
            lines.append(
                f"First call after saving a {where} change, {name}: "
                + ", ".join(fmt(t) for t in times)
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

    lines += ["", "Goals of issues 6 and 17 (fork endpoint):"]
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
