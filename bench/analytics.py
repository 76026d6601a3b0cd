"""The gain from compaction (issue 16, section 4): ``python -m bench.analytics``.

Builds an archive as the workers write it (the consumer's own file writer: one Avro file per
shard per file close, producer re-sends kept as extra rows) in an in-process S3 (moto), runs
``compact()`` and reports, for the same hours:

- object counts before (Avro under ``events/``) and after (Parquet under ``compacted/``);
- for each example query over ``events_unique``: the bytes Athena must read from the Avro (every
  byte of every object: a row format has no column skipping; this is the baseline) against the
  bytes of the column chunks it needs from the Parquet, footers included (dt predicates are
  ignored: both sides read every hour the bench holds);
- the compaction's CPU time, and the same query's wall time in DuckDB over each side.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from typing import Any

HOUR_MS = 3600 * 1000
BASE_MS = 1_766_448_000_000  # 2025-12-23T00:00:00Z


def make_rows(events: int, hours: int, shards: int, resend: float, seed: int = 16) -> list[dict[str, Any]]:
    """Archived rows in Kinesis order per shard, with realistic field sizes (bench.producer's)."""
    from bench.producer import make_events

    rng = random.Random(seed)
    sequence = [10**55 + i for i in range(shards)]
    rows = []
    for event in make_events(events, seed=seed):
        event["observed_at"] = BASE_MS + rng.randrange(hours * HOUR_MS)
        copies = 2 if rng.random() < resend else 1
        arrived = event["observed_at"] + rng.choice((40, 900, 3000, 400_000))
        for _ in range(copies):
            shard = rng.randrange(shards)
            sequence[shard] += rng.randint(1, 10**6)
            rows.append(
                {
                    **event,
                    "schema_fingerprint": "0123456789abcdef",
                    "shard_id": f"shardId-{shard:012d}",
                    "sequence_number": str(sequence[shard]),
                    "subsequence_number": 0,
                    "partition_key": event["kid_id"],
                    "arrived_at": arrived,
                }
            )
            arrived += rng.randint(100, 30_000)
    return rows


def upload(s3: Any, bucket: str, rows: list[dict[str, Any]], file_s: int) -> tuple[int, int]:
    """The worker's files: each shard closes its open files every ``file_s`` seconds of arrivals,
    one per hour partition it holds rows of; returns (objects, bytes)."""
    from consumer.archive import ArchiveFile

    groups: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: (r["shard_id"], int(r["sequence_number"]))):
        window = row["arrived_at"] // (file_s * 1000)
        groups.setdefault((row["shard_id"], window, row["observed_at"] // HOUR_MS), []).append(row)
    objects = size = 0
    for group in groups.values():
        f = ArchiveFile.of(group)
        s3.put_object(Bucket=bucket, Key=f.key, Body=f.body)
        objects += 1
        size += len(f.body)
    return objects, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events archived (default %(default)s)")
    parser.add_argument("--hours", type=int, default=6, help="hours they span (default %(default)s)")
    parser.add_argument("--shards", type=int, default=4, help="shards, one file stream each (default %(default)s)")
    parser.add_argument("--file-seconds", type=int, default=60, help="worker file age (default %(default)s s)")
    parser.add_argument("--resend", type=float, default=0.02, help="fraction of events re-sent (default 0.02)")
    args = parser.parse_args(argv)

    import boto3
    import pyarrow as pa
    import pyarrow.parquet as pq
    from moto import mock_aws

    from analytics import AthenaNames, CompactionConfig, LocalAthena, athena_examples, compact
    from analytics.compaction import COMPACTED_PREFIX, arrow_schema
    from analytics.scan_cost import columns_read, parquet_bytes

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        bucket = "bench-analytics"
        s3.create_bucket(Bucket=bucket)
        rows = make_rows(args.events, args.hours, args.shards, args.resend)
        avro_objects, avro_bytes = upload(s3, bucket, rows, args.file_seconds)
        names = AthenaNames(bucket=bucket)
        with LocalAthena.from_s3(s3, bucket, names=names) as db:
            raw_times = {n: _timed(db, s.sql) for n, s in athena_examples(names).items()}

        cpu = time.process_time()
        wall = time.monotonic()
        report = compact(s3=s3, bucket=bucket, config=CompactionConfig(grace_ms=0), now_ms=BASE_MS + 10**12)
        cpu = time.process_time() - cpu
        wall = time.monotonic() - wall

        bodies = [
            s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="events/")
            for o in p.get("Contents", ())
        ]
        pure_cpu, floor_cpu = _pure_costs(bodies)

        footers = []
        parquet_total = 0
        for r in report.written:
            body = s3.get_object(Bucket=bucket, Key=r.key)["Body"].read()
            parquet_total += len(body)
            footers.append(pq.ParquetFile(pa.BufferReader(body)).metadata)
        compacted_objects = sum(
            sum(1 for o in p.get("Contents", ()) if o["Key"].endswith(".parquet"))
            for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=COMPACTED_PREFIX)
        )
        with LocalAthena.from_s3(s3, bucket, names=names) as db:
            compacted_times = {n: _timed(db, s.sql) for n, s in athena_examples(names).items()}

    stored = arrow_schema().names
    print(f"archive: {len(rows)} rows ({args.events} events, {len(rows) - args.events} re-sends) over {args.hours} h")
    print(f"objects:   {avro_objects} Avro before -> {compacted_objects} Parquet after ({args.hours} hours)")
    print(
        f"bytes:     {avro_bytes} Avro (deflate) -> {parquet_total} Parquet (zstd), {avro_bytes / parquet_total:.1f}x"
    )
    print(f"compaction: {cpu:.1f} s CPU, {wall:.1f} s wall (with the in-process S3 it calls)")
    print(
        f"  without S3: {len(rows) / pure_cpu:.0f} rows per CPU second "
        f"(baseline, fastavro reading the same files once: {len(rows) / floor_cpu:.0f} rows per CPU second)"
    )
    print()
    print(
        f"{'example':<14} {'Avro bytes read':>16} {'Parquet bytes':>14} {'ratio':>7}  columns   DuckDB ms Avro/Parquet"
    )
    for name, statement in athena_examples(names).items():
        if name == "dead-letters":
            continue  # dead letters stay Avro
        columns = columns_read(statement.sql, stored)
        needed = sum(parquet_bytes(m, columns) for m in footers)
        print(
            f"{name:<14} {avro_bytes:>16} {needed:>14} {avro_bytes / needed:>6.1f}x  {len(columns):>2}/{len(stored):<2}"
            f"    {raw_times[name]:>6.0f} / {compacted_times[name]:.0f}"
        )
    print("\nAvro is the baseline: Athena reads every byte of a row-format object whatever the query needs.")
    return 0


def _pure_costs(bodies: list[bytes]) -> tuple[float, float]:
    """CPU seconds of compaction's own work on in-memory files (both passes, Arrow, Parquet)
    and of the floor: fastavro decoding every file once. Best of three each."""
    import fastavro

    from analytics.compaction import CompactionConfig, ParquetHourWriter, Winners, read_avro

    def compaction() -> None:
        winners = Winners()
        for body in bodies:
            for row in read_avro(body):
                winners.observe(row)
        writer = ParquetHourWriter(io.BytesIO(), config=CompactionConfig())
        for body in bodies:
            for row in read_avro(body):
                if winners.take(row):
                    writer.add(row)
        writer.close()

    def floor() -> None:
        for body in bodies:
            for _ in fastavro.reader(io.BytesIO(body)):
                pass

    return _best_cpu(compaction), _best_cpu(floor)


def _best_cpu(work: Any, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def _timed(db: Any, sql: str) -> float:
    start = time.monotonic()
    db.run_sql(sql)
    return (time.monotonic() - start) * 1000


if __name__ == "__main__":
    raise SystemExit(main())
