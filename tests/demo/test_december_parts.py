"""The December rehearsal's pure parts: CLI defaults (the plain demo's unchanged), the summary
lines, the timeline and the HTML report."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from admin.autoscale import Decision, DecisionRecord
from demo import DecemberConfig, DecemberSummary, DemoSummary, describe_december
from demo._december import Sample, _timeline
from demo._report import write_report
from nicelist.cli import build_parser
from nicelist.commands.demo import apply_defaults


def parse(*argv: str) -> argparse.Namespace:
    args = build_parser().parse_args(["demo", *argv])
    apply_defaults(args)
    return args


def test_plain_demo_defaults_are_unchanged() -> None:
    args = parse()
    assert (args.events, args.rate, args.elves, args.shards, args.reshard_to) == (8_000, 150.0, 4, 4, None)
    assert (args.spike_factor, args.spike_start, args.december) == (5.0, 0.3, False)


def test_december_defaults_and_explicit_flags_win() -> None:
    args = parse("--december", "--events", "9000")
    assert (args.events, args.rate, args.elves, args.shards, args.reshard_to) == (9_000, 80.0, 2, 2, 0)


def sample(t: float, accepted: int, delivered: int, shards: int, throttled: int, age_ms: float) -> Sample:
    return Sample(
        t=t,
        accepted=accepted,
        delivered=delivered,
        archived=delivered,
        open_shards=shards,
        write_throttled=throttled,
        read_throttled=0,
        producer_throttled=throttled // 2,
        iterator_age_ms=age_ms,
    )


def summary_with_samples() -> tuple[DecemberSummary, DecemberConfig]:
    config = DecemberConfig()  # 24,000 events: the spike from event 4,800 to 16,800
    samples = [
        sample(0.0, 0, 0, 2, 0, 0.0),
        sample(60.0, 4_800, 4_800, 2, 0, 200.0),
        sample(70.0, 9_600, 6_000, 2, 300, 9_000.0),
        sample(90.0, 16_800, 10_000, 4, 900, 20_000.0),
        sample(120.0, 19_000, 18_000, 4, 950, 8_000.0),
        sample(140.0, 21_000, 20_900, 4, 950, 1_000.0),
    ]
    record = DecisionRecord(
        at=datetime(2026, 12, 23, 8, 1, 15, tzinfo=UTC),
        open_shards=2,
        decision=Decision(action="scale-up", target=4, reason="throttled in each of the last 2 periods"),
        outcome="done",
    )
    none = DecisionRecord(
        at=datetime(2026, 12, 23, 8, 1, 20, tzinfo=UTC),
        open_shards=4,
        decision=Decision(action="none", target=4, reason="steady"),
        outcome="no change",
    )
    summary = DecemberSummary(
        demo=DemoSummary(planned=24_000, delivered=24_000),
        samples=samples,
        decisions=[record, none],
        wall_started=datetime(2026, 12, 23, 8, 0, 0, tzinfo=UTC).timestamp(),
    )
    _timeline(summary, config)
    return summary, config


def test_timeline_and_summary_lines() -> None:
    summary, _ = summary_with_samples()
    assert (summary.spike_start_s, summary.spike_end_s, summary.recovered_s) == (60.0, 90.0, 140.0)
    assert summary.time_to_recover_s == 50.0
    assert summary.peak_lag_ms == 20_000.0 and summary.peak_backlog == 6_800
    lines = describe_december(summary)
    assert any(line.startswith("throttled puts: 950 records") for line in lines)
    assert any(
        line.startswith("autoscaler decisions: 2 (1 scale-up, 0 split, 0 scale-down, 0 merge, 1 none)")
        for line in lines
    )
    assert any(line.startswith("scaled down after the spike: no") for line in lines)
    assert "lost (delivered, unarchived): 0" in lines
    assert any("open shards 2 -> 4" in line for line in lines)
    assert any(line.startswith("time to recover: 50.0 s") for line in lines)


def test_report_is_one_html_page_with_four_charts(tmp_path: Path) -> None:
    summary, config = summary_with_samples()
    path = write_report(tmp_path / "r" / "report.html", summary, config)
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 4
    assert "scale-up to 4" in page and "throttled puts:" in page
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # self-contained


def test_the_scale_down_after_the_spike_is_printed_and_marked(tmp_path: Path) -> None:
    summary, config = summary_with_samples()
    merge = DecisionRecord(
        at=datetime(2026, 12, 23, 8, 2, 40, tzinfo=UTC),
        open_shards=4,
        decision=Decision(
            action="merge", target=2, reason="quiet", merges=(("shardId-1", "shardId-2"), ("shardId-3", "shardId-4"))
        ),
        outcome="done",
    )
    summary.decisions.append(merge)
    assert summary.scale_downs == [merge]
    lines = describe_december(summary)
    assert "scaled down after the spike: 4 -> 2 shards (merge at 08:02:40)" in lines
    assert any("open shards 2 -> 4 -> 2" in line for line in lines)
    page = write_report(tmp_path / "report.html", summary, config).read_text()
    assert 'fill="#2ca02c">merge to 2</text>' in page


def test_the_dynamodb_phase_lines_and_chart(tmp_path: Path) -> None:
    """Issue 19: the kid table below the spike's write rate; counts from the stack's own counters."""
    from demo._december_dynamodb import KidTableSummary, TableSample, dynamodb_lines

    summary, config = summary_with_samples()

    def at(t: float, consumed: float, throttled: int, statements: int, misdirected: int) -> TableSample:
        return TableSample(
            t=t,
            consumed_units=consumed,
            throttled=throttled,
            write_statements=statements,
            items_written=statements - misdirected,
            misdirected=misdirected,
            capacity_units_per_s=250.0,
        )

    summary.dynamodb = KidTableSummary(
        write_units=250, samples=[at(0, 0, 0, 0, 0), at(60, 5_000, 40, 5_000, 10), at(90, 11_000, 700, 11_000, 100)]
    )
    lines = describe_december(summary)
    assert any(line.startswith("dynamodb throttled statements: 700 (kid table at 250 write units/s") for line in lines)
    assert "worker restarts: 0" in lines
    assert any(line.startswith("write statements per written kid: 1.01 (11000 statements") for line in lines)
    assert summary.dynamodb_ok
    summary.demo.worker_restarts = 1
    assert not summary.dynamodb_ok and "worker restarts: 1" in describe_december(summary)
    page = write_report(tmp_path / "report.html", summary, config).read_text()
    assert page.count("<svg") == 5 and "DynamoDB kid table: write units consumed and available" in page
    assert dynamodb_lines(None, worker_restarts=0, distinct_kids=None) == []
    assert KidTableSummary(write_units=1).statements_per_kid_write is None


def test_the_kid_table_capacity_flag_defaults_to_the_rehearsals() -> None:
    from demo._december_dynamodb import DECEMBER_KID_TABLE_WRITE_UNITS

    assert parse("--december").kid_table_write_units == DECEMBER_KID_TABLE_WRITE_UNITS
    assert DecemberConfig().kid_table_write_units == DECEMBER_KID_TABLE_WRITE_UNITS
