"""A regular (non-editable) install carries the version and the lab extension.

Builds the wheel as ``pip install .`` does, with the production frontend build, from a copy of
the source tree (so the checkout's dev build and ``_version.py`` are left alone; the copy links
the checkout's ``node_modules``), installs it into a fresh virtual environment and imports it.
About a minute on two cores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).parent.parent
VERSION = json.loads((ROOT / "package.json").read_text())["version"]
SHARE = "share/jupyter/labextensions/notebook-restified"

# Build outputs and tools' state: never part of a build's input.
NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    "node_modules",
    ".yarn",
    ".venv*",
    "ui-tests",
    "lib",
    "labextension",
    "_version.py",
    "__pycache__",
    "*.tsbuildinfo",
    ".*_cache",
    ".eslintcache",
    ".ipynb_checkpoints",
    "dist",
    "build",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (ROOT / "node_modules").is_dir():
        pytest.skip("no node_modules: run `bash .ci/setup` first")
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    (source / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    # The packages jlpm needs are in the checkout's yarn cache; no download.
    env = {**os.environ, "YARN_CACHE_FOLDER": str(ROOT / ".yarn" / "cache")}
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(work), "."],
        cwd=source,
        env=env,
        check=True,
        timeout=240,
    )
    (built,) = work.glob("notebook_restified-*.whl")
    return built


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = f"notebook_restified-{VERSION}.data/data"
    assert "notebook_restified/_version.py" in names
    for path in ("install.json", "package.json", "static/style.js"):
        assert f"{data}/{SHARE}/{path}" in names
    assert f"{data}/etc/jupyter/jupyter_server_config.d/notebook_restified.json" in names
    # The endpoint's page: its style, and its script built by `jlpm build:page`.
    assert "notebook_restified/static/page.css" in names
    assert "notebook_restified/static/js/page/page.js" in names
    assert "notebook_restified/static/js/core/snippets.js" in names


def test_installed_version(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    subprocess.run(
        [*pip, "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        timeout=120,
    )
    done = subprocess.run(
        [python, "-c", "import notebook_restified; print(notebook_restified.__version__)"],
        cwd=tmp_path,  # not the checkout, whose notebook_restified/ would shadow the install
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert (done.stdout.strip(), done.stderr) == (VERSION, "")
    assert (env_dir / SHARE / "static" / "style.js").is_file()
