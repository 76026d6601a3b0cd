"""The pure part of compaction: hours, the closing rule, one row per event, the Parquet file."""

from __future__ import annotations

import io
import zlib
from collections import Counter

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.compaction import (
    CompactionConfig,
    Hour,
    ParquetHourWriter,
    Winners,
    arrow_schema,
    compacted_key,
    dedupe,
    group_by_hour,
    read_avro,
)
from consumer.archive import ArchiveFile
from foundation.errors import ConfigError
from tests.analytics.archive_data import HOUR_MS, build
from tests.factories import BASE_MS


def test_hours_from_keys_and_instants() -> None:
    hour = Hour.of_key("events/dt=2025-12-23/hour=07/shardId-0-1-0.avro")
    assert hour == Hour("2025-12-23", "07") == Hour.of_ms(BASE_MS + 7 * HOUR_MS + 59_999)
    assert hour is not None and hour.start_ms == BASE_MS + 7 * HOUR_MS and hour.end_ms == BASE_MS + 8 * HOUR_MS
    assert Hour.of_key("events/readme.txt") is None
    assert compacted_key(hour) == "compacted/dt=2025-12-23/hour=07/events.parquet"
    grouped = group_by_hour(["events/dt=2025-12-23/hour=07/b", "events/dt=2025-12-23/hour=07/a", "x"])
    assert grouped == {hour: ["events/dt=2025-12-23/hour=07/a", "events/dt=2025-12-23/hour=07/b"]}


def test_an_hour_closes_a_grace_period_after_it_ends() -> None:
    config = CompactionConfig(grace_ms=30 * 60_000)
    hour = Hour.of_ms(BASE_MS)
    assert not config.is_closed(hour, hour.end_ms)
    assert not config.is_closed(hour, hour.end_ms + 30 * 60_000 - 1)
    assert config.is_closed(hour, hour.end_ms + 30 * 60_000)


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="compression"):
        CompactionConfig(compression="lzo")
    with pytest.raises(ConfigError, match="grace_ms"):
        CompactionConfig(grace_ms=-1)


def _row(event: str, arrived: int, seq: str, shard: str = "s-1", sub: int = 0) -> dict[str, object]:
    return {
        "event_id": event,
        "arrived_at": arrived,
        "shard_id": shard,
        "sequence_number": seq,
        "subsequence_number": sub,
    }


def test_the_latest_arrival_wins_sequence_numbers_compare_as_numbers() -> None:
    rows = [_row("e", 10, "99"), _row("e", 10, "100"), _row("f", 12, "5"), _row("f", 11, "7"), _row("e", 9, "500")]
    assert dedupe(rows) == [rows[1], rows[2]]


def test_a_record_archived_in_two_files_is_taken_once() -> None:
    row = _row("e", 10, "1")
    winners = Winners()
    winners.observe(row)
    winners.observe(dict(row))
    assert winners.take(row) and not winners.take(dict(row)) and len(winners) == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(1, 30)), min_size=1, max_size=40))
def test_dedupe_keeps_exactly_one_row_per_event_the_maximum(copies: list[tuple[int, int, int]]) -> None:
    rows = [_row(f"e{e}", arrived, str(seq)) for e, arrived, seq in copies]
    kept = dedupe(rows)
    assert sorted(r["event_id"] for r in kept) == sorted({r["event_id"] for r in rows})  # type: ignore[type-var]
    for r in kept:
        same = [x for x in rows if x["event_id"] == r["event_id"]]
        assert max((x["arrived_at"], int(str(x["sequence_number"]))) for x in same) == (  # type: ignore[type-var]
            r["arrived_at"],
            int(str(r["sequence_number"])),
        )


def test_parquet_writer_row_groups_and_sources() -> None:
    archive = build(start_ms=BASE_MS, hours=1, events_per_hour=120, resend_fraction=0.0)
    files = archive.files(rows_per_file=25)
    rows = [r for f in files for r in read_avro(f.body)]
    sink = io.BytesIO()
    writer = ParquetHourWriter(sink, config=CompactionConfig(row_group_rows=50, compression="zstd"))
    for row in rows:
        writer.add(row)
    writer.close()
    parquet = pq.ParquetFile(io.BytesIO(sink.getvalue()))
    assert parquet.metadata.num_rows == 120 and parquet.metadata.num_row_groups == 3
    assert parquet.schema_arrow == arrow_schema()
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
    assert not (parquet.metadata.metadata or {}).keys() - {b"ARROW:schema"}  # a small footer
    assert parquet.read().to_pylist() == rows


def test_avro_is_read_with_epoch_millisecond_timestamps() -> None:
    archive = build(start_ms=BASE_MS, hours=1, events_per_hour=3, resend_fraction=0.0)
    f = ArchiveFile.of(sorted(archive.rows, key=lambda r: r["observed_at"]))
    assert [r["observed_at"] for r in read_avro(f.body)] == [r["observed_at"] for r in f.rows]


def test_big_hours_are_split_into_stable_buckets_of_events() -> None:
    from analytics.compaction import bucket_of, buckets_for

    assert (buckets_for(0, 100), buckets_for(100, 100), buckets_for(101, 100), buckets_for(1000, 100)) == (1, 1, 2, 10)
    assert bucket_of("any", 1) == 0
    spread = Counter(bucket_of(f"event-{i}", 4) for i in range(4000))
    assert set(spread) == {0, 1, 2, 3} and min(spread.values()) > 800
    assert bucket_of("event-7", 4) == bucket_of("event-7", 4) == zlib.crc32(b"event-7") % 4
