"""The AWS-calling part against botocore's Stubber: the paths moto cannot show (a stream stuck
UPDATING, limits from DescribeLimits, LimitExceededException, ResourceInUseException, ON_DEMAND)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from admin.reshard import (
    LimitExceededError,
    NotProvisionedError,
    ReshardConfig,
    Resharder,
    ReshardTimeoutError,
    Shard,
    SplitShard,
    StreamNotActiveError,
    StreamNotFoundError,
    UpdateShardCount,
)
from tests.admin._reshard_helpers import api_shard, even_topology

STREAM = "s"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def kinesis() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("kinesis", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def summary(status: str = "ACTIVE", mode: str = "PROVISIONED", open_count: int = 1) -> dict[str, Any]:
    return {
        "StreamDescriptionSummary": {
            "StreamName": STREAM,
            "StreamARN": f"arn:aws:kinesis:us-east-1:123456789012:stream/{STREAM}",
            "StreamStatus": status,
            "StreamModeDetails": {"StreamMode": mode},
            "RetentionPeriodHours": 24,
            "StreamCreationTimestamp": datetime(2026, 12, 1, tzinfo=UTC),
            "EnhancedMonitoring": [{}],
            "OpenShardCount": open_count,
        }
    }


def shards(items: Sequence[Shard]) -> dict[str, Any]:
    return {"Shards": [api_shard(s) for s in items]}


def limits(shard_limit: int = 500, open_count: int = 1) -> dict[str, Any]:
    return {
        "ShardLimit": shard_limit,
        "OpenShardCount": open_count,
        "OnDemandStreamCount": 0,
        "OnDemandStreamCountLimit": 50,
    }


def resharder(client: Any, clock: FakeClock | None = None, lines: list[str] | None = None) -> Resharder:
    clock = clock or FakeClock()
    config = ReshardConfig(stream=STREAM, wait_timeout_s=10, poll_interval_s=2)
    out = lines if lines is not None else []
    return Resharder(client, config, clock=clock, sleep=clock.sleep, progress=out.append)


def test_a_stream_stuck_updating_times_out_with_progress(kinesis: tuple[Any, Stubber]) -> None:
    client, stub = kinesis
    for _ in range(6):
        stub.add_response("describe_stream_summary", summary("UPDATING"), {"StreamName": STREAM})
    clock = FakeClock()
    lines: list[str] = []
    with pytest.raises(ReshardTimeoutError, match="still UPDATING after 10 s.*re-run"):
        resharder(client, clock, lines).wait_active()
    assert clock.sleeps == [2, 2, 2, 2, 2]
    assert lines[0] == "waiting for s to be ACTIVE: UPDATING (0 s)"
    assert lines[-1] == "waiting for s to be ACTIVE: UPDATING (8 s)"


def test_waiting_returns_once_active(kinesis: tuple[Any, Stubber]) -> None:
    client, stub = kinesis
    stub.add_response("describe_stream_summary", summary("UPDATING"))
    stub.add_response("describe_stream_summary", summary("ACTIVE"))
    clock = FakeClock()
    assert resharder(client, clock).wait_active().status == "ACTIVE"
    assert clock.sleeps == [2]


@pytest.mark.parametrize("status", ["UPDATING", "CREATING"])
def test_a_stream_that_is_not_active_is_refused_before_any_change(kinesis: tuple[Any, Stubber], status: str) -> None:
    client, stub = kinesis
    stub.add_response("describe_stream_summary", summary(status))
    with pytest.raises(StreamNotActiveError, match=f"stream s is {status}, not ACTIVE: nothing changed"):
        resharder(client).plan_scale(2)


def test_an_on_demand_stream_is_refused(kinesis: tuple[Any, Stubber]) -> None:
    client, stub = kinesis
    stub.add_response("describe_stream_summary", summary(mode="ON_DEMAND"))
    with pytest.raises(NotProvisionedError, match="ON_DEMAND"):
        resharder(client).plan_split("shardId-000000000000")


def test_a_missing_stream_is_named(kinesis: tuple[Any, Stubber]) -> None:
    client, stub = kinesis
    stub.add_client_error("describe_stream_summary", "ResourceNotFoundException", "Stream s not found")
    with pytest.raises(StreamNotFoundError, match="stream s"):
        resharder(client).plan_scale(2)


def test_the_account_shard_limit_from_describe_limits_is_checked(kinesis: tuple[Any, Stubber]) -> None:
    client, stub = kinesis
    four = even_topology(4).open
    stub.add_response("describe_stream_summary", summary(open_count=4))
    stub.add_response("list_shards", shards(four), {"StreamName": STREAM})
    stub.add_response("describe_limits", limits(shard_limit=10, open_count=8))
    with pytest.raises(LimitExceededError, match="peaks at 8 open shards; with 4 open in other streams.*limit of 10"):
        resharder(client).plan_scale(8)


def test_the_plan_says_what_it_read_from_describe_limits(kinesis: tuple[Any, Stubber]) -> None:
    client, stub = kinesis
    stub.add_response("describe_stream_summary", summary(open_count=4))
    stub.add_response("list_shards", shards(even_topology(4).open))
    stub.add_response("describe_limits", limits(shard_limit=500, open_count=4))
    plan = resharder(client).plan_scale(8)
    assert plan.api_calls() == [
        ("UpdateShardCount", {"StreamName": STREAM, "TargetShardCount": 8, "ScalingType": "UNIFORM_SCALING"})
    ]
    assert any("ShardLimit 500, OpenShardCount 4" in note for note in plan.notes)
    assert any("1 of at most 10 per rolling 24 hours" in note for note in plan.notes)


def test_more_update_shard_count_calls_than_the_quota_are_refused_or_replaced(kinesis: tuple[Any, Stubber]) -> None:
    client, stub = kinesis
    stub.add_response("describe_stream_summary", summary())
    stub.add_response("list_shards", shards(even_topology(1).open))
    with pytest.raises(LimitExceededError, match="1 -> 5000 shards needs 13 UpdateShardCount calls; the quota is 10"):
        resharder(client).plan_scale(5000, method="update-shard-count")


def test_limit_exceeded_on_update_shard_count_falls_back_to_split(kinesis: tuple[Any, Stubber]) -> None:
    client, stub = kinesis
    one = even_topology(1).open
    parent = one[0]
    children = even_topology(2).open
    after = [
        Shard(shard_id=parent.shard_id, start=parent.start, end=parent.end, ending_sequence="5"),
        *(
            Shard(shard_id=f"shardId-00000000000{i + 1}", start=c.start, end=c.end, parent_id=parent.shard_id)
            for i, c in enumerate(children)
        ),
    ]
    stub.add_response("describe_stream_summary", summary())
    stub.add_response("list_shards", shards(one))
    stub.add_response("describe_limits", limits())
    stub.add_response("describe_stream_summary", summary())
    stub.add_response("list_shards", shards(one))
    stub.add_client_error("update_shard_count", "LimitExceededException", "Rate exceeded for stream s")
    stub.add_response("list_shards", shards(one))
    split_params = {"StreamName": STREAM, "ShardToSplit": parent.shard_id, "NewStartingHashKey": str(2**127)}
    stub.add_response("split_shard", {}, split_params)
    stub.add_response("describe_stream_summary", summary("UPDATING"))
    stub.add_response("describe_stream_summary", summary("ACTIVE", open_count=2))
    stub.add_response("list_shards", shards(after))

    lines: list[str] = []
    r = resharder(client, lines=lines)
    result = r.execute(r.plan_scale(2))

    assert result.completed == (SplitShard(parent.shard_id, 2**127),)
    assert result.final.open_count == 2
    assert any("UpdateShardCount refused" in line and "SplitShard/MergeShards" in line for line in lines)


def test_a_refusal_mid_way_reports_what_was_done(kinesis: tuple[Any, Stubber]) -> None:
    client, stub = kinesis
    four = even_topology(4).open
    two = even_topology(2).open
    stub.add_response("describe_stream_summary", summary(open_count=4))
    stub.add_response("list_shards", shards(four))
    stub.add_response("describe_limits", limits(open_count=4))
    stub.add_response("describe_stream_summary", summary(open_count=4))
    stub.add_response("list_shards", shards(four))
    stub.add_response("update_shard_count", {"StreamName": STREAM, "CurrentShardCount": 4, "TargetShardCount": 2})
    stub.add_response("describe_stream_summary", summary(open_count=2))
    stub.add_response("list_shards", shards(two))
    stub.add_client_error("update_shard_count", "LimitExceededException", "quota")

    r = resharder(client)
    with pytest.raises(LimitExceededError, match="UpdateShardCount refused by a Kinesis limit: quota") as caught:
        r.execute(r.plan_scale(1, method="update-shard-count"))
    assert caught.value.completed == (UpdateShardCount(2),)


def test_resource_in_use_waits_and_plans_again_then_gives_up(kinesis: tuple[Any, Stubber]) -> None:
    client, stub = kinesis
    two = even_topology(2).open
    merged = [
        *(Shard(shard_id=s.shard_id, start=s.start, end=s.end, ending_sequence="9") for s in two),
        Shard(shard_id="shardId-000000000002", start=0, end=two[1].end, parent_id=two[0].shard_id),
    ]
    stub.add_response("describe_stream_summary", summary(open_count=2))
    stub.add_response("list_shards", shards(two))
    stub.add_response("describe_limits", limits())
    stub.add_response("describe_stream_summary", summary(open_count=2))
    stub.add_response("list_shards", shards(two))
    stub.add_client_error("merge_shards", "ResourceInUseException", "Stream s is UPDATING")
    stub.add_response("describe_stream_summary", summary("ACTIVE"))
    stub.add_response("list_shards", shards(two))
    stub.add_response("merge_shards", {})
    stub.add_response("describe_stream_summary", summary("ACTIVE"))
    stub.add_response("list_shards", shards(merged))
    lines: list[str] = []
    r = resharder(client, lines=lines)
    result = r.execute(r.plan_merge(two[0].shard_id, two[1].shard_id))
    assert len(result.completed) == 1
    assert any("busy" in line for line in lines)

    stub.add_response("describe_stream_summary", summary(open_count=2))
    stub.add_response("list_shards", shards(two))
    stub.add_response("describe_limits", limits())
    stub.add_response("describe_stream_summary", summary(open_count=2))
    for attempt in range(3):
        if attempt:
            stub.add_response("describe_stream_summary", summary("ACTIVE"))
        stub.add_response("list_shards", shards(two))
        stub.add_client_error("merge_shards", "ResourceInUseException", "Stream s is UPDATING")
    with pytest.raises(StreamNotActiveError, match="busy") as caught:
        r.execute(r.plan_merge(two[0].shard_id, two[1].shard_id))
    assert caught.value.completed == ()


def test_list_shards_pages_with_next_token_only(kinesis: tuple[Any, Stubber]) -> None:
    client, stub = kinesis
    four = even_topology(4).open
    stub.add_response("list_shards", {**shards(four[:2]), "NextToken": "t1"}, {"StreamName": STREAM})
    stub.add_response("list_shards", shards(four[2:]), {"NextToken": "t1"})
    topology = resharder(client).topology()
    topology.check_tiling()
    assert topology.open_count == 4
