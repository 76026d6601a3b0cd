"""``nicelist reshard`` end to end on the embedded local AWS (one stack for the module)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from admin.reshard import HASH_SPACE, ReshardConfig, Resharder, Topology
from localaws import LocalAWS
from nicelist.cli import main
from tests.stack import local_aws, unique_name  # noqa: F401  (borrowed: one stack per test process)


@pytest.fixture
def stack(local_aws: LocalAWS) -> LocalAWS:  # noqa: F811
    """The one embedded stack every borrower of tests.stack shares."""
    return local_aws


@pytest.fixture
def kinesis(stack: LocalAWS) -> Any:
    return stack.client("kinesis")


@pytest.fixture
def stream(kinesis: Any) -> Iterator[str]:
    name = unique_name("reshard")
    kinesis.create_stream(StreamName=name, ShardCount=4)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    yield name
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)


@pytest.fixture
def faults(stack: LocalAWS) -> Iterator[LocalAWS]:
    try:
        yield stack
    finally:
        stack.clear_faults()


def reshard(stack: LocalAWS, stream: str, *args: str) -> int:
    return main(["reshard", *args, "--stream", stream, "--endpoint", stack.endpoint_url, "--poll-interval", "0.2"])


def status_json(stack: LocalAWS, stream: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["reshard", "status", "--json", "--stream", stream, "--endpoint", stack.endpoint_url]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def topology(kinesis: Any, stream: str) -> Topology:
    return Resharder(kinesis, ReshardConfig(stream=stream)).topology()


def test_status_table_and_json(stack: LocalAWS, stream: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reshard", "status", "--stream", stream, "--endpoint", stack.endpoint_url]) == 0
    out = capsys.readouterr().out
    assert f"stream {stream}: ACTIVE, PROVISIONED" in out
    assert "4 open shards, 0 closed" in out
    assert "no shard-level metrics" in out
    assert out.count("25.00") == 4

    data = status_json(stack, stream, capsys)
    assert data["open_shard_count"] == 4
    assert [s["hash_space_percent"] for s in data["open_shards"]] == [25.0] * 4
    assert data["metrics"] == "no shard-level metrics"


def test_status_shows_per_shard_rates_when_enhanced_monitoring_is_on(
    stack: LocalAWS, stream: str, kinesis: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    kinesis.enable_enhanced_monitoring(StreamName=stream, ShardLevelMetrics=["IncomingRecords", "IncomingBytes"])
    assert main(["reshard", "status", "--stream", stream, "--endpoint", stack.endpoint_url]) == 0
    out = capsys.readouterr().out
    assert "RECORDS/S" in out
    assert "IncomingBytes, IncomingRecords (average over the last 5 min)" in out
    data = status_json(stack, stream, capsys)
    assert all("incoming_records_per_sec" in s for s in data["open_shards"])


def test_dry_run_prints_the_calls_and_changes_nothing(
    stack: LocalAWS, stream: str, kinesis: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert reshard(stack, stream, "scale", "--shards", "1", "--dry-run") == 0
    out = capsys.readouterr().out
    calls = [line.split(" ", 3)[3] for line in out.splitlines() if line.startswith("  UpdateShardCount ")]
    assert [json.loads(call) for call in calls] == [
        {"StreamName": stream, "TargetShardCount": n, "ScalingType": "UNIFORM_SCALING"} for n in (2, 1)
    ]
    assert "dry run: nothing changed" in out
    assert topology(kinesis, stream).open_count == 4


def test_without_yes_and_without_a_terminal_it_refuses(
    stack: LocalAWS, stream: str, kinesis: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert reshard(stack, stream, "scale", "--shards", "8") == 1
    assert "stdin is not a terminal and --yes was not given; nothing changed" in capsys.readouterr().err
    assert topology(kinesis, stream).open_count == 4


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "expected"), [("n\n", 4), ("y\n", 5)])
def test_confirmation_on_a_terminal(
    stack: LocalAWS, stream: str, kinesis: Any, monkeypatch: pytest.MonkeyPatch, answer: str, expected: int
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal(answer))
    shard = topology(kinesis, stream).open[0].shard_id
    assert reshard(stack, stream, "split", shard) == (0 if expected == 5 else 1)
    assert topology(kinesis, stream).open_count == expected


def test_scale_4_to_8_to_3(stack: LocalAWS, stream: str, kinesis: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert reshard(stack, stream, "scale", "--shards", "8", "--yes") == 0
    assert topology(kinesis, stream).open_count == 8
    assert reshard(stack, stream, "scale", "--shards", "3", "--yes") == 0
    after = topology(kinesis, stream)
    after.check_tiling()
    assert after.open_count == 3
    out = capsys.readouterr().out
    assert "done: 2 call(s)" in out
    # re-running is a no-op
    assert reshard(stack, stream, "scale", "--shards", "3", "--yes") == 0
    assert "nothing to do" in capsys.readouterr().out


def test_split_merge_and_rebalance(stack: LocalAWS, stream: str, kinesis: Any) -> None:
    first = topology(kinesis, stream).open[0]
    assert reshard(stack, stream, "split", first.shard_id, "--at", str(first.start + first.width // 4), "--yes") == 0
    uneven = topology(kinesis, stream)
    assert uneven.open_count == 5
    assert uneven.worst_imbalance() > 0.5

    low, high = uneven.open[0], uneven.open[1]
    assert reshard(stack, stream, "merge", high.shard_id, low.shard_id, "--yes") == 0
    merged = topology(kinesis, stream)
    assert merged.open_count == 4
    assert merged.open[0].parents == (low.shard_id, high.shard_id)

    assert reshard(stack, stream, "split", merged.open[1].shard_id, "--yes") == 0
    assert reshard(stack, stream, "rebalance", "--shards", "5", "--tolerance", "0.05", "--yes") == 0
    even = topology(kinesis, stream)
    even.check_tiling()
    assert even.open_count == 5
    assert even.worst_imbalance() <= 0.05


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (("split", "shardId-000000000099"), "unknown shard shardId-000000000099", 1),
        (("split", "shardId-000000000000", "--at", "0"), "is not strictly inside shard shardId-000000000000", 2),
        (("merge", "shardId-000000000000", "shardId-000000000002"), "are not adjacent", 1),
    ],
)
def test_errors_name_the_problem_and_change_nothing(
    stack: LocalAWS,
    stream: str,
    kinesis: Any,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    message: str,
    code: int,
) -> None:
    before = topology(kinesis, stream)
    assert reshard(stack, stream, *args, "--yes") == code
    err = capsys.readouterr().err
    assert message in err
    assert "nothing changed" in err
    assert topology(kinesis, stream) == before


def test_a_shard_count_out_of_range_is_a_usage_error(
    stack: LocalAWS, stream: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        reshard(stack, stream, "scale", "--shards", "0", "--yes")
    assert exit_.value.code == 2
    assert "argument --shards: must be within 1..10000, got 0" in capsys.readouterr().err


def test_a_closed_shard_is_refused_naming_its_children(
    stack: LocalAWS, stream: str, kinesis: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    shard = topology(kinesis, stream).open[0].shard_id
    assert reshard(stack, stream, "split", shard, "--yes") == 0
    capsys.readouterr()
    assert reshard(stack, stream, "split", shard, "--yes") == 1
    assert (
        f"shard {shard} of stream {stream} is closed: already split or merged (its children:" in capsys.readouterr().err
    )


def test_update_shard_count_refused_falls_back_to_split_merge(
    faults: LocalAWS, stream: str, kinesis: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # three failures: botocore's standard mode retries LimitExceededException twice
    faults.inject_fault(service="kinesis", operation="UpdateShardCount", error_code="LimitExceededException", count=3)
    assert reshard(faults, stream, "scale", "--shards", "6", "--yes") == 0
    assert "carrying on with SplitShard/MergeShards" in capsys.readouterr().err
    after = topology(kinesis, stream)
    assert after.open_count == 6
    assert after.worst_imbalance() < 1e-9


def test_update_shard_count_only_reports_the_limit(
    faults: LocalAWS, stream: str, kinesis: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    faults.inject_fault(service="kinesis", operation="UpdateShardCount", error_code="LimitExceededException", count=3)
    assert reshard(faults, stream, "scale", "--shards", "2", "--method", "update-shard-count", "--yes") == 1
    err = capsys.readouterr().err
    assert "UpdateShardCount refused by a Kinesis limit" in err
    assert "nothing changed" in err
    assert topology(kinesis, stream).open_count == 4


def test_plan_needs_no_aws(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reshard", "plan", "--peak-events-per-sec", "50000", "--event-bytes", "125", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["stream_shards"] == 8
    assert data["spike"]["events_per_sec"] == pytest.approx(1_800_000_000 / 86_400)
    assert HASH_SPACE == 2**128


def test_an_interrupted_run_is_finished_by_running_it_again(stack: LocalAWS, stream: str, kinesis: Any) -> None:
    calls: list[str] = []

    def ctrl_c_at_the_third_call(line: str) -> None:
        if line.startswith(("SplitShard", "MergeShards")):
            calls.append(line)
            if len(calls) == 3:
                raise KeyboardInterrupt

    config = ReshardConfig(stream=stream, poll_interval_s=0.2)
    interrupted = Resharder(kinesis, config, progress=ctrl_c_at_the_third_call)
    plan = interrupted.plan_scale(3, method="split-merge")
    assert len(plan.steps) == 5  # 2 splits, 3 merges
    with pytest.raises(KeyboardInterrupt):
        interrupted.execute(plan)
    half_way = topology(kinesis, stream)
    assert half_way.open_count == 6  # both splits done, no merge yet

    assert reshard(stack, stream, "scale", "--shards", "3", "--method", "split-merge", "--yes") == 0
    done = topology(kinesis, stream)
    assert done.open_count == 3
    assert done.worst_imbalance() < 1e-9
    assert len(done.closed) == 2 + 6  # nothing split or merged twice
