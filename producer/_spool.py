"""A durable local spool: every accepted event is on disk until Kinesis acknowledged it.

Layout of a spool directory::

    LOCK                        flock()ed by the one live producer using the directory
    00000000000000000007.seg    segment files, appended in id order

A segment is a sequence of frames ``[u32 length][u32 crc32(payload)][payload]`` (little-endian);
a zero length ends it. The active segment is preallocated and written through a shared memory
map, so an append is a memory copy (well under a microsecond) and is in the kernel's page cache
the moment it returns: it survives the process being SIGKILLed. Surviving a power cut needs the
pages on disk too; that is the :class:`FsyncPolicy`.

Acknowledgement is counted per segment: once every frame of a sealed segment is acknowledged the
file is deleted. A producer started on a directory replays every frame of the segments it finds
(the backlog), so an event can be sent twice after a crash (same ``event_id``; the consumer
dedupes), never zero times. A torn or corrupt frame ends its segment's replay with a warning: it
can only be an append that never returned, since every frame before it was complete.

Disk use is bounded by ``max_bytes``: sealed segments count their size, the active one its full
preallocated size; opening a new segment that would cross the bound raises SpoolFullError.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import mmap
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ._errors import SpoolError, SpoolFullError, SpoolLockedError

logger = logging.getLogger(__name__)

FRAME_HEADER = struct.Struct("<II")
_pack_header_into = FRAME_HEADER.pack_into
SEGMENT_SUFFIX = ".seg"
LOCK_NAME = "LOCK"


class FsyncPolicy(StrEnum):
    """When spooled events are forced to disk (all policies survive a process crash)."""

    NEVER = "never"  # leave it to the kernel: survives a crash of the process, not of the machine
    INTERVAL = "interval"  # the sender thread flushes every fsync_interval_ms: lose at most that on power loss
    ALWAYS = "always"  # every put() flushes before returning: slow (a disk flush per event)


@dataclass
class _Segment:
    id: int
    path: Path
    frames: int = 0  # frames appended (active) or found (backlog)
    acked: int = 0
    used: int = 0  # bytes of valid frames
    disk: int = 0  # bytes the file takes on disk (preallocated size while active)
    sealed: bool = False


def _segment_path(directory: Path, segment_id: int) -> Path:
    return directory / f"{segment_id:020d}{SEGMENT_SUFFIX}"


def scan_frames(data: bytes | memoryview) -> Iterator[tuple[int, bytes]]:
    """(offset, payload) of every valid frame of a segment's bytes, stopping at the end marker,
    a torn frame or a CRC mismatch."""
    offset = 0
    size = len(data)
    header = FRAME_HEADER.size
    while offset + header <= size:
        length, crc = FRAME_HEADER.unpack_from(data, offset)
        if length == 0:
            return
        end = offset + header + length
        if end > size:
            logger.warning("spool segment: torn frame at byte %s (%s bytes, %s left)", offset, length, size - offset)
            return
        payload = bytes(data[offset + header : end])
        if zlib.crc32(payload) != crc:
            logger.warning("spool segment: CRC mismatch at byte %s; the rest of the segment is not replayed", offset)
            return
        yield offset, payload
        offset = end


class Spool:
    """Append-only, crash-safe store of encoded events. Not thread-safe: the producer holds its
    lock around every call."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int,
        segment_bytes: int,
        fsync: FsyncPolicy = FsyncPolicy.INTERVAL,
    ) -> None:
        if segment_bytes <= FRAME_HEADER.size or max_bytes < segment_bytes:
            raise ValueError(f"need max_bytes >= segment_bytes > {FRAME_HEADER.size}")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsync = FsyncPolicy(fsync)
        self._segments: dict[int, _Segment] = {}
        self._active: _Segment | None = None
        self._map: mmap.mmap | None = None
        self._fd = -1
        # the active segment's write position and frame count live here, not on the _Segment: hot path
        self._active_id = -1
        self._pos = 0
        self._frames = 0
        self._dirty = False
        self._closed = False
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._lock_fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SpoolError(f"cannot use spool directory {self.directory}: {exc}") from exc
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lock_fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise SpoolLockedError(f"spool {self.directory} is in use by another live producer") from exc
            raise SpoolError(f"cannot lock spool {self.directory}: {exc}") from exc
        self._backlog = self._scan()
        self._backlog_left = sum(s.frames for s in self._backlog)
        self._next_id = max(self._segments, default=0) + 1

    # --- backlog -------------------------------------------------------------------------
    def _scan(self) -> list[_Segment]:
        backlog = []
        for path in sorted(self.directory.glob(f"*{SEGMENT_SUFFIX}")):
            try:
                segment_id = int(path.stem)
            except ValueError:
                logger.warning("spool %s: ignoring unexpected file %s", self.directory, path.name)
                continue
            data = path.read_bytes()
            frames = 0
            used = 0
            for offset, payload in scan_frames(data):
                frames += 1
                used = offset + FRAME_HEADER.size + len(payload)
            if frames == 0:
                path.unlink()
                continue
            if used < len(data):
                os.truncate(path, used)  # drop the preallocated tail (and any torn frame)
            segment = _Segment(segment_id, path, frames=frames, used=used, disk=used, sealed=True)
            self._segments[segment_id] = segment
            backlog.append(segment)
        if backlog:
            logger.info(
                "spool %s: %s unacknowledged events in %s segments to replay",
                self.directory,
                sum(s.frames for s in backlog),
                len(backlog),
            )
        return backlog

    @property
    def backlog_events(self) -> int:
        """Events found on disk at open and not yet handed out by :meth:`replay`."""
        return self._backlog_left

    def replay(self) -> Iterator[tuple[int, bytes]]:
        """(segment id, payload) of every event found at open; acknowledge them with :meth:`ack`."""
        return self._replay()

    def _replay(self) -> Iterator[tuple[int, bytes]]:
        for segment in self._backlog:
            data = segment.path.read_bytes()
            for count, (_, payload) in enumerate(scan_frames(data), start=1):
                if count > segment.frames:
                    break
                self._backlog_left -= 1
                yield segment.id, payload
        self._backlog = []

    # --- appends -------------------------------------------------------------------------
    def append(self, payload: bytes) -> int:
        """Store one event; return the id of its segment (for :meth:`ack`)."""
        size = len(payload)
        start = self._pos
        end = start + FRAME_HEADER.size + size
        if end > self.segment_bytes or self._map is None:
            if FRAME_HEADER.size + size > self.segment_bytes:
                raise SpoolError(f"event of {size} bytes is larger than a spool segment")
            self._rotate()
            start = 0
            end = FRAME_HEADER.size + size
        mapped = self._map
        assert mapped is not None
        _pack_header_into(mapped, start, size, zlib.crc32(payload))
        mapped[start + FRAME_HEADER.size : end] = payload
        self._pos = end
        self._frames += 1
        if self.fsync is FsyncPolicy.ALWAYS:
            mapped.flush()
        else:
            self._dirty = True
        return self._active_id

    def _rotate(self) -> _Segment:
        if self._closed:
            raise SpoolError(f"spool {self.directory} is closed")
        self._seal_active()
        if self.disk_bytes + self.segment_bytes > self.max_bytes:
            raise SpoolFullError(
                f"spool {self.directory} holds {self.disk_bytes} bytes; a new {self.segment_bytes}-byte segment "
                f"would exceed max_spool_bytes={self.max_bytes}"
            )
        segment = _Segment(self._next_id, _segment_path(self.directory, self._next_id), disk=self.segment_bytes)
        fd = os.open(segment.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if hasattr(os, "posix_fallocate"):
                # reserve the blocks now: a full disk must be an error here, not SIGBUS on a mapped write
                os.posix_fallocate(fd, 0, self.segment_bytes)
            else:  # pragma: no cover - macOS
                os.ftruncate(fd, self.segment_bytes)
            self._map = mmap.mmap(fd, self.segment_bytes, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as exc:
            os.close(fd)
            segment.path.unlink(missing_ok=True)
            if exc.errno == errno.ENOSPC:
                raise SpoolFullError(f"no disk space for a new spool segment in {self.directory}") from exc
            raise SpoolError(f"cannot create spool segment {segment.path}: {exc}") from exc
        self._fd = fd
        self._next_id += 1
        self._segments[segment.id] = segment
        self._active = segment
        self._active_id = segment.id
        self._pos = 0
        self._frames = 0
        if self.fsync is not FsyncPolicy.NEVER:
            self._sync_directory()
        return segment

    def _seal_active(self) -> None:
        segment = self._active
        if segment is None:
            return
        assert self._map is not None
        segment.used = self._pos
        segment.frames = self._frames
        if self.fsync is not FsyncPolicy.NEVER:
            self._map.flush()
        self._map.close()
        os.ftruncate(self._fd, segment.used)
        os.close(self._fd)
        self._map = None
        self._fd = -1
        self._active = None
        segment.sealed = True
        segment.disk = segment.used
        self._maybe_delete(segment)

    # --- acknowledgements ----------------------------------------------------------------
    def ack(self, segment_id: int, count: int) -> None:
        """``count`` events of segment ``segment_id`` reached Kinesis."""
        segment = self._segments.get(segment_id)
        if segment is None:
            raise SpoolError(f"ack for unknown spool segment {segment_id}")
        segment.acked += count
        self._maybe_delete(segment)

    def _maybe_delete(self, segment: _Segment) -> None:
        if segment.sealed and segment.acked >= segment.frames:
            segment.path.unlink(missing_ok=True)
            del self._segments[segment.id]

    # --- state ---------------------------------------------------------------------------
    @property
    def disk_bytes(self) -> int:
        """Bytes the segment files take: sealed ones their size, the active one its preallocated size."""
        return sum(s.disk for s in self._segments.values())

    @property
    def segment_count(self) -> int:
        return len(self._segments)

    def sync(self) -> None:
        """Force appended events to disk (the INTERVAL policy calls this periodically)."""
        if self._dirty and self._map is not None:
            self._map.flush()
        self._dirty = False

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Seal the active segment (deleting it if fully acknowledged) and release the lock."""
        if self._closed:
            return
        self._closed = True
        try:
            self._seal_active()
        finally:
            os.close(self._lock_fd)
