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

The code is in bench/: harness/ (settings, load, processes, HTTP), contenders/ (one module
per way of running), report/ (tables, ratios, goals, the machine).
"""

from __future__ import annotations

import sys

from bench.main import main

if __name__ == "__main__":
    sys.exit(main(__doc__.split("\n\n")[0]))
