"""One autoscaler per stream: the DynamoDB lease on the embedded stack (conditional UpdateItem), the state it carries,
its expiry with injected clocks, the controller standing by, and ``autoscale --once`` exit 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin.autoscale import LOCK_KEY, AutoscaleConfig, Autoscaler, LockLostError, StreamLock
from localaws import LocalAWS
from nicelist.cli import main
from tests.stack import local_aws, unique_name  # noqa: F401  (shared with the tests.stack plugin)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table(local_aws: LocalAWS) -> str:  # noqa: F811
    name = unique_name("lock")
    local_aws.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": LOCK_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": LOCK_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def test_one_holder_at_a_time_until_released(local_aws: LocalAWS, table: str) -> None:  # noqa: F811
    dynamodb = local_aws.client("dynamodb")
    clock = Clock(1_000.0)
    first = StreamLock(dynamodb, table, "s", lease_s=60, owner="host-a:1", wall_clock=clock)
    second = StreamLock(dynamodb, table, "s", lease_s=60, owner="host-b:2", wall_clock=clock)
    other_stream = StreamLock(dynamodb, table, "t", lease_s=60, owner="host-b:2", wall_clock=clock)
    assert first.acquire() and not second.acquire()
    assert second.describe_holder().startswith("host-a:1 until ")
    assert other_stream.acquire()  # one lock per stream
    clock.now += 30
    assert first.acquire()  # renewed: expires at 1,090 now
    clock.now += 45
    assert not second.acquire()  # 1,075: the renewal still holds
    first.release()
    assert second.acquire()
    item = dynamodb.get_item(TableName=table, Key={LOCK_KEY: {"S": "s"}})["Item"]
    assert item["owner"]["S"] == "host-b:2"


def test_an_expired_lease_is_taken_over_and_the_old_holder_stops(local_aws: LocalAWS, table: str) -> None:  # noqa: F811
    dynamodb = local_aws.client("dynamodb")
    clock = Clock(5_000.0)
    crashed = StreamLock(dynamodb, table, "s", lease_s=60, owner="a", wall_clock=clock)
    assert crashed.acquire()
    clock.now += 61
    successor = StreamLock(dynamodb, table, "s", lease_s=60, owner="b", wall_clock=clock)
    assert successor.acquire()
    with pytest.raises(LockLostError, match="held by b"):
        crashed.renew_or_raise()
    crashed.release()  # not ours any more: the successor's item stays
    assert dynamodb.get_item(TableName=table, Key={LOCK_KEY: {"S": "s"}})["Item"]["owner"]["S"] == "b"


def test_a_second_autoscaler_stands_by_and_changes_nothing(local_aws: LocalAWS, table: str) -> None:  # noqa: F811
    kinesis = local_aws.client("kinesis")
    stream = unique_name("locked")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    holder = StreamLock(local_aws.client("dynamodb"), table, stream, owner="elsewhere")
    assert holder.acquire()
    lock = StreamLock(local_aws.client("dynamodb"), table, stream)
    autoscaler = Autoscaler(
        kinesis, local_aws.client("cloudwatch"), AutoscaleConfig(stream=stream, publish_metrics=False), lock=lock
    )
    record = autoscaler.step()
    assert record.outcome == "standby" and "held by elsewhere" in record.decision.reason
    assert autoscaler.state.update_calls == [] and not record.decision.changes


def test_once_exits_3_while_another_autoscaler_holds_the_stream(
    local_aws: LocalAWS,  # noqa: F811
    table: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream = unique_name("locked")
    local_aws.client("kinesis").create_stream(StreamName=stream, ShardCount=1)
    assert StreamLock(local_aws.client("dynamodb"), table, stream, owner="cron-1").acquire()
    argv = ["autoscale", "--once", "--stream", stream, "--endpoint", local_aws.endpoint_url, "--lock-table", table]
    assert main([*argv, "--state-file", str(tmp_path / "s"), "--no-metrics"]) == 3
    assert "standing by" in capsys.readouterr().out
    missing = ["--lock-table", unique_name("nolock")]
    # a missing lock table is an operational failure (exit 1), named in one line with the fix
    assert main([*argv[:-2], *missing, "--state-file", str(tmp_path / "s"), "--no-metrics"]) == 1
    assert "`nicelist provision` creates it" in capsys.readouterr().err


def test_the_state_travels_with_the_lease_and_only_its_holder_writes_it(local_aws: LocalAWS, table: str) -> None:  # noqa: F811
    dynamodb = local_aws.client("dynamodb")
    clock = Clock(9_000.0)
    first = StreamLock(dynamodb, table, "s", lease_s=60, owner="a", wall_clock=clock)
    assert first.acquire() and first.state is None
    first.save_state('{"update_calls": ["2026-12-23T10:00:00+00:00"]}')
    clock.now += 30
    assert first.acquire() and first.state == '{"update_calls": ["2026-12-23T10:00:00+00:00"]}'  # renewal keeps it
    clock.now += 61
    second = StreamLock(dynamodb, table, "s", lease_s=60, owner="b", wall_clock=clock)
    assert second.acquire() and second.state == first.state  # the successor reads what "a" left
    with pytest.raises(LockLostError):
        first.save_state("{}")  # "a" lost the lease: it cannot overwrite "b"'s state
    assert second.acquire() and second.state == '{"update_calls": ["2026-12-23T10:00:00+00:00"]}'
