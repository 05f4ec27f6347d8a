"""Build real notebooks for tests, call them and make keys through a test server, and
inspect the processes they leave behind."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from tornado.httpclient import HTTPClientError, HTTPResponse

from notebook_restified.engine.housekeeping import process_alive
from notebook_restified.keys import _digest

Cell = str | tuple[str, list[str]]

#: pytest-jupyter's ``jp_fetch``: a request to the test server, with its token.
Fetch = Callable[..., Awaitable[HTTPResponse]]


WRITTEN: dict[str, Any] = {}
"""The parameters cell of every notebook the tests made this session (each with the
notebook's kernel and language), as a notebook of its own, by its JSON text: after every other
test, ``tests/test_contract.py`` checks that the spec JSON and the OpenAPI document describe
each of their parameters alike."""


def record_notebook(nb: Any) -> None:
    """Keep the parameters cells of ``nb`` (a notebook the tests made) in :data:`WRITTEN`."""
    cells = [
        cell
        for cell in nb.get("cells", [])
        if cell.get("cell_type") == "code"
        and isinstance((cell.get("metadata") or {}).get("tags"), list)
        and "parameters" in cell["metadata"]["tags"]
    ]
    if not cells:
        return
    kept = new_notebook()
    metadata = nb.get("metadata") or {}
    for key in ("kernelspec", "language_info"):
        if key in metadata:
            kept.metadata[key] = metadata[key]
    for cell in cells:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        kept.cells.append(new_code_cell(source, metadata={"tags": ["parameters"]}))
    key = json.dumps(
        [kept.metadata, [cell.source for cell in kept.cells]], sort_keys=True, default=str
    )
    WRITTEN.setdefault(key, kept)


def write_notebook(path: Path, *cells: Cell, kernel: str = "python3") -> Path:
    """Write a notebook whose cells are ``source`` or ``(source, tags)``; markdown if it
    starts with ``# md``."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for cell in cells:
        source, tags = (cell, []) if isinstance(cell, str) else cell
        if source.startswith("# md"):
            nb.cells.append(new_markdown_cell(source[4:].strip(), metadata={"tags": tags}))
        else:
            nb.cells.append(new_code_cell(source, metadata={"tags": tags}))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    record_notebook(nb)
    return path


def write_doublers(root: Path, marker: Path, *names: str) -> Path:
    """Write the notebooks ``names`` (default ``a.ipynb``) in ``root``: each takes
    ``n: int = 1``, touches ``marker`` when it runs and returns ``n * 2``; returns ``marker``."""
    for name in names or ("a.ipynb",):
        write_notebook(
            root / name,
            "import pathlib",
            ("n: int = 1", ["parameters"]),
            (f"pathlib.Path({str(marker)!r}).touch()\nn * 2", ["return"]),
        )
    return marker


def write_echo(path: Path, count: str, returned: str = "") -> Path:
    """Write a notebook with a parameter of each JSON kind (``count``, the first line of its
    parameters cell, then ratio, flag, name, items, options, anything) that returns them all
    in a dict; ``returned`` is written after the last entry of that dict."""
    return write_notebook(
        path,
        (
            f"{count}\n"
            "ratio = 0.5\n"
            "flag = False\n"
            "name = 'x'\n"
            "items = [1, 2]\n"
            "options = {'a': 1}\n"
            "anything = None",
            ["parameters"],
        ),
        (
            "{'count': count, 'ratio': ratio, 'flag': flag, 'name': name, 'items': items,\n"
            f" 'options': options, 'anything': anything{returned}}}",
            ["return"],
        ),
    )


def bearer(secret: str) -> dict[str, str]:
    """The header that presents an endpoint key."""
    return {"Authorization": f"Bearer {secret}"}


async def status_of(jp_fetch: Fetch, *parts: str, **kwargs: Any) -> int:
    """The status of a request (redirects not followed); an error's status too."""
    try:
        response = await jp_fetch(*parts, follow_redirects=False, **kwargs)
    except HTTPClientError as err:
        return err.code
    return response.code


async def fetch(jp_fetch: Fetch, *parts: str, **kwargs: Any) -> tuple[int, Any]:
    """Status and body (JSON if it is) of a request (redirects not followed); errors are
    answers too."""
    try:
        response = await jp_fetch(*parts, follow_redirects=False, **kwargs)
    except HTTPClientError as err:
        if err.response is None:
            raise
        response = err.response
    try:
        return response.code, json.loads(response.body)
    except ValueError:
        return response.code, response.body.decode("utf-8", "replace")


async def create_key(jp_fetch: Fetch, path: str = "a.ipynb", **fields: Any) -> dict[str, Any]:
    """Make an endpoint key for ``path`` through the keys API (label "for Alice" unless
    ``fields`` say otherwise); the API's answer, secret included."""
    body = {"path": path, "label": "for Alice", **fields}
    response = await jp_fetch("api", "restified", "keys", method="POST", body=json.dumps(body))
    assert response.code == 201
    return json.loads(response.body)  # type: ignore[no-any-return]


async def post_with_key_in_query(jp_fetch: Fetch, secret: str) -> int:
    """The status of a POST of ``{}`` to ``a.ipynb`` with the key in its query and no
    other credential (no token, no XSRF pair)."""
    return await status_of(
        jp_fetch,
        "restified",
        "a.ipynb",
        method="POST",
        body="{}",
        params={"key": secret},
        headers={"Authorization": ""},
    )


def old_key(
    label: str, created: str = "2026-01-01T00:00:00+00:00", **fields: Any
) -> tuple[str, dict[str, Any]]:
    """A key for ``a.ipynb`` as an earlier version wrote it in the keys file: its secret,
    and its entry (id, path, label, created, expires, salt and hash, then ``fields``)."""
    key_id = secrets.token_hex(6)
    secret = f"nrk_{key_id}_{secrets.token_urlsafe(32)}"
    salt = secrets.token_hex(16)
    entry: dict[str, Any] = {
        "id": key_id,
        "path": "a.ipynb",
        "label": label,
        "created": created,
        "expires": None,
        "salt": salt,
        "hash": _digest(salt, secret),
        **fields,
    }
    return secret, entry


def descendants(pid: int | None = None) -> set[int]:
    """Pids of every living (non-zombie) process below ``pid`` (default: this process)."""
    root = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("State", "").startswith("Z"):
            continue
        children.setdefault(int(fields.get("PPid", "0")), []).append(int(entry))
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


# Whether a pid is a running process (any of its threads not a zombie): the engine's own test.
alive = process_alive
