"""Endpoint keys: a secret that lets its holder call one notebook's endpoint of one server
and nothing else.

Only a salted hash of each secret is stored, in a JSON file written atomically with
permissions 0600, which several servers may share. Every change is read-modify-write under
an exclusive lock (``fcntl.flock`` on ``<file>.lock``), call counts merged, so no server
undoes another's change (a revoked key stays revoked); a server re-reads the file when it
changed on disk before it checks a key. A file that cannot be read disables keys (and says
why in the log) without touching anything else. The methods do file I/O: from the event
loop, call them in a thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import KeyRefused, KeysUnavailable, RateLimited

log = logging.getLogger(__name__)

PREFIX = "nrk"
#: 2: each key is bound to the root directory of the server that made it (``root``).
#: 3: each key records who made it (``creator``).
FILE_VERSION = 3
_READABLE_VERSIONS = (1, 2, 3)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("utf-8")).hexdigest()


def root_id(root_dir: str | os.PathLike[str]) -> str:
    """What binds a key to a server: a hash of its root directory's real path (the file
    does not need to say where the server's files are)."""
    return hashlib.sha256(os.path.realpath(root_dir).encode("utf-8")).hexdigest()


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
    #: :func:`root_id` of the server the key opens; ``None``: made before keys were bound.
    root: str | None = None
    #: Who made the key: ``{"username", "display_name"}`` of the server user who created
    #: it; ``None``: not known (made before keys recorded it, or by no known user).
    creator: dict[str, str] | None = None

    def public(self) -> dict[str, Any]:
        """What the keys API shows: everything but the salt, hash and root."""
        return {
            "id": self.id,
            "path": self.path,
            "label": self.label,
            "created": self.created,
            "expires": self.expires,
            "last_used": self.last_used,
            "calls": self.calls,
            "creator": dict(self.creator) if self.creator else None,
        }

    @property
    def creator_username(self) -> str | None:
        """The username of whoever made the key, if known (for the log)."""
        return self.creator.get("username") if self.creator else None

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


class _Unreadable(Exception):
    """The keys file is there but is not a keys file."""


def _parse(text: str) -> dict[str, EndpointKey]:
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") not in _READABLE_VERSIONS:
            raise ValueError(f"expected an object with a version in {_READABLE_VERSIONS}")
        keys = {}
        for entry in data["keys"]:
            if not isinstance(entry, dict) or not _FIELDS >= set(entry) >= {"id", "hash"}:
                raise ValueError(f"not a key entry: {entry!r:.80}")
            key = EndpointKey(**entry)
            bytes.fromhex(key.salt)
            if key.creator is not None and not (
                isinstance(key.creator, dict)
                and all(isinstance(v, str) for v in key.creator.values())
            ):
                raise ValueError(f"not a key's creator: {key.creator!r:.80}")
            keys[key.id] = key
    except (ValueError, KeyError, TypeError) as exc:
        raise _Unreadable(str(exc)) from None
    return keys


class KeyStore:
    """The keys of the server whose root is ``root`` (:func:`root_id`), kept in ``file``,
    which other servers may share: each sees and opens only its own keys."""

    def __init__(
        self, file: str | os.PathLike[str], *, root: str, flush_interval: float = 5.0
    ) -> None:
        self.file = Path(file)
        self.lock_file = self.file.with_name(self.file.name + ".lock")
        self.root = root
        self.flush_interval = flush_interval
        # Every entry of the file as last read (other servers' and unbound ones too).
        self._entries: dict[str, EndpointKey] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._broken: str | None = None
        self._unbound_reported = False
        self._loaded = False
        self._io = threading.RLock()  # the file and _entries
        # Calls counted since the last write: id -> (calls, last used); merged into the file.
        self._pending: dict[str, tuple[int, str]] = {}
        self._pending_lock = threading.Lock()
        self._dirty_since: float | None = None
        with self._io:
            self._reload()

    # --- file -------------------------------------------------------------------------

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = self.file.stat()
        except FileNotFoundError:
            return None
        # An atomic replace makes a new inode: a change is seen even within one mtime tick.
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _read(self) -> tuple[dict[str, EndpointKey], tuple[int, int, int] | None]:
        """The file's entries and stamp; no file: none. :class:`_Unreadable` or OSError."""
        stamp = self._file_stamp()
        if stamp is None:
            return {}, None
        text = self.file.read_text("utf-8")
        return _parse(text), self._file_stamp()

    def _reload(self) -> None:
        """Re-read the file if it changed on disk (another server, or a person, changed it)."""
        stamp = self._file_stamp()
        if self._loaded and stamp == self._stamp:
            return
        self._loaded = True
        try:
            entries, stamp = self._read()
        except (OSError, _Unreadable) as exc:
            self._entries, self._stamp = {}, stamp
            self._broken = f"the keys file {self.file} cannot be read ({exc})"
            log.error("endpoint keys are disabled: %s; fix or remove the file", self._broken)
            return
        if stamp is None and any(k.root == self.root for k in self._entries.values()):
            log.warning("keys file %s is gone: every endpoint key is revoked", self.file)
        self._entries, self._stamp, self._broken = entries, stamp, None
        self._report_unbound()

    def _report_unbound(self) -> None:
        unbound = sum(1 for k in self._entries.values() if k.root is None)
        if unbound and not self._unbound_reported:
            self._unbound_reported = True
            log.warning(
                "%d endpoint key(s) in %s were made before keys were bound to one server;"
                " they are refused: make new ones",
                unbound,
                self.file,
            )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """This process's and every other process's writers wait for the file."""
        with self._io:
            self.file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
                yield
            finally:
                os.close(handle)  # closing the descriptor releases the lock

    def _write(self, entries: dict[str, EndpointKey]) -> None:
        body = {"version": FILE_VERSION, "keys": [asdict(k) for k in entries.values()]}
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
        # The rename itself must reach the disk, or a crash can bring the old file back.
        directory = os.open(self.file.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self._entries, self._stamp = entries, self._file_stamp()

    def _take_pending(self) -> dict[str, tuple[int, str]]:
        with self._pending_lock:
            pending, self._pending = self._pending, {}
            self._dirty_since = None
        return pending

    def _restore_pending(self, pending: dict[str, tuple[int, str]]) -> None:
        with self._pending_lock:
            for key_id, (calls, last) in pending.items():
                more, later = self._pending.get(key_id, (0, last))
                self._pending[key_id] = (calls + more, max(last, later))
            if pending and self._dirty_since is None:
                self._dirty_since = time.monotonic()

    def _modify(self, change: Callable[[dict[str, EndpointKey]], bool]) -> None:
        """Read the file afresh under the lock, merge the calls counted here, apply
        ``change`` (``True``: it changed something) and write the file if anything did."""
        pending = self._take_pending()
        try:
            with self._locked():
                try:
                    entries, stamp = self._read()
                except _Unreadable as exc:
                    self._entries, self._stamp = {}, self._file_stamp()
                    self._broken = f"the keys file {self.file} cannot be read ({exc})"
                    raise KeysUnavailable(
                        f"endpoint keys are unavailable: {self._broken}"
                    ) from None
                self._broken = None
                changed = False
                for key_id, (calls, last) in pending.items():
                    key = entries.get(key_id)
                    if key is not None:  # a key revoked meanwhile stays revoked
                        entries[key_id] = replace(
                            key, calls=key.calls + calls, last_used=max(last, key.last_used or "")
                        )
                        changed = True
                changed = change(entries) or changed
                if changed:
                    self._write(entries)
                else:
                    self._entries, self._stamp = entries, stamp
        except BaseException:
            self._restore_pending(pending)
            raise

    def _usable(self) -> None:
        self._reload()
        if self._broken:
            raise KeysUnavailable(f"endpoint keys are unavailable: {self._broken}")

    def flush(self) -> None:
        """Write the calls counted here and not yet written, merged into the file as it is
        now (keys revoked or removed meanwhile are not brought back)."""
        with self._pending_lock:
            if not self._pending:
                return
        try:
            self._modify(lambda entries: False)
        except (OSError, KeysUnavailable) as exc:
            log.warning("endpoint key usage not written to %s: %s", self.file, exc)

    def flush_due(self) -> bool:
        """Whether counted calls have waited ``flush_interval`` seconds to be written."""
        since = self._dirty_since
        return since is not None and time.monotonic() - since >= self.flush_interval

    # --- API --------------------------------------------------------------------------

    def create(
        self,
        path: str,
        label: str,
        expires: datetime | None = None,
        creator: dict[str, str] | None = None,
    ) -> tuple[EndpointKey, str]:
        """A new key for ``path`` on this server, made by ``creator`` (``{"username",
        "display_name"}``, if known); returns it and its secret (shown once)."""
        made: list[tuple[EndpointKey, str]] = []

        def add(entries: dict[str, EndpointKey]) -> bool:
            key_id = secrets.token_hex(6)
            while key_id in entries:
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
                root=self.root,
                creator=dict(creator) if creator else None,
            )
            entries[key_id] = key
            made.append((key, secret))
            return True

        with self._io:
            self._usable()
            self._modify(add)
        return made[0]

    def list(self, path: str | None = None) -> list[EndpointKey]:
        """This server's keys, oldest first, of one notebook or all (calls counted here and
        not yet written included)."""
        with self._io:
            self._usable()
            keys = [
                k
                for k in self._entries.values()
                if k.root == self.root and (path is None or k.path == path)
            ]
        with self._pending_lock:
            pending = dict(self._pending)
        shown = []
        for key in keys:
            calls, last = pending.get(key.id, (0, None))
            if calls:
                key = replace(key, calls=key.calls + calls, last_used=last)
            shown.append(key)
        return sorted(shown, key=lambda k: (k.created, k.id))

    def revoke(self, key_id: str) -> bool:
        """Delete one of this server's keys; ``False`` if it has none with that id."""
        found: list[bool] = []

        def remove(entries: dict[str, EndpointKey]) -> bool:
            key = entries.get(key_id)
            if key is None or key.root != self.root:
                return False
            del entries[key_id]
            found.append(True)
            return True

        with self._io:
            self._usable()
            self._modify(remove)
        with self._pending_lock:
            self._pending.pop(key_id, None)
        return bool(found)

    def verify(self, presented: str, path: str) -> EndpointKey:
        """The key ``presented`` if it opens ``path`` on this server now (the file re-read
        if it changed); else :class:`KeyRefused`."""
        with self._io:
            self._reload()
            broken, entries = self._broken, self._entries
        if broken:  # an unverifiable key is refused like a wrong one
            raise KeyRefused("endpoint keys are unavailable on this server right now")
        parts = split_secret(presented)
        key = entries.get(parts[0]) if parts else None
        # Hash and compare even for an unknown id, so timing tells nothing.
        salt = key.salt if key else "00" * 16
        expected = key.hash if key else "0" * 64
        matches = hmac.compare_digest(_digest(salt, presented), expected)
        if key is None or not matches:
            raise KeyRefused("this key is not valid (unknown, revoked or mistyped)")
        if key.root is None:
            raise KeyRefused(
                "this key was made before keys were bound to one server, and is no longer"
                " accepted: ask for a new one"
            )
        if key.root != self.root:
            raise KeyRefused("this key was made for another server (another root directory)")
        if key.expired(_now()):
            raise KeyRefused(f"this key expired at {key.expires}")
        if key.path != path:
            raise KeyRefused("this key does not open this notebook")
        return key

    def get(self, key_id: str) -> EndpointKey | None:
        """The key ``key_id`` as last read (no I/O; for the log), ``None`` if none."""
        return self._entries.get(key_id)

    def record_use(self, key: EndpointKey) -> bool:
        """Count a call (in memory, no I/O); ``True`` when the counts are due to be written
        (:meth:`flush`, every ``flush_interval`` seconds at most)."""
        with self._pending_lock:
            calls, _ = self._pending.get(key.id, (0, ""))
            self._pending[key.id] = (calls + 1, _iso(_now()) or "")
            if self._dirty_since is None:
                self._dirty_since = time.monotonic()
        return self.flush_due()


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
