"""Opt-in producer metrics: published from the sender thread, at most once per interval, to the
``nicelist`` namespace with the ``Stream`` dimension; off by default."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

from observability import metrics as m
from producer import Producer, ProducerConfig
from tests.factories import make_event
from tests.polling import wait_until
from tests.producer.test_producer import STREAM, Kinesis, config, kinesis  # noqa: F401


class FakeCloudWatch:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail

    def put_metric_data(self, **kwargs: Any) -> None:
        if self.fail:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutMetricData")
        self.calls.append(kwargs)

    def total(self, name: str) -> float:
        return sum(d.get("Value", 0) for c in self.calls for d in c["MetricData"] if d["MetricName"] == name)


def test_metrics_are_off_by_default() -> None:
    assert ProducerConfig().metrics_interval_s is None
    assert ProducerConfig.from_env({"NICELIST_PRODUCER_METRICS_INTERVAL_S": "60"}).metrics_interval_s == 60.0


def test_throttles_and_deliveries_are_published_from_the_sender_thread(kinesis: Kinesis) -> None:  # noqa: F811
    cloudwatch = FakeCloudWatch()
    kinesis.faults.always("throttle")
    with Producer(config(kinesis, metrics_interval_s=0.01, cloudwatch_client=cloudwatch)) as producer:
        for _ in range(50):
            producer.put(make_event())
        wait_until(lambda: cloudwatch.total("ProducerThrottled") > 0, timeout_s=30, what="throttles published")
        kinesis.faults.always(None)
        assert producer.flush(30) == 0
    assert cloudwatch.total("ProducerAccepted") == 50 and cloudwatch.total("ProducerDelivered") == 50
    datum = cloudwatch.calls[-1]["MetricData"][0]
    assert cloudwatch.calls[-1]["Namespace"] == m.NAMESPACE
    assert datum["Dimensions"] == [{"Name": "Stream", "Value": STREAM}]
    names = {d["MetricName"] for c in cloudwatch.calls for d in c["MetricData"]}
    assert names == {metric.name for metric in m.PRODUCER_METRICS}


def test_a_failing_cloudwatch_never_fails_a_put(kinesis: Kinesis) -> None:  # noqa: F811
    cloudwatch = FakeCloudWatch(fail=True)
    with Producer(config(kinesis, metrics_interval_s=0.01, cloudwatch_client=cloudwatch)) as producer:
        futures = [producer.put(make_event()) for _ in range(20)]
        assert producer.flush(30) == 0
    assert all(f.result(0).sequence_number for f in futures)


def test_published_to_cloudwatch() -> None:
    with mock_aws():
        boto3.client("kinesis", region_name="us-east-1").create_stream(StreamName=STREAM, ShardCount=1)
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        options: dict[str, Any] = {"spool_dir": None, "metrics_interval_s": 60, "cloudwatch_client": cloudwatch}
        with Producer(ProducerConfig(stream_name=STREAM, **options)) as producer:
            producer.put(make_event())
        listed = cloudwatch.list_metrics(Namespace=m.NAMESPACE, MetricName=m.PRODUCER_DELIVERED.name)["Metrics"]
        assert listed[0]["Dimensions"] == [{"Name": "Stream", "Value": STREAM}]
