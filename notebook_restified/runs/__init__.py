"""Runs: asynchronous calls and the records of calls (see ``manager.py``)."""
