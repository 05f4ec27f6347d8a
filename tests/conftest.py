"""Shared fixtures: a real Jupyter server with the extension enabled (pytest-jupyter)."""

from __future__ import annotations

from typing import Any

import pytest

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    """Enable the extension in the test server."""
    return {
        "ServerApp": {"jpserver_extensions": {"notebook_restified": True}},
    }
