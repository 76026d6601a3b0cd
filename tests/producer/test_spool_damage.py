"""A damaged spool loses only what is damaged (issue 12, class 4): recovery skips a bad frame,
resynchronises on the next valid one, never truncates what follows, and logs and counts the loss."""

from __future__ import annotations

import logging
import struct
import zlib
from pathlib import Path

import pytest

from producer import Producer, ProducerConfig
from producer._spool import FRAME_HEADER, SEGMENT_HEADER, FsyncPolicy, Spool
from tests.factories import make_event
from tests.producer.test_spool_ownership import StubKinesis

SEGMENT = 64 * 1024
FRAME = FRAME_HEADER.size + 100


def open_spool(path: Path) -> Spool:
    return Spool(path, max_bytes=16 * SEGMENT, segment_bytes=SEGMENT, fsync=FsyncPolicy.NEVER)


def payloads(n: int) -> list[bytes]:
    return [i.to_bytes(4, "big") * 25 for i in range(n)]


def written(path: Path, n: int, *, crashed: bool = False) -> Path:
    """A spool holding ``n`` 100-byte events in one segment (sealed, or left as a crash leaves it)."""
    spool = open_spool(path)
    for p in payloads(n):
        spool.append(p)
    if crashed:
        spool.abandon_after_fork()
    else:
        spool.close()
    (segment,) = path.glob("*.seg")
    return segment


def damage(segment: Path, offset: int, new: bytes | None = None, *, xor: int = 0) -> None:
    raw = bytearray(segment.read_bytes())
    if new is None:
        raw[offset] ^= xor
    else:
        raw[offset : offset + len(new)] = new
    segment.write_bytes(bytes(raw))


def frame_at(index: int) -> int:
    return SEGMENT_HEADER.size + index * FRAME


def reopen(path: Path) -> tuple[list[bytes], Spool]:
    spool = open_spool(path)
    replayed = [p for _, p in spool.replay()]
    spool.close()
    return replayed, spool


@pytest.mark.parametrize("crashed", [False, True], ids=["sealed", "crashed"])
def test_one_flipped_bit_loses_one_event_not_the_rest_of_the_segment(
    tmp_path: Path, crashed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    segment = written(tmp_path, 416, crashed=crashed)
    damage(segment, frame_at(200) + FRAME_HEADER.size + 17, xor=0x04)
    with caplog.at_level(logging.WARNING, logger="producer._spool"):
        replayed, spool = reopen(tmp_path)
    expected = payloads(416)
    del expected[200]
    assert replayed == expected
    assert spool.frames_lost == 1 and spool.bytes_lost == FRAME
    (record,) = [r for r in caplog.records if "LOST" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert str(segment) in record.getMessage() and f"{FRAME} bytes" in record.getMessage()


def test_a_damaged_frame_header_resynchronises_on_the_next_frame(tmp_path: Path) -> None:
    segment = written(tmp_path, 50)
    damage(segment, frame_at(10) + 2, xor=0x80)  # the length: the frame seems to run far past its end
    replayed, spool = reopen(tmp_path)
    assert replayed == payloads(10) + payloads(50)[11:]
    assert spool.frames_lost == 1


def test_a_zeroed_page_in_the_middle_loses_only_its_events(tmp_path: Path) -> None:
    segment = written(tmp_path, 300)
    damage(segment, 8192, bytes(4096))
    replayed, spool = reopen(tmp_path)
    first_hit = (8192 - SEGMENT_HEADER.size) // FRAME
    last_hit = (8192 + 4096 - 1 - SEGMENT_HEADER.size) // FRAME
    assert replayed == payloads(first_hit) + payloads(300)[last_hit + 1 :]
    assert spool.frames_lost == last_hit - first_hit + 1  # exact: the seal frame counts them


def test_a_zeroed_segment_is_reported_not_silently_deleted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    segment = written(tmp_path, 100)
    size = segment.stat().st_size
    segment.write_bytes(bytes(size))
    with caplog.at_level(logging.WARNING, logger="producer._spool"):
        replayed, spool = reopen(tmp_path)
    assert replayed == []
    assert spool.bytes_lost == size and spool.frames_lost >= 1
    assert any(str(segment) in r.getMessage() and "LOST" in r.getMessage() for r in caplog.records)


def test_a_truncated_sealed_segment_keeps_what_is_left(tmp_path: Path) -> None:
    segment = written(tmp_path, 100)
    raw = segment.read_bytes()
    segment.write_bytes(raw[: frame_at(60) + 30])  # cut inside frame 60: the seal frame is gone too
    replayed, spool = reopen(tmp_path)
    assert replayed == payloads(60)
    assert spool.frames_lost >= 1 and spool.bytes_lost == 30


def test_a_format_1_segment_of_an_older_version_is_replayed_past_damage(tmp_path: Path) -> None:
    header = struct.Struct("<II")
    frames = [header.pack(len(p), zlib.crc32(p)) + p for p in payloads(20)]
    raw = bytearray(b"".join(frames) + bytes(1000))  # an active segment: zero length ends it
    raw[5 * len(frames[0]) + 50] ^= 0x01
    (tmp_path / f"{7:020d}.seg").write_bytes(bytes(raw))
    replayed, spool = reopen(tmp_path)
    assert replayed == payloads(5) + payloads(20)[6:]
    assert spool.frames_lost == 1


def test_the_producer_counts_lost_frames_in_its_metrics(tmp_path: Path) -> None:
    segment = written(tmp_path, 40)
    damage(segment, frame_at(3) + FRAME_HEADER.size, xor=0xFF)
    config = ProducerConfig(stream_name="nicelist-test", kinesis_client=StubKinesis(), spool_dir=tmp_path, linger_ms=1)
    with Producer(config) as producer:
        producer.put(make_event())
        assert producer.flush(30) == 0
        metrics = producer.metrics()
    assert metrics.replayed == 39
    assert metrics.spool_frames_lost == 1 and metrics.spool_bytes_lost == FRAME


@pytest.mark.parametrize("keep", [0, 5, 12, 16, 20])
def test_a_segment_cut_short_anywhere_in_its_header_opens(tmp_path: Path, keep: int) -> None:
    segment = written(tmp_path, 10)
    segment.write_bytes(segment.read_bytes()[:keep])
    replayed, spool = reopen(tmp_path)
    assert replayed == []
    assert spool.bytes_lost == (keep if keep < SEGMENT_HEADER.size else keep - SEGMENT_HEADER.size)
