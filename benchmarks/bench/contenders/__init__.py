"""The ways of running a notebook per request that a run compares, one module each behind
one interface (``base.Contender``): this project's endpoint (``restified``), Kernel Gateway
notebook-http (``kernel_gateway``), papermill (``papermill``), a warm kernel, the floor
(``warm_kernel``), and a bare tornado handler, the HTTP floor (``tornado_floor``)."""
