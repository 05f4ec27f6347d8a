"""The benchmark behind ``benchmarks/run.py``, by job:

- ``harness/``: settings and the command line, the notebooks' code, load generation and
  statistics, CPU time, the processes started (and checked gone), HTTP clients;
- ``contenders/``: one module per way of running a notebook per request, one interface;
- ``report/``: what a run found, the machine, the goals of issue 6, the printed tables;
- ``main.py``: the run, contender after contender, then the report.
"""
