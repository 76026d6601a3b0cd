"""A durable local spool: every accepted event is on disk until Kinesis acknowledged it.

The directory's files (lock, SPOOL metadata, INDEX, segments, SPARE, ``foreign/``) are described
in :mod:`._spool_files`. A segment (format 3; the bytes and the scan are in :mod:`._spool_format`)
is, little-endian::

    frame   = [u32 check][u32 index][u16 length][u8 0][u8 kind][payload]
    check   = adler32(payload) XOR index
    segment = header frame (0x96), the same header frame again, event frames (0xE3)..., seal frame (0x3C)

The header (kept twice: one damaged copy costs nothing) names the spool's stream, region and
endpoint; ``index`` counts a segment's events from 0 (a gap is the number of events lost); the
seal holds the event count. An append copies the payload, then packs the header in front of it
with the kind byte last: the commit mark that tells an append that never returned (no kind byte)
from a damaged one. What opening a directory finds (backlog, damage, foreign segments) is in
:mod:`._spool_recovery`. Formats 1 and 2 of older versions are still read.

The active segment is preallocated and written through a shared memory map by a frame writer
(:mod:`._frame_writer`: one C call per event when ``producer._cframes`` is built, else the same
bytes in Python), so an append is a memory copy and is in the kernel's page cache the moment it
returns: it survives the process being SIGKILLed. Surviving a power cut needs the pages on disk too; that is the
:class:`FsyncPolicy` (with INTERVAL a sealed segment is flushed at the next interval, or never if
every event in it was acknowledged by then).

Acknowledgement is counted per segment: once every frame of a sealed segment is acknowledged the
file is deleted (or kept as the SPARE: its blocks and cached pages make the next segment cheap).
When a segment is sealed its event count goes to INDEX, so damage that takes its seal frame or
the whole file away is still counted exactly.

A producer started on a directory replays every valid frame of the segments it finds (the
backlog), so an event can be sent twice after a crash (same ``event_id``; the consumer dedupes),
never zero times. Recovery loses only what is damaged: a damaged frame is skipped and the scan
resynchronises on the next valid frame; the events lost are counted from the gap in the frame
indexes, the seal's count or INDEX's (:attr:`Spool.events_lost`, :attr:`Spool.bytes_lost`) and
logged at WARNING with the file and the byte ranges. Only damage at the end of the segment a
crashed producer was writing can be bounded from below only (:attr:`Spool.losses_exact`).

Disk use is bounded by ``max_bytes``: sealed segments count their size, the active one its full
preallocated size; opening a new segment that would cross the bound raises SpoolFullError. Every
file system error is raised as a :class:`SpoolError` subclass carrying the path; opening checks
that the directory is writable and that files in it can be deleted (SpoolPermissionError).
"""

from __future__ import annotations

import logging
import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ._errors import SpoolError, SpoolFullError
from ._frame_writer import new_frame_writer
from ._spool_files import (
    INDEX_NAME,
    LOCK_NAME,
    SPARE_NAME,
    DirectoryLock,
    check_metadata,
    check_writable,
    map_segment,
    read_index,
    segment_path,
    spool_error,
    sync_directory,
    unlink,
    write_index,
    zeros,
)
from ._spool_format import (
    EVENT_FRAME,
    FORMAT,
    FRAME_HEADER,
    MAX_PAYLOAD_BYTES,
    SEAL_BYTES,
    header_frame,
    seal_frame,
)
from ._spool_recovery import BacklogSegment, recover, replay_frames

__all__ = ["EVENT_FRAME", "FRAME_HEADER", "INDEX_NAME", "LOCK_NAME", "FsyncPolicy", "Spool"]

logger = logging.getLogger(__name__)

_FRAME = FRAME_HEADER.size


class FsyncPolicy(StrEnum):
    """When spooled events are forced to disk (all policies survive a process crash)."""

    NEVER = "never"  # leave it to the kernel: survives a crash of the process, not of the machine
    INTERVAL = "interval"  # the sender thread flushes every fsync_interval_ms: lose at most that on power loss
    ALWAYS = "always"  # every put() flushes before returning: slow (a disk flush per event)


@dataclass
class _Segment:
    id: int
    path: Path
    frames: int = 0  # event frames appended (active: set when sealed) or found (backlog)
    acked: int = 0
    disk: int = 0  # bytes the file takes on disk (preallocated size while active)
    sealed: bool = False
    first: int = -1  # append index of its first frame (segments written by this spool), -1 for backlog
    used: int = 0  # bytes written (headers, frames, seal) by this spool
    count: int | None = None  # events it held when written (for INDEX), if known
    unflushed: mmap.mmap | None = None  # INTERVAL: sealed, its map kept until the next sync


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
        region: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        identity = {k: v for k, v in (("stream", stream), ("region", region), ("endpoint", endpoint)) if v}
        self._header = header_frame(segment_bytes, identity)
        self._data_start = 2 * len(self._header)
        if segment_bytes <= self._data_start + SEAL_BYTES + _FRAME or max_bytes < segment_bytes:
            raise ValueError(f"need max_bytes >= segment_bytes > {self._data_start + SEAL_BYTES + _FRAME}")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsync = FsyncPolicy(fsync)
        self.stream = stream
        self.identity = identity
        self._segments: dict[int, _Segment] = {}
        self._active: _Segment | None = None
        self._map: mmap.mmap | None = None
        self._fd = -1
        # the hot path: the writer of the active segment's frames (attached to its map; it knows
        # where the next frame goes, where the room ends, and the append indexes); a payload that
        # does not fit comes back to _append_rotating
        self._writer = new_frame_writer(self._append_rotating)
        # put() calls the writer itself: one call per event (see Spool.append)
        self.append = self._append_and_sync if self.fsync is FsyncPolicy.ALWAYS else self._writer.append  # type: ignore[method-assign,assignment]
        self._synced = 0  # write position at the last sync
        self._spare = 0  # bytes written in the SPARE file (0: there is none)
        self._spare_map: mmap.mmap | None = None  # the SPARE's map, when it was still mapped (no re-populating)
        self._closed = False
        self._forked = False
        self._lock = DirectoryLock(self.directory)
        try:
            check_writable(self.directory)
            check_metadata(self.directory, identity, FORMAT)
            recovery = recover(self.directory, identity)
            known = read_index(self.directory)
        except BaseException:
            self._lock.release()
            raise
        #: events lost to damage found at open (exact unless :attr:`losses_exact` is False)
        self.events_lost = recovery.events_lost
        self.losses_exact = recovery.exact
        #: bytes of the damaged ranges found at open
        self.bytes_lost = recovery.bytes_lost
        #: segments refused at open because they name another stream or endpoint (moved aside)
        self.foreign_segments = len(recovery.foreign)
        self._backlog: list[BacklogSegment] = recovery.backlog
        for found in recovery.backlog:
            self._segments[found.id] = _Segment(
                found.id, found.path, frames=found.frames, disk=found.disk, sealed=True, count=found.count
            )
        self._backlog_left = sum(s.frames for s in self._backlog)
        self._next_id = max([*self._segments, *known], default=0) + 1
        if known.keys() - self._segments.keys():
            self._write_index()  # forget the counts of segments that are gone

    @property
    def data_start(self) -> int:
        """Offset of a segment's first event frame (after its two header copies)."""
        return self._data_start

    @property
    def frames_lost(self) -> int:
        """Event frames lost (one frame holds one event): :attr:`events_lost`."""
        return self.events_lost

    # --- backlog -------------------------------------------------------------------------
    @property
    def backlog_events(self) -> int:
        """Events found on disk at open and not yet handed out by :meth:`replay`."""
        return self._backlog_left

    def replay(self) -> Iterator[tuple[int, bytes]]:
        """(segment id, payload) of every event found at open; acknowledge them with :meth:`ack`.
        A segment that cannot be read raises SpoolError and is skipped by the next call."""
        return self._replay()

    def _replay(self) -> Iterator[tuple[int, bytes]]:
        while self._backlog:
            segment = self._backlog.pop(0)
            try:
                payloads = replay_frames(segment.path, segment.frames, segment.count)
            except SpoolError:
                self._backlog_left -= segment.frames  # it stays on disk for the next producer
                raise
            for payload in payloads:
                self._backlog_left -= 1
                yield segment.id, payload

    # --- appends -------------------------------------------------------------------------
    def append(self, payload: bytes) -> int:
        """Store one event (non-empty, at most 64 KiB); return its append index (for :meth:`ack_appended`).

        Each instance replaces this method with its frame writer's own ``append`` (one call per
        event, compiled when built: :mod:`._frame_writer`), which comes back to
        :meth:`_append_rotating` when the active segment is full; this is its documentation."""
        return self._writer.append(payload)

    def _append_rotating(self, payload: bytes) -> int:
        """The writer's ``on_full``: seal the active segment, open the next, append there."""
        self._rotate(_FRAME + len(payload))
        return self._writer.append(payload)

    def _append_and_sync(self, payload: bytes) -> int:
        """:meth:`append` for FsyncPolicy.ALWAYS: flushed before it returns."""
        index = self._writer.append(payload)
        self.sync()
        return index

    @property
    def appended(self) -> int:
        """Events appended by this spool (the next append's index)."""
        return self._writer.appended

    def _rotate(self, need: int) -> None:
        """Seal the active segment and open the next one, attached to the frame writer."""
        if self._closed:
            raise SpoolError(f"spool {self.directory} is closed", path=self.directory)
        if self._forked:
            raise SpoolError(f"spool {self.directory} belongs to the parent process", path=self.directory)
        if need - _FRAME > MAX_PAYLOAD_BYTES or need > self.segment_bytes - self._data_start - SEAL_BYTES:
            raise SpoolError(f"event of {need - _FRAME} bytes is too large for a spool segment")
        self._seal_active(truncate=False)  # full, or nearly: its preallocated size stays
        spare = self.segment_bytes if self._spare else 0
        if self.disk_bytes - spare + self.segment_bytes > self.max_bytes:
            raise SpoolFullError(
                f"spool {self.directory} holds {self.disk_bytes - spare} bytes; a new {self.segment_bytes}-byte "
                f"segment would exceed max_spool_bytes={self.max_bytes}",
                path=self.directory,
            )
        segment = _Segment(self._next_id, segment_path(self.directory, self._next_id), disk=self.segment_bytes)
        fd, mapped = self._reuse_spare(segment) if self._spare else self._create(segment)
        self._map = mapped
        self._fd = fd
        self._next_id += 1
        segment.first = first = self._writer.appended
        self._writer.attach(mapped, self._data_start + _FRAME, self.segment_bytes - SEAL_BYTES, first)
        self._segments[segment.id] = segment
        self._active = segment
        self._synced = 0  # the headers are not on disk either
        if self.fsync is not FsyncPolicy.NEVER:
            sync_directory(self.directory)

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
            mapped = map_segment(fd, self.segment_bytes)
            mapped[: self._data_start] = self._header + self._header
        except OSError as exc:
            os.close(fd)
            segment.path.unlink(missing_ok=True)
            raise spool_error(exc, segment.path, "create spool segment") from exc
        return fd, mapped

    def _reuse_spare(self, segment: _Segment) -> tuple[int, mmap.mmap]:
        """The SPARE file, zeroed where it was written, becomes ``segment`` (renamed only once zeroed)."""
        spare = self.directory / SPARE_NAME
        written, self._spare = self._spare, 0
        mapped, self._spare_map = self._spare_map, None  # still mapped when it was recycled before a sync
        try:
            fd = os.open(spare, os.O_RDWR)
        except OSError as exc:
            if mapped is not None:
                mapped.close()
            raise spool_error(exc, spare, "reuse spool segment") from exc
        try:
            if mapped is None:
                mapped = map_segment(fd, self.segment_bytes)  # populated first: half the cost of faulting while zeroing
            mapped[:written] = zeros(written)  # an acknowledged past must not look like frames
            mapped[: self._data_start] = self._header + self._header
            os.replace(spare, segment.path)
        except OSError as exc:
            if mapped is not None:
                mapped.close()
            os.close(fd)
            spare.unlink(missing_ok=True)
            raise spool_error(exc, segment.path, "reuse spool segment") from exc
        return fd, mapped

    def _seal_active(self, *, truncate: bool) -> None:
        segment = self._active
        if segment is None:
            return
        mapped = self._map
        assert mapped is not None
        writer = self._writer
        segment.frames = segment.count = writer.count
        seal = seal_frame(segment.frames, segment.frames)
        pos = writer.start - _FRAME
        used = pos + len(seal)
        writer.detach()
        mapped[pos:used] = seal
        self._map = None
        self._active = None
        fd, self._fd = self._fd, -1
        try:
            if truncate or self.fsync is FsyncPolicy.ALWAYS:
                if self.fsync is not FsyncPolicy.NEVER:
                    mapped.flush()
                mapped.close()
            elif self.fsync is FsyncPolicy.INTERVAL:
                segment.unflushed = mapped  # flushed by the next sync() unless acknowledged first
            else:
                mapped.close()
            if truncate:
                os.ftruncate(fd, used)
        except OSError as exc:
            raise spool_error(exc, segment.path, "seal spool segment") from exc
        finally:
            os.close(fd)
        segment.sealed = True
        segment.used = used
        if truncate:
            segment.disk = used
        self._write_index()
        self._maybe_delete(segment)

    def _write_index(self) -> None:
        write_index(self.directory, {s.id: s.count for s in self._segments.values() if s.count is not None})

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
            stop = segment.first + segment.frames if segment.sealed else self._writer.appended
            overlap = min(end, stop) - max(first, segment.first)
            if overlap > 0:
                segment.acked += overlap
                self._maybe_delete(segment)

    def _maybe_delete(self, segment: _Segment) -> None:
        if not (segment.sealed and segment.acked >= segment.frames):
            return
        del self._segments[segment.id]
        mapped, segment.unflushed = segment.unflushed, None  # acknowledged: no need to force it to disk any more
        if self._spare or self._closed or segment.disk != self.segment_bytes or segment.first < 0:
            if mapped is not None:
                mapped.close()
            unlink(segment.path)
            return
        try:
            os.replace(segment.path, self.directory / SPARE_NAME)
        except OSError as exc:
            if mapped is not None:
                mapped.close()
            raise spool_error(exc, segment.path, "recycle spool segment") from exc
        self._spare = segment.used
        self._spare_map = mapped  # its pages stay mapped and populated for the next segment

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
        for segment in self._segments.values():
            if segment.unflushed is not None:
                sealed, segment.unflushed = segment.unflushed, None
                try:
                    sealed.flush()
                except OSError as exc:
                    raise spool_error(exc, segment.path, "sync spool") from exc
                finally:
                    sealed.close()
        active = self._map
        pos = self._writer.start - _FRAME
        synced = self._synced
        if active is None or pos == synced:
            return
        offset = synced - synced % mmap.PAGESIZE  # msync(2) takes whole pages
        try:
            active.flush(offset, pos - offset)  # not the unwritten rest: msync would write back, then
            # write-protect its pages, and every one would fault again when written
        except OSError as exc:
            raise spool_error(exc, self._active.path if self._active else self.directory, "sync spool") from exc
        self._synced = pos

    def close(self) -> None:
        """Seal the active segment (deleting it if fully acknowledged) and release the lock."""
        if self._closed:
            return
        self._closed = True
        if self._forked:
            return
        try:
            self._seal_active(truncate=True)
            self.sync()
            self._drop_spare_map()
            if self._spare:
                self._spare = 0
                unlink(self.directory / SPARE_NAME)
        finally:
            self._lock.release()

    def _drop_spare_map(self) -> None:
        mapped, self._spare_map = self._spare_map, None
        if mapped is not None:
            mapped.close()

    def abandon_after_fork(self) -> None:
        """In a forked child: drop this process's copies of the maps and descriptors without touching
        the files (they are the parent's), so the parent keeps its lock and its data."""
        self._forked = True
        self._closed = True
        self._writer.detach()
        mapped, self._map = self._map, None
        if mapped is not None:
            mapped.close()  # unmaps in this process only
        for segment in self._segments.values():
            if segment.unflushed is not None:
                segment.unflushed.close()
                segment.unflushed = None
        self._drop_spare_map()
        if self._fd >= 0:
            os.close(self._fd)  # the parent's descriptors (and its flock) stay open
        self._fd = -1
        self._lock.forget()
        self._active = None
