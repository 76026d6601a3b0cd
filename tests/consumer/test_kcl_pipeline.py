"""The real KCL MultiLangDaemon against the embedded stack: 4 shards, 2 workers, one set per module.

Each test sends its own events (its own kids) and checks that every one reaches the archive, that
no Kinesis record (shard, sequence, sub-sequence) is archived twice anywhere, and that DynamoDB
holds the latest event per kid. The daemon's cold start (20-40 s) is paid once, in the fixture.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator

from admin.provision import provision
from foundation.settings import PipelineNames
from localaws import LocalAWS
from schemas import BehaviourEventCodec, encode_event, validate_event
from tests.factories import BASE_MS, make_event
from tests.polling import poll, wait_until

from .pipeline import Pipeline, duplicated_positions, latest_event_ids, unique

pytestmark = [pytest.mark.kcl, pytest.mark.timeout(900)]

SHARDS = 4
WORKERS = ("worker-a", "worker-b")
HOUR_MS = 3_600_000
ARRIVAL_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def pipeline(local_aws: LocalAWS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    names = PipelineNames(
        stream=unique("kcl"), table=unique("kcl-kids"), bucket=unique("kcl-archive"), application=unique("kcl-app")
    )
    run = Pipeline(stack=local_aws, names=names, run_dir=Path(tmp_path_factory.mktemp("kcl")))
    with pytest.MonkeyPatch.context() as env:
        # the autouse fake credentials are per test; this fixture lives for the module
        for name, value in local_aws.env().items():
            env.setenv(name, value)
        yield from _running(run)


def _running(run: Pipeline) -> Iterator[Pipeline]:
    names = run.names
    provision(run.aws, names, SHARDS)
    started = time.monotonic()
    try:
        for worker_id in WORKERS:
            run.start(worker_id)
        probe = make_event(kid_id=unique("probe"))
        run.client("kinesis").put_record(StreamName=names.stream, Data=encode_event(probe), PartitionKey="probe")
        run.wait_for_events([probe["event_id"]], timeout_s=150)
        print(f"\ncold start: first record archived {time.monotonic() - started:.1f} s after the workers started")
        yield run
    finally:
        run.stop_all()


def events_for(prefix: str, n: int, kids: int) -> list[dict[str, Any]]:
    """``n`` events over ``kids`` kids, observed out of order across two UTC hours."""
    rng = random.Random(prefix)
    return [
        make_event(kid_id=f"{prefix}-{i % kids}", observed_at=BASE_MS + rng.randrange(2 * HOUR_MS)) for i in range(n)
    ]


def put_plain(pipeline: Pipeline, events: list[dict[str, Any]]) -> None:
    kinesis = pipeline.client("kinesis")
    for event in events:
        kinesis.put_record(StreamName=pipeline.names.stream, Data=encode_event(event), PartitionKey=uuid.uuid4().hex)


def put_batch(pipeline: Pipeline, events: list[dict[str, Any]]) -> None:
    entries = [{"Data": encode_event(e), "PartitionKey": uuid.uuid4().hex} for e in events]
    result = pipeline.client("kinesis").put_records(StreamName=pipeline.names.stream, Records=entries)
    assert result["FailedRecordCount"] == 0


def put_aggregated(pipeline: Pipeline, events: list[dict[str, Any]], per_record: int = 25) -> None:
    kinesis = pipeline.client("kinesis")
    for start in range(0, len(events), per_record):
        aggregator = RecordAggregator()
        key = uuid.uuid4().hex
        for event in events[start : start + per_record]:
            assert aggregator.add_user_record(key, encode_event(event)) is None
        partition_key, _, data = aggregator.clear_and_get().get_contents()
        kinesis.put_record(StreamName=pipeline.names.stream, Data=data, PartitionKey=partition_key)


def put_with_sdk(pipeline: Pipeline, events: list[dict[str, Any]]) -> list[Any]:
    from producer import Producer, ProducerConfig

    config = ProducerConfig(stream_name=pipeline.names.stream, aws=pipeline.aws, spool_dir=None)
    with Producer(config) as sdk:
        futures = [sdk.put(event) for event in events]
        assert sdk.flush(60) == 0
        return [future.result(timeout=60) for future in futures]


def check(pipeline: Pipeline, events: list[dict[str, Any]], *, timeout_s: float = ARRIVAL_TIMEOUT_S) -> list[dict]:
    """Every event archived, nothing archived twice, the latest event per kid in DynamoDB."""
    rows = pipeline.wait_for_events([e["event_id"] for e in events], timeout_s=timeout_s)
    assert duplicated_positions(rows) == []
    expected = latest_event_ids(events)
    items = wait_until(
        lambda: (found := pipeline.items(expected)) and len(found) == len(expected) and found,
        timeout_s=30,
        what="one item per kid",
    )
    assert {kid: item["event_id"]["S"] for kid, item in items.items()} == expected
    return rows


def test_events_from_the_sdk_and_plain_boto3_all_land_once(pipeline: Pipeline) -> None:
    events = events_for(unique("mix"), 800, kids=60)
    receipts = put_with_sdk(pipeline, events[:400])
    put_plain(pipeline, events[400:500])
    put_batch(pipeline, events[500:700])
    put_aggregated(pipeline, events[700:])
    rows = check(pipeline, events)
    by_id = {row["event_id"]: row for row in rows}
    for event, receipt in zip(events[:400], receipts, strict=True):
        row = by_id[event["event_id"]]
        assert (row["shard_id"], row["sequence_number"], row["subsequence_number"]) == tuple(receipt)
    aggregated = [by_id[e["event_id"]] for e in events[700:]]
    assert {row["subsequence_number"] for row in aggregated} == set(range(25))
    item = pipeline.items([events[0]["kid_id"]])[events[0]["kid_id"]]
    assert {"shard_id", "sequence_number", "subsequence_number", "written_at", "observed_at"} <= item.keys()


def test_garbage_goes_to_dead_letters_while_the_shards_keep_moving(pipeline: Pipeline) -> None:
    kinesis = pipeline.client("kinesis")
    marker = unique("garbage").encode()
    garbage = [marker + bytes([n]) for n in range(8)] + [b"\xf3\x89\x9a\xc2" + marker]  # last: a broken aggregate
    for blob in garbage:
        kinesis.put_record(StreamName=pipeline.names.stream, Data=blob, PartitionKey=uuid.uuid4().hex)
    events = events_for(unique("after-garbage"), 100, kids=10)
    put_batch(pipeline, events)
    check(pipeline, events)
    letters = wait_until(
        lambda: len(found := [r for r in pipeline.dead_letters() if marker in r["data"]]) == len(garbage) and found,
        timeout_s=30,
        what=f"{len(garbage)} dead letters",
    )
    assert {bytes(row["data"]) for row in letters} == set(garbage)
    assert all(row["reason"] for row in letters)


def test_a_value_dynamodb_refuses_is_dead_lettered_and_the_shards_keep_moving(pipeline: Pipeline) -> None:
    # put() refuses this value (its validation agrees with DynamoDB's): written as an older or
    # foreign producer would, it must still be dead-lettered while the shards keep moving
    poison = [validate_event(make_event(kid_id=unique("poison"), location={"lat": 1.0, "lon": 0.0})) for _ in range(2)]
    for event in poison:
        event["location"]["lat"] = 1e-200
    kinesis = pipeline.client("kinesis")
    for event in poison:
        kinesis.put_record(
            StreamName=pipeline.names.stream,
            Data=BehaviourEventCodec().encode_valid(event),
            PartitionKey=event["kid_id"],
        )
    events = events_for(unique("after-poison"), 100, kids=10)
    put_batch(pipeline, events)
    check(pipeline, events)
    letters = wait_until(
        lambda: (
            len(
                found := [
                    r for r in pipeline.dead_letters() if any(p["event_id"].encode() in r["data"] for p in poison)
                ]
            )
            == len(poison)
            and found
        ),
        timeout_s=30,
        what="a dead letter per refused event",
    )
    assert all("underflow" in row["reason"] or "1E-130" in row["reason"] for row in letters), letters
    assert pipeline.items([p["kid_id"] for p in poison]) == {}
    assert sum(pipeline.restarts.values()) == 0, "a refused value does not stop the processor"


def test_a_nested_aggregate_and_empty_user_records_are_one_dead_letter_of_their_record(pipeline: Pipeline) -> None:
    """The KCL deaggregates the outer aggregate; its user record 1 is an aggregate itself and 500
    more are empty. The events around them land at their own sub-sequence numbers; the nested
    aggregate (whole) and the empty records share ONE dead-letter object of that Kinesis record."""
    first, last = events_for(unique("nested"), 2, kids=2)
    inner = RecordAggregator()
    for event in events_for(unique("inner"), 3, kids=3):
        assert inner.add_user_record("inner", encode_event(event)) is None
    inner_blob = bytes(inner.clear_and_get().get_contents()[2])
    outer = RecordAggregator()
    key = uuid.uuid4().hex
    for data in [encode_event(first), inner_blob, encode_event(last), *[b""] * 500]:
        assert outer.add_user_record(key, data) is None
    partition_key, _, blob = outer.clear_and_get().get_contents()
    put = pipeline.client("kinesis").put_record(StreamName=pipeline.names.stream, Data=blob, PartitionKey=partition_key)
    rows = check(pipeline, [first, last])
    by_id = {row["event_id"]: row for row in rows}
    assert [by_id[e["event_id"]]["subsequence_number"] for e in (first, last)] == [0, 2]
    files = wait_until(
        lambda: [
            rows
            for rows in pipeline.dead_letter_files().values()
            if rows[0]["sequence_number"] == put["SequenceNumber"]
        ],
        timeout_s=30,
        what="the dead letter of the aggregate",
    )
    [letter] = files
    assert [row["subsequence_number"] for row in letter] == [1, *range(3, 503)]
    assert bytes(letter[0]["data"]) == inner_blob and letter[0]["reason"].startswith("nested KPL aggregate")


def test_throttling_in_both_sinks_delays_but_loses_nothing(pipeline: Pipeline, clean_faults: LocalAWS) -> None:
    batch = {"service": "dynamodb", "operation": "BatchExecuteStatement"}
    clean_faults.inject_fault(**batch, error_code="ProvisionedThroughputExceededException", count=3)
    clean_faults.inject_fault(**batch, error_code="ThrottlingError", statements=(0, 3), count=2)  # single statements
    # more SlowDowns than the sink's retry policy allows one upload: throttling is waited out, not given up on
    clean_faults.inject_fault(service="s3", operation="PutObject", error_code="SlowDown", count=12)
    events = events_for(unique("throttled"), 300, kids=30)
    put_batch(pipeline, events)
    check(pipeline, events)
    assert clean_faults.faults() == [], "every injected fault fired"
    assert sum(pipeline.restarts.values()) == 0, "retries absorbed the throttling"


def owned_by(pipeline: Pipeline, worker_id: str) -> list[str]:
    return sorted(shard for shard, owner in pipeline.lease_owners().items() if owner == worker_id)


def a_victim(pipeline: Pipeline, *, timeout_s: float = 90) -> str:
    """A worker holding leases that is not the KCL 3 leader: a dead leader's lock lasts 2 minutes
    (hard coded), and no lease moves until another worker takes it (measured: about 150 s)."""

    def victim_with_leases() -> str | None:
        pipeline.supervise()
        leader, owners = pipeline.leader(), pipeline.lease_owners()
        candidates = [w for w in pipeline.workers if w != leader and w in owners.values()]
        return candidates[0] if leader and candidates else None

    return str(wait_until(victim_with_leases, timeout_s=timeout_s, what="a non-leader worker holding leases"))


def test_sigkill_of_one_worker_moves_its_shards_to_the_other(pipeline: Pipeline) -> None:
    victim_id = a_victim(pipeline)
    victim = pipeline.workers.pop(victim_id)
    victim.kill()
    victim_shards = {shard for shard, owner in pipeline.lease_owners().items() if owner == victim_id}
    events = events_for(unique("after-kill"), 300, kids=30)
    put_batch(pipeline, events[:150])
    put_with_sdk(pipeline, events[150:])
    rows = check(pipeline, events, timeout_s=180)
    sent = {e["event_id"] for e in events}
    read_after_kill = {row["shard_id"] for row in rows if row["event_id"] in sent}
    assert victim_shards & read_after_kill, f"the survivor read the victim's shards {victim_shards}"
    pipeline.start(victim_id)  # back for the next tests


def test_a_split_and_a_merge_mid_stream_lose_nothing(pipeline: Pipeline) -> None:
    kinesis = pipeline.client("kinesis")
    stream = pipeline.names.stream

    def active() -> bool:
        summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
        return bool(summary["StreamStatus"] == "ACTIVE")

    def open_shards() -> list[dict[str, Any]]:
        shards = kinesis.list_shards(StreamName=stream)["Shards"]
        return [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]

    prefix = unique("reshard")
    events = events_for(prefix, 600, kids=40)
    put_batch(pipeline, events[:200])
    parent = open_shards()[0]
    low, high = int(parent["HashKeyRange"]["StartingHashKey"]), int(parent["HashKeyRange"]["EndingHashKey"])
    kinesis.split_shard(StreamName=stream, ShardToSplit=parent["ShardId"], NewStartingHashKey=str((low + high) // 2))
    wait_until(active, timeout_s=30, what="stream ACTIVE after the split")
    put_batch(pipeline, events[200:400])
    children = sorted(
        (s for s in open_shards() if s.get("ParentShardId") == parent["ShardId"]),
        key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]),
    )
    assert len(children) == 2
    kinesis.merge_shards(
        StreamName=stream, ShardToMerge=children[0]["ShardId"], AdjacentShardToMerge=children[1]["ShardId"]
    )
    wait_until(active, timeout_s=30, what="stream ACTIVE after the merge")
    put_batch(pipeline, events[400:])
    rows = check(pipeline, events, timeout_s=180)
    shards_used = {row["shard_id"] for row in rows if row["kid_id"].startswith(prefix)}
    assert parent["ShardId"] in shards_used
    assert shards_used & {c["ShardId"] for c in children}, "the children were read after the parent ended"


def test_a_worker_paused_past_its_leases_neither_loses_nor_repeats_archive_rows(pipeline: Pipeline) -> None:
    """A long pause (GC, a frozen VM) makes a zombie: its leases expire and the other worker replays
    from the last checkpoint while the zombie still holds rows it read. When it wakes up it uploads
    files with the same first records as the new owner's before it learns the leases are gone.
    Neither upload may replace or repeat the other's rows."""
    prefix = unique("zombie")
    rng = random.Random(prefix)
    sent: list[dict[str, Any]] = []
    stop = threading.Event()

    def send() -> None:
        # steady traffic: KCL 3 moves leases to the idle worker only for throughput, and the victim
        # most likely holds rows it has not archived yet when it freezes
        while not stop.is_set():
            batch = [
                make_event(kid_id=f"{prefix}-{rng.randrange(60)}", observed_at=BASE_MS + rng.randrange(2 * HOUR_MS))
                for _ in range(20)
            ]
            put_batch(pipeline, batch)
            sent.extend(batch)
            stop.wait(0.5)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        victim_id = a_victim(pipeline, timeout_s=150)
        victim = pipeline.workers[victim_id]
        log_path = pipeline.run_dir / f"{victim_id}.log"
        # best effort: leases may move back before it reads, so the last answer is not checked
        poll(
            lambda: (
                {r["shard_id"] for r in pipeline.archive_rows() if r["kid_id"].startswith(prefix)}
                & set(owned_by(pipeline, victim_id))
            ),
            bool,
            timeout_s=30,
        )
        os.killpg(victim.pid, signal.SIGSTOP)
        try:
            held = owned_by(pipeline, victim_id)
            wait_until(
                lambda: not owned_by(pipeline, victim_id),
                timeout_s=90,
                what="the other worker taking the paused worker's leases",
            )
            stop.set()
            sender.join()
            check(pipeline, sent, timeout_s=180)  # the new owner alone archived everything
            log_offset = log_path.stat().st_size
        finally:
            os.killpg(victim.pid, signal.SIGCONT)
    finally:
        stop.set()
        sender.join()

    def victim_log() -> str:
        with log_path.open("rb") as log:
            log.seek(log_offset)
            return log.read().decode(errors="replace")

    # The zombie wakes up, flushes what it held and learns its leases are gone (best effort: a
    # lease KCL 3 moved away before the freeze may never have reached a processor). Stopping it
    # (gracefully, so its processors flush once more) ends every upload it could still make.
    poll(
        lambda: all(f"lost lease with key {shard}" in victim_log() for shard in held),
        bool,
        timeout_s=30,
    )
    pipeline.workers.pop(victim_id).stop(timeout=60)
    check(pipeline, sent, timeout_s=60)
    # the daemon logs each processor line twice: as it relays it, and as the processor wrote it
    conflicts = sum(
        "was already written with" in line and "Received error line" not in line for line in victim_log().splitlines()
    )
    print(
        f"\n{len(sent)} events; {len(held)} leases moved off the frozen worker; "
        f"its uploads that found their file taken: {conflicts}"
    )
    pipeline.start(victim_id)  # back for the next tests


def test_a_sink_failing_longer_than_the_retries_restarts_the_worker_and_loses_nothing(
    pipeline: Pipeline, clean_faults: LocalAWS
) -> None:
    # Runs last: both workers' processors give up, the daemons exit and are restarted, and KCL 3 may
    # wait out a dead leader's 2-minute lock before it reassigns leases.
    before = sum(pipeline.restarts.values())
    # more consecutive 5xx answers than every processor's retries put together: they all give up
    # (throttling would be waited out instead: test_throttling_in_both_sinks_delays_but_loses_nothing)
    clean_faults.inject_fault(
        service="s3", operation="PutObject", error_code="InternalError", http_status=500, count=40
    )
    events = events_for(unique("outage"), 300, kids=30)
    put_batch(pipeline, events)
    check(pipeline, events, timeout_s=240)
    assert sum(pipeline.restarts.values()) > before, "a processor exited and its worker was restarted"
