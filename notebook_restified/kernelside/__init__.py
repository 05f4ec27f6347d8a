"""What runs inside the kernel: the call runner, the result encoder, the fork server,
copy-ahead and the process tools they use.

These modules import only the standard library and nothing from the server side: their
source is sent into each Python kernel (``engine/client.py`` ships them, in the order of
:data:`MODULES`) and installed there as the package ``_notebook_restified_kernelside``, so
they must also run on their own, on any Python a kernel may have (3.9+). ``PythonModel``
imports the same modules in-process, as ``notebook_restified.kernelside``.
"""

#: The package name the modules get inside a kernel (out of the notebook's namespace).
KERNEL_PACKAGE = "_notebook_restified_kernelside"

#: The modules, each after those it imports.
MODULES = ("encoder", "wire", "processes", "trace", "runner", "copyahead", "forkserver")
