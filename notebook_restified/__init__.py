"""notebook_restified: a tagged Jupyter notebook as a typed, isolated HTTP endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    from ._version import __version__
except ImportError:  # pragma: no cover - only in a source tree that was never built
    import warnings

    warnings.warn("Importing 'notebook_restified' outside a proper installation.", stacklevel=2)
    __version__ = "dev"

if TYPE_CHECKING:
    from .models import KernelModel, PythonModel

__all__ = ["KernelModel", "PythonModel", "__version__"]


def __getattr__(name: str) -> Any:
    # The models pull in kernel machinery; keep `import notebook_restified` light for the server.
    if name == "KernelModel":
        from .models import KernelModel

        return KernelModel
    if name == "PythonModel":
        from .models import PythonModel

        return PythonModel
    raise AttributeError(name)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "notebook-restified"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import RestifiedApp

    return [{"module": "notebook_restified", "app": RestifiedApp}]
