"""The engine: runs calls of tagged notebooks in warm, isolated kernels.

- ``pool.py``: :class:`Engine`, the pool of call slots, its queue and bounds, eviction.
- ``plan.py``: which cells run ahead of time and in a call; which isolation mode.
- ``warm.py``: warm state per notebook version, one class per isolation mode.
- ``kernels.py``: where kernels come from (local or a gateway), spares kept started.
- ``session.py``: one kernel process and the execute requests sent to it.
- ``client.py``: the server's side of the kernel-side runtime (``kernelside/``).
- ``memory.py``: memory of kernel process trees (status route, pool bound).
- ``housekeeping.py``: removing what killed processes left behind.
"""

from .pool import Engine

__all__ = ["Engine"]
