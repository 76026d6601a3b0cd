"""The spool: appends survive reopening, acks delete segments, a torn last append is dropped, disk
use is bounded, and one directory has one live owner. Damage: test_spool_damage.py; ownership,
stream and file system errors: test_spool_ownership.py."""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import pytest

from producer import SpoolFullError, SpoolLockedError
from producer._spool import FRAME_HEADER, FsyncPolicy, Spool

SEGMENT = 64 * 1024


def open_spool(path: Path, **kwargs: object) -> Spool:
    options: dict[str, object] = {"max_bytes": 16 * SEGMENT, "segment_bytes": SEGMENT, "fsync": FsyncPolicy.NEVER}
    options.update(kwargs)
    return Spool(path, **options)  # type: ignore[arg-type]


def payloads(n: int, size: int = 100) -> list[bytes]:
    return [i.to_bytes(4, "big") * (size // 4) for i in range(n)]


def test_unacknowledged_events_are_replayed_by_the_next_spool(tmp_path: Path) -> None:
    spool = open_spool(tmp_path)
    data = payloads(2000)  # ~3 segments
    assert [spool.append(p) for p in data] == list(range(len(data)))  # append indexes
    assert spool.segment_count >= 3
    spool.close()

    again = open_spool(tmp_path)
    assert again.backlog_events == len(data)
    replayed = list(again.replay())
    assert [p for _, p in replayed] == data
    segments = [s for s, _ in replayed]
    assert segments == sorted(segments) and len(set(segments)) == again.segment_count
    assert again.backlog_events == 0
    again.close()


def test_acknowledged_segments_are_deleted(tmp_path: Path) -> None:
    spool = open_spool(tmp_path)
    for p in payloads(1500):
        spool.append(p)
    spool.ack_appended(0, 700)
    spool.ack_appended(700, 800)
    spool.close()  # seals the active segment, which is fully acknowledged
    assert list(tmp_path.glob("*.seg")) == []
    assert open_spool(tmp_path).backlog_events == 0


def test_partially_acknowledged_segment_is_replayed_whole(tmp_path: Path) -> None:
    spool = open_spool(tmp_path)
    for p in payloads(10):
        spool.append(p)
    spool.ack_appended(0, 9)
    spool.close()
    assert open_spool(tmp_path).backlog_events == 10  # at least once: duplicates, never gaps


def test_replayed_events_acknowledged_delete_the_old_segments(tmp_path: Path) -> None:
    spool = open_spool(tmp_path)
    for p in payloads(1000):
        spool.append(p)
    spool.close()
    again = open_spool(tmp_path)
    counts: dict[int, int] = {}
    for segment, _ in again.replay():
        counts[segment] = counts.get(segment, 0) + 1
    for segment, count in counts.items():
        again.ack(segment, count)
    assert again.segment_count == 0
    again.close()
    assert list(tmp_path.glob("*.seg")) == []


def crash(spool: Spool) -> None:
    """Leave the spool as a SIGKILL would: the active segment unsealed, the lock released."""
    spool.abandon_after_fork()


def test_a_torn_last_append_is_dropped_and_earlier_events_survive(tmp_path: Path) -> None:
    spool = open_spool(tmp_path)
    for p in payloads(5):
        spool.append(p)
    crash(spool)
    (segment,) = tmp_path.glob("*.seg")
    raw = bytearray(segment.read_bytes())
    end = spool.data_start + 5 * (FRAME_HEADER.size + 100)
    torn = bytes(FRAME_HEADER.size) + b"x" * 10  # the payload is copied first, the header after it
    raw[end : end + len(torn)] = torn
    segment.write_bytes(bytes(raw))
    again = open_spool(tmp_path)
    assert [p for _, p in again.replay()] == payloads(5)
    assert (again.events_lost, again.bytes_lost) == (0, 0)  # put() never returned for it: nothing lost
    again.close()


def test_a_crashed_spool_replays_everything_appended(tmp_path: Path) -> None:
    spool = open_spool(tmp_path)
    for p in payloads(1000):
        spool.append(p)
    crash(spool)
    again = open_spool(tmp_path)
    assert [p for _, p in again.replay()] == payloads(1000)
    assert (again.events_lost, again.bytes_lost) == (0, 0)
    again.close()


def test_disk_use_is_bounded(tmp_path: Path) -> None:
    spool = open_spool(tmp_path, max_bytes=3 * SEGMENT)
    accepted = 0
    with pytest.raises(SpoolFullError, match="max_spool_bytes"):
        for p in payloads(10_000):
            spool.append(p)
            accepted += 1
    assert 0 < accepted < 10_000
    assert spool.disk_bytes <= 3 * SEGMENT
    assert sum(f.stat().st_size for f in tmp_path.glob("*.seg")) <= 3 * SEGMENT
    spool.close()
    assert open_spool(tmp_path).backlog_events == accepted  # everything accepted is still there


def test_two_live_spools_never_share_a_directory(tmp_path: Path) -> None:
    first = open_spool(tmp_path)
    with pytest.raises(SpoolLockedError):
        open_spool(tmp_path)
    first.close()
    open_spool(tmp_path).close()  # released on close (and by the kernel when a process dies)


@pytest.mark.parametrize("policy", list(FsyncPolicy))
def test_every_fsync_policy_round_trips(tmp_path: Path, policy: FsyncPolicy) -> None:
    spool = open_spool(tmp_path, fsync=policy)
    for p in payloads(50):
        spool.append(p)
    spool.sync()
    spool.close()
    assert [p for _, p in open_spool(tmp_path).replay()] == payloads(50)


def test_spool_directory_is_private(tmp_path: Path) -> None:
    open_spool(tmp_path / "new").close()
    assert os.stat(tmp_path / "new").st_mode & 0o077 == 0


@pytest.mark.parametrize("policy", [FsyncPolicy.NEVER, FsyncPolicy.INTERVAL])  # INTERVAL: its map is kept
def test_a_recycled_segment_replays_nothing_of_its_acknowledged_past(tmp_path: Path, policy: FsyncPolicy) -> None:
    spool = open_spool(tmp_path, fsync=policy)
    old = payloads(1500)  # ~3 segments, all acknowledged: the first becomes the spare
    for p in old:
        spool.append(p)
    spool.ack_appended(0, len(old))
    assert (tmp_path / "SPARE").exists()
    new = [bytes([0xEE]) * 60 for _ in range(1000)]  # shorter frames: the old ones must not show behind them
    for p in new:
        spool.append(p)
    assert not any(p in new for p in old)
    crash(spool)
    again = open_spool(tmp_path)
    replayed = [p for _, p in again.replay()]
    kept = len(replayed) - len(new)  # the old events sharing the segment that was active at the ack
    assert replayed == old[len(old) - kept :] + new and kept < 500
    assert (again.events_lost, again.bytes_lost) == (0, 0)
    assert not (tmp_path / "SPARE").exists()
    again.close()


def test_sync_flushes_the_pages_written_since_the_last_sync(tmp_path: Path) -> None:
    spool = open_spool(tmp_path, fsync=FsyncPolicy.INTERVAL, segment_bytes=16 * SEGMENT)
    spool.append(b"x" * 100)
    real = spool._map
    assert real is not None
    flushed: list[tuple[int, int]] = []

    class Recording:  # an mmap's methods cannot be patched; sync() only calls flush()
        def flush(self, offset: int, size: int) -> None:
            flushed.append((offset, size))
            real.flush(offset, size)

    spool._map = Recording()  # type: ignore[assignment]
    spool.sync()  # the headers and the first frame: from offset 0
    spool.sync()  # nothing new: no msync
    for _ in range(100):
        spool.append(b"y" * 100)
    spool.sync()
    spool._map = real
    end = spool.data_start + 101 * (FRAME_HEADER.size + 100)
    first_end = spool.data_start + FRAME_HEADER.size + 100
    page = first_end - first_end % mmap.PAGESIZE
    assert flushed == [(0, first_end), (page, end - page)]
    spool.close()
