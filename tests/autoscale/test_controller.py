"""The autoscaler against the embedded stack in limits mode: it reads the stack's AWS/Kinesis
metrics, scales up under sustained throttling through the reshard executor, publishes its
decisions, changes nothing in a dry run, finishes a change (or merges) a crashed run left in
flight, reads the halves of a split and samples a hot shard's key."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from admin.autoscale import (
    METRICS_NAMESPACE,
    AutoscaleConfig,
    Autoscaler,
    AutoscaleState,
    DecisionRecord,
    InFlight,
    PolicyConfig,
    ShardLimits,
    StateStore,
    StreamLock,
)
from admin.autoscale._controller import sample_hot_key, split_parents
from admin.autoscale._lock import LOCK_KEY
from admin.autoscale._state import take_over
from localaws import LocalAWS
from tests.polling import wait_until
from tests.stack import unique_name

#: the limited_aws fixture's scale and metric period
SCALE = 0.001
PERIOD_S = 1


def make_autoscaler(stack: LocalAWS, stream: str, **options: Any) -> Autoscaler:
    config = AutoscaleConfig(
        stream=stream,
        period_s=PERIOD_S,
        limits=ShardLimits.scaled(SCALE),
        policy=PolicyConfig(up_periods=2, down_periods=5, settle_s=2.0, cool_off_s=3600.0),
        poll_interval_s=0.2,
        wait_timeout_s=30.0,
        **options,
    )
    return Autoscaler(stack.client("kinesis"), stack.client("cloudwatch"), config)


def open_shards(kinesis: Any, stream: str) -> int:
    return int(kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["OpenShardCount"])


def overload(kinesis: Any, stream: str) -> None:
    kinesis.put_records(StreamName=stream, Records=[{"Data": b"x" * 20, "PartitionKey": str(i)} for i in range(5)])


def test_sustained_throttling_scales_the_stream_up(limited_aws: LocalAWS) -> None:
    kinesis = limited_aws.client("kinesis", retries={"mode": "standard", "total_max_attempts": 1})
    stream = unique_name("autoscale")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    autoscaler = make_autoscaler(limited_aws, stream)

    def scaled_up() -> DecisionRecord | None:
        overload(kinesis, stream)
        record = autoscaler.step()
        return record if record.decision.action == "scale-up" else None

    record = wait_until(scaled_up, timeout_s=30, what="a scale-up decision", poll_s=0.3)
    assert record.outcome == "done" and record.decision.target == 2
    assert "throttled" in record.decision.reason
    assert open_shards(kinesis, stream) == 2
    assert autoscaler.state.in_flight is None and len(autoscaler.state.update_calls) == 1
    published = limited_aws.client("cloudwatch").list_metrics(Namespace=METRICS_NAMESPACE)["Metrics"]
    assert {"AutoscaleDecisions", "AutoscaleTargetShards"} <= {m["MetricName"] for m in published}


def test_dry_run_decides_but_changes_nothing(limited_aws: LocalAWS) -> None:
    kinesis = limited_aws.client("kinesis", retries={"mode": "standard", "total_max_attempts": 1})
    stream = unique_name("autoscale")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    autoscaler = make_autoscaler(limited_aws, stream, dry_run=True)

    def decided_up() -> DecisionRecord | None:
        overload(kinesis, stream)
        record = autoscaler.step()
        return record if record.decision.action == "scale-up" else None

    assert wait_until(decided_up, timeout_s=30, what="a scale-up decision", poll_s=0.3).outcome == "dry run"
    assert open_shards(kinesis, stream) == 1
    assert autoscaler.state.update_calls == []


def test_a_change_left_in_flight_is_finished_on_start(limited_aws: LocalAWS, tmp_path: Path) -> None:
    kinesis = limited_aws.client("kinesis")
    stream = unique_name("autoscale")
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    state_path = tmp_path / "state.json"
    StateStore(state_path).save(AutoscaleState(in_flight=InFlight(action="scale-up", target=4)))
    autoscaler = make_autoscaler(limited_aws, stream, state_path=state_path)
    assert autoscaler.resume()
    assert open_shards(kinesis, stream) == 4
    saved = StateStore(state_path).load()
    assert saved.in_flight is None and saved.last_change_at is not None
    assert not make_autoscaler(limited_aws, stream, state_path=state_path).resume()


def test_a_merge_left_in_flight_is_finished_and_done_pairs_are_skipped(limited_aws: LocalAWS, tmp_path: Path) -> None:
    kinesis = limited_aws.client("kinesis")
    stream = unique_name("autoscale")
    kinesis.create_stream(StreamName=stream, ShardCount=4)
    ids = [s["ShardId"] for s in kinesis.list_shards(StreamName=stream)["Shards"]]
    pairs = ((ids[0], ids[1]), (ids[2], ids[3]))
    state_path = tmp_path / "state.json"
    StateStore(state_path).save(AutoscaleState(in_flight=InFlight(action="merge", target=2, merges=pairs)))
    autoscaler = make_autoscaler(limited_aws, stream, state_path=state_path)
    assert autoscaler.resume()
    assert open_shards(kinesis, stream) == 2
    assert autoscaler.state.update_calls == []  # merges use no UpdateShardCount quota
    StateStore(state_path).save(AutoscaleState(in_flight=InFlight(action="merge", target=2, merges=pairs)))
    assert make_autoscaler(limited_aws, stream, state_path=state_path).resume()  # already merged: skipped
    assert open_shards(kinesis, stream) == 2


def test_the_halves_of_a_split_and_the_hot_key_sample(limited_aws: LocalAWS) -> None:
    kinesis = limited_aws.client("kinesis")
    stream = unique_name("autoscale")
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    autoscaler = make_autoscaler(limited_aws, stream)
    first = autoscaler.resharder.topology().open[0].shard_id
    autoscaler.resharder.execute(autoscaler.resharder.plan_split(first))
    topology = autoscaler.resharder.topology()
    halves = split_parents(topology)
    assert sorted(halves.values()) == [first, first] and len(halves) == 2
    since = datetime.now(UTC) - timedelta(seconds=5)
    hot = kinesis.put_record(StreamName=stream, Data=b"x", PartitionKey="santa")["ShardId"]
    kinesis.put_records(StreamName=stream, Records=[{"Data": b"x", "PartitionKey": "santa"} for _ in range(3)])
    # limits mode refuses some of them: every record that got in carries the one key
    sampled = sample_hot_key(kinesis, stream, hot, since=since)
    assert re.fullmatch(r"hot key 'santa': (\d+) of \1 sampled records", sampled), sampled


def test_a_host_taking_over_the_lock_knows_the_last_holders_calls_and_cool_off(limited_aws: LocalAWS) -> None:
    """Kinesis counts UpdateShardCount calls per stream, not per host: the successor must too."""
    kinesis = limited_aws.client("kinesis", retries={"mode": "standard", "total_max_attempts": 1})
    dynamodb = limited_aws.client("dynamodb")
    stream, table = unique_name("autoscale"), unique_name("lock")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": LOCK_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": LOCK_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    lease_clock = [time.time()]

    def host(owner: str) -> Autoscaler:
        lock = StreamLock(dynamodb, table, stream, lease_s=60, owner=owner, wall_clock=lambda: lease_clock[0])
        autoscaler = make_autoscaler(limited_aws, stream)
        autoscaler.lock = lock
        return autoscaler

    first = host("host-a")

    def scaled_up() -> DecisionRecord | None:
        overload(kinesis, stream)
        record = first.step()
        return record if record.decision.action == "scale-up" else None

    assert wait_until(scaled_up, timeout_s=30, what="a scale-up decision", poll_s=0.3).outcome == "done"
    calls, changed = list(first.state.update_calls), first.state.last_change_at
    assert len(calls) == 1 and changed is not None
    lease_clock[0] += 61  # host-a dies holding the lock; its lease runs out

    second = host("host-b")  # no state file: all it knows comes from the lock's item
    for _ in range(4):
        overload(kinesis, stream)
        record = second.step()
        assert record.outcome != "standby"
        assert record.decision.action == "none", record.decision.reason  # host-a's cool-off holds
    assert second.state.update_calls == calls and second.state.last_change_at == changed
    assert open_shards(kinesis, stream) == 2


def test_take_over_unites_the_calls_and_keeps_the_last_holders_change_in_flight() -> None:
    t = [datetime(2026, 12, 23, h, tzinfo=UTC) for h in range(4)]
    ours = AutoscaleState(update_calls=[t[0], t[1]], last_change_at=t[1], in_flight=InFlight(action="split", target=3))
    theirs = AutoscaleState(update_calls=[t[1], t[2]], last_change_at=t[3], in_flight=None)
    merged = take_over(ours, theirs)
    assert merged.update_calls == [t[0], t[1], t[2]] and merged.last_change_at == t[3]
    assert merged.in_flight is None  # ours was finished by the other host
