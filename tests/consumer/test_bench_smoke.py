"""``python -m bench.consumer`` keeps working (a smoke run, not a timed test)."""

from __future__ import annotations

import json

import pytest

from bench import consumer as bench

FIELDS = (
    "processor_events_per_cpu_s",
    "put_item_baseline_events_per_cpu_s",
    "batch_write_ceiling_events_per_cpu_s",
    "shard_events_per_s_at_5ms",
)


def test_bench_runs_every_path_and_prints_the_json_fields(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--events", "100", "--latency-events", "100", "--repeat", "1", "--latency-ms", "0.2", "--json", "--no-pin"]
    argv += ["--throttle-seconds", "0"]
    assert bench.main(argv) == 0
    captured = capsys.readouterr()
    figures = json.loads(captured.out)
    for field in FIELDS:
        assert figures[field] > 0 and figures[field + "_repeat5"] > 0
    assert "put_item baseline (Lambda-style)" in captured.err


def test_repeat5_records_carry_each_kid_five_times_in_a_batch() -> None:
    records = bench.make_records(1000, 5)
    keys = [r["partitionKey"] for r in records]
    assert len(set(keys)) == 200 and all(keys[i] == keys[i - i % 5] for i in range(len(keys)))


def test_the_throttled_pass_reports_its_three_figures(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--only-throttled", "--throttle-seconds", "1", "--throttle-capacity", "400", "--latency-ms", "0.2"]
    assert bench.main([*argv, "--json", "--no-pin"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["gave_up"] is False
    assert 0 < figures["throttled_capacity_utilisation"] <= 1.0
    assert 1.0 <= figures["write_statements_per_kid_after_restart"] <= 1.1
