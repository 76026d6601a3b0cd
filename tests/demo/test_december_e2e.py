"""``nicelist demo --december`` end to end, short: limits mode, the real KCL daemon, a spike
that one shard cannot take, the autoscaler, a kid table below the spike's write rate, the alarms.
Assertions are on counts (nothing lost, Kinesis and DynamoDB throttled, the autoscaler scaled up
at least once and back down after the spike, an alarm reached the pager, no worker restarted),
never on timings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nicelist.cli import main

pytestmark = pytest.mark.kcl


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text, re.MULTILINE)
    assert found is not None, f"{pattern!r} not in:\n{text}"
    return int(found.group(1))


@pytest.mark.timeout(420)
def test_short_rehearsal_throttles_scales_up_and_down_and_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.html"
    rc = main(
        [
            "demo",
            "--december",
            # one shard at scale 0.02 (~21 KB/s): 50 events/s fit, the x8 spike (~53 KB/s) does not
            "--shards=1",
            "--elves=1",
            "--events=4000",
            "--rate=50",
            "--spike-factor=8",
            "--spike-start=0.1",
            "--spike-share=0.6",
            "--kids=300",
            "--metrics-period=2",
            # the kid table below the spike's kid writes (issue 19): it throttles, no worker restarts
            "--kid-table-write-units=200",
            f"--report={report}",
            f"--work-dir={tmp_path / 'work'}",
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "RESULT: nothing lost, table agrees with archive" in out
    assert "lost (delivered, unarchived): 0" in out.splitlines()
    assert _number(r"^throttled puts: (\d+)", out) > 0
    assert _number(r"^autoscaler decisions: \d+ \((\d+) scale-up", out) >= 1
    assert _number(r"^alarm notifications delivered: (\d+)", out) >= 1
    assert re.search(r"^scaled down after the spike: \d+ -> \d+ shards", out, re.MULTILINE), out
    assert "events produced (delivered):  4000" in out
    assert "reconcile:                    AGREE" in out
    lines = out.splitlines()
    assert _number(r"^dynamodb throttled statements: (\d+)", out) > 0
    assert "worker restarts: 0" in lines
    assert re.search(r"^write statements per written kid: \d+\.\d\d ", out, re.MULTILINE), out
    page = report.read_text()
    assert page.count("<svg") == 5
