"""A durable local spool: every accepted event is on disk until Kinesis acknowledged it.

Layout of a spool directory::

    SPOOL                       metadata written at creation: format and the stream it belongs to
    LOCK                        flock()ed by the live producer (older versions locked only this file)
    00000000000000000007.seg    segment files, appended in id order
    SPARE                       at times: an acknowledged segment, zeroed and renamed to be the next one

The live producer flock()s the directory itself (and LOCK, for older versions): a lock held by
inode, so deleting LOCK while a producer runs lets no second one in.

A segment starts with a 16-byte header (``NLSPOOL`` + format byte, the preallocated size) and
holds frames ``[u8 kind][u8 0][u16 length][u32 adler32(payload)][payload]`` (little-endian):
kind 0xA5 is an event, kind 0x5A the seal (payload: u64 count of event frames) written when the
segment is closed. The active segment is preallocated and written through a shared memory map,
so an append is a memory copy and is in the kernel's page cache the moment it returns: it
survives the process being SIGKILLed. Surviving a power cut needs the pages on disk too; that
is the :class:`FsyncPolicy`. The bytes and their scan are in :mod:`._spool_format`; segments of
format 1 (no header; frames ``[u32 length][u32 crc32][payload]``) of older versions are still read.

Acknowledgement is counted per segment: once every frame of a sealed segment is acknowledged the
file is deleted (or kept as the SPARE: its blocks and cached pages make the next segment cheap).
A producer started on a directory replays every valid frame of the segments it finds (the
backlog), so an event can be sent twice after a crash (same ``event_id``; the consumer dedupes),
never zero times. Recovery loses only what is damaged: a frame whose checksum fails is
skipped and the scan resynchronises on the next valid frame; the file, the bytes and (when the
seal frame survived) the frames lost are logged at WARNING and counted (:attr:`Spool.frames_lost`,
:attr:`Spool.bytes_lost`). A torn frame followed only by the zeroed preallocated tail of an
unsealed segment is an append that never returned (the process died inside put()): logged, not
counted as lost.

Disk use is bounded by ``max_bytes``: sealed segments count their size, the active one its full
preallocated size; opening a new segment that would cross the bound raises SpoolFullError. Every
file system error is raised as a :class:`SpoolError` subclass carrying the path.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import mmap
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ._errors import (
    SpoolError,
    SpoolFullError,
    SpoolIOError,
    SpoolLockedError,
    SpoolPermissionError,
    SpoolStreamMismatchError,
)
from ._spool_format import (
    EVENT_FRAME,
    FORMAT,
    FRAME_HEADER,
    MAX_PAYLOAD_BYTES,
    SEAL_BYTES,
    SEAL_FRAME,
    SEAL_PAYLOAD,
    SEGMENT_HEADER,
    SEGMENT_MAGIC,
    SegmentScan,
    checksum,
    scan_segment,
)

logger = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".seg"
LOCK_NAME = "LOCK"
META_NAME = "SPOOL"
SPARE_NAME = "SPARE"  # an acknowledged segment kept to be the next one: its blocks and pages are ready

_pack_frame_header = FRAME_HEADER.pack
_checksum = checksum
#: madvise(2) MADV_POPULATE_WRITE (Linux 5.14); the mmap module does not name it
_MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)


class FsyncPolicy(StrEnum):
    """When spooled events are forced to disk (all policies survive a process crash)."""

    NEVER = "never"  # leave it to the kernel: survives a crash of the process, not of the machine
    INTERVAL = "interval"  # the sender thread flushes every fsync_interval_ms: lose at most that on power loss
    ALWAYS = "always"  # every put() flushes before returning: slow (a disk flush per event)


def spool_error(exc: OSError, path: str | os.PathLike[str], doing: str) -> SpoolError:
    """The SpoolError subclass for a file system error while ``doing`` something to ``path``."""
    code = exc.errno
    name = errno.errorcode.get(code, str(code)) if code is not None else "?"
    message = f"cannot {doing} {path}: {exc.strerror or exc} [{name}]"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return SpoolFullError(message + " (out of disk space or inodes)", path=path)
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return SpoolPermissionError(message, path=path)
    return SpoolIOError(message, path=path)


@dataclass
class _Segment:
    id: int
    path: Path
    frames: int = 0  # event frames appended (active: set when sealed) or found (backlog)
    acked: int = 0
    disk: int = 0  # bytes the file takes on disk (preallocated size while active)
    sealed: bool = False
    first: int = -1  # append index of its first frame (segments written by this spool), -1 for backlog
    used: int = 0  # bytes written (header, frames, seal) by this spool


def _segment_path(directory: Path, segment_id: int) -> Path:
    return directory / f"{segment_id:020d}{SEGMENT_SUFFIX}"


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
        stream: str | None = None,
    ) -> None:
        if segment_bytes <= SEGMENT_HEADER.size + SEAL_BYTES + FRAME_HEADER.size or max_bytes < segment_bytes:
            raise ValueError(f"need max_bytes >= segment_bytes > {SEGMENT_HEADER.size + SEAL_BYTES}")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsync = FsyncPolicy(fsync)
        self.stream = stream
        #: event frames lost to damage found at open (exact when a seal frame survived, else at least)
        self.frames_lost = 0
        #: bytes of the segments found at open that held no valid frame
        self.bytes_lost = 0
        self._segments: dict[int, _Segment] = {}
        self._active: _Segment | None = None
        self._map: mmap.mmap | None = None
        self._fd = -1
        # the hot path: bytes left in the active segment (seal frame reserved), its write method
        self._room = 0
        self._write: Callable[[bytes], int] = _closed_write
        self._always = self.fsync is FsyncPolicy.ALWAYS
        self._appended = 0  # frames appended by this spool; an append's index is the count before it
        self._synced = 0  # map position at the last sync
        self._spare = 0  # bytes written in the SPARE file (0: there is none)
        self._closed = False
        self._forked = False
        self._dir_fd = -1
        self._lock_fd = -1
        self._lock()
        try:
            self._check_metadata(stream)
            self._backlog = self._scan()
        except BaseException:
            self._release()
            raise
        self._backlog_left = sum(s.frames for s in self._backlog)
        self._next_id = max(self._segments, default=0) + 1

    # --- ownership -----------------------------------------------------------------------
    def _lock(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise spool_error(exc, self.directory, "create spool directory") from exc
        try:
            self._dir_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise spool_error(exc, self.directory, "open spool directory") from exc
        try:
            fcntl.flock(self._dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            lock_path = self.directory / LOCK_NAME
            try:
                self._lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise spool_error(exc, lock_path, "create the lock file") from exc
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what producers before format 2 lock
        except OSError as exc:
            self._release()
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise SpoolLockedError(
                    f"spool {self.directory} is in use by another live producer", path=self.directory
                ) from exc
            raise spool_error(exc, self.directory, "lock spool") from exc
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        for fd in (self._lock_fd, self._dir_fd):
            if fd >= 0:
                os.close(fd)
        self._lock_fd = self._dir_fd = -1

    def _check_metadata(self, stream: str | None) -> None:
        path = self.directory / META_NAME
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raw = None
        except OSError as exc:
            raise spool_error(exc, path, "read spool metadata") from exc
        if raw is not None:
            try:
                meta = json.loads(raw)
                recorded = meta["stream"]
            except (ValueError, KeyError, TypeError) as exc:
                raise SpoolError(
                    f"spool metadata {path} is unreadable ({exc!r}); refusing to guess", path=path
                ) from exc
            if stream is not None and recorded is not None and recorded != stream:
                raise SpoolStreamMismatchError(
                    f"spool {self.directory} belongs to stream {recorded!r}, not {stream!r}: its events must not "
                    f"be sent to another stream (use another spool_dir)",
                    path=self.directory,
                )
            if recorded is not None or stream is None:
                return
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps({"format": FORMAT, "stream": stream}) + "\n")
            os.replace(tmp, path)
            self._sync_directory()
        except OSError as exc:
            raise spool_error(exc, path, "write spool metadata") from exc

    # --- backlog -------------------------------------------------------------------------
    def _scan(self) -> list[_Segment]:
        self._unlink(self.directory / SPARE_NAME)  # a spare left by a crash holds nothing
        backlog = []
        for path in sorted(self.directory.glob(f"*{SEGMENT_SUFFIX}")):
            try:
                segment_id = int(path.stem)
            except ValueError:
                logger.warning("spool %s: ignoring unexpected file %s", self.directory, path.name)
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise spool_error(exc, path, "read spool segment") from exc
            scan = scan_segment(data)
            self._report(path, scan)
            if not scan.frames:
                self._unlink(path)
                continue
            segment = _Segment(segment_id, path, frames=len(scan.frames), disk=len(data), sealed=True)
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

    def _report(self, path: Path, scan: SegmentScan) -> None:
        if scan.torn_tail is not None:
            start, end = scan.torn_tail
            logger.warning(
                "spool segment %s: torn last frame at bytes %s-%s (an append that never returned, not accepted)",
                path,
                start,
                end,
            )
        if scan.damaged:
            lost = scan.frames_lost
            self.frames_lost += lost
            self.bytes_lost += scan.bytes_lost
            logger.warning(
                "spool segment %s: %s damaged byte range(s) skipped, %s bytes and %s%s event(s) LOST; "
                "%s valid events kept (byte ranges %s)",
                path,
                len(scan.damaged),
                scan.bytes_lost,
                "" if scan.sealed_frames is not None else "at least ",
                lost,
                len(scan.frames),
                scan.damaged[:10],
            )

    @property
    def backlog_events(self) -> int:
        """Events found on disk at open and not yet handed out by :meth:`replay`."""
        return self._backlog_left

    def replay(self) -> Iterator[tuple[int, bytes]]:
        """(segment id, payload) of every event found at open; acknowledge them with :meth:`ack`."""
        return self._replay()

    def _replay(self) -> Iterator[tuple[int, bytes]]:
        for segment in self._backlog:
            try:
                data = segment.path.read_bytes()
            except OSError as exc:
                raise spool_error(exc, segment.path, "read spool segment") from exc
            frames = scan_segment(data).frames[: segment.frames]
            for offset, length in frames:
                self._backlog_left -= 1
                yield segment.id, data[offset : offset + length]
        self._backlog = []

    # --- appends -------------------------------------------------------------------------
    def append(self, payload: bytes) -> int:
        """Store one event (non-empty, at most 64 KiB); return its append index (for :meth:`ack_appended`)."""
        need = len(payload) + 8  # FRAME_HEADER.size
        if need > self._room:
            self._rotate(need)
        self._room -= need
        write = self._write
        write(_pack_frame_header(EVENT_FRAME, need - 8, _checksum(payload)))
        write(payload)
        if self._always:
            self.sync()
        index = self._appended
        self._appended = index + 1
        return index

    @property
    def appended(self) -> int:
        """Events appended by this spool (the next append's index)."""
        return self._appended

    def _rotate(self, need: int) -> None:
        if self._closed:
            raise SpoolError(f"spool {self.directory} is closed", path=self.directory)
        if self._forked:
            raise SpoolError(f"spool {self.directory} belongs to the parent process", path=self.directory)
        if need - FRAME_HEADER.size > MAX_PAYLOAD_BYTES or need > self.segment_bytes - SEGMENT_HEADER.size - SEAL_BYTES:
            raise SpoolError(f"event of {need - FRAME_HEADER.size} bytes is too large for a spool segment")
        self._seal_active(truncate=False)  # full, or nearly: its preallocated size stays
        spare = self.segment_bytes if self._spare else 0
        if self.disk_bytes - spare + self.segment_bytes > self.max_bytes:
            raise SpoolFullError(
                f"spool {self.directory} holds {self.disk_bytes - spare} bytes; a new {self.segment_bytes}-byte "
                f"segment would exceed max_spool_bytes={self.max_bytes}",
                path=self.directory,
            )
        segment = _Segment(self._next_id, _segment_path(self.directory, self._next_id), disk=self.segment_bytes)
        fd, mapped = self._reuse_spare(segment) if self._spare else self._create(segment)
        self._map = mapped
        self._write = mapped.write
        self._fd = fd
        self._next_id += 1
        segment.first = self._appended
        self._segments[segment.id] = segment
        self._active = segment
        self._room = self.segment_bytes - SEGMENT_HEADER.size - SEAL_BYTES
        self._synced = 0
        if self.fsync is not FsyncPolicy.NEVER:
            self._sync_directory()

    def _create(self, segment: _Segment) -> tuple[int, mmap.mmap]:
        try:
            fd = os.open(segment.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise spool_error(exc, segment.path, "create spool segment") from exc
        try:
            if hasattr(os, "posix_fallocate"):
                # reserve the blocks now: a full disk must be an error here, not SIGBUS on a mapped write
                os.posix_fallocate(fd, 0, self.segment_bytes)
            else:  # pragma: no cover - macOS
                os.ftruncate(fd, self.segment_bytes)
            mapped = self._map_segment(fd)
        except OSError as exc:
            os.close(fd)
            segment.path.unlink(missing_ok=True)
            raise spool_error(exc, segment.path, "create spool segment") from exc
        mapped.write(SEGMENT_HEADER.pack(SEGMENT_MAGIC, self.segment_bytes, 0))
        return fd, mapped

    def _reuse_spare(self, segment: _Segment) -> tuple[int, mmap.mmap]:
        """The SPARE file, zeroed where it was written, becomes ``segment`` (renamed only once zeroed)."""
        spare = self.directory / SPARE_NAME
        written, self._spare = self._spare, 0
        try:
            fd = os.open(spare, os.O_RDWR)
        except OSError as exc:
            raise spool_error(exc, spare, "reuse spool segment") from exc
        try:
            # writing the zeros faults every page in: no need to populate first
            mapped = mmap.mmap(fd, self.segment_bytes, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            mapped.write(_zeros(written))  # an acknowledged past must not look like frames
            mapped.seek(0)
            mapped.write(SEGMENT_HEADER.pack(SEGMENT_MAGIC, self.segment_bytes, 0))
            os.replace(spare, segment.path)
        except OSError as exc:
            os.close(fd)
            spare.unlink(missing_ok=True)
            raise spool_error(exc, segment.path, "reuse spool segment") from exc
        return fd, mapped

    def _map_segment(self, fd: int) -> mmap.mmap:
        mapped = mmap.mmap(fd, self.segment_bytes, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        try:  # fault every page in at once: far cheaper than one page fault per few appends
            mapped.madvise(_MADV_POPULATE_WRITE)
        except (OSError, ValueError):  # pragma: no cover - kernels before 5.14
            pass
        return mapped

    def _seal_active(self, *, truncate: bool) -> None:
        segment = self._active
        if segment is None:
            return
        mapped = self._map
        assert mapped is not None
        segment.frames = self._appended - segment.first
        payload = SEAL_PAYLOAD.pack(segment.frames)
        mapped.write(_pack_frame_header(SEAL_FRAME, len(payload), _checksum(payload)) + payload)
        used = mapped.tell()
        self._map = None
        self._write = _closed_write
        self._room = 0
        self._active = None
        try:
            if self.fsync is not FsyncPolicy.NEVER:
                mapped.flush()
            mapped.close()
            if truncate:
                os.ftruncate(self._fd, used)
        except OSError as exc:
            raise spool_error(exc, segment.path, "seal spool segment") from exc
        finally:
            os.close(self._fd)
            self._fd = -1
        segment.sealed = True
        segment.used = used
        if truncate:
            segment.disk = used
        self._maybe_delete(segment)

    # --- acknowledgements ----------------------------------------------------------------
    def ack(self, segment_id: int, count: int) -> None:
        """``count`` events of segment ``segment_id`` reached Kinesis (replayed events)."""
        segment = self._segments.get(segment_id)
        if segment is None:
            raise SpoolError(f"ack for unknown spool segment {segment_id}", path=self.directory)
        segment.acked += count
        self._maybe_delete(segment)

    def ack_appended(self, first: int, count: int) -> None:
        """The ``count`` events appended at indexes ``first``... reached Kinesis."""
        end = first + count
        for segment in list(self._segments.values()):
            if segment.first < 0:
                continue
            stop = segment.first + segment.frames if segment.sealed else self._appended
            overlap = min(end, stop) - max(first, segment.first)
            if overlap > 0:
                segment.acked += overlap
                self._maybe_delete(segment)

    def _maybe_delete(self, segment: _Segment) -> None:
        if segment.sealed and segment.acked >= segment.frames:
            del self._segments[segment.id]
            if self._spare or self._closed or segment.disk != self.segment_bytes or segment.first < 0:
                self._unlink(segment.path)
                return
            try:
                os.replace(segment.path, self.directory / SPARE_NAME)
            except OSError as exc:
                raise spool_error(exc, segment.path, "recycle spool segment") from exc
            self._spare = segment.used

    def _unlink(self, path: Path) -> None:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise spool_error(exc, path, "delete spool segment") from exc

    # --- state ---------------------------------------------------------------------------
    @property
    def disk_bytes(self) -> int:
        """Bytes the segment files take: sealed ones their size, the active one (and a spare) its
        preallocated size."""
        return sum(s.disk for s in self._segments.values()) + (self.segment_bytes if self._spare else 0)

    @property
    def segment_count(self) -> int:
        return len(self._segments)

    def sync(self) -> None:
        """Force appended events to disk (the INTERVAL policy calls this periodically)."""
        mapped = self._map
        if mapped is None:
            return
        position = mapped.tell()
        if position != self._synced:
            try:
                mapped.flush()
            except OSError as exc:
                raise spool_error(exc, self._active.path if self._active else self.directory, "sync spool") from exc
            self._synced = position

    def _sync_directory(self) -> None:
        try:
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise spool_error(exc, self.directory, "sync spool directory") from exc

    def close(self) -> None:
        """Seal the active segment (deleting it if fully acknowledged) and release the lock."""
        if self._closed:
            return
        self._closed = True
        if self._forked:
            return
        try:
            self._seal_active(truncate=True)
            if self._spare:
                self._spare = 0
                self._unlink(self.directory / SPARE_NAME)
        finally:
            self._release()

    def abandon_after_fork(self) -> None:
        """In a forked child: drop this process's copies of the map and descriptors without touching
        the files (they are the parent's), so the parent keeps its lock and its data."""
        self._forked = True
        self._closed = True
        self._room = 0
        self._write = _closed_write
        mapped, self._map = self._map, None
        if mapped is not None:
            mapped.close()  # unmaps in this process only
        for fd in (self._fd, self._lock_fd, self._dir_fd):
            if fd >= 0:
                os.close(fd)  # the parent's descriptors (and its flock) stay open
        self._fd = self._lock_fd = self._dir_fd = -1
        self._active = None


_ZEROS = memoryview(b"")


def _zeros(size: int) -> memoryview:
    """``size`` zero bytes without allocating them anew for every recycled segment."""
    global _ZEROS
    if len(_ZEROS) < size:
        _ZEROS = memoryview(bytes(size))
    return _ZEROS[:size]


def _closed_write(data: bytes) -> int:  # pragma: no cover - _room is 0 whenever this is installed
    raise SpoolError("spool segment is not open")
