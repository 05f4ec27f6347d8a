"""The harness every contender shares: settings and the command line (``settings``), the
notebooks' code and expected results (``notebook``), load generation and statistics
(``load``), CPU time (``cpu``), the processes started and what /proc tells of them
(``processes``), HTTP clients and servers under test (``http``)."""
