"""``nicelist query``: every example query answers as a plain-Python computation over the same
events does, with the archive raw, partly compacted and fully compacted."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from analytics import AthenaNames, CompactionConfig, athena_examples, compact, to_duckdb
from localaws import LocalAWS
from nicelist.cli import main
from tests.analytics.archive_data import HOUR_MS, Archive, build
from tests.factories import BASE_MS
from tests.stack import unique_name

LATE_MS = 5 * 60 * 1000


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def per_day(archive: Archive) -> list[tuple[Any, ...]]:
    days: dict[date, Counter[str]] = defaultdict(Counter)
    for r in archive.unique():
        if "2025-12-01" <= f"{_ts(r['observed_at']):%Y-%m-%d}" <= "2025-12-31":
            days[_ts(r["observed_at"]).date()][r["behaviour"]] += 1
    return [(str(d), str(c["NAUGHTY"]), str(c["NICE"])) for d, c in sorted(days.items())]


def late(archive: Archive) -> list[tuple[Any, ...]]:
    since = f"{datetime.now(UTC).date() - timedelta(days=1):%Y-%m-%d}"
    hours: dict[datetime, list[int]] = defaultdict(list)
    for r in archive.unique():
        if f"{_ts(r['observed_at']):%Y-%m-%d}" >= since:
            hours[_ts(r["arrived_at"]).replace(minute=0, second=0, microsecond=0)].append(
                r["arrived_at"] - r["observed_at"]
            )
    return [
        (str(h), str(len(d)), str(sum(1 for x in d if x > LATE_MS)), (min(d), max(d))) for h, d in sorted(hours.items())
    ]


def busiest_elves(archive: Archive) -> list[tuple[Any, ...]]:
    reports: Counter[str] = Counter()
    kids: dict[str, set[str]] = defaultdict(set)
    for r in archive.unique():
        reports[r["elf_id"]] += 1
        kids[r["elf_id"]].add(r["kid_id"])
    ranked = sorted(reports, key=lambda elf: (-reports[elf], elf))[:20]
    return [(elf, str(reports[elf]), str(len(kids[elf]))) for elf in ranked]


def the_list(archive: Archive) -> list[tuple[Any, ...]]:
    latest: dict[str, dict[str, Any]] = {}
    for r in archive.unique():
        held = latest.get(r["kid_id"])
        if held is None or (r["observed_at"], r["event_id"]) > (held["observed_at"], held["event_id"]):
            latest[r["kid_id"]] = r
    return sorted(
        (r["kid_id"], r["behaviour"], _ts(r["observed_at"]), r["event_id"], r["elf_id"]) for r in latest.values()
    )


def dead_letters(archive: Archive) -> list[tuple[Any, ...]]:
    by_reason: dict[str, list[int]] = defaultdict(list)
    for d in archive.dead_letters:
        by_reason[d["reason"]].append(d["failed_at"])
    return sorted((reason, str(len(f)), _ts(min(f))) for reason, f in by_reason.items())


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _normalise(name: str, rows: list[list[str]]) -> list[tuple[Any, ...]]:
    """The CLI's CSV rows in the reference's shape (timestamps parsed, unordered results sorted)."""
    if name == "late":
        return [(h, n, lt, float(p99)) for h, n, lt, p99 in rows]
    if name == "the-list":
        return sorted((k, b, _timestamp(ts), e, elf) for k, b, ts, e, elf in rows)
    if name == "dead-letters":
        counts = [int(r[1]) for r in rows]
        assert counts == sorted(counts, reverse=True)
        return sorted((reason, n, _timestamp(ts)) for reason, n, ts in rows)
    return [tuple(r) for r in rows]


REFERENCE = {
    "per-day": per_day,
    "late": late,
    "busiest-elves": busiest_elves,
    "the-list": the_list,
    "dead-letters": dead_letters,
}


def _query(local_aws: LocalAWS, bucket: str, name: str, capsys: pytest.CaptureFixture[str]) -> list[list[str]]:
    code = main(["query", "--example", name, "--csv", "--endpoint", local_aws.endpoint_url, "--bucket", bucket])
    out = capsys.readouterr().out
    assert code == 0, out
    header, *rows = list(csv.reader(io.StringIO(out)))
    assert header
    return rows


@pytest.fixture(scope="module")
def archive_with_recent_hours(local_aws: LocalAWS) -> tuple[str, Archive]:
    s3 = local_aws.client("s3")
    bucket = unique_name("query")
    s3.create_bucket(Bucket=bucket)
    december = build(start_ms=BASE_MS, hours=2, events_per_hour=40, seed=1)
    now_hour = int(time.time() * 1000) // HOUR_MS * HOUR_MS
    recent = build(start_ms=now_hour - 2 * HOUR_MS, hours=3, events_per_hour=40, seed=2)
    archive = Archive(rows=december.rows + recent.rows, dead_letters=december.dead_letters)
    archive.upload(s3, bucket)
    return bucket, archive


@pytest.mark.parametrize("state", ["raw", "partly compacted", "fully compacted"])
def test_every_example_answers_as_python_does(
    local_aws: LocalAWS,
    archive_with_recent_hours: tuple[str, Archive],
    capsys: pytest.CaptureFixture[str],
    state: str,
) -> None:
    bucket, archive = archive_with_recent_hours
    s3 = local_aws.client("s3")
    now_ms = int(time.time() * 1000)
    if state == "partly compacted":  # every hour but the current one
        report = compact(s3=s3, bucket=bucket, config=CompactionConfig(grace_ms=0), now_ms=now_ms)
        assert report.written and len(report.open_hours) == 1
    elif state == "fully compacted":
        compact(s3=s3, bucket=bucket, config=CompactionConfig(grace_ms=0), now_ms=now_ms + 2 * HOUR_MS)
    for name, reference in REFERENCE.items():
        got = _normalise(name, _query(local_aws, bucket, name, capsys))
        expected = reference(archive)
        if name == "late":
            assert [g[:3] for g in got] == [e[:3] for e in expected], name
            for g, e in zip(got, expected, strict=True):
                assert e[3][0] <= g[3] <= e[3][1], "p99 lies between the smallest and largest delay"
        else:
            assert got == expected, name


def test_any_sql_and_the_examples_list(
    local_aws: LocalAWS, archive_with_recent_hours: tuple[str, Archive], capsys: pytest.CaptureFixture[str]
) -> None:
    bucket, archive = archive_with_recent_hours
    args = ["--endpoint", local_aws.endpoint_url, "--bucket", bucket]
    sql = "SELECT count(*) AS n, count(DISTINCT event_id) AS events FROM nicelist.events_unique"
    assert main(["query", sql, *args]) == 0
    out = capsys.readouterr().out
    n = len(archive.unique())
    assert f"{n}  {n}" in out.splitlines()[2]
    day = "SELECT count(*) AS n FROM nicelist.events_unique"
    assert main(["query", day, "--from-day", "2025-12-23", "--to-day", "2025-12-23", "--csv", *args]) == 0
    december = [r for r in archive.unique() if r["observed_at"] < BASE_MS + 24 * HOUR_MS]
    assert capsys.readouterr().out.splitlines()[1] == str(len(december))
    assert main(["query", "SELECT nope FROM nicelist.events", *args]) == 2
    assert "query:" in capsys.readouterr().err
    assert main(["query", "--list-examples"]) == 0
    listed = {line.split(":")[0][3:] for line in capsys.readouterr().out.splitlines() if line.startswith("-- ")}
    assert set(REFERENCE) <= listed


def test_examples_transpile_to_duckdb() -> None:
    for name, statement in athena_examples(AthenaNames(bucket="b")).items():
        assert to_duckdb(statement.sql), name
    assert "APPROX_QUANTILE" in to_duckdb("SELECT approx_percentile(x, 0.99) FROM t").upper()


def test_the_demo_ends_with_an_example_answer(local_aws: LocalAWS) -> None:
    from demo._analytics import analytics_lines

    s3 = local_aws.client("s3")
    bucket = unique_name("demo-analytics")
    s3.create_bucket(Bucket=bucket)
    archive = build(start_ms=BASE_MS, hours=2, events_per_hour=30, seed=3)
    files = archive.upload(s3, bucket)
    lines = analytics_lines(s3, bucket)
    text = "\n".join(lines)
    assert f"{files} Avro objects -> 2 Parquet ({len(archive.rows)} rows -> {len(archive.unique())} unique)" in text
    top = busiest_elves(archive)[0]
    assert any(line.split()[:2] == [top[0], top[1]] for line in lines), text
