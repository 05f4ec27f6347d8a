"""Copy-ahead: the pages a call writes, copied before it comes.

A forked child shares its pages with the kernel until it writes one; each first write then
costs a copy-on-write fault, and a pandas call pays thousands of them (more than doubling
its time). After a call, a learning child reports which pages of its memory the call wrote
(those now exclusively its own, from /proc/self/pagemap: the kernel's pages it copied and
new pages of mappings it had); the next children copy those pages in bulk with
madvise(MADV_POPULATE_WRITE) in a lowest-priority thread while they wait, so the call finds
them already private. The CPU is about what the faults would take, but off the call's path.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import os
import re
import struct
import threading
from collections.abc import Iterable
from typing import Any

from .processes import libc

_PAGE = mmap.PAGESIZE
_MADV_POPULATE_WRITE = 23  # Linux 5.14+
# Fewer faults than this per call (a millisecond or so): copying ahead is not worth it.
COPY_AHEAD_MIN_FAULTS = 256
# The learning children's reports that make the pages copied ahead: the latest ones.
LEARNED_REPORTS = 5
# Byte 7 of a little-endian pagemap entry: bit 63 "present", bit 56 "exclusively mapped".
_OWN = re.compile(b"[" + bytes(range(0x81, 0x100, 2)) + b"]+")  # present, this process's alone
Ranges = list[tuple[int, int]]


def writable_ranges() -> Ranges:
    """The private writable mappings of this process (``[start, end)`` addresses)."""
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if fields[1][1] == "w" and fields[1][3] == "p":
                start, end = fields[0].split("-")
                ranges.append((int(start, 16), int(end, 16)))
    return ranges


class PageScanner:
    """Reads this process's page flags from /proc/self/pagemap.

    Its buffers are made once, up front, so that a scan writes almost no memory of its own
    (it runs after a call, to see what the call wrote).
    """

    CHUNK = 8192  # pages per read

    def __init__(self) -> None:
        self.entries = bytearray(8 * self.CHUNK)
        self.flags = bytearray(self.CHUNK)

    def pages(self, ranges: Ranges) -> Ranges:
        """The pages of ``ranges`` this process holds alone (written since the fork, or
        new)."""
        entries, flags = memoryview(self.entries), memoryview(self.flags)
        found: Ranges = []
        fd = os.open("/proc/self/pagemap", os.O_RDONLY)
        try:
            for start, end in ranges:
                for first in range(start, end, self.CHUNK * _PAGE):
                    count = min(self.CHUNK, (end - first) // _PAGE)
                    got = os.preadv(fd, [entries[: 8 * count]], first // _PAGE * 8) // 8
                    flags[:got] = entries[7 : 8 * got : 8]
                    found.extend(
                        (first + run.start() * _PAGE, first + run.end() * _PAGE)
                        for run in _OWN.finditer(flags[:got])
                    )
        finally:
            os.close(fd)
        return _union(found)


def _union(ranges: Ranges) -> Ranges:
    merged: Ranges = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        elif end > start:
            merged.append((start, end))
    return merged


def subtract_ranges(ranges: Ranges, minus: Ranges) -> Ranges:
    """The parts of sorted disjoint ``ranges`` outside sorted disjoint ``minus``."""
    left: Ranges = []
    index = 0
    for start, end in ranges:
        while index < len(minus) and minus[index][1] <= start:
            index += 1
        cursor, probe = start, index
        while probe < len(minus) and minus[probe][0] < end:
            if minus[probe][0] > cursor:
                left.append((cursor, minus[probe][0]))
            cursor = max(cursor, minus[probe][1])
            probe += 1
        if cursor < end:
            left.append((cursor, end))
    return left


def ranges_size(ranges: Ranges) -> int:
    """Bytes covered by disjoint ``ranges``."""
    return sum(end - start for start, end in ranges)


def learned_ranges(reports: Iterable[Ranges], limit: int) -> Ranges:
    """The union of the pages ``reports`` name (sorted, disjoint), cut to its first
    ``limit`` bytes in address order."""
    union = _union([pages for report in reports for pages in report])
    if ranges_size(union) <= limit:
        return union
    cut: Ranges = []
    room = limit - limit % _PAGE
    for start, end in union:
        if room <= 0:
            break
        end = min(end, start + room)
        cut.append((start, end))
        room -= end - start
    return cut


def _madvise() -> Any:
    return libc("madvise", ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


def copy_pages(ranges: Ranges, stop: threading.Event | None = None) -> int:
    """Break copy-on-write sharing of ``ranges`` now (until ``stop`` is set); returns the
    bytes copied."""
    madvise = _madvise()
    if madvise is None:
        return 0
    copied = 0
    for start, end in ranges:
        if stop is not None and stop.is_set():
            break
        # A range gone since it was learned (freed, remapped) just fails: skip it.
        if madvise(start, end - start, _MADV_POPULATE_WRITE) == 0:
            copied += end - start
    return copied


def copy_ahead_works() -> bool:
    """Whether this system can both see which pages a process wrote (Linux's
    /proc/self/pagemap) and copy pages ahead (MADV_POPULATE_WRITE, Linux 5.14+)."""
    try:
        with open("/proc/self/pagemap", "rb"):
            pass
        probe = mmap.mmap(-1, _PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except (OSError, AttributeError):
        return False
    try:
        address = ctypes.addressof(ctypes.c_char.from_buffer(probe))
        return copy_pages([(address, address + _PAGE)]) == _PAGE
    finally:
        probe.close()


class CopyAhead(threading.Thread):
    """Copies pages ahead at the lowest priority (Linux sets it per thread), so that a
    call on any CPU comes first."""

    def __init__(self, ranges: Ranges) -> None:
        super().__init__(name="restified-copy-ahead", daemon=True)
        self.ranges = ranges
        self.copied = 0
        self.stopped = threading.Event()
        self.start()

    def run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        self.copied = copy_pages(self.ranges, self.stopped)

    def stop(self) -> None:
        """Stop at the end of the range being copied: the call has come, and from now on
        takes its own faults (copying on beside it costs more CPU than it saves)."""
        self.stopped.set()

    def bytes_copied(self) -> int:
        """Once stopped, the bytes copied."""
        self.join()
        return self.copied


def pack_report(faults: int, copied: int, ranges: Ranges) -> bytes:
    """A child's report: the page faults its call took, the bytes it had copied ahead, and
    (if it learns for the others) the kernel's pages its call wrote."""
    flat = [address for pair in ranges for address in pair]
    return b"P" + struct.pack(f"!QQQ{len(flat)}Q", faults, copied, len(flat), *flat)


def unpack_report(data: bytes) -> tuple[int, int, Ranges] | None:
    """``(faults, copied, ranges)`` from :func:`pack_report`; None if cut short."""
    if not data.startswith(b"P") or len(data) < 25:
        return None
    faults, copied, count = struct.unpack_from("!QQQ", data, 1)
    if len(data) != 25 + count * 8 or count % 2:
        return None
    flat = struct.unpack_from(f"!{count}Q", data, 25)
    return faults, copied, [(flat[i], flat[i + 1]) for i in range(0, count, 2)]
