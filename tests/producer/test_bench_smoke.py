"""``python -m bench.producer`` keeps working (a smoke run, not a timed test)."""

from __future__ import annotations

import pytest

from bench import producer as bench


def test_bench_runs_and_prints_both_paths(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--events", "300", "--repeat", "1", "--no-pin"]) == 0
    out = capsys.readouterr().out
    assert "baseline: fastavro + RecordAggregator" in out
    assert "Producer, spool on" in out
    assert "spool on / no spool (events per CPU second):" in out


def test_bench_events_are_valid_and_about_125_avro_bytes() -> None:
    events = bench.make_events(2000)
    single, body = bench.avro_sizes(events)
    assert 115 <= body / len(events) <= 135
