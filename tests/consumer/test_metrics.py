"""Worker metrics: what the processor reports, and (done-when of issue 14) on the embedded stack a
DynamoDB throttle and a poison record show up in CloudWatch, read back with GetMetricData."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from amazon_kclpy import messages

from consumer import ProcessorConfig, RetryPolicy
from consumer.app import build_processor
from consumer.metrics import MetricsConfig, WorkerMetrics
from consumer.processor import NicelistProcessor
from foundation.settings import AwsSettings, PipelineNames
from localaws import LocalAWS
from nicelist.cli import main
from observability import Query, dims, read_metrics
from observability import metrics as m
from schemas import encode_event
from tests.factories import make_event
from tests.polling import wait_until
from tests.stack import unique_name

from .helpers import (
    FakeArchive,
    FakeCheckpointer,
    FakeDynamoDB,
    initialize_input,
    kcl_record,
    process_input,
    with_checkpointer,
)

NOW_MS = 1_766_448_000_000


def _values(datums: list[dict[str, Any]], shard: bool = False) -> dict[str, Any]:
    return {
        d["MetricName"]: d.get("Value", d.get("StatisticValues", d.get("Values")))
        for d in datums
        if any(x["Name"] == "ShardId" for x in d["Dimensions"]) == shard
    }


def test_the_processor_reports_its_counts_lag_latency_and_what_is_not_checkpointed() -> None:
    metrics = WorkerMetrics(application="app")
    processor = NicelistProcessor(
        # the writes of a batch settle before process_records returns (no overlap): counted at once
        config=ProcessorConfig(archive_max_file_age_s=3600, dynamodb_overlap_batches=False),
        dynamodb=FakeDynamoDB(),  # type: ignore[arg-type]
        archive=FakeArchive(),  # type: ignore[arg-type]
        wall_clock_ms=lambda: NOW_MS + 5000,
        metrics=metrics,
    )
    processor.initialize(initialize_input("shardId-000000000007"))
    events = [encode_event(make_event(observed_at=NOW_MS)) for _ in range(3)]
    pri = process_input([kcl_record(e) for e in events] + [kcl_record(b"poison")], FakeCheckpointer())
    pri._millis_behind_latest = 1234
    processor.process_records(pri)
    datums = metrics.collect(datetime.now(UTC))
    app = _values(datums)
    assert app["RecordsProcessed"] == 4 and app["EventsProcessed"] == 3 and app["DeadLetters"] == 1
    assert app["ItemsWritten"] == 3 and app["Checkpoints"] == 0
    assert app["MillisBehindLatest"]["Maximum"] == 1234
    assert app["UncheckpointedRecords"]["Maximum"] == 4
    assert app["PutToItemLatencyP99"]["Maximum"] == 5000
    assert _values(datums, shard=True)["DeadLetters"] == 1
    assert {x["Value"] for d in datums for x in d["Dimensions"] if x["Name"] == "ShardId"} == {"shardId-000000000007"}
    # the next period counts only what happened since
    assert _values(metrics.collect(datetime.now(UTC)))["RecordsProcessed"] == 0


def test_metrics_settings_from_the_environment() -> None:
    config = MetricsConfig.from_env({"NICELIST_METRICS": "off", "NICELIST_METRICS_INTERVAL_S": "5"})
    assert config == MetricsConfig(enabled=False, interval_s=5.0)
    assert MetricsConfig.from_env({}).enabled


def test_throttles_and_a_dead_letter_reach_cloudwatch(
    clean_faults: LocalAWS, aws_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Done when (issue 14): with a DynamoDB throttle injected and a poison record put, the
    published metrics show the throttles and the dead letter, read back with GetMetricData."""
    stack = clean_faults
    names = PipelineNames(
        stream=unique_name("met"),
        table=unique_name("met-kids"),
        bucket=unique_name("met-archive"),
        application=unique_name("met-app"),
    )
    argv = ["provision", "--endpoint", stack.endpoint_url, "--shards", "1"]
    assert main([*argv, "--stream", names.stream, "--table", names.table, "--bucket", names.bucket]) == 0
    monkeypatch.setenv("NICELIST_METRICS_INTERVAL_S", "1")
    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)
    config = ProcessorConfig(
        names=names,
        aws=AwsSettings(region=stack.region, endpoint_url=stack.endpoint_url),
        sink_retry=RetryPolicy(max_attempts=5, base_delay_s=0.01, max_delay_s=0.05),
    )
    processor = build_processor(config)
    shard = "shardId-000000000000"
    processor.initialize(initialize_input(shard))
    stack.inject_fault(
        service="dynamodb",
        operation="BatchExecuteStatement",
        error_code="ProvisionedThroughputExceededException",
        count=3,
    )
    records = [kcl_record(encode_event(make_event())) for _ in range(2)] + [kcl_record(b"\xc3\x01 poison")]
    checkpointer = FakeCheckpointer()
    processor.process_records(process_input(records, checkpointer))
    # the batch's writes settle (and are counted) by the time the processor checkpoints
    processor.shutdown_requested(with_checkpointer(messages.ShutdownRequestedInput, "shutdownRequested", checkpointer))

    cloudwatch = aws_client("cloudwatch")
    app = dims(Application=names.application)
    queries = [
        Query(m.DYNAMODB_THROTTLES.name, app),
        Query(m.DEAD_LETTERS.name, app),
        Query(m.DEAD_LETTERS.name, dims(Application=names.application, ShardId=shard)),
        Query(m.ITEMS_WRITTEN.name, app),
    ]

    def published() -> dict[Query, float | None] | None:
        end = datetime.now(UTC) + timedelta(minutes=1)
        found = read_metrics(cloudwatch, queries, start=end - timedelta(minutes=10), end=end)
        return found if found[queries[0]] == 3 and found[queries[1]] == 1 and found[queries[3]] == 2 else None

    found = wait_until(published, timeout_s=120, what="throttles and the dead letter in CloudWatch")
    assert found[queries[2]] == 1
    assert exits == [] and checkpointer.calls


def test_a_processor_that_gives_up_says_so_and_exits_even_if_publishing_breaks() -> None:
    class Broken:
        def put_metric_data(self, **kwargs: Any) -> None:
            raise RuntimeError("a bug in the publisher")

    published: list[dict[str, Any]] = []

    class Recording:
        def put_metric_data(self, **kwargs: Any) -> None:
            published.extend(kwargs["MetricData"])

    for cloudwatch in (Recording(), Broken()):
        exits: list[int] = []
        metrics = WorkerMetrics(application="app", cloudwatch=cloudwatch, config=MetricsConfig(interval_s=3600))
        processor = NicelistProcessor(
            config=ProcessorConfig(dynamodb_overlap_batches=False),  # the failure surfaces in this call
            dynamodb=FakeDynamoDB(fail=RuntimeError("table gone")),  # type: ignore[arg-type]
            archive=FakeArchive(),  # type: ignore[arg-type]
            exit=exits.append,
            metrics=metrics,
        )
        processor.initialize(initialize_input())
        processor.process_records(process_input([kcl_record(encode_event(make_event()))], FakeCheckpointer()))
        assert exits == [70]
    stopped = [d["Value"] for d in published if d["MetricName"] == "ProcessorStopped"]
    assert stopped == [1.0, 1.0]  # application and shard
