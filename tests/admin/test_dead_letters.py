"""``nicelist dead-letters`` on the embedded stack: a run's dead letters listed, shown and
redriven, each at most once (twice in a row, two at once, one killed midway, PutRecords
answering with failed entries)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import pytest

from admin.dead_letters import (
    STATUS_CLAIMED,
    STATUS_NEW,
    STATUS_REDRIVEN,
    DeadLetterStore,
    Redriver,
    claimed_key,
    list_dead_letters,
)
from admin.dead_letters._model import Entry, batches
from admin.dead_letters._redrive import OUTCOME_CLAIMED, OUTCOME_DONE_BEFORE, OUTCOME_REDRIVEN, RedriveConfig
from consumer.archive import dead_letter_files
from consumer.records import KinesisRecord, Undecodable, decode
from consumer.sinks.s3 import S3Archive
from foundation.backoff import Backoff
from localaws import LocalAWS
from nicelist.cli import main
from schemas import BehaviourEventCodec, encode_event
from tests.factories import BASE_MS, make_event
from tests.stack import unique_name

HOUR_MS = 3600 * 1000
SHARD = "shardId-000000000000"
FAST = RedriveConfig(max_attempts=4, backoff=Backoff(base_s=0.01, max_s=0.02))


def _records() -> list[KinesisRecord]:
    """What a run refused: an aggregate of 3 bad parts, a lone bad record, one an hour later
    (its event valid: DynamoDB refused it), and a good record beside them."""
    good = encode_event(make_event(kid_id="kid-good"))
    late_ok = encode_event(make_event(kid_id="kid-refused"))
    return [
        *(KinesisRecord(SHARD, "4901", i, f"pk-{i}", BASE_MS, data) for i, data in enumerate([b"", b"x", b"\x00yz"])),
        KinesisRecord(SHARD, "4902", 0, "pk-lone", BASE_MS + 10, b"\xc3\x01" + b"\x00" * 8 + b"junk"),
        KinesisRecord(SHARD, "4903", 0, "pk-good", BASE_MS + 20, good),
        KinesisRecord(SHARD, "4904", 0, "kid-refused", BASE_MS + HOUR_MS, late_ok),
    ]


@pytest.fixture
def archive(local_aws: LocalAWS) -> dict[str, Any]:
    """A bucket holding a run's dead letters, written by the worker's own writer, and a stream."""
    s3, kinesis = local_aws.client("s3"), local_aws.client("kinesis")
    bucket, stream = unique_name("dl"), unique_name("dl-stream")
    s3.create_bucket(Bucket=bucket)
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    codec = BehaviourEventCodec()
    refused = [o for r in _records()[:4] for o in decode(r, codec) if isinstance(o, Undecodable)]
    refused.append(Undecodable(_records()[5], "ValidationException: DynamoDB refused the item"))
    files = dead_letter_files(refused, failed_at_ms=BASE_MS + HOUR_MS + 5)
    sink = S3Archive(s3, bucket, threads=2)
    sink.put_files(files)
    sink.close()
    expected = Counter((r.data, r.partition_key) for r in (u.record for u in refused))
    return {"s3": s3, "kinesis": kinesis, "bucket": bucket, "stream": stream, "files": files, "expected": expected}


def _stream_records(kinesis: Any, stream: str) -> Counter[tuple[bytes, str]]:
    """Every record in the stream (one shard), by (data, partition key)."""
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    found: Counter[tuple[bytes, str]] = Counter()
    while iterator:
        page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        found.update((r["Data"], r["PartitionKey"]) for r in page["Records"])
        if not page["Records"]:
            break
        iterator = page.get("NextShardIterator")
    return found


def _common(local_aws: LocalAWS, archive: dict[str, Any]) -> list[str]:
    return ["--endpoint", local_aws.endpoint_url, "--bucket", archive["bucket"]]


def test_a_runs_dead_letters_are_listed_filtered_and_shown(
    local_aws: LocalAWS, archive: dict[str, Any], capsys: Any
) -> None:
    store = DeadLetterStore(archive["s3"], archive["bucket"])
    listing = list_dead_letters(store)
    assert [d.key for d in listing.dead_letters] == sorted(f.key for f in archive["files"])
    by_sequence = {d.sequence_number: d for d in listing.dead_letters}
    assert by_sequence["4901"].parts == 3 and by_sequence["4902"].parts == 1
    assert all(d.status == STATUS_NEW for d in listing.dead_letters)
    assert "4903" not in by_sequence  # the good record is no dead letter

    first_hour = f"{by_sequence['4901'].hour}"
    only_first = list_dead_letters(store, first_hour=first_hour, last_hour=first_hour)
    assert {d.sequence_number for d in only_first.dead_letters} == {"4901", "4902"}
    dynamodb = list_dead_letters(store, reason_contains="dynamodb REFUSED")
    assert [d.sequence_number for d in dynamodb.dead_letters] == ["4904"]

    # junk under dead-letter/ is named and skipped (exit 4), everything else listed
    junk = f"dead-letter/dt=2025-12-23/hour=00/{'z' * 8}.avro"
    archive["s3"].put_object(Bucket=archive["bucket"], Key=junk, Body=b"")
    assert main(["dead-letters", "list", "--json", *_common(local_aws, archive)]) == 4
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert len(document["dead_letters"]) == 3 and document["skipped"] == [
        {"key": junk, "size": 0, "reason": "empty object"}
    ]
    assert f"skipped {junk} (0 bytes): empty object" in err
    argv = ["dead-letters", "list", "--to-hour", first_hour, "--reason", "single-object", *_common(local_aws, archive)]
    assert main(argv) == 4
    assert "(1 dead letters, 3 parts)" in capsys.readouterr().out

    # show: the identity, the reasons, each part decoded where it decodes
    refused = by_sequence["4904"].key
    assert main(["dead-letters", "show", refused, "--json", *_common(local_aws, archive)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["partition_key"] == "kid-refused" and shown["parts"] == 1 and shown["status"] == STATUS_NEW
    [part] = shown["parts_shown"]
    assert part["decodes"] == "yes" and part["event"]["kid_id"] == "kid-refused"
    assert main(["dead-letters", "show", by_sequence["4901"].key, *_common(local_aws, archive)]) == 0
    text = capsys.readouterr().out
    assert "part 0: 0 bytes: no: NotSingleObjectError" in text and "sequence_number: 4901" in text
    assert main(["dead-letters", "show", junk, *_common(local_aws, archive)]) == 4
    assert main(["dead-letters", "show", "dead-letter/nope.avro", *_common(local_aws, archive)]) == 1
    assert "NoSuchKey" in capsys.readouterr().err


def test_redrive_twice_puts_each_dead_letter_back_once(
    local_aws: LocalAWS, archive: dict[str, Any], capsys: Any
) -> None:
    common = [*_common(local_aws, archive), "--stream", archive["stream"]]
    assert main(["dead-letters", "redrive", "--all", "--dry-run", *common]) == 0
    assert "(3 dead letters, 0 records put (dry run: none))" in capsys.readouterr().out
    assert _stream_records(archive["kinesis"], archive["stream"]) == Counter()
    assert main(["dead-letters", "redrive", "--all", *common]) == 0
    assert "(3 dead letters, 5 records put)" in capsys.readouterr().out
    assert main(["dead-letters", "redrive", "--all", "--json", *common]) == 0
    assert {r["outcome"] for r in json.loads(capsys.readouterr().out)} == {OUTCOME_DONE_BEFORE}
    assert _stream_records(archive["kinesis"], archive["stream"]) == archive["expected"]
    store = DeadLetterStore(archive["s3"], archive["bucket"])
    assert {d.status for d in list_dead_letters(store).dead_letters} == {STATUS_REDRIVEN}


def test_two_concurrent_redrives_put_each_dead_letter_once(local_aws: LocalAWS, archive: dict[str, Any]) -> None:
    store = DeadLetterStore(archive["s3"], archive["bucket"])
    keys = [f.key for f in archive["files"]]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def run(owner: str) -> None:
        redriver = Redriver(store=store, kinesis=local_aws.client("kinesis"), stream=archive["stream"], owner=owner)
        start.wait(timeout=30)
        outcomes.extend(r.outcome for r in redriver.redrive(store.bodies(keys)))

    threads = [threading.Thread(target=run, args=(f"redriver-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert Counter(outcomes)[OUTCOME_REDRIVEN] == len(keys)
    assert set(outcomes) <= {OUTCOME_REDRIVEN, OUTCOME_CLAIMED, OUTCOME_DONE_BEFORE}
    assert _stream_records(archive["kinesis"], archive["stream"]) == archive["expected"]


class _Killed(BaseException):
    """The process dying midway (nothing catches it)."""


class _Kinesis:
    """The real client, with PutRecords answers rewritten: ``fail_every`` marks every n-th entry
    of a first attempt failed (and does not send it); ``kill_after`` calls die after that many."""

    def __init__(self, real: Any, *, fail_every: int = 0, kill_after: int | None = None) -> None:
        self._real = real
        self._fail_every = fail_every
        self._kill_after = kill_after
        self.calls = 0
        self._failed_once: set[bytes] = set()

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        if self._kill_after is not None and self.calls >= self._kill_after:
            raise _Killed()
        self.calls += 1
        failing = [
            n % self._fail_every == 0 and r["Data"] not in self._failed_once if self._fail_every else False
            for n, r in enumerate(Records)
        ]
        self._failed_once.update(r["Data"] for r, f in zip(Records, failing, strict=True) if f)
        sent = [r for r, f in zip(Records, failing, strict=True) if not f]
        stored = iter(self._real.put_records(StreamName=StreamName, Records=sent)["Records"] if sent else [])
        results = [
            {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"} if f else next(stored)
            for f in failing
        ]
        return {"FailedRecordCount": sum(failing), "Records": results}


def test_failed_entries_are_resent_and_nothing_twice(local_aws: LocalAWS, archive: dict[str, Any]) -> None:
    store = DeadLetterStore(archive["s3"], archive["bucket"])
    kinesis = _Kinesis(local_aws.client("kinesis"), fail_every=2)
    sleeps: list[float] = []
    redriver = Redriver(store=store, kinesis=kinesis, stream=archive["stream"], config=FAST, sleep=sleeps.append)
    results = list(redriver.redrive(store.bodies(f.key for f in archive["files"])))
    assert {r.outcome for r in results} == {OUTCOME_REDRIVEN} and sum(r.put for r in results) == 5
    assert sleeps and kinesis.calls > len(results)  # the failed entries went again, after a backoff
    assert _stream_records(archive["kinesis"], archive["stream"]) == archive["expected"]


def test_a_redrive_killed_midway_leaves_its_dead_letter_claimed_never_put_again(
    local_aws: LocalAWS, archive: dict[str, Any], capsys: Any
) -> None:
    store = DeadLetterStore(archive["s3"], archive["bucket"])
    keys = sorted(f.key for f in archive["files"])
    dying = Redriver(store=store, kinesis=_Kinesis(local_aws.client("kinesis"), kill_after=1), stream=archive["stream"])
    with pytest.raises(_Killed):
        list(dying.redrive(store.bodies(keys)))
    # the first dead letter went, the second was claimed when the process died
    statuses = {d.key: d.status for d in list_dead_letters(store).dead_letters}
    assert statuses == {keys[0]: STATUS_REDRIVEN, keys[1]: STATUS_CLAIMED, keys[2]: STATUS_NEW}
    assert store.is_claimed(keys[1]) and archive["s3"].head_object(Bucket=archive["bucket"], Key=claimed_key(keys[1]))
    common = [*_common(local_aws, archive), "--stream", archive["stream"]]
    assert main(["dead-letters", "redrive", "--all", *common]) == 0
    out = capsys.readouterr().out
    assert f"{keys[1]}: {OUTCOME_CLAIMED}" in out and f"{keys[2]}: {OUTCOME_REDRIVEN}" in out
    in_stream = _stream_records(archive["kinesis"], archive["stream"])
    assert set(in_stream.values()) == {1}  # nothing twice
    assert main(["dead-letters", "list", *_common(local_aws, archive)]) == 0
    assert STATUS_CLAIMED in capsys.readouterr().out


def test_batches_keep_within_putrecords_limits() -> None:
    items = [Entry(b"x" * 1000, "k", n) for n in range(1200)]
    sizes = [len(b) for b in batches(items)]
    assert sizes == [500, 500, 200]
    exact = [Entry(b"x" * (1024 * 1024 - 1), "k", n) for n in range(7)]
    assert [len(b) for b in batches(exact)] == [5, 2]  # 5 MiB per call, partition keys included
    over = [Entry(b"x" * (1024 * 1024 - 1), "kk", n) for n in range(7)]
    assert [len(b) for b in batches(over)] == [4, 3]
