"""An archive as the workers write it (their own file writer), with producer re-sends, and the
plain-Python truth about it."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from consumer.archive import ArchiveFile, dead_letter_key, encode_rows
from schemas import DEAD_LETTER

HOUR_MS = 3600 * 1000
SHARDS = ("shardId-000000000000", "shardId-000000000001", "shardId-000000000002")


@dataclass
class Archive:
    rows: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)

    def unique(self) -> list[dict[str, Any]]:
        """One row per event: the latest Kinesis arrival (computed without analytics' code)."""
        best: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            key = (row["arrived_at"], row["shard_id"], int(row["sequence_number"]), row["subsequence_number"])
            held = best.get(row["event_id"])
            if held is None or key > (
                held["arrived_at"],
                held["shard_id"],
                int(held["sequence_number"]),
                held["subsequence_number"],
            ):
                best[row["event_id"]] = row
        return list(best.values())

    def files(self, rows_per_file: int = 7) -> list[ArchiveFile]:
        """The worker's files: per shard, per hour, ``rows_per_file`` rows each, Kinesis order."""
        out = []
        by_shard_hour: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for row in sorted(self.rows, key=lambda r: (r["shard_id"], int(r["sequence_number"]))):
            by_shard_hour.setdefault((row["shard_id"], row["observed_at"] // HOUR_MS), []).append(row)
        for rows in by_shard_hour.values():
            for start in range(0, len(rows), rows_per_file):
                out.append(ArchiveFile.of(rows[start : start + rows_per_file]))
        return out

    def upload(self, s3: Any, bucket: str, rows_per_file: int = 15) -> int:
        files = self.files(rows_per_file)
        for f in files:
            s3.put_object(Bucket=bucket, Key=f.key, Body=f.body)
        for row in self.dead_letters:
            name = f"{row['shard_id']}-{row['sequence_number']}-{row['subsequence_number']}"
            s3.put_object(
                Bucket=bucket, Key=dead_letter_key(row["arrived_at"], name), Body=encode_rows([row], DEAD_LETTER)
            )
        return len(files)


def uploaded(s3: Any, bucket: str, *, start_ms: int, hours: int, events_per_hour: int) -> Archive:
    """A new bucket holding a :func:`build` archive (the analytics tests' ``archive_bucket``)."""
    s3.create_bucket(Bucket=bucket)
    archive = build(start_ms=start_ms, hours=hours, events_per_hour=events_per_hour)
    archive.upload(s3, bucket)
    return archive


def build(
    *,
    start_ms: int,
    hours: int,
    events_per_hour: int,
    resend_fraction: float = 0.1,
    seed: int = 7,
    kids: int = 40,
    elves: int = 9,
) -> Archive:
    """Events spread over ``hours`` from ``start_ms``; a fraction re-sent (same event, a later
    Kinesis record, maybe on another shard); delays up to 10 minutes, so some are late."""
    rng = random.Random(seed)
    archive = Archive()
    sequence = {shard: 10**20 for shard in SHARDS}

    def record(event: dict[str, Any], arrived_at: int) -> dict[str, Any]:
        shard = rng.choice(SHARDS)
        sequence[shard] += rng.randint(1, 1000)
        return {
            **event,
            "schema_fingerprint": "00" * 8,
            "shard_id": shard,
            "sequence_number": str(sequence[shard]),
            "subsequence_number": rng.randint(0, 3),
            "partition_key": event["kid_id"],
            "arrived_at": arrived_at,
        }

    for h in range(hours):
        for _ in range(events_per_hour):
            observed = start_ms + h * HOUR_MS + rng.randrange(HOUR_MS)
            event = {
                "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "kid_id": f"kid-{rng.randrange(kids):03d}",
                "elf_id": f"elf-{rng.randrange(elves)}",
                "behaviour": rng.choice(("NAUGHTY", "NICE", "NICE")),
                "observed_at": observed,
                "note": rng.choice((None, "cookies", "homework")),
                "location": rng.choice((None, {"lat": 90.0, "lon": rng.uniform(-180, 180)})),
                "app_version": rng.choice((None, "2.1.0")),
            }
            arrived = observed + rng.choice((5, 40, 900, 60_000, 400_000, 600_000))
            archive.rows.append(record(event, arrived))
            if rng.random() < resend_fraction:
                archive.rows.append(record(event, arrived + rng.randint(0, 30_000)))
    for i in range(5):
        archive.dead_letters.append(
            {
                "shard_id": SHARDS[0],
                "sequence_number": str(10**25 + i),
                "subsequence_number": 0,
                "partition_key": "pk",
                "arrived_at": start_ms + i * 1000,
                "failed_at": start_ms + i * 1000 + 7,
                "reason": ("not avro", "unknown schema", "not avro", "too big", "not avro")[i],
                "data": bytes([i]) * 3,
            }
        )
    return archive


def event_ids(rows: Iterable[dict[str, Any]]) -> list[str]:
    return [str(r["event_id"]) for r in rows]
