"""The embedded stack evaluates its alarms and notifies a local subscriber: the worker-heartbeat
alarm (missing data breaching) goes OK while a record processor's metrics publisher runs, to
ALARM when it stops (every worker gone), and back to OK when it runs again; each change reaches
an SQS queue subscribed to the alarm topic. The records-unread alarm (metric math on the stack's
own AWS/Kinesis metrics, limits mode) fires while records arrive and nobody reads them. Periods
are scaled to 1 s; no KCL daemon."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from admin.alarms import alarm_specs, ensure_topic, topic_name
from consumer.metrics import MetricsConfig, WorkerMetrics
from foundation.settings import PipelineNames
from localaws import LimitsConfig, LocalAWS, StackConfig
from tests.polling import wait_until
from tests.stack import unique_name


@pytest.fixture(scope="module")
def evaluating_aws() -> Iterator[LocalAWS]:
    """A stack of its own that evaluates the alarms twice a second, in limits mode (AWS/Kinesis
    metrics every second; 10 records/s per shard) (stopped by PID after the module)."""
    limits = LimitsConfig(scale=0.01, metrics_period_s=1.0)
    with LocalAWS.start(config=StackConfig(alarm_interval_s=0.5, limits=limits)) as stack:
        yield stack


def _state(cloudwatch: Any, name: str) -> str:
    return str(cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])


def _notifications(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]


def test_silence_raises_the_heartbeat_alarm_and_a_notification_reaches_the_subscriber(
    evaluating_aws: LocalAWS,
) -> None:
    names = PipelineNames(application=unique_name("hb"), stream=unique_name("hb-s"))
    cloudwatch, sns, sqs = (evaluating_aws.client(s) for s in ("cloudwatch", "sns", "sqs"))
    queue_url = sqs.create_queue(QueueName=unique_name("pager"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = ensure_topic(sns, topic_name(names))
    sns.subscribe(TopicArn=topic.arn, Protocol="sqs", Endpoint=queue_arn)
    heartbeat = next(s for s in alarm_specs(names) if s.treat_missing_data == "breaching")
    cloudwatch.put_metric_alarm(**heartbeat.put_metric_alarm_args(topic.arn, period_s=1))

    received: list[dict[str, Any]] = []

    def notified(state: str) -> bool:
        received.extend(_notifications(sqs, queue_url))
        return any(n["AlarmName"] == heartbeat.name and n["NewStateValue"] == state for n in received)

    def worker() -> WorkerMetrics:  # a record processor's metrics, publishing every 0.5 s
        metrics = WorkerMetrics(
            application=names.application, cloudwatch=cloudwatch, config=MetricsConfig(interval_s=0.5)
        )
        metrics.start("shardId-000000000000", {})
        return metrics

    running = worker()
    try:  # created with no data yet: breaching, so ALARM first, then OK once heartbeats arrive
        wait_until(lambda: notified("OK"), timeout_s=30, what="the heartbeat alarm to go OK")
    finally:
        running.close()  # every worker stops
    received.clear()
    wait_until(lambda: notified("ALARM"), timeout_s=30, what="the silence to raise the heartbeat alarm")
    assert _state(cloudwatch, heartbeat.name) == "ALARM"
    alarm = next(n for n in received if n["NewStateValue"] == "ALARM")
    assert alarm["OldStateValue"] == "OK" and alarm["Trigger"]["TreatMissingData"] == "breaching"

    received.clear()
    running = worker()  # a worker is back
    try:
        wait_until(lambda: notified("OK"), timeout_s=30, what="the heartbeat alarm to go OK again")
    finally:
        running.close()
    states = [(t["old"], t["new"]) for t in evaluating_aws.alarm_transitions() if t["alarm"] == heartbeat.name]
    assert states[-2:] == [("OK", "ALARM"), ("ALARM", "OK")], states
    assert all(t["delivered"] == 1 for t in evaluating_aws.alarm_transitions() if t["alarm"] == heartbeat.name)


def test_a_new_alarm_starts_insufficient_and_an_update_keeps_its_state(evaluating_aws: LocalAWS) -> None:
    cloudwatch = evaluating_aws.client("cloudwatch")
    names = PipelineNames(application=unique_name("st"))
    spec = next(s for s in alarm_specs(names) if s.name.endswith("-dead-letters"))
    args = spec.put_metric_alarm_args(None, period_s=1) | {"TreatMissingData": "missing"}
    cloudwatch.put_metric_alarm(**args)
    wait_until(
        lambda: (
            cloudwatch.describe_alarms(AlarmNames=[spec.name])["MetricAlarms"][0]["StateReason"]
            != "Unchecked: Initial alarm creation"
        ),
        timeout_s=20,
        what="the first evaluation",
    )
    assert _state(cloudwatch, spec.name) == "INSUFFICIENT_DATA"  # no data, missing: as CloudWatch starts
    cloudwatch.put_metric_alarm(**(args | {"TreatMissingData": "breaching"}))
    wait_until(lambda: _state(cloudwatch, spec.name) == "ALARM", timeout_s=20, what="breaching on silence")
    cloudwatch.put_metric_alarm(**(args | {"TreatMissingData": "ignore", "AlarmDescription": "changed"}))
    wait_until(
        lambda: "kept" in cloudwatch.describe_alarms(AlarmNames=[spec.name])["MetricAlarms"][0]["StateReason"],
        timeout_s=20,
        what="the update to be seen",
    )
    assert _state(cloudwatch, spec.name) == "ALARM"  # an update leaves the state unchanged


def test_records_arriving_while_none_are_read_raise_records_unread(evaluating_aws: LocalAWS) -> None:
    names = PipelineNames(application=unique_name("ru"), stream=unique_name("ru-s"))
    cloudwatch, kinesis = evaluating_aws.client("cloudwatch"), evaluating_aws.client("kinesis")
    kinesis.create_stream(StreamName=names.stream, ShardCount=1)
    wait_until(
        lambda: (
            kinesis.describe_stream_summary(StreamName=names.stream)["StreamDescriptionSummary"]["StreamStatus"]
            == "ACTIVE"
        ),
        timeout_s=20,
        what="the stream",
    )
    spec = next(s for s in alarm_specs(names) if s.name.endswith("-records-unread"))
    cloudwatch.put_metric_alarm(**spec.put_metric_alarm_args(None, period_s=1))
    shard = kinesis.list_shards(StreamName=names.stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=names.stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")

    def put_one() -> None:  # an elf keeps sending, within the shard's 10 records/s
        kinesis.put_record(StreamName=names.stream, Data=b"x", PartitionKey="k")

    def unread() -> bool:
        put_one()
        return _state(cloudwatch, spec.name) == "ALARM"

    wait_until(unread, timeout_s=40, poll_s=0.4, what="records-unread to fire while nobody reads")
    position = iterator["ShardIterator"]

    def read() -> bool:  # a consumer is back: records are read as they arrive
        nonlocal position
        put_one()
        position = kinesis.get_records(ShardIterator=position)["NextShardIterator"]
        return _state(cloudwatch, spec.name) == "OK"

    wait_until(read, timeout_s=40, poll_s=0.4, what="records-unread to clear once records are read")


def test_a_loopback_http_subscriber_gets_the_notification_and_remote_ones_are_never_contacted(
    evaluating_aws: LocalAWS,
) -> None:
    received: list[dict[str, Any]] = []

    class Pager(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pager)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        names = PipelineNames(application=unique_name("http"))
        cloudwatch, sns = evaluating_aws.client("cloudwatch"), evaluating_aws.client("sns")
        topic = ensure_topic(sns, topic_name(names), https=["https://pager.example/hook"])
        sns.subscribe(TopicArn=topic.arn, Protocol="http", Endpoint=f"http://127.0.0.1:{server.server_port}/page")
        heartbeat = next(s for s in alarm_specs(names) if s.treat_missing_data == "breaching")
        cloudwatch.put_metric_alarm(**heartbeat.put_metric_alarm_args(topic.arn, period_s=1))  # no worker: silence
        wait_until(lambda: any(r.get("Type") == "Notification" for r in received), timeout_s=20, what="the POST")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    notification = next(r for r in received if r.get("Type") == "Notification")
    assert json.loads(notification["Message"])["NewStateValue"] == "ALARM"
    changes = [t for t in evaluating_aws.alarm_transitions() if t["alarm"] == heartbeat.name]
    assert changes[0]["new"] == "ALARM" and changes[0]["delivered"] == 1  # the remote https one was skipped
