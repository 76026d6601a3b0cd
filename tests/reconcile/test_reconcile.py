"""Reconciliation: the pure comparison, duplicate detection, and the S3/DynamoDB reading."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from reconcile import Reconciler, reconcile
from reconcile._aws import describe
from reconcile._model import DuplicateFinder, Position, duplicates_in, plain_number
from reconcile._sources import avro_rows
from tests.archive_fixtures import archive_key, archived_row, avro_file, table_item
from tests.factories import BASE_MS


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: plain_number(v) for k, v in item.items()}


def test_latest_event_per_kid_wins_by_observed_at_then_event_id() -> None:
    old = archived_row(1, kid_id="k1", observed_at=BASE_MS, event_id="00000000-0000-4000-8000-000000000001")
    tie_low = archived_row(2, kid_id="k1", observed_at=BASE_MS + 10, event_id="00000000-0000-4000-8000-00000000000a")
    tie_high = archived_row(3, kid_id="k1", observed_at=BASE_MS + 10, event_id="00000000-0000-4000-8000-00000000000b")
    r = Reconciler()
    for row in (tie_high, old, tie_low):  # arrival order must not matter
        r.add_archived(row)
    r.add_item(_plain(table_item(tie_high)))
    report = r.finish()
    assert report.ok, describe(report)
    assert report.kids_archived == 1 and report.table_items == 1


def test_each_kind_of_disagreement_is_counted() -> None:
    r = Reconciler()
    missing = archived_row(1, kid_id="missing")
    stale_old = archived_row(2, kid_id="stale", observed_at=BASE_MS)
    stale_new = archived_row(3, kid_id="stale", observed_at=BASE_MS + 1)
    mismatch = archived_row(4, kid_id="mismatch", behaviour="NICE")
    newer = archived_row(5, kid_id="newer", observed_at=BASE_MS)
    for row in (missing, stale_old, stale_new, mismatch, newer):
        r.add_archived(row)
    r.add_item(_plain(table_item(stale_old)))
    r.add_item(_plain(table_item({**mismatch, "behaviour": "NAUGHTY"})))
    r.add_item(_plain(table_item({**newer, "observed_at": BASE_MS + 99})))
    r.add_item(_plain(table_item(archived_row(6, kid_id="orphan"))))
    report = r.finish()
    assert (report.missing_from_table, report.stale_items, report.mismatched_items) == (1, 1, 1)
    assert report.items_without_archived_event == 2
    assert report.problems == 5 and not report.ok
    assert {d.kid_id for d in report.samples["items_without_archived_event"]} == {"newer", "orphan"}
    assert report.kids_archived == 4


def test_location_note_and_app_version_are_compared() -> None:
    row = archived_row(1, kid_id="k", location={"lat": 51.5072, "lon": -0.1276}, note="ate the cookies")
    row["app_version"] = "2.1.0"
    for field, value in (("note", None), ("app_version", "2.0.0"), ("location", {"lat": 51.5, "lon": -0.1276})):
        r = Reconciler()
        r.add_archived(row)
        r.add_item(_plain(table_item({**row, field: value})))
        assert r.finish().mismatched_items == 1, field
    r = Reconciler()
    r.add_archived(row)
    r.add_item(_plain(table_item(row)))
    assert r.finish().ok


def test_latency_percentiles_from_written_at() -> None:
    r = Reconciler()
    rows = [archived_row(i, kid_id=f"k{i}") for i in range(100)]
    for row in rows:
        r.add_archived(row)
    for i, row in enumerate(rows):
        r.add_item(_plain(table_item(row, written_delay_ms=i + 1)))
    report = r.finish()
    assert report.latency_percentile(0.5) == 50
    assert report.latency_percentile(0.99) == 99
    assert Reconciler().finish().latency_percentile(0.5) is None


def test_table_items_after_archive_rows_only() -> None:
    r = Reconciler()
    r.add_item(_plain(table_item(archived_row(1))))
    with pytest.raises(RuntimeError):
        r.add_archived(archived_row(2))


def _finder_for(files: dict[str, list[dict[str, Any]]]) -> DuplicateFinder:
    finder = DuplicateFinder()
    for key, rows in files.items():
        for row in rows:
            finder.observe(key, row)
        finder.end_file()
    return finder


def test_disjoint_files_are_not_suspects_and_overlaps_are() -> None:
    a = [archived_row(i) for i in range(0, 5)]
    b = [archived_row(i) for i in range(5, 9)]
    other_shard = [archived_row(i, shard_id="shardId-000000000001") for i in range(0, 9)]
    assert list(_finder_for({"a": a, "b": b, "c": other_shard}).suspect_groups()) == []

    replay = [archived_row(i) for i in range(3, 7)]  # a replay that started at another record
    groups = list(_finder_for({"a": a, "b": b, "r": replay}).suspect_groups())
    assert [sorted(f.key for f in g) for g in groups] == [["a", "b", "r"]]
    rows = a + b + replay
    assert sorted(p.sequence_number - 10**20 for _, p in duplicates_in(rows)) == [3, 4, 5, 6]


def test_interleaved_hour_partitions_are_suspects_but_hold_no_duplicates() -> None:
    even = [archived_row(i) for i in range(0, 10, 2)]
    odd = [archived_row(i) for i in range(1, 10, 2)]
    groups = list(_finder_for({"even": even, "odd": odd}).suspect_groups())
    assert len(groups) == 1
    assert list(duplicates_in(even + odd)) == []


def test_a_file_repeating_a_record_itself_is_a_suspect() -> None:
    rows = [archived_row(1), archived_row(2, 0), archived_row(2, 0)]
    groups = list(_finder_for({"f": rows}).suspect_groups())
    assert len(groups) == 1 and groups[0][0].unordered
    assert list(duplicates_in(rows)) == [("shardId-000000000000", Position(10**20 + 2, 0))]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 30), st.integers(0, 2)), min_size=1, max_size=60),
    st.data(),
)
def test_duplicate_finder_finds_exactly_the_repeats(records: list[tuple[int, int, int]], data: st.DataObject) -> None:
    """Records spread over files in any way (files of one shard, positions ascending within a
    file unless repeated): re-reading only the suspect groups finds every repeat."""
    rows = [archived_row(seq, sub, shard_id=f"shardId-{shard:012d}") for shard, seq, sub in records]
    files: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        n = data.draw(st.integers(0, 4))
        files.setdefault(f"{row['shard_id']}/{n}", []).append(row)
    for key in files:
        files[key].sort(key=lambda r: (int(r["sequence_number"]), r["subsequence_number"]))
    finder = _finder_for(files)
    found = [dup for group in finder.suspect_groups() for dup in duplicates_in(r for f in group for r in files[f.key])]
    assert len(found) == len(rows) - len({(s, q, b) for s, q, b in records})


@pytest.fixture
def aws() -> Any:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        s3.create_bucket(Bucket="archive")
        ddb.create_table(
            TableName="kids",
            KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield s3, boto3.resource("dynamodb", region_name="us-east-1").Table("kids"), ddb


def _put_archive(s3: Any, rows: list[dict[str, Any]]) -> None:
    s3.put_object(Bucket="archive", Key=archive_key(rows[0]), Body=avro_file(rows))


def test_reconcile_against_s3_and_dynamodb(aws: Any) -> None:
    s3, table, ddb = aws
    rows = [archived_row(i, kid_id=f"kid-{i % 7}", observed_at=BASE_MS + i) for i in range(40)]
    for start in range(0, 40, 10):
        _put_archive(s3, rows[start : start + 10])
    latest = {row["kid_id"]: row for row in rows}
    for row in latest.values():
        table.put_item(Item=table_item(row))
    s3.put_object(Bucket="archive", Key="dead-letter/dt=2025-12-23/hour=00/x.avro", Body=b"...")

    report = reconcile(s3=s3, dynamodb=ddb, bucket="archive", table="kids")
    assert report.ok, describe(report)
    assert (report.archive_objects, report.archived_rows, report.kids_archived, report.table_items) == (4, 40, 7, 7)
    assert report.dead_letters == 1
    assert report.naughty + report.nice == 7

    # a replay archived under another key: records 12..15 twice
    _put_archive(s3, rows[12:16])
    table.delete_item(Key={"kid_id": "kid-0"})
    report = reconcile(s3=s3, dynamodb=ddb, bucket="archive", table="kids")
    assert report.duplicate_records == 4
    assert report.missing_from_table == 1
    assert not report.ok
    assert describe(report)[-1] == "DISAGREE: 5 problems"


def test_reconcile_names_a_missing_bucket(aws: Any) -> None:
    from reconcile import SourceError

    s3, _, ddb = aws
    with pytest.raises(SourceError, match="NoSuchBucket"):
        reconcile(s3=s3, dynamodb=ddb, bucket="nope", table="kids")


def test_avro_rows_reads_a_container_file() -> None:
    rows = [archived_row(1), archived_row(2)]
    decoded = avro_rows(avro_file(rows))
    assert [r["event_id"] for r in decoded] == [r["event_id"] for r in rows]


def test_far_future_events_are_reported_not_agreed_on(aws: Any) -> None:
    """A year-9999 event pins its kid's item: archive and table agree, yet it is a problem."""
    s3, table, ddb = aws
    normal = archived_row(1, kid_id="kid-a", observed_at=BASE_MS)
    pinned = archived_row(2, kid_id="kid-b", observed_at=253_402_300_799_000)
    pinned["arrived_at"] = BASE_MS
    _put_archive(s3, [normal, pinned])
    for row in (normal, pinned):
        table.put_item(Item=table_item(row))
    report = reconcile(s3=s3, dynamodb=ddb, bucket="archive", table="kids")
    assert report.far_future_events == 1 and report.problems == 1 and not report.ok
    [sample] = report.far_future_samples
    assert (sample.kid_id, sample.observed_at, sample.arrived_at) == ("kid-b", 253_402_300_799_000, BASE_MS)
    lines = describe(report)
    assert any("far future: kid kid-b" in line for line in lines) and lines[-1] == "DISAGREE: 1 problems"
    lenient = reconcile(s3=s3, dynamodb=ddb, bucket="archive", table="kids", max_future_skew_ms=10**16)
    assert lenient.ok and lenient.far_future_events == 0
