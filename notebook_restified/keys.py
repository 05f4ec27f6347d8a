"""Endpoint keys: a secret that lets its holder call one notebook's endpoint and nothing else.

Only a salted hash of each secret is stored, in a JSON file written atomically with
permissions 0600. The file is re-read when it changes on disk; a file that cannot be read
disables keys (and says why in the log) without touching anything else.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import KeyRefused, KeysUnavailable, RateLimited

log = logging.getLogger(__name__)

PREFIX = "nrk"
FILE_VERSION = 1


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("utf-8")).hexdigest()


@dataclass
class EndpointKey:
    """One key, as stored (its secret only as a salted hash)."""

    id: str
    path: str
    label: str
    created: str
    expires: str | None
    salt: str
    hash: str
    last_used: str | None = None
    calls: int = 0

    def public(self) -> dict[str, Any]:
        """What the keys API shows: everything but the salt and hash."""
        return {
            "id": self.id,
            "path": self.path,
            "label": self.label,
            "created": self.created,
            "expires": self.expires,
            "last_used": self.last_used,
            "calls": self.calls,
        }

    def expired(self, now: datetime) -> bool:
        """Whether the key is past its expiry."""
        return self.expires is not None and datetime.fromisoformat(self.expires) <= now


_FIELDS = set(EndpointKey.__dataclass_fields__)


def split_secret(presented: str) -> tuple[str, str] | None:
    """``nrk_<id>_<secret>`` -> ``(id, whole secret)``; ``None`` when it cannot be a key."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], presented


class KeyStore:
    """The keys of one server, kept in ``file``."""

    def __init__(self, file: str | os.PathLike[str], *, flush_interval: float = 5.0) -> None:
        self.file = Path(file)
        self.flush_interval = flush_interval
        self._keys: dict[str, EndpointKey] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._broken: str | None = None
        self._dirty_since: float | None = None
        self._reload()

    # --- file -------------------------------------------------------------------------

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = self.file.stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _reload(self) -> None:
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        self._dirty_since = None
        if stamp is None:
            if self._keys:
                log.warning("keys file %s is gone: every endpoint key is revoked", self.file)
            self._keys, self._broken = {}, None
            return
        try:
            data = json.loads(self.file.read_text("utf-8"))
            if not isinstance(data, dict) or data.get("version") != FILE_VERSION:
                raise ValueError(f"expected an object with version {FILE_VERSION}")
            keys = {}
            for entry in data["keys"]:
                if not isinstance(entry, dict) or not _FIELDS >= set(entry) >= {"id", "hash"}:
                    raise ValueError(f"not a key entry: {entry!r:.80}")
                key = EndpointKey(**entry)
                bytes.fromhex(key.salt)
                keys[key.id] = key
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._keys = {}
            self._broken = f"the keys file {self.file} cannot be read ({exc})"
            log.error("endpoint keys are disabled: %s; fix or remove the file", self._broken)
            return
        self._keys, self._broken = keys, None

    def _write(self) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = {"version": FILE_VERSION, "keys": [asdict(k) for k in self._keys.values()]}
        handle, temp = tempfile.mkstemp(prefix=".keys-", dir=self.file.parent)
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(body, stream, indent=1)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, self.file)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        self._stamp = self._file_stamp()
        self._dirty_since = None

    def _usable(self) -> None:
        self._reload()
        if self._broken:
            raise KeysUnavailable(f"endpoint keys are unavailable: {self._broken}")

    def flush(self) -> None:
        """Write usage counts not yet written."""
        if self._dirty_since is not None and not self._broken:
            self._write()

    # --- API --------------------------------------------------------------------------

    def create(
        self, path: str, label: str, expires: datetime | None = None
    ) -> tuple[EndpointKey, str]:
        """A new key for ``path``; returns it and its secret (shown this once)."""
        self._usable()
        key_id = secrets.token_hex(6)
        while key_id in self._keys:
            key_id = secrets.token_hex(6)
        secret = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        salt = secrets.token_hex(16)
        key = EndpointKey(
            id=key_id,
            path=path,
            label=label,
            created=_iso(_now()) or "",
            expires=_iso(expires),
            salt=salt,
            hash=_digest(salt, secret),
        )
        self._keys[key_id] = key
        self._write()
        return key, secret

    def list(self, path: str | None = None) -> list[EndpointKey]:
        """Keys, oldest first, of one notebook or all."""
        self._usable()
        keys = [k for k in self._keys.values() if path is None or k.path == path]
        return sorted(keys, key=lambda k: (k.created, k.id))

    def revoke(self, key_id: str) -> bool:
        """Delete a key; ``False`` if there was none with that id."""
        self._usable()
        if self._keys.pop(key_id, None) is None:
            return False
        self._write()
        return True

    def verify(self, presented: str, path: str) -> EndpointKey:
        """The key ``presented`` if it opens ``path`` now; else :class:`KeyRefused`."""
        self._reload()
        if self._broken:  # an unverifiable key is refused like a wrong one
            raise KeyRefused("endpoint keys are unavailable on this server right now")
        parts = split_secret(presented)
        key = self._keys.get(parts[0]) if parts else None
        # Hash and compare even for an unknown id, so timing tells nothing.
        salt = key.salt if key else "00" * 16
        expected = key.hash if key else "0" * 64
        matches = hmac.compare_digest(_digest(salt, presented), expected)
        if key is None or not matches:
            raise KeyRefused("this key is not valid (unknown, revoked or mistyped)")
        if key.expired(_now()):
            raise KeyRefused(f"this key expired at {key.expires}")
        if key.path != path:
            raise KeyRefused("this key does not open this notebook")
        return key

    def label_of(self, key_id: str) -> str | None:
        """The label of the key ``key_id`` (for the log), ``None`` if there is no such key."""
        key = self._keys.get(key_id)
        return key.label if key else None

    def record_use(self, key: EndpointKey) -> None:
        """Count a call; written to disk at most every ``flush_interval`` seconds."""
        key.calls += 1
        key.last_used = _iso(_now())
        now = time.monotonic()
        if self._dirty_since is None:
            self._dirty_since = now
        if now - self._dirty_since >= self.flush_interval:
            with contextlib.suppress(OSError):
                self._write()


class RateLimiter:
    """At most ``per_minute`` calls per key in any sliding minute (0: unlimited)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._calls: dict[str, list[float]] = {}

    def check(self, key_id: str) -> None:
        """Count a call of ``key_id`` or raise :class:`RateLimited`."""
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        recent = [t for t in self._calls.get(key_id, []) if now - t < 60.0]
        if len(recent) >= self.per_minute:
            retry = max(1, int(60.0 - (now - recent[0])) + 1)
            self._calls[key_id] = recent
            raise RateLimited(
                f"this key may make {self.per_minute} calls a minute", retry_after=retry
            )
        recent.append(now)
        self._calls[key_id] = recent
