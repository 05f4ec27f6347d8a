"""Shared fixtures: a real Jupyter server with the extension enabled (pytest-jupyter)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from notebook_restified import KernelModel
from notebook_restified.server.app import RestifiedApp

from .notebooks import write_doublers

pytest_plugins = ["pytest_jupyter.jupyter_server"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``last`` run after every other (in their order): they check what the
    others wrote (``tests/notebooks.py``'s ``WRITTEN``)."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    """Enable the extension in the test server."""
    return {
        "ServerApp": {"jpserver_extensions": {"notebook_restified": True}},
    }


@pytest.fixture
def app(jp_serverapp: Any) -> RestifiedApp:
    """The extension's application inside the test server."""
    apps = jp_serverapp.extension_manager.extension_apps["notebook_restified"]
    return next(a for a in apps if isinstance(a, RestifiedApp))


@pytest.fixture
def marker(jp_root_dir: Path, tmp_path: Path) -> Path:
    """``a.ipynb`` in the server's root touches the marker (returned) when it runs."""
    return write_doublers(jp_root_dir, tmp_path / "ran")


EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture(scope="module")
def kernel_model_of() -> Iterator[Callable[[str], KernelModel]]:
    """One KernelModel per example notebook for the whole module (kernels start once)."""
    models: dict[str, KernelModel] = {}

    def get(name: str) -> KernelModel:
        if name not in models:
            models[name] = KernelModel(EXAMPLES / name)
        return models[name]

    yield get
    for model in models.values():
        model.close()
