"""Wiring: a processor with its boto3 clients, from a :class:`ProcessorConfig`."""

from __future__ import annotations

from typing import Any

from .config import ProcessorConfig
from .metrics import MetricsConfig, WorkerMetrics
from .processor import NicelistProcessor
from .sinks import DynamoDBSink, S3Archive

#: The sinks retry themselves (consumer.retry); botocore makes exactly one attempt per call.
_CLIENT_OPTIONS: dict[str, Any] = {
    "retries": {"mode": "standard", "total_max_attempts": 1},
    "connect_timeout": 5,
    "read_timeout": 30,
}


def build_processor(config: ProcessorConfig) -> NicelistProcessor:
    dynamodb = config.aws.client(
        "dynamodb", max_pool_connections=max(10, config.dynamodb_threads + 2), **_CLIENT_OPTIONS
    )
    s3 = config.aws.client("s3", **_CLIENT_OPTIONS)
    metrics = build_metrics(config, dynamodb, s3)
    return NicelistProcessor(
        config=config,
        dynamodb=DynamoDBSink(dynamodb, config.names.table, threads=config.dynamodb_threads, retry=config.sink_retry),
        archive=S3Archive(s3, config.names.bucket, retry=config.sink_retry),
        metrics=metrics,
    )


def build_metrics(
    config: ProcessorConfig, *sink_clients: Any, metrics_config: MetricsConfig | None = None
) -> WorkerMetrics:
    """The processor's metrics, publishing to CloudWatch unless ``NICELIST_METRICS=off``; they count
    the retries and throttles of ``sink_clients``."""
    metrics_config = metrics_config or MetricsConfig.from_env()
    cloudwatch = None
    if metrics_config.enabled:  # short timeouts, two attempts: a publication must not hang a shutdown
        cloudwatch = config.aws.client(
            "cloudwatch", retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=2, read_timeout=5
        )
    metrics = WorkerMetrics(application=config.names.application, cloudwatch=cloudwatch, config=metrics_config)
    for client in sink_clients:
        metrics.observe_client(client)
    return metrics
