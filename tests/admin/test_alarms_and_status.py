"""Alarms as code (every alarm watches a metric somebody publishes; apply is idempotent) and the
status screen, on the embedded stack."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from admin.alarms import AlarmSpec, alarm_specs, apply_alarms, ensure_topic, is_published, topic_name
from admin.status import Lease, PipelineStatus
from foundation.settings import PipelineNames
from localaws import LocalAWS
from nicelist.cli import main
from observability import metrics as m
from tests.stack import unique_name

NAMES = PipelineNames()


def test_every_alarm_watches_a_metric_that_is_published() -> None:
    for spec in alarm_specs(NAMES):
        assert is_published(spec), (
            f"{spec.name} watches {spec.namespace} {spec.metric} {spec.dimensions}: nobody sends it"
        )


def test_alarms_cover_the_december_23rd_failures() -> None:
    specs = alarm_specs(NAMES)
    watched = {spec.metric for spec in specs} | {i.metric for spec in specs for i in spec.inputs}
    assert {
        "GetRecords.IteratorAgeMilliseconds",
        m.MILLIS_BEHIND_LATEST.name,
        "WriteProvisionedThroughputExceeded",
        m.DYNAMODB_THROTTLES.name,
        m.DYNAMODB_THROTTLED_STATEMENTS.name,
        m.DEAD_LETTERS.name,
        m.PROCESSOR_STOPPED.name,
        m.PRODUCER_SPOOL_BYTES.name,
    } <= watched
    specs = alarm_specs(NAMES)
    assert len({s.name for s in specs}) == len(specs)
    assert all(s.reason and "\n" not in s.reason for s in specs)


def test_an_alarm_on_an_unpublished_metric_is_caught() -> None:
    spec = alarm_specs(NAMES)[0]
    assert not is_published(replace(spec, metric="NoSuchMetric"))
    assert not is_published(replace(spec, namespace=m.NAMESPACE, metric=m.DEAD_LETTERS.name, dimensions=(("X", "y"),)))
    with pytest.raises(ValueError):
        AlarmSpec(name="x", reason="a\nb", namespace="n", metric="m", dimensions=(), statistic="Sum", threshold=0)


@pytest.fixture
def names() -> PipelineNames:
    return PipelineNames(
        stream=unique_name("al"),
        table=unique_name("al-kids"),
        bucket=unique_name("al-b"),
        application=unique_name("al-app"),
    )


def test_apply_twice_changes_nothing_the_second_time(
    local_aws: LocalAWS, aws_client: Any, names: PipelineNames
) -> None:
    cloudwatch, sns = aws_client("cloudwatch"), aws_client("sns")
    topic = ensure_topic(sns, topic_name(names), emails=["ops@northpole.example"], https=["https://pager.example/hook"])
    assert len(topic.actions) == 2
    assert ensure_topic(sns, topic_name(names), emails=["ops@northpole.example"]).actions == []
    specs = alarm_specs(names)
    first = apply_alarms(cloudwatch, specs, topic.arn)
    assert {c.action for c in first} == {"create"}
    second = apply_alarms(cloudwatch, specs, topic.arn)
    assert {c.action for c in second} == {"unchanged"}, [c.describe() for c in second]
    changed = [replace(specs[0], threshold=1.0), *specs[1:]]
    third = apply_alarms(cloudwatch, changed, topic.arn)
    assert [(c.action, c.differences) for c in third if c.action != "unchanged"] == [("update", ("Threshold",))]


def test_the_cli_applies_alarms_and_renders_status(
    local_aws: LocalAWS, names: PipelineNames, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--endpoint", local_aws.endpoint_url]
    assert (
        main(
            [
                "provision",
                *where,
                "--shards",
                "2",
                "--stream",
                names.stream,
                "--table",
                names.table,
                "--bucket",
                names.bucket,
            ]
        )
        == 0
    )
    flags = ["--stream", names.stream, "--table", names.table, "--application", names.application]
    assert main(["alarms", "apply", *where, *flags, "--email", "ops@northpole.example"]) == 0
    capsys.readouterr()
    assert main(["alarms", "apply", *where, *flags, "--email", "ops@northpole.example"]) == 0
    assert f"0 of {len(alarm_specs(names))} alarms changed" in capsys.readouterr().out
    assert main(["status", *where, *flags]) == 0
    screen = capsys.readouterr().out
    assert "shardId-000000000001" in screen and "alarms: " in screen and "OK" in screen
    assert main(["status", *where, *flags, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["stream"]["open_shards"]) == 2 and document["alarms"]


def test_alarms_show_needs_no_aws(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alarms", "show"]) == 0
    out = capsys.readouterr().out
    assert "why: " in out and "DeadLetters" in out


def test_status_renders_leases_per_worker_and_firing_alarms() -> None:
    status = PipelineStatus(
        stream=None,
        leases=[Lease("shardId-0", "w1", "123"), Lease("shardId-1", "w1", None), Lease("shardId-2", None, None)],
        lag_ms={},
        totals={"dead letters": 2.0},
        alarms={"a": "ALARM", "b": "OK"},
        window_minutes=5,
    )
    text = status.render()
    assert "w1: 2" in text and "(unowned): 1" in text and "FIRING: a" in text and "dead letters 2" in text


def test_every_alarm_states_its_missing_data_choice_and_silence_pages(capsys: pytest.CaptureFixture[str]) -> None:
    specs = alarm_specs(NAMES)
    assert all(s.missing_data_reason for s in specs), [s.name for s in specs if not s.missing_data_reason]
    assert main(["alarms", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    breaching = [a for a in shown if a["TreatMissingData"] == "breaching"]
    assert [a["MetricName"] for a in breaching] == [m.WORKER_HEARTBEAT.name]
    assert all("missing data: " in a["AlarmDescription"] for a in shown)
    unread = next(a for a in shown if a["AlarmName"].endswith("-records-unread"))  # metric math
    assert {q["Id"] for q in unread["Metrics"]} == {"incoming", "read", "e1"} and "MetricName" not in unread
    with pytest.raises(ValueError):  # one metric or an expression, not both, not neither
        replace(specs[0], expression="m1")
    with pytest.raises(ValueError):
        replace(specs[0], treat_missing_data="sometimes")
