"""The server's side of the kernel-side runtime (``kernelside/``): shipping it into a
Python kernel, and every request made to it there — running cells in the kernel itself,
starting and querying the fork server, and one call's exchange with a forked child. Kernels
of other languages get plain execute requests (:func:`run_generic`)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import kernelside
from ..errors import CallTimeout, KernelDied, ResultTooLarge
from ..kernelside.encoder import json_size
from ..kernelside.trace import EVENT_MIME
from ..kernelside.wire import HEADER, reply_limit
from .memory import kill_process_tree
from .observe import CallObserver
from .session import KernelSession, expression_json

# A reply frame larger than this is decoded in a thread, not on the event loop.
_LOOP_DECODE_LIMIT = 1 << 20


class Limits:
    """What one call may send back: ``result`` bytes of encoded result, ``output``
    characters of each captured text (stdout, stderr)."""

    def __init__(self, result: int, output: int) -> None:
        self.result = result
        self.output = output

    def request(self) -> dict[str, int]:
        """The limits as a request to the kernel side carries them."""
        return {"result": self.result, "output": self.output}

    def reply_bytes(self) -> int:
        """The largest reply frame the kernel side can send within these limits."""
        return reply_limit(self.result, self.output)


def runtime_bootstrap() -> str:
    """Python code that installs the kernel-side modules in a kernel as the package
    ``kernelside.KERNEL_PACKAGE``, without touching the notebook's namespace."""
    folder = Path(kernelside.__file__).parent
    modules = [(name, (folder / f"{name}.py").read_text("utf-8")) for name in kernelside.MODULES]
    loader = (
        "import sys, types\n"
        "package = types.ModuleType(PACKAGE)\n"
        "package.__path__ = []\n"
        "sys.modules[PACKAGE] = package\n"
        "for name, src in MODULES:\n"
        "    module = types.ModuleType(PACKAGE + '.' + name)\n"
        "    module.__file__ = '<' + module.__name__ + '>'\n"
        "    module.__package__ = PACKAGE\n"
        "    sys.modules[module.__name__] = module\n"
        "    setattr(package, name, module)\n"
        "    exec(compile(src, module.__file__, 'exec'), module.__dict__)\n"
    )
    names = {
        "PACKAGE": kernelside.KERNEL_PACKAGE,
        "MODULES": modules,
        "__name__": "_restified_boot",
    }
    return f"exec({loader!r}, {names!r})"


def module_ref(name: str) -> str:
    """An expression, in a kernel with the runtime, for the kernel-side module ``name``."""
    return f"__import__('sys').modules[{kernelside.KERNEL_PACKAGE + '.' + name!r}]"


#: The kernel's shell, found without the notebook's names (a parameter may be `get_ipython`).
SHELL = "__import__('IPython').get_ipython()"


async def install_runtime(session: KernelSession, timeout: float) -> None:
    """Load the kernel-side modules into a Python kernel (names stay out of its namespace),
    before any of the notebook's code runs there: from then on it notes whether the
    notebook seeds ``random`` (see the fork server's ``watch_random_seeding``)."""
    code = f"{runtime_bootstrap()}\n{module_ref('forkserver')}.watch_random_seeding()"
    outcome = await session.execute(code, timeout=timeout)
    if outcome.reply["status"] != "ok":
        raise KernelDied(
            "could not load notebook_restified's runtime in the kernel: "
            f"{outcome.reply.get('ename')}: {outcome.reply.get('evalue')}"
        )


async def run_in_kernel(
    session: KernelSession,
    request: dict[str, Any],
    timeout: float | None,
    observer: CallObserver | None = None,
) -> dict[str, Any]:
    """Run a call's cells in the kernel's own namespace through the runtime. The reply
    comes in the execute reply, bounded only by the ``limits`` the request gives the
    kernel side (see :class:`Limits`). An ``observer`` gets the call's events as the kernel
    publishes them on iopub, and its per-cell record from the reply."""
    on_iopub = None
    if observer is not None:
        request = {**request, **observer.request_options()}
        on_event = observer.on_event
        if on_event is not None:

            def on_iopub(msg: dict[str, Any]) -> None:
                if msg.get("msg_type") == "display_data":
                    event = msg.get("content", {}).get("data", {}).get(EVENT_MIME)
                    if isinstance(event, dict):
                        on_event(event)

    runner = module_ref("runner")
    code = f"{runner}.LAST = {runner}.run_request_json({json.dumps(request)!r}, {SHELL})"
    outcome = await session.execute(
        code, timeout=timeout, user_expressions={"reply": f"{runner}.LAST"}, on_iopub=on_iopub
    )
    reply: dict[str, Any] = expression_json(outcome, "reply")
    if observer is not None:
        observer.take_reply(reply)
    return reply


async def run_warmup(
    session: KernelSession,
    cells: list[dict[str, Any]],
    timeout: float,
    limits: Limits,
    on: str = "copies",
) -> dict[str, Any]:
    """One declared warm-up run in the kernel: ``cells`` (a call's, with the warm-up's
    values) in a scratch namespace discarded after, its names bound to setup's own objects
    (``on="setup"``) or to deep copies of them (see the runner's ``warm_up``). Returns
    ``{"status", "duration"}``, with ``"error"`` (the contract's fields), ``"stdout"`` and
    ``"stderr"`` when a cell raised; :class:`CallTimeout` past ``timeout`` (the kernel is
    then still running it: discard it)."""
    runner = module_ref("runner")
    request = {"cells": cells, "limits": limits.request(), "on": on}
    code = f"{runner}.LAST = {runner}.warm_up_json({json.dumps(request)!r}, {SHELL})"
    outcome = await session.execute(
        code, timeout=timeout, user_expressions={"reply": f"{runner}.LAST"}
    )
    reply: dict[str, Any] = expression_json(outcome, "reply")
    return reply


async def setup_digest(session: KernelSession, timeout: float) -> str | None:
    """The digest of what setup left in the kernel's namespace (the runner's
    ``setup_digest``), or ``None`` where a value cannot be pickled."""
    runner = module_ref("runner")
    digest: str | None = await session.evaluate_json(
        f"{runner}.setup_digest_json({SHELL})", timeout=timeout
    )
    return digest


async def start_fork_server(
    session: KernelSession,
    prefork: int,
    copy_limit: int,
    sources: list[str],
    timeout: float,
    output_limit: int,
) -> str:
    """Start the kernel's fork server (once); returns its socket path. ``sources``: the
    call's cells, prepared once in the kernel rather than in every child; ``output_limit``:
    the calls' (characters of each captured text)."""
    forkserver = module_ref("forkserver")
    path: str = await session.evaluate_json(
        f"{forkserver}.start_fork_server({SHELL}, {prefork}, {copy_limit},"
        f" {json.dumps(sources)!r}, {int(output_limit)})",
        timeout=timeout,
    )
    return path


async def fork_server_stats(session: KernelSession) -> dict[str, Any] | None:
    """The fork server's counts (see ``ForkServer.stats``), or None."""
    stats = await session.evaluate_json(
        f"{module_ref('forkserver')}.fork_server_stats()", timeout=5
    )
    return stats if isinstance(stats, dict) else None


async def stop_fork_server(session: KernelSession) -> None:
    """Stop the kernel's fork server and the children still waiting."""
    await session.evaluate_json(f"{module_ref('forkserver')}.stop_fork_server()", timeout=5)


class FrameTooLarge(Exception):
    """A frame's header announced more bytes than the reader accepts (none were read)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"a frame of {size} bytes was announced")
        self.size = size


async def read_frame(reader: asyncio.StreamReader, limit: int) -> dict[str, Any]:
    """One length-prefixed JSON message; :class:`FrameTooLarge` before reading a body over
    ``limit`` bytes. A large body is decoded in a thread, so other requests go on."""
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    if size > limit:
        raise FrameTooLarge(size)
    body = await reader.readexactly(size)
    if size > _LOOP_DECODE_LIMIT:
        decoded: dict[str, Any] = await asyncio.to_thread(json.loads, body)
        return decoded
    return json.loads(body)  # type: ignore[no-any-return]


async def read_parts(
    reader: asyncio.StreamReader, reply: dict[str, Any], limit: int
) -> dict[str, bytes]:
    """The raw frames of the result's encoded forms that follow a reply (``result.parts``:
    ``[name, size]`` each, see ``kernelside/wire.send_reply``), at most ``limit`` bytes in
    all; :class:`FrameTooLarge` before reading past it. The bytes are kept as they come:
    the JSON text is the body the endpoint sends."""
    result = reply.get("result")
    listed = result.get("parts") if isinstance(result, dict) else None
    parts: dict[str, bytes] = {}
    total = 0
    for name, _ in listed or ():
        (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
        total += size
        if total > limit:
            raise FrameTooLarge(total)
        parts[str(name)] = await reader.readexactly(size)
    return parts


class UntakenCallTimeout(CallTimeout):
    """A forked call no child took within its time limit: the kernel's fork server is not
    handing calls over (the kernel stopped or stuck), so its warm state cannot serve."""


class ForkedCallLost(Exception):
    """The connection to the fork server ended before the call's reply."""

    def __init__(self, taken: bool) -> None:
        super().__init__("the forked call ended without a reply")
        self.taken = taken
        """Whether a child had taken the call (else the kernel may be gone)."""


async def call_forked(
    socket_path: str,
    cells: list[dict[str, Any]],
    time_limit: float,
    limits: Limits,
    observer: CallObserver | None = None,
    media: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """One call through the fork server at ``socket_path``: a waiting child takes it, runs
    ``cells`` and answers with the runner's reply, its result's encoded forms as bytes in
    ``result["payload"]`` (``media``: the one form wanted of each kind of result, else
    every form). Past ``time_limit`` (or when cancelled) the child and whatever it started
    are killed; a connection that ends before the reply
    raises :class:`ForkedCallLost`. A reply larger than ``limits`` allow is not read: the
    child is killed and :class:`ResultTooLarge` raised. An ``observer`` gets the events the
    child sends before its reply (``{"event": {...}}`` frames), and its per-cell record."""
    pid: int | None = None
    writer: asyncio.StreamWriter | None = None

    async def exchange() -> dict[str, Any]:
        nonlocal pid, writer
        reader, writer = await asyncio.open_unix_connection(socket_path)
        # The request goes out at once; the child's hello (its pid) crosses it.
        request = {
            "cells": cells,
            "limits": limits.request(),
            "payload": True,
            **({"media": dict(media)} if media is not None else {}),
            **(observer.request_options() if observer else {}),
        }
        body = json.dumps(request, allow_nan=False).encode("utf-8")
        writer.write(HEADER.pack(len(body)) + body)
        pid = int((await read_frame(reader, 1 << 10))["pid"])
        await writer.drain()
        frame = await read_frame(reader, limits.reply_bytes())
        while observer is not None and "event" in frame:
            if observer.on_event is not None:
                observer.on_event(frame["event"])
            frame = await read_frame(reader, limits.reply_bytes())
        if observer is not None:
            observer.take_reply(frame)
        if isinstance(frame.get("result"), dict):
            frame["result"]["payload"] = await read_parts(reader, frame, limits.result)
        return frame

    try:
        return await asyncio.wait_for(exchange(), time_limit)
    except FrameTooLarge as exc:
        if pid is not None:
            kill_process_tree(pid)
        raise ResultTooLarge(limit=limits.result, size=exc.size) from None
    except asyncio.TimeoutError:
        if pid is None:
            raise UntakenCallTimeout(time_limit=time_limit) from None
        kill_process_tree(pid)
        raise CallTimeout(time_limit=time_limit) from None
    except asyncio.CancelledError:
        if pid is not None:
            kill_process_tree(pid)
        raise
    except (asyncio.IncompleteReadError, ConnectionError, FileNotFoundError) as exc:
        raise ForkedCallLost(taken=pid is not None) from exc
    finally:
        if writer is not None:
            writer.close()


async def run_generic(
    session: KernelSession, cells: list[dict[str, Any]], time_limit: float, max_result: int
) -> dict[str, Any]:
    """Run cells with plain execute requests (any kernel language); read the return cell's
    ``execute_result``: ``application/json`` if given, else text/plain parsed as JSON if it
    parses, else the text itself. Such a kernel has no runtime to bound its result before
    sending it: one larger than ``max_result`` bytes is refused once received."""
    started = time.perf_counter()
    result: dict[str, Any] = {"json": None, "kind": "json", "png": None, "csv": None}
    has_value = False
    for cell in cells:
        remaining = time_limit - (time.perf_counter() - started)
        if remaining <= 0:
            raise CallTimeout(time_limit=time_limit)
        outcome = await session.execute(
            cell["source"], timeout=remaining, silent=False, collect_outputs=True
        )
        if outcome.reply.get("status") != "ok":
            return {
                "status": "error",
                "error": {
                    "cell_index": cell.get("index"),
                    "cell_id": cell.get("id"),
                    "ename": outcome.reply.get("ename", ""),
                    "evalue": outcome.reply.get("evalue", ""),
                    "traceback": outcome.reply.get("traceback", []),
                },
            }
        if cell.get("return"):
            for output in outcome.outputs:
                if output["msg_type"] == "execute_result":
                    has_value = True
                    result = _generic_result(output.get("data", {}))
    size = json_size(result, max_result)
    if size > max_result:
        return {"status": "too_large", "error": {"size": size, "limit": max_result}}
    return {"status": "ok", "has_value": has_value, "result": result}


def _generic_result(data: Mapping[str, Any]) -> dict[str, Any]:
    if "image/png" in data:
        return {"json": None, "kind": "image", "png": data["image/png"], "csv": None}
    if "application/json" in data:
        return {"json": data["application/json"], "kind": "json", "png": None, "csv": None}
    text = str(data.get("text/plain", ""))
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    return {"json": value, "kind": "json", "png": None, "csv": None}
