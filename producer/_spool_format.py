"""The bytes of a spool segment: format 2 (and format 1 of older versions), and the pure scan that
finds every valid frame in them, resynchronising past damage. No I/O here: see :mod:`._spool`.

Format 2: a 16-byte header (``NLSPOOL`` + format byte, preallocated size, 0), then frames
``[u8 kind][u8 0][u16 length][u32 adler32(payload)][payload]`` (little-endian); kind 0xA5 is an
event, 0x5A the seal (payload: u64 count of event frames) written when the segment is closed. The
kind byte is what a scan searches for to resynchronise after a damaged frame. Format 1: frames
``[u32 length][u32 crc32(payload)][payload]`` from offset 0, a zero length ends it.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field

FORMAT = 2

#: segment header: magic (7 bytes + format byte), preallocated size, reserved
SEGMENT_HEADER = struct.Struct("<8sII")
SEGMENT_MAGIC = b"NLSPOOL" + bytes([FORMAT])
#: frame header: kind, 0, payload length, adler32(payload)
FRAME_HEADER = struct.Struct("<BxHI")
EVENT_FRAME = 0xA5
SEAL_FRAME = 0x5A
SEAL_PAYLOAD = struct.Struct("<Q")
SEAL_BYTES = FRAME_HEADER.size + SEAL_PAYLOAD.size
MAX_PAYLOAD_BYTES = 0xFFFF
#: format 1 (older versions): [u32 length][u32 crc32(payload)][payload], a zero length ends it
V1_FRAME_HEADER = struct.Struct("<II")

checksum = zlib.adler32
_NONZERO = re.compile(rb"[^\x00]")
_V2_CANDIDATE = re.compile(re.escape(bytes([EVENT_FRAME])) + b"|" + re.escape(bytes([SEAL_FRAME])))


@dataclass
class SegmentScan:
    """What a segment's bytes hold: the valid event frames and the damage between them."""

    format: int
    frames: list[tuple[int, int]] = field(default_factory=list)  # (payload offset, length)
    sealed_frames: int | None = None  # the count the seal frame recorded, if it survived
    damaged: list[tuple[int, int]] = field(default_factory=list)  # byte ranges without a valid frame
    torn_tail: tuple[int, int] | None = None  # an append that never returned: damage then only zeros

    @property
    def bytes_lost(self) -> int:
        return sum(end - start for start, end in self.damaged)

    @property
    def frames_lost(self) -> int:
        """Frames lost: exact when the seal frame survived, else one per damaged range (at least)."""
        if self.sealed_frames is not None:
            return max(self.sealed_frames - len(self.frames), len(self.damaged) and 1)
        return len(self.damaged)


def _nonzero_end(data: bytes | memoryview, start: int, end: int) -> int:
    """The end of [start, end) without its trailing zero bytes."""
    return start + len(bytes(data[start:end]).rstrip(b"\x00"))


def scan_segment(data: bytes) -> SegmentScan:
    """Every valid frame of a segment's bytes, resynchronising past damaged ones. Pure: no I/O."""
    if data[: len(SEGMENT_MAGIC)] == SEGMENT_MAGIC and len(data) >= SEGMENT_HEADER.size:
        return _scan_v2(data)
    if data and SEGMENT_MAGIC.startswith(data[: len(SEGMENT_MAGIC)]):
        return SegmentScan(format=FORMAT, damaged=[(0, len(data))])  # cut inside its header
    if _NONZERO.search(data) is None:
        scan = SegmentScan(format=FORMAT)
        if data:
            scan.damaged.append((0, len(data)))  # a zeroed segment: everything in it is gone
        return scan
    return _scan_v1(data)


def _scan_v2(data: bytes) -> SegmentScan:
    scan = SegmentScan(format=FORMAT)
    view = memoryview(data)
    size = len(data)
    _, preallocated, _ = SEGMENT_HEADER.unpack_from(data, 0)
    pos = SEGMENT_HEADER.size
    damage = -1
    zero_tail = -1
    while pos < size:
        kind = data[pos]
        if kind in (EVENT_FRAME, SEAL_FRAME) and pos + FRAME_HEADER.size <= size and data[pos + 1] == 0:
            _, length, check = FRAME_HEADER.unpack_from(data, pos)
            start = pos + FRAME_HEADER.size
            end = start + length
            valid = length > 0 and end <= size and checksum(view[start:end]) == check
            if valid and (kind == EVENT_FRAME or length == SEAL_PAYLOAD.size):
                if damage >= 0:
                    scan.damaged.append((damage, pos))
                    damage = -1
                if kind == SEAL_FRAME:
                    (scan.sealed_frames,) = SEAL_PAYLOAD.unpack_from(data, start)
                    return scan
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
    # no seal frame: the segment was active when its producer died (its file still has the
    # preallocated size, the tail zeroed), or the end of a sealed segment was damaged
    _finish(scan, data, damage, unsealed=size == preallocated)
    if damage < 0 and zero_tail >= 0 and size != preallocated:
        scan.damaged.append((zero_tail, size))  # a sealed segment ends with its seal frame, not zeros
    return scan


def _finish(scan: SegmentScan, data: bytes, damage: int, *, unsealed: bool) -> None:
    """Record the damage running to the end of the segment: a torn append, or lost bytes."""
    if damage < 0:
        return
    size = len(data)
    end = _nonzero_end(data, damage, size)
    if unsealed and end < size and end - damage <= FRAME_HEADER.size + MAX_PAYLOAD_BYTES:
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
    _finish(scan, data, damage, unsealed=True)
    return scan
