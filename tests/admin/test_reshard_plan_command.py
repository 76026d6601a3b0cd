"""``nicelist reshard plan``: the consumer side and the December cost in its text and JSON output
(pure arithmetic: no AWS, no stack)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from admin.reshard import DEFAULT_CONSUMER_EVENTS_PER_SHARD_S
from nicelist.cli import main

DECEMBER = ["reshard", "plan", "--peak-events-per-sec", "500000", "--event-bytes", "130"]
#: the PutItem path's processor (before batching)
SLOW = ["--consumer-events-per-shard-s", "970"]


def test_the_december_peak_recommends_the_streams_83_shards(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 19: at today's processor speed the consumers are not the bound; the plan says where
    its processor figure comes from and counts write statements per kid."""
    assert main(DECEMBER) == 0
    out = capsys.readouterr().out
    assert "peak needs max(83, 2, 42) = 83 shards" in out
    assert f"(processor figure: {DEFAULT_CONSUMER_EVENTS_PER_SHARD_S:,.0f} events/s per shard from " in out
    assert "bound: the stream (83 shards) >= the consumers" in out
    assert "x 1 write statements per kid write x 1 WRU" in out
    assert "kid table warm throughput: 625,000 write units/s (nicelist provision --warm-write-units 625000" in out
    assert out.rstrip().endswith("recommended: 83 shards, bound by the stream (nicelist reshard scale --shards 83)")


def test_the_text_shows_the_consumer_side_and_the_cost(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*DECEMBER, *SLOW]) == 0
    out = capsys.readouterr().out
    assert "peak needs max(83, 2, 42) = 83 shards" in out
    assert "/ 970 events/s per shard's processor -> 645 shards" in out
    assert "(processor figure: 970 events/s per shard from --consumer-events-per-shard-s)" in out
    assert "bound: the consumers (645 shards) > the stream (83)" in out
    assert "worker cores: one per processor, 645 processors (no CPU figure given: an upper bound) -> 645 cores" in out
    assert "= 500,000 WRU/s, 625,000 with headroom: OVER the on-demand table quota of 40,000 WRU/s" in out
    assert "December scenario (us-east-1 prices): 1,800,000,000 events in 24 h on 645 shards" in out
    for item in ("Kinesis shard-hours", "Kinesis PUT payload units", "DynamoDB on-demand writes"):
        assert f"  {item}: " in out
    for item in ("S3 PUT requests", "S3 Standard storage", "Athena", "total"):
        assert f"  {item}: " in out
    assert out.rstrip().endswith(
        "recommended: 645 shards, bound by the consumers (nicelist reshard scale --shards 645)"
    )


def test_the_json_has_the_consumer_side_and_the_cost(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*DECEMBER, *SLOW, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["shards"] == 645
    assert data["stream_shards"] == 83
    assert data["bound"] == "consumers"
    assert data["consumers"]["shards"] == 645
    assert data["consumers"]["worker_cores"] == 645
    assert data["consumers"]["write_units_per_sec"] == 500_000
    assert data["consumers"]["write_units_over_table_quota"] is True
    assert data["consumers"]["warm_write_units"] == 625_000
    assert data["inputs"]["write_statements_per_kid"] == 1.0
    cost = data["cost"]
    assert cost["shard_hours"] == 645 * 24
    assert cost["kinesis_shard_hours_usd"] == pytest.approx(645 * 24 * 0.015)
    assert cost["write_request_units"] > 1_800_000_000
    assert cost["total_usd"] > 0


def test_the_capacity_comes_from_the_benchmark_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "consumer.json"
    report.write_text(
        json.dumps({"shard_events_per_s_at_5ms": 7_600.0, "processor_events_per_cpu_s": 9_000.0, "other": 1})
    )
    assert main([*DECEMBER, "--consumer-bench-json", str(report), "--distinct-kid-ratio", "0.2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["consumers"]["shards"] == 83  # 625,000 / 7,600 = 82.2
    assert data["bound"] == "stream"
    assert data["shards"] == 83
    assert data["consumers"]["worker_cores"] == 70  # 625,000 / 9,000 = 69.4
    assert data["consumers"]["write_units_per_sec"] == pytest.approx(100_000)


def test_a_processor_is_held_to_one_core(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "consumer.json"
    report.write_text(json.dumps({"shard_events_per_s_at_5ms": 7_600.0, "processor_events_per_cpu_s": 5_600.0}))
    assert main([*DECEMBER, "--consumer-bench-json", str(report)]) == 0
    out = capsys.readouterr().out
    # 7,600 events/s would need 1.36 cores: a processor gets one, so 5,600 per shard
    assert "/ 5,600 events/s per shard's processor (one core's worth" in out
    assert "-> 112 shards" in out
    assert "recommended: 112 shards, bound by the consumers" in out


def test_flags_set_the_capacity_and_the_cost_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        *DECEMBER,
        "--consumer-events-per-shard-s",
        "2000",
        "--consumer-events-per-cpu-s",
        "4000",
        "--provisioned-hours",
        "48",
        "--athena-full-scans",
        "0",
        "--archive-retention-months",
        "12",
        "--json",
    ]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["consumers"]["shards"] == 313  # 625,000 / 2,000 = 312.5
    assert data["consumers"]["worker_cores"] == 157
    assert data["cost"]["shard_hours"] == 313 * 48
    assert data["cost"]["athena_usd"] == 0


def test_a_report_without_the_field_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "consumer.json"
    report.write_text(json.dumps({"processor_events_per_cpu_s": 5_600.0}))
    assert main([*DECEMBER, "--consumer-bench-json", str(report)]) == 2
    assert "shard_events_per_s_at_5ms" in capsys.readouterr().err
    assert main([*DECEMBER, "--consumer-bench-json", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    report.write_text("{not json")
    assert main([*DECEMBER, "--consumer-bench-json", str(report)]) == 2
    assert "is not JSON" in capsys.readouterr().err


def test_the_capacity_is_given_once(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*DECEMBER, "--consumer-events-per-shard-s", "1000", "--consumer-bench-json", "x.json"])
    assert exit_.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_a_bad_ratio_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*DECEMBER, "--distinct-kid-ratio", "0"]) == 2
    assert "distinct_kid_ratio" in capsys.readouterr().err


def test_the_help_states_the_planners_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["reshard", "plan", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert f"(default {DEFAULT_CONSUMER_EVENTS_PER_SHARD_S:,.0f}, measured by python -m bench.consumer)" in out
    assert "--write-statements-per-kid" in out
