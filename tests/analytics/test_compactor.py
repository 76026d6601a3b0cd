"""Compaction on the embedded stack: exactly once under reruns, crashes and concurrent compactors;
every archived event once; reconcile reads the compacted archive."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from analytics import CompactedArchive, CompactionConfig, CompactionReport, Hour, compact, compacted_key
from analytics.compaction import COMPACTED_PREFIX
from consumer.archive import ArchiveFile
from localaws import LocalAWS
from nicelist.cli import main
from reconcile import reconcile
from tests.analytics.archive_data import HOUR_MS, Archive, event_ids, uploaded
from tests.archive_fixtures import table_item
from tests.factories import BASE_MS
from tests.stack import unique_name

HOURS = 4
#: the last hour is still open: its grace period has not passed
NOW_MS = BASE_MS + HOURS * HOUR_MS + 30 * 60_000
CONFIG = CompactionConfig(grace_ms=60 * 60_000, row_group_rows=100)


@pytest.fixture
def archive_bucket(local_aws: LocalAWS) -> tuple[Any, str, Archive]:
    s3 = local_aws.client("s3")
    bucket = unique_name("compact")
    return s3, bucket, uploaded(s3, bucket, start_ms=BASE_MS, hours=HOURS, events_per_hour=60)


def _compacted(s3: Any, bucket: str) -> dict[str, dict[str, Any]]:
    """key -> {etag, rows}"""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=COMPACTED_PREFIX):
        for obj in page.get("Contents", ()):
            if not obj["Key"].endswith(".parquet"):
                continue
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            found[obj["Key"]] = {"etag": obj["ETag"], "rows": pq.read_table(io.BytesIO(body)).to_pylist()}
    return found


def _closed_hours(archive: Archive) -> set[Hour]:
    return {
        Hour.of_ms(r["observed_at"]) for r in archive.rows if CONFIG.is_closed(Hour.of_ms(r["observed_at"]), NOW_MS)
    }


def _assert_each_event_once(s3: Any, bucket: str, archive: Archive) -> None:
    closed = _closed_hours(archive)
    compacted = _compacted(s3, bucket)
    assert set(compacted) == {compacted_key(h) for h in closed}
    rows = [r for found in compacted.values() for r in found["rows"]]
    expected = [r for r in archive.unique() if Hour.of_ms(r["observed_at"]) in closed]
    assert sorted(event_ids(rows)) == sorted(event_ids(expected))
    # and each is the latest arrival, with every field as archived
    key = {r["event_id"]: r for r in expected}
    assert all(row == {k: key[row["event_id"]][k] for k in row} for row in rows)


def test_compaction_writes_each_closed_hour_once_and_a_rerun_changes_nothing(
    archive_bucket: tuple[Any, str, Archive],
) -> None:
    s3, bucket, archive = archive_bucket
    assert len(archive.unique()) < len(archive.rows)  # there are re-sends to collapse
    report = compact(s3=s3, bucket=bucket, config=CONFIG, now_ms=NOW_MS)
    assert len(report.written) == HOURS - 1 and report.open_hours == [Hour.of_ms(BASE_MS + (HOURS - 1) * HOUR_MS)]
    assert sum(r.source_rows for r in report.written) > sum(r.rows for r in report.written)
    _assert_each_event_once(s3, bucket, archive)
    before = _compacted(s3, bucket)

    again = compact(s3=s3, bucket=bucket, config=CONFIG, now_ms=NOW_MS)
    assert (again.written, again.lost_races, again.already_compacted) == ([], [], HOURS - 1)
    assert _compacted(s3, bucket) == before


def test_a_crash_mid_run_is_finished_by_the_next_run(archive_bucket: tuple[Any, str, Archive]) -> None:
    s3, bucket, archive = archive_bucket
    puts = {"n": 0}

    class Crash(Exception):
        pass

    def crash_on_second_put(params: dict[str, Any], **_: Any) -> None:
        if params["url_path"].endswith(".parquet"):
            puts["n"] += 1
            if puts["n"] == 2:
                raise Crash("the compactor died")

    s3.meta.events.register("before-call.s3.PutObject", crash_on_second_put)
    try:
        with pytest.raises(Crash):
            compact(s3=s3, bucket=bucket, config=CONFIG, now_ms=NOW_MS)
    finally:
        s3.meta.events.unregister("before-call.s3.PutObject", crash_on_second_put)
    assert len(_compacted(s3, bucket)) == 1
    report = compact(s3=s3, bucket=bucket, config=CONFIG, now_ms=NOW_MS)
    assert (len(report.written), report.already_compacted) == (HOURS - 2, 1)
    _assert_each_event_once(s3, bucket, archive)


def test_two_concurrent_compactors_write_each_hour_once(
    local_aws: LocalAWS, archive_bucket: tuple[Any, str, Archive]
) -> None:
    s3, bucket, archive = archive_bucket
    # both compactors reach every PutObject together, so each hour really is raced for
    together = threading.Barrier(2, timeout=60)

    def wait_for_the_other(**_: Any) -> None:
        together.wait()  # returns an int, which botocore would take for a response

    def compactor() -> CompactionReport:
        client = local_aws.client("s3")
        client.meta.events.register("before-call.s3.PutObject", wait_for_the_other)
        # a small pass_bytes: each hour is de-duplicated in several buckets (the bounded-memory path)
        config = CompactionConfig(grace_ms=CONFIG.grace_ms, row_group_rows=CONFIG.row_group_rows, pass_bytes=4000)
        return compact(s3=client, bucket=bucket, config=config, now_ms=NOW_MS)

    with ThreadPoolExecutor(2) as pool:
        reports = [f.result() for f in [pool.submit(compactor), pool.submit(compactor)]]
    won = [r.hour for report in reports for r in report.written]
    lost = [h for report in reports for h in report.lost_races]
    assert sorted(won) == sorted(lost) == sorted(_closed_hours(archive))
    _assert_each_event_once(s3, bucket, archive)


def test_late_files_are_reported_and_reconcile_reads_them(
    local_aws: LocalAWS, archive_bucket: tuple[Any, str, Archive]
) -> None:
    s3, bucket, archive = archive_bucket
    compact(s3=s3, bucket=bucket, config=CONFIG, now_ms=NOW_MS)
    # a phone offline for a day reports into the first hour, after it was compacted
    late_row = dict(archive.rows[0], event_id="late-event", kid_id="kid-late", sequence_number=str(10**30))
    late = ArchiveFile.of([late_row])
    s3.put_object(Bucket=bucket, Key=late.key, Body=late.body)
    archive.rows.append(late_row)
    report = compact(s3=s3, bucket=bucket, config=CONFIG, now_ms=NOW_MS)
    assert report.late_files == {Hour.of_ms(late_row["observed_at"]): [late.key]}

    # the table holds each kid's latest event: reconcile agrees with raw and with compacted
    dynamodb = local_aws.client("dynamodb")
    table = unique_name("kids")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    resource = boto3.resource("dynamodb", endpoint_url=local_aws.endpoint_url, region_name="us-east-1").Table(table)
    latest: dict[str, dict[str, Any]] = {}
    for row in archive.unique():
        held = latest.get(row["kid_id"])
        if held is None or (row["observed_at"], row["event_id"]) > (held["observed_at"], held["event_id"]):
            latest[row["kid_id"]] = row
    with resource.batch_writer() as batch:
        for row in latest.values():
            batch.put_item(Item=table_item(row))

    compacted = CompactedArchive(s3, bucket)
    found = reconcile(s3=s3, dynamodb=dynamodb, bucket=bucket, table=table, archive=compacted)
    assert found.ok, found
    assert compacted.parquet_objects == HOURS - 1
    open_hour_files = len([k for k in _keys(s3, bucket, "events/") if Hour.of_key(k) == Hour.of_ms(NOW_MS - HOUR_MS)])
    assert compacted.avro_objects == open_hour_files + 1  # the open hour's files and the late file
    open_hour = Hour.of_ms(NOW_MS - HOUR_MS)
    raw_rows_of_open_hour = [r for r in archive.rows if Hour.of_ms(r["observed_at"]) == open_hour]
    unique_closed = [r for r in archive.unique() if Hour.of_ms(r["observed_at"]) != open_hour]
    assert found.archived_rows == len(unique_closed) + len(raw_rows_of_open_hour)
    assert found.kids_archived == len(latest) and found.table_items == len(latest)
    raw = reconcile(s3=s3, dynamodb=dynamodb, bucket=bucket, table=table)
    assert raw.archived_rows == len(archive.rows) and raw.table_items == len(latest)
    common = ["--endpoint", local_aws.endpoint_url, "--bucket", bucket]
    assert main(["reconcile", "--archive", "compacted", "--table", table, "--no-progress", *common]) == 0


def test_the_compact_command(local_aws: LocalAWS, archive_bucket: tuple[Any, str, Archive], capsys: Any) -> None:
    s3, bucket, archive = archive_bucket
    common = ["--endpoint", local_aws.endpoint_url, "--bucket", bucket, "--no-progress"]
    # by the wall clock every hour of December 2025 is long closed
    assert main(["compact", "--grace-minutes", "0", "--json", *common]) == 0
    first = json.loads(capsys.readouterr().out)
    assert len(first["written"]) == HOURS and first["open_hours"] == []
    assert sum(h["rows"] for h in first["written"]) == len(archive.unique())
    assert main(["compact", "--compression", "snappy", *common]) == 0
    assert f"hours already compacted:   {HOURS}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:  # argparse: one line, exit 2
        main(["compact", "--row-group-rows", "0", *common])
    assert exit_.value.code == 2


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages: Callable[..., Any] = s3.get_paginator("list_objects_v2").paginate
    return [o["Key"] for page in pages(Bucket=bucket, Prefix=prefix) for o in page.get("Contents", ())]
