"""The demo's parts that need no KCL: its settings, the archive watcher, the summary text."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from demo import ArchiveWatcher, describe_demo
from demo._model import DemoConfig, DemoSummary
from demo._workers import leases_owned
from foundation.errors import ConfigError
from foundation.progress import Progress, format_bar
from loadgen import SpikeShape
from reconcile import ReconcileReport
from tests.archive_fixtures import archive_key, archived_row, avro_file


def test_reshard_defaults_to_doubling_when_the_spike_starts() -> None:
    config = DemoConfig(shape=SpikeShape(events=1000, spike_start=0.4))
    assert config.reshard_target == 8 and config.reshard_after_events == 400
    assert DemoConfig(reshard_to=0).reshard_target == 0
    assert DemoConfig(shape=SpikeShape(events=1000), reshard_at=0.9).reshard_after_events == 900
    with pytest.raises(ConfigError, match="workers"):
        DemoConfig(workers=0)
    with pytest.raises(ConfigError, match="reshard_at"):
        DemoConfig(reshard_at=2.0)


def test_archive_watcher_reads_each_object_once() -> None:
    with mock_aws():
        s3: Any = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bucket-1")
        first = [archived_row(i) for i in range(3)]
        s3.put_object(Bucket="bucket-1", Key=archive_key(first[0]), Body=avro_file(first))
        watcher = ArchiveWatcher(s3, "bucket-1")
        assert watcher.poll() == 3 and watcher.poll() == 0
        second = [archived_row(i) for i in range(3, 5)]
        s3.put_object(Bucket="bucket-1", Key=archive_key(second[0]), Body=avro_file(second))
        s3.put_object(Bucket="bucket-1", Key="dead-letter/dt=2025-12-23/hour=00/x.avro", Body=b"x")
        assert watcher.poll() == 2
        assert (watcher.rows, watcher.objects, watcher.dead_letters) == (5, 2, 1)
        expected = {r["event_id"] for r in first + second} | {"never-sent"}
        assert watcher.missing(expected) == {"never-sent"}


def test_leases_owned_counts_assigned_leases_and_tolerates_a_missing_table() -> None:
    with mock_aws():
        ddb: Any = boto3.client("dynamodb", region_name="us-east-1")
        assert leases_owned(ddb, "app") == 0
        ddb.create_table(
            TableName="app",
            KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(
            TableName="app",
            Item={"leaseKey": {"S": "s0"}, "leaseOwner": {"S": "w"}, "checkpoint": {"S": "TRIM_HORIZON"}},
        )
        ddb.put_item(TableName="app", Item={"leaseKey": {"S": "s1"}, "checkpoint": {"S": "TRIM_HORIZON"}})
        assert leases_owned(ddb, "app") == 1


def test_summary_says_whether_anything_was_lost() -> None:
    config = DemoConfig()
    good = DemoSummary(planned=10, accepted=10, delivered=10, archived_rows=10, archived_events=10)
    good.report = ReconcileReport(table_items=4, naughty=1, nice=3, latencies_ms=[5, 7, 9])
    good.reshard, good.pipeline_s = "8 open shards", 2.0
    text = "\n".join(describe_demo(good, config))
    assert good.ok and text.endswith("RESULT: nothing lost, table agrees with archive")
    assert "(1 naughty, 3 nice)" in text and "p50:   7 ms" in text and "(5 events/s)" in text
    lost = DemoSummary(planned=10, accepted=10, delivered=10, lost=2, lost_samples=["a", "b"])
    lost.report = ReconcileReport()
    text = "\n".join(describe_demo(lost, config))
    assert not lost.ok and "lost (delivered, unarchived): 2" in text and text.endswith("FAILED (see above)")
    assert not DemoSummary(planned=1, delivered=1).ok  # never reconciled


def test_progress_bars_redraw_in_place_on_a_terminal() -> None:
    import io

    now = [0.0]
    out = io.StringIO()
    progress = Progress(out, interactive=True, clock=lambda: now[0], min_interval_s=1.0)
    bar = progress.bar("archived", 100)
    bar.set(50)
    now[0] = 0.5
    bar.set(60)  # within min_interval_s: not drawn
    now[0] = 2.0
    bar.set(70)
    progress.close()
    assert out.getvalue().count("\x1b[2K") == 3 and "\x1b[1F" in out.getvalue()
    assert format_bar("x", 50, 100, 10.0).startswith("x            [##############..............]")
    quiet = io.StringIO()
    Progress(quiet, enabled=False).bar("x").set(1)
    assert quiet.getvalue() == ""


def test_demo_command_refuses_bad_settings_before_starting_anything(capsys: pytest.CaptureFixture[str]) -> None:
    from nicelist.cli import main

    for argv in (["--kids=0"], ["--kcl", "no-equals-sign"], ["--shards=0"]):
        with pytest.raises(SystemExit) as exit_:
            main(["demo", *argv, "--no-progress"])
        assert exit_.value.code == 2
        assert argv[0].split("=")[0] in capsys.readouterr().err
