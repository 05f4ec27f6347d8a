"""Length-prefixed JSON messages on the fork server's Unix socket.

A frame is an 8-byte big-endian length, then that many bytes of UTF-8 JSON, or, after a
call's reply, of a result's encoded form as it is sent (see :func:`send_reply`). Lengths
make the reader independent of end-of-file, which a call's own subprocesses may hold off.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

HEADER = struct.Struct("!Q")

# Characters of captured text a reply may carry beyond its result, per unit of the output
# limit: stdout, stderr, displays, and an error's message with its traceback.
_TEXTS = 4
# Bytes a character can take in JSON text written with ASCII escapes ("\\ud83d\\ude00").
_ESCAPED = 12


def reply_limit(max_result: int, max_output: int) -> int:
    """The largest reply frame a call can send: its encoded result (at most ``max_result``
    bytes), its captured texts (at most ``max_output`` characters each, escaped) and the
    reply's own fields. A reader refuses a frame whose header says more."""
    return max_result + _TEXTS * _ESCAPED * max_output + (1 << 16)


def send_message(sock: socket.socket, message: dict[str, Any]) -> None:
    """Send one length-prefixed JSON message."""
    body = json.dumps(message, allow_nan=False).encode("utf-8")
    sock.sendall(HEADER.pack(len(body)) + body)


def send_reply(sock: socket.socket, reply: dict[str, Any], parts_key: str) -> None:
    """Send a call's reply, then each of its result's encoded forms as a frame of raw bytes
    (taken out of ``reply[parts_key]``; the reply lists them as ``[name, size]`` in
    ``result.parts``), so that a large result is neither escaped into the reply's JSON nor
    decoded by the reader. Each form is written from its own buffer, without a copy."""
    parts: list[tuple[str, bytes]] = reply.pop(parts_key, None) or []
    result = reply.get("result")
    if isinstance(result, dict):
        result["parts"] = [[name, len(data)] for name, data in parts]
    send_message(sock, reply)
    for _, data in parts:
        sock.sendall(HEADER.pack(len(data)))
        sock.sendall(data)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("connection closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def recv_message(sock: socket.socket) -> dict[str, Any]:
    """Receive one length-prefixed JSON message."""
    (size,) = HEADER.unpack(_recv_exactly(sock, HEADER.size))
    return json.loads(_recv_exactly(sock, size))  # type: ignore[no-any-return]


# --- copy-ahead: the pages a call writes, copied before it comes -------------------------
#
# A forked child shares its pages with the kernel until it writes one; each first write then
# costs a copy-on-write fault, and a pandas call pays thousands of them (more than doubling
# its time). After a call, a learning child reports which pages of its memory the call wrote
# (those now exclusively its own, from /proc/self/pagemap: the kernel's pages it copied and
# new pages of mappings it had); the next children copy those pages in bulk with
# madvise(MADV_POPULATE_WRITE) in a lowest-priority thread while they wait, so the call finds
