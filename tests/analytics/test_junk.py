"""Junk in the archive (an empty, truncated, non-Avro or foreign-schema object) on the embedded
stack: compaction compacts every other hour and names the junk, query and reconcile answer
without it, and late files are found from what the Parquet was built from even after its
sources expired."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import fastavro
import pytest

from analytics import CompactionConfig, Hour, LocalAthena, compact
from consumer.archive import ArchiveFile
from foundation.avro_objects import BadObject
from localaws import LocalAWS
from nicelist.cli import main
from reconcile import RawArchive, reconcile
from tests.analytics.archive_data import HOUR_MS, Archive, uploaded
from tests.factories import BASE_MS
from tests.stack import unique_name

HOURS = 3
NOW_MS = BASE_MS + (HOURS + 2) * HOUR_MS
CONFIG = CompactionConfig(grace_ms=60 * 60_000)
FIRST = Hour.of_ms(BASE_MS)


def _foreign(_: bytes) -> bytes:
    # a record that shares a field name with ours: it must still add nothing
    out = io.BytesIO()
    schema = {"type": "record", "name": "Probe", "fields": [{"name": "event_id", "type": "string"}]}
    fastavro.writer(out, fastavro.parse_schema(schema), [{"event_id": "probe-1"}])
    return out.getvalue()


JUNK: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "empty": (lambda good: b"", "empty object"),
    "truncated": (lambda good: good[: len(good) - 40], "truncated or corrupt"),
    "not-avro": (lambda good: b"kid_id,behaviour\nk1,NICE\n", "not an Avro container file"),
    "foreign": (_foreign, "foreign schema Probe"),
}


@pytest.fixture
def archive_bucket(local_aws: LocalAWS) -> tuple[Any, str, Archive]:
    s3 = local_aws.client("s3")
    bucket = unique_name("junk")
    return s3, bucket, uploaded(s3, bucket, start_ms=BASE_MS, hours=HOURS, events_per_hour=40)


def _put_junk(s3: Any, bucket: str, archive: Archive, kind: str) -> BadObject:
    good = archive.files()[0].body
    body = JUNK[kind][0](good)
    key = f"events/{FIRST.partition}/zz-{kind}.avro"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return BadObject(key, len(body), JUNK[kind][1])


@pytest.mark.parametrize("kind", sorted(JUNK))
def test_junk_in_one_hour_leaves_it_uncompacted_and_names_it(
    archive_bucket: tuple[Any, str, Archive], kind: str
) -> None:
    s3, bucket, archive = archive_bucket
    junk = _put_junk(s3, bucket, archive, kind)
    report = compact(s3=s3, bucket=bucket, config=CONFIG, now_ms=NOW_MS)
    assert sorted(r.hour for r in report.written) == [Hour.of_ms(BASE_MS + h * HOUR_MS) for h in (1, 2)]
    assert report.skipped_hours == [FIRST] and report.has_problems
    [bad] = report.bad_objects
    assert (bad.key, bad.size) == (junk.key, junk.size) and bad.reason.startswith(junk.reason), bad
    assert any(junk.key in line for line in report.describe())


def test_the_commands_answer_around_a_foreign_schema_object(
    local_aws: LocalAWS, archive_bucket: tuple[Any, str, Archive], capsys: Any
) -> None:
    s3, bucket, archive = archive_bucket
    junk = _put_junk(s3, bucket, archive, "foreign")
    common = ["--endpoint", local_aws.endpoint_url, "--bucket", bucket]
    assert main(["compact", "--grace-minutes", "0", "--no-progress", *common]) == 4  # compacted, with problems
    out = capsys.readouterr().out
    assert "hours compacted now:       2" in out and f"skipped: {junk.key}" in out
    assert main(["compact", "--grace-minutes", "0", "--no-progress", "--json", *common]) == 4
    capsys.readouterr()

    # query: the foreign object adds no row (the issue saw 601 rows for 600 events)
    assert main(["query", "SELECT count(*) AS n FROM nicelist.events", "--csv", *common]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1] == str(len(archive.rows))
    assert f"query: skipped {junk.key}" in captured.err and "Traceback" not in captured.err
    with LocalAthena.from_s3(s3, bucket) as db:
        assert [b.key for b in db.bad_objects] == [junk.key]
        assert db.counts()["events_unique"] == len(archive.unique())

    # reconcile: reads every other object, names the junk, and does not call the archive sound
    dynamodb = local_aws.client("dynamodb")
    table = unique_name("kids")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    raw = RawArchive(s3, bucket)
    report = reconcile(s3=s3, dynamodb=dynamodb, bucket=bucket, table=table, archive=raw)
    assert report.archived_rows == len(archive.rows)
    assert [b.key for b in report.unreadable_objects] == [junk.key] and not report.ok
    assert main(["reconcile", "--table", table, "--no-progress", *common]) == 1
    assert f"unreadable (skipped): {junk.key}" in capsys.readouterr().out


def test_a_late_file_is_found_after_the_avro_of_its_hour_expired(
    local_aws: LocalAWS, archive_bucket: tuple[Any, str, Archive], capsys: Any
) -> None:
    s3, bucket, archive = archive_bucket
    first = compact(s3=s3, bucket=bucket, config=CONFIG, now_ms=NOW_MS)
    assert len(first.written) == HOURS and not first.late_files
    # the lifecycle rule expires the first hour's Avro...
    keys = [
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"events/{FIRST.partition}/").get("Contents", ())
    ]
    assert len(keys) > 1
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)
    # ...then a phone offline for a day reports into it; and a source re-created with other rows
    row = dict(next(r for r in archive.rows if Hour.of_ms(r["observed_at"]) == FIRST), event_id="late-1")
    late = ArchiveFile.of([dict(row, sequence_number=str(10**30))])
    s3.put_object(Bucket=bucket, Key=late.key, Body=late.body)
    recreated = dict(row, event_id="late-2")
    s3.put_object(Bucket=bucket, Key=keys[0], Body=ArchiveFile.of([recreated]).body)
    report = compact(s3=s3, bucket=bucket, config=CONFIG, now_ms=NOW_MS)
    assert report.late_files == {FIRST: sorted([late.key, keys[0]])}
    common = ["--endpoint", local_aws.endpoint_url, "--bucket", bucket, "--no-progress"]
    assert main(["compact", "--grace-minutes", "0", *common]) == 3  # late files
    assert f"late: {FIRST}: {late.key}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "COPY (SELECT 1) TO '/tmp/nicelist-query-probe.csv'",
        "ATTACH '/tmp/nicelist-query-probe.db' AS probe",
        "SELECT 1; SELECT 2",
        "INSTALL httpfs",
        "SET enable_external_access = true",
        "CREATE TABLE nicelist.x AS SELECT 1 AS y",
    ],
)
def test_query_reads_the_archive_and_nothing_else(
    local_aws: LocalAWS, archive_bucket: tuple[Any, str, Archive], capsys: Any, sql: str
) -> None:
    _, bucket, _ = archive_bucket
    assert main(["query", sql, "--endpoint", local_aws.endpoint_url, "--bucket", bucket]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nicelist query: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_query_still_answers_a_with_select(local_aws: LocalAWS, archive_bucket: tuple[Any, str, Archive]) -> None:
    s3, bucket, archive = archive_bucket
    with LocalAthena.from_s3(s3, bucket) as db:
        sql = "WITH e AS (SELECT event_id FROM nicelist.events) SELECT count(DISTINCT event_id) AS n FROM e"
        assert db.run_sql(sql).rows == [(len(archive.unique()),)]
        assert db.run_sql("SELECT 1 AS a UNION ALL SELECT 2 AS a").rows == [(1,), (2,)]
