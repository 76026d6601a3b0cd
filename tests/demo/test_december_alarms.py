"""The rehearsal's alarm lines and chart markers (pure)."""

from __future__ import annotations

from pathlib import Path

from admin.alarms import alarm_specs
from demo._december_alarms import AlarmRecord, alarm_lines, alarm_markers, scaled_args
from demo._report import write_report
from foundation.settings import PipelineNames
from tests.demo.test_december_parts import summary_with_samples

T0 = 1_000_000.0


def record() -> AlarmRecord:
    def change(alarm: str, old: str, new: str, at: float) -> dict[str, object]:
        return {"alarm": f"app-{alarm}", "old": old, "new": new, "at": T0 + at, "reason": "why", "delivered": 1}

    return AlarmRecord(
        period_s=5,
        application="app",
        transitions=[
            change("dead-letters", "INSUFFICIENT_DATA", "OK", 1.0),
            change("stream-write-throttled", "OK", "ALARM", 40.0),
            change("stream-write-throttled", "ALARM", "OK", 95.0),
            change("heartbeat", "OK", "ALARM", 230.0),
        ],
        notifications=[{"NewStateValue": s} for s in ("OK", "ALARM", "OK", "ALARM")],
        workers_stopped_at=T0 + 200.0,
    )


def test_lines_count_the_notifications_and_list_trips_to_alarm_and_back() -> None:
    lines = alarm_lines(record(), T0)
    assert lines[0].startswith("alarm notifications delivered: 4 (2 ALARM, 2 OK)")
    trips = [line for line in lines if " -> " in line]
    assert len(trips) == 3  # INSUFFICIENT_DATA -> OK is counted, not listed
    assert "(t=40 s) stream-write-throttled: OK -> ALARM" in trips[0]
    assert "(t=95 s) stream-write-throttled: ALARM -> OK" in trips[1]
    assert lines[-1] == "silence: every worker stopped at t=200 s; heartbeat alarm raised 30 s later, pager notified"
    assert alarm_lines(None, T0) == []


def test_markers_on_the_charts(tmp_path: Path) -> None:
    assert alarm_markers(record(), T0) == [
        (40.0, "ALARM: stream-write-throttled"),
        (95.0, "OK: stream-write-throttled"),
        (230.0, "ALARM: heartbeat"),
    ]
    summary, config = summary_with_samples()
    summary.alarms = record()
    summary.wall_started = T0
    page = write_report(tmp_path / "report.html", summary, config).read_text()
    assert 'stroke="#d62728" stroke-dasharray="4 3"><title>ALARM: stream-write-throttled' in page
    assert "<title>OK: stream-write-throttled</title>" in page
    assert "alarm notifications delivered: 4" in page


def test_scaled_alarms_keep_their_shape_in_scaled_minutes() -> None:
    specs = {s.name.removeprefix("nicelist-worker-"): s for s in alarm_specs(PipelineNames())}
    age = scaled_args(specs["iterator-age"], "arn:topic", 5)
    assert (age["Period"], age["Threshold"], age["EvaluationPeriods"]) == (5, 50_000.0, 5)  # 10 scaled minutes
    heartbeat = scaled_args(specs["heartbeat"], "arn:topic", 5)
    assert (heartbeat["Period"], heartbeat["Threshold"], heartbeat["AlarmActions"]) == (5, 1.0, ["arn:topic"])
    unread = scaled_args(specs["records-unread"], None, 5)
    assert {q["MetricStat"]["Period"] for q in unread["Metrics"] if "MetricStat" in q} == {5}
