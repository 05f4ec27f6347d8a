"""How notebook code runs: warm kernel pools, forked calls, in-process models."""
