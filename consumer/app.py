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


def client_options(config: ProcessorConfig, service: str) -> dict[str, Any]:
    """botocore ``Config`` options of the processor's client for ``service`` ("dynamodb" or "s3")."""
    if service == "dynamodb":
        return {
            **_CLIENT_OPTIONS,
            "max_pool_connections": max(10, config.dynamodb_threads + 2, config.dynamodb_batches_in_flight + 2),
            "parameter_validation": config.dynamodb_parameter_validation,
        }
    return dict(_CLIENT_OPTIONS)


def build_sinks(config: ProcessorConfig, dynamodb_client: Any, s3_client: Any) -> tuple[DynamoDBSink, S3Archive]:
    """The kid table and archive sinks on the given clients (the benchmark passes its own)."""
    dynamodb = DynamoDBSink(
        dynamodb_client,
        config.names.table,
        write_path=config.dynamodb_write_path,
        threads=config.dynamodb_threads,
        batches_in_flight=config.dynamodb_batches_in_flight,
        prebuilt_json=config.dynamodb_prebuilt_json,
        retry=config.sink_retry,
    )
    return dynamodb, S3Archive(s3_client, config.names.bucket, retry=config.sink_retry)


def build_processor(config: ProcessorConfig) -> NicelistProcessor:
    dynamodb_client = config.aws.client("dynamodb", **client_options(config, "dynamodb"))
    s3_client = config.aws.client("s3", **client_options(config, "s3"))
    dynamodb, archive = build_sinks(config, dynamodb_client, s3_client)
    metrics = build_metrics(config, dynamodb_client, s3_client)
    return NicelistProcessor(config=config, dynamodb=dynamodb, archive=archive, metrics=metrics)


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
