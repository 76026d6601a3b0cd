"""The bytes of a spool segment (format 3, and formats 2 and 1 of older versions) and the pure scan
that finds every valid frame in them, resynchronising past damage and counting the events it lost.
No I/O here: see :mod:`._spool`.

Format 3 (written by this version), little-endian::

    frame   = [u32 check][u32 index][u16 length][u8 0][u8 kind][payload: length bytes]
    check   = adler32(payload) XOR index
    segment = header frame, header frame (the same, twice), event frames..., seal frame

``kind`` 0x96 is a header (payload ``NLSPOOL`` + ``0x03``, u32 preallocated size, then the
segment's identity as UTF-8 JSON: stream, region and endpoint); 0xE3 an event (``index`` counts
the events of the segment from 0); 0x3C the seal (payload: u64 count of event frames) written
when the segment is closed. The header is kept twice so one damaged copy costs no event: the
other names the segment. Every frame carries its own kind byte (what the scan resynchronises
on), length and checksum; an event frame's index makes a gap countable: frames lost between two
valid ones are the difference of their indexes, frames lost at the end are the seal's count (or
the spool's INDEX file's, see :mod:`._spool_recovery`) minus the next expected index.

An append copies the payload first, then packs the 12-byte frame header in front of it (one
``struct.pack_into``, which writes its fields in order): the kind byte, the header's last byte,
is the commit mark. A frame whose kind byte is zero at the end of an unsealed segment is an
append that never returned (the process died inside put()): not accepted, not lost. A frame
whose kind byte is set was returned to put()'s caller: damage to it is a loss, counted.

Format 2: a 16-byte header (``NLSPOOL`` + ``0x02``, preallocated size, 0), then frames
``[u8 kind][u8 0][u16 length][u32 adler32(payload)][payload]`` (0xA5 event, 0x5A seal). Format 1:
frames ``[u32 length][u32 crc32(payload)][payload]`` from offset 0, a zero length ends it.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

FORMAT = 3

#: frame header: check, index, payload length, 0, kind (format 3)
FRAME_HEADER = struct.Struct("<IIHBB")
#: offset of the kind byte (the commit mark) in a frame
KIND_OFFSET = 11
HEADER_FRAME = 0x96
EVENT_FRAME = 0xE3
SEAL_FRAME = 0x3C
HEADER_MAGIC = b"NLSPOOL" + bytes([FORMAT])
HEADER_FIELDS = struct.Struct("<8sI")  # magic, preallocated size; the identity JSON follows
SEAL_PAYLOAD = struct.Struct("<Q")
SEAL_BYTES = FRAME_HEADER.size + SEAL_PAYLOAD.size
MAX_PAYLOAD_BYTES = 0xFFFF
#: the largest identity (JSON) a header holds
MAX_IDENTITY_BYTES = 1024

#: format 2 (older versions)
V2_SEGMENT_HEADER = struct.Struct("<8sII")
V2_MAGIC = b"NLSPOOL\x02"
V2_FRAME_HEADER = struct.Struct("<BxHI")
V2_EVENT_FRAME = 0xA5
V2_SEAL_FRAME = 0x5A
#: format 1 (older versions): [u32 length][u32 crc32(payload)][payload], a zero length ends it
V1_FRAME_HEADER = struct.Struct("<II")

checksum = zlib.adler32
_NONZERO = re.compile(rb"[^\x00]")
_V3_CANDIDATE = re.compile(b"[" + re.escape(bytes([HEADER_FRAME, EVENT_FRAME, SEAL_FRAME])) + b"]")
_V2_CANDIDATE = re.compile(b"[" + re.escape(bytes([V2_EVENT_FRAME, V2_SEAL_FRAME])) + b"]")


def header_frame(preallocated: int, identity: dict[str, str]) -> bytes:
    """One copy of a format-3 segment header (a segment starts with two)."""
    text = json.dumps(identity, sort_keys=True, separators=(",", ":")).encode()
    if len(text) > MAX_IDENTITY_BYTES:
        raise ValueError(f"spool identity too long ({len(text)} bytes)")
    payload = HEADER_FIELDS.pack(HEADER_MAGIC, preallocated) + text
    return FRAME_HEADER.pack(checksum(payload), 0, len(payload), 0, HEADER_FRAME) + payload


def seal_frame(count: int, index: int) -> bytes:
    payload = SEAL_PAYLOAD.pack(count)
    return FRAME_HEADER.pack(checksum(payload) ^ index, index, len(payload), 0, SEAL_FRAME) + payload


def header_bytes(identity: dict[str, str]) -> int:
    """Bytes the two header copies of a segment take."""
    return 2 * len(header_frame(0, identity))


@dataclass
class SegmentScan:
    """What a segment's bytes hold: the valid event frames, the damage between them and what it cost."""

    format: int
    frames: list[tuple[int, int]] = field(default_factory=list)  # (payload offset, length)
    sealed_frames: int | None = None  # the count the seal frame recorded, if it survived
    damaged: list[tuple[int, int]] = field(default_factory=list)  # byte ranges without a valid frame
    torn_tail: tuple[int, int] | None = None  # an append that never returned: damage then only zeros
    identity: dict[str, Any] | None = None  # format 3: the header's identity, if a copy survived
    preallocated: int | None = None
    #: events lost to the damage (format 3: exact when ``exact``; older formats: frames, at least)
    events_lost: int = 0
    exact: bool = True

    @property
    def bytes_lost(self) -> int:
        return sum(end - start for start, end in self.damaged)

    @property
    def frames_lost(self) -> int:
        """Event frames lost (one frame holds one event): :attr:`events_lost`."""
        return self.events_lost


def _nonzero_end(data: bytes | memoryview, start: int, end: int) -> int:
    """The end of [start, end) without its trailing zero bytes."""
    return start + len(bytes(data[start:end]).rstrip(b"\x00"))


def scan_segment(data: bytes, *, expected: int | None = None) -> SegmentScan:
    """Every valid frame of a segment's bytes, resynchronising past damaged ones. Pure: no I/O.

    ``expected`` is the segment's event count when known from outside (the spool's INDEX file):
    it makes the count of events lost exact when the seal frame or the whole segment is gone.
    """
    if data[: len(V2_MAGIC)] == V2_MAGIC and len(data) >= V2_SEGMENT_HEADER.size:
        return _scan_v2(data)
    scan = _scan_v3(data, expected)
    if scan.identity is not None or scan.frames or scan.sealed_frames is not None:
        return scan
    if len(data) >= V2_SEGMENT_HEADER.size and _bits_differ(data[: len(V2_MAGIC)], V2_MAGIC) <= 2:
        v2 = _scan_v2(data)  # format 2 with a damaged magic: its frames carry their own checksums
        if v2.frames:
            return v2
    if data and HEADER_MAGIC.startswith(data[: len(HEADER_MAGIC)]) or _NONZERO.search(data) is None:
        return _lost_whole(data, expected)  # cut inside its header, or zeroed: everything in it is gone
    v1 = _scan_v1(data)
    if v1.frames:
        return v1
    return _lost_whole(data, expected)


def _bits_differ(a: bytes, b: bytes) -> int:
    return sum(bin(x ^ y).count("1") for x, y in zip(a, b, strict=False)) + 8 * abs(len(a) - len(b))


def _lost_whole(data: bytes, expected: int | None) -> SegmentScan:
    scan = SegmentScan(format=FORMAT)
    if data:
        scan.damaged.append((0, len(data)))
    scan.events_lost = expected or 0
    scan.exact = expected is not None or not data
    return scan


class _V3Scan:
    """The state of a format-3 scan (a class so the loop stays short)."""

    def __init__(self, data: bytes, expected: int | None) -> None:
        self.data = data
        self.view = memoryview(data)
        self.expected = expected
        self.scan = SegmentScan(format=FORMAT)
        self.next_index = 0  # the index the next event frame should carry
        self.damage = -1  # start of the damaged range being crossed, or -1

    def frame_at(self, pos: int) -> int:
        """The end of the valid frame at ``pos`` (recording it), or -1."""
        data = self.data
        if pos + FRAME_HEADER.size > len(data):
            return -1
        check, index, length, zero, kind = FRAME_HEADER.unpack_from(data, pos)
        if zero != 0:
            return -1
        start = pos + FRAME_HEADER.size
        end = start + length
        if length == 0 or end > len(data) or checksum(self.view[start:end]) ^ index != check:
            return -1
        if kind == HEADER_FRAME:
            return end if self._header(start, end) else -1
        if kind == SEAL_FRAME and length != SEAL_PAYLOAD.size:
            return -1
        if index < self.next_index:  # a frame out of order: not one this segment's writer wrote
            return -1
        self._close_damage(pos, index - self.next_index)
        if kind == SEAL_FRAME:
            (self.scan.sealed_frames,) = SEAL_PAYLOAD.unpack_from(data, start)
            self.next_index = index  # a seal's index is the count of events before it
        else:
            self.scan.frames.append((start, length))
            self.next_index = index + 1
        return end

    def _header(self, start: int, end: int) -> bool:
        magic, preallocated = HEADER_FIELDS.unpack_from(self.data, start) if end - start >= 12 else (b"", 0)
        if magic != HEADER_MAGIC:
            return False
        try:
            identity = json.loads(bytes(self.view[start + HEADER_FIELDS.size : end]))
        except ValueError:
            return False
        self._close_damage(start - FRAME_HEADER.size, 0)
        if self.scan.identity is None and isinstance(identity, dict):
            self.scan.identity = identity
            self.scan.preallocated = preallocated
        return True

    def _close_damage(self, pos: int, lost: int) -> None:
        if self.damage >= 0:
            self.scan.damaged.append((self.damage, pos))
            self.damage = -1
        self.scan.events_lost += lost

    def finish(self, pos: int) -> SegmentScan:
        """Account for what follows the last valid frame: nothing, zeros, a torn append or damage."""
        scan, data = self.scan, self.data
        size = len(data)
        known = scan.sealed_frames if scan.sealed_frames is not None else self.expected
        if self.damage < 0:
            if scan.sealed_frames is None and pos < size and self.expected is not None:
                scan.damaged.append((pos, size))  # a sealed segment ends with its seal, not zeros
            if known is not None:
                scan.events_lost += max(known - self.next_index, 0)
            return scan
        end = _nonzero_end(data, self.damage, size)
        uncommitted = self.damage + KIND_OFFSET >= size or data[self.damage + KIND_OFFSET] == 0
        if known is None and uncommitted and end < size and end - self.damage <= FRAME_HEADER.size + MAX_PAYLOAD_BYTES:
            scan.torn_tail = (self.damage, end)  # the last append, cut short before its kind byte
            return scan
        scan.damaged.append((self.damage, size))
        if known is not None:
            scan.events_lost += max(known - self.next_index, 0)
        else:  # an unsealed segment: count the committed frames the damaged range holds
            walked, exact = _walk(data, self.damage, end)
            scan.events_lost += walked
            scan.exact = scan.exact and exact
        return scan


def _walk(data: bytes, start: int, end: int) -> tuple[int, bool]:
    """Committed frames in the damaged range [start, end) of an unsealed segment, following their
    length fields: (count, exact). Exact when the walk ends where the nonzero bytes do (a payload
    may end in zero bytes); otherwise (a damaged length) one committed frame at least."""
    count = 0
    pos = start
    while pos + FRAME_HEADER.size <= len(data) and (
        data[pos + KIND_OFFSET] == EVENT_FRAME or count == 0 and data[pos + KIND_OFFSET] != 0
    ):
        (length,) = struct.unpack_from("<H", data, pos + 8)
        count += 1
        pos += FRAME_HEADER.size + length
    if count and end <= pos <= len(data):
        return count, True
    committed = start + KIND_OFFSET < len(data) and data[start + KIND_OFFSET] != 0
    return (1 if committed else 0), False


def _scan_v3(data: bytes, expected: int | None) -> SegmentScan:
    state = _V3Scan(data, expected)
    size = len(data)
    pos = 0
    while pos < size:
        kind = data[pos + KIND_OFFSET] if pos + KIND_OFFSET < size else 0
        if kind in (HEADER_FRAME, EVENT_FRAME, SEAL_FRAME):
            end = state.frame_at(pos)
            if end >= 0:
                if kind == SEAL_FRAME:
                    return state.finish(size)  # what follows a seal is its preallocated zeros
                pos = end
                continue
        elif state.damage < 0 and _NONZERO.search(data, pos) is None:
            break  # nothing was written past here
        if state.damage < 0:
            state.damage = pos
        found = _V3_CANDIDATE.search(data, pos + KIND_OFFSET + 1)
        pos = found.start() - KIND_OFFSET if found is not None else size
    return state.finish(pos)


def _scan_v2(data: bytes) -> SegmentScan:
    """Format 2 (older versions); a damaged magic is tolerated (the caller found frames)."""
    scan = SegmentScan(format=2)
    view = memoryview(data)
    size = len(data)
    _, preallocated, _ = V2_SEGMENT_HEADER.unpack_from(data, 0)
    pos = V2_SEGMENT_HEADER.size
    damage = -1
    zero_tail = -1
    while pos < size:
        kind = data[pos]
        if kind in (V2_EVENT_FRAME, V2_SEAL_FRAME) and pos + V2_FRAME_HEADER.size <= size and data[pos + 1] == 0:
            _, length, check = V2_FRAME_HEADER.unpack_from(data, pos)
            start = pos + V2_FRAME_HEADER.size
            end = start + length
            valid = length > 0 and end <= size and checksum(view[start:end]) == check
            if valid and (kind == V2_EVENT_FRAME or length == SEAL_PAYLOAD.size):
                if damage >= 0:
                    scan.damaged.append((damage, pos))
                    damage = -1
                if kind == V2_SEAL_FRAME:
                    (scan.sealed_frames,) = SEAL_PAYLOAD.unpack_from(data, start)
                    return _v2_count(scan)
                scan.frames.append((start, length))
                pos = end
                continue
        elif kind == 0 and damage < 0 and _NONZERO.search(data, pos) is None:
            zero_tail = pos  # nothing was written past here
            break
        if damage < 0:
            damage = pos
        found = _V2_CANDIDATE.search(data, pos + 1)
        pos = found.start() if found is not None else size
    _finish_old(scan, data, damage, unsealed=size == preallocated)
    if damage < 0 and zero_tail >= 0 and size != preallocated:
        scan.damaged.append((zero_tail, size))  # a sealed segment ends with its seal frame, not zeros
    return _v2_count(scan)


def _v2_count(scan: SegmentScan) -> SegmentScan:
    if scan.sealed_frames is not None:
        scan.events_lost = max(scan.sealed_frames - len(scan.frames), len(scan.damaged) and 1)
    else:
        scan.events_lost = len(scan.damaged)
        scan.exact = not scan.damaged
    return scan


def _finish_old(scan: SegmentScan, data: bytes, damage: int, *, unsealed: bool) -> None:
    """Record the damage running to the end of a format 1 or 2 segment: a torn append, or lost bytes."""
    if damage < 0:
        return
    size = len(data)
    end = _nonzero_end(data, damage, size)
    if unsealed and end < size and end - damage <= V2_FRAME_HEADER.size + MAX_PAYLOAD_BYTES:
        scan.torn_tail = (damage, end)  # the last append cut short, then the preallocated zeros
    else:
        scan.damaged.append((damage, size))


def _scan_v1(data: bytes) -> SegmentScan:
    """Format 1: no magic to resync on, so every nonzero byte offset is a candidate (damage is rare)."""
    scan = SegmentScan(format=1)
    view = memoryview(data)
    size = len(data)
    header = V1_FRAME_HEADER.size
    pos = 0
    damage = -1
    while pos < size:
        if pos + header <= size:
            length, check = V1_FRAME_HEADER.unpack_from(data, pos)
            end = pos + header + length
            if length > 0 and end <= size and zlib.crc32(view[pos + header : end]) == check:
                if damage >= 0:
                    scan.damaged.append((damage, pos))
                    damage = -1
                scan.frames.append((pos + header, length))
                pos = end
                continue
        if damage < 0:
            if _NONZERO.search(data, pos) is None:
                break  # the zero length that ended a format-1 segment, and its preallocated tail
            damage = pos
        found = _NONZERO.search(data, pos + 1)
        # a frame's nonzero length has a nonzero byte among its first four
        pos = max(pos + 1, found.start() - 3) if found is not None else size
    _finish_old(scan, data, damage, unsealed=True)
    scan.events_lost = len(scan.damaged)
    scan.exact = not scan.damaged
    return scan
