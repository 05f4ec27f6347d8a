"""Results kept for notebooks that opt in (``"restified": {"cache": {"ttl": N}}``): a
bounded in-memory store, least recently used first out, each entry for at most its notebook's
time to live; and the calls running to fill it, so that the same call arriving meanwhile waits
for that one instead of running again. No tornado and no kernels here: the call route decides
what is kept and how it is answered (``calls.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..parameters import json_values

#: Bytes an entry is counted for beyond its body (its key, headers, bookkeeping).
ENTRY_OVERHEAD = 512


@dataclass(frozen=True)
class CachedAnswer:
    """One call's answer as it was sent: its body, type and validator."""

    body: bytes
    content_type: str
    etag: str
    duration: float
    """Seconds the call that made it ran (sent again as ``X-Restified-Duration``)."""
    stored: float = field(default=0.0)
    """When it was stored (the clock of its :class:`ResultCache`)."""
    expires: float = field(default=0.0)

    def remaining(self, now: float) -> float:
        """Seconds it has left to live at ``now``."""
        return max(0.0, self.expires - now)


@dataclass(frozen=True)
class CacheKey:
    """What makes two calls the same call: the notebook (its path and the SHA-256 of its
    saved content), the coerced values, the media type wanted of each kind of result, and
    whose calls may share it (``None``: the server's users; else an endpoint key's id)."""

    path: str
    notebook_sha256: str
    values: str
    """The values as canonical JSON (keys sorted, no spaces)."""
    media: tuple[tuple[str, str | None], ...]
    partition: str | None

    @classmethod
    def of(
        cls,
        path: str,
        notebook_sha256: str,
        values: Mapping[str, Any],
        media: Mapping[str, str | None],
        partition: str | None,
    ) -> CacheKey:
        """The key of a call (``values`` already coerced to the declared types)."""
        return cls(
            path=path,
            notebook_sha256=notebook_sha256,
            values=canonical_json(values),
            media=tuple(sorted(media.items())),
            partition=partition,
        )


def canonical_json(values: Mapping[str, Any]) -> str:
    """``values`` in their JSON forms (dates ISO text, bytes base64) with sorted keys and no
    spaces: equal values, equal text."""
    return json.dumps(json_values(values), sort_keys=True, separators=(",", ":"))


def strong_etag(key: CacheKey, media: str, body_digest: str) -> str:
    """A strong validator for an answer: a digest of the notebook, the values, the media
    type sent and the body's own digest (so equal inputs that gave equal bytes give equal
    tags, and different bytes never share one). The credential's partition is left out:
    it changes who may be answered from the cache, not the bytes."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (key.path, key.notebook_sha256, key.values, media, body_digest):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return f'"{digest.hexdigest()}"'


def body_digest(body: bytes) -> str:
    """The digest of an answer's bytes, as :func:`strong_etag` takes it."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (or is ``*``). Weak tags
    (``W/"..."``) compare by their opaque part, as RFC 9110 asks for this header."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


class ResultCache:
    """Answers kept by :class:`CacheKey`, at most ``max_bytes`` of them (bodies plus
    :data:`ENTRY_OVERHEAD` each); the least recently used go first, and an entry is never
    answered past its expiry. ``max_bytes`` 0 keeps nothing."""

    def __init__(self, max_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max(0, max_bytes)
        self.clock = clock
        self._entries: OrderedDict[CacheKey, CachedAnswer] = OrderedDict()
        self._paths: dict[str, set[CacheKey]] = {}
        self.size = 0
        """Bytes held now (bodies plus overhead)."""
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.shared = 0
        """Calls answered with what the same call running at the time kept."""
        self._flights: dict[CacheKey, asyncio.Future[CachedAnswer | None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _cost(answer: CachedAnswer) -> int:
        return len(answer.body) + ENTRY_OVERHEAD

    @property
    def enabled(self) -> bool:
        """Whether anything can be kept at all."""
        return self.max_bytes > 0

    def get(self, key: CacheKey) -> CachedAnswer | None:
        """The answer kept for ``key`` if it is still fresh (it becomes the most recently
        used); an expired one is dropped."""
        answer = self._entries.get(key)
        if answer is None:
            self.misses += 1
            return None
        if answer.expires <= self.clock():
            self._remove(key)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return answer

    def put(self, key: CacheKey, answer: CachedAnswer, ttl: float) -> CachedAnswer | None:
        """Keep ``answer`` for ``ttl`` seconds; returns it as kept (with its times), or
        ``None`` when it is not kept (larger than the whole cache, or nothing may be)."""
        if ttl <= 0 or self._cost(answer) > self.max_bytes:
            return None
        now = self.clock()
        kept = CachedAnswer(
            body=answer.body,
            content_type=answer.content_type,
            etag=answer.etag,
            duration=answer.duration,
            stored=now,
            expires=now + ttl,
        )
        if key in self._entries:
            self._remove(key)
        self._entries[key] = kept
        self._paths.setdefault(key.path, set()).add(key)
        self.size += self._cost(kept)
        while self.size > self.max_bytes and self._entries:
            oldest = next(iter(self._entries))
            self._remove(oldest)
            self.evictions += 1
        return kept

    def flight(self, key: CacheKey) -> asyncio.Future[CachedAnswer | None] | None:
        """The call of ``key`` running now to fill the cache, if any: a future of what it
        keeps (``None`` if it keeps nothing: it failed, was cancelled, or its answer is not
        kept)."""
        return self._flights.get(key)

    def take_off(self, key: CacheKey) -> None:
        """The caller runs the call of ``key``: the same calls meanwhile wait for it. Must
        be followed by :meth:`land`, whatever happens."""
        self._flights[key] = asyncio.get_running_loop().create_future()

    def land(self, key: CacheKey, kept: CachedAnswer | None) -> None:
        """The call of ``key`` is over: its waiters get what it kept (``None``: they run
        their own)."""
        flight = self._flights.pop(key, None)
        if flight is not None and not flight.done():
            flight.set_result(kept)

    def drop_path(self, path: str, keep_sha256: str | None = None) -> int:
        """Drop the entries of the notebook at ``path`` (all of them, or those of other
        versions than ``keep_sha256``); returns how many were dropped."""
        keys = [
            key
            for key in self._paths.get(path, ())
            if keep_sha256 is None or key.notebook_sha256 != keep_sha256
        ]
        for key in keys:
            self._remove(key)
        return len(keys)

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
        self._paths.clear()
        self.size = 0

    def _remove(self, key: CacheKey) -> None:
        answer = self._entries.pop(key, None)
        if answer is None:
            return
        self.size -= self._cost(answer)
        keys = self._paths.get(key.path)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._paths[key.path]

    def stats(self) -> dict[str, int]:
        """Counts for the status route."""
        return {
            "entries": len(self._entries),
            "bytes": self.size,
            "max_bytes": self.max_bytes,
            "hits": self.hits,
            "misses": self.misses,
            "evictions": self.evictions,
            "shared": self.shared,
            "running": len(self._flights),
        }
