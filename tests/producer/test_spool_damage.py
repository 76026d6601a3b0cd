"""A damaged spool loses only what is damaged, and says exactly how many events (issues 12 and 22):
recovery skips a bad frame, resynchronises on the next valid one, never truncates what follows,
survives a damaged segment header, and logs and counts the loss in events."""

from __future__ import annotations

import logging
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producer import Producer, ProducerConfig
from producer._spool import FRAME_HEADER, INDEX_NAME, FsyncPolicy, Spool
from producer._spool_format import SEAL_PAYLOAD, V2_FRAME_HEADER, V2_SEGMENT_HEADER, checksum, scan_segment
from tests.factories import make_event
from tests.producer.test_metrics import FakeCloudWatch
from tests.producer.test_spool_ownership import StubKinesis

SEGMENT = 64 * 1024
FRAME = FRAME_HEADER.size + 100
STREAM = "nicelist-test"


def open_spool(path: Path) -> Spool:
    return Spool(path, max_bytes=16 * SEGMENT, segment_bytes=SEGMENT, fsync=FsyncPolicy.NEVER, stream=STREAM)


def payloads(n: int) -> list[bytes]:
    return [i.to_bytes(4, "big") * 25 for i in range(n)]


def written(path: Path, n: int, *, crashed: bool = False) -> tuple[Path, int]:
    """A spool holding ``n`` 100-byte events in one segment (sealed, or left as a crash leaves
    it); the segment and the offset of its first frame."""
    spool = open_spool(path)
    for p in payloads(n):
        spool.append(p)
    if crashed:
        spool.abandon_after_fork()
    else:
        spool.close()
    (segment,) = path.glob("*.seg")
    return segment, spool.data_start


def damage(segment: Path, offset: int, new: bytes | None = None, *, xor: int = 0) -> None:
    raw = bytearray(segment.read_bytes())
    if new is None:
        raw[offset] ^= xor
    else:
        raw[offset : offset + len(new)] = new
    segment.write_bytes(bytes(raw))


def reopen(path: Path) -> tuple[list[bytes], Spool]:
    spool = open_spool(path)
    replayed = [p for _, p in spool.replay()]
    spool.close()
    return replayed, spool


def lost_message(caplog: pytest.LogCaptureFixture) -> str:
    (record,) = [r for r in caplog.records if "LOST" in r.getMessage()]
    assert record.levelno == logging.WARNING
    return record.getMessage()


@pytest.mark.parametrize("crashed", [False, True], ids=["sealed", "crashed"])
def test_one_flipped_bit_loses_one_event_not_the_rest_of_the_segment(
    tmp_path: Path, crashed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    segment, start = written(tmp_path, 416, crashed=crashed)
    hit = start + 200 * FRAME
    damage(segment, hit + FRAME_HEADER.size + 17, xor=0x04)
    with caplog.at_level(logging.WARNING, logger="producer._spool_recovery"):
        replayed, spool = reopen(tmp_path)
    expected = payloads(416)
    del expected[200]
    assert replayed == expected
    assert (spool.events_lost, spool.bytes_lost, spool.losses_exact) == (1, FRAME, True)
    message = lost_message(caplog)
    assert str(segment) in message and f"{FRAME} bytes" in message and f"({hit}, {hit + FRAME})" in message
    assert " 1 event(s) LOST" in message


def test_a_damaged_frame_header_resynchronises_on_the_next_frame(tmp_path: Path) -> None:
    segment, start = written(tmp_path, 50)
    damage(segment, start + 10 * FRAME + 9, xor=0x80)  # the length: the frame seems to run far past its end
    replayed, spool = reopen(tmp_path)
    assert replayed == payloads(10) + payloads(50)[11:]
    assert spool.events_lost == 1


@pytest.mark.parametrize("crashed", [False, True], ids=["sealed", "crashed"])
def test_a_zeroed_page_in_the_middle_loses_exactly_its_events(tmp_path: Path, crashed: bool) -> None:
    segment, start = written(tmp_path, 300, crashed=crashed)
    damage(segment, 8192, bytes(4096))
    replayed, spool = reopen(tmp_path)
    first_hit = (8192 - start) // FRAME
    last_hit = (8192 + 4096 - 1 - start) // FRAME
    assert replayed == payloads(first_hit) + payloads(300)[last_hit + 1 :]
    assert spool.events_lost == last_hit - first_hit + 1 and spool.losses_exact  # the frame indexes count them


def test_a_zeroed_segment_is_counted_exactly_from_the_index(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    segment, _ = written(tmp_path, 415)
    size = segment.stat().st_size
    segment.write_bytes(bytes(size))
    with caplog.at_level(logging.WARNING, logger="producer._spool_recovery"):
        replayed, spool = reopen(tmp_path)
    assert replayed == []
    assert (spool.events_lost, spool.bytes_lost, spool.losses_exact) == (415, size, True)
    assert str(segment) in lost_message(caplog) and f"(0, {size})" in lost_message(caplog)


def test_a_truncated_sealed_segment_keeps_what_is_left_and_counts_the_rest(tmp_path: Path) -> None:
    segment, start = written(tmp_path, 400)
    raw = segment.read_bytes()
    segment.write_bytes(raw[: start + 192 * FRAME + 30])  # cut inside frame 192: the seal frame is gone too
    replayed, spool = reopen(tmp_path)
    assert replayed == payloads(192)
    assert (spool.events_lost, spool.bytes_lost, spool.losses_exact) == (208, 30, True)


def test_a_crashed_segment_whose_last_frame_is_flipped_counts_it(tmp_path: Path) -> None:
    segment, start = written(tmp_path, 100, crashed=True)
    damage(segment, start + 99 * FRAME + FRAME_HEADER.size + 50, xor=0x10)
    replayed, spool = reopen(tmp_path)
    assert replayed == payloads(99)
    assert (spool.events_lost, spool.losses_exact) == (1, True)  # committed: put() had returned for it


def test_a_flipped_seal_frame_loses_nothing(tmp_path: Path) -> None:
    segment, start = written(tmp_path, 40)
    damage(segment, start + 40 * FRAME + FRAME_HEADER.size, xor=0x01)
    replayed, spool = reopen(tmp_path)
    assert replayed == payloads(40)
    assert (spool.events_lost, spool.losses_exact) == (0, True)


def test_every_bit_of_the_segment_header_can_flip_without_losing_an_event(tmp_path: Path) -> None:
    segment, start = written(tmp_path, 400)
    data = segment.read_bytes()
    expected = len(payloads(400))
    for offset in range(start):  # both copies of the header, every bit
        for bit in range(8):
            raw = bytearray(data)
            raw[offset] ^= 1 << bit
            scan = scan_segment(bytes(raw), expected=expected)
            assert len(scan.frames) == 400 and scan.events_lost == 0, (offset, bit)
            assert scan.identity is not None and scan.identity["stream"] == STREAM


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_bit_flip_loses_at_most_one_event_and_counts_it_exactly(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    crashed = data.draw(st.booleans(), label="crashed")
    sizes = data.draw(st.lists(st.integers(1, 300), min_size=1, max_size=60), label="sizes")
    events = [bytes([i % 251 + 1]) * size for i, size in enumerate(sizes)]
    path = tmp_path_factory.mktemp("spool")
    spool = Spool(path, max_bytes=16 * SEGMENT, segment_bytes=SEGMENT, fsync=FsyncPolicy.NEVER, stream=STREAM)
    for event in events:
        spool.append(event)
    if crashed:
        spool.abandon_after_fork()
    else:
        spool.close()
    (segment,) = path.glob("*.seg")
    raw = bytearray(segment.read_bytes())
    used = len(raw.rstrip(b"\x00")) if crashed else len(raw)
    offset = data.draw(st.integers(0, used - 1), label="offset")
    raw[offset] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    scan = scan_segment(bytes(raw), expected=None if crashed else len(events))
    found = [bytes(raw[o : o + n]) for o, n in scan.frames]
    it = iter(events)
    assert all(any(f == e for e in it) for f in found), "replayed what was not appended, or out of order"
    assert len(events) - len(found) <= 1
    assert scan.events_lost == len(events) - len(found)


def test_a_format_2_segment_of_an_older_version_is_replayed_past_damage(tmp_path: Path) -> None:
    frames = [V2_FRAME_HEADER.pack(0xA5, len(p), checksum(p)) + p for p in payloads(20)]
    seal = SEAL_PAYLOAD.pack(20)
    body = b"".join(frames) + V2_FRAME_HEADER.pack(0x5A, len(seal), checksum(seal)) + seal
    raw = bytearray(V2_SEGMENT_HEADER.pack(b"NLSPOOL\x02", SEGMENT, 0) + body)
    raw[V2_SEGMENT_HEADER.size + 5 * len(frames[0]) + 50] ^= 0x01
    raw[3] ^= 0x08  # its header too: the frames carry their own checksums
    (tmp_path / f"{7:020d}.seg").write_bytes(bytes(raw))
    replayed, spool = reopen(tmp_path)
    assert replayed == payloads(5) + payloads(20)[6:]
    assert spool.events_lost == 1


def test_a_format_1_segment_of_an_older_version_is_replayed_past_damage(tmp_path: Path) -> None:
    header = struct.Struct("<II")
    frames = [header.pack(len(p), zlib.crc32(p)) + p for p in payloads(20)]
    raw = bytearray(b"".join(frames) + bytes(1000))  # an active segment: zero length ends it
    raw[5 * len(frames[0]) + 50] ^= 0x01
    (tmp_path / f"{7:020d}.seg").write_bytes(bytes(raw))
    replayed, spool = reopen(tmp_path)
    assert replayed == payloads(5) + payloads(20)[6:]
    assert spool.events_lost == 1


def test_an_unreadable_index_makes_counts_lower_bounds_not_errors(tmp_path: Path) -> None:
    segment, _ = written(tmp_path, 30)
    segment.write_bytes(bytes(segment.stat().st_size))
    (tmp_path / INDEX_NAME).write_text("{not json")
    replayed, spool = reopen(tmp_path)
    assert replayed == [] and spool.losses_exact is False


def test_the_producer_counts_lost_events_in_its_metrics(tmp_path: Path) -> None:
    segment, start = written(tmp_path, 40)
    damage(segment, start + 3 * FRAME + FRAME_HEADER.size, xor=0xFF)
    config = ProducerConfig(stream_name=STREAM, kinesis_client=StubKinesis(), spool_dir=tmp_path, linger_ms=1)
    with Producer(config) as producer:
        producer.put(make_event())
        assert producer.flush(30) == 0
        metrics = producer.metrics()
    assert metrics.replayed == 39
    assert metrics.spool_events_lost == 1 and metrics.spool_frames_lost == 1 and metrics.spool_bytes_lost == FRAME


@pytest.mark.parametrize("keep", [0, 5, 12, 16, 20])
def test_a_segment_cut_short_anywhere_in_its_header_opens(tmp_path: Path, keep: int) -> None:
    segment, _ = written(tmp_path, 10)
    segment.write_bytes(segment.read_bytes()[:keep])
    replayed, spool = reopen(tmp_path)
    assert replayed == []
    assert spool.events_lost == 10 and spool.bytes_lost == keep  # the index knows it held 10


def test_lost_events_are_published_as_spool_events_lost(tmp_path: Path) -> None:
    segment, start = written(tmp_path, 40)
    damage(segment, start + 8 * FRAME + 30, xor=0x01)
    damage(segment, start + 20 * FRAME + 30, xor=0x01)
    cloudwatch = FakeCloudWatch()
    config = ProducerConfig(
        stream_name=STREAM,
        kinesis_client=StubKinesis(),
        spool_dir=tmp_path,
        linger_ms=1,
        metrics_interval_s=0.01,
        cloudwatch_client=cloudwatch,
    )
    with Producer(config) as producer:
        assert producer.flush(30) == 0
    assert cloudwatch.total("SpoolEventsLost") == 2
    datum = next(d for c in cloudwatch.calls for d in c["MetricData"] if d["MetricName"] == "SpoolEventsLost")
    assert datum["Dimensions"] == [{"Name": "Stream", "Value": STREAM}]
