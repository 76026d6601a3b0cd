"""The bytes a query must read: its columns, from a Parquet footer."""

from __future__ import annotations

import io

import pyarrow.parquet as pq

from analytics import AthenaNames, athena_examples
from analytics.compaction import CompactionConfig, ParquetHourWriter, arrow_schema, read_avro
from analytics.scan_cost import columns_read, parquet_bytes
from tests.analytics.archive_data import build
from tests.factories import BASE_MS

STORED = arrow_schema().names


def test_columns_of_the_examples_map_derived_columns_and_skip_partitions() -> None:
    examples = athena_examples(AthenaNames(bucket="b"))
    assert columns_read(examples["per-day"].sql, STORED) == {"behaviour", "observed_at"}
    assert columns_read(examples["late"].sql, STORED) == {"arrived_at", "observed_at"}
    assert columns_read(examples["busiest-elves"].sql, STORED) == {"elf_id", "kid_id"}
    the_list = {"kid_id", "behaviour", "observed_at", "event_id", "elf_id"}
    assert columns_read(examples["the-list"].sql, STORED) == the_list


def test_parquet_bytes_grow_with_the_columns_and_stay_within_the_file() -> None:
    archive = build(start_ms=BASE_MS, hours=1, events_per_hour=200, resend_fraction=0.0)
    sink = io.BytesIO()
    writer = ParquetHourWriter(sink, config=CompactionConfig(row_group_rows=80))
    for f in archive.files():
        for row in read_avro(f.body):
            writer.add(row)
    writer.close()
    metadata = pq.ParquetFile(io.BytesIO(sink.getvalue())).metadata
    footer = parquet_bytes(metadata, set())
    one = parquet_bytes(metadata, {"behaviour"})
    nested = parquet_bytes(metadata, {"location"})
    everything = parquet_bytes(metadata, set(STORED))
    assert footer < one < everything <= len(sink.getvalue()) and footer < nested < everything
